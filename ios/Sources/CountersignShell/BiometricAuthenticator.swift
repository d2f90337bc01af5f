// BiometricAuthenticator: LocalAuthentication glue for the UI.
//
// Why it exists: the biometric prompt that actually protects the vault key
// is shown by the Keychain (KeychainKeystore's access control), not here.
// This type answers the questions the screens ask before that: is Face ID /
// Touch ID set up at all (to offer "Unlock with Face ID"), what is it called
// (button and settings text), and — for flows that want an explicit
// confirmation — a plain biometric check. It also owns the one mapping from
// LocalAuthentication errors to the core's `KeystoreError`, which
// KeychainKeystore reuses.
import Foundation
import LocalAuthentication
import Countersign

/// Which biometry the device offers, for UI text.
public enum BiometryKind: Equatable, Sendable {
    /// None enrolled, not available, or not allowed.
    case unavailable
    case touchID
    case faceID
    /// A kind this code does not name (e.g. Optic ID).
    case other

    /// Name to show in buttons and settings.
    public var displayName: String {
        switch self {
        case .unavailable:
            return "Biometrics"
        case .touchID:
            return "Touch ID"
        case .faceID:
            return "Face ID"
        case .other:
            return "Biometrics"
        }
    }
}

/// What the screens need from biometrics; a protocol so view models can be
/// tested without a device.
public protocol BiometricChecking: Sendable {
    /// The biometry that can be used now (`.unavailable` if none).
    func availableBiometry() -> BiometryKind
    /// Shows the system prompt; throws `KeystoreError` on cancel or failure.
    func authenticate(reason: String) async throws
}

/// `BiometricChecking` on LocalAuthentication.
public final class BiometricAuthenticator: BiometricChecking {
    public init() {}

    public func availableBiometry() -> BiometryKind {
        let context = LAContext()
        var error: NSError?
        guard context.canEvaluatePolicy(.deviceOwnerAuthenticationWithBiometrics, error: &error) else {
            return .unavailable
        }
        switch context.biometryType {
        case .faceID:
            return .faceID
        case .touchID:
            return .touchID
        case LABiometryType.none:
            return .unavailable
        default:
            return .other
        }
    }

    public func authenticate(reason: String) async throws {
        let context = LAContext()
        do {
            let ok = try await context.evaluatePolicy(
                .deviceOwnerAuthenticationWithBiometrics,
                localizedReason: reason
            )
            if !ok {
                throw KeystoreError.AuthFailed
            }
        } catch let error as LAError {
            throw Self.keystoreError(for: error.code)
        }
    }

    /// Maps a LocalAuthentication error code to the core's keystore errors.
    public static func keystoreError(for code: LAError.Code) -> KeystoreError {
        switch code {
        case .userCancel, .appCancel, .systemCancel, .userFallback:
            return .UserCancelled
        case .authenticationFailed, .biometryLockout:
            return .AuthFailed
        case .biometryNotEnrolled, .biometryNotAvailable, .passcodeNotSet:
            return .Unavailable(reason: "biometrics not set up (LAError \(code.rawValue))")
        default:
            return .Unavailable(reason: "LocalAuthentication error \(code.rawValue)")
        }
    }
}
