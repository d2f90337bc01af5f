package org.countersign.android.testing

import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import org.countersign.core.UpkeepKind
import org.countersign.core.UpkeepListener
import org.countersign.core.UpkeepNotice

/** Collects what the core's upkeep (backup and sync after changes) reports. */
class UpkeepNotices : UpkeepListener {
    private val queue = LinkedBlockingQueue<UpkeepNotice>()

    override fun onUpkeep(notice: UpkeepNotice) {
        queue.put(notice)
    }

    /** The next notice of [kind] within [seconds] (others are skipped); fails the test if none comes. */
    fun next(kind: UpkeepKind, seconds: Long = 20): UpkeepNotice {
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds)
        while (true) {
            val left = deadline - System.nanoTime()
            val n = queue.poll(left.coerceAtLeast(0), TimeUnit.NANOSECONDS)
                ?: throw AssertionError("no $kind upkeep notice within $seconds s")
            if (n.kind == kind) return n
        }
    }
}
