// Records: a wrong memberwise label, a field that does not exist, and a
// thrown keystore error with a wrong label.
// expect: `ProfileDraft(issuer:account:secret:otpType:algorithm:digits:period:counter:)` does not match the initializer
// expect: `OtpCode` has no member `validFor`; did you mean `validForS`?
// expect: `KeystoreError.Unavailable(message:)` does not match the case `KeystoreError.Unavailable(reason:)`
import Countersign

func draft() -> ProfileDraft {
    ProfileDraft(issuer: "A", account: "b", secret: "JBSWY3DPEHPK3PXP", otpType: .totp,
                 algorithm: .sha1, digits: 6, period: 30, counter: 0)
}

func secondsLeft(_ codes: [OtpCode]) -> UInt32 {
    guard let first = codes.first else { return 0 }
    return first.validFor
}

func fail() throws {
    throw KeystoreError.Unavailable(message: "no keychain")
}
