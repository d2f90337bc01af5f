// Android-only. Why this file exists: the core never sees a platform key; it
// asks the shell to wrap its vault key and to sign, through PlatformKeystore.
// On Android that is the Android Keystore (TEE, or StrongBox when the device
// has one): keys never leave secure hardware, user-bound keys demand
// biometrics / the device credential for every use, and enrolling a new
// fingerprint invalidates them. Prompts go through UserAuthenticator, so this
// class owns no UI.
package org.countersign.android.platform.keystore

import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyInfo
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import android.security.keystore.UserNotAuthenticatedException
import java.security.GeneralSecurityException
import java.security.Key
import java.security.KeyFactory
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.PrivateKey
import java.security.ProviderException
import java.security.Signature
import java.security.SignatureException
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.IllegalBlockSizeException
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.SecretKeyFactory
import javax.crypto.spec.GCMParameterSpec
import org.countersign.android.keystore.AuthPurpose
import org.countersign.android.keystore.CryptoOperation
import org.countersign.android.keystore.EcPublicKeys
import org.countersign.android.keystore.UserAuthenticator
import org.countersign.android.keystore.WrappedKeyEnvelope
import org.countersign.android.keystore.requireAuthorized
import org.countersign.core.KeystoreException
import org.countersign.core.PlatformKeystore

/**
 * [PlatformKeystore] on the Android Keystore.
 *
 * - Wrapping: one AES-256-GCM key per alias, created on first use (a
 *   user-bound one on every wrap); blobs are [WrappedKeyEnvelope]s with the
 *   alias as associated data.
 * - Signing: one P-256 key per alias (`SHA256withECDSA`, DER signatures); the
 *   public key goes back as the 65-byte uncompressed point.
 * - StrongBox when [PackageManager.FEATURE_STRONGBOX_KEYSTORE] is present,
 *   falling back to the TEE if StrongBox refuses the key.
 * - `requireUserAuth`: API 30+ `setUserAuthenticationParameters(0,
 *   BIOMETRIC_STRONG or DEVICE_CREDENTIAL)` (every use needs a fresh prompt);
 *   API 28–29 per-use biometrics only (the platform cannot bind the device
 *   credential to a crypto operation there). Always invalidated by a new
 *   biometric enrollment.
 *
 * - Rollback counters: small files in `noBackupFilesDir` (not in cloud or
 *   device-transfer backups), written atomically. They catch a vault file put
 *   back from an earlier copy; a restore of the whole app data directory (root
 *   or a full-device image) takes the counters back too — the Keystore cannot
 *   hold a number (docs/vault-format.md, "Rollback").
 *
 * The core calls every method on a background thread with no lock held, so
 * [userAuthenticator] may block on a prompt. All platform failures come out as
 * [KeystoreException]s (a raw exception would reach the core as an opaque
 * "unexpected callback error" carrying a stack trace).
 */
