// View models against the real core (fixed clock): the rows the code list
// shows, the passcode screen's wrong / locked-out / countdown / success
// states, and the add screen's summaries.
import Foundation
import XCTest
import Countersign
@testable import CountersignShell

@MainActor
final class ViewModelTests: XCTestCase {
    // MARK: Code list

    func testCodeListRows() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        try await authenticator.unlock(passcode: nil)
        _ = try authenticator.addUri(uri: Fixtures.rfcUri)
        _ = try authenticator.addUri(uri: Fixtures.hotpUri)

        let model = CodeListViewModel(authenticator: authenticator)
        model.refresh()
        XCTAssertFalse(model.isLocked)
        XCTAssertNil(model.errorMessage)
        XCTAssertEqual(model.rows.count, 2)

        let totp = model.rows[0]
        XCTAssertEqual(totp.displayName, "ACME (alice@example.com)")
        XCTAssertEqual(totp.code, "9428 7082")
        XCTAssertEqual(totp.rawCode, "94287082")
        XCTAssertEqual(totp.secondsLeft, 1)
        XCTAssertEqual(totp.progress, 1.0 / 30.0, accuracy: 1e-9)
        XCTAssertFalse(totp.isHotp)
        XCTAssertNil(totp.hint)

        let hotp = model.rows[1]
        XCTAssertEqual(hotp.displayName, "Hot (h)")
        XCTAssertEqual(hotp.code, "755 224")
        XCTAssertTrue(hotp.isHotp)
        XCTAssertEqual(hotp.hint, "tap for next")
        XCTAssertEqual(hotp.progress, 0)
        XCTAssertEqual(hotp.secondsLeft, 0)

        model.tap(rowId: hotp.id)
        XCTAssertEqual(model.rows[1].code, "287 082")
        model.tap(rowId: totp.id) // TOTP rows ignore taps
        XCTAssertEqual(model.rows[0].code, "9428 7082")

