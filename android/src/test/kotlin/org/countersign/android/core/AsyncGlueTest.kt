// The async exports (suspend funs on the core's tokio runtime) called from
// Kotlin coroutines, including several at once from Dispatchers.Default.
package org.countersign.android.core

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import org.countersign.android.testing.FakeClock
import org.countersign.android.testing.rfcUri
import org.countersign.android.testing.withVault
import org.countersign.core.AuthException
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test

class AsyncGlueTest {
    @Test
    fun concurrentUnlocksFromDefaultDispatcher() = withVault(unlocked = false) { auth ->
        runBlocking {
            withTimeout(20_000) {
                val results = (1..16).map {
                    async(Dispatchers.Default) { runCatching { auth.unlock(null) } }
                }.awaitAll()
                assertTrue(results.toString(), results.all { it.isSuccess })
            }
        }
        assertFalse(auth.isLocked())
    }

    @Test
    fun concurrentWrongPasscodesAreAllCounted() {
        val clock = FakeClock(2_000_000)
        withVault(clock = clock) { auth ->
            auth.setPasscode("13579")
            auth.lock()
            val errors = runBlocking {
                withTimeout(20_000) {
                    (1..4).map {
                        async(Dispatchers.Default) { runCatching { auth.unlock("00000") }.exceptionOrNull() }
                    }.awaitAll()
                }
            }
            assertTrue(errors.toString(), errors.all { it is AuthException.WrongPasscode })
            assertEquals(4u, auth.lockoutStatus().failedAttempts)
            runBlocking { auth.unlock("13579") }
            assertFalse(auth.isLocked())
        }
    }

    @Test
    fun syncCallsFromManyThreadsWhileUnlocking() = withVault { auth ->
        auth.addUri(rfcUri(6))
        runBlocking {
            withContext(Dispatchers.Default) {
                val readers = (1..8).map { async { repeat(50) { auth.codes() }; auth.codes().single().code } }
                val unlockers = (1..4).map { async { auth.unlock(null) } }
                unlockers.awaitAll()
                assertEquals(List(8) { "287082" }, readers.awaitAll())
            }
        }
    }

    @Test
    fun automaticBackupsAfterAChangeWithoutTheShellAsking() = withVault { auth ->
        val dir = kotlin.io.path.createTempDirectory("auto").toFile()
        try {
            assertEquals(null, auth.autoBackupStatus())
            val error = runCatching { runBlocking { auth.enableAutoBackup(dir.path, "short", 3u) } }.exceptionOrNull()
            assertTrue(error.toString(), error is AuthException.InvalidInput)
            val first = runBlocking { auth.enableAutoBackup(dir.path, "backup-password", 2u) }
            assertEquals(null, runBlocking { auth.runAutoBackup() })
            // After a change the core backs up by itself: the shell only listens.
            val notices = org.countersign.android.testing.UpkeepNotices()
            auth.setUpkeepListener(notices)
            auth.addUri(rfcUri(6))
            val second = notices.next(org.countersign.core.UpkeepKind.BACKUP_WRITTEN).backupPath
            assertEquals(second, auth.upkeepStatus().lastBackup)
            val status = auth.autoBackupStatus()!!
            assertEquals(listOf(second, first), status.files)
            assertEquals(2u, status.keep)
            assertTrue(auth.disableAutoBackup())
        } finally {
            dir.deleteRecursively()
        }
    }
}
