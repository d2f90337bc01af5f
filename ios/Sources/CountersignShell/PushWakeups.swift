// PushWakeups: APNs registration and the wake-up a sign-in push delivers.
//
// Why it exists: "Approve sign-in" needs the server to wake the app when a
// sign-in waits for approval. A push is only a doorbell: it carries the id
// of a pending request and nothing else — no code, no account name, no key.
// The app then asks the core, which fetches and verifies the request itself.
//
// Deliberately small: this file only turns APNs callbacks into two plain
// events and validates the request id, so nothing else from a push payload
// can reach the core. What the app does with them belongs to the approve
// screen, which is not part of this change: on a wake-up it calls the core's
// `checkPending()` (the core fetches and verifies requests over its pinned
// connection; the request id only says which one to bring to the front), and
// on a new token it calls `updatePushToken(pairingId:pushToken:)` for each
// pairing.
import Foundation
#if canImport(UIKit)
import UIKit
#endif

/// A push asked the app to look at one pending sign-in request.
public struct SignInWakeup: Equatable, Sendable {
    /// Opaque id of the pending request (validated: 1–128 of [A-Za-z0-9_-]).
    public let requestId: String
}

/// Receives the two things APNs gives us.
@MainActor
public protocol PushWakeupDelegate: AnyObject {
    /// APNs issued a (new) device token, as lowercase hex.
    func pushTokenDidChange(_ tokenHex: String)
    /// A sign-in push arrived.
    func didReceiveSignInWakeup(_ wakeup: SignInWakeup)
}

/// Glue between the app delegate's APNs callbacks and the core.
@MainActor
public final class PushWakeups {
    /// The one payload key we read (the server sends
    /// `{"aps": {"alert": …}, "rid": "<request id>"}`).
    public nonisolated static let requestIdKey = "rid"

    public weak var delegate: PushWakeupDelegate?

    public init() {}

    #if canImport(UIKit)
    /// Asks iOS for a device token; the answer arrives in the app delegate's
    /// `didRegisterForRemoteNotificationsWithDeviceToken`, which should call
    /// `didRegister(deviceToken:)`.
    public func register() {
        UIApplication.shared.registerForRemoteNotifications()
    }
    #endif

    /// Forward of the app delegate's token callback.
    public func didRegister(deviceToken: Data) {
        delegate?.pushTokenDidChange(Self.tokenHex(deviceToken))
    }

    /// Forward of a received remote notification. Returns true if it was a
    /// well-formed sign-in wake-up (and the delegate was told).
    @discardableResult
    public func handle(userInfo: [AnyHashable: Any]) -> Bool {
        guard let wakeup = Self.wakeup(from: userInfo) else {
            return false
        }
        delegate?.didReceiveSignInWakeup(wakeup)
        return true
    }

    /// The request id of a push payload, if it has a valid one.
    public nonisolated static func wakeup(from userInfo: [AnyHashable: Any]) -> SignInWakeup? {
        guard let id = userInfo[requestIdKey] as? String,
              (1...128).contains(id.utf8.count),
              id.utf8.allSatisfy({ isIdByte($0) })
        else {
            return nil
        }
        return SignInWakeup(requestId: id)
    }

    /// An APNs token as lowercase hex (what servers expect).
    public nonisolated static func tokenHex(_ token: Data) -> String {
        token.map { String(format: "%02x", $0) }.joined()
    }

    private nonisolated static func isIdByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"),
             UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}
