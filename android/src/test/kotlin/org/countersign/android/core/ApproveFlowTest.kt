// Approve sign-in through the Kotlin bindings against a real countersign-server
// on loopback, started by tools/kotlin-test.sh (COUNTERSIGN_TEST_SERVER*).
// The test plays both sides: the "browser" and admin over HTTPS that trusts
// exactly the server's self-signed certificate, and the phone through the core.
package org.countersign.android.core

import java.io.File
import java.net.URL
import java.security.KeyStore
import java.security.cert.CertificateFactory
import javax.net.ssl.HttpsURLConnection
import javax.net.ssl.SSLContext
import javax.net.ssl.TrustManagerFactory
import kotlinx.coroutines.runBlocking
import org.countersign.android.testing.FakeClock
import org.countersign.android.testing.JvmSoftwareKeystore
import org.countersign.android.testing.withVault
import org.countersign.core.AuthException
import org.countersign.core.Decision
import org.countersign.core.DeviceRegistration
import org.countersign.core.RequestState
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class ApproveFlowTest {
    private val base: String = System.getenv("COUNTERSIGN_TEST_SERVER")
        ?: error("COUNTERSIGN_TEST_SERVER is not set: run through tools/kotlin-test.sh")
    private val dataDir = File(
        System.getenv("COUNTERSIGN_TEST_SERVER_DIR")
            ?: error("COUNTERSIGN_TEST_SERVER_DIR is not set: run through tools/kotlin-test.sh"),
    )
    private val adminToken: String by lazy { File(dataDir, "admin.token").readText().trim() }

    /** TLS that trusts only the test server's own certificate. */
    private val tls: SSLContext by lazy {
        val cert = File(dataDir, "cert.pem").inputStream().use {
            CertificateFactory.getInstance("X.509").generateCertificate(it)
        }
        val ks = KeyStore.getInstance(KeyStore.getDefaultType()).apply {
            load(null)
            setCertificateEntry("countersign-test-server", cert)
        }
        val tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm()).apply { init(ks) }
        SSLContext.getInstance("TLS").apply { init(null, tmf.trustManagers, null) }
    }

    private fun http(method: String, path: String, body: String? = null, bearer: String? = null): Pair<Int, String> {
        val conn = URL(base + path).openConnection() as HttpsURLConnection
        conn.sslSocketFactory = tls.socketFactory
        conn.requestMethod = method
        conn.setRequestProperty("User-Agent", "KotlinTestBrowser/1.0")
        bearer?.let { conn.setRequestProperty("Authorization", "Bearer $it") }
        if (body != null) {
            conn.doOutput = true
            conn.setRequestProperty("Content-Type", "application/json")
            conn.outputStream.use { it.write(body.toByteArray()) }
        }
        val code = conn.responseCode
        val text = (if (code < 400) conn.inputStream else conn.errorStream)?.use { it.readBytes().decodeToString() } ?: ""
        return code to text
    }

    private fun jsonString(json: String, key: String): String? =
        Regex("\"$key\"\\s*:\\s*\"([^\"]*)\"").find(json)?.groupValues?.get(1)

    private fun jsonInt(json: String, key: String): Int? =
        Regex("\"$key\"\\s*:\\s*(\\d+)").find(json)?.groupValues?.get(1)?.toInt()

    private fun newUser(prefix: String): String {
        val name = prefix + System.nanoTime()
        val (code, text) = http(
            "POST", "/v1/admin/users",
            """{"username":"$name","password":"Correct-Horse-42","method":"password_approve"}""", adminToken,
        )
        assertTrue("create user: $code $text", code in 200..201)
        return name
    }

    private fun invite(user: String): String {
        val (code, text) = http("POST", "/v1/admin/users/$user/pairing", "{}", adminToken)
        assertTrue("invite: $code $text", code in 200..201)
        return jsonString(text, "uri")!!.replace("\\u0026", "&")
    }

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
            assertEquals("KotlinTestBrowser/1.0", request.context.userAgent)
            assertTrue(request.choices.contains(number.toUShort()))

            assertEquals(RequestState.APPROVED, auth.answer(request, Decision.APPROVE, number.toUShort()))
            try {
                auth.answer(request, Decision.APPROVE, number.toUShort())
                fail("a second answer must be refused")
            } catch (e: AuthException.Rejected) {
                assertEquals("already_answered", e.code)
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
}