        authenticator.lock()
        model.refresh()
        XCTAssertTrue(model.isLocked)
        XCTAssertEqual(model.rows, [])
    }

    func testCodeListFollowsTheTickerAndItsLock() async throws {
        let clock = FixedClock(59)
        let authenticator = try openVault(clock: clock)
        try await authenticator.unlock(passcode: nil)
        _ = try authenticator.addUri(uri: Fixtures.rfcUri)

        let model = CodeListViewModel(authenticator: authenticator)
        model.start()
        XCTAssertTrue(model.isTicking)
        XCTAssertEqual(model.rows.first?.code, "9428 7082")

        // The next window's code arrives with a tick, not by refresh().
        clock.advance(by: 1)
        let expected = CodeFormat.grouped(try XCTUnwrap(authenticator.codesAt(unixS: 60).first).code)
        let ticked = await waitUntil { model.rows.first?.code == expected }
        XCTAssertTrue(ticked)
        XCTAssertEqual(model.rows.first?.secondsLeft, 30)

        authenticator.lock()
        let locked = await waitUntil { model.isLocked }
        XCTAssertTrue(locked)
        XCTAssertEqual(model.rows, [])
        XCTAssertFalse(model.isTicking)
    }

    func testCodeListStopCancelsTheTicker() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        try await authenticator.unlock(passcode: nil)
        let model = CodeListViewModel(authenticator: authenticator)
        model.start()
        XCTAssertTrue(model.isTicking)
        model.stop()
        XCTAssertFalse(model.isTicking)
    }

    func testCodeListStartsLocked() throws {
        let authenticator = try openVault(clock: FixedClock(59))
        let model = CodeListViewModel(authenticator: authenticator)
        XCTAssertTrue(model.isLocked)
        model.start()
        XCTAssertTrue(model.isLocked)
        XCTAssertFalse(model.isTicking)
    }

    // MARK: Passcode

    func testPasscodeScreenWrongThenWaitThenUnlocks() async throws {
        let clock = FixedClock(Fixtures.t0)
        let authenticator = try await openVaultWithPasscode(clock: clock)
        let model = PasscodeViewModel(authenticator: authenticator, clock: clock)
        model.load()
        XCTAssertEqual(model.state, .entering)
        XCTAssertEqual(model.biometry, .unavailable)

        enter("123", into: model)
        XCTAssertFalse(model.canSubmit)
        model.append(digit: "x") // not a digit: ignored
        enter("4", into: model)
        XCTAssertEqual(model.entered, "1234")
        XCTAssertTrue(model.canSubmit)
        enter("56789", into: model) // at most 8
        XCTAssertEqual(model.entered, "12345678")
        model.deleteLast()
        XCTAssertEqual(model.entered, "1234567")

        await model.submit()
        XCTAssertEqual(model.state, .wrongPasscode(waitS: 0))
        XCTAssertEqual(model.entered, "")
        for _ in 0..<4 {
            enter("1111", into: model)
            await model.submit()
        }
        XCTAssertEqual(model.state, .wrongPasscode(waitS: 30))

        enter(Fixtures.passcode, into: model)
        XCTAssertFalse(model.canSubmit, "the wait is in force")
        clock.advance(by: 10)
        XCTAssertTrue(model.refreshCountdown())
        XCTAssertEqual(model.state, .wrongPasscode(waitS: 20))
        clock.advance(by: 20)
        XCTAssertFalse(model.refreshCountdown())
        XCTAssertEqual(model.state, .wrongPasscode(waitS: 0))
        XCTAssertTrue(model.canSubmit)

        await model.submit()
        XCTAssertEqual(model.state, .unlocked)
        XCTAssertFalse(authenticator.isLocked())
    }

    func testPasscodeScreenShowsLockoutFromTheCore() async throws {
        let clock = FixedClock(Fixtures.t0)
        let authenticator = try await openVaultWithPasscode(clock: clock)
        for _ in 0..<5 {
            do {
                try await authenticator.unlock(passcode: "0000")
            } catch AuthError.WrongPasscode {
                // counted
            }
        }

        // A screen that did not see those attempts learns of the wait from
        // the core's LockedOut answer.
        let fresh = PasscodeViewModel(authenticator: authenticator, clock: clock)
        enter(Fixtures.passcode, into: fresh)
        await fresh.submit()
        XCTAssertEqual(fresh.state, .lockedOut(waitS: 30))

        // A screen opened later resumes the countdown from lockoutStatus().
        clock.advance(by: 5)
        let reopened = PasscodeViewModel(authenticator: authenticator, clock: clock)
        reopened.load()
        XCTAssertEqual(reopened.state, .lockedOut(waitS: 25))

        clock.advance(by: 25)
        XCTAssertFalse(reopened.refreshCountdown())
        XCTAssertEqual(reopened.state, .entering)
        enter(Fixtures.passcode, into: reopened)
        await reopened.submit()
        XCTAssertEqual(reopened.state, .unlocked)
    }

    func testPasscodeScreenBiometricCancelFallsBackToPasscode() async throws {
        let keystore = TestKeystore()
        let clock = FixedClock(Fixtures.t0)
        let authenticator = try await openVaultWithPasscode(clock: clock, keystore: keystore)
        try await authenticator.unlock(passcode: Fixtures.passcode)
        try await authenticator.enableBiometrics()
        authenticator.lock()

        let model = PasscodeViewModel(authenticator: authenticator, clock: clock, biometrics: FakeBiometrics(.faceID))
        model.load()
        XCTAssertEqual(model.biometry, .faceID)
        keystore.biometricOutcome = .UserCancelled
        await model.unlockWithBiometrics()
        XCTAssertEqual(model.state, .entering)
        keystore.biometricOutcome = nil
        await model.unlockWithBiometrics()
        XCTAssertEqual(model.state, .unlocked)
    }

    // MARK: Add account

    func testAddAccountSummaries() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        try await authenticator.unlock(passcode: nil)
        let model = AddAccountViewModel(authenticator: authenticator)

        model.scanned(uri: Fixtures.rfcUri)
        guard case .done(let summary) = model.state else {
            return XCTFail("expected done, got \(model.state)")
        }
        XCTAssertEqual(summary.added, ["ACME (alice@example.com)"])
        XCTAssertEqual(summary.message, "Added ACME (alice@example.com)")

        model.scanned(uri: Fixtures.rfcUri)
        guard case .done(let again) = model.state else {
            return XCTFail("expected done, got \(model.state)")
        }
        XCTAssertEqual(again.added, [])
        XCTAssertEqual(again.skipped.count, 1)
        XCTAssertEqual(again.message, "Nothing added, 1 skipped")

        model.scanned(uri: "https://example.com")
        guard case .failed(let message) = model.state else {
            return XCTFail("expected failed, got \(model.state)")
        }
        XCTAssertTrue(message.hasPrefix("Not an account QR code"), message)

        model.typed(issuer: "Example", account: "bob", secret: "JBSWY3DPEHPK3PXP")
        XCTAssertEqual(model.state, .done(AddAccountViewModel.Summary(added: ["Example (bob)"], skipped: [])))

        model.reset()
        XCTAssertEqual(model.state, .idle)
        authenticator.lock()
        model.scanned(uri: Fixtures.hotpUri)
        XCTAssertEqual(model.state, .failed(message: "Your accounts are locked."))
    }

    private func enter(_ digits: String, into model: PasscodeViewModel) {
        for digit in digits {
            model.append(digit: digit)
        }
    }
}

/// Biometrics that are "available" without a device.
struct FakeBiometrics: BiometricChecking {
    let kind: BiometryKind

    init(_ kind: BiometryKind) {
        self.kind = kind
    }

    func availableBiometry() -> BiometryKind {
        kind
    }

    func authenticate(reason: String) async throws {}
}
