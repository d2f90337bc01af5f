//! The library's public error: few, actionable cases, no secrets.
//!
//! Internal layers have their own rich errors ([`crate::store::StoreError`],
//! [`crate::push::PushError`], the HTTP `ApiError`); [`ServerError`] is what
//! [`crate::start`] and the [`crate::RunningServer`] helpers return. The HTTP
//! mapping of these cases lives in one place (`api/error.rs`). Messages name
//! files and reasons, never tokens, passwords or key material.

use std::path::PathBuf;

use crate::store::StoreError;

/// What can go wrong starting or driving the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A file or socket operation failed.
    #[error("{what} ({path}): {source}")]
    Io {
        /// What was being done ("create data directory", "bind").
        what: &'static str,
        /// File or address involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be made, read or used.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An argument was rejected; `reason` is safe to show.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// Human-readable reason.
        reason: String,
    },
    /// The password does not meet the policy (at least 8 characters).
    #[error("password too weak: {reason}")]
    WeakPassword {
        /// Which rule failed.
        reason: String,
    },
    /// A user with that name already exists.
    #[error("user already exists")]
    UserExists,
    /// No user with that name.
    #[error("no such user")]
    UnknownUser,
    /// Something that should not fail did (randomness, hashing, a task).
    #[error("internal error: {0}")]
    Internal(String),
    /// The SMTP server refused or could not be reached (no addresses or
    /// codes in the text).
    #[error("sending mail failed: {0}")]
    Mail(String),
}

impl ServerError {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            reason: reason.into(),
        }
    }

    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
