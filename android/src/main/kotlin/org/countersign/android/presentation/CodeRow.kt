// Why this file exists: turning the core's profiles + codes into what one list
// row shows (name, grouped code, countdown, HOTP hint) is pure and is where
// display bugs would be, so it is a function of its own with tests.
package org.countersign.android.presentation

import org.countersign.core.OtpCode
import org.countersign.core.OtpType
import org.countersign.core.Profile

/** One row of the code list, ready to draw. */
data class CodeRow(
    /** Profile id (stable; use as the list key). */
    val id: String,
    /** "Issuer (account)", or whichever of the two exists. */
    val displayName: String,
    /** The code grouped for reading ("123 456"); empty until the first tick. */
    val code: String,
    /** The code as typed/copied, without grouping. */
    val rawCode: String,
    /** TOTP, HOTP or Steam. */
    val type: OtpType,
    /** Seconds until the code changes (0 for HOTP). */
    val secondsLeft: Int,
    /** Fraction of the time window still left, 1 → 0 (0 for HOTP): drives the ring. */
    val progress: Float,
    /** Hint under the code ("tap for next" for HOTP), or null. */
    val hint: String?,
    /** Pinned. */
    val favorite: Boolean,
)

/** Rows for [profiles] (in their order) with the latest [codes] by profile id. */
fun buildCodeRows(profiles: List<Profile>, codes: Map<String, OtpCode>, text: UiText): List<CodeRow> =
    profiles.map { p ->
        val c = codes[p.id]
        val counterBased = p.otpType == OtpType.HOTP
        val period = c?.period?.toInt() ?: p.period.toInt()
        val left = if (counterBased || c == null) 0 else c.validForS.toInt()
        CodeRow(
            id = p.id,
            displayName = text.displayName(p.issuer, p.account),
            code = c?.code?.let(::formatCode).orEmpty(),
            rawCode = c?.code.orEmpty(),
            type = p.otpType,
            secondsLeft = left,
            progress = if (counterBased || period <= 0) 0f else (left.toFloat() / period).coerceIn(0f, 1f),
            hint = if (counterBased) text.tapForNext else null,
            favorite = p.favorite,
        )
    }
