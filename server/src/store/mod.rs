//! Persistent state behind one trait boundary.
//!
//! [`Store`] is everything the HTTP layer needs from storage, phrased as
//! whole actions ("pair this device with this token if the account has room",
//! "answer this request if it is still pending") so that each is one
//! transaction and every check-then-write is atomic in the database, not in
//! the caller. Methods return boxed futures so the trait stays object-safe
//! and an asynchronous backend can implement it directly: issue 5 adds
//! PostgreSQL; today only [`SqliteStore`] exists (rusqlite on blocking
//! threads).
//!
//! Secrets are stored as SHA-256 digests only (pairing tokens, poll tokens,
//! session tokens); passwords as Argon2id PHC strings. "Expired" is never
//! written: a pending request whose `expires_at` has passed *is* expired
//! ([`RequestRecord::effective_state`]).

mod schema;
mod sqlite;

use std::future::Future;
use std::pin::Pin;

use countersign_core::approve::protocol::{RequestState, SignInContext};
use serde::Serialize;

use crate::accounts::SignInMethod;

pub use schema::SCHEMA_VERSION;
pub use sqlite::SqliteStore;

/// What a [`Store`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Storage failures (never contain stored secrets).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The SQLite library reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer server.
    #[error("database schema version {found} is newer than this server ({supported})")]
    TooNew {
        /// Version found in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// A stored value cannot be decoded.
    #[error("stored data is invalid: {0}")]
    Corrupt(&'static str),
    /// The blocking task running the query died.
    #[error("storage task failed")]
    Task,
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Random,
}

/// A user account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// Unique name.
    pub username: String,
    /// Argon2id PHC string (`None`: the account has no password).
    pub password_hash: Option<String>,
    /// How the user signs in.
    pub method: SignInMethod,
    /// Creation time.
    pub created_at: i64,
    /// New sign-in requests are refused until this time (after a report).
    pub paused_until: i64,
}

/// A paired device (phone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Random id (32 hex).
    pub id: String,
    /// Account it is paired with.
    pub account: String,
    /// Uncompressed SEC1 P-256 public key (65 bytes).
    pub public_key: Vec<u8>,
    /// Name shown to the user and admins.
    pub name: String,
    /// `ios`, `android`, `desktop`, …
    pub platform: String,
    /// APNs / FCM token, if any.
    pub push_token: Option<String>,
    /// Pairing time.
    pub created_at: i64,
    /// Revocation time (admin revoke or unpair from the app).
    pub revoked_at: Option<i64>,
}

/// How a pairing proves it may join an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PairCredential {
    /// A one-time invitation token (its SHA-256); consumed by the pairing.
    Token {
        /// SHA-256 of the token.
        hash: [u8; 32],
    },
    /// The password was already verified for this account.
    Password {
        /// The account.
        account: String,
    },
}

/// A device to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDevice {
    /// Random id.
    pub id: String,
    /// Uncompressed SEC1 P-256 public key.
    pub public_key: Vec<u8>,
    /// Device name.
    pub name: String,
    /// Platform.
    pub platform: String,
    /// Push token.
    pub push_token: Option<String>,
    /// Now.
    pub created_at: i64,
}

/// Result of [`Store::pair_device`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PairOutcome {
    /// Paired with this account.
    Paired {
        /// The account.
        account: String,
    },
    /// Token unknown, already used or expired (nothing changed).
    InvalidToken,
    /// The account does not exist.
    UnknownAccount,
    /// The account already has the maximum of active devices (nothing changed,
    /// the token stays usable).
    LimitReached,
}

/// A device's push destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushTarget {
    /// Device id.
    pub device_id: String,
    /// Platform (decides APNs or FCM).
    pub platform: String,
    /// Push token.
    pub push_token: String,
}

/// A sign-in request as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// Random id (32 hex).
    pub id: String,
    /// Account being signed in to.
    pub account: String,
    /// 32 random bytes the device signs over.
    pub nonce: Vec<u8>,
    /// The number shown on the login screen.
    pub number: u8,
    /// The numbers offered on the phone (stable across fetches).
    pub choices: Vec<u8>,
    /// What the phone shows (and signs the hash of).
    pub context: SignInContext,
    /// Stored state (`Pending`, `Approved`, `Denied` or `Reported`).
    pub state: RequestState,
    /// Device that answered.
    pub answered_by: Option<String>,
    /// When it was answered.
    pub answered_at: Option<i64>,
    /// SHA-256 of the poll token.
    pub poll_token_hash: [u8; 32],
    /// Whether the session token for this approval was already handed out.
    pub session_issued: bool,
}

impl RequestRecord {
    /// The state with expiry applied: pending past `expires_at` is expired.
    pub fn effective_state(&self, now: i64) -> RequestState {
        if self.state == RequestState::Pending && now >= self.context.expires_at {
            RequestState::Expired
        } else {
            self.state
        }
    }
}

/// A sign-in request to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRequest {
    /// Random id.
    pub id: String,
    /// Account.
    pub account: String,
    /// 32 random bytes.
    pub nonce: Vec<u8>,
    /// Number to match.
    pub number: u8,
    /// Choices offered (include `number`).
    pub choices: Vec<u8>,
    /// Context (its `created_at` is "now").
    pub context: SignInContext,
    /// SHA-256 of the poll token.
    pub poll_token_hash: [u8; 32],
}

/// Push-bombing limits checked atomically with the insert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartLimits {
    /// Requests allowed per window.
    pub max_in_window: u32,
    /// Window length, seconds.
    pub window_s: i64,
}

