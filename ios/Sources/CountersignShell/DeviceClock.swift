// DeviceClock: the wall clock the app hands to the core.
//
// Why it exists: the core never reads the time itself (time is an input, so
// tests can pin it); the shell passes a `Clock` to `Authenticator.open`. The
// bindings export a Rust `SystemClock`, but UniFFI does not make that object
// conform to the Swift `Clock` protocol, so the app supplies this one-liner.
// Tests use a fixed clock instead.
import Foundation
import Countersign

/// The device's clock, in whole Unix seconds.
public final class DeviceClock: Clock {
    public init() {}

    public func nowUnixS() -> Int64 {
        Int64(Date().timeIntervalSince1970.rounded(.down))
    }
}
