// ApproveViewModel: the Approve screen's state (mirrors Android's).
//
// Why it exists: Approve is the app's main job. The core keeps the waiting
// requests, polls the servers and says when the list changes; this class
// turns that into the screen — the list, who/where, the typed two-digit
// number, approve / deny / report — and words the outcome. It decides nothing
// about the protocol: a wrong number, the tries left and the screen-lock
// prompt on approve (the keystore shows it) are the core's. Core calls are
// async, off the main actor.
import Foundation
import Combine
import Countersign

/// State of the Approve screen.
@MainActor
public final class ApproveViewModel: ObservableObject {
    /// One waiting request as the list shows it.
    public struct Row: Equatable, Sendable {
        public let requestId: String
        /// "Sign in to Home NAS as alice" / "Add a phone to Home NAS (alice)".
        public let title: String
        /// "Firefox on Linux · 192.0.2.7 · Berlin" (unknown parts left out).
        public let from: String
        /// Wrong numbers still allowed.
        public let triesLeft: UInt32
        /// Seconds until it expires, by this device's clock (never below 0).
        public let secondsLeft: Int64
    }

    @Published public private(set) var rows: [Row] = []
    /// The last outcome or error, in plain words.
    @Published public private(set) var message: String?
    /// An answer is on its way.
    @Published public private(set) var busy = false

    private let authenticator: AuthenticatorProtocol
    private let clock: Clock
    private var watcher: TaskHandle?

    public init(authenticator: AuthenticatorProtocol, clock: Clock) {
        self.authenticator = authenticator
        self.clock = clock
    }

    /// Starts watching (screen visible): the list follows the core.
    public func start() throws {
        let changes = Changes { [weak self] in
            Task { @MainActor in self?.reload() }
        }
        watcher = try authenticator.watchSignInRequests(listener: changes)
    }

    /// Stops watching (screen gone).
    public func stop() {
        watcher?.cancel()
        watcher = nil
    }

    /// Asks every server now (app opened, a push arrived).
    public func refresh() async {
        do {
            _ = try await authenticator.refreshRequests()
        } catch {
            message = UserMessage.text(for: error)
        }
        reload()
    }

    /// Approves with the two digits the user typed from the sign-in screen.
    public func approve(requestId: String, typed: String) async {
        let digits = typed.trimmingCharacters(in: .whitespaces)
        guard (1...2).contains(digits.count), digits.allSatisfy(\.isASCII), let number = UInt16(digits) else {
            message = "Type the two digits the sign-in screen shows."
            return
        }
        await answer(requestId: requestId, decision: .approve, number: number)
    }

    /// Refuses the sign-in.
    public func deny(requestId: String) async {
        await answer(requestId: requestId, decision: .deny, number: 0)
    }

    /// Refuses it and reports it as not the user.
    public func report(requestId: String) async {
        await answer(requestId: requestId, decision: .report, number: 0)
    }

    private func answer(requestId: String, decision: Decision, number: UInt16) async {
        busy = true
        message = nil
        do {
            let state = try await authenticator.answerRequest(requestId: requestId, decision: decision, typedNumber: number)
            message = Self.words(for: state)
        } catch AuthError.NotFound {
            message = "This sign-in is no longer waiting."
        } catch {
            message = UserMessage.text(for: error)
        }
        busy = false
        reload()
    }

    private func reload() {
        let now = clock.nowUnixS()
        rows = authenticator.waitingRequests().map { r in
            let title: String
            switch r.shown.action {
            case .signIn:
                title = "Sign in to \(r.serverName) as \(r.account)"
            case .pairDevice:
                title = "Add a phone to \(r.serverName) (\(r.account))"
            }
            let from = [r.shown.client, r.shown.clientIp, r.shown.location]
                .filter { !$0.isEmpty }
                .joined(separator: " · ")
            return Row(
                requestId: r.requestId,
                title: title,
                from: from,
                triesLeft: r.triesLeft,
                secondsLeft: max(0, r.context.expiresAt - now)
            )
        }
    }

    static func words(for state: RequestState) -> String {
        switch state {
        case .approved: return "Approved."
        case .denied: return "Denied."
        case .reported: return "Denied and reported."
        case .expired: return "The sign-in had expired."
        case .pending: return "Still waiting."
        }
    }
}

/// Tells the view model that the core's waiting list changed.
final class Changes: SignInListener, @unchecked Sendable {
    private let changed: @Sendable () -> Void

    init(_ changed: @escaping @Sendable () -> Void) {
        self.changed = changed
    }

    func onRequest(request: SignInRequest) { changed() }
    func onRequestChanged(request: SignInRequest) { changed() }
    func onRequestGone(requestId: String, why: RequestGone, state: RequestState?) { changed() }
    func onNotice(notice: ServerNotice) {}
    func onError(pairingId: String, error: AuthError) {}
}
