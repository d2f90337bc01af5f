// End-to-end encrypted sync through the Swift bindings: two vaults and the
// real countersign-server (COUNTERSIGN_TEST_SERVER, see `TestServer` in
// ApproveFlowTests.swift), async calls from Swift concurrency. The same
// scenario as the Android shell's SyncFlowTest; it tests the glue (async
// sync calls, records, the typed `Rejected` error), not the sync protocol,
// which the core's own tests cover. Skipped without a server.
import Foundation
import XCTest
import Countersign
@testable import CountersignShell

final class SyncFlowTests: XCTestCase {
    /// The RFC 6238 seed as a 6-digit TOTP account (the JVM test's `rfcUri(6)`).
    private static let rfcUri6 = "otpauth://totp/ACME:alice@example.com?secret=\(Fixtures.rfcSecret)"
        + "&issuer=ACME&digits=6"

    func testEnableJoinSyncAndDeleteEverywhere() async throws {
        let base = try TestServer.baseURL()
        let a = try await openUnlockedVault()
        let b = try await openUnlockedVault()

        // The server takes sync writes only from devices paired with it.
        let server = try TestServerClient.fromEnvironment()
        addTeardownBlock {
            server.invalidate()
        }
        let user = try await server.newUser("sync", password: "Correct-Horse-42")
        for vault in [a, b] {
            _ = try await vault.pairWithInvite(
                invite: try await server.invite(user),
                device: DeviceRegistration(name: "Swift sync phone", platform: "ios", pushToken: nil)
            )
        }

        // Device A turns sync on, pinning the key it was shown.
        let fingerprint = try await a.fetchServerIdentity(url: base).fingerprint
        XCTAssertNil(try a.syncStatus())
        _ = try a.addUri(uri: Self.rfcUri6)
        let enabled = try await a.syncEnable(urls: [base], fingerprint: fingerprint)
        XCTAssertEqual(enabled.report.pushed, 1)
        XCTAssertEqual(enabled.code.count, 29, enabled.code) // 24 characters in groups of four

        // Device B joins from A's QR text and gets the same account.
        let joinText = try a.syncJoinText()
        let joined = try await b.syncJoin(qrText: joinText)
        XCTAssertEqual(joined.added, 1)
        let t = DeviceClock().nowUnixS()
        let codesA = try a.codesAt(unixS: t).map { $0.code }
        XCTAssertEqual(codesA.count, 1)
        XCTAssertEqual(try b.codesAt(unixS: t).map { $0.code }, codesA)

        // A change on B reaches A: B's core pushes it by itself (no syncNow
        // from the shell); A pulls it with "sync now".
        let notices = UpkeepNotices()
        b.setUpkeepListener(listener: notices)
        _ = try b.addUri(uri: "otpauth://totp/Beta:me?secret=GEZDGNBVGY3TQOJQ&issuer=Beta")
        let round = await notices.next(.synced) { ($0.syncReport?.pushed ?? 0) > 0 }
        XCTAssertEqual(round?.syncReport?.pushed, 1)
        _ = try await a.syncNow()
        XCTAssertEqual(try a.profiles().count, 2)

        // A deletes the server copy: B's next round is refused, B keeps its
        // accounts and can leave.
        try await a.syncDeleteEverywhere()
        do {
            _ = try await b.syncNow()
            XCTFail("sync must stop once the server copy is deleted")
        } catch AuthError.Rejected(let code, let reason) {
            XCTAssertEqual(code, "sync_deleted", reason)
        }
        XCTAssertNotNil(try b.syncStatus()?.stopped)
        XCTAssertEqual(try b.profiles().count, 2)
        XCTAssertTrue(try b.syncLeave())
    }

    /// A new vault on the wall clock (the JVM test's `systemClock()`; the app
    /// passes `DeviceClock`), unlocked.
    private func openUnlockedVault() async throws -> Authenticator {
        let authenticator = try Authenticator.open(path: try makeVaultPath(), keystore: TestKeystore(), clock: DeviceClock())
        try await authenticator.unlock(passcode: nil)
        return authenticator
    }
}
