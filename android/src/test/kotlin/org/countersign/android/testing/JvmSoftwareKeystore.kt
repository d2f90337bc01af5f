// A PlatformKeystore in plain JVM crypto, for tests: what AndroidKeystore does
// with the Android Keystore, done with javax.crypto / java.security and keys
// held in memory. Keys created with requireUserAuth go through a
// UserAuthenticator before use, like the Android path, so the prompt contract
// is exercised on the JVM too.
package org.countersign.android.testing

import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.SecureRandom
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import org.countersign.android.keystore.AuthOutcome
import org.countersign.android.keystore.AuthPurpose
import org.countersign.android.keystore.CryptoOperation
import org.countersign.android.keystore.EcPublicKeys
import org.countersign.android.keystore.UserAuthenticator
import org.countersign.android.keystore.WrappedKeyEnvelope
import org.countersign.android.keystore.requireAuthorized
import org.countersign.core.KeystoreException
import org.countersign.core.PlatformKeystore

/**
 * Software [PlatformKeystore]: a random AES-256 key per alias (AES/GCM/NoPadding,
 * [WrappedKeyEnvelope] blobs) and P-256 signing keys (SHA256withECDSA, DER),
 * all in memory. Thread-safe.
 */
class JvmSoftwareKeystore(
    private val userAuthenticator: UserAuthenticator = UserAuthenticator { AuthOutcome.Authorized },
) : PlatformKeystore {
    private class WrapKey(val key: SecretKey, val userBound: Boolean)
    private class SignKey(val pair: KeyPair, val userBound: Boolean)

    private val random = SecureRandom()
    private val wrapKeys = ConcurrentHashMap<String, WrapKey>()
    private val signKeys = ConcurrentHashMap<String, SignKey>()

    /** How many times a user-bound key asked the [UserAuthenticator]. */
    val prompts = AtomicInteger()

    /** Aliases that currently have a wrapping key. */
    val wrapAliases: Set<String> get() = wrapKeys.keys.toSet()

    /** Aliases whose wrapping key demands user authentication. */
    val userBoundAliases: Set<String> get() = wrapKeys.filterValues { it.userBound }.keys

    /** The signing key pair of [alias], for verifying in tests. */
    fun signingPublicKey(alias: String): ECPublicKey? = signKeys[alias]?.pair?.public as? ECPublicKey

    override fun wrapKey(alias: String, key: ByteArray, requireUserAuth: Boolean): ByteArray {
        val k = wrapKeys.computeIfAbsent(alias) { WrapKey(newAesKey(), requireUserAuth) }
        val iv = ByteArray(WrappedKeyEnvelope.IV_LEN).also(random::nextBytes)
        val cipher = Cipher.getInstance(WrappedKeyEnvelope.TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, k.key, GCMParameterSpec(WrappedKeyEnvelope.TAG_BITS, iv))
        cipher.updateAAD(WrappedKeyEnvelope.aad(alias))
        if (k.userBound) authorize(CryptoOperation.UseCipher(cipher, AuthPurpose.ENABLE_BIOMETRICS))
        return WrappedKeyEnvelope.encode(iv, cipher.doFinal(key))
    }

    override fun unwrapKey(alias: String, wrapped: ByteArray): ByteArray {
        val k = wrapKeys[alias] ?: throw KeystoreException.KeyInvalidated()
        val parts = WrappedKeyEnvelope.decode(wrapped)
        val cipher = Cipher.getInstance(WrappedKeyEnvelope.TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, k.key, GCMParameterSpec(WrappedKeyEnvelope.TAG_BITS, parts.iv))
        cipher.updateAAD(WrappedKeyEnvelope.aad(alias))
        if (k.userBound) authorize(CryptoOperation.UseCipher(cipher, AuthPurpose.UNLOCK))
        return try {
            cipher.doFinal(parts.ciphertext)
        } catch (e: AEADBadTagException) {
            throw KeystoreException.Unavailable("wrapped key rejected")
        }
    }

    override fun createSigningKey(alias: String, requireUserAuth: Boolean): ByteArray {
        val gen = KeyPairGenerator.getInstance("EC")
        gen.initialize(ECGenParameterSpec("secp256r1"), random)
        val pair = gen.generateKeyPair()
        signKeys[alias] = SignKey(pair, requireUserAuth)
        val public = pair.public as? ECPublicKey ?: throw KeystoreException.Unavailable("not an EC key")
        return EcPublicKeys.uncompressedP256(public)
    }

    override fun sign(alias: String, message: ByteArray): ByteArray {
        val k = signKeys[alias] ?: throw KeystoreException.KeyInvalidated()
        val signature = Signature.getInstance("SHA256withECDSA")
        signature.initSign(k.pair.private)
        if (k.userBound) authorize(CryptoOperation.UseSignature(signature, AuthPurpose.SIGN))
        signature.update(message)
        return signature.sign()
    }

    override fun deleteKey(alias: String) {
        wrapKeys.remove(alias)
        signKeys.remove(alias)
    }

    /** Rollback counters, in memory like the keys (what the Keychain keeps on iOS). */
    val counters = ConcurrentHashMap<String, ULong>()

    override fun readCounter(alias: String): ULong? = counters[alias]

    override fun storeCounter(alias: String, value: ULong) {
        counters[alias] = value
    }

    private fun authorize(op: CryptoOperation) {
        prompts.incrementAndGet()
        userAuthenticator.authorize(op).requireAuthorized()
    }

    private fun newAesKey(): SecretKey =
        KeyGenerator.getInstance("AES").apply { init(256, random) }.generateKey()
}

/** A keystore that delegates to [inner] except where a test overrides. */
open class DelegatingKeystore(private val inner: PlatformKeystore) : PlatformKeystore by inner
