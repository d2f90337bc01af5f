// A clock returning Int, and a listener whose method has the wrong label.
// expect: returns `Int`; `Clock` requires `Int64`
// expect: does not implement `onCodes(codes:)` (it has `onCodes(_:)`)
import Countersign

final class BadClock: Clock {
    func nowUnixS() -> Int { 59 }
}

final class BadListener: CodeListener {
    func onCodes(_ codes: [OtpCode]) {}
    func onLocked() {}
}
