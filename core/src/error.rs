//! Errors: rich inside, few and actionable outside.
//!
//! [`VaultError`] says exactly what went wrong and is what internal code
//! returns. [`AuthenticatorError`] is the public tier: a handful of cases a
//! shell (or the CLI) can act on — ask for the passcode again, wait, show a
//! message, offer restore. The only conversion between them is
//! `impl From<VaultError> for AuthenticatorError` below. No message in either
//! tier contains a secret, a passcode or an account name.

use crate::otp::ParamError;
use crate::uri::UriError;
use crate::vault::ProtectorError;

/// What a shell can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthenticatorError {
    /// The vault is locked: unlock it (passcode or biometrics) and retry.
    #[error("the vault is locked")]
    VaultLocked,
    /// Wrong passcode. `retry_after_s` > 0 means the next attempt must wait.
    #[error("wrong passcode (next attempt allowed in {retry_after_s} s)")]
    WrongPasscode {
        /// Seconds until another attempt is accepted (0: now).
        retry_after_s: u64,
    },
    /// Too many wrong passcodes: no attempt is accepted for `retry_after_s`.
    #[error("too many wrong passcodes; try again in {retry_after_s} s")]
    LockedOut {
        /// Seconds until another attempt is accepted.
        retry_after_s: u64,
    },
    /// The input was rejected; nothing changed. `reason` is safe to show.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// Human-readable reason (no secrets).
        reason: String,
    },
    /// No profile (or other item) with that id.
    #[error("not found")]
    NotFound,
    /// The same account (same seed and parameters) is already in the vault.
    #[error("already in the vault (profile {existing_id})")]
    Duplicate {
        /// Id of the profile that already holds it.
        existing_id: String,
    },
    /// A per-vault limit was reached; nothing was added.
    #[error("limit reached: at most {limit} {what}")]
    LimitReached {
        /// The limit.
        limit: u32,
        /// What is limited ("OTP profiles", "approve pairings").
        what: String,
    },
    /// The vault file cannot be read (corrupt, tampered, rolled back or from a
    /// newer version). The file was left untouched for recovery.
    #[error("the vault cannot be read: {reason}")]
    VaultUnreadable {
        /// What check failed.
        reason: String,
    },
    /// The platform key could not be used (missing, invalidated by a new
    /// biometric enrollment, or the user cancelled the prompt).
    #[error("the device key is unavailable: {reason}")]
    KeyUnavailable {
        /// What the platform said.
        reason: String,
    },
    /// Storage failed (disk full, permissions). Nothing was half-written.
    #[error("storage error: {reason}")]
    Storage {
        /// The storage layer's message.
        reason: String,
    },
    /// The server could not be reached (offline, DNS, timeout, TLS). Retry later.
    #[error("network error: {reason}")]
    Network {
        /// What failed.
        reason: String,
    },
    /// The server presented a TLS key other than the pinned one. Do not
    /// retry blindly: someone may be intercepting the connection.
    #[error("the server's key does not match the paired key")]
    ServerKeyMismatch,
    /// The server revoked this device's pairing; it can be removed.
    #[error("the pairing was revoked by the server")]
    PairingRevoked {
        /// Local id of the pairing.
        pairing_id: String,
    },
    /// The number typed does not match the one on the sign-in screen (or
    /// the new device); the answer was refused and counted. `tries_left`
    /// 0: the request is now denied.
    #[error("that is not the number on the sign-in screen ({tries_left} tries left)")]
    WrongNumber {
        /// Wrong numbers still allowed before the request is denied.
        tries_left: u32,
    },
    /// The server refused the request (expired, already answered, rate
    /// limited, invalid invitation, …). `code` is the protocol's error code.
    #[error("the server refused: {message} ({code})")]
    Rejected {
        /// Machine-readable code from `docs/protocol.md`.
        code: String,
        /// The server's message.
        message: String,
    },
    /// A bug: an invariant did not hold. Please report it.
    #[error("internal error: {reason}")]
    Internal {
        /// Description for the bug report.
        reason: String,
    },
}

