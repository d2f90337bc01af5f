// The keystore seam: biometric unlock through a Swift keystore, a keystore
// that throws, and the pure parts of KeychainKeystore (AES-GCM wrapping and
// error mapping) that run without a device Keychain.
import Foundation
import CryptoKit
import LocalAuthentication
import XCTest
import Countersign
@testable import CountersignShell

final class KeystoreTests: XCTestCase {
    func testBiometricUnlockThroughTheSwiftKeystore() async throws {
        let keystore = TestKeystore()
        let authenticator = try await openVaultWithPasscode(clock: FixedClock(Fixtures.t0), keystore: keystore)
        try await authenticator.unlock(passcode: Fixtures.passcode)
        try await authenticator.enableBiometrics()
        XCTAssertEqual(try authenticator.unlockMethods(), UnlockMethods(passcode: true, biometrics: true))

        authenticator.lock()
        try await authenticator.unlockWithBiometrics()
        XCTAssertFalse(authenticator.isLocked())
        XCTAssertEqual(keystore.promptCount, 1)

        // The user cancels the prompt: the core reports KeyUnavailable and
        // stays locked; the passcode still works.
        authenticator.lock()
        keystore.biometricOutcome = .UserCancelled
        do {
            try await authenticator.unlockWithBiometrics()
            XCTFail("expected KeyUnavailable")
        } catch AuthError.KeyUnavailable(let reason) {
            XCTAssertFalse(reason.isEmpty)
        }
        XCTAssertTrue(authenticator.isLocked())
        try await authenticator.unlock(passcode: Fixtures.passcode)

        keystore.biometricOutcome = nil
        try await authenticator.disableBiometrics()
        XCTAssertEqual(try authenticator.unlockMethods().biometrics, false)
    }

    func testThrowingKeystoreOnCreateIsKeyUnavailable() throws {
        do {
            _ = try openVault(clock: FixedClock(Fixtures.t0), keystore: ThrowingKeystore(.UserCancelled))
            XCTFail("expected KeyUnavailable")
        } catch AuthError.KeyUnavailable(let reason) {
            XCTAssertFalse(reason.isEmpty)
        }
    }

    func testThrowingKeystoreOnUnlockIsKeyUnavailable() async throws {
        let clock = FixedClock(Fixtures.t0)
        let path = try makeVaultPath()
        _ = try Authenticator.open(path: path, keystore: TestKeystore(), clock: clock)
        let reopened = try Authenticator.open(path: path, keystore: ThrowingKeystore(.UserCancelled), clock: clock)
        do {
            try await reopened.unlock(passcode: nil)
            XCTFail("expected KeyUnavailable")
        } catch AuthError.KeyUnavailable {
            // expected
        }
        XCTAssertTrue(reopened.isLocked())
    }

    func testWrappedKeyIsBoundToItsAlias() throws {
        let wrappingKey = SymmetricKey(size: .bits256)
        let vaultKey = Data(repeating: 7, count: 32)
        let blob = try KeychainKeystore.seal(vaultKey, using: wrappingKey, alias: "countersign.vault.a.platform")
        // nonce ‖ ciphertext ‖ tag
        XCTAssertEqual(blob.count, 12 + 32 + 16)
        XCTAssertEqual(try KeychainKeystore.openSealed(blob, using: wrappingKey, alias: "countersign.vault.a.platform"), vaultKey)
        XCTAssertThrowsError(try KeychainKeystore.openSealed(blob, using: wrappingKey, alias: "countersign.vault.b.platform")) { error in
            XCTAssertEqual(error as? KeystoreError, KeystoreError.Unavailable(reason: "wrapped key rejected"))
        }
        XCTAssertThrowsError(try KeychainKeystore.openSealed(blob, using: SymmetricKey(size: .bits256), alias: "countersign.vault.a.platform"))
    }

    func testKeychainStatusMapping() {
        XCTAssertEqual(KeychainKeystore.keystoreError(status: errSecUserCanceled), .UserCancelled)
        XCTAssertEqual(KeychainKeystore.keystoreError(status: errSecAuthFailed), .AuthFailed)
        XCTAssertEqual(KeychainKeystore.keystoreError(status: errSecItemNotFound), .KeyInvalidated)
        switch KeychainKeystore.keystoreError(status: errSecInteractionNotAllowed) {
        case .Unavailable(let reason):
            XCTAssertTrue(reason.contains("\(errSecInteractionNotAllowed)"), reason)
        default:
            XCTFail("expected Unavailable")
        }
    }

    func testLocalAuthenticationErrorMapping() {
        XCTAssertEqual(BiometricAuthenticator.keystoreError(for: .userCancel), .UserCancelled)
        XCTAssertEqual(BiometricAuthenticator.keystoreError(for: .systemCancel), .UserCancelled)
        XCTAssertEqual(BiometricAuthenticator.keystoreError(for: .authenticationFailed), .AuthFailed)
        if case .Unavailable = BiometricAuthenticator.keystoreError(for: .biometryNotEnrolled) {
            // expected
        } else {
            XCTFail("expected Unavailable")
        }
        let wrapped = KeychainKeystore.keystoreError(LAError(.userCancel))
        XCTAssertEqual(wrapped, .UserCancelled)
    }
}
