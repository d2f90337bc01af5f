package org.countersign.android.presentation

import kotlinx.coroutines.runBlocking
import org.countersign.android.testing.RFC_SECRET
import org.countersign.android.testing.withVault
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test

/** Import, backup and restore through the real core (no mocks): files in, files out. */
class ImportBackupViewModelTest {
    private val list = (
        "# exported elsewhere\n" +
            "otpauth://totp/ACME:alice?secret=$RFC_SECRET&issuer=ACME\n" +
            "otpauth://totp/Broken?secret=not*base32\n" +
            "otpauth://totp/Other:bob?secret=KRSXG5CTMVRXEZLU&issuer=Other\n"
        ).toByteArray()

    @Test
    fun aUriListImportsAtOnceAndSaysWhatItSkipped() = withVault { auth ->
        withVmScope { scope ->
            val vm = ImportBackupViewModel(auth, scope)
            runBlocking { vm.onFilePicked(list).join() }
            val done = vm.state.value as ImportBackupState.Imported
            assertEquals("otpauth URI list", done.description)
            assertEquals(listOf("ACME (alice)", "Other (bob)"), done.added)
            assertEquals(1, done.skipped.size)
            assertTrue(done.skipped[0], done.skipped[0].startsWith("line 3: "))

            // The same file again: nothing added, one sentence why.
            runBlocking { vm.onFilePicked(list).join() }
            val again = vm.state.value as ImportBackupState.Failed
            assertTrue(again.message, again.message.contains("nothing added"))
            assertEquals(2, auth.profiles().size)

            runBlocking { vm.onFilePicked("{\"not\": \"an export\"}".toByteArray()).join() }
            assertTrue(vm.state.value is ImportBackupState.Failed)
        }
    }

    @Test
    fun aBackupMadeHereRestoresElsewhereWithItsRecoveryCode() {
        var bytes: ByteArray? = null
        var code: String? = null
        withVault { auth ->
            withVmScope { scope ->
                runBlocking { auth.importFile(list, null, null) }
                val vm = ImportBackupViewModel(auth, scope)
                runBlocking { vm.createBackup("short", true).join() }
                assertTrue(vm.state.value is ImportBackupState.Failed)
                runBlocking { vm.createBackup("backup-password", true).join() }
                val ready = vm.state.value as ImportBackupState.BackupReady
                assertTrue(ready.fileName, ready.fileName.endsWith(".csbk"))
                assertFalse(ready.toString().contains(ready.recoveryCode!!))
                bytes = ready.bytes
                code = ready.recoveryCode
            }
        }
        withVault { other ->
            withVmScope { scope ->
                val vm = ImportBackupViewModel(other, scope)
                runBlocking { vm.onFilePicked(bytes!!).join() }
                assertEquals(
                    ImportBackupState.NeedsPassword("Countersign backup", isBackup = true),
                    vm.state.value,
                )
                // A wrong password changes nothing and keeps the file for another try.
                runBlocking { vm.onPassword("wrong-password").join() }
                assertTrue(vm.state.value is ImportBackupState.Failed)
                assertTrue(other.profiles().isEmpty())
                runBlocking { vm.onPassword(code!!).join() }
                val restored = vm.state.value as ImportBackupState.Imported
                assertEquals(listOf("ACME (alice)", "Other (bob)"), restored.added)
                assertEquals(2, other.profiles().size)
                assertNotNull(restored.description)
            }
        }
    }

    @Test
    fun googleQrPayloadsAndTheOtpauthListComeOut() = withVault { auth ->
        runBlocking { auth.importFile(list, null, null) }
        val qr = auth.exportGoogleQr()
        assertEquals(1, qr.payloads.size)
        assertEquals(2u, qr.exported)
        assertTrue(qr.payloads[0].startsWith("otpauth-migration://offline?data="))
        assertEquals(2, auth.exportOtpauthUris().size)
    }
}
