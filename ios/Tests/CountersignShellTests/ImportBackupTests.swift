// Import, backup and restore through the real core (mirrors Android's
// ImportBackupViewModelTest).
import XCTest
import Countersign
@testable import CountersignShell

@MainActor
final class ImportBackupTests: XCTestCase {
    private let list = Data((
        "# exported elsewhere\n" +
        "otpauth://totp/ACME:alice?secret=\(Fixtures.rfcSecret)&issuer=ACME\n" +
        "otpauth://totp/Broken?secret=not*base32\n" +
        "otpauth://totp/Other:bob?secret=KRSXG5CTMVRXEZLU&issuer=Other\n"
    ).utf8)

    func testAUriListImportsAtOnceAndSaysWhatItSkipped() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        try await authenticator.unlock(passcode: nil)
        let model = ImportBackupViewModel(authenticator: authenticator)

        await model.filePicked(list)
        guard case .imported(let description, let added, let skipped, _) = model.state else {
            return XCTFail("expected imported, got \(model.state)")
        }
        XCTAssertEqual(description, "otpauth URI list")
        XCTAssertEqual(added, ["ACME (alice)", "Other (bob)"])
        XCTAssertEqual(skipped.count, 1)
        XCTAssertTrue(skipped[0].hasPrefix("line 3: "), skipped[0])

        await model.filePicked(list)
        guard case .failed(let message) = model.state else {
            return XCTFail("expected failed, got \(model.state)")
        }
        XCTAssertTrue(message.contains("nothing added"), message)
        XCTAssertEqual(try authenticator.profiles().count, 2)
    }

    func testABackupMadeHereRestoresElsewhereWithItsRecoveryCode() async throws {
        let source = try openVault(clock: FixedClock(59))
        try await source.unlock(passcode: nil)
        _ = try await source.importFile(bytes: list, format: nil, password: nil)
        let maker = ImportBackupViewModel(authenticator: source)
        await maker.createBackup(password: "short", withRecoveryCode: true)
        guard case .failed = maker.state else {
            return XCTFail("a short password must be refused, got \(maker.state)")
        }
        await maker.createBackup(password: "backup-password", withRecoveryCode: true)
        guard case .backupReady(let bytes, let fileName, let code?) = maker.state else {
            return XCTFail("expected backupReady, got \(maker.state)")
        }
        XCTAssertTrue(fileName.hasSuffix(".csbk"), fileName)

        let target = try openVault(clock: FixedClock(59))
        try await target.unlock(passcode: nil)
        let model = ImportBackupViewModel(authenticator: target)
        await model.filePicked(bytes)
        XCTAssertEqual(model.state, .needsPassword(description: "Countersign backup", isBackup: true))
        await model.password("wrong-password")
        guard case .failed = model.state else {
            return XCTFail("expected failed, got \(model.state)")
        }
        XCTAssertEqual(try target.profiles().count, 0)
        await model.password(code)
        guard case .imported(_, let added, _, _) = model.state else {
            return XCTFail("expected imported, got \(model.state)")
        }
        XCTAssertEqual(added, ["ACME (alice)", "Other (bob)"])
    }

    func testGoogleQrPayloadsAndTheOtpauthListComeOut() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        try await authenticator.unlock(passcode: nil)
        _ = try await authenticator.importFile(bytes: list, format: nil, password: nil)
        let qr = try authenticator.exportGoogleQr()
        XCTAssertEqual(qr.payloads.count, 1)
        XCTAssertEqual(qr.exported, 2)
        XCTAssertTrue(qr.payloads[0].hasPrefix("otpauth-migration://offline?data="))
        XCTAssertEqual(try authenticator.exportOtpauthUris().count, 2)
    }
}
