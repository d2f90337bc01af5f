// UserMessages: the one place core errors become words on screen.
//
// Why it exists: every screen reports failures the same way, and the
// exported `AuthError` cases are few and actionable by design. Reasons the
// core marks as safe to show are shown; nothing here adds secrets or ids.
import Foundation
import Countersign

enum UserMessage {
    static func text(for error: Error) -> String {
        guard let error = error as? AuthError else {
            return "Something went wrong."
        }
        switch error {
        case .VaultLocked:
            return "Your accounts are locked."
        case .WrongPasscode(let retryAfterS):
            return retryAfterS > 0
                ? "Wrong passcode. Try again in \(retryAfterS) s."
                : "Wrong passcode."
        case .LockedOut(retryAfterS: let retryAfterS):
            return "Too many wrong passcodes. Try again in \(retryAfterS) s."
        case .InvalidInput(let reason):
            return reason
        case .NotFound:
            return "That account no longer exists."
        case .Duplicate:
            return "That account is already added."
        case .LimitReached(let limit, let what):
            return "You can have at most \(limit) \(what)."
        case .VaultUnreadable:
            return "Your accounts could not be read. They were left untouched; restore from a backup."
        case .KeyUnavailable:
            return "The device key could not be used. Try again."
        case .Storage:
            return "Saving failed. Nothing was changed."
        case .Network:
            return "The server could not be reached. Try again later."
        case .ServerKeyMismatch:
            return "The server's identity does not match the one you paired with. Do not continue."
        case .PairingRevoked:
            return "The server removed this pairing. You can remove it here too."
        case .WrongNumber(let triesLeft):
            return triesLeft == 0
                ? "That was not the number on the sign-in screen, so the sign-in was denied."
                : "That is not the number on the sign-in screen. Try again (\(triesLeft) left)."
        case .Rejected(_, let reason):
            return "The server refused: \(reason)"
        case .Internal:
            return "Something went wrong. Please report this bug."
        }
    }
}
