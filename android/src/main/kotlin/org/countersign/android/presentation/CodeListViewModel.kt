// Why this file exists: the code list is the app's main screen. This class
// turns the Authenticator's state (locked or not, profiles) and the once-a-
// second ticks of `watchCodes` into rows, as a StateFlow, without Android
// types, so the whole screen logic runs in JVM tests against the real core.
package org.countersign.android.presentation

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import org.countersign.android.clipboard.ClipboardGuard
import org.countersign.core.AuthException
import org.countersign.core.AuthenticatorInterface
import org.countersign.core.CodeListener
import org.countersign.core.OtpCode
import org.countersign.core.OtpType
import org.countersign.core.Profile
import org.countersign.core.TaskHandle

/** What the code list shows. */
sealed interface CodeListState {
    /** Before [CodeListViewModel.start] finished. */
    data object Loading : CodeListState

    /** The vault is locked: show the unlock screen; call [CodeListViewModel.start] after unlocking. */
    data object Locked : CodeListState

    /** The rows, refreshed every second; [notice] is a one-off message (e.g. a failed HOTP step). */
    data class Codes(val rows: List<CodeRow>, val notice: String? = null) : CodeListState

    /** Loading failed; [message] can be shown. */
    data class Failed(val message: String) : CodeListState
}

/**
 * The code list screen's state holder (plain class; `platform/viewmodel` has
 * the androidx wrapper that supplies `viewModelScope`).
 *
 * Call [start] when the screen becomes visible (and after unlocking), [stop]
 * when it goes away: the core ticks only while started. Calls into the core run
 * on [worker]; ticks arrive on the core's thread and only update [state].
 */
class CodeListViewModel(
    private val authenticator: AuthenticatorInterface,
    private val scope: CoroutineScope,
    private val clipboard: ClipboardGuard? = null,
    private val text: UiText = UiText(),
    private val worker: CoroutineDispatcher = Dispatchers.IO,
) {
    private val _state = MutableStateFlow<CodeListState>(CodeListState.Loading)

    /** The screen state. */
    val state: StateFlow<CodeListState> = _state.asStateFlow()

    private val lock = Any()
    private var generation = 0L
    private var ticker: TaskHandle? = null

    @Volatile private var profiles: List<Profile> = emptyList()

    @Volatile private var latest: Map<String, OtpCode> = emptyMap()

    /** Loads the profiles and starts the once-a-second ticks (restarts them if running). */
    fun start(): Job = scope.launch(worker) {
        val gen = synchronized(lock) {
            stopTickerLocked()
            ++generation
        }
        try {
            if (authenticator.isLocked()) {
                _state.value = CodeListState.Locked
                return@launch
            }
            profiles = authenticator.profiles()
            publish(authenticator.codes())
            val handle = authenticator.watchCodes(Ticks(gen))
            val stale = synchronized(lock) {
                if (gen == generation) {
                    ticker = handle
                    false
                } else {
                    true
                }
            }
            if (stale) handle.stop()
        } catch (e: AuthException.VaultLocked) {
            _state.value = CodeListState.Locked
        } catch (e: AuthException) {
            _state.value = CodeListState.Failed(text.authError(e))
        }
    }

    /** Re-reads the profiles (after adding, editing or removing one). Same as [start]. */
    fun refresh(): Job = start()

    /** Stops the ticks (screen hidden). */
    fun stop() {
        synchronized(lock) {
            generation++
            stopTickerLocked()
        }
    }

    /**
     * A row was tapped: a HOTP profile advances to its next code; any other
     * copies the current code (when a [ClipboardGuard] was given), to be
     * cleared from the clipboard later.
     */
    fun onRowTapped(id: String): Job = scope.launch(worker) {
        val profile = profiles.firstOrNull { it.id == id } ?: return@launch
        try {
            if (profile.otpType == OtpType.HOTP) {
                val next = authenticator.nextHotp(id)
                latest = latest + (id to next)
                publishRows()
            } else {
                val guard = clipboard ?: return@launch
                // Read the code now rather than from the last tick: a window may have just turned.
                authenticator.codes().firstOrNull { it.profileId == id }?.code
                    ?.takeIf { it.isNotEmpty() }
                    ?.let { guard.copy(it) }
            }
        } catch (e: AuthException.VaultLocked) {
            _state.value = CodeListState.Locked
        } catch (e: AuthException) {
            publishRows(notice = text.authError(e))
        }
    }

    private fun publish(codes: List<OtpCode>) {
        latest = codes.associateBy { it.profileId }
        publishRows()
    }

    private fun publishRows(notice: String? = null) {
        _state.value = CodeListState.Codes(buildCodeRows(profiles, latest, text), notice)
    }

    private fun stopTickerLocked() {
        ticker?.stop()
        ticker = null
    }

    private fun TaskHandle.stop() {
        cancel()
        close()
    }

    /** The listener of one [start]; ignores calls once a newer start or a stop happened. */
    private inner class Ticks(private val gen: Long) : CodeListener {
        private fun current() = synchronized(lock) { gen == generation }

        override fun onCodes(codes: List<OtpCode>) {
            if (!current()) return
            val known = profiles.mapTo(HashSet()) { it.id }
            if (codes.size != known.size || codes.any { it.profileId !in known }) {
                // Profiles were added or removed elsewhere: re-read them.
                // Calling back into the core from a listener is allowed.
                try {
                    profiles = authenticator.profiles()
                } catch (e: AuthException) {
                    return
                }
            }
            publish(codes)
        }

        override fun onLocked() {
            val mine = synchronized(lock) {
                if (gen == generation) {
                    stopTickerLocked()
                    true
                } else {
                    false
                }
            }
            if (mine) {
                latest = emptyMap()
                _state.value = CodeListState.Locked
            }
        }
    }
}
