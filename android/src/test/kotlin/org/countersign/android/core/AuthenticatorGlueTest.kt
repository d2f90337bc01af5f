// The Authenticator through the bindings: records, errors and panics cross
// the FFI intact. Not a re-test of the core's OTP logic: one known vector each.
package org.countersign.android.core

import java.io.File
import kotlinx.coroutines.runBlocking
import org.countersign.android.testing.FakeClock
import org.countersign.android.testing.JvmSoftwareKeystore
import org.countersign.android.testing.MIGRATION_URI
import org.countersign.android.testing.RFC_SECRET
import org.countersign.android.testing.assertThrows
import org.countersign.android.testing.rfcUri
import org.countersign.android.testing.withTempDir
import org.countersign.android.testing.withVault
import org.countersign.core.AuthException
import org.countersign.core.Authenticator
import org.countersign.core.OtpAlgorithm
import org.countersign.core.OtpType
import org.countersign.core.ProfileDraft
import org.countersign.core.ffiPanicProbe
import org.countersign.core.softwareKeystore
import org.countersign.core.systemClock
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test

class AuthenticatorGlueTest {
    @Test
    fun addUriAndReadCodesAtFixedTime() = withVault(clock = FakeClock(59)) { auth ->
        val eight = auth.addUri(rfcUri(8))
        val six = auth.addUri(rfcUri(6, account = "bob@example.com"))
        assertEquals(1, eight.added.size)
        assertEquals(1, six.added.size)
        val p = eight.added.single()
        assertEquals("ACME", p.issuer)
        assertEquals("alice@example.com", p.account)
        assertEquals(OtpType.TOTP, p.otpType)
        assertEquals(8.toUByte(), p.digits)
        assertEquals(30u, p.period)

        val byId = auth.codes().associateBy { it.profileId }
        assertEquals("94287082", byId.getValue(p.id).code)
        assertEquals("287082", byId.getValue(six.added.single().id).code)
        val c = byId.getValue(p.id)
        assertEquals(30L, c.validFrom)
        assertEquals(1u, c.validForS)
        assertEquals(30u, c.period)
        assertEquals(1uL, c.counter)
        // codesAt takes the time explicitly.
        assertEquals("287082", auth.codesAt(59).single { it.profileId == six.added.single().id }.code)
    }

    @Test
    fun migrationAndDuplicatesAreReported() = withVault { auth ->
        val first = auth.addUri(MIGRATION_URI)
        assertEquals(listOf("Example", ""), first.added.map { it.issuer })
        assertEquals(listOf(OtpType.TOTP, OtpType.HOTP), first.added.map { it.otpType })
        val bob = first.added[1]
        assertEquals(OtpAlgorithm.SHA256, bob.algorithm)
        assertEquals(7uL, bob.counter)
        assertTrue(first.skipped.isEmpty())

        val again = auth.addUri(MIGRATION_URI)
        assertTrue(again.added.isEmpty())
        assertEquals(listOf(0u, 1u), again.skipped.map { it.index })
        assertEquals(first.added.map { it.id }, again.skipped.map { it.duplicateOf })
        assertTrue(again.skipped.all { it.reason.isNotBlank() })
        assertEquals(2, auth.profiles().size)
    }

    @Test
    fun typedProfileWithSpacedLowercaseSecret() = withVault(clock = FakeClock(59)) { auth ->
        val spaced = RFC_SECRET.lowercase().chunked(4).joinToString(" ")
        val p = auth.addProfile(
            ProfileDraft(
                issuer = "Typed",
                account = "carol",
                secretBase32 = spaced,
                otpType = OtpType.TOTP,
                algorithm = OtpAlgorithm.SHA1,
                digits = 8u,
                period = 30u,
                counter = 0uL,
            ),
        )
        assertEquals("Typed", p.issuer)
        assertEquals("94287082", auth.codes().single { it.profileId == p.id }.code)
        assertEquals(listOf(p), auth.search("typ"))
    }

    @Test
    fun badUriIsInvalidInput() = withVault { auth ->
        val e = assertThrows<AuthException.InvalidInput> { auth.addUri("https://example.com/not-otp") }
        assertTrue(e.reason.isNotBlank())
        assertThrows<AuthException.InvalidInput> { auth.addUri("otpauth://totp/x?secret=not*base32") }
        assertTrue(auth.profiles().isEmpty())
    }

    @Test
    fun lockedVaultRefusesWithVaultLocked() = withVault { auth ->
        auth.addUri(rfcUri(6))
        assertFalse(auth.isLocked())
        auth.lock()
        assertTrue(auth.isLocked())
        assertThrows<AuthException.VaultLocked> { auth.codes() }
        assertThrows<AuthException.VaultLocked> { auth.profiles() }
        assertThrows<AuthException.VaultLocked> { auth.addUri(rfcUri(8)) }
        // Readable while locked:
        assertFalse(auth.unlockMethods().passcode)
        assertEquals(0u, auth.lockoutStatus().failedAttempts)

        runBlocking { auth.unlock(null) }
        assertFalse(auth.isLocked())
        assertEquals(1, auth.codes().size)
    }

    @Test
    fun vaultSurvivesReopenWithSameKeystore() = withTempDir { dir ->
        val keystore = JvmSoftwareKeystore()
        val path = File(dir, "v.db").path
        Authenticator.open(path, keystore, FakeClock(59)).use { a ->
            runBlocking { a.unlock(null) }
            a.addUri(rfcUri(6))
        }
        Authenticator.open(path, keystore, FakeClock(59)).use { a ->
            assertTrue(a.isLocked())
            runBlocking { a.unlock(null) }
            assertEquals("287082", a.codes().single().code)
        }
    }

    @Test
    fun unreadableFileIsReportedAndLeftAlone() = withTempDir { dir ->
        val f = File(dir, "garbage.db").apply { writeText("not a vault") }
        val e = assertThrows<AuthException.VaultUnreadable> {
            Authenticator.open(f.path, JvmSoftwareKeystore(), FakeClock(59)).close()
        }
        assertNotNull(e.reason)
        assertEquals("not a vault", f.readText())
    }

    @Test
    fun panicArrivesAsInternalNotACrash() {
        val e = assertThrows<AuthException.Internal> { ffiPanicProbe() }
        assertTrue(e.reason, e.reason.startsWith("panic"))
        // The library still works afterwards.
        withVault { auth -> assertTrue(auth.profiles().isEmpty()) }
    }

    @Test
    fun rustSoftwareKeystoreAndSystemClockWorkFromKotlin() = withTempDir { dir ->
        val keystore = softwareKeystore(File(dir, "keys").path)
        Authenticator.open(File(dir, "v.db").path, keystore, systemClock()).use { auth ->
            runBlocking { auth.unlock(null) }
            auth.addUri(rfcUri(6))
            val now = System.currentTimeMillis() / 1000
            val code = auth.codes().single()
            assertTrue(code.validFrom in now - 31..now)
            assertEquals(auth.codesAt(code.validFrom).single().code, code.code)
        }
    }

    @Test
    fun emptyPathIsInvalidInput() {
        assertThrows<AuthException.InvalidInput> { Authenticator.open("", JvmSoftwareKeystore(), FakeClock(0)) }
    }
}
