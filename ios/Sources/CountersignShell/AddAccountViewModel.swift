// AddAccountViewModel: the add-account screen's state (mirrors Android's).
//
// Why it exists: the camera hands over the text of a QR code; the core
// parses it (`otpauth://` or a Google Authenticator `otpauth-migration://`
// batch), adds what it can and reports what it skipped. The screen shows a
// one-line summary of that report. Parsing and duplicate detection are the
// core's; this class only words the result.
import Foundation
import Combine
import Countersign

/// State of the add-account screen.
@MainActor
public final class AddAccountViewModel: ObservableObject {
    /// What one scan added and skipped.
    public struct Summary: Equatable, Sendable {
        /// Display names of the added accounts.
        public let added: [String]
        /// Why entries were skipped (safe to show).
        public let skipped: [String]

        public init(report: AddReport) {
            self.added = report.added.map { $0.displayName }
            self.skipped = report.skipped.map { $0.reason }
        }

        /// One line for the screen, e.g. "Added ACME (alice)" or
        /// "Added 3 accounts, 1 skipped".
        public var message: String {
            var parts: [String] = []
            switch added.count {
            case 0:
                parts.append(skipped.isEmpty ? "Nothing to add" : "Nothing added")
            case 1:
                parts.append("Added \(added[0])")
            default:
                parts.append("Added \(added.count) accounts")
            }
            if !skipped.isEmpty {
                parts.append("\(skipped.count) skipped")
            }
            return parts.joined(separator: ", ")
        }
    }

    public enum State: Equatable {
        case idle
        case done(Summary)
        case failed(message: String)
    }

    @Published public private(set) var state: State = .idle

    private let authenticator: AuthenticatorProtocol

    public init(authenticator: AuthenticatorProtocol) {
        self.authenticator = authenticator
    }

    /// The scanner read a QR code with this text.
    public func scanned(uri: String) {
        do {
            let report = try authenticator.addUri(uri: uri)
            state = .done(Summary(report: report))
        } catch AuthError.InvalidInput(let reason) {
            state = .failed(message: "Not an account QR code: \(reason)")
        } catch {
            state = .failed(message: UserMessage.text(for: error))
        }
    }

    /// The user typed a secret (no QR code at hand): TOTP, SHA-1, 6 digits,
    /// 30 s unless the service says otherwise.
    public func typed(
        issuer: String,
        account: String,
        secret: String,
        digits: UInt8 = 6,
        period: UInt32 = 30
    ) {
        let draft = ProfileDraft(
            issuer: issuer,
            account: account,
            secretBase32: secret,
            otpType: .totp,
            algorithm: .sha1,
            digits: digits,
            period: period,
            counter: 0
        )
        do {
            let profile = try authenticator.addProfile(draft: draft)
            state = .done(Summary(added: [profile.displayName], skipped: []))
        } catch {
            state = .failed(message: UserMessage.text(for: error))
        }
    }

    /// Ready for the next scan.
    public func reset() {
        state = .idle
    }
}

extension AddAccountViewModel.Summary {
    init(added: [String], skipped: [String]) {
        self.added = added
        self.skipped = skipped
    }
}
