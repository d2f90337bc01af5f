// Why this file exists: moving to Countersign means bringing a file from
// another app (or our own backup) in, and leaving means taking one out. The
// core recognises the file, says whether it needs a password, imports it in
// one transaction and reports what was skipped and why; this class only walks
// the screen through those steps (pick file → password if needed → summary)
// and words the result. The file's bytes and the password go to the core and
// are never kept in state.
package org.countersign.android.presentation

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import org.countersign.core.AuthException
import org.countersign.core.AuthenticatorInterface
import org.countersign.core.ImportKind
import org.countersign.core.ImportReport

/** Where the import / backup screen is. */
sealed interface ImportBackupState {
    /** Nothing picked yet. */
    data object Idle : ImportBackupState

    /** The core is reading, importing or sealing. */
    data object Working : ImportBackupState

    /**
     * The picked file is encrypted: ask for its password ([isBackup]: our
     * backup, which also opens with its recovery code).
     */
    data class NeedsPassword(val description: String, val isBackup: Boolean) : ImportBackupState

    /** An import finished. */
    data class Imported(
        val description: String,
        val added: List<String>,
        /** "Entry 4: unsupported algorithm MD5", in the core's words. */
        val skipped: List<String>,
        /** Approve pairings a backup lists: pair these again. */
        val pairAgain: List<String>,
    ) : ImportBackupState

    /** A backup was made: save [bytes] as [fileName]; show [recoveryCode] once. */
    class BackupReady(val bytes: ByteArray, val fileName: String, val recoveryCode: String?) :
        ImportBackupState {
        override fun toString() = "BackupReady(${bytes.size} bytes, $fileName, recoveryCode=${if (recoveryCode == null) "none" else "<redacted>"})"
    }

    /** Nothing changed; [message] says why. */
    data class Failed(val message: String) : ImportBackupState
}

/** State holder of the import / backup screen. */
class ImportBackupViewModel(
    private val authenticator: AuthenticatorInterface,
    private val scope: CoroutineScope,
    private val text: UiText = UiText(),
    private val worker: CoroutineDispatcher = Dispatchers.IO,
) {
    private val _state = MutableStateFlow<ImportBackupState>(ImportBackupState.Idle)

    /** The screen state. */
    val state: StateFlow<ImportBackupState> = _state.asStateFlow()

    /** The picked file's bytes, held only until the password is typed. */
    private var pending: ByteArray? = null

    /** The user picked a file. Imports at once unless it needs a password. */
    fun onFilePicked(bytes: ByteArray): Job = launch {
        val source = authenticator.inspectImport(bytes, null)
        if (source.needsPassword) {
            pending = bytes
            ImportBackupState.NeedsPassword(source.description, source.kind == ImportKind.BACKUP)
        } else {
            summarize(authenticator.importFile(bytes, null, null))
        }
    }

    /** The password (or recovery code) for the file picked last. */
    fun onPassword(password: String): Job {
        val bytes = pending ?: return fail(text.error(IllegalStateException("no file picked")))
        return launch {
            // A wrong password keeps the file, so the user can try again.
            val report = authenticator.importFile(bytes, null, password)
            pending = null
            summarize(report)
        }
    }

    /** Makes an encrypted backup ([password]: at least 8 characters). */
    fun createBackup(password: String, withRecoveryCode: Boolean): Job = launch {
        val file = authenticator.createBackup(password, withRecoveryCode, false)
        ImportBackupState.BackupReady(file.bytes, file.fileName, file.recoveryCode)
    }

    /** Back to [ImportBackupState.Idle]; forgets a picked file. */
    fun reset() {
        pending = null
        _state.value = ImportBackupState.Idle
    }

    private fun summarize(r: ImportReport): ImportBackupState {
        r.nothingAdded?.let { return ImportBackupState.Failed(it) }
        return ImportBackupState.Imported(
            description = r.source.description,
            added = r.added.map { text.displayName(it.issuer, it.account) },
            skipped = r.skipped.map { s ->
                val where = s.line?.let { "line $it" } ?: "entry ${s.index.toInt() + 1}"
                "$where: ${s.reason}"
            },
            pairAgain = r.listedPairings.map { "${it.serverName} (${it.account})" },
        )
    }

    private fun fail(message: String): Job {
        _state.value = ImportBackupState.Failed(message)
        return Job().apply { complete() }
    }

    private fun launch(step: suspend () -> ImportBackupState): Job {
        _state.value = ImportBackupState.Working
        return scope.launch(worker) {
            _state.value = try {
                step()
            } catch (e: AuthException) {
                ImportBackupState.Failed(text.authError(e))
            }
        }
    }
}
