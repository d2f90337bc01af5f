// Why this file exists: the blob `PlatformKeystore.wrapKey` returns is ours to
// define (the core stores it opaquely). One versioned layout, shared by the
// Android Keystore implementation and the JVM test keystore, so the format is
// tested on the JVM even though the hardware-backed path is not.
package org.countersign.android.keystore

import org.countersign.core.KeystoreException

/**
 * Layout of a wrapped vault key: `version (1 byte) ‖ IV (12 bytes) ‖ AES-256-GCM
 * ciphertext ‖ 16-byte tag`. The key alias is bound as GCM associated data
 * ([aad]), so a blob cannot be replayed under another alias.
 */
object WrappedKeyEnvelope {
    /** Current layout version. */
    const val VERSION: Byte = 1

    /** GCM nonce length, bytes. */
    const val IV_LEN: Int = 12

    /** GCM tag length, bits. */
    const val TAG_BITS: Int = 128

    /** The Java cipher transformation used with this envelope. */
    const val TRANSFORMATION: String = "AES/GCM/NoPadding"

    private const val TAG_LEN = TAG_BITS / 8
    private const val AAD_PREFIX = "countersign wrapped key v1\u0000"

    /** The two parts of a decoded envelope. */
    class Parts(val iv: ByteArray, val ciphertext: ByteArray)

    /** Associated data binding a blob to [alias]. */
    fun aad(alias: String): ByteArray = (AAD_PREFIX + alias).toByteArray(Charsets.UTF_8)

    /** Builds the blob from a GCM [iv] and [ciphertext] (tag included). */
    fun encode(iv: ByteArray, ciphertext: ByteArray): ByteArray {
        require(iv.size == IV_LEN) { "GCM IV must be $IV_LEN bytes, got ${iv.size}" }
        require(ciphertext.size >= TAG_LEN) { "ciphertext shorter than the GCM tag" }
        return byteArrayOf(VERSION) + iv + ciphertext
    }

    /**
     * Splits [blob]; a blob of another version or too short to hold a tag is
     * rejected with [KeystoreException.Unavailable] (never an index crash).
     */
    fun decode(blob: ByteArray): Parts {
        if (blob.isEmpty() || blob[0] != VERSION) {
            throw KeystoreException.Unavailable("wrapped key has an unknown format")
        }
        if (blob.size < 1 + IV_LEN + TAG_LEN) {
            throw KeystoreException.Unavailable("wrapped key is truncated")
        }
        return Parts(
            iv = blob.copyOfRange(1, 1 + IV_LEN),
            ciphertext = blob.copyOfRange(1 + IV_LEN, blob.size),
        )
    }
}
