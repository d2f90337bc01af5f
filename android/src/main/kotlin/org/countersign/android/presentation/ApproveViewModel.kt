// Why this file exists: Approve is the app's main job. The core keeps the
// waiting requests, polls the servers and says when the list changes; this
// class turns that into the screen — the list, the detail with who/where, the
// typed two-digit number, approve / deny / report — and words the outcome.
// It decides nothing about the protocol: a wrong number, the tries left, the
// screen-lock prompt on approve (the keystore shows it) are all the core's.
package org.countersign.android.presentation

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.launchIn
import kotlinx.coroutines.flow.onEach
import kotlinx.coroutines.launch
import org.countersign.core.AuthException
import org.countersign.core.AuthenticatorInterface
import org.countersign.core.Clock
import org.countersign.core.Decision
import org.countersign.core.RequestAction
import org.countersign.core.RequestGone
import org.countersign.core.RequestState
import org.countersign.core.ServerNotice
import org.countersign.core.SignInListener
import org.countersign.core.SignInRequest

/** One waiting request as the list shows it. */
data class ApproveRow(
    val requestId: String,
    /** "Sign in to Home NAS as alice" / "Add a phone to Home NAS (alice)". */
    val title: String,
    /** "Firefox on Linux · 192.0.2.7 · Berlin" (parts left out when unknown). */
    val from: String,
    /** Wrong numbers still allowed. */
    val triesLeft: Int,
    /** Seconds until it expires (by this device's clock, never below 0). */
    val secondsLeft: Long,
)

/** The Approve screen. */
data class ApproveState(
    val requests: List<ApproveRow> = emptyList(),
    /** The last outcome or error, in plain words (null: nothing to say). */
    val message: String? = null,
    /** An answer is on its way. */
    val busy: Boolean = false,
)

/** State holder of the Approve screen (list + detail of the selected request). */
class ApproveViewModel(
    private val authenticator: AuthenticatorInterface,
    private val clock: Clock,
    private val scope: CoroutineScope,
    private val text: UiText = UiText(),
    private val worker: CoroutineDispatcher = Dispatchers.IO,
) {
    private val _state = MutableStateFlow(ApproveState())

    /** The screen state. */
    val state: StateFlow<ApproveState> = _state.asStateFlow()

    /** What the core tells about requests, as a Flow (one watcher while collected). */
    fun changes(): Flow<Unit> = callbackFlow {
        val listener = object : SignInListener {
            override fun onRequest(request: SignInRequest) { trySend(Unit) }
            override fun onRequestChanged(request: SignInRequest) { trySend(Unit) }
            override fun onRequestGone(requestId: String, why: RequestGone, state: RequestState?) { trySend(Unit) }
            override fun onNotice(notice: ServerNotice) {}
            override fun onError(pairingId: String, error: AuthException) {}
        }
        val handle = authenticator.watchSignInRequests(listener)
        awaitClose { handle.cancel() }
    }

    /** Starts watching (screen visible): the list follows the core. */
    fun start(): Job = changes().onEach { reload() }.launchIn(scope)

    /** Asks every server now (app opened, a push arrived). */
    fun refresh(): Job = scope.launch(worker) {
        try {
            authenticator.refreshRequests()
            reload()
        } catch (e: AuthException) {
            _state.value = _state.value.copy(message = text.authError(e))
        }
    }

    /** Approves with the two digits the user typed from the sign-in screen. */
    fun approve(requestId: String, typed: String): Job {
        val number = typed.trim().takeIf { it.length in 1..2 && it.all(Char::isDigit) }?.toUShort()
            ?: return done(text.typeTheNumber)
        return answer(requestId, Decision.APPROVE, number)
    }

    /** Refuses the sign-in. */
    fun deny(requestId: String): Job = answer(requestId, Decision.DENY, 0u)

    /** Refuses it and reports it as not the user. */
    fun report(requestId: String): Job = answer(requestId, Decision.REPORT, 0u)

    /** Clears the message. */
    fun dismissMessage() {
        _state.value = _state.value.copy(message = null)
    }

    private fun answer(requestId: String, decision: Decision, number: UShort): Job {
        _state.value = _state.value.copy(busy = true, message = null)
        return scope.launch(worker) {
            val message = try {
                text.answered(authenticator.answerRequest(requestId, decision, number))
            } catch (e: AuthException.NotFound) {
                text.requestGone
            } catch (e: AuthException) {
                text.authError(e)
            }
            reload(message)
        }
    }

    private fun done(message: String): Job {
        _state.value = _state.value.copy(message = message)
        return Job().apply { complete() }
    }

    private fun reload(message: String? = _state.value.message) {
        val now = clock.nowUnixS()
        val rows = authenticator.waitingRequests().map { r ->
            ApproveRow(
                requestId = r.requestId,
                title = when (r.shown.action) {
                    RequestAction.SIGN_IN -> "Sign in to ${r.serverName} as ${r.account}"
                    RequestAction.PAIR_DEVICE -> "Add a phone to ${r.serverName} (${r.account})"
                },
                from = listOf(r.shown.client, r.shown.clientIp, r.shown.location).filter { it.isNotBlank() }.joinToString(" · "),
                triesLeft = r.triesLeft.toInt(),
                secondsLeft = (r.context.expiresAt - now).coerceAtLeast(0),
            )
        }
        _state.value = ApproveState(requests = rows, message = message, busy = false)
    }
}
