// Why this file exists: the view models produce display-ready state, so they
// need words. They take them from this class (English defaults) so an Android
// app can subclass it with string resources, and tests can read plain text.
package org.countersign.android.presentation

import org.countersign.core.AuthException

/**
 * The words the view models put into their states. Override for localization
 * (e.g. read `Context.getString` in an Android subclass).
 */
open class UiText {
    /** Hint under a counter-based (HOTP) code. */
    open val tapForNext: String get() = "tap for next"

    /** Name shown for a profile with neither issuer nor account. */
    open val unnamedAccount: String get() = "Unnamed account"

    /** Manual entry with digits, period or counter out of range. */
    open val parametersOutOfRange: String get() = "Digits, period or counter out of range"

    /** A row title: issuer and account, whichever exist. */
    open fun displayName(issuer: String, account: String): String = when {
        issuer.isNotBlank() && account.isNotBlank() -> "$issuer ($account)"
        issuer.isNotBlank() -> issuer
        account.isNotBlank() -> account
        else -> unnamedAccount
    }

    /** The typed number is not one or two digits. */
    open val typeTheNumber: String get() = "Type the two digits the sign-in screen shows"

    /** The request was answered elsewhere, expired or replaced. */
    open val requestGone: String get() = "This sign-in is no longer waiting"

    /** How an answered sign-in ended. */
    open fun answered(state: org.countersign.core.RequestState): String = when (state) {
        org.countersign.core.RequestState.APPROVED -> "Approved"
        org.countersign.core.RequestState.DENIED -> "Denied"
        org.countersign.core.RequestState.REPORTED -> "Denied and reported"
        org.countersign.core.RequestState.EXPIRED -> "The sign-in had expired"
        org.countersign.core.RequestState.PENDING -> "Still waiting"
    }

    /** Text for any failure; [AuthException]s get [authError], anything else a generic line. */
    open fun error(e: Throwable): String =
        if (e is AuthException) authError(e) else "Something went wrong; please try again"

    /** Text for a core error. None of these include secrets (the core's reasons never do). */
    open fun authError(e: AuthException): String = when (e) {
        is AuthException.VaultLocked -> "The vault is locked"
        is AuthException.WrongPasscode -> "Wrong passcode"
        is AuthException.LockedOut -> "Too many wrong passcodes; try again in ${e.retryAfterS} s"
        is AuthException.InvalidInput -> e.reason
        is AuthException.NotFound -> "That account no longer exists"
        is AuthException.Duplicate -> "This account is already in the vault"
        is AuthException.LimitReached -> "Limit of ${e.limit} ${e.what} reached"
        is AuthException.VaultUnreadable -> "The vault cannot be read; it was left untouched. Restore a backup."
        is AuthException.KeyUnavailable -> "The device key could not be used"
        is AuthException.Storage -> "Could not save; check the free storage"
        is AuthException.Network -> "The server could not be reached; try again later"
        is AuthException.ServerKeyMismatch -> "The server's identity changed; not connecting (possible interception)"
        is AuthException.PairingRevoked -> "This sign-in pairing was revoked by the server"
        is AuthException.WrongNumber ->
            if (e.triesLeft == 0u) "That was not the number on the sign-in screen; the sign-in was denied"
            else "That is not the number on the sign-in screen. Try again (${e.triesLeft} left)"
        is AuthException.Rejected -> "The server refused the request"
        is AuthException.Internal -> "Internal error; please report it"
    }
}
