//! Backup errors: precise inside, mapped once onto [`AuthenticatorError`].
//!
//! No message contains a password, a recovery code, a secret or an account
//! name.

use crate::error::AuthenticatorError;

/// What went wrong while writing or reading a backup.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BackupError {
    /// No key slot opened with the given password or recovery code.
    #[error("wrong backup password or recovery code")]
    WrongSecret,
    /// The file does not start with the backup magic.
    #[error("not a Countersign backup file")]
    BadMagic,
    /// Written by a newer version of the format.
    #[error("backup format version {found} is newer than supported version {supported}")]
    NewerVersion {
        /// Version in the file.
        found: u8,
        /// Newest this build reads.
        supported: u8,
    },
    /// The file ends early.
    #[error("the backup file is truncated")]
    Truncated,
    /// Header or payload structure is malformed (names the check).
    #[error("the backup file is malformed: {0}")]
    Malformed(&'static str),
    /// A slot opened but the payload did not authenticate.
    #[error("the backup file was altered or damaged")]
    Tampered,
    /// Input rejected before doing anything (empty password, …).
    #[error("{0}")]
    Invalid(&'static str),
    /// File system failure.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The file read back after writing is not the backup we wrote.
    #[error("the backup file could not be verified after writing: {0}")]
    Verify(String),
    /// Randomness or a primitive failed.
    #[error("crypto: {0}")]
    Crypto(&'static str),
}

impl From<BackupError> for AuthenticatorError {
    fn from(e: BackupError) -> Self {
        use AuthenticatorError as A;
        match e {
            BackupError::WrongSecret | BackupError::Invalid(_) => A::InvalidInput {
                reason: e.to_string(),
            },
            BackupError::BadMagic
            | BackupError::NewerVersion { .. }
            | BackupError::Truncated
            | BackupError::Malformed(_)
            | BackupError::Tampered => A::VaultUnreadable {
                reason: e.to_string(),
            },
            BackupError::Io(_) | BackupError::Verify(_) => A::Storage {
                reason: e.to_string(),
            },
            BackupError::Crypto(_) => A::Internal {
                reason: e.to_string(),
            },
        }
    }
}
