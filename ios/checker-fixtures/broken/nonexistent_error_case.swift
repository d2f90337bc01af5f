// A catch clause on an error case that does not exist.
// expect: `AuthError` has no case `WrongPin`
import Countersign

func unlock(authenticator: Authenticator, passcode: String) async -> String {
    do {
        try await authenticator.unlock(passcode: passcode)
        return "ok"
    } catch AuthError.WrongPin {
        return "wrong"
    } catch {
        return "failed"
    }
}
