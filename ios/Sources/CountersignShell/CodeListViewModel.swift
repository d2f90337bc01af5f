// CodeListViewModel: the code list screen's state (mirrors Android's).
//
// Why it exists: the core ticks once a second through `watchCodes` and a
// `CodeListener`, on its own thread, with bare `OtpCode`s. The screen needs
// rows it can draw — name, grouped code, seconds left, progress, HOTP's "tap
// for next" — on the main actor, and needs to know when the vault locked
// (the core then stops ticking and calls `onLocked` once). This class does
// that translation and nothing else; codes themselves come from the core.
//
// Lifetime: `start()` when the screen appears, `stop()` when it goes away.
// The ticker's `TaskHandle` also cancels itself when released, and the
// listener holds this object weakly, so a dismissed screen stops ticking.
import Foundation
import Combine
import Countersign

/// One row of the code list.
public struct CodeRow: Identifiable, Equatable, Sendable {
    /// The profile's id.
    public let id: String
    /// "Issuer (account)".
    public let displayName: String
    /// The code grouped for reading, e.g. "123 456".
    public let code: String
    /// The code as typed or copied, without grouping.
    public let rawCode: String
    /// Seconds until the code changes (TOTP; 0 for HOTP).
    public let secondsLeft: UInt32
    /// Share of the window left, 1 → 0 (0 for HOTP).
    public let progress: Double
    /// Counter-based: the code changes only when the user asks.
    public let isHotp: Bool
    /// Pinned.
    public let favorite: Bool

    /// The hint under a HOTP code.
    public var hint: String? {
        isHotp ? "tap for next" : nil
    }

    public init(profile: Profile, code: OtpCode) {
        let isHotp = profile.otpType == .hotp
        self.id = profile.id
        self.displayName = profile.displayName
        self.code = CodeFormat.grouped(code.code)
        self.rawCode = code.code
        self.isHotp = isHotp
        self.favorite = profile.favorite
        self.secondsLeft = isHotp ? 0 : code.validForS
        self.progress = isHotp ? 0 : CodeFormat.progress(secondsLeft: code.validForS, period: code.period)
    }
}

/// State of the code list screen.
@MainActor
public final class CodeListViewModel: ObservableObject {
    @Published public private(set) var rows: [CodeRow] = []
    @Published public private(set) var isLocked: Bool
    /// Last failure, in words; nil when all is well.
    @Published public private(set) var errorMessage: String?

    private let authenticator: AuthenticatorProtocol
    private var profilesById: [String: Profile] = [:]
    private var ticker: TaskHandle?

    public init(authenticator: AuthenticatorProtocol) {
        self.authenticator = authenticator
        self.isLocked = authenticator.isLocked()
    }

    /// The screen appeared: show codes now, then refresh every second.
    public func start() {
        stop()
        refresh()
        if isLocked {
            return
        }
        do {
            ticker = try authenticator.watchCodes(listener: CodeTicks(owner: self))
        } catch {
            show(error)
        }
    }

    /// The screen went away.
    public func stop() {
        ticker?.cancel()
        ticker = nil
    }

    /// True while the core is ticking for this screen.
    public var isTicking: Bool {
        guard let ticker else {
            return false
        }
        return !ticker.isFinished()
    }

    /// Reads profiles and codes right away (without waiting for a tick).
    public func refresh() {
        do {
            try reloadProfiles()
            show(codes: try authenticator.codes())
        } catch {
            show(error)
        }
    }

    /// A row was tapped: HOTP rows advance to the next code.
    public func tap(rowId: String) {
        guard let profile = profilesById[rowId], profile.otpType == .hotp else {
            return
        }
        do {
            let next = try authenticator.nextHotp(id: rowId)
            var updated = profile
            updated.counter = next.counter
            profilesById[rowId] = updated
            let row = CodeRow(profile: updated, code: next)
            rows = rows.map { $0.id == rowId ? row : $0 }
        } catch {
            show(error)
        }
    }

    /// A tick from the core (via `CodeTicks`), already on the main actor.
    /// Ticks that arrive after `stop()` or the lock (they may have been in
    /// flight) are dropped, so a locked screen never shows codes again.
    func receiveTick(codes: [OtpCode]) {
        guard ticker != nil else {
            return
        }
        show(codes: codes)
    }

    private func show(codes: [OtpCode]) {
        if codes.contains(where: { profilesById[$0.profileId] == nil }) {
            // Added elsewhere since the last reload (e.g. the add screen).
            try? reloadProfiles()
        }
        isLocked = false
        errorMessage = nil
        rows = codes.compactMap { code in
            profilesById[code.profileId].map { CodeRow(profile: $0, code: code) }
        }
    }

    /// The vault locked; the core has stopped ticking.
    func receiveLocked() {
        stop()
        isLocked = true
        rows = []
    }

    private func reloadProfiles() throws {
        let profiles = try authenticator.profiles()
        profilesById = Dictionary(profiles.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    private func show(_ error: Error) {
        if (error as? AuthError) == .VaultLocked {
            receiveLocked()
        } else {
            errorMessage = UserMessage.text(for: error)
        }
    }
}

/// The `CodeListener` the core calls on its thread; hops to the main actor.
/// Holds the view model weakly so the core's reference does not keep a
/// dismissed screen alive.
final class CodeTicks: CodeListener, @unchecked Sendable {
    private weak var owner: CodeListViewModel?

    init(owner: CodeListViewModel) {
        self.owner = owner
    }

    func onCodes(codes: [OtpCode]) {
        let owner = self.owner
        Task { @MainActor in
            owner?.receiveTick(codes: codes)
        }
    }

    func onLocked() {
        let owner = self.owner
        Task { @MainActor in
            owner?.receiveLocked()
        }
    }
}
