// Why this file exists: a copied one-time code must not linger on the
// clipboard, but clearing must not destroy something the user copied after
// it. This class owns that rule; time comes from an injected Scheduler.
package org.countersign.android.clipboard

import org.countersign.android.concurrent.Cancellable
import org.countersign.android.concurrent.Scheduler

/**
 * Copies codes to the clipboard and clears them again after [clearAfterMillis],
 * but only while the clipboard still holds the code we put there.
 *
 * When the platform will not say what the clipboard holds (Android 10+ while
 * the app is in the background, which is the usual case: the user copied the
 * code to paste it elsewhere), [whenUnreadable] decides. The default,
 * [UnreadablePolicy.CLEAR], favours not leaving a code behind over keeping a
 * clip the user copied within the last [clearAfterMillis].
 *
 * Thread-safe: [copy] is called from the UI, the clear runs on the scheduler's thread.
 */
class ClipboardGuard(
    private val port: ClipboardPort,
    private val scheduler: Scheduler,
    private val clearAfterMillis: Long = DEFAULT_CLEAR_AFTER_MILLIS,
    private val whenUnreadable: UnreadablePolicy = UnreadablePolicy.CLEAR,
) {
    /** What to do when the clipboard cannot be read at clearing time. */
    enum class UnreadablePolicy {
        /** Clear anyway. */
        CLEAR,

        /** Leave it; a later [ClipboardGuard.clearIfOurs] (e.g. back in the foreground) retries. */
        DEFER,
    }

    /** Result of a clearing attempt. */
    enum class ClearResult {
        /** Our code was removed. */
        CLEARED,

        /** The clipboard holds something else now; left alone. */
        NOT_OURS,

        /** The clipboard could not be read; left alone, still pending ([UnreadablePolicy.DEFER]). */
        DEFERRED,

        /** Nothing of ours was pending. */
        NOTHING_PENDING,
    }

    private val lock = Any()
    private var copied: String? = null
    private var timer: Cancellable? = null

    init {
        require(clearAfterMillis > 0) { "clearAfterMillis must be positive" }
    }

    /** True while a copied code is waiting to be cleared. */
    val hasPendingClear: Boolean
        get() = synchronized(lock) { copied != null }

    /** Puts [code] on the clipboard (marked sensitive) and schedules its removal. */
    fun copy(code: String, label: String = DEFAULT_LABEL) {
        require(code.isNotEmpty()) { "nothing to copy" }
        synchronized(lock) {
            timer?.cancel()
            port.setSensitiveText(label, code)
            copied = code
            timer = scheduler.schedule(clearAfterMillis) { clearIfOurs() }
        }
    }

    /**
     * Clears the clipboard now if it still holds our code (the timer calls this;
     * so should the app when the vault locks or it returns to the foreground).
     */
    fun clearIfOurs(): ClearResult = synchronized(lock) {
        val ours = copied ?: return ClearResult.NOTHING_PENDING
        val result = when (val content = port.read()) {
            is ClipContent.Text -> if (content.text == ours) clear() else ClearResult.NOT_OURS
            ClipContent.Empty -> ClearResult.NOT_OURS
            ClipContent.Unreadable -> when (whenUnreadable) {
                UnreadablePolicy.CLEAR -> clear()
                UnreadablePolicy.DEFER -> ClearResult.DEFERRED
            }
        }
        if (result != ClearResult.DEFERRED) {
            copied = null
            timer?.cancel()
            timer = null
        }
        result
    }

    private fun clear(): ClearResult {
        port.clear()
        return ClearResult.CLEARED
    }

    /** Defaults. */
    companion object {
        /** How long a code stays on the clipboard unless told otherwise. */
        const val DEFAULT_CLEAR_AFTER_MILLIS: Long = 30_000

        /** Clip label (visible to the user in some clipboard UIs; never the code itself). */
        const val DEFAULT_LABEL: String = "One-time code"
    }
}
