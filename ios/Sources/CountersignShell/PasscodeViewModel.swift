// PasscodeViewModel: the unlock screen's state (mirrors Android's).
//
// Why it exists: the core decides whether a passcode is right and how long
// the user must wait after wrong ones (persisted, clock-safe); the screen
// needs to collect 4–8 digits, call the async `unlock(passcode:)` off the
// main thread, and turn `AuthError.WrongPasscode(retryAfterS:)` /
// `.LockedOut(retryAfterS:)` into a message with a live countdown. The
// countdown is derived from the injected `Clock`, so tests drive it by
// moving a fixed clock and calling `refreshCountdown()`.
import Foundation
import Combine
import Countersign

/// State of the passcode (unlock) screen.
@MainActor
public final class PasscodeViewModel: ObservableObject {
    public enum State: Equatable {
        /// Typing.
        case entering
        /// Waiting for the core.
        case checking
        /// The last passcode was wrong; `waitS` > 0: seconds until the next try.
        case wrongPasscode(waitS: UInt64)
        /// Too many wrong passcodes: no try is accepted for `waitS` seconds.
        case lockedOut(waitS: UInt64)
        /// Done; the app shows the codes.
        case unlocked
        /// Anything else, in words.
        case failed(message: String)
    }

    public static let minLength = 4
    public static let maxLength = 8

    /// Digits typed so far (the view shows dots).
    @Published public private(set) var entered = ""
    @Published public private(set) var state: State = .entering
    /// Biometry to offer as a button (`.unavailable`: none).
    @Published public private(set) var biometry: BiometryKind = .unavailable

    private let authenticator: AuthenticatorProtocol
    private let clock: Clock
    private let biometrics: BiometricChecking?
    private var retryAt: Int64?
    private var countdown: Task<Void, Never>?

    public init(authenticator: AuthenticatorProtocol, clock: Clock, biometrics: BiometricChecking? = nil) {
        self.authenticator = authenticator
        self.clock = clock
        self.biometrics = biometrics
    }

    /// Whether the submit button is enabled.
    public var canSubmit: Bool {
        guard (Self.minLength...Self.maxLength).contains(entered.count) else {
            return false
        }
        switch state {
        case .checking, .unlocked:
            return false
        case .wrongPasscode(let waitS), .lockedOut(let waitS):
            return waitS == 0
        case .entering, .failed:
            return true
        }
    }

    /// The screen appeared: offer biometrics if enabled, and resume a
    /// lockout that is still in force (it survives app restarts).
    public func load() {
        do {
            let methods = try authenticator.unlockMethods()
            biometry = methods.biometrics ? (biometrics?.availableBiometry() ?? .unavailable) : .unavailable
            let status = try authenticator.lockoutStatus()
            if status.retryAfterS > 0 {
                startWaiting(status.retryAfterS, lockedOut: true)
            }
        } catch {
            state = .failed(message: UserMessage.text(for: error))
        }
    }

    public func append(digit: Character) {
        guard digit.isASCII, digit.isNumber, entered.count < Self.maxLength else {
            return
        }
        entered.append(digit)
        if state == .wrongPasscode(waitS: 0) || isFailed {
            state = .entering
        }
    }

    public func deleteLast() {
        if !entered.isEmpty {
            entered.removeLast()
        }
    }

    /// Checks the typed passcode with the core.
    public func submit() async {
        guard canSubmit else {
            return
        }
        let passcode = entered
        entered = ""
        state = .checking
        do {
            try await authenticator.unlock(passcode: passcode)
            stopWaiting()
            state = .unlocked
        } catch AuthError.WrongPasscode(let retryAfterS) {
            startWaiting(retryAfterS, lockedOut: false)
        } catch AuthError.LockedOut(let retryAfterS) {
            startWaiting(retryAfterS, lockedOut: true)
        } catch {
            state = .failed(message: UserMessage.text(for: error))
        }
    }

    /// Unlocks through the biometric slot (the keystore shows the prompt).
    /// A cancelled or invalidated prompt falls back to the passcode.
    public func unlockWithBiometrics() async {
        let previous = state
        state = .checking
        do {
            try await authenticator.unlockWithBiometrics()
            stopWaiting()
            state = .unlocked
        } catch AuthError.KeyUnavailable {
            state = previous == .checking ? .entering : previous
        } catch {
            state = .failed(message: UserMessage.text(for: error))
        }
    }

    /// Recomputes the countdown from the clock; returns true while a wait is
    /// still running. The countdown task calls it every second.
    @discardableResult
    public func refreshCountdown() -> Bool {
        guard let retryAt else {
            return false
        }
        let left = UInt64(max(0, retryAt - clock.nowUnixS()))
        switch state {
        case .wrongPasscode:
            state = .wrongPasscode(waitS: left)
        case .lockedOut:
            state = left > 0 ? .lockedOut(waitS: left) : .entering
        default:
            break
        }
        if left == 0 {
            self.retryAt = nil
            return false
        }
        return true
    }

    private var isFailed: Bool {
        if case .failed = state {
            return true
        }
        return false
    }

    private func startWaiting(_ seconds: UInt64, lockedOut: Bool) {
        stopWaiting()
        state = lockedOut ? .lockedOut(waitS: seconds) : .wrongPasscode(waitS: seconds)
        guard seconds > 0 else {
            return
        }
        retryAt = clock.nowUnixS() + Int64(clamping: seconds)
        countdown = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                guard let self, self.refreshCountdown() else {
                    return
                }
            }
        }
    }

    private func stopWaiting() {
        countdown?.cancel()
        countdown = nil
        retryAt = nil
    }
}
