//! Records for the account-security side of the store: 2-step verification
//! settings, TOTP secrets, backup email tokens, failed sign-ins and IP
//! blocks, browser sessions and login flows.
//!
//! Kept apart from the Approve records in `mod.rs` because they change for
//! different reasons (portal policy versus the phone protocol). Secrets that
//! must be kept readable (the TOTP seed: the server recomputes codes) are
//! wrapped in [`OtpSecret`], which zeroizes on drop and never prints;
//! everything a user types once (email codes, tokens) is stored as a
//! SHA-256 digest only.

use serde::Serialize;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The second step a user with 2-step verification is offered first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondStep {
    /// Approve on a paired phone.
    Approve,
    /// A 6-digit code from an authenticator app (TOTP).
    Otp,
}

impl SecondStep {
    /// Storage / form name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Otp => "otp",
        }
    }

    /// Parses a storage / form name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approve" => Some(Self::Approve),
            "otp" => Some(Self::Otp),
            _ => None,
        }
    }
}

/// A TOTP seed: zeroized on drop, redacted in `Debug`, compared in constant
/// time.
#[derive(Clone)]
pub struct OtpSecret(Zeroizing<Vec<u8>>);

impl OtpSecret {
    /// Wraps seed bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The seed bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for OtpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpSecret(<redacted>)")
    }
}

impl PartialEq for OtpSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_slice().ct_eq(other.0.as_slice()).into()
    }
}

impl Eq for OtpSecret {}

/// What a session may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionScope {
    /// Everything the account may do.
    Full,
    /// Only set up 2-step verification (enforced but not set up yet).
    Setup,
}

impl SessionScope {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Setup => "setup",
        }
    }

    /// Parses a storage name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "full" => Some(Self::Full),
            "setup" => Some(Self::Setup),
            _ => None,
        }
    }
}

/// A valid session as looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// Account signed in.
    pub account: String,
    /// What it may do.
    pub scope: SessionScope,
    /// End of validity.
    pub expires_at: i64,
    /// When the full sign-in was last checked for it (0: never; see
    /// [`super::NewSession::verified_at`]).
    pub verified_at: i64,
}

/// A user as the admin list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserListing {
    /// The account.
    pub user: super::UserRecord,
    /// Paired devices not revoked.
    pub active_devices: u32,
}

/// Changes to a user's administrative flags (`None`: unchanged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserFlags {
    /// May use the admin pages.
    pub is_admin: Option<bool>,
    /// Must use 2-step verification.
    pub enforce_2sv: Option<bool>,
    /// Group names (replaces the list).
    pub groups: Option<Vec<String>>,
}

/// What kind of mailed secret a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailTokenKind {
    /// Link that verifies a backup address.
    Verify,
    /// One-time emergency sign-in code.
    Code,
}

impl EmailTokenKind {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Code => "code",
        }
    }
}

/// A mailed secret to store (digest only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEmailToken {
    /// SHA-256 of the token or code.
    pub token_hash: [u8; 32],
    /// The address it was sent to.
    pub email: String,
    /// Now.
    pub created_at: i64,
    /// End of validity.
    pub expires_at: i64,
}

/// Result of [`super::Store::create_email_code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailCodeOutcome {
    /// Stored; send it.
    Created,
    /// The account has no verified backup email.
    NoVerifiedEmail,
}

/// When an address is blocked after failed sign-ins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpBlockPolicy {
    /// Failures within the window that block the address.
    pub max_failures: u32,
    /// The window, seconds.
    pub window_s: i64,
    /// How long the block lasts, seconds (`None`: until an admin unblocks).
    pub block_s: Option<i64>,
}

/// A blocked address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IpBlock {
    /// The address (canonical text form).
    pub ip: String,
    /// When it was blocked.
    pub blocked_at: i64,
    /// When the block ends (`None`: until unblocked).
    pub until: Option<i64>,
    /// Failures counted when it was blocked.
    pub failures: u32,
}

/// A browser sign-in between the first factor and the second step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginFlow {
    /// SHA-256 of the flow cookie.
    pub token_hash: [u8; 32],
    /// The account whose first factor passed.
    pub account: String,
    /// Start.
    pub created_at: i64,
    /// End of validity.
    pub expires_at: i64,
    /// The Approve request started for it, if any.
    pub request_id: Option<String>,
    /// For a re-authentication ("sudo mode"): the session (SHA-256 of its
    /// token) it re-verifies instead of starting a new one.
    pub reauth_of: Option<[u8; 32]>,
    /// Where a re-authentication returns to (a path of ours).
    pub next: Option<String>,
}

/// A sync space: one user's encrypted sync data, named by a value derived
/// from the sync key (the server never sees the key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncSpace {
    /// SHA-256 of the space's bearer token.
    pub auth_hash: [u8; 32],
    /// Creation time.
    pub created_at: i64,
    /// When a device deleted it (then it holds no entries).
    pub deleted_at: Option<i64>,
    /// Highest revision handed out.
    pub rev: i64,
    /// The account that made it (`None`: made before spaces had owners;
    /// the first authenticated writer claims it).
    pub owner: Option<String>,
    /// Bytes of ciphertext it holds.
    pub bytes: i64,
}

/// Per-account sync quotas, checked in the same transaction as the write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncQuota {
    /// Live (not deleted) spaces an account may own.
    pub spaces: u32,
    /// Entries in one space.
    pub entries: u32,
    /// Bytes of ciphertext over all of an account's spaces.
    pub bytes: i64,
}

/// Which sync quota a write would break.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaKind {
    /// Too many spaces.
    Spaces,
    /// Too many entries in the space.
    Entries,
    /// Too many bytes for the account.
    Bytes,
}

/// Result of [`super::Store::sync_create_space`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpaceOutcome {
    /// Made now.
    Created,
    /// Already there with the same token (idempotent).
    Exists,
    /// Already there with another token.
    Forbidden,
    /// It was deleted; a deleted space is never reused.
    Deleted,
    /// The account owns as many spaces as it may.
    QuotaExceeded,
}

/// One stored encrypted entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncBlob {
    /// Opaque entry id (derived by the client from the sync key).
    pub entry_id: String,
    /// Space-wide revision of its last write.
    pub rev: i64,
    /// Ciphertext.
    pub blob: Vec<u8>,
}

/// One conditional write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncPut {
    /// Opaque entry id.
    pub entry_id: String,
    /// The revision the client last saw for it (0: it believes it is new).
    pub base_rev: i64,
    /// Ciphertext.
    pub blob: Vec<u8>,
}

/// What happened to one [`SyncPut`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncPutResult {
    /// Written with this revision.
    Stored {
        /// New revision.
        rev: i64,
    },
    /// Someone wrote it since `base_rev`: here is the current version to
    /// merge before trying again.
    Conflict(SyncBlob),
}

/// Result of [`super::Store::sync_put_entries`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncPutOutcome {
    /// Per entry, in order.
    Done(Vec<SyncPutResult>),
    /// No such space, or deleted.
    Gone,
    /// The space belongs to another account.
    Forbidden,
    /// A quota would be exceeded (nothing written).
    QuotaExceeded(QuotaKind),
}
