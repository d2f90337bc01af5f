// A call whose closing parenthesis is missing.
// expect: syntax error
import Countersign

func addOne(authenticator: Authenticator) throws {
    _ = try authenticator.addUri(uri: "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP"
}
