// The code ticker: the core calls a Swift `CodeListener` once a second from
// its own thread until the handle is cancelled, or calls `onLocked` once
// when the vault locks and stops.
import Foundation
import XCTest
import Countersign
@testable import CountersignShell

/// Records what the core sends; fulfils expectations as it goes.
final class RecordingListener: CodeListener, @unchecked Sendable {
    private let lock = NSLock()
    private var ticks: [[OtpCode]] = []
    private var locks = 0
    private let ticked: XCTestExpectation?
    private let locked: XCTestExpectation?

    init(ticked: XCTestExpectation? = nil, locked: XCTestExpectation? = nil) {
        self.ticked = ticked
        self.locked = locked
    }

    var tickCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return ticks.count
    }

    var lastCodes: [OtpCode]? {
        lock.lock()
        defer { lock.unlock() }
        return ticks.last
    }

    var lockedCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return locks
    }

    func onCodes(codes: [OtpCode]) {
        lock.lock()
        ticks.append(codes)
        lock.unlock()
        ticked?.fulfill()
    }

    func onLocked() {
        lock.lock()
        locks += 1
        lock.unlock()
        locked?.fulfill()
    }
}

final class CodeListenerTests: XCTestCase {
    func testTicksUntilCancelled() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        try await authenticator.unlock(passcode: nil)
        _ = try authenticator.addUri(uri: Fixtures.rfcUri)

        let ticked = expectation(description: "two ticks")
        ticked.expectedFulfillmentCount = 2
        ticked.assertForOverFulfill = false
        let listener = RecordingListener(ticked: ticked)
        let handle = try authenticator.watchCodes(listener: listener)
        await fulfillment(of: [ticked], timeout: 5)
        XCTAssertFalse(handle.isFinished())
        // The fixed clock says t = 59 on every tick.
        XCTAssertEqual(listener.lastCodes?.map { $0.code }, ["94287082"])

        handle.cancel()
        XCTAssertTrue(handle.isFinished())
        let countAtCancel = listener.tickCount
        try await Task.sleep(nanoseconds: 1_500_000_000)
        // At most a tick that was already being delivered.
        XCTAssertLessThanOrEqual(listener.tickCount, countAtCancel + 1)
        XCTAssertEqual(listener.lockedCount, 0)
        handle.cancel() // idempotent
    }

    func testLockingStopsTheTickerWithOnLocked() async throws {
        let authenticator = try openVault(clock: FixedClock(59))
        try await authenticator.unlock(passcode: nil)
        _ = try authenticator.addUri(uri: Fixtures.rfcUri)

        let ticked = expectation(description: "a tick")
        ticked.assertForOverFulfill = false
        let locked = expectation(description: "onLocked")
        let listener = RecordingListener(ticked: ticked, locked: locked)
        let handle = try authenticator.watchCodes(listener: listener)
        await fulfillment(of: [ticked], timeout: 5)

        authenticator.lock()
        await fulfillment(of: [locked], timeout: 5)
        try await Task.sleep(nanoseconds: 1_200_000_000)
        XCTAssertEqual(listener.lockedCount, 1)
        XCTAssertTrue(handle.isFinished())
    }
}
