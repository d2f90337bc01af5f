// `Authenticator.open` with a misspelled label.
// expect: `Authenticator.open(path:keystore:clockk:)` does not match
import Countersign

func openVault(path: String, keystore: PlatformKeystore, clock: Clock) throws -> Authenticator {
    try Authenticator.open(path: path, keystore: keystore, clockk: clock)
}
