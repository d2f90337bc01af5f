// A misspelled method on a value of a generated type.
// expect: `Authenticator` has no method `unlockWithBiometric`; did you mean `unlockWithBiometrics`?
import Countersign

func biometricUnlock(path: String, keystore: PlatformKeystore, clock: Clock) async throws {
    let authenticator = try Authenticator.open(path: path, keystore: keystore, clock: clock)
    try await authenticator.unlockWithBiometric()
}
