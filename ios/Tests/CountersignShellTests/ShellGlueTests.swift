// The platform glue's own decisions: what is copied and for how long, how
// codes are grouped, and what a push payload may carry.
import Foundation
import XCTest
import Countersign
@testable import CountersignShell

final class RecordingPasteboard: PasteboardWriting {
    struct Write: Equatable {
        let text: String
        let expiresAt: Date
        let localOnly: Bool
    }

    private(set) var writes: [Write] = []

    func write(_ text: String, expiresAt: Date, localOnly: Bool) {
        writes.append(Write(text: text, expiresAt: expiresAt, localOnly: localOnly))
    }
}

@MainActor
final class RecordingPushDelegate: PushWakeupDelegate {
    var tokens: [String] = []
    var wakeups: [SignInWakeup] = []

    func pushTokenDidChange(_ tokenHex: String) {
        tokens.append(tokenHex)
    }

    func didReceiveSignInWakeup(_ wakeup: SignInWakeup) {
        wakeups.append(wakeup)
    }
}

final class ShellGlueTests: XCTestCase {
    func testPasteboardGuardCopiesDigitsLocalOnlyWithExpiry() {
        let pasteboard = RecordingPasteboard()
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let copier = PasteboardGuard(pasteboard: pasteboard, lifetime: 45, now: { now })
        let expiresAt = copier.copy(code: "9428 7082")
        XCTAssertEqual(expiresAt, now.addingTimeInterval(45))
        XCTAssertEqual(pasteboard.writes, [
            RecordingPasteboard.Write(text: "94287082", expiresAt: now.addingTimeInterval(45), localOnly: true),
        ])
    }

    func testPasteboardGuardDefaultLifetime() {
        let pasteboard = RecordingPasteboard()
        let now = Date(timeIntervalSince1970: 0)
        PasteboardGuard(pasteboard: pasteboard, now: { now }).copy(code: "123 456")
        XCTAssertEqual(pasteboard.writes.first?.expiresAt, now.addingTimeInterval(PasteboardGuard.defaultLifetime))
        XCTAssertEqual(pasteboard.writes.first?.text, "123456")
    }

    func testCodeGrouping() {
        XCTAssertEqual(CodeFormat.grouped("123456"), "123 456")
        XCTAssertEqual(CodeFormat.grouped("94287082"), "9428 7082")
        XCTAssertEqual(CodeFormat.grouped("1234567"), "123 4567")
        XCTAssertEqual(CodeFormat.grouped("2TX9K"), "2TX9K")
        XCTAssertEqual(CodeFormat.grouped("ABC123"), "ABC123")
        XCTAssertEqual(CodeFormat.progress(secondsLeft: 15, period: 30), 0.5)
        XCTAssertEqual(CodeFormat.progress(secondsLeft: 5, period: 0), 0)
    }

    func testDisplayName() {
        func named(_ issuer: String, _ account: String) -> String {
            Profile(id: "p", issuer: issuer, account: account, otpType: .totp, algorithm: .sha1, digits: 6,
                    period: 30, counter: 0, note: "", group: "", favorite: false, sortOrder: 0,
                    createdAt: 0, updatedAt: 0).displayName
        }
        XCTAssertEqual(named("ACME", "alice"), "ACME (alice)")
        XCTAssertEqual(named("ACME", " "), "ACME")
        XCTAssertEqual(named("", "alice"), "alice")
        XCTAssertEqual(named("", ""), "Unnamed account")
    }

    func testPushPayloadCarriesOnlyAValidRequestId() {
        XCTAssertEqual(PushWakeups.wakeup(from: ["rid": "r-123_ABC"]), SignInWakeup(requestId: "r-123_ABC"))
        XCTAssertNil(PushWakeups.wakeup(from: [:]))
        XCTAssertNil(PushWakeups.wakeup(from: ["rid": ""]))
        XCTAssertNil(PushWakeups.wakeup(from: ["rid": "a b"]))
        XCTAssertNil(PushWakeups.wakeup(from: ["rid": "../etc"]))
        XCTAssertNil(PushWakeups.wakeup(from: ["rid": 42]))
        XCTAssertNil(PushWakeups.wakeup(from: ["rid": String(repeating: "a", count: 129)]))
        XCTAssertNotNil(PushWakeups.wakeup(from: ["rid": String(repeating: "a", count: 128)]))
        XCTAssertEqual(PushWakeups.tokenHex(Data([0x00, 0xab, 0xff])), "00abff")
    }

    @MainActor
    func testPushWakeupsTellTheDelegate() {
        let wakeups = PushWakeups()
        let delegate = RecordingPushDelegate()
        wakeups.delegate = delegate
        wakeups.didRegister(deviceToken: Data([0xde, 0xad]))
        XCTAssertTrue(wakeups.handle(userInfo: ["rid": "abc", "aps": ["content-available": 1]]))
        XCTAssertFalse(wakeups.handle(userInfo: ["code": "123456"]))
        XCTAssertEqual(delegate.tokens, ["dead"])
        XCTAssertEqual(delegate.wakeups, [SignInWakeup(requestId: "abc")])
    }

    func testDeviceClockIsWallClock() {
        let now = Int64(Date().timeIntervalSince1970)
        XCTAssertLessThanOrEqual(abs(DeviceClock().nowUnixS() - now), 1)
    }
}
