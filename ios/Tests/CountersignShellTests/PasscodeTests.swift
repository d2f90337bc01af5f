// Passcode flow through the bindings: wrong passcodes, the lockout wait and
// its end by the (fixed, moved) clock, and async unlocks from many tasks.
import Foundation
import XCTest
import Countersign
@testable import CountersignShell

final class PasscodeTests: XCTestCase {
    func testWrongPasscodeThenLockedOutThenRetryAfterTheWait() async throws {
        let clock = FixedClock(Fixtures.t0)
        let authenticator = try await openVaultWithPasscode(clock: clock)
        XCTAssertEqual(try authenticator.unlockMethods(), UnlockMethods(passcode: true, biometrics: false))

        for attempt in 1...5 {
            do {
                try await authenticator.unlock(passcode: "1111")
                XCTFail("attempt \(attempt): expected WrongPasscode")
            } catch AuthError.WrongPasscode(let retryAfterS) {
                // Four free attempts, then a 30 s wait.
                XCTAssertEqual(retryAfterS, attempt == 5 ? 30 : 0, "attempt \(attempt)")
            }
        }
        // While the wait is in force even the right passcode is refused.
        do {
            try await authenticator.unlock(passcode: Fixtures.passcode)
            XCTFail("expected LockedOut")
        } catch AuthError.LockedOut(retryAfterS: let retryAfterS) {
            XCTAssertEqual(retryAfterS, 30)
        }
        XCTAssertTrue(authenticator.isLocked())
        XCTAssertEqual(try authenticator.lockoutStatus(), LockoutStatus(failedAttempts: 5, retryAfterS: 30))

        clock.advance(by: 30)
        try await authenticator.unlock(passcode: Fixtures.passcode)
        XCTAssertFalse(authenticator.isLocked())
        XCTAssertEqual(try authenticator.lockoutStatus().failedAttempts, 0)
    }

    func testPasscodeIsRequiredAndMustBeDigits() async throws {
        let authenticator = try await openVaultWithPasscode(clock: FixedClock(Fixtures.t0))
        do {
            try await authenticator.unlock(passcode: nil)
            XCTFail("expected InvalidInput")
        } catch AuthError.InvalidInput {
            // a passcode is required
        }
        do {
            try await authenticator.unlock(passcode: "12")
            XCTFail("expected InvalidInput")
        } catch AuthError.InvalidInput(let reason) {
            XCTAssertFalse(reason.isEmpty)
        }
        // Malformed input is not a counted attempt.
        XCTAssertEqual(try authenticator.lockoutStatus().failedAttempts, 0)
    }

    func testChangeAndRemovePasscode() async throws {
        let authenticator = try await openVaultWithPasscode(clock: FixedClock(Fixtures.t0))
        try await authenticator.unlock(passcode: Fixtures.passcode)
        try authenticator.changePasscode(old: Fixtures.passcode, new: "13579")
        authenticator.lock()
        try await authenticator.unlock(passcode: "13579")
        try authenticator.removePasscode(current: "13579")
        authenticator.lock()
        try await authenticator.unlock(passcode: nil)
        XCTAssertEqual(try authenticator.unlockMethods().passcode, false)
    }

    func testConcurrentAsyncUnlocks() async throws {
        let authenticator = try await openVaultWithPasscode(clock: FixedClock(Fixtures.t0))

        async let first: Void = authenticator.unlock(passcode: Fixtures.passcode)
        async let second: Void = authenticator.unlock(passcode: Fixtures.passcode)
        async let third: Void = authenticator.unlock(passcode: Fixtures.passcode)
        _ = try await (first, second, third)
        XCTAssertFalse(authenticator.isLocked())

        authenticator.lock()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await authenticator.unlock(passcode: Fixtures.passcode)
                }
            }
            try await group.waitForAll()
        }
        XCTAssertFalse(authenticator.isLocked())
        XCTAssertEqual(try authenticator.lockoutStatus().failedAttempts, 0)
    }

    func testConcurrentWrongAttemptsAreAllCounted() async throws {
        let authenticator = try await openVaultWithPasscode(clock: FixedClock(Fixtures.t0))
        async let a: Void = authenticator.unlock(passcode: "0000")
        async let b: Void = authenticator.unlock(passcode: "0001")
        async let c: Void = authenticator.unlock(passcode: "0002")
        var failures = 0
        do { try await a } catch AuthError.WrongPasscode { failures += 1 }
        do { try await b } catch AuthError.WrongPasscode { failures += 1 }
        do { try await c } catch AuthError.WrongPasscode { failures += 1 }
        XCTAssertEqual(failures, 3)
        XCTAssertEqual(try authenticator.lockoutStatus().failedAttempts, 3)
    }
}
