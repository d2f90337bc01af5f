// The core through the generated Swift bindings: adding accounts, reading
// codes at a fixed time, locking, and how errors arrive in Swift. These are
// the same scenarios as the Android shell's JVM tests; they test the glue
// (types, labels, error mapping, async), not the OTP maths again.
import Foundation
import XCTest
import Countersign
@testable import CountersignShell

final class AuthenticatorTests: XCTestCase {
    func testAddFromOtpauthUriAndReadCodeAtFixedTime() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        XCTAssertTrue(authenticator.isLocked())
        try await authenticator.unlock(passcode: nil)
        XCTAssertFalse(authenticator.isLocked())

        let report = try authenticator.addUri(uri: Fixtures.rfcUri)
        XCTAssertEqual(report.skipped, [])
        let profile = try XCTUnwrap(report.added.first)
        XCTAssertEqual(report.added.count, 1)
        XCTAssertEqual(profile.issuer, "ACME")
        XCTAssertEqual(profile.account, "alice@example.com")
        XCTAssertEqual(profile.otpType, .totp)
        XCTAssertEqual(profile.algorithm, .sha1)
        XCTAssertEqual(profile.digits, 8)
        XCTAssertEqual(profile.period, 30)

        let codes = try authenticator.codes()
        XCTAssertEqual(codes.map { $0.code }, ["94287082"])
        let code = try XCTUnwrap(codes.first)
        XCTAssertEqual(code.profileId, profile.id)
        XCTAssertEqual(code.validForS, 1)
        XCTAssertEqual(code.period, 30)
        XCTAssertEqual(code.validFrom, 30)
        XCTAssertEqual(try authenticator.codesAt(unixS: 1_111_111_109).first?.code, "07081804")
    }

    func testDuplicateUriIsReportedNotAdded() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        try await authenticator.unlock(passcode: nil)
        let first = try authenticator.addUri(uri: Fixtures.rfcUri)
        let again = try authenticator.addUri(uri: Fixtures.rfcUri)
        XCTAssertEqual(again.added, [])
        XCTAssertEqual(again.skipped.count, 1)
        XCTAssertEqual(again.skipped.first?.duplicateOf, first.added.first?.id)
        XCTAssertEqual(try authenticator.profiles().count, 1)
    }

    func testAddProfileWithTypedSecret() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        try await authenticator.unlock(passcode: nil)
        let draft = ProfileDraft(
            issuer: "Example",
            account: "bob",
            secretBase32: "jbsw y3dp ehpk 3pxp",
            otpType: .totp,
            algorithm: .sha1,
            digits: 6,
            period: 30,
            counter: 0
        )
        let profile = try authenticator.addProfile(draft: draft)
        XCTAssertEqual(profile.issuer, "Example")
        XCTAssertEqual(profile.account, "bob")
        XCTAssertEqual(profile.digits, 6)
        let code = try authenticator.codes().first { $0.profileId == profile.id }
        XCTAssertEqual(code?.code, "996554")
    }

    func testTypedSecretThatIsNotBase32IsInvalidInput() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        try await authenticator.unlock(passcode: nil)
        var draft = ProfileDraft(
            issuer: "Example",
            account: "bob",
            secretBase32: "not base32!",
            otpType: .totp,
            algorithm: .sha1,
            digits: 6,
            period: 30,
            counter: 0
        )
        do {
            _ = try authenticator.addProfile(draft: draft)
            XCTFail("expected InvalidInput")
        } catch AuthError.InvalidInput(let reason) {
            XCTAssertFalse(reason.isEmpty)
        }
        draft.secretBase32 = Fixtures.rfcSecret
        XCTAssertNoThrow(try authenticator.addProfile(draft: draft))
    }

    func testHotpAdvancesOnlyWhenAsked() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        try await authenticator.unlock(passcode: nil)
        let profile = try XCTUnwrap(try authenticator.addUri(uri: Fixtures.hotpUri).added.first)
        XCTAssertEqual(profile.otpType, .hotp)
        XCTAssertEqual(try authenticator.codes().first?.code, "755224")
        let next = try authenticator.nextHotp(id: profile.id)
        XCTAssertEqual(next.code, "287082")
        XCTAssertEqual(next.counter, 1)
        XCTAssertEqual(try authenticator.codes().first?.code, "287082")
    }

    func testBadUriIsInvalidInput() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        try await authenticator.unlock(passcode: nil)
        do {
            _ = try authenticator.addUri(uri: "https://example.com/not-an-account")
            XCTFail("expected InvalidInput")
        } catch AuthError.InvalidInput(let reason) {
            XCTAssertFalse(reason.isEmpty)
        }
        XCTAssertEqual(try authenticator.profiles(), [])
    }

    func testLockedVaultAnswersVaultLocked() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        XCTAssertThrowsError(try authenticator.codes()) { error in
            XCTAssertEqual(error as? AuthError, .VaultLocked)
        }
        do {
            _ = try authenticator.addUri(uri: Fixtures.rfcUri)
            XCTFail("expected VaultLocked")
        } catch AuthError.VaultLocked {
            // expected
        }
    }

    func testLockAndUnlock() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        try await authenticator.unlock(passcode: nil)
        _ = try authenticator.addUri(uri: Fixtures.rfcUri)
        authenticator.lock()
        XCTAssertTrue(authenticator.isLocked())
        XCTAssertThrowsError(try authenticator.profiles())
        try await authenticator.unlock(passcode: nil)
        XCTAssertFalse(authenticator.isLocked())
        XCTAssertEqual(try authenticator.profiles().count, 1)
    }

    func testVaultSurvivesReopening() async throws {
        let keystore = TestKeystore()
        let clock = FixedClock(59)
        let path = try makeVaultPath()
        do {
            let authenticator = try Authenticator.open(path: path, keystore: keystore, clock: clock)
            try await authenticator.unlock(passcode: nil)
            _ = try authenticator.addUri(uri: Fixtures.rfcUri)
        }
        let reopened = try Authenticator.open(path: path, keystore: keystore, clock: clock)
        XCTAssertTrue(reopened.isLocked())
        try await reopened.unlock(passcode: nil)
        XCTAssertEqual(try reopened.codes().map { $0.code }, ["94287082"])
    }

    func testRustPanicArrivesAsInternalError() throws {
        do {
            try ffiPanicProbe()
            XCTFail("expected AuthError.Internal")
        } catch AuthError.Internal(let reason) {
            XCTAssertTrue(reason.contains("panic"), reason)
        }
    }

    func testAutomaticBackupsAfterAChangeWithoutTheShellAsking() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        try await authenticator.unlock(passcode: nil)
        XCTAssertNil(try authenticator.autoBackupStatus())
        let dir = try makeTempDir().path
        do {
            _ = try await authenticator.enableAutoBackup(dir: dir, password: "short", keep: 3)
            XCTFail("a short backup password was accepted")
        } catch AuthError.InvalidInput(let reason) {
            XCTAssertTrue(reason.contains("8 characters"), reason)
        }
        XCTAssertNil(try authenticator.autoBackupStatus())
        let first = try await authenticator.enableAutoBackup(dir: dir, password: "backup-password", keep: 2)
        let unchanged = try await authenticator.runAutoBackup()
        XCTAssertNil(unchanged)
        // After a change the core backs up by itself: the shell only listens.
        let notices = UpkeepNotices()
        authenticator.setUpkeepListener(listener: notices)
        _ = try authenticator.addUri(uri: Fixtures.rfcUri)
        let written = await notices.next(.backupWritten)
        let second = try XCTUnwrap(written?.backupPath)
        XCTAssertEqual(authenticator.upkeepStatus().lastBackup, second)
        let status = try XCTUnwrap(try authenticator.autoBackupStatus())
        XCTAssertEqual(status.files, [second, first])
        XCTAssertEqual(status.keep, 2)
        XCTAssertTrue(try authenticator.disableAutoBackup())
    }
}
