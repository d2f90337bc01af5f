package org.countersign.android.presentation

import org.countersign.core.AuthException
import org.countersign.core.OtpAlgorithm
import org.countersign.core.OtpCode
import org.countersign.core.OtpType
import org.countersign.core.Profile
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Test

class CodeRowsTest {
    private fun profile(id: String, type: OtpType, issuer: String = "ACME", account: String = "alice", period: UInt = 30u) =
        Profile(
            id = id, issuer = issuer, account = account, otpType = type, algorithm = OtpAlgorithm.SHA1,
            digits = 6u, period = period, counter = 0uL, note = "", group = "", favorite = false,
            sortOrder = 0, createdAt = 0, updatedAt = 0,
        )

    private fun code(id: String, code: String, left: UInt, period: UInt) =
        OtpCode(profileId = id, code = code, validFrom = 0, validForS = left, period = period, counter = 0uL)

    @Test
    fun formatsCodesInTwoGroups() {
        assertEquals("123 456", formatCode("123456"))
        assertEquals("123 4567", formatCode("1234567"))
        assertEquals("1234 5678", formatCode("12345678"))
        assertEquals("12345 67890", formatCode("1234567890"))
        assertEquals("2KD9X", formatCode("2KD9X")) // Steam
        assertEquals("1234", formatCode("1234"))
        assertEquals("", formatCode(""))
    }

    @Test
    fun totpRowHasCountdownAndProgress() {
        val rows = buildCodeRows(
            listOf(profile("a", OtpType.TOTP)),
            mapOf("a" to code("a", "287082", 15u, 30u)),
            UiText(),
        )
        val r = rows.single()
        assertEquals("ACME (alice)", r.displayName)
        assertEquals("287 082", r.code)
        assertEquals("287082", r.rawCode)
        assertEquals(15, r.secondsLeft)
        assertEquals(0.5f, r.progress, 0.0001f)
        assertNull(r.hint)
    }

    @Test
    fun hotpRowSaysTapForNext() {
        val r = buildCodeRows(
            listOf(profile("h", OtpType.HOTP, issuer = "", account = "bob", period = 0u)),
            mapOf("h" to code("h", "755224", 0u, 0u)),
            UiText(),
        ).single()
        assertEquals("bob", r.displayName)
        assertEquals("755 224", r.code)
        assertEquals("tap for next", r.hint)
        assertEquals(0, r.secondsLeft)
        assertEquals(0f, r.progress, 0f)
    }

    @Test
    fun rowWithoutCodeYetAndOddValues() {
        val rows = buildCodeRows(
            listOf(profile("x", OtpType.TOTP, issuer = "", account = ""), profile("y", OtpType.STEAM)),
            mapOf("y" to code("y", "2KD9X", 45u, 30u)), // more left than the period: clamped
            UiText(),
        )
        assertEquals("Unnamed account", rows[0].displayName)
        assertEquals("", rows[0].code)
        assertEquals(0f, rows[0].progress, 0f)
        assertEquals("2KD9X", rows[1].code)
        assertEquals(1f, rows[1].progress, 0f)
    }

    @Test
    fun errorTextsNeverEmpty() {
        val t = UiText()
        val all = listOf(
            AuthException.VaultLocked(), AuthException.WrongPasscode(0uL), AuthException.LockedOut(30uL),
            AuthException.InvalidInput("bad uri"), AuthException.NotFound(), AuthException.Duplicate("id"),
            AuthException.LimitReached(10u, "profiles"), AuthException.VaultUnreadable("r"),
            AuthException.KeyUnavailable("r"), AuthException.Storage("r"), AuthException.Internal("r"),
            AuthException.Network("r"), AuthException.ServerKeyMismatch(), AuthException.PairingRevoked("p"),
        )
        for (e in all) assert(t.authError(e).isNotBlank())
        assertEquals("bad uri", t.authError(AuthException.InvalidInput("bad uri")))
        assertEquals("Too many wrong passcodes; try again in 30 s", t.authError(AuthException.LockedOut(30uL)))
        assertEquals(t.error(IllegalStateException("x")), "Something went wrong; please try again")
    }
}
