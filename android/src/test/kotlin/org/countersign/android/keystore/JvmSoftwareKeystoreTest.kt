// The test keystore itself must behave like the Android one where it matters:
// blobs bound to their alias, tampering detected, user-bound keys prompt.
package org.countersign.android.keystore

import org.countersign.android.testing.JvmSoftwareKeystore
import org.countersign.android.testing.assertThrows
import org.countersign.core.KeystoreException
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Test

class JvmSoftwareKeystoreTest {
    private val key = ByteArray(32) { it.toByte() }

    @Test
    fun wrapUnwrapRoundTrip() {
        val ks = JvmSoftwareKeystore()
        val blob = ks.wrapKey("a", key, false)
        assertArrayEquals(key, ks.unwrapKey("a", blob))
        assertEquals(0, ks.prompts.get())
    }

    @Test
    fun blobIsBoundToAliasAndTamperingIsDetected() {
        val ks = JvmSoftwareKeystore()
        val blob = ks.wrapKey("a", key, false)
        ks.wrapKey("b", key, false)
        assertThrows<KeystoreException.Unavailable> { ks.unwrapKey("b", blob) }
        val tampered = blob.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
        assertThrows<KeystoreException.Unavailable> { ks.unwrapKey("a", tampered) }
        assertThrows<KeystoreException.KeyInvalidated> { ks.unwrapKey("missing", blob) }
    }

    @Test
    fun userBoundKeysPromptEveryUse() {
        var answer: AuthOutcome = AuthOutcome.Authorized
        val ks = JvmSoftwareKeystore { answer }
        val blob = ks.wrapKey("bio", key, true)
        assertArrayEquals(key, ks.unwrapKey("bio", blob))
        assertEquals(2, ks.prompts.get())
        answer = AuthOutcome.Failed
        assertThrows<KeystoreException.AuthFailed> { ks.unwrapKey("bio", blob) }
    }
}
