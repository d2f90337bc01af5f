// Approve sign-in through the Kotlin bindings against a real countersign-server
// on loopback, started by tools/kotlin-test.sh (COUNTERSIGN_TEST_SERVER*).
// The test plays both sides: the "browser" and admin over HTTPS that trusts
// exactly the server's self-signed certificate, and the phone through the core.
package org.countersign.android.core

import kotlinx.coroutines.runBlocking
import org.countersign.android.testing.FakeClock
import org.countersign.android.testing.JvmSoftwareKeystore
import org.countersign.android.testing.TestServer
import org.countersign.android.testing.withVault
import org.countersign.core.AuthException
import org.countersign.core.Decision
import org.countersign.core.DeviceRegistration
import org.countersign.core.PasswordPairingOutcome
import org.countersign.core.RequestAction
import org.countersign.core.RequestState
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class ApproveFlowTest {
    private val adminToken = TestServer.adminToken
    private fun http(method: String, path: String, body: String? = null, bearer: String? = null) =
        TestServer.http(method, path, body, bearer)
    private fun jsonString(json: String, key: String) = TestServer.jsonString(json, key)
    private fun jsonInt(json: String, key: String) = TestServer.jsonInt(json, key)
    private fun newUser(prefix: String) = TestServer.newUser(prefix)
    private fun invite(user: String) = TestServer.invite(user)

    private val device = DeviceRegistration(name = "JVM phone", platform = "android", pushToken = "fcm-token-1")

    @Test
    fun pairApproveAndSignIn() = withVault(clock = FakeClock(System.currentTimeMillis() / 1000), keystore = JvmSoftwareKeystore()) { auth ->
        runBlocking {
            auth.enableBiometrics() // "screen lock after Approve" confirms through the keystore
            val user = newUser("kotlin")
            val pairing = auth.pairWithInvite(invite(user), device)
            assertEquals(user, pairing.account)
            assertEquals("JVM NAS", pairing.serverName)
            assertEquals(1, auth.pairings().size)

            val (code, started) = http("POST", "/v1/signin/start", """{"username":"$user","password":"Correct-Horse-42"}""")
            assertEquals(started, 200, code)
            val number = jsonInt(started, "number")!!
            val requestId = jsonString(started, "request_id")!!
            val pollToken = jsonString(started, "poll_token")!!

            val request = auth.pendingRequests(pairing.id, 5u).single()
            assertEquals(requestId, request.requestId)
            // The client in words; the number is typed, not offered.
            assertEquals("KotlinTestBrowser", request.shown.client)
            assertEquals(RequestAction.SIGN_IN, request.shown.action)
            assertEquals(3u, request.triesLeft)
            val typo = if (number == 99) 98 else number + 1
            try {
                auth.answerRequest(request.requestId, Decision.APPROVE, typo.toUShort())
                fail("a wrong number must be refused")
            } catch (e: AuthException.WrongNumber) {
                assertEquals(2u, e.triesLeft)
            }

            assertEquals(2u, auth.waitingRequests().single().triesLeft)
            assertEquals(RequestState.APPROVED, auth.answerRequest(request.requestId, Decision.APPROVE, number.toUShort()))
            // Answered: no longer waiting, so a second answer finds nothing.
            assertTrue(auth.waitingRequests().isEmpty())
            try {
                auth.answerRequest(request.requestId, Decision.APPROVE, number.toUShort())
                fail("a second answer must be refused")
            } catch (e: AuthException.NotFound) {
            }
            val (_, status) = http("GET", "/v1/signin/$requestId?poll_token=$pollToken&wait=0")
            assertEquals("approved", jsonString(status, "state"))
            val session = jsonString(status, "session_token")
            assertNotNull(status, session)
            val (who, whoText) = http("GET", "/v1/session", bearer = session)
            assertEquals(200, who)
            assertEquals(user, jsonString(whoText, "account"))

            assertTrue(auth.unpair(pairing.id))
            assertTrue(auth.pairings().isEmpty())
        }
    }

    @Test
    fun revokedPairingArrivesAsTypedException() = withVault(clock = FakeClock(System.currentTimeMillis() / 1000)) { auth ->
        runBlocking {
            val user = newUser("revoked")
            val pairing = auth.pairWithInvite(invite(user), device)
            val (_, devices) = http("GET", "/v1/admin/users/$user/devices", bearer = adminToken)
            val deviceId = jsonString(devices, "device_id") ?: jsonString(devices, "id")
            assertNotNull(devices, deviceId)
            val (code, text) = http("DELETE", "/v1/admin/devices/$deviceId", bearer = adminToken)
            assertTrue("revoke: $code $text", code in 200..204)
            try {
                auth.pendingRequests(pairing.id, 0u)
                fail("a revoked pairing must fail")
            } catch (e: AuthException.PairingRevoked) {
                assertEquals(pairing.id, e.pairingId)
            }
            assertFalse(auth.pairings().isEmpty())
        }
    }

    @Test
    fun passwordPairingWaitsForApprovalOnThePairedPhone() =
        withVault(clock = FakeClock(System.currentTimeMillis() / 1000), keystore = JvmSoftwareKeystore()) { first ->
            withVault(clock = FakeClock(System.currentTimeMillis() / 1000), keystore = JvmSoftwareKeystore()) { second ->
                runBlocking {
                    first.enableBiometrics()
                    val user = newUser("pairing")
                    val pairing = first.pairWithInvite(invite(user), device)
                    val fingerprint = second.fetchServerIdentity(TestServer.base).fingerprint
                    val outcome = second.pairWithPassword(
                        TestServer.base, fingerprint, user, TestServer.PASSWORD, null,
                        DeviceRegistration(name = "Second JVM phone", platform = "android", pushToken = null),
                    )
                    val pending = (outcome as? PasswordPairingOutcome.AwaitingApproval)?.pending
                        ?: error("the account has a phone: the pairing must wait, got $outcome")
                    assertNull(second.finishPasswordPairing(pending, 0u))
                    val request = first.pendingRequests(pairing.id, 5u).single()
                    assertEquals(RequestAction.PAIR_DEVICE, request.shown.action)
                    assertTrue(request.shown.client, request.shown.client.contains("Second JVM phone"))
                    assertEquals(RequestState.APPROVED, first.answerRequest(request.requestId, Decision.APPROVE, pending.number()))
                    val paired = second.finishPasswordPairing(pending, 5u)
                    assertEquals(user, paired?.account)
                    val notices = first.checkPending().notices
                    assertTrue("$notices", notices.any { it.kind == "device_paired" })
                }
            }
        }
}
