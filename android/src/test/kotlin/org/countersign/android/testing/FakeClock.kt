package org.countersign.android.testing

import java.util.concurrent.atomic.AtomicLong
import org.countersign.core.Clock

/** A [Clock] the test sets and advances. */
class FakeClock(start: Long) : Clock {
    private val now = AtomicLong(start)

    override fun nowUnixS(): Long = now.get()

    /** Sets the time. */
    fun set(unixS: Long) = now.set(unixS)

    /** Moves the time forward by [seconds]. */
    fun advance(seconds: Long) {
        now.addAndGet(seconds)
    }
}