class AndroidKeystore(
    context: Context,
    private val userAuthenticator: UserAuthenticator,
) : PlatformKeystore {
    private val counterDir = java.io.File(context.noBackupFilesDir, "countersign-counters")

    private val hasStrongBox: Boolean =
        context.packageManager.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE)

    private val keyStore: KeyStore by lazy { KeyStore.getInstance(PROVIDER).apply { load(null) } }

    override fun wrapKey(alias: String, key: ByteArray, requireUserAuth: Boolean): ByteArray = mapped(requireUserAuth) {
        // A user-bound key is made afresh each time biometrics are (re-)enabled: the
        // core replaces that slot's blob, and an old key may have been
        // invalidated by a new enrollment. The device key is reused.
        val secret = existingSecretKey(alias)?.takeIf { !requireUserAuth && !isUserBound(it) }
            ?: generateWrappingKey(alias, requireUserAuth)
        val cipher = Cipher.getInstance(WrappedKeyEnvelope.TRANSFORMATION)
        // The keystore picks the IV (randomized encryption is enforced).
        cipher.init(Cipher.ENCRYPT_MODE, secret)
        cipher.updateAAD(WrappedKeyEnvelope.aad(alias))
        if (requireUserAuth) {
            userAuthenticator.authorize(CryptoOperation.UseCipher(cipher, AuthPurpose.ENABLE_BIOMETRICS))
                .requireAuthorized()
        }
        WrappedKeyEnvelope.encode(cipher.iv, cipher.doFinal(key))
    }

    override fun unwrapKey(alias: String, wrapped: ByteArray): ByteArray {
        val parts = WrappedKeyEnvelope.decode(wrapped)
        val secret = mapped(false) { existingSecretKey(alias) } ?: throw KeystoreException.KeyInvalidated()
        val userBound = mapped(false) { isUserBound(secret) }
        return mapped(userBound) {
            val cipher = Cipher.getInstance(WrappedKeyEnvelope.TRANSFORMATION)
            cipher.init(Cipher.DECRYPT_MODE, secret, GCMParameterSpec(WrappedKeyEnvelope.TAG_BITS, parts.iv))
            cipher.updateAAD(WrappedKeyEnvelope.aad(alias))
            if (userBound) {
                userAuthenticator.authorize(CryptoOperation.UseCipher(cipher, AuthPurpose.UNLOCK)).requireAuthorized()
            }
            cipher.doFinal(parts.ciphertext)
        }
    }

    override fun createSigningKey(alias: String, requireUserAuth: Boolean): ByteArray = mapped(requireUserAuth) {
        deleteEntry(alias)
        val pair = withStrongBoxFallback { strongBox ->
            val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
                .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
                .setDigests(KeyProperties.DIGEST_SHA256)
                .applyUserAuth(requireUserAuth)
                .setIsStrongBoxBacked(strongBox)
                .build()
            KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, PROVIDER)
                .apply { initialize(spec) }
                .generateKeyPair()
        }
        val public = pair.public as? ECPublicKey
            ?: throw KeystoreException.Unavailable("keystore returned a non-EC public key")
        EcPublicKeys.uncompressedP256(public)
    }

    override fun sign(alias: String, message: ByteArray): ByteArray {
        val key = mapped(false) { keyStore.getKey(alias, null) as? PrivateKey } ?: throw KeystoreException.KeyInvalidated()
        val userBound = mapped(false) { isUserBound(key) }
        return mapped(userBound) {
            val signature = Signature.getInstance(SIGNATURE_ALGORITHM)
            signature.initSign(key)
            if (userBound) {
                userAuthenticator.authorize(CryptoOperation.UseSignature(signature, AuthPurpose.SIGN)).requireAuthorized()
            }
            signature.update(message)
            signature.sign()
        }
    }

    override fun deleteKey(alias: String) = mapped(false) { deleteEntry(alias) }

    override fun readCounter(alias: String): ULong? = counterIo {
        val file = java.io.File(counterDir, counterName(alias))
        // A torn or garbled file counts as no counter (the next commit rewrites
        // it): whoever can garble it can delete it, and a crash must not lock
        // the owner out.
        if (!file.exists()) null else file.readText().trim().toULongOrNull()
    }

    override fun storeCounter(alias: String, value: ULong) = counterIo {
        counterDir.mkdirs()
        val file = java.io.File(counterDir, counterName(alias))
        val staging = java.io.File.createTempFile(file.name, ".new", counterDir)
        java.io.FileOutputStream(staging).use { out ->
            out.write(value.toString().toByteArray())
            out.fd.sync()
        }
        if (!staging.renameTo(file)) {
            staging.delete()
            throw java.io.IOException("cannot replace ${file.name}")
        }
    }

    /** The core's aliases are `[A-Za-z0-9._-]`; anything else is refused. */
    private fun counterName(alias: String): String {
        require(alias.isNotEmpty() && alias.length <= 200 && alias.all { it.isLetterOrDigit() || it in "._-" }) {
            "bad counter alias"
        }
        return alias
    }

    private fun <T> counterIo(block: () -> T): T =
        try {
            block()
        } catch (e: java.io.IOException) {
            throw KeystoreException.Unavailable(e.javaClass.simpleName)
        } catch (e: IllegalArgumentException) {
            throw KeystoreException.Unavailable(e.javaClass.simpleName)
        }

    private fun deleteEntry(alias: String) {
        if (keyStore.containsAlias(alias)) keyStore.deleteEntry(alias)
    }

    private fun existingSecretKey(alias: String): SecretKey? = keyStore.getKey(alias, null) as? SecretKey

    private fun generateWrappingKey(alias: String, requireUserAuth: Boolean): SecretKey {
        deleteEntry(alias)
        return withStrongBoxFallback { strongBox ->
            val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setKeySize(256)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setRandomizedEncryptionRequired(true)
                .applyUserAuth(requireUserAuth)
                .setIsStrongBoxBacked(strongBox)
                .build()
            KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER)
                .apply { init(spec) }
                .generateKey()
        }
    }

    private fun KeyGenParameterSpec.Builder.applyUserAuth(required: Boolean): KeyGenParameterSpec.Builder {
        if (!required) return this
        setUserAuthenticationRequired(true)
        setInvalidatedByBiometricEnrollment(true)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
            setUserAuthenticationParameters(
                0,
                KeyProperties.AUTH_BIOMETRIC_STRONG or KeyProperties.AUTH_DEVICE_CREDENTIAL,
            )
        } else {
            // API 28–29: -1 means "authenticate every use, with biometrics".
            @Suppress("DEPRECATION")
            setUserAuthenticationValidityDurationSeconds(-1)
        }
        return this
    }

    /** Generates in StrongBox when the device has it, in the TEE otherwise or if StrongBox refuses. */
    private fun <T> withStrongBoxFallback(generate: (strongBox: Boolean) -> T): T {
        if (hasStrongBox) {
            try {
                return generate(true)
            } catch (e: StrongBoxUnavailableException) {
                // Fall through to the TEE.
            }
        }
        return generate(false)
    }

    private fun isUserBound(key: Key): Boolean {
        val info = when (key) {
            is SecretKey -> SecretKeyFactory.getInstance(key.algorithm, PROVIDER).getKeySpec(key, KeyInfo::class.java)
            is PrivateKey -> KeyFactory.getInstance(key.algorithm, PROVIDER).getKeySpec(key, KeyInfo::class.java)
            else -> null
        } as? KeyInfo
        return info?.isUserAuthenticationRequired ?: false
    }

    /**
     * Runs [block], translating platform exceptions into the [KeystoreException]s
     * the core maps to `AuthException.KeyUnavailable`. Reasons are class names
     * and fixed words: no key material, no message from the platform.
     */
    private inline fun <T> mapped(userBound: Boolean, block: () -> T): T = try {
        block()
    } catch (e: KeystoreException) {
        throw e
    } catch (e: KeyPermanentlyInvalidatedException) {
        throw KeystoreException.KeyInvalidated()
    } catch (e: UserNotAuthenticatedException) {
        throw KeystoreException.AuthFailed()
    } catch (e: AEADBadTagException) {
        throw KeystoreException.Unavailable("wrapped key rejected")
    } catch (e: IllegalBlockSizeException) {
        // What Keystore throws from doFinal for an unauthorized per-use key.
        throw if (userBound) KeystoreException.AuthFailed() else unavailable(e)
    } catch (e: SignatureException) {
        throw if (userBound) KeystoreException.AuthFailed() else unavailable(e)
    } catch (e: GeneralSecurityException) {
        throw unavailable(e)
    } catch (e: ProviderException) {
        throw unavailable(e)
    } catch (e: IllegalStateException) {
        throw unavailable(e)
    } catch (e: IllegalArgumentException) {
        throw unavailable(e)
    }

    private fun unavailable(e: Exception) = KeystoreException.Unavailable("Android Keystore: ${e.javaClass.simpleName}")

    private companion object {
        const val PROVIDER = "AndroidKeyStore"
        const val SIGNATURE_ALGORITHM = "SHA256withECDSA"
    }
}
