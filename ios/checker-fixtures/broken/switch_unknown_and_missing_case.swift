// A switch over a generated enum naming a case that does not exist, and
// one without `default` that misses cases.
// expect: `KeystoreError` has no case `Cancelled`
// expect: switch over `OtpType` has no `default` and misses case(s): steam
import Countersign

func message(for error: KeystoreError) -> String {
    switch error {
    case .Cancelled:
        return "cancelled"
    default:
        return "other"
    }
}

func label(_ type: OtpType) -> String {
    switch type {
    case .totp:
        return "time"
    case .hotp:
        return "counter"
    }
}
