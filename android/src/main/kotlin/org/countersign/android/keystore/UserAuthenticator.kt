// Why this file exists: keys that demand biometrics / the device credential
// can only be used after the user authorizes *that* crypto operation
// (BiometricPrompt.CryptoObject). The keystore must not own UI, so it asks
// through this interface; BiometricGate (platform/biometric) implements it
// with BiometricPrompt, tests implement it with a lambda.
package org.countersign.android.keystore

import java.security.Signature
import javax.crypto.Cipher
import org.countersign.core.KeystoreException

/** Why the keystore needs the user: lets the prompt say what is being authorized. */
enum class AuthPurpose {
    /** Turning on biometric unlock (the vault key is wrapped under a user-bound key). */
    ENABLE_BIOMETRICS,

    /**
     * Using the biometric key: unlocking the vault, or confirming presence
     * before an approval (the keystore cannot tell which; see README).
     */
    UNLOCK,

    /** Signing with the device's signing key (approving a sign-in, a later issue). */
    SIGN,
}

/**
 * One initialised crypto object that becomes usable once the user authorizes it.
 * The keystore finishes the operation (`doFinal` / `sign`) after [UserAuthenticator.authorize]
 * returns [AuthOutcome.Authorized].
 */
sealed interface CryptoOperation {
    /** What the prompt is for. */
    val purpose: AuthPurpose

    /** An AES-GCM cipher, initialised with a user-bound key. */
    class UseCipher(val cipher: Cipher, override val purpose: AuthPurpose) : CryptoOperation

    /** An ECDSA signature, initialised for signing with a user-bound key. */
    class UseSignature(val signature: Signature, override val purpose: AuthPurpose) : CryptoOperation
}

/** How the user answered a prompt. */
sealed interface AuthOutcome {
    /** The operation may proceed. */
    data object Authorized : AuthOutcome

    /** The user dismissed the prompt (or pressed the negative button). */
    data object Cancelled : AuthOutcome

    /** Authentication failed for good (e.g. too many attempts, biometrics locked). */
    data object Failed : AuthOutcome

    /** No prompt could be shown; [reason] is for logs and bug reports (no secrets). */
    data class Unavailable(val reason: String) : AuthOutcome
}

/**
 * Asks the user to authorize one keystore operation and **blocks** until they answer.
 *
 * The core calls keystore methods from a background thread (the async `unlock*` /
 * `enableBiometrics` calls), so blocking is allowed there; an implementation must
 * refuse (return [AuthOutcome.Unavailable]) rather than block the main thread.
 */
fun interface UserAuthenticator {
    /** Shows the prompt for [operation] and returns the user's answer. */
    fun authorize(operation: CryptoOperation): AuthOutcome
}

/** Throws the [KeystoreException] the core expects for anything but [AuthOutcome.Authorized]. */
fun AuthOutcome.requireAuthorized() {
    when (this) {
        AuthOutcome.Authorized -> Unit
        AuthOutcome.Cancelled -> throw KeystoreException.UserCancelled()
        AuthOutcome.Failed -> throw KeystoreException.AuthFailed()
        is AuthOutcome.Unavailable -> throw KeystoreException.Unavailable(reason)
    }
}
