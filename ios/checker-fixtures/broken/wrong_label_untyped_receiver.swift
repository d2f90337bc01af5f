// A distinctive generated method called with a wrong label on a receiver
// whose type the checker cannot infer.
// expect: `setPasscode(code:)` does not match the generated `setPasscode(passcode:)`
import Countersign

func remember(_ environment: AnyObject) throws {
    let vault = environment.value(forKey: "vault") as AnyObject
    try vault.setPasscode(code: "2468")
}
