// Why this file exists: adding accounts (a scanned QR code, or a secret typed
// in) ends in a summary the user must understand, including what was *not*
// added and why (duplicates, unsupported entries of a migration QR). This
// class turns the core's AddReport into that summary; the secret-bearing input
// is passed to the core and never kept in state.
package org.countersign.android.presentation

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import org.countersign.core.AddReport
import org.countersign.core.AuthException
import org.countersign.core.AuthenticatorInterface
import org.countersign.core.OtpAlgorithm
import org.countersign.core.OtpType
import org.countersign.core.ProfileDraft

/** An account that was added. */
data class AddedAccount(val id: String, val displayName: String)

/** An input that was not added. */
data class SkippedAccount(
    /** Position in the scanned code (migration QR codes hold several accounts). */
    val index: Int,
    /** Why, in the core's words (safe to show). */
    val reason: String,
    /** For a duplicate: the name of the account already in the vault, if it still exists. */
    val duplicateOf: String?,
)

/** Where the add-account flow is. */
sealed interface AddAccountState {
    /** Waiting for a scan or typed input. */
    data object Idle : AddAccountState

    /** The core is adding. */
    data object Adding : AddAccountState

    /** Done: what was added and what was skipped (either list may be empty). */
    data class Summary(val added: List<AddedAccount>, val skipped: List<SkippedAccount>) : AddAccountState

    /** Nothing was added; [message] says why (e.g. not an otpauth QR code). */
    data class Failed(val message: String) : AddAccountState
}

/** State holder of the add-account screen (scanner result or manual entry). */
class AddAccountViewModel(
    private val authenticator: AuthenticatorInterface,
    private val scope: CoroutineScope,
    private val text: UiText = UiText(),
    private val worker: CoroutineDispatcher = Dispatchers.IO,
) {
    private val _state = MutableStateFlow<AddAccountState>(AddAccountState.Idle)

    /** The screen state. */
    val state: StateFlow<AddAccountState> = _state.asStateFlow()

    /** The scanner read [uri] (`otpauth://…` or `otpauth-migration://…`). */
    fun onScanned(uri: String): Job = launchAdd { authenticator.addUri(uri) }

    /**
     * The user typed an account in. [secret] is Base32 as the service shows it
     * (spaces, dashes, lower case and padding are fine); the other parameters
     * default to what almost every service uses.
     */
    fun addManually(
        issuer: String,
        account: String,
        secret: String,
        type: OtpType = OtpType.TOTP,
        algorithm: OtpAlgorithm = OtpAlgorithm.SHA1,
        digits: Int = if (type == OtpType.STEAM) 5 else 6,
        period: Int = 30,
        counter: Long = 0,
    ): Job {
        if (digits !in 1..255 || period <= 0 || counter < 0) {
            _state.value = AddAccountState.Failed(text.parametersOutOfRange)
            return Job().apply { complete() }
        }
        val draft = ProfileDraft(
            issuer = issuer.trim(),
            account = account.trim(),
            secretBase32 = secret,
            otpType = type,
            algorithm = algorithm,
            digits = digits.toUByte(),
            period = period.toUInt(),
            counter = counter.toULong(),
        )
        return launchAdd { AddReport(added = listOf(authenticator.addProfile(draft)), skipped = emptyList()) }
    }

    /** Back to [AddAccountState.Idle] (scan another). */
    fun reset() {
        _state.value = AddAccountState.Idle
    }

    private fun launchAdd(add: () -> AddReport): Job {
        _state.value = AddAccountState.Adding
        return scope.launch(worker) {
            _state.value = try {
                summarize(add())
            } catch (e: AuthException) {
                AddAccountState.Failed(text.authError(e))
            }
        }
    }

    private fun summarize(report: AddReport): AddAccountState.Summary {
        val names by lazy {
            try {
                authenticator.profiles().associate { it.id to text.displayName(it.issuer, it.account) }
            } catch (e: AuthException) {
                emptyMap()
            }
        }
        return AddAccountState.Summary(
            added = report.added.map { AddedAccount(it.id, text.displayName(it.issuer, it.account)) },
            skipped = report.skipped.map { s ->
                SkippedAccount(
                    index = s.index.toInt(),
                    reason = s.reason,
                    duplicateOf = s.duplicateOf?.let { names[it] },
                )
            },
        )
    }
}
