// ImportBackupViewModel: the import / backup screen's state (mirrors Android's).
//
// Why it exists: moving to Countersign means bringing a file from another app
// (or our own backup) in, and leaving means taking one out. The core
// recognises the file, says whether it needs a password, imports it in one
// transaction and reports what it skipped and why; this class walks the screen
// through pick file → password if needed → summary, and words the result. The
// file's bytes and the password go to the core and are never kept in state.
// Core work runs off the main actor (the calls are async).
import Foundation
import Combine
import Countersign

/// State of the import / backup screen.
@MainActor
public final class ImportBackupViewModel: ObservableObject {
    public enum State: Equatable {
        case idle
        case working
        /// The picked file is encrypted: ask for its password (a backup also
        /// opens with its recovery code).
        case needsPassword(description: String, isBackup: Bool)
        /// An import finished: names added, "line 3: …" skips, pairings to redo.
        case imported(description: String, added: [String], skipped: [String], pairAgain: [String])
        /// A backup was made: save `bytes` as `fileName`; show `recoveryCode` once.
        case backupReady(bytes: Data, fileName: String, recoveryCode: String?)
        /// Nothing changed; `message` says why.
        case failed(message: String)
    }

    @Published public private(set) var state: State = .idle

    private let authenticator: AuthenticatorProtocol
    /// The picked file, held only until its password is typed.
    private var pending: Data?

    public init(authenticator: AuthenticatorProtocol) {
        self.authenticator = authenticator
    }

    /// The user picked a file; imports at once unless it needs a password.
    public func filePicked(_ bytes: Data) async {
        state = .working
        do {
            let source = try authenticator.inspectImport(bytes: bytes, format: nil)
            if source.needsPassword {
                pending = bytes
                state = .needsPassword(description: source.description, isBackup: source.kind == .backup)
                return
            }
            state = summary(try await authenticator.importFile(bytes: bytes, format: nil, password: nil))
        } catch {
            state = .failed(message: UserMessage.text(for: error))
        }
    }

    /// The password (or recovery code) for the file picked last. A wrong one
    /// keeps the file for another try.
    public func password(_ password: String) async {
        guard let bytes = pending else {
            state = .failed(message: "Pick a file first.")
            return
        }
        state = .working
        do {
            let report = try await authenticator.importFile(bytes: bytes, format: nil, password: password)
            pending = nil
            state = summary(report)
        } catch {
            state = .failed(message: UserMessage.text(for: error))
        }
    }

    /// Makes an encrypted backup (password: at least 8 characters).
    public func createBackup(password: String, withRecoveryCode: Bool) async {
        state = .working
        do {
            let file = try await authenticator.createBackup(
                password: password,
                withRecoveryCode: withRecoveryCode,
                includePairings: false
            )
            state = .backupReady(bytes: file.bytes, fileName: file.fileName, recoveryCode: file.recoveryCode)
        } catch {
            state = .failed(message: UserMessage.text(for: error))
        }
    }

    /// Back to idle; forgets a picked file.
    public func reset() {
        pending = nil
        state = .idle
    }

    private func summary(_ report: ImportReport) -> State {
        if let why = report.nothingAdded {
            return .failed(message: why)
        }
        return .imported(
            description: report.source.description,
            added: report.added.map { $0.displayName },
            skipped: report.skipped.map { skip in
                let place = skip.line.map { "line \($0)" } ?? "entry \(skip.index + 1)"
                return "\(place): \(skip.reason)"
            },
            pairAgain: report.listedPairings.map { "\($0.serverName) (\($0.account))" }
        )
    }
}
