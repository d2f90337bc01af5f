package org.countersign.android.presentation

import kotlinx.coroutines.runBlocking
import org.countersign.android.testing.FakeClock
import org.countersign.android.testing.awaitState
import org.countersign.android.testing.withVault
import org.countersign.core.AuthenticatorInterface
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

class PasscodeViewModelTest {
    private fun PasscodeViewModel.type(digits: String) = digits.forEach(::onDigit)

    private fun PasscodeViewModel.enter(digits: String) {
        type(digits)
        val job = submit()
        assertTrue("submit refused for $digits: ${state.value}", job != null)
        runBlocking { job?.join() }
    }

    private fun lockedVault(clock: FakeClock, block: (AuthenticatorInterface) -> Unit) = withVault(clock = clock) { auth ->
        auth.setPasscode("2468")
        auth.lock()
        block(auth)
    }

    @Test
    fun digitEntryRules() = lockedVault(FakeClock(100)) { auth ->
        withVmScope { scope ->
            val vm = PasscodeViewModel(auth, scope, FakeClock(100))
            vm.type("123")
            assertEquals(3, vm.state.value.entered)
            assertFalse(vm.state.value.canSubmit)
            assertNull(vm.submit())
            vm.onDigit('x')
            vm.type("4")
            assertTrue(vm.state.value.canSubmit)
            vm.type("567890")
            assertEquals(8, vm.state.value.entered)
            vm.onDelete()
            assertEquals(7, vm.state.value.entered)
            repeat(10) { vm.onDelete() }
            assertEquals(0, vm.state.value.entered)
        }
    }

    @Test
    fun wrongThenBackoffCountdownThenRightPasscode() {
        val clock = FakeClock(1_000_000)
        lockedVault(clock) { auth ->
            withVmScope { scope ->
                val vm = PasscodeViewModel(auth, scope, clock, tickMillis = 10)
                vm.enter("1111")
                assertEquals(PasscodeStatus.WrongPasscode, vm.state.value.status)
                assertEquals(0L, vm.state.value.retryInS)
                assertEquals(0, vm.state.value.entered)
                repeat(4) { vm.enter("1111") }
                val s = vm.state.value
                assertEquals(PasscodeStatus.WrongPasscode, s.status)
                assertEquals(30L, s.retryInS)
                vm.type("2468")
                assertFalse(vm.state.value.canSubmit)
                assertNull(vm.submit())
                assertFalse(vm.state.value.toString().contains("2468"))

                clock.advance(12)
                awaitState(vm.state) { it.retryInS == 18L }
                clock.advance(18)
                awaitState(vm.state) { it.canSubmit }
                runBlocking { vm.submit()?.join() }
                assertEquals(PasscodeStatus.Unlocked, vm.state.value.status)
                assertFalse(auth.isLocked())
            }
        }
    }

    @Test
    fun startPicksUpARunningWaitAndCoreLockoutIsShown() {
        val clock = FakeClock(3_000_000)
        lockedVault(clock) { auth ->
            repeat(5) { runCatching { runBlocking { auth.unlock("0000") } } }
            withVmScope { scope ->
                // A screen that did not call start() learns of the wait from the core.
                val unaware = PasscodeViewModel(auth, scope, clock, tickMillis = 10)
                unaware.enter("2468")
                assertEquals(PasscodeStatus.LockedOut, unaware.state.value.status)
                assertEquals(30L, unaware.state.value.retryInS)

                val vm = PasscodeViewModel(auth, scope, clock, tickMillis = 10)
                runBlocking { vm.start().join() }
                assertEquals(PasscodeStatus.LockedOut, vm.state.value.status)
                assertEquals(30L, vm.state.value.retryInS)
                clock.advance(30)
                awaitState(vm.state) { it.status == PasscodeStatus.Idle && it.retryInS == 0L }
                vm.enter("2468")
                assertEquals(PasscodeStatus.Unlocked, vm.state.value.status)
            }
        }
    }

    @Test
    fun vaultWithoutPasscodeReportsAnError() = withVault(unlocked = false) { auth ->
        withVmScope { scope ->
            val vm = PasscodeViewModel(auth, scope, FakeClock(0))
            vm.enter("1234")
            assertTrue(vm.state.value.status is PasscodeStatus.Error)
            vm.type("1")
            assertEquals(PasscodeStatus.Idle, vm.state.value.status)
        }
    }
}
