package org.countersign.android.push

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class PushWakeupsTest {
    private class Recorder : PushWakeups.Listener {
        val tokens = mutableListOf<String>()
        val pending = mutableListOf<String>()

        override fun onPushToken(token: String) {
            tokens += token
        }

        override fun onCheckPending(requestId: String) {
            pending += requestId
        }
    }

    private val rec = Recorder()
    private val push = PushWakeups(rec)

    @Test
    fun serverWakeupIsForwarded() {
        // What the server sends (docs/protocol.md §10): a 32-hex request id, nothing else.
        val id = "0123456789abcdef0123456789abcdef"
        assertEquals(PushWakeups.Outcome.Woke(id), push.onMessage(mapOf("request_id" to id)))
        assertEquals(listOf(id), rec.pending)
    }

    @Test
    fun forwardsOnlyTheRequestId() {
        val out = push.onMessage(mapOf("request_id" to "req_42-A", "code" to "123456", "secret" to "JBSWY3DP"))
        assertEquals(PushWakeups.Outcome.Woke("req_42-A"), out)
        assertEquals(listOf("req_42-A"), rec.pending)
    }

    @Test
    fun ignoresOtherMessages() {
        val bad = listOf(
            emptyMap(),
            mapOf("rid" to "r1"),
            mapOf("request_id" to ""),
            mapOf("request_id" to "has space"),
            mapOf("request_id" to "x".repeat(129)),
            mapOf("request_id" to "../etc"),
        )
        for (m in bad) assertTrue(m.toString(), push.onMessage(m) is PushWakeups.Outcome.Ignored)
        assertTrue(rec.pending.isEmpty())
    }

    @Test
    fun ignoredReasonsNeverEchoContent() {
        val out = push.onMessage(mapOf("request_id" to "SECRET VALUE"))
        assertTrue(out is PushWakeups.Outcome.Ignored)
        assertFalse(out.toString().contains("SECRET"))
    }

    @Test
    fun tokensAreDeduplicatedAndValidated() {
        val fcmLike = "dQw4w9WgXcQ:APA91bH-abc_def.ghi"
        assertTrue(push.onNewToken(fcmLike))
        assertFalse(push.onNewToken(fcmLike))
        assertTrue(push.onNewToken("tok-2"))
        assertFalse(push.onNewToken(""))
        assertFalse(push.onNewToken("   "))
        assertFalse(push.onNewToken("a\nb"))
        assertFalse(push.onNewToken("t".repeat(PushWakeups.MAX_TOKEN_LEN + 1)))
        assertTrue(push.onNewToken("t".repeat(PushWakeups.MAX_TOKEN_LEN)))
        assertEquals(listOf(fcmLike, "tok-2", "t".repeat(PushWakeups.MAX_TOKEN_LEN)), rec.tokens)
    }
}
