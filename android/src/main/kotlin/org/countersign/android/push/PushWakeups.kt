// Why this file exists: push (FCM) is only a doorbell. The FCM service is
// Android-only and untestable here, so everything it decides lives in this
// plain class: which messages count as a wake-up, and that nothing but an
// opaque request id is ever passed on.
//
// Scope, on purpose small: the sign-in approval itself (fetching the request
// over the core's pinned-TLS channel, number matching, signing) belongs to
// the core (`Authenticator.checkPending`, `watchSignInRequests`, `answer`)
// and to an approve screen that is not written yet. A wake-up is only
// forwarded to [PushWakeups.Listener], which the app wires to those calls.
package org.countersign.android.push

/**
 * Filters what FCM delivers down to two signals, a new push token and
 * "check pending requests", and forwards them to a [Listener].
 *
 * The server's wake-up is a data-only message `{"request_id": "<id>"}`
 * (docs/protocol.md §10). A message wakes the app only if it has a
 * well-formed `request_id`; every other field is dropped unread: a push never
 * carries codes, secrets or request details, and if a server ever sent them
 * they would go no further than this class. Nothing here logs.
 *
 * Thread-safe; FCM calls in on its own worker thread.
 */
class PushWakeups(private val listener: Listener) {
    /** Receives the filtered signals (implemented by the app; later, by the approve flow). */
    interface Listener {
        /** The push token changed; register it with the server (the token is not a secret, but is not logged). */
        fun onPushToken(token: String)

        /** A sign-in request may be waiting; fetch it from the server by [requestId]. */
        fun onCheckPending(requestId: String)
    }

    /** What [onMessage] did with a message. */
    sealed interface Outcome {
        /** Forwarded to [Listener.onCheckPending]. */
        data class Woke(val requestId: String) : Outcome

        /** Dropped; [why] is a fixed description (never message content). */
        data class Ignored(val why: String) : Outcome
    }

    private val lock = Any()
    private var lastToken: String? = null

    /**
     * FCM issued [token]. Forwarded unless malformed (docs/protocol.md: 1–512
     * of `A-Z a-z 0-9 : _ . -`) or identical to the last one forwarded.
     * Returns whether it was forwarded.
     */
    fun onNewToken(token: String): Boolean {
        if (!PUSH_TOKEN.matches(token)) return false
        synchronized(lock) {
            if (token == lastToken) return false
            lastToken = token
        }
        listener.onPushToken(token)
        return true
    }

    /** FCM delivered a data message with [data]. */
    fun onMessage(data: Map<String, String>): Outcome {
        val requestId = data[KEY_REQUEST_ID] ?: return Outcome.Ignored("no request id")
        if (!REQUEST_ID.matches(requestId)) return Outcome.Ignored("malformed request id")
        listener.onCheckPending(requestId)
        return Outcome.Woke(requestId)
    }

    /** Message keys and limits. */
    companion object {
        /** Data key of the opaque request id. */
        const val KEY_REQUEST_ID: String = "request_id"

        /** Longest push token accepted (the server's limit). */
        const val MAX_TOKEN_LEN: Int = 512

        private val REQUEST_ID = Regex("[A-Za-z0-9_-]{1,128}")
        private val PUSH_TOKEN = Regex("[A-Za-z0-9:_.-]{1,$MAX_TOKEN_LEN}")
    }
}

/**
 * Implemented by the app's `Application` so the system-created FCM service can
 * reach the app's [PushWakeups] without a global.
 */
interface PushWakeupsOwner {
    /** The app's single [PushWakeups]. */
    val pushWakeups: PushWakeups
}
