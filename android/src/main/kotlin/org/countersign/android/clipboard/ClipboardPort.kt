// Why this file exists: ClipboardGuard's rules (copy, clear later, only if the
// clip is still ours) are plain logic; the Android clipboard sits behind this
// port (platform/clipboard/SystemClipboard) so the rules run on the JVM.
package org.countersign.android.clipboard

/** What reading the clipboard gave. */
sealed interface ClipContent {
    /** The clipboard holds [text]. */
    data class Text(val text: String) : ClipContent

    /** The clipboard is empty (or holds something that is not text). */
    data object Empty : ClipContent

    /**
     * The platform would not tell (Android 10+ hides the clipboard from apps
     * that are not in the foreground).
     */
    data object Unreadable : ClipContent
}

/** The system clipboard, as ClipboardGuard needs it. */
interface ClipboardPort {
    /** Puts [text] on the clipboard marked as sensitive (kept out of previews), labelled [label]. */
    fun setSensitiveText(label: String, text: String)

    /** The current clipboard content, or [ClipContent.Unreadable]. */
    fun read(): ClipContent

    /** Empties the clipboard. */
    fun clear()
}
