// End-to-end encrypted sync through the Kotlin bindings: two vaults, the
// real countersign-server started by tools/kotlin-test.sh
// (COUNTERSIGN_TEST_SERVER), suspend calls from coroutines.
package org.countersign.android.core

import kotlinx.coroutines.runBlocking
import org.countersign.core.systemClock
import org.countersign.android.testing.rfcUri
import org.countersign.android.testing.TestServer
import org.countersign.android.testing.UpkeepNotices
import org.countersign.core.UpkeepKind
import org.countersign.android.testing.withVault
import org.countersign.core.DeviceRegistration
import org.countersign.core.AuthException
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

class SyncFlowTest {
    private val base: String = TestServer.base

    @Test
    fun enableJoinSyncAndDeleteEverywhere() = withVault(clock = systemClock()) { a ->
        withVault(clock = systemClock()) { b ->
            runBlocking {
                val fingerprint = a.fetchServerIdentity(base).fingerprint
                // The server takes sync writes only from devices paired with it.
                val user = TestServer.newUser("sync")
                for (v in listOf(a, b)) {
                    v.pairWithInvite(
                        TestServer.invite(user),
                        DeviceRegistration(name = "JVM sync phone", platform = "android", pushToken = null),
                    )
                }
                assertNull(a.syncStatus())
                a.addUri(rfcUri(6))
                val enabled = a.syncEnable(listOf(base), fingerprint)
                assertEquals(1u, enabled.report.pushed)
                assertEquals(29, enabled.code.length)
                val joined = b.syncJoin(a.syncJoinText())
                assertEquals(1u, joined.added)
                assertEquals(a.codes().single().code, b.codes().single().code)
                // b's change is pushed by b's core on its own (no syncNow from the shell).
                val notices = UpkeepNotices()
                b.setUpkeepListener(notices)
                b.addUri("otpauth://totp/Beta:me?secret=GEZDGNBVGY3TQOJQ&issuer=Beta")
                var round = notices.next(UpkeepKind.SYNCED)
                while ((round.syncReport?.pushed ?: 0u) == 0u) round = notices.next(UpkeepKind.SYNCED)
                assertEquals(1u, round.syncReport?.pushed)
                // a pulls it ("sync now"; a's own upkeep may have pulled it already).
                a.syncNow()
                assertEquals(2, a.profiles().size)
                a.syncDeleteEverywhere()
                try {
                    b.syncNow()
                    fail("sync must stop once the server copy is deleted")
                } catch (e: AuthException.Rejected) {
                    assertEquals("sync_deleted", e.code)
                }
                assertNotNull(b.syncStatus()?.stopped)
                assertEquals(2, b.profiles().size)
                assertTrue(b.syncLeave())
            }
        }
    }
}
