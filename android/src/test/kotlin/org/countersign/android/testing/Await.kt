package org.countersign.android.testing

import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

/** Waits (up to [timeoutMs]) until [flow]'s value satisfies [predicate]; returns it. */
fun <T> awaitState(flow: StateFlow<T>, timeoutMs: Long = 5_000, predicate: (T) -> Boolean): T = runBlocking {
    try {
        withTimeout(timeoutMs) { flow.first(predicate) }
    } catch (e: kotlinx.coroutines.TimeoutCancellationException) {
        throw AssertionError("state never matched within $timeoutMs ms; last: ${flow.value}", e)
    }
}

/** Asserts that [block] throws a [T] and returns it. */
inline fun <reified T : Throwable> assertThrows(block: () -> Unit): T {
    try {
        block()
    } catch (e: Throwable) {
        if (e is T) return e
        throw AssertionError("expected ${T::class.java.name}, got ${e.javaClass.name}: ${e.message}", e)
    }
    throw AssertionError("expected ${T::class.java.name}, nothing was thrown")
}
