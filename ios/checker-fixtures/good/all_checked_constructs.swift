// Every construct the checker judges, used correctly. It must pass.
import Foundation
import Countersign

final class MemoryKeystore: PlatformKeystore {
    func wrapKey(alias: String, key: Data, requireUserAuth: Bool) throws -> Data { key }
    func unwrapKey(alias: String, wrapped: Data) throws -> Data { wrapped }
}

extension MemoryKeystore {
    // Requirements may be implemented in extensions, without `throws`.
    func createSigningKey(alias: String, requireUserAuth: Bool) -> Data { Data(count: 65) }
    func sign(alias: String, message: Data) throws -> Data { throw KeystoreError.Unavailable(reason: "no signing") }
    func deleteKey(alias: String) throws {}
    func readCounter(alias: String) throws -> UInt64? { nil }
    func storeCounter(alias: String, value: UInt64) throws {}
}

final class StoppedClock: Clock {
    func nowUnixS() -> Int64 { 59 }
}

final class PrintingListener: CodeListener {
    func onCodes(codes: [OtpCode]) {
        for code in codes {
            print(code.profileId, code.code, code.validForS)
        }
    }

    func onLocked() {}
}

func keystoreError(cancelled: Bool) -> KeystoreError {
    cancelled ? .UserCancelled : .Unavailable(reason: "other")
}

func run(path: String) async throws -> [String] {
    let authenticator = try Authenticator.open(path: path, keystore: MemoryKeystore(), clock: StoppedClock())
    try await authenticator.unlock(passcode: nil)
    let report = try authenticator.addUri(uri: "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP")
    for profile in report.added where profile.otpType == .totp {
        print(profile.issuer, profile.account, profile.digits)
    }
    let draft = ProfileDraft(issuer: "A", account: "c", secretBase32: "JBSWY3DPEHPK3PXP", otpType: .hotp,
                             algorithm: .sha256, digits: 6, period: 30, counter: 0)
    let added = try authenticator.addProfile(draft: draft)
    _ = try authenticator.nextHotp(id: added.id)
    let handle = try authenticator.watchCodes(listener: PrintingListener())
    handle.cancel()
    try ffiPanicProbe()
    return try authenticator.codesAt(unixS: 59).map { $0.code }
}

func message(for error: Error) -> String {
    do {
        throw error
    } catch AuthError.WrongPasscode(let retryAfterS) where retryAfterS > 0 {
        return "wait \(retryAfterS)"
    } catch let AuthError.LockedOut(retryAfterS: seconds) {
        return "locked out \(seconds)"
    } catch AuthError.KeyUnavailable {
        return "key"
    } catch let error as KeystoreError {
        switch error {
        case .UserCancelled, .AuthFailed:
            return "cancelled"
        case .KeyInvalidated:
            return "invalidated"
        case .Unavailable(let reason):
            return reason
        }
    } catch {
        if case AuthError.LimitReached(let limit, what: let what) = error {
            return "\(limit) \(what)"
        }
        return "\(error)"
    }
}

func isLocked(_ error: Error) -> Bool {
    (error as? AuthError) == .VaultLocked
}
