// CodeFormat: how a code is shown, not how it is computed.
//
// Why it exists: both the list and the copy action need the same display
// rules (group digits for reading aloud, strip them again for pasting), and
// they are easiest to test as plain functions. Generating codes is the
// core's job; nothing here knows about HMAC or time steps.
import Foundation
import Countersign

public enum CodeFormat {
    /// Splits a code in two groups for reading: "123456" → "123 456",
    /// "94287082" → "9428 7082", "1234567" → "123 4567". Codes shorter than
    /// six characters or not all digits (Steam's five letters) stay as they
    /// are. (Same rule as the Android shell's `formatCode`.)
    public static func grouped(_ code: String) -> String {
        guard code.count >= 6, code.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            return code
        }
        let head = code.prefix(code.count / 2)
        let tail = code.dropFirst(code.count / 2)
        return "\(head) \(tail)"
    }

    /// Fraction of the code's window still left, 1 → 0 (0 for HOTP).
    public static func progress(secondsLeft: UInt32, period: UInt32) -> Double {
        guard period > 0 else {
            return 0
        }
        return min(1, Double(secondsLeft) / Double(period))
    }
}

extension Profile {
    /// How an account is named on screen: "Issuer (account)", or whichever
    /// of the two is set, or "Unnamed account".
    public var displayName: String {
        let issuer = self.issuer.trimmingCharacters(in: .whitespaces)
        let account = self.account.trimmingCharacters(in: .whitespaces)
        switch (issuer.isEmpty, account.isEmpty) {
        case (false, false):
            return "\(issuer) (\(account))"
        case (false, true):
            return issuer
        case (true, false):
            return account
        case (true, true):
            return "Unnamed account"
        }
    }
}
