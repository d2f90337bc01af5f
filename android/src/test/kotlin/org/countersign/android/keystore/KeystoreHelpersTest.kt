package org.countersign.android.keystore

import java.math.BigInteger
import java.security.AlgorithmParameters
import java.security.KeyFactory
import java.security.KeyPairGenerator
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import java.security.spec.ECParameterSpec
import java.security.spec.ECPoint
import java.security.spec.ECPublicKeySpec
import org.countersign.android.testing.assertThrows
import org.countersign.core.KeystoreException
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Test

class KeystoreHelpersTest {
    private fun p256Params(): ECParameterSpec =
        AlgorithmParameters.getInstance("EC").apply { init(ECGenParameterSpec("secp256r1")) }
            .getParameterSpec(ECParameterSpec::class.java)

    @Test
    fun uncompressedPointRoundTripsThroughJavaSecurity() {
        repeat(20) {
            val pair = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }
                .generateKeyPair()
            val pub = pair.public as ECPublicKey
            val raw = EcPublicKeys.uncompressedP256(pub)
            assertEquals(65, raw.size)
            assertEquals(0x04.toByte(), raw[0])
            val x = BigInteger(1, raw.copyOfRange(1, 33))
            val y = BigInteger(1, raw.copyOfRange(33, 65))
            val back = KeyFactory.getInstance("EC").generatePublic(ECPublicKeySpec(ECPoint(x, y), p256Params()))
            assertArrayEquals(pub.encoded, back.encoded)
        }
    }

    @Test
    fun coordinatesArePaddedAndSignBytesDropped() {
        assertArrayEquals(ByteArray(31) + byteArrayOf(1), EcPublicKeys.fixedLength(BigInteger.ONE, 32))
        val high = BigInteger(1, ByteArray(32) { 0xff.toByte() }) // toByteArray() adds a 0x00 sign byte
        assertArrayEquals(ByteArray(32) { 0xff.toByte() }, EcPublicKeys.fixedLength(high, 32))
        assertThrows<IllegalArgumentException> { EcPublicKeys.fixedLength(BigInteger.ONE.shiftLeft(256), 32) }
    }

    @Test
    fun otherCurvesAreRefused() {
        val p384 = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp384r1")) }
            .generateKeyPair().public as ECPublicKey
        assertThrows<IllegalArgumentException> { EcPublicKeys.uncompressedP256(p384) }
    }

    @Test
    fun envelopeEncodesAndRejectsMalformedBlobs() {
        val iv = ByteArray(12) { it.toByte() }
        val ct = ByteArray(48) { (100 + it).toByte() }
        val blob = WrappedKeyEnvelope.encode(iv, ct)
        assertEquals(1 + 12 + 48, blob.size)
        assertEquals(WrappedKeyEnvelope.VERSION, blob[0])
        val parts = WrappedKeyEnvelope.decode(blob)
        assertArrayEquals(iv, parts.iv)
        assertArrayEquals(ct, parts.ciphertext)

        assertThrows<KeystoreException.Unavailable> { WrappedKeyEnvelope.decode(ByteArray(0)) }
        assertThrows<KeystoreException.Unavailable> { WrappedKeyEnvelope.decode(byteArrayOf(9) + blob.copyOfRange(1, blob.size)) }
        assertThrows<KeystoreException.Unavailable> { WrappedKeyEnvelope.decode(blob.copyOf(1 + 12 + 15)) }
        assertThrows<IllegalArgumentException> { WrappedKeyEnvelope.encode(ByteArray(8), ct) }
    }

    @Test
    fun aadBindsTheAlias() {
        val a = WrappedKeyEnvelope.aad("a")
        val b = WrappedKeyEnvelope.aad("b")
        assertEquals(false, a.contentEquals(b))
    }

    @Test
    fun outcomesMapToKeystoreExceptions() {
        AuthOutcome.Authorized.requireAuthorized()
        assertThrows<KeystoreException.UserCancelled> { AuthOutcome.Cancelled.requireAuthorized() }
        assertThrows<KeystoreException.AuthFailed> { AuthOutcome.Failed.requireAuthorized() }
        val e = assertThrows<KeystoreException.Unavailable> { AuthOutcome.Unavailable("no activity").requireAuthorized() }
        assertEquals("no activity", e.reason)
    }
}
