// KeychainKeystore: the iOS implementation of the core's `PlatformKeystore`.
//
// Why it exists: the core encrypts the vault under a random data key and
// asks the platform to wrap that key with a key the device protects. On iOS
// that is:
// - a 256-bit AES wrapping key per alias, stored as a Keychain item that is
//   only readable while the device has a passcode and only on this device
//   (`kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly`). With
//   `requireUserAuth` the item also carries `.biometryCurrentSet`, so reading
//   it shows Face ID / Touch ID and a new biometric enrollment invalidates it
//   (the read then fails with errSecItemNotFound → `KeyInvalidated`);
// - AES-GCM (CryptoKit, combined representation nonce ‖ ciphertext ‖ tag)
//   with the alias as associated data, so a blob only opens under its alias;
// - an ECDSA P-256 signing key per alias inside the Secure Enclave (for
//   approving sign-ins later). The private key never leaves the enclave; the
//   Keychain keeps only its opaque `dataRepresentation`.
//
// - a rollback counter per vault (the highest generation the core committed)
//   as a plain Keychain item, `kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`:
//   outside the app container, so a vault file put back from an earlier copy
//   (or an app-container restore) is refused by the core. A restore of a
//   whole-device encrypted backup brings the Keychain back too
//   (docs/vault-format.md, "Rollback").
//
// Errors are mapped to the few `KeystoreError` cases the core acts on:
// errSecUserCanceled → UserCancelled, errSecAuthFailed → AuthFailed,
// errSecItemNotFound → KeyInvalidated, anything else → Unavailable(reason:).
// No key material ever appears in an error text.
//
// Threading: the core calls these methods off the main thread and never
// while holding a lock, so a biometric prompt may block here.
//
// A device without a passcode cannot store such items: wrapKey then fails
// with `Unavailable`, and the UI should ask the user to set a device passcode.
import Foundation
import Security
import CryptoKit
import CryptoTokenKit
import LocalAuthentication
import Countersign

/// `PlatformKeystore` backed by the Keychain and the Secure Enclave.
public final class KeychainKeystore: PlatformKeystore {
    /// Keychain service name of every item this keystore writes.
    public let service: String
    private let accessGroup: String?
    private let prompt: String

    /// - Parameters:
    ///   - service: `kSecAttrService` of the items.
    ///   - accessGroup: a shared Keychain access group (app extensions), if any.
    ///   - prompt: why the system asks for Face ID / Touch ID.
    public init(
        service: String = "org.countersign.keystore",
        accessGroup: String? = nil,
        prompt: String = "Unlock your Countersign accounts"
    ) {
        self.service = service
        self.accessGroup = accessGroup
        self.prompt = prompt
    }

    // MARK: PlatformKeystore

    public func wrapKey(alias: String, key: Data, requireUserAuth: Bool) throws -> Data {
        let account = Self.wrapAccount(alias)
        let wrappingKey: SymmetricKey
        if requireUserAuth {
            // Always a fresh key: reading an existing one would prompt just to
            // enable biometrics, and the core replaces the slot it wraps for.
            wrappingKey = SymmetricKey(size: .bits256)
            try deleteItem(account: account)
            try addItem(account: account, value: Self.rawBytes(wrappingKey), requireUserAuth: true)
        } else {
            // The device slot's key: reuse it if present (no prompt needed).
            do {
                let existing = try readItem(account: account)
                wrappingKey = SymmetricKey(data: existing)
            } catch KeystoreError.KeyInvalidated {
                wrappingKey = SymmetricKey(size: .bits256)
                try addItem(account: account, value: Self.rawBytes(wrappingKey), requireUserAuth: false)
            }
        }
        return try Self.seal(key, using: wrappingKey, alias: alias)
    }

    public func unwrapKey(alias: String, wrapped: Data) throws -> Data {
        let raw = try readItem(account: Self.wrapAccount(alias))
        return try Self.openSealed(wrapped, using: SymmetricKey(data: raw), alias: alias)
    }