/// Result of [`Store::create_request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartOutcome {
    /// Stored.
    Created,
    /// The account is paused after a report until `until`.
    Paused {
        /// End of the pause.
        until: i64,
    },
    /// Another request for the account is still pending.
    PendingExists,
    /// Too many requests in the window; retry after this many seconds.
    RateLimited {
        /// Seconds until one more is allowed.
        retry_after_s: i64,
    },
    /// The account does not exist.
    UnknownAccount,
}

/// The single state change of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerUpdate {
    /// Request.
    pub request_id: String,
    /// Answering device.
    pub device_id: String,
    /// `Approved`, `Denied` or `Reported`.
    pub new_state: RequestState,
    /// Now.
    pub now: i64,
    /// Pause new requests for the account until then (reports).
    pub pause_until: Option<i64>,
    /// Event to record in the same transaction.
    pub event: Option<NewEvent>,
}

/// Result of [`Store::answer_request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnswerOutcome {
    /// The request moved from pending to the new state.
    Updated,
    /// It was already approved, denied or reported.
    AlreadyAnswered,
    /// It expired before the answer arrived.
    Expired,
    /// No such request.
    NotFound,
}

/// A session to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    /// SHA-256 of the session token.
    pub token_hash: [u8; 32],
    /// Account signed in.
    pub account: String,
    /// Now.
    pub created_at: i64,
    /// End of validity.
    pub expires_at: i64,
}

/// An admin-visible event to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// When.
    pub time: i64,
    /// What (`reported`, `device_paired`, …; see `docs/protocol.md`).
    pub kind: &'static str,
    /// Account concerned.
    pub account: Option<String>,
    /// Device concerned.
    pub device_id: Option<String>,
    /// Request concerned.
    pub request_id: Option<String>,
    /// Free text without secrets.
    pub detail: String,
}

/// A recorded event (`GET /v1/admin/events`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Increasing id.
    pub id: i64,
    /// When, Unix seconds.
    pub time: i64,
    /// What happened.
    pub kind: String,
    /// Account concerned.
    pub account: Option<String>,
    /// Device concerned.
    pub device_id: Option<String>,
    /// Request concerned.
    pub request_id: Option<String>,
    /// Details (no secrets).
    pub detail: String,
}

/// Storage for the server. Every method is one transaction.
///
/// Implementations must make [`Store::create_request`],
/// [`Store::pair_device`], [`Store::answer_request`] and
/// [`Store::issue_session`] atomic with respect to concurrent callers on any
/// number of server processes sharing the database.
pub trait Store: Send + Sync + 'static {
    /// This server's stable random id (made when the database is created).
    fn server_id(&self) -> StoreFuture<'_, String>;

    /// Adds a user; `false` if the name is taken. Records `user_created`.
    fn create_user(&self, user: UserRecord) -> StoreFuture<'_, bool>;

    /// Looks a user up.
    fn user(&self, username: String) -> StoreFuture<'_, Option<UserRecord>>;

    /// Stores a pairing invitation token digest; `false` if no such user.
    fn add_pair_token(
        &self,
        account: String,
        token_hash: [u8; 32],
        now: i64,
        expires_at: i64,
    ) -> StoreFuture<'_, bool>;

    /// Pairs a device: checks the credential (consuming a token), the device
    /// limit, inserts the device and records `device_paired`, atomically.
    fn pair_device(
        &self,
        credential: PairCredential,
        device: NewDevice,
        max_devices: u32,
        now: i64,
    ) -> StoreFuture<'_, PairOutcome>;

    /// Looks a device up (revoked ones included).
    fn device(&self, id: String) -> StoreFuture<'_, Option<DeviceRecord>>;

    /// Devices of an account (revoked ones included), oldest first.
    fn devices(&self, account: String) -> StoreFuture<'_, Vec<DeviceRecord>>;

    /// Revokes a device and records `kind`; `false` if unknown. Revoking a
    /// revoked device changes nothing and returns `true`.
    fn revoke_device(&self, id: String, now: i64, kind: &'static str) -> StoreFuture<'_, bool>;

    /// Sets or clears a device's push token.
    fn set_push_token(&self, id: String, push_token: Option<String>) -> StoreFuture<'_, ()>;

    /// Push destinations of an account's active devices.
    fn push_targets(&self, account: String) -> StoreFuture<'_, Vec<PushTarget>>;

    /// Creates a request unless the account is paused, has a pending
    /// request, or exceeded the window limit (checked in that order).
    fn create_request(
        &self,
        request: NewRequest,
        limits: StartLimits,
    ) -> StoreFuture<'_, StartOutcome>;

    /// Looks a request up.
    fn request(&self, id: String) -> StoreFuture<'_, Option<RequestRecord>>;

    /// Pending, unexpired requests of an account, oldest first.
    fn pending_requests(&self, account: String, now: i64) -> StoreFuture<'_, Vec<RequestRecord>>;

    /// The one atomic state change of an answer (see [`AnswerOutcome`]).
    fn answer_request(&self, update: AnswerUpdate) -> StoreFuture<'_, AnswerOutcome>;

    /// Marks the approved request's session as issued and stores it; `false`
    /// if not approved or already issued.
    fn issue_session(&self, request_id: String, session: NewSession) -> StoreFuture<'_, bool>;

    /// Stores a session (password-only sign-in).
    fn create_session(&self, session: NewSession) -> StoreFuture<'_, ()>;

    /// The account of a valid, unexpired session.
    fn session_account(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, Option<String>>;

    /// Records an event.
    fn add_event(&self, event: NewEvent) -> StoreFuture<'_, ()>;

    /// The most recent `limit` events, oldest first.
    fn events(&self, limit: u32) -> StoreFuture<'_, Vec<Event>>;
}