/// Internal errors of the vault and its helpers.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// File system failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The vault is locked.
    #[error("vault is locked")]
    Locked,
    /// Wrong passcode.
    #[error("wrong passcode")]
    WrongPasscode {
        /// Seconds until the next attempt.
        retry_after_s: u64,
    },
    /// Backoff in force.
    #[error("locked out")]
    LockedOut {
        /// Seconds until the next attempt.
        retry_after_s: u64,
    },
    /// A passcode is required to unlock but none was given.
    #[error("a passcode is required")]
    PasscodeRequired,
    /// A passcode was given but none is set.
    #[error("no passcode is set")]
    PasscodeNotSet,
    /// `set` when one is already set.
    #[error("a passcode is already set; change it instead")]
    PasscodeAlreadySet,
    /// Passcode does not have 4–8 digits.
    #[error("passcode must be 4 to 8 digits")]
    PasscodeFormat,
    /// Decryption failed where it must not (wrong key or altered data).
    #[error("decryption failed for {0}")]
    Decrypt(&'static str),
    /// The authenticated manifest does not match the rows.
    #[error("integrity check failed: {0}")]
    Tampered(String),
    /// The file is not a Countersign vault, or its contents are malformed.
    #[error("not a readable vault: {0}")]
    Corrupt(String),
    /// The vault was written by a newer version.
    #[error("vault schema version {found} is newer than supported {supported}")]
    UnsupportedVersion {
        /// Version in the file.
        found: i64,
        /// Newest this build reads.
        supported: i64,
    },
    /// `create` on an existing path.
    #[error("a file already exists at that path")]
    AlreadyExists,
    /// `open` on a missing path.
    #[error("no vault at that path")]
    Missing,
    /// No such profile.
    #[error("no such profile")]
    NotFound,
    /// Duplicate profile.
    #[error("duplicate of {0}")]
    Duplicate(String),
    /// Limit reached.
    #[error("limit of {limit} {what} reached")]
    Limit {
        /// The limit.
        limit: u32,
        /// What is limited.
        what: &'static str,
    },
    /// Invalid input with a reason safe to show.
    #[error("{0}")]
    Invalid(String),
    /// Parameter validation.
    #[error("{0}")]
    Params(#[from] ParamError),
    /// URI parsing.
    #[error("{0}")]
    Uri(#[from] UriError),
    /// Platform key protector.
    #[error("key protector: {0}")]
    Protector(#[from] ProtectorError),
    /// Cryptographic primitive failure (randomness unavailable).
    #[error("crypto: {0}")]
    Crypto(&'static str),
    /// A lock was poisoned by a panic in another thread.
    #[error("internal state poisoned")]
    Poisoned,
}

impl From<VaultError> for AuthenticatorError {
    fn from(e: VaultError) -> Self {
        use AuthenticatorError as A;
        match e {
            VaultError::Locked => A::VaultLocked,
            VaultError::WrongPasscode { retry_after_s } => A::WrongPasscode { retry_after_s },
            VaultError::LockedOut { retry_after_s } => A::LockedOut { retry_after_s },
            VaultError::PasscodeRequired
            | VaultError::PasscodeNotSet
            | VaultError::PasscodeAlreadySet
            | VaultError::PasscodeFormat
            | VaultError::Invalid(_)
            | VaultError::Params(_)
            | VaultError::Uri(_)
            | VaultError::AlreadyExists
            | VaultError::Missing => A::InvalidInput {
                reason: e.to_string(),
            },
            VaultError::NotFound => A::NotFound,
            VaultError::Duplicate(existing_id) => A::Duplicate { existing_id },
            VaultError::Limit { limit, what } => A::LimitReached {
                limit,
                what: what.to_owned(),
            },
            VaultError::Decrypt(_)
            | VaultError::Tampered(_)
            | VaultError::Corrupt(_)
            | VaultError::UnsupportedVersion { .. } => A::VaultUnreadable {
                reason: e.to_string(),
            },
            VaultError::Sqlite(ref s) if is_corruption(s) => A::VaultUnreadable {
                reason: e.to_string(),
            },
            VaultError::Sqlite(_) | VaultError::Io(_) => A::Storage {
                reason: e.to_string(),
            },
            VaultError::Protector(p) => A::KeyUnavailable {
                reason: p.to_string(),
            },
            VaultError::Crypto(_) | VaultError::Poisoned => A::Internal {
                reason: e.to_string(),
            },
        }
    }
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase)
    )
}

impl From<UriError> for AuthenticatorError {
    fn from(e: UriError) -> Self {
        VaultError::from(e).into()
    }
}
