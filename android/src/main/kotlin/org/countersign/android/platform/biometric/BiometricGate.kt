// Android-only. Why this file exists: user-bound Keystore keys only work
// after BiometricPrompt authorizes the exact Cipher/Signature
// (CryptoObject). AndroidKeystore asks through UserAuthenticator from a
// background thread; this class shows the prompt on the main thread and
// blocks the caller until the user answers.
package org.countersign.android.platform.biometric

import android.os.Build
import android.os.Looper
import androidx.biometric.BiometricManager.Authenticators.BIOMETRIC_STRONG
import androidx.biometric.BiometricManager.Authenticators.DEVICE_CREDENTIAL
import androidx.biometric.BiometricPrompt
import androidx.fragment.app.FragmentActivity
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference
import org.countersign.android.keystore.AuthOutcome
import org.countersign.android.keystore.AuthPurpose
import org.countersign.android.keystore.CryptoOperation
import org.countersign.android.keystore.UserAuthenticator

/**
 * [UserAuthenticator] with androidx BiometricPrompt.
 *
 * [activity] returns the activity in the foreground (or null); the app keeps
 * track of it, e.g. with `Application.ActivityLifecycleCallbacks`. [texts]
 * gives the prompt's words for each purpose (from the app's resources).
 *
 * API 30+: strong biometrics or the device credential. API 28–29: strong
 * biometrics only, with a cancel button, because the platform cannot bind a
 * PIN/pattern to a crypto operation there (matches AndroidKeystore's keys).
 */
class BiometricGate(
    private val activity: () -> FragmentActivity?,
    private val texts: (AuthPurpose) -> PromptTexts,
    private val timeoutMillis: Long = DEFAULT_TIMEOUT_MILLIS,
) : UserAuthenticator {
    /** The words of one prompt. */
    data class PromptTexts(
        /** Title, e.g. "Unlock Countersign". */
        val title: String,
        /** Optional second line. */
        val subtitle: String? = null,
        /** Cancel button (shown on API 28–29 only; later the system offers the device credential). */
        val negativeButton: String = "Cancel",
    )

    override fun authorize(operation: CryptoOperation): AuthOutcome {
        if (Looper.myLooper() == Looper.getMainLooper()) {
            // Blocking here would deadlock the prompt we are about to show.
            return AuthOutcome.Unavailable("keystore prompt requested on the main thread")
        }
        val host = activity() ?: return AuthOutcome.Unavailable("no activity in the foreground")
        val crypto = when (operation) {
            is CryptoOperation.UseCipher -> BiometricPrompt.CryptoObject(operation.cipher)
            is CryptoOperation.UseSignature -> BiometricPrompt.CryptoObject(operation.signature)
        }
        val info = promptInfo(texts(operation.purpose))
        val outcome = AtomicReference<AuthOutcome>()
        val answered = CountDownLatch(1)
        val prompt = AtomicReference<BiometricPrompt>()
        fun finish(result: AuthOutcome) {
            if (outcome.compareAndSet(null, result)) answered.countDown()
        }

        val main = host.mainExecutor
        main.execute {
            if (host.isFinishing || host.isDestroyed) {
                finish(AuthOutcome.Unavailable("activity is finishing"))
                return@execute
            }
            val callback = object : BiometricPrompt.AuthenticationCallback() {
                override fun onAuthenticationSucceeded(result: BiometricPrompt.AuthenticationResult) =
                    finish(AuthOutcome.Authorized)

                override fun onAuthenticationError(errorCode: Int, errString: CharSequence) =
                    finish(outcomeFor(errorCode))

                // A single unrecognised finger: the prompt stays up, keep waiting.
                override fun onAuthenticationFailed() = Unit
            }
            try {
                BiometricPrompt(host, main, callback).also(prompt::set).authenticate(info, crypto)
            } catch (e: IllegalArgumentException) {
                finish(AuthOutcome.Unavailable("prompt rejected: ${e.javaClass.simpleName}"))
            } catch (e: IllegalStateException) {
                finish(AuthOutcome.Unavailable("prompt rejected: ${e.javaClass.simpleName}"))
            }
        }

        val inTime = try {
            answered.await(timeoutMillis, TimeUnit.MILLISECONDS)
        } catch (e: InterruptedException) {
            Thread.currentThread().interrupt()
            false
        }
        if (!inTime) {
            main.execute { prompt.get()?.cancelAuthentication() }
            finish(AuthOutcome.Cancelled)
        }
        return outcome.get() ?: AuthOutcome.Cancelled
    }

    private fun promptInfo(t: PromptTexts): BiometricPrompt.PromptInfo {
        val b = BiometricPrompt.PromptInfo.Builder()
            .setTitle(t.title)
            .setSubtitle(t.subtitle)
            .setConfirmationRequired(false)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
            // No negative button with DEVICE_CREDENTIAL: the system shows "Use PIN".
            b.setAllowedAuthenticators(BIOMETRIC_STRONG or DEVICE_CREDENTIAL)
        } else {
            b.setAllowedAuthenticators(BIOMETRIC_STRONG).setNegativeButtonText(t.negativeButton)
        }
        return b.build()
    }

    private companion object {
        const val DEFAULT_TIMEOUT_MILLIS = 120_000L

        fun outcomeFor(errorCode: Int): AuthOutcome = when (errorCode) {
            BiometricPrompt.ERROR_USER_CANCELED,
            BiometricPrompt.ERROR_NEGATIVE_BUTTON,
            BiometricPrompt.ERROR_CANCELED,
            BiometricPrompt.ERROR_TIMEOUT,
            -> AuthOutcome.Cancelled
            BiometricPrompt.ERROR_LOCKOUT,
            BiometricPrompt.ERROR_LOCKOUT_PERMANENT,
            -> AuthOutcome.Failed
            BiometricPrompt.ERROR_NO_BIOMETRICS -> AuthOutcome.Unavailable("no biometrics enrolled")
            BiometricPrompt.ERROR_NO_DEVICE_CREDENTIAL -> AuthOutcome.Unavailable("no screen lock set")
            BiometricPrompt.ERROR_HW_NOT_PRESENT,
            BiometricPrompt.ERROR_HW_UNAVAILABLE,
            -> AuthOutcome.Unavailable("biometric hardware unavailable")
            else -> AuthOutcome.Unavailable("biometric error $errorCode")
        }
    }
}
