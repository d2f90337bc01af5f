//! Profiles: what the user sees as one account in the code list.
//!
//! [`NewProfile`] is what parsers and importers produce and what
//! [`crate::Vault::add`] takes; [`Profile`] is what the vault stores and
//! returns (with its id and bookkeeping fields). Both carry the seed in a
//! [`SecretBytes`], so they redact themselves in `Debug`.

use crate::otp::OtpParams;
use crate::secret::SecretBytes;
use serde::Serialize;

/// Longest issuer, account name, group or note we store, in bytes.
pub const MAX_TEXT_BYTES: usize = 512;

/// A profile about to be added (from a URI, an import or typed by the user).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewProfile {
    /// Service name ("GitHub"); may be empty.
    pub issuer: String,
    /// Account name ("alice@example.com"); may be empty.
    pub account: String,
    /// The shared seed.
    pub secret: SecretBytes,
    /// Generator parameters.
    pub params: OtpParams,
    /// Free-form note.
    pub note: String,
    /// Group (folder) name; empty means none.
    pub group: String,
    /// Pinned to the top of the list.
    pub favorite: bool,
}

impl NewProfile {
    /// A profile with the given identity and no note, group or favorite flag.
    pub fn new(issuer: &str, account: &str, secret: SecretBytes, params: OtpParams) -> Self {
        Self {
            issuer: issuer.to_owned(),
            account: account.to_owned(),
            secret,
            params,
            note: String::new(),
            group: String::new(),
            favorite: false,
        }
    }
}

/// A stored profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// Stable random id (32 hex characters).
    pub id: String,
    /// Service name.
    pub issuer: String,
    /// Account name.
    pub account: String,
    /// Generator parameters (for HOTP, `counter` is the next counter to use).
    pub params: OtpParams,
    /// Free-form note.
    pub note: String,
    /// Group name; empty means none.
    pub group: String,
    /// Pinned to the top of the list.
    pub favorite: bool,
    /// Position in the list (ascending).
    pub sort_order: i64,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Last change, Unix seconds.
    pub updated_at: i64,
    /// The seed; never serialized.
    #[serde(skip)]
    pub secret: SecretBytes,
}

impl Profile {
    /// "Issuer (account)", "Issuer", or "account": how lists name a profile.
    pub fn display_name(&self) -> String {
        match (self.issuer.is_empty(), self.account.is_empty()) {
            (false, false) => format!("{} ({})", self.issuer, self.account),
            (false, true) => self.issuer.clone(),
            (true, false) => self.account.clone(),
            (true, true) => String::from("(unnamed)"),
        }
    }
}
