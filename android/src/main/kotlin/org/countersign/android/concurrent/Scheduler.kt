// Why this file exists: delayed work (clearing the clipboard) must be testable
// without sleeping, so the classes that need it take this small interface;
// production code passes an ExecutorScheduler, tests a fake with virtual time.
package org.countersign.android.concurrent

import java.util.concurrent.ScheduledExecutorService
import java.util.concurrent.TimeUnit

/** A scheduled task that can be cancelled; cancelling twice or after it ran is a no-op. */
fun interface Cancellable {
    /** Stops the task if it has not run yet. */
    fun cancel()
}

/** Runs a task once after a delay. */
fun interface Scheduler {
    /** Runs [task] after [delayMillis] on a thread of the scheduler's choosing. */
    fun schedule(delayMillis: Long, task: () -> Unit): Cancellable
}

/**
 * A [Scheduler] on a [ScheduledExecutorService]; works on Android and the JVM.
 * The caller owns [executor] and shuts it down.
 */
class ExecutorScheduler(private val executor: ScheduledExecutorService) : Scheduler {
    override fun schedule(delayMillis: Long, task: () -> Unit): Cancellable {
        val future = executor.schedule({ task() }, delayMillis.coerceAtLeast(0), TimeUnit.MILLISECONDS)
        return Cancellable { future.cancel(false) }
    }
}
