//! Sync errors: precise inside the engine, mapped once onto
//! [`AuthenticatorError`].
//!
//! Every error means "nothing changed": local operations validate before they
//! touch the replica, and decoding never yields a partial entry. No message
//! contains a payload, a secret or an account name.

use crate::error::AuthenticatorError;

/// What a sync operation or a decode rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// No entry with that id is known to this replica (never added here or
    /// received, or its tombstone was purged).
    #[error("no sync entry with that id")]
    NotFound,
    /// The entry is deleted (a tombstone); restore it first.
    #[error("the sync entry is deleted")]
    Deleted,
    /// `add` with an id this replica already holds (live or deleted).
    #[error("a sync entry with that id already exists")]
    AlreadyExists,
    /// `restore` of an entry that is not deleted.
    #[error("the sync entry is not deleted")]
    NotDeleted,
    /// An argument is out of range (empty or too long id, payload too large).
    #[error("invalid sync input: {0}")]
    InvalidInput(&'static str),
    /// The encoded entry has a format version this build does not read.
    #[error("sync entry format version {found} is not supported (this build reads {supported})")]
    UnsupportedVersion {
        /// Version byte found.
        found: u8,
        /// Version this build reads.
        supported: u8,
    },
    /// The encoded entry is damaged or inconsistent (names the check).
    #[error("malformed sync entry: {0}")]
    Malformed(&'static str),
    /// The logical clock reached its maximum; no further writes possible.
    #[error("the sync clock is exhausted")]
    ClockExhausted,
}

impl From<SyncError> for AuthenticatorError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::NotFound | SyncError::Deleted => AuthenticatorError::NotFound,
            SyncError::ClockExhausted => AuthenticatorError::Internal {
                reason: e.to_string(),
            },
            SyncError::AlreadyExists
            | SyncError::NotDeleted
            | SyncError::InvalidInput(_)
            | SyncError::UnsupportedVersion { .. }
            | SyncError::Malformed(_) => AuthenticatorError::InvalidInput {
                reason: e.to_string(),
            },
        }
    }
}
