// Test support: a settable clock, in-memory keystores and vault helpers.
//
// The tests run the real Rust core (through the generated bindings) on the
// Mac or an iOS simulator; only the platform pieces are doubles. The Rust
// `SoftwareKeystore` is exported too, but UniFFI does not make it a Swift
// `PlatformKeystore`, so it cannot be handed to `Authenticator.open`; the
// keystore double below does the same job with CryptoKit's software keys.
import Foundation
import CryptoKit
import XCTest
import Countersign
@testable import CountersignShell

enum Fixtures {
    /// RFC 6238 appendix B: SHA-1 seed "12345678901234567890" in Base32.
    static let rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    /// The RFC seed as an 8-digit TOTP account; at t = 59 its code is 94287082.
    static let rfcUri = "otpauth://totp/ACME:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        + "&issuer=ACME&digits=8&algorithm=SHA1&period=30"
    /// RFC 4226 appendix D: HOTP(0) = 755224, HOTP(1) = 287082.
    static let hotpUri = "otpauth://hotp/Hot:h?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Hot&counter=0"
    static let passcode = "2468"
    static let t0: Int64 = 1_700_000_000
}

/// A clock the test sets and moves.
final class FixedClock: Clock, @unchecked Sendable {
    private let lock = NSLock()
    private var now: Int64

    init(_ now: Int64) {
        self.now = now
    }

    func nowUnixS() -> Int64 {
        lock.lock()
        defer { lock.unlock() }
        return now
    }

    func advance(by seconds: Int64) {
        lock.lock()
        now += seconds
        lock.unlock()
    }
}

/// An in-memory `PlatformKeystore` on CryptoKit software keys. Aliases
/// wrapped with `requireUserAuth` go through a simulated biometric prompt
/// whose answer the test sets.
final class TestKeystore: PlatformKeystore, @unchecked Sendable {
    private let lock = NSLock()
    private var wrappingKeys: [String: SymmetricKey] = [:]
    private var userAuthAliases: Set<String> = []
    private var signingKeys: [String: P256.Signing.PrivateKey] = [:]
    private var counters: [String: UInt64] = [:]
    private var outcome: KeystoreError?
    private var prompts = 0

    /// What the next biometric prompts answer; nil: the user passes.
    var biometricOutcome: KeystoreError? {
        get { locked { outcome } }
        set { locked { outcome = newValue } }
    }

    /// How many biometric prompts were shown.
    var promptCount: Int {
        locked { prompts }
    }

    func wrapKey(alias: String, key: Data, requireUserAuth: Bool) throws -> Data {
        let wrappingKey: SymmetricKey = locked {
            if requireUserAuth {
                userAuthAliases.insert(alias)
            } else if let existing = wrappingKeys[alias] {
                return existing
            }
            let fresh = SymmetricKey(size: .bits256)
            wrappingKeys[alias] = fresh
            return fresh
        }
        do {
            let box = try AES.GCM.seal(key, using: wrappingKey, authenticating: Data(alias.utf8))
            guard let combined = box.combined else {
                throw KeystoreError.Unavailable(reason: "no combined representation")
            }
            return combined
        } catch {
            throw KeystoreError.Unavailable(reason: "seal failed")
        }
    }

    func unwrapKey(alias: String, wrapped: Data) throws -> Data {
        let (key, needsAuth) = locked { (wrappingKeys[alias], userAuthAliases.contains(alias)) }
        guard let key else {
            throw KeystoreError.KeyInvalidated
        }
        if needsAuth {
            try showPrompt()
        }
        do {
            let box = try AES.GCM.SealedBox(combined: wrapped)
            return try AES.GCM.open(box, using: key, authenticating: Data(alias.utf8))
        } catch {
            throw KeystoreError.Unavailable(reason: "wrapped key rejected")
        }
    }

    func createSigningKey(alias: String, requireUserAuth: Bool) throws -> Data {
        let privateKey = P256.Signing.PrivateKey()
        locked {
            signingKeys[alias] = privateKey
        }
        return privateKey.publicKey.x963Representation
    }

