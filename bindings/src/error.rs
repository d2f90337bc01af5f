//! The exported errors and their single mapping point from the core.
//!
//! Shells switch on these cases (Kotlin: `AuthException.WrongPasscode`,
//! Swift: `AuthError.WrongPasscode`). No case carries a secret.

use countersign_core::{AuthenticatorError, ProtectorError};

/// Errors of authenticator operations, each one a thing the UI can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum AuthError {
    /// The vault is locked: unlock it and retry.
    #[error("the vault is locked")]
    VaultLocked,
    /// Wrong passcode; `retry_after_s` > 0 means the next try must wait.
    #[error("wrong passcode (retry in {retry_after_s} s)")]
    WrongPasscode {
        /// Seconds until the next attempt is accepted.
        retry_after_s: u64,
    },
    /// Too many wrong passcodes: wait `retry_after_s` seconds.
    #[error("too many wrong passcodes; retry in {retry_after_s} s")]
    LockedOut {
        /// Seconds until the next attempt is accepted.
        retry_after_s: u64,
    },
    /// Input rejected, nothing changed; `reason` can be shown.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// Why, in words safe to show.
        reason: String,
    },
    /// No such profile.
    #[error("not found")]
    NotFound,
    /// Already in the vault.
    #[error("duplicate of {existing_id}")]
    Duplicate {
        /// The profile that already holds this account.
        existing_id: String,
    },
    /// A limit was reached; nothing was added.
    #[error("limit of {limit} {what} reached")]
    LimitReached {
        /// The limit.
        limit: u32,
        /// What it limits.
        what: String,
    },
    /// The vault file cannot be read; it was left untouched. Offer restore.
    #[error("vault unreadable: {reason}")]
    VaultUnreadable {
        /// Which check failed.
        reason: String,
    },
    /// The platform key could not be used (cancelled, invalidated, missing).
    #[error("key unavailable: {reason}")]
    KeyUnavailable {
        /// What the keystore reported.
        reason: String,
    },
    /// Storage failed; nothing was half-written.
    #[error("storage error: {reason}")]
    Storage {
        /// The storage layer's message.
        reason: String,
    },
    /// The server could not be reached; retry later.
    #[error("network error: {reason}")]
    Network {
        /// What failed.
        reason: String,
    },
    /// The server's TLS key is not the pinned one (possible interception).
    #[error("server key mismatch")]
    ServerKeyMismatch,
    /// The server revoked this pairing; offer to remove it.
    #[error("pairing {pairing_id} was revoked")]
    PairingRevoked {
        /// Local pairing id.
        pairing_id: String,
    },
    /// The typed number is not the one on the sign-in screen; refused and
    /// counted (`tries_left` 0: the request is now denied).
    #[error("wrong number ({tries_left} tries left)")]
    WrongNumber {
        /// Wrong numbers still allowed.
        tries_left: u32,
    },
    /// The server refused (expired, already answered, rate limited, …).
    #[error("server refused: {reason} ({code})")]
    Rejected {
        /// Protocol error code (`docs/protocol.md` §13).
        code: String,
        /// The server's message. (Not `message`: that clashes with
        /// Kotlin's `Throwable.message`, uniffi-rs #1434.)
        reason: String,
    },
    /// A bug (including a caught panic). Please report it.
    #[error("internal error: {reason}")]
    Internal {
        /// Description for the bug report.
        reason: String,
    },
}

impl From<AuthenticatorError> for AuthError {
    fn from(e: AuthenticatorError) -> Self {
        use AuthenticatorError as C;
        match e {
            C::VaultLocked => Self::VaultLocked,
            C::WrongPasscode { retry_after_s } => Self::WrongPasscode { retry_after_s },
            C::LockedOut { retry_after_s } => Self::LockedOut { retry_after_s },
            C::InvalidInput { reason } => Self::InvalidInput { reason },
            C::NotFound => Self::NotFound,
            C::Duplicate { existing_id } => Self::Duplicate { existing_id },
            C::LimitReached { limit, what } => Self::LimitReached { limit, what },
            C::VaultUnreadable { reason } => Self::VaultUnreadable { reason },
            C::KeyUnavailable { reason } => Self::KeyUnavailable { reason },
            C::Storage { reason } => Self::Storage { reason },
            C::Network { reason } => Self::Network { reason },
            C::ServerKeyMismatch => Self::ServerKeyMismatch,
            C::PairingRevoked { pairing_id } => Self::PairingRevoked { pairing_id },
            C::WrongNumber { tries_left } => Self::WrongNumber { tries_left },
            C::Rejected { code, message } => Self::Rejected {
                code,
                reason: message,
            },
            C::Internal { reason } => Self::Internal { reason },
        }
    }
}

/// Errors a platform keystore implementation reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum KeystoreError {
    /// The user dismissed the biometric / credential prompt.
    #[error("authentication cancelled")]
    UserCancelled,
    /// Authentication failed.
    #[error("authentication failed")]
    AuthFailed,
    /// The key is gone or was invalidated (new biometric enrollment).
    #[error("key invalidated")]
    KeyInvalidated,
    /// Any other platform failure.
    #[error("keystore unavailable: {reason}")]
    Unavailable {
        /// What the platform said.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeystoreError {
    /// An exception the keystore did not map to a `KeystoreError`: keep its
    /// first line only (no foreign stack trace in user-visible text).
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        let first = e.reason.lines().next().unwrap_or("").trim();
        Self::Unavailable {
            reason: first.chars().take(200).collect(),
        }
    }
}

impl From<KeystoreError> for ProtectorError {
    fn from(e: KeystoreError) -> Self {
        match e {
            KeystoreError::UserCancelled => ProtectorError::UserCancelled,
            KeystoreError::AuthFailed => ProtectorError::AuthFailed,
            KeystoreError::KeyInvalidated => ProtectorError::KeyInvalidated,
            KeystoreError::Unavailable { reason } => ProtectorError::Platform(reason),
        }
    }
}

impl From<ProtectorError> for KeystoreError {
    fn from(e: ProtectorError) -> Self {
        match e {
            ProtectorError::UserCancelled => KeystoreError::UserCancelled,
            ProtectorError::AuthFailed => KeystoreError::AuthFailed,
            ProtectorError::KeyInvalidated => KeystoreError::KeyInvalidated,
            ProtectorError::BadBlob => KeystoreError::Unavailable {
                reason: "wrapped key rejected".into(),
            },
            ProtectorError::Platform(reason) => KeystoreError::Unavailable { reason },
        }
    }
}
