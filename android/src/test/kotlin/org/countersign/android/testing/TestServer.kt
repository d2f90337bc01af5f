// The real countersign-server the loopback tests talk to, started by
// tools/kotlin-test.sh: its URL (COUNTERSIGN_TEST_SERVER), data directory
// (COUNTERSIGN_TEST_SERVER_DIR, for cert.pem) and an admin API token made
// with `countersign-server token create` (COUNTERSIGN_TEST_ADMIN_TOKEN).
// HTTPS trusts exactly the server's self-signed certificate.
package org.countersign.android.testing

import java.io.File
import java.net.URL
import java.security.KeyStore
import java.security.cert.CertificateFactory
import javax.net.ssl.HttpsURLConnection
import javax.net.ssl.SSLContext
import javax.net.ssl.TrustManagerFactory
import org.junit.Assert.assertTrue

object TestServer {
    val base: String = System.getenv("COUNTERSIGN_TEST_SERVER")
        ?: error("COUNTERSIGN_TEST_SERVER is not set: run through tools/kotlin-test.sh")
    private val dataDir = File(
        System.getenv("COUNTERSIGN_TEST_SERVER_DIR")
            ?: error("COUNTERSIGN_TEST_SERVER_DIR is not set: run through tools/kotlin-test.sh"),
    )
    val adminToken: String = System.getenv("COUNTERSIGN_TEST_ADMIN_TOKEN")
        ?: error("COUNTERSIGN_TEST_ADMIN_TOKEN is not set: run through tools/kotlin-test.sh")
    const val PASSWORD = "Correct-Horse-42"

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

    /** One request: the status and the body text (error bodies too). */
    fun http(method: String, path: String, body: String? = null, bearer: String? = null): Pair<Int, String> {
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

    fun jsonString(json: String, key: String): String? =
        Regex("\"$key\"\\s*:\\s*\"([^\"]*)\"").find(json)?.groupValues?.get(1)

    fun jsonInt(json: String, key: String): Int? =
        Regex("\"$key\"\\s*:\\s*(\\d+)").find(json)?.groupValues?.get(1)?.toInt()

    /** A new password + approve user with a unique name. */
    fun newUser(prefix: String): String {
        val name = prefix + System.nanoTime()
        val (code, text) = http(
            "POST", "/v1/admin/users",
            """{"username":"$name","password":"$PASSWORD","method":"password_approve"}""", adminToken,
        )
        assertTrue("create user: $code $text", code in 200..201)
        return name
    }

    /** A one-time pairing invitation URI for `user`. */
    fun invite(user: String): String {
        val (code, text) = http("POST", "/v1/admin/users/$user/pairing", "{}", adminToken)
        assertTrue("invite: $code $text", code in 200..201)
        return jsonString(text, "uri")!!.replace("\\u0026", "&")
    }
}