    func sign(alias: String, message: Data) throws -> Data {
        guard let privateKey = locked({ signingKeys[alias] }) else {
            throw KeystoreError.KeyInvalidated
        }
        do {
            return try privateKey.signature(for: message).derRepresentation
        } catch {
            throw KeystoreError.Unavailable(reason: "signing failed")
        }
    }

    func deleteKey(alias: String) throws {
        locked {
            wrappingKeys[alias] = nil
            signingKeys[alias] = nil
            userAuthAliases.remove(alias)
        }
    }

    private func showPrompt() throws {
        let answer: KeystoreError? = locked {
            prompts += 1
            return outcome
        }
        if let answer {
            throw answer
        }
    }

    /// Rollback counters, in memory (the Keychain's part on a device).
    func readCounter(alias: String) throws -> UInt64? {
        locked { counters[alias] }
    }

    func storeCounter(alias: String, value: UInt64) throws {
        locked { counters[alias] = value }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// A keystore whose every call fails, as when the user cancels the prompt.
final class ThrowingKeystore: PlatformKeystore, @unchecked Sendable {
    private let error: KeystoreError

    init(_ error: KeystoreError) {
        self.error = error
    }

    func wrapKey(alias: String, key: Data, requireUserAuth: Bool) throws -> Data {
        throw error
    }

    func unwrapKey(alias: String, wrapped: Data) throws -> Data {
        throw error
    }

    func createSigningKey(alias: String, requireUserAuth: Bool) throws -> Data {
        throw error
    }

    func sign(alias: String, message: Data) throws -> Data {
        throw error
    }

    func deleteKey(alias: String) throws {
        throw error
    }

    func readCounter(alias: String) throws -> UInt64? {
        throw error
    }

    func storeCounter(alias: String, value: UInt64) throws {
        throw error
    }
}

extension XCTestCase {
    /// A fresh directory, removed after the test.
    func makeTempDir() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("countersign-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock {
            try? FileManager.default.removeItem(at: url)
        }
        return url
    }

    /// A new vault file path in a fresh directory.
    func makeVaultPath() throws -> String {
        try makeTempDir().appendingPathComponent("vault.db").path
    }

    /// A new (locked) vault on a test keystore.
    func openVault(clock: FixedClock, keystore: PlatformKeystore = TestKeystore()) throws -> Authenticator {
        let path = try makeVaultPath()
        return try Authenticator.open(path: path, keystore: keystore, clock: clock)
    }

    /// A new vault, unlocked, with a passcode set and locked again.
    func openVaultWithPasscode(clock: FixedClock, keystore: PlatformKeystore = TestKeystore()) async throws -> Authenticator {
        let authenticator = try openVault(clock: clock, keystore: keystore)
        try await authenticator.unlock(passcode: nil)
        try authenticator.setPasscode(passcode: Fixtures.passcode)
        authenticator.lock()
        return authenticator
    }
}

/// Polls `condition` on the main actor until it holds or `seconds` pass.
@MainActor
func waitUntil(timeout seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > deadline {
            return false
        }
        try? await Task.sleep(nanoseconds: 50_000_000)
    }
    return true
}

/// Collects what the core's upkeep (backup and sync after changes) reports.
final class UpkeepNotices: UpkeepListener, @unchecked Sendable {
    private let lock = NSLock()
    private var notices: [UpkeepNotice] = []

    func onUpkeep(notice: UpkeepNotice) {
        lock.lock()
        notices.append(notice)
        lock.unlock()
    }

    /// The next notice of `kind` matching `accept`, within `seconds`; nil if none came.
    func next(
        _ kind: UpkeepKind,
        within seconds: Double = 20,
        where accept: (UpkeepNotice) -> Bool = { _ in true }
    ) async -> UpkeepNotice? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            lock.lock()
            let index = notices.firstIndex { $0.kind == kind && accept($0) }
            let found = index.map { notices.remove(at: $0) }
            lock.unlock()
            if let found {
                return found
            }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        return nil
    }
}
