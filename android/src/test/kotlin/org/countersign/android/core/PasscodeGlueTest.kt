// Passcode and backoff errors arrive as the right AuthException subclasses with
// their retry_after values, against a clock the test controls.
package org.countersign.android.core

import kotlinx.coroutines.runBlocking
import org.countersign.android.testing.FakeClock
import org.countersign.android.testing.assertThrows
import org.countersign.android.testing.withVault
import org.countersign.core.AuthException
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class PasscodeGlueTest {
    @Test
    fun wrongPasscodesBackOffAndTheClockLetsYouRetry() {
        val clock = FakeClock(1_000_000)
        withVault(clock = clock) { auth ->
            auth.setPasscode("2468")
            assertTrue(auth.unlockMethods().passcode)
            auth.lock()

            val first = assertThrows<AuthException.WrongPasscode> { runBlocking { auth.unlock("1111") } }
            assertEquals(0uL, first.retryAfterS)
            repeat(3) { assertThrows<AuthException.WrongPasscode> { runBlocking { auth.unlock("1111") } } }
            val fifth = assertThrows<AuthException.WrongPasscode> { runBlocking { auth.unlock("1111") } }
            assertEquals(30uL, fifth.retryAfterS)
            assertEquals(5u, auth.lockoutStatus().failedAttempts)

            // Even the right passcode waits.
            clock.advance(10)
            val locked = assertThrows<AuthException.LockedOut> { runBlocking { auth.unlock("2468") } }
            assertEquals(20uL, locked.retryAfterS)
            assertTrue(auth.isLocked())

            clock.advance(20)
            runBlocking { auth.unlock("2468") }
            assertFalse(auth.isLocked())
            assertEquals(0u, auth.lockoutStatus().failedAttempts)
        }
    }

    @Test
    fun passcodeFormatAndChangeAndRemove() = withVault { auth ->
        assertThrows<AuthException.InvalidInput> { auth.setPasscode("12") }
        assertThrows<AuthException.InvalidInput> { auth.setPasscode("abcd") }
        auth.setPasscode("1234")
        auth.lock()
        // A passcode vault needs the passcode.
        assertThrows<AuthException.InvalidInput> { runBlocking { auth.unlock(null) } }
        runBlocking { auth.unlock("1234") }
        auth.changePasscode("1234", "98765432")
        auth.lock()
        assertThrows<AuthException.WrongPasscode> { runBlocking { auth.unlock("1234") } }
        runBlocking { auth.unlock("98765432") }
        auth.removePasscode("98765432")
        auth.lock()
        runBlocking { auth.unlock(null) }
        assertFalse(auth.isLocked())
    }

    @Test
    fun backgroundTimeoutLocks() {
        val clock = FakeClock(5_000)
        withVault(clock = clock) { auth ->
            auth.updateSettings(auth.settings().copy(reauthTimeoutS = 60u))
            auth.onBackground()
            clock.advance(59)
            assertFalse(auth.onForeground())
            auth.onBackground()
            clock.advance(60)
            assertTrue(auth.onForeground())
            assertTrue(auth.isLocked())
        }
    }
}