    public func createSigningKey(alias: String, requireUserAuth: Bool) throws -> Data {
        guard SecureEnclave.isAvailable else {
            throw KeystoreError.Unavailable(reason: "this device has no Secure Enclave")
        }
        var flags: SecAccessControlCreateFlags = [.privateKeyUsage]
        if requireUserAuth {
            flags.insert(.biometryCurrentSet)
        }
        let access = try Self.accessControl(flags: flags)
        let privateKey: SecureEnclave.P256.Signing.PrivateKey
        do {
            privateKey = try SecureEnclave.P256.Signing.PrivateKey(accessControl: access)
        } catch {
            throw Self.keystoreError(error)
        }
        let account = Self.signAccount(alias)
        try deleteItem(account: account)
        // The blob is only usable by this device's enclave, which enforces the
        // access control at signing time; the item itself needs no prompt.
        try addItem(account: account, value: privateKey.dataRepresentation, requireUserAuth: false)
        // Uncompressed SEC1 point: 0x04 ‖ X ‖ Y, 65 bytes.
        return privateKey.publicKey.x963Representation
    }

    public func sign(alias: String, message: Data) throws -> Data {
        let blob = try readItem(account: Self.signAccount(alias))
        do {
            let context = LAContext()
            context.localizedReason = prompt
            let privateKey = try SecureEnclave.P256.Signing.PrivateKey(
                dataRepresentation: blob,
                authenticationContext: context
            )
            return try privateKey.signature(for: message).derRepresentation
        } catch {
            throw Self.keystoreError(error)
        }
    }

    public func deleteKey(alias: String) throws {
        try deleteItem(account: Self.wrapAccount(alias))
        try deleteItem(account: Self.signAccount(alias))
    }

