// Android-only. Why this file exists: FCM delivers to a system-created
// service. It does nothing itself: it hands the token and the message data to
// the app's PushWakeups (push/), which decides what counts as a wake-up and
// passes on nothing but a request id. No secret ever travels by push.
package org.countersign.android.platform.push

import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage
import org.countersign.android.push.PushWakeups
import org.countersign.android.push.PushWakeupsOwner

/**
 * The FCM entry point (declared in this library's manifest). The app's
 * `Application` implements [PushWakeupsOwner]; without it, pushes are dropped.
 */
class FcmService : FirebaseMessagingService() {
    private val wakeups: PushWakeups?
        get() = (application as? PushWakeupsOwner)?.pushWakeups

    override fun onNewToken(token: String) {
        wakeups?.onNewToken(token)
    }

    override fun onMessageReceived(message: RemoteMessage) {
        wakeups?.onMessage(message.data)
    }
}
