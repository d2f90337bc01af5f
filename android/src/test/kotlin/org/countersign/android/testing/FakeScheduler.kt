package org.countersign.android.testing

import org.countersign.android.concurrent.Cancellable
import org.countersign.android.concurrent.Scheduler

/** A [Scheduler] on virtual time: tasks run (on the caller's thread) when [advanceBy] passes them. */
class FakeScheduler : Scheduler {
    private class Task(val at: Long, val run: () -> Unit) {
        var cancelled = false
    }

    private val tasks = mutableListOf<Task>()

    /** Virtual now, ms. */
    var nowMillis: Long = 0
        private set

    /** Tasks scheduled and neither run nor cancelled. */
    val pending: Int get() = synchronized(tasks) { tasks.count { !it.cancelled } }

    override fun schedule(delayMillis: Long, task: () -> Unit): Cancellable {
        val t = Task(nowMillis + delayMillis, task)
        synchronized(tasks) { tasks += t }
        return Cancellable { synchronized(tasks) { t.cancelled = true } }
    }

    /** Advances virtual time, running due tasks in order. */
    fun advanceBy(millis: Long) {
        val target = nowMillis + millis
        while (true) {
            val next = synchronized(tasks) {
                tasks.filter { !it.cancelled && it.at <= target }.minByOrNull { it.at }?.also { tasks.remove(it) }
            } ?: break
            nowMillis = next.at
            next.run()
        }
        nowMillis = target
    }
}
