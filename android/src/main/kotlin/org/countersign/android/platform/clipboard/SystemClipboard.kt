// Android-only. Why this file exists: ClipboardGuard (clipboard/) holds the
// rules; this is the Android clipboard behind its port. Clips are marked
// sensitive so the system keeps the code out of its clipboard preview, and
// reads report "unreadable" where Android 10+ hides the clipboard from apps
// in the background.
package org.countersign.android.platform.clipboard

import android.annotation.SuppressLint
import android.content.ClipData
import android.content.ClipDescription
import android.content.ClipboardManager
import android.content.Context
import android.os.Build
import android.os.PersistableBundle
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.ProcessLifecycleOwner
import org.countersign.android.clipboard.ClipContent
import org.countersign.android.clipboard.ClipboardPort

/**
 * [ClipboardPort] on [ClipboardManager]. [isInForeground] tells whether the app
 * may read the clipboard now (default: the process is resumed).
 */
class SystemClipboard(
    context: Context,
    private val isInForeground: () -> Boolean = {
        ProcessLifecycleOwner.get().lifecycle.currentState.isAtLeast(Lifecycle.State.RESUMED)
    },
) : ClipboardPort {
    private val manager: ClipboardManager? = context.getSystemService(ClipboardManager::class.java)

    // EXTRA_IS_SENSITIVE is a compile-time constant (API 33); older systems ignore the extra.
    @SuppressLint("InlinedApi")
    override fun setSensitiveText(label: String, text: String) {
        val clip = ClipData.newPlainText(label, text)
        clip.description.extras = PersistableBundle().apply {
            putBoolean(ClipDescription.EXTRA_IS_SENSITIVE, true)
        }
        manager?.setPrimaryClip(clip)
    }

    override fun read(): ClipContent {
        val m = manager ?: return ClipContent.Unreadable
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q && !isInForeground()) return ClipContent.Unreadable
        return try {
            val clip = m.primaryClip ?: return ClipContent.Empty
            val text = if (clip.itemCount > 0) clip.getItemAt(0).text else null
            if (text == null) ClipContent.Empty else ClipContent.Text(text.toString())
        } catch (e: SecurityException) {
            ClipContent.Unreadable
        }
    }

    override fun clear() {
        manager?.clearPrimaryClip()
    }
}
