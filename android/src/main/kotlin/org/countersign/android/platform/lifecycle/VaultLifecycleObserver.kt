// Android-only. Why this file exists: the core decides when the vault locks
// after the app was in the background (its re-auth timeout); it only needs
// to be told when the whole app goes to the background and comes back.
// ProcessLifecycleOwner gives exactly that (not per activity).
package org.countersign.android.platform.lifecycle

import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import org.countersign.android.clipboard.ClipboardGuard
import org.countersign.core.AuthenticatorInterface

/**
 * Forwards process background/foreground to the core's `onBackground` /
 * `onForeground`; when coming back locked, calls [onLocked] (show the unlock
 * screen) and clears a copied code still on the clipboard.
 */
class VaultLifecycleObserver(
    private val authenticator: AuthenticatorInterface,
    private val clipboard: ClipboardGuard? = null,
    private val onLocked: () -> Unit = {},
) : DefaultLifecycleObserver {
    override fun onStop(owner: LifecycleOwner) {
        authenticator.onBackground()
    }

    override fun onStart(owner: LifecycleOwner) {
        if (authenticator.onForeground()) {
            clipboard?.clearIfOurs()
            onLocked()
        }
    }

    /** Starts observing the process lifecycle (call once, on the main thread). */
    fun register() {
        ProcessLifecycleOwner.get().lifecycle.addObserver(this)
    }
}
