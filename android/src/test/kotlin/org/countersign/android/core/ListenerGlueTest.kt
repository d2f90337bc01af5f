// Foreign callbacks: CodeListener ticks arrive from the core's thread, stop on
// cancel(), and onLocked fires after lock().
package org.countersign.android.core

import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import org.countersign.android.testing.rfcUri
import org.countersign.android.testing.withVault
import org.countersign.core.CodeListener
import org.countersign.core.OtpCode
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

class ListenerGlueTest {
    private class Recorder(ticksWanted: Int) : CodeListener {
        val ticks = CopyOnWriteArrayList<List<OtpCode>>()
        val threads = CopyOnWriteArrayList<String>()
        val gotTicks = CountDownLatch(ticksWanted)
        val locked = CountDownLatch(1)

        override fun onCodes(codes: List<OtpCode>) {
            ticks += codes
            threads += Thread.currentThread().name
            gotTicks.countDown()
        }

        override fun onLocked() = locked.countDown()
    }

    @Test
    fun watchCodesTicksThenCancelStops() = withVault { auth ->
        auth.addUri(rfcUri(6))
        val rec = Recorder(2)
        val handle = auth.watchCodes(rec)
        assertTrue("fewer than 2 ticks in 5 s", rec.gotTicks.await(5, TimeUnit.SECONDS))
        assertTrue(rec.ticks.all { it.single().code == "287082" })
        assertTrue("called on the test thread", rec.threads.none { it == Thread.currentThread().name })

        handle.cancel()
        Thread.sleep(200) // a tick already running may still land
        val after = rec.ticks.size
        Thread.sleep(1_300) // ticks come at each second boundary: at least one passes
        assertEquals("ticks after cancel()", after, rec.ticks.size)
        assertTrue(handle.isFinished())
        handle.cancel() // idempotent
        handle.close()
        assertEquals(1L, rec.locked.count)
    }

    @Test
    fun onLockedAfterLock() = withVault { auth ->
        val rec = Recorder(1)
        auth.watchCodes(rec).use { handle ->
            assertTrue(rec.gotTicks.await(5, TimeUnit.SECONDS))
            auth.lock()
            assertTrue("onLocked not called within 5 s", rec.locked.await(5, TimeUnit.SECONDS))
            Thread.sleep(100)
            assertTrue(handle.isFinished())
        }
    }

    @Test
    fun throwingListenerDoesNotKillTheTicker() = withVault { auth ->
        val calls = CountDownLatch(3)
        val listener = object : CodeListener {
            override fun onCodes(codes: List<OtpCode>) {
                calls.countDown()
                throw IllegalStateException("listener bug")
            }

            override fun onLocked() = Unit
        }
        auth.watchCodes(listener).use {
            assertTrue("ticking stopped after a throwing listener", calls.await(5, TimeUnit.SECONDS))
            it.cancel()
        }
    }
}