    public func readCounter(alias: String) throws -> UInt64? {
        var query = baseQuery(account: Self.counterAccount(alias))
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var result: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &result)
        if status == errSecItemNotFound {
            return nil
        }
        guard status == errSecSuccess else {
            throw Self.keystoreError(status: status)
        }
        guard let data = result as? Data, let value = UInt64(String(decoding: data, as: UTF8.self)) else {
            throw KeystoreError.Unavailable(reason: "rollback counter item is malformed")
        }
        return value
    }

    public func storeCounter(alias: String, value: UInt64) throws {
        let account = Self.counterAccount(alias)
        let data = Data(String(value).utf8)
        // Update in place (never a delete-then-add window without a counter).
        let updated = SecItemUpdate(
            baseQuery(account: account) as CFDictionary,
            [kSecValueData as String: data] as CFDictionary
        )
        if updated == errSecSuccess {
            return
        }
        guard updated == errSecItemNotFound else {
            throw Self.keystoreError(status: updated)
        }
        var query = baseQuery(account: account)
        query[kSecValueData as String] = data
        query[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(query as CFDictionary, nil)
        guard status == errSecSuccess else {
            throw Self.keystoreError(status: status)
        }
    }

    // MARK: AES-GCM

    static func seal(_ plaintext: Data, using key: SymmetricKey, alias: String) throws -> Data {
        do {
            let box = try AES.GCM.seal(plaintext, using: key, authenticating: Data(alias.utf8))
            guard let combined = box.combined else {
                throw KeystoreError.Unavailable(reason: "AES-GCM produced no combined representation")
            }
            return combined
        } catch let error as KeystoreError {
            throw error
        } catch {
            throw KeystoreError.Unavailable(reason: "wrapping failed")
        }
    }

    static func openSealed(_ blob: Data, using key: SymmetricKey, alias: String) throws -> Data {
        do {
            let box = try AES.GCM.SealedBox(combined: blob)
            return try AES.GCM.open(box, using: key, authenticating: Data(alias.utf8))
        } catch {
            throw KeystoreError.Unavailable(reason: "wrapped key rejected")
        }
    }

    static func rawBytes(_ key: SymmetricKey) -> Data {
        key.withUnsafeBytes { Data($0) }
    }

    // MARK: Keychain items

    static func wrapAccount(_ alias: String) -> String { "wrap." + alias }
    static func signAccount(_ alias: String) -> String { "sign." + alias }
    static func counterAccount(_ alias: String) -> String { "counter." + alias }

    private func baseQuery(account: String) -> [String: Any] {
        var query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            // The iOS-style keychain on macOS too (no login-keychain prompts).
            kSecUseDataProtectionKeychain as String: true,
        ]
        if let accessGroup {
            query[kSecAttrAccessGroup as String] = accessGroup
        }
        return query
    }

    private func readItem(account: String) throws -> Data {
        var query = baseQuery(account: account)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        let context = LAContext()
        context.localizedReason = prompt
        query[kSecUseAuthenticationContext as String] = context
        var result: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &result)
        guard status == errSecSuccess else {
            throw Self.keystoreError(status: status)
        }
        guard let data = result as? Data else {
            throw KeystoreError.Unavailable(reason: "keychain item has no data")
        }
        return data
    }

    private func addItem(account: String, value: Data, requireUserAuth: Bool) throws {
        var query = baseQuery(account: account)
        query[kSecValueData as String] = value
        if requireUserAuth {
            // The accessibility class is part of the access control object;
            // kSecAttrAccessible must not be set beside it.
            query[kSecAttrAccessControl as String] = try Self.accessControl(flags: [.biometryCurrentSet])
        } else {
            query[kSecAttrAccessible as String] = kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly
        }
        let status = SecItemAdd(query as CFDictionary, nil)
        guard status == errSecSuccess else {
            throw Self.keystoreError(status: status)
        }
    }

    private func deleteItem(account: String) throws {
        let status = SecItemDelete(baseQuery(account: account) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw Self.keystoreError(status: status)
        }
    }

    static func accessControl(flags: SecAccessControlCreateFlags) throws -> SecAccessControl {
        var error: Unmanaged<CFError>?
        guard let access = SecAccessControlCreateWithFlags(
            kCFAllocatorDefault,
            kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly,
            flags,
            &error
        ) else {
            let reason = error.map { CFErrorCopyDescription($0.takeRetainedValue()) as String } ?? "unknown"
            throw KeystoreError.Unavailable(reason: "access control: " + reason)
        }
        return access
    }

    // MARK: Error mapping

    /// Maps a Keychain status to the core's keystore errors.
    static func keystoreError(status: OSStatus) -> KeystoreError {
        switch status {
        case errSecUserCanceled:
            return .UserCancelled
        case errSecAuthFailed:
            return .AuthFailed
        case errSecItemNotFound:
            return .KeyInvalidated
        default:
            let message = SecCopyErrorMessageString(status, nil) as String? ?? "unknown"
            return .Unavailable(reason: "keychain status \(status): \(message)")
        }
    }

    /// Maps errors from CryptoKit's Secure Enclave calls (which surface
    /// LocalAuthentication, CryptoTokenKit or OSStatus errors).
    static func keystoreError(_ error: Error) -> KeystoreError {
        if let error = error as? KeystoreError {
            return error
        }
        if let error = error as? LAError {
            return BiometricAuthenticator.keystoreError(for: error.code)
        }
        if let error = error as? TKError {
            switch error.code {
            case .canceledByUser:
                return .UserCancelled
            case .authenticationFailed:
                return .AuthFailed
            case .objectNotFound:
                return .KeyInvalidated
            default:
                return .Unavailable(reason: "secure enclave error \(error.code.rawValue)")
            }
        }
        let nsError = error as NSError
        if nsError.domain == NSOSStatusErrorDomain {
            return keystoreError(status: OSStatus(truncatingIfNeeded: nsError.code))
        }
        return .Unavailable(reason: "\(nsError.domain) \(nsError.code)")
    }
}
