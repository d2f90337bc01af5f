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
        XCTAssertEqual(CodeFormat.progress(secondsLeft: 15, period: 30), 0.5)
        XCTAssertEqual(CodeFormat.progress(secondsLeft: 5, period: 0), 0)
    }

    func testPushPayloadCarriesOnlyAValidRequestId() {
        XCTAssertEqual(PushWakeups.wakeup(from: ["request_id": "r-123_ABC"]), SignInWakeup(requestId: "r-123_ABC"))
        XCTAssertNil(PushWakeups.wakeup(from: [:]))
        XCTAssertNil(PushWakeups.wakeup(from: ["request_id": ""]))
        XCTAssertNil(PushWakeups.wakeup(from: ["request_id": "a b"]))
        XCTAssertNil(PushWakeups.wakeup(from: ["request_id": "../etc"]))
        XCTAssertNil(PushWakeups.wakeup(from: ["request_id": 42]))
        XCTAssertNil(PushWakeups.wakeup(from: ["request_id": String(repeating: "a", count: 129)]))
        XCTAssertNotNil(PushWakeups.wakeup(from: ["request_id": String(repeating: "a", count: 128)]))
        XCTAssertEqual(PushWakeups.tokenHex(Data([0x00, 0xab, 0xff])), "00abff")
    }

    @MainActor
    func testPushWakeupsTellTheDelegate() {
        let wakeups = PushWakeups()
        let delegate = RecordingPushDelegate()
        wakeups.delegate = delegate
        wakeups.didRegister(deviceToken: Data([0xde, 0xad]))
        XCTAssertTrue(wakeups.handle(userInfo: ["request_id": "abc", "aps": ["content-available": 1]]))
        XCTAssertFalse(wakeups.handle(userInfo: ["code": "123456"]))
        XCTAssertEqual(delegate.tokens, ["dead"])
        XCTAssertEqual(delegate.wakeups, [SignInWakeup(requestId: "abc")])
    }

    func testDeviceClockIsWallClock() {
        let now = Int64(Date().timeIntervalSince1970)
        XCTAssertLessThanOrEqual(abs(DeviceClock().nowUnixS() - now), 1)
    }
}
