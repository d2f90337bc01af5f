// Implicit members whose expected type is a generated enum.
// expect: `KeystoreError` has no case `UserCanceled`; did you mean `UserCancelled`?
// expect: `OtpAlgorithm` has no case `sha3`
import Countersign

func map(_ cancelled: Bool) -> KeystoreError {
    if cancelled {
        return .UserCanceled
    }
    return .AuthFailed
}

func draft() -> ProfileDraft {
    ProfileDraft(issuer: "A", account: "b", secretBase32: "JBSWY3DPEHPK3PXP", otpType: .totp,
                 algorithm: .sha3, digits: 6, period: 30, counter: 0)
}
