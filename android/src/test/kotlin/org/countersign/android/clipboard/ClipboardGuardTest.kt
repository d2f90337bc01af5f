package org.countersign.android.clipboard

import org.countersign.android.testing.FakeScheduler
import org.countersign.android.testing.assertThrows
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class ClipboardGuardTest {
    /** An in-memory clipboard; `readable = false` plays Android 10+ in the background. */
    private class FakeClipboard : ClipboardPort {
        var text: String? = null
        var label: String? = null
        var readable = true
        var clears = 0

        override fun setSensitiveText(label: String, text: String) {
            this.label = label
            this.text = text
        }

        override fun read(): ClipContent = when {
            !readable -> ClipContent.Unreadable
            text == null -> ClipContent.Empty
            else -> ClipContent.Text(text.orEmpty())
        }

        override fun clear() {
            clears++
            text = null
        }
    }

    private val clip = FakeClipboard()
    private val scheduler = FakeScheduler()

    @Test
    fun clearsOurCodeAfterTheTimeout() {
        val guard = ClipboardGuard(clip, scheduler, clearAfterMillis = 30_000)
        guard.copy("123456")
        assertEquals("123456", clip.text)
        assertEquals(ClipboardGuard.DEFAULT_LABEL, clip.label)
        assertTrue(guard.hasPendingClear)
        scheduler.advanceBy(29_999)
        assertEquals("123456", clip.text)
        scheduler.advanceBy(1)
        assertEquals(null, clip.text)
        assertEquals(1, clip.clears)
        assertFalse(guard.hasPendingClear)
    }

    @Test
    fun leavesSomethingTheUserCopiedLater() {
        val guard = ClipboardGuard(clip, scheduler)
        guard.copy("123456")
        clip.text = "my address"
        scheduler.advanceBy(ClipboardGuard.DEFAULT_CLEAR_AFTER_MILLIS)
        assertEquals("my address", clip.text)
        assertEquals(0, clip.clears)
        assertFalse(guard.hasPendingClear)
    }

    @Test
    fun emptiedClipboardIsNotClearedAgain() {
        val guard = ClipboardGuard(clip, scheduler)
        guard.copy("123456")
        clip.text = null
        assertEquals(ClipboardGuard.ClearResult.NOT_OURS, guard.clearIfOurs())
        assertEquals(0, clip.clears)
    }

    @Test
    fun aNewCopyRestartsTheTimer() {
        val guard = ClipboardGuard(clip, scheduler, clearAfterMillis = 10_000)
        guard.copy("111111")
        scheduler.advanceBy(8_000)
        guard.copy("222222")
        assertEquals(1, scheduler.pending)
        scheduler.advanceBy(8_000)
        assertEquals("222222", clip.text)
        scheduler.advanceBy(2_000)
        assertEquals(null, clip.text)
    }

    @Test
    fun unreadableClipboardFollowsThePolicy() {
        val clearing = ClipboardGuard(clip, scheduler)
        clearing.copy("123456")
        clip.readable = false
        assertEquals(ClipboardGuard.ClearResult.CLEARED, clearing.clearIfOurs())
        assertEquals(1, clip.clears)

        val deferring = ClipboardGuard(clip, scheduler, whenUnreadable = ClipboardGuard.UnreadablePolicy.DEFER)
        clip.readable = true
        deferring.copy("654321")
        clip.readable = false
        assertEquals(ClipboardGuard.ClearResult.DEFERRED, deferring.clearIfOurs())
        assertTrue(deferring.hasPendingClear)
        // Back in the foreground the app retries.
        clip.readable = true
        assertEquals(ClipboardGuard.ClearResult.CLEARED, deferring.clearIfOurs())
        assertEquals(ClipboardGuard.ClearResult.NOTHING_PENDING, deferring.clearIfOurs())
    }

    @Test
    fun clearNowOnLockCancelsTheTimer() {
        val guard = ClipboardGuard(clip, scheduler)
        guard.copy("123456")
        assertEquals(ClipboardGuard.ClearResult.CLEARED, guard.clearIfOurs())
        assertEquals(0, scheduler.pending)
        scheduler.advanceBy(60_000)
        assertEquals(1, clip.clears)
    }

    @Test
    fun rejectsEmptyCodeAndBadTimeout() {
        assertThrows<IllegalArgumentException> { ClipboardGuard(clip, scheduler).copy("") }
        assertThrows<IllegalArgumentException> { ClipboardGuard(clip, scheduler, clearAfterMillis = 0) }
    }
}
