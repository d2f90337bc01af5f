package org.countersign.android.presentation

import kotlinx.coroutines.runBlocking
import org.countersign.android.clipboard.ClipContent
import org.countersign.android.clipboard.ClipboardGuard
import org.countersign.android.clipboard.ClipboardPort
import org.countersign.android.testing.FakeClock
import org.countersign.android.testing.FakeScheduler
import org.countersign.android.testing.RFC_SECRET
import org.countersign.android.testing.awaitState
import org.countersign.android.testing.rfcUri
import org.countersign.android.testing.withVault
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

class CodeListViewModelTest {
    private val hotpUri = "otpauth://hotp/Bank:dave?secret=$RFC_SECRET&issuer=Bank&counter=0"

    private class MemoryClipboard : ClipboardPort {
        @Volatile var text: String? = null

        override fun setSensitiveText(label: String, text: String) {
            this.text = text
        }

        override fun read(): ClipContent = text?.let { ClipContent.Text(it) } ?: ClipContent.Empty

        override fun clear() {
            text = null
        }
    }

    private fun rowsOf(s: CodeListState) = (s as? CodeListState.Codes)?.rows.orEmpty()

    @Test
    fun rowsTicksHotpAndCopy() = withVault(clock = FakeClock(59)) { auth ->
        val totpId = auth.addUri(rfcUri(6)).added.single().id
        val hotpId = auth.addUri(hotpUri).added.single().id
        val clip = MemoryClipboard()
        val guard = ClipboardGuard(clip, FakeScheduler())
        withVmScope { scope ->
            val vm = CodeListViewModel(auth, scope, clipboard = guard)
            assertEquals(CodeListState.Loading, vm.state.value)
            vm.start()
            val rows = rowsOf(awaitState(vm.state) { rowsOf(it).size == 2 })
            val totp = rows.single { it.id == totpId }
            assertEquals("ACME (alice@example.com)", totp.displayName)
            assertEquals("287 082", totp.code)
            assertEquals(1, totp.secondsLeft)
            assertEquals(1f / 30, totp.progress, 0.0001f)
            assertNull(totp.hint)
            val hotp = rows.single { it.id == hotpId }
            assertEquals("755 224", hotp.code) // RFC 4226, counter 0
            assertEquals("tap for next", hotp.hint)

            // HOTP: tap advances.
            vm.onRowTapped(hotpId)
            awaitState(vm.state) { s -> rowsOf(s).any { it.id == hotpId && it.code == "287 082" } }

            // TOTP: tap copies the raw code.
            runBlocking { vm.onRowTapped(totpId).join() }
            assertEquals("287082", clip.text)
            assertTrue(guard.hasPendingClear)
            vm.stop()
        }
    }

    @Test
    fun lockedThenUnlockedAndProfilesAddedElsewhere() = withVault { auth ->
        auth.addUri(rfcUri(6))
        withVmScope { scope ->
            val vm = CodeListViewModel(auth, scope)
            vm.start()
            awaitState(vm.state) { rowsOf(it).size == 1 }

            // Added while the list is showing: the next tick re-reads profiles.
            auth.addUri(rfcUri(8))
            awaitState(vm.state) { rowsOf(it).size == 2 }

            auth.lock()
            awaitState(vm.state) { it == CodeListState.Locked }

            runBlocking { auth.unlock(null) }
            vm.start()
            awaitState(vm.state) { rowsOf(it).size == 2 }

            // Stopped: no more ticks, so a new profile shows only on refresh.
            vm.stop()
            Thread.sleep(300)
            auth.addUri(rfcUri(7))
            Thread.sleep(1_300)
            assertEquals(2, rowsOf(vm.state.value).size)
            vm.refresh()
            awaitState(vm.state) { rowsOf(it).size == 3 }
            vm.stop()
        }
    }

    @Test
    fun startWhileLockedShowsLocked() = withVault(unlocked = false) { auth ->
        withVmScope { scope ->
            val vm = CodeListViewModel(auth, scope)
            vm.start()
            awaitState(vm.state) { it == CodeListState.Locked }
        }
    }
}
