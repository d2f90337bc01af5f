// Why this file exists: the core wants the signing key's public half as a raw
// uncompressed SEC1 point (65 bytes), while Android's KeyPairGenerator (and the
// JVM's) hands out an X.509 `ECPublicKey`. The conversion is plain JVM code,
// shared by AndroidKeystore and the JVM test keystore.
package org.countersign.android.keystore

import java.math.BigInteger
import java.security.interfaces.ECPublicKey

/** Conversions of P-256 public keys to the form the core expects. */
object EcPublicKeys {
    /** Bytes of one P-256 coordinate. */
    const val P256_COORDINATE_LEN: Int = 32

    /** Length of an uncompressed P-256 point: `0x04 ‖ X ‖ Y`. */
    const val P256_UNCOMPRESSED_LEN: Int = 1 + 2 * P256_COORDINATE_LEN

    private const val UNCOMPRESSED_TAG: Byte = 0x04

    /**
     * The uncompressed SEC1 encoding (`0x04 ‖ X ‖ Y`, 65 bytes) of a P-256 [key].
     * Throws [IllegalArgumentException] for a key on another curve size.
     */
    fun uncompressedP256(key: ECPublicKey): ByteArray {
        val fieldBits = key.params.curve.field.fieldSize
        require(fieldBits == 256) { "expected a P-256 key, got a $fieldBits-bit curve" }
        val point = key.w
        return byteArrayOf(UNCOMPRESSED_TAG) +
            fixedLength(point.affineX, P256_COORDINATE_LEN) +
            fixedLength(point.affineY, P256_COORDINATE_LEN)
    }

    /** [value] as exactly [len] big-endian bytes (BigInteger may add a sign byte or drop leading zeros). */
    internal fun fixedLength(value: BigInteger, len: Int): ByteArray {
        require(value.signum() >= 0) { "coordinate must not be negative" }
        val raw = value.toByteArray()
        val start = raw.indexOfFirst { it != 0.toByte() }.let { if (it < 0) raw.size else it }
        val significant = raw.size - start
        require(significant <= len) { "coordinate does not fit in $len bytes" }
        return ByteArray(len - significant) + raw.copyOfRange(start, raw.size)
    }
}
