// The Kotlin PlatformKeystore as the core sees it: biometric slot through a
// user-bound key and a UserAuthenticator, keystore errors mapped to
// AuthException, bad keystore output rejected without a crash.
package org.countersign.android.core

import java.io.File
import java.security.Signature
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.runBlocking
import org.countersign.android.keystore.AuthOutcome
import org.countersign.android.keystore.AuthPurpose
import org.countersign.android.keystore.CryptoOperation
import org.countersign.android.keystore.UserAuthenticator
import org.countersign.android.testing.DelegatingKeystore
import org.countersign.android.testing.FakeClock
import org.countersign.android.testing.JvmSoftwareKeystore
import org.countersign.android.testing.assertThrows
import org.countersign.android.testing.rfcUri
import org.countersign.android.testing.withTempDir
import org.countersign.android.testing.withVault
import org.countersign.core.AuthException
import org.countersign.core.Authenticator
import org.countersign.core.KeystoreException
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class KeystoreGlueTest {
    /** A UserAuthenticator that answers from a script and records purposes. */
    private class ScriptedPrompt(var answer: AuthOutcome = AuthOutcome.Authorized) : UserAuthenticator {
        val purposes = mutableListOf<AuthPurpose>()

        override fun authorize(operation: CryptoOperation): AuthOutcome {
            synchronized(purposes) { purposes += operation.purpose }
            return answer
        }
    }

    @Test
    fun biometricsEnableAndUnlockThroughKotlinKeystore() {
        val prompt = ScriptedPrompt()
        val keystore = JvmSoftwareKeystore(prompt)
        withVault(keystore = keystore) { auth ->
            auth.addUri(rfcUri(6))
            auth.setPasscode("2580")
            runBlocking { auth.enableBiometrics() }
            assertTrue(auth.unlockMethods().biometrics)
            assertEquals(listOf(AuthPurpose.ENABLE_BIOMETRICS), prompt.purposes)

            auth.lock()
            runBlocking { auth.unlockWithBiometrics() }
            assertFalse(auth.isLocked())
            assertEquals("287082", auth.codes().single().code)
            assertEquals(AuthPurpose.UNLOCK, prompt.purposes.last())

            // Cancelled prompt → KeyUnavailable, still locked.
            auth.lock()
            prompt.answer = AuthOutcome.Cancelled
            val e = assertThrows<AuthException.KeyUnavailable> { runBlocking { auth.unlockWithBiometrics() } }
            assertTrue(e.reason.isNotBlank())
            assertTrue(auth.isLocked())

            // Disable deletes the platform key.
            prompt.answer = AuthOutcome.Authorized
            runBlocking { auth.unlock("2580") }
            val aliasesBefore = keystore.wrapAliases.size
            runBlocking { auth.disableBiometrics() }
            assertFalse(auth.unlockMethods().biometrics)
            assertEquals(aliasesBefore - 1, keystore.wrapAliases.size)
        }
    }

    @Test
    fun userCancelledSurfacesAsKeyUnavailable() = withTempDir { dir ->
        val inner = JvmSoftwareKeystore()
        val cancel = AtomicInteger(0)
        val keystore = object : DelegatingKeystore(inner) {
            override fun unwrapKey(alias: String, wrapped: ByteArray): ByteArray {
                if (cancel.get() > 0) throw KeystoreException.UserCancelled()
                return inner.unwrapKey(alias, wrapped)
            }
        }
        Authenticator.open(File(dir, "v.db").path, keystore, FakeClock(59)).use { auth ->
            cancel.set(1)
            assertThrows<AuthException.KeyUnavailable> { runBlocking { auth.unlock(null) } }
            assertTrue(auth.isLocked())
            cancel.set(0)
            runBlocking { auth.unlock(null) }
            assertFalse(auth.isLocked())
        }
    }

    @Test
    fun wrongLengthKeyIsAnErrorNotACrash() = withTempDir { dir ->
        val inner = JvmSoftwareKeystore()
        val keystore = object : DelegatingKeystore(inner) {
            override fun unwrapKey(alias: String, wrapped: ByteArray): ByteArray =
                inner.unwrapKey(alias, wrapped).copyOf(16)
        }
        Authenticator.open(File(dir, "v.db").path, keystore, FakeClock(59)).use { auth ->
            val e = assertThrows<AuthException> { runBlocking { auth.unlock(null) } }
            assertTrue("got $e", e is AuthException.KeyUnavailable || e is AuthException.VaultUnreadable)
            assertTrue(auth.isLocked())
        }
    }

    @Test
    fun emptyWrappedBlobIsRejectedOnCreate() = withTempDir { dir ->
        val keystore = object : DelegatingKeystore(JvmSoftwareKeystore()) {
            override fun wrapKey(alias: String, key: ByteArray, requireUserAuth: Boolean) = ByteArray(0)
        }
        assertThrows<AuthException> {
            Authenticator.open(File(dir, "v.db").path, keystore, FakeClock(59)).close()
        }
    }

    @Test
    fun unexpectedKotlinExceptionInKeystoreIsMappedNotFatal() = withTempDir { dir ->
        val inner = JvmSoftwareKeystore()
        val broken = AtomicInteger(0)
        val keystore = object : DelegatingKeystore(inner) {
            override fun unwrapKey(alias: String, wrapped: ByteArray): ByteArray {
                if (broken.get() > 0) throw IllegalStateException("keystore bug")
                return inner.unwrapKey(alias, wrapped)
            }
        }
        Authenticator.open(File(dir, "v.db").path, keystore, FakeClock(59)).use { auth ->
            broken.set(1)
            assertThrows<AuthException.KeyUnavailable> { runBlocking { auth.unlock(null) } }
            broken.set(0)
            runBlocking { auth.unlock(null) }
            assertFalse(auth.isLocked())
        }
    }

    @Test
    fun invalidatedKeyIsKeyUnavailable() {
        val keystore = JvmSoftwareKeystore()
        withVault(keystore = keystore) { auth ->
            runBlocking { auth.enableBiometrics() }
            auth.lock()
            // New biometric enrollment on Android deletes/invalidates the key.
            val bound = keystore.userBoundAliases
            assertEquals(1, bound.size)
            bound.forEach(keystore::deleteKey)
            assertThrows<AuthException.KeyUnavailable> { runBlocking { auth.unlockWithBiometrics() } }
            runBlocking { auth.unlock(null) }
            assertFalse(auth.isLocked())
        }
    }

    @Test
    fun softwareSigningKeyGivesUncompressedPointAndDerSignatures() {
        val keystore = JvmSoftwareKeystore()
        val point = keystore.createSigningKey("device-sign", false)
        assertEquals(65, point.size)
        assertEquals(0x04.toByte(), point[0])
        val msg = "approve request 42".toByteArray()
        val sig = keystore.sign("device-sign", msg)
        assertEquals(0x30.toByte(), sig[0]) // DER SEQUENCE
        val verifier = Signature.getInstance("SHA256withECDSA")
        verifier.initVerify(keystore.signingPublicKey("device-sign"))
        verifier.update(msg)
        assertTrue(verifier.verify(sig))
        keystore.deleteKey("device-sign")
        assertThrows<KeystoreException.KeyInvalidated> { keystore.sign("device-sign", msg) }
    }
}
