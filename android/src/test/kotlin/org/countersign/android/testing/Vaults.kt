// Opening throwaway vaults for tests.
package org.countersign.android.testing

import java.io.File
import java.nio.file.Files
import kotlinx.coroutines.runBlocking
import org.countersign.core.Authenticator
import org.countersign.core.Clock
import org.countersign.core.PlatformKeystore

/** RFC 6238 test seed "12345678901234567890" in Base32. */
const val RFC_SECRET: String = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

/** An otpauth URI for the RFC 6238 seed with [digits] digits. */
fun rfcUri(digits: Int, issuer: String = "ACME", account: String = "alice@example.com"): String =
    "otpauth://totp/$issuer:$account?secret=$RFC_SECRET&issuer=$issuer&digits=$digits"

/**
 * Google Authenticator export with two accounts (TOTP "Example: alice@google.com",
 * HOTP "bob" SHA256/8 digits/counter 7): the core's own fixture
 * (core/src/uri/migration.rs, FIXTURE_URI).
 */
const val MIGRATION_URI: String =
    "otpauth-migration://offline?data=CjUKCkhlbGxvId6tvu8SGEV4YW1wbGU6YWxpY2VAZ29vZ2xlLmNvbRoHRXhhbXBsZSABKAEwAgojChQxMjM0NTY3ODkwMTIzNDU2Nzg5MBIDYm9iIAIoAjABOAcQARgBIAAo%2BNipxvj%2F%2F%2F%2F%2FAQ%3D%3D"

/** A temporary directory, deleted after [block]. Returns Unit, so tests can be `fun t() = withTempDir { … }`. */
fun withTempDir(block: (File) -> Unit) {
    val dir = Files.createTempDirectory("countersign-test").toFile()
    try {
        block(dir)
    } finally {
        dir.deleteRecursively()
    }
}

/**
 * Opens a new vault in a temp dir with [keystore] and [clock], unlocks it
 * (no passcode yet) unless [unlocked] is false, runs [block], closes it.
 */
fun withVault(
    clock: Clock = FakeClock(59),
    keystore: PlatformKeystore = JvmSoftwareKeystore(),
    unlocked: Boolean = true,
    block: (Authenticator) -> Unit,
) = withTempDir { dir ->
    Authenticator.open(File(dir, "vault.db").path, keystore, clock).use { auth ->
        if (unlocked) runBlocking { auth.unlock(null) }
        block(auth)
    }
}
