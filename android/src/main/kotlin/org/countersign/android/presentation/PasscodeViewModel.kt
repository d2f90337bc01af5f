// Why this file exists: the passcode screen's rules (4–8 digits, one attempt
// at a time, the core's wrong-passcode backoff shown as a countdown, never
// exposing the digits) are logic, not UI; here they run in JVM tests against
// the real core's lockout.
package org.countersign.android.presentation

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.countersign.core.AuthException
import org.countersign.core.AuthenticatorInterface
import org.countersign.core.Clock

/** Where the passcode screen is. */
sealed interface PasscodeStatus {
    /** Waiting for digits. */
    data object Idle : PasscodeStatus

    /** The core is checking the passcode. */
    data object Checking : PasscodeStatus

    /** The last passcode was wrong (a wait may follow, see [PasscodeState.retryInS]). */
    data object WrongPasscode : PasscodeStatus

    /** Too many wrong passcodes: entry is refused until [PasscodeState.retryInS] reaches 0. */
    data object LockedOut : PasscodeStatus

    /** The vault is unlocked; leave the screen. */
    data object Unlocked : PasscodeStatus

    /** Something else went wrong; [message] can be shown. */
    data class Error(val message: String) : PasscodeStatus
}

/** The passcode screen's state. Never contains the digits themselves. */
data class PasscodeState(
    /** How many digits are typed (for the dots). */
    val entered: Int = 0,
    /** Current status. */
    val status: PasscodeStatus = PasscodeStatus.Idle,
    /** Seconds until another attempt is accepted (0: now). */
    val retryInS: Long = 0,
) {
    /** Whether the submit button is enabled. */
    val canSubmit: Boolean
        get() = entered in PasscodeViewModel.MIN_DIGITS..PasscodeViewModel.MAX_DIGITS &&
            retryInS == 0L &&
            status != PasscodeStatus.Checking &&
            status != PasscodeStatus.Unlocked
}

/**
 * State holder of the passcode (unlock) screen.
 *
 * Digits are kept in a private buffer that is wiped after each attempt. The
 * countdown reads [clock], the same clock the core uses for its backoff, every
 * [tickMillis]; synchronous core calls run on [worker]. Call [start] once to
 * pick up a wait that is already running (e.g. after the app was restarted
 * during one).
 */
class PasscodeViewModel(
    private val authenticator: AuthenticatorInterface,
    private val scope: CoroutineScope,
    private val clock: Clock,
    private val text: UiText = UiText(),
    private val tickMillis: Long = 1_000,
    private val worker: CoroutineDispatcher = Dispatchers.IO,
) {
    private val _state = MutableStateFlow(PasscodeState())

    /** The screen state. */
    val state: StateFlow<PasscodeState> = _state.asStateFlow()

    private val lock = Any()
    private val digits = CharArray(MAX_DIGITS)
    private var count = 0
    private var countdown: Job? = null

    /** Reads the core's lockout status and starts a countdown if a wait is in force. */
    fun start(): Job = scope.launch {
        try {
            val wait = withContext(worker) { authenticator.lockoutStatus() }.retryAfterS.toLong()
            if (wait > 0) startCountdown(wait, PasscodeStatus.LockedOut)
        } catch (e: AuthException) {
            _state.update { it.copy(status = PasscodeStatus.Error(text.authError(e))) }
        }
    }

    /** A digit key was pressed; ignored past [MAX_DIGITS] or for a non-digit. */
    fun onDigit(d: Char) {
        if (d !in '0'..'9') return
        synchronized(lock) {
            if (count >= MAX_DIGITS) return
            digits[count++] = d
            publishCount()
        }
    }

    /** The delete key was pressed. */
    fun onDelete() {
        synchronized(lock) {
            if (count == 0) return
            digits[--count] = '0'
            publishCount()
        }
    }

    /**
     * Submits the typed passcode to the core's `unlock`. Returns null (and does
     * nothing) when [PasscodeState.canSubmit] is false.
     */
    fun submit(): Job? {
        val passcode = synchronized(lock) {
            if (!_state.value.canSubmit) return null
            val p = String(digits, 0, count)
            wipeLocked()
            _state.update { it.copy(entered = 0, status = PasscodeStatus.Checking) }
            p
        }
        return scope.launch {
            val next = try {
                authenticator.unlock(passcode)
                PasscodeStatus.Unlocked
            } catch (e: AuthException.WrongPasscode) {
                startCountdown(e.retryAfterS.toLong(), PasscodeStatus.WrongPasscode)
                return@launch
            } catch (e: AuthException.LockedOut) {
                startCountdown(e.retryAfterS.toLong(), PasscodeStatus.LockedOut)
                return@launch
            } catch (e: AuthException) {
                PasscodeStatus.Error(text.authError(e))
            }
            _state.update { it.copy(status = next) }
        }
    }

    private fun startCountdown(waitS: Long, status: PasscodeStatus) = synchronized(lock) {
        countdown?.cancel()
        countdown = null
        if (waitS <= 0) {
            _state.update { it.copy(status = status, retryInS = 0) }
            return@synchronized
        }
        val retryAt = clock.nowUnixS() + waitS
        _state.update { it.copy(status = status, retryInS = waitS) }
        countdown = scope.launch {
            while (true) {
                val left = (retryAt - clock.nowUnixS()).coerceIn(0, waitS)
                _state.update { s ->
                    s.copy(
                        retryInS = left,
                        status = if (left == 0L && s.status == PasscodeStatus.LockedOut) PasscodeStatus.Idle else s.status,
                    )
                }
                if (left == 0L) break
                delay(tickMillis)
            }
        }
    }

    private fun publishCount() {
        _state.update {
            val status = if (it.status is PasscodeStatus.Error) PasscodeStatus.Idle else it.status
            it.copy(entered = count, status = status)
        }
    }

    private fun wipeLocked() {
        digits.fill('0')
        count = 0
    }

    /** Passcode length limits (the core's rule). */
    companion object {
        /** Shortest passcode. */
        const val MIN_DIGITS: Int = 4

        /** Longest passcode. */
        const val MAX_DIGITS: Int = 8
    }
}
