// Android-only. Why this file exists: screens that show codes or secrets
// (code list, QR export, approve) must not appear in screenshots, screen
// recordings, casts or the recent-apps thumbnail. One place applies that.
package org.countersign.android.platform.ui

import android.app.Activity
import android.os.Build
import android.view.Window
import android.view.WindowManager

/** Applies [WindowManager.LayoutParams.FLAG_SECURE] to code screens. */
object SecureWindow {
    /** Blocks screenshots and recordings of [window]. */
    fun protect(window: Window) {
        window.setFlags(WindowManager.LayoutParams.FLAG_SECURE, WindowManager.LayoutParams.FLAG_SECURE)
    }

    /** Protects [activity]'s window and (API 33+) keeps it out of the recent-apps screenshot. */
    fun protect(activity: Activity) {
        protect(activity.window)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) activity.setRecentsScreenshotEnabled(false)
    }

    /** Lifts the protection (for screens that show nothing secret). */
    fun unprotect(window: Window) {
        window.clearFlags(WindowManager.LayoutParams.FLAG_SECURE)
    }
}
