// Associated-value label and count mistakes in patterns.
// expect: associated value is `retryAfterS:`, not `retryAfter:`
// expect: `AuthError.LimitReached` has 2 associated value(s)
// expect: `KeystoreError.UserCancelled` has no associated values
import Countersign

func describe(_ error: Error) -> String {
    switch error {
    case AuthError.WrongPasscode(retryAfter: let seconds):
        return "wait \(seconds)"
    case AuthError.LimitReached(let limit, let what, let extra):
        return "\(limit) \(what) \(extra)"
    case KeystoreError.UserCancelled(let reason):
        return reason
    default:
        return "?"
    }
}
