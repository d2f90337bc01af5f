package org.countersign.android.concurrent

import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class ExecutorSchedulerTest {
    @Test
    fun runsAfterDelayAndCancels() {
        val exec = Executors.newSingleThreadScheduledExecutor()
        try {
            val s = ExecutorScheduler(exec)
            val ran = CountDownLatch(1)
            s.schedule(20) { ran.countDown() }
            assertTrue(ran.await(2, TimeUnit.SECONDS))

            val cancelledRan = AtomicBoolean(false)
            s.schedule(200) { cancelledRan.set(true) }.cancel()
            Thread.sleep(400)
            assertFalse(cancelledRan.get())
        } finally {
            exec.shutdownNow()
        }
    }
}
