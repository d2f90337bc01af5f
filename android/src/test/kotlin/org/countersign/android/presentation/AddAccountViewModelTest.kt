package org.countersign.android.presentation

import kotlinx.coroutines.runBlocking
import org.countersign.android.testing.MIGRATION_URI
import org.countersign.android.testing.RFC_SECRET
import org.countersign.android.testing.rfcUri
import org.countersign.android.testing.withVault
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class AddAccountViewModelTest {
    @Test
    fun scanSummaryWithDuplicates() = withVault { auth ->
        withVmScope { scope ->
            val vm = AddAccountViewModel(auth, scope)
            assertEquals(AddAccountState.Idle, vm.state.value)

            runBlocking { vm.onScanned(rfcUri(6)).join() }
            val one = vm.state.value as AddAccountState.Summary
            assertEquals(listOf("ACME (alice@example.com)"), one.added.map { it.displayName })
            assertTrue(one.skipped.isEmpty())
            assertFalse(one.toString().contains(RFC_SECRET))

            runBlocking { vm.onScanned(MIGRATION_URI).join() }
            assertEquals(2, (vm.state.value as AddAccountState.Summary).added.size)

            runBlocking { vm.onScanned(MIGRATION_URI).join() }
            val dup = vm.state.value as AddAccountState.Summary
            assertTrue(dup.added.isEmpty())
            assertEquals(listOf(0, 1), dup.skipped.map { it.index })
            assertEquals(listOf("Example (alice@google.com)", "bob"), dup.skipped.map { it.duplicateOf })
            assertTrue(dup.skipped.all { it.reason.isNotBlank() })

            vm.reset()
            assertEquals(AddAccountState.Idle, vm.state.value)
        }
    }

    @Test
    fun badScanAndLockedVaultFail() = withVault { auth ->
        withVmScope { scope ->
            val vm = AddAccountViewModel(auth, scope)
            runBlocking { vm.onScanned("https://example.com").join() }
            val failed = vm.state.value as AddAccountState.Failed
            assertTrue(failed.message.isNotBlank())

            auth.lock()
            runBlocking { vm.onScanned(rfcUri(6)).join() }
            assertEquals(AddAccountState.Failed("The vault is locked"), vm.state.value)
        }
    }

    @Test
    fun manualEntry() = withVault { auth ->
        withVmScope { scope ->
            val vm = AddAccountViewModel(auth, scope)
            val spaced = RFC_SECRET.lowercase().chunked(4).joinToString(" ")
            runBlocking { vm.addManually(" Typed ", "carol", spaced, digits = 8).join() }
            val s = vm.state.value as AddAccountState.Summary
            assertEquals(listOf("Typed (carol)"), s.added.map { it.displayName })
            assertEquals("94287082", auth.codesAt(59).single().code)

            runBlocking { vm.addManually("X", "y", "!!!").join() }
            assertTrue(vm.state.value is AddAccountState.Failed)
            runBlocking { vm.addManually("X", "y", RFC_SECRET, period = 0).join() }
            assertTrue(vm.state.value is AddAccountState.Failed)
            assertEquals(1, auth.profiles().size)
        }
    }
}
