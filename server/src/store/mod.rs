//! Persistent state behind one trait boundary.
//!
//! [`Store`] is everything the HTTP layer needs from storage, phrased as
//! whole actions ("pair this device with this token if the account has room",
//! "answer this request if it is still pending") so that each is one
//! transaction and every check-then-write is atomic in the database, not in
//! the caller. Methods return boxed futures so the trait stays object-safe
//! and an asynchronous backend can implement it directly: [`SqliteStore`]
//! (rusqlite on blocking threads, one host) and [`PgStore`] (tokio-postgres,
//! several nodes sharing one database).
//!
//! Secrets are stored as SHA-256 digests only (pairing tokens, poll tokens,
//! session tokens); passwords as Argon2id PHC strings. "Expired" is never
//! written: a pending request whose `expires_at` has passed *is* expired
//! ([`RequestRecord::effective_state`]).

mod pg_schema;
pub(crate) mod pg_wake;
mod postgres;
mod retention;
mod schema;
mod security;
mod sqlite;

use std::future::Future;
use std::pin::Pin;

use countersign_core::approve::protocol::{RequestState, SignInContext};
use serde::Serialize;

use crate::accounts::SignInMethod;

pub use pg_schema::PG_SCHEMA_VERSION;
pub use postgres::PgStore;
pub use retention::{PruneBefore, Pruned, Retention};
pub use schema::SCHEMA_VERSION;
pub use security::{
    EmailCodeOutcome, EmailTokenKind, IpBlock, IpBlockPolicy, LoginFlow, NewEmailToken, OtpSecret,
    QuotaKind, SecondStep, SessionRecord, SessionScope, SpaceOutcome, SyncBlob, SyncPut,
    SyncPutOutcome, SyncPutResult, SyncQuota, SyncSpace, UserFlags, UserListing,
};
pub use sqlite::SqliteStore;

/// A session's last use is written at most this often (seconds).
pub(crate) const SESSION_TOUCH_S: i64 = 60;

/// The `kind` column of a request for an action.
pub(crate) fn kind_of_action(action: countersign_core::approve::protocol::Action) -> &'static str {
    match action {
        countersign_core::approve::protocol::Action::SignIn => "sign_in",
        countersign_core::approve::protocol::Action::PairDevice => "pair",
    }
}

/// The action of a request's `kind` column.
pub(crate) fn action_of_kind(kind: &str) -> Option<countersign_core::approve::protocol::Action> {
    match kind {
        "sign_in" => Some(countersign_core::approve::protocol::Action::SignIn),
        "pair" => Some(countersign_core::approve::protocol::Action::PairDevice),
        _ => None,
    }
}

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
    /// PostgreSQL reported an error (message and SQLSTATE only: never row
    /// values or the connection URL).
    #[error("database error: {}", pg_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool.
    #[error("database connection pool: {}", pool_message(.0))]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The PostgreSQL connection pool could not be built.
    #[error("cannot set up the database connection pool")]
    PoolSetup,
}

/// A PostgreSQL error without its `DETAIL` (which may quote row values).
fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

fn pool_message(e: &deadpool_postgres::PoolError) -> String {
    match e {
        deadpool_postgres::PoolError::Backend(pg) => pg_message(pg),
        other => other.to_string(),
    }
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
    /// With 2-step verification, the step offered first.
    pub second_step: SecondStep,
    /// May use the admin pages.
    pub is_admin: bool,
    /// Group names (for enforcement policies).
    pub groups: Vec<String>,
    /// 2-step verification is enforced for this user individually.
    pub enforce_2sv: bool,
    /// Confirmed TOTP seed.
    pub otp_secret: Option<OtpSecret>,
    /// TOTP seed being enrolled (not yet confirmed with a code).
    pub otp_pending: Option<OtpSecret>,
    /// Highest TOTP time step accepted so far (replay guard).
    pub otp_last_step: i64,
    /// Backup email address.
    pub email: Option<String>,
    /// Whether the backup address was verified.
    pub email_verified: bool,
}

impl UserRecord {
    /// A new user with no second factor, no groups, not an admin.
    pub fn new(
        username: String,
        password_hash: Option<String>,
        method: SignInMethod,
        created_at: i64,
    ) -> Self {
        Self {
            username,
            password_hash,
            method,
            created_at,
            paused_until: 0,
            second_step: SecondStep::Approve,
            is_admin: false,
            groups: Vec::new(),
            enforce_2sv: false,
            otp_secret: None,
            otp_pending: None,
            otp_last_step: 0,
            email: None,
            email_verified: false,
        }
    }
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
    /// How it was paired: `invitation` (QR from a verified session or an
    /// admin), `approval` (password, approved on another phone), `otp`
    /// (password and an authenticator code) or `password` (password alone:
    /// the account had no second step yet).
    pub paired_via: String,
}

/// How a pairing proves it may join an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PairCredential {
    /// A one-time invitation token (its SHA-256); consumed by the pairing.
    Token {
        /// SHA-256 of the token.
        hash: [u8; 32],
    },
    /// The password (and, if the account has one, the second step other
    /// than approval) was already verified for this account. `via` is what
    /// was checked (`otp` or `password`), recorded with the device.
    Password {
        /// The account.
        account: String,
        /// What was checked besides the password.
        via: &'static str,
    },
    /// A pairing request approved on one of the account's phones; consumed
    /// by the pairing (the device waiting in it is the one added).
    Approval {
        /// The `kind = pair` request.
        request_id: String,
    },
}

/// A device to add (kept as JSON in a pairing request while it waits for
/// approval).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
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
    /// The approval was not given, or was already used.
    NotApproved,
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
    /// The number shown on the login screen (typed on the phone).
    pub number: u8,
    /// What the phone shows (and signs the hash of); `context.action` says
    /// whether it is a sign-in or the pairing of a new device.
    pub context: SignInContext,
    /// Stored state (`Pending`, `Approved`, `Denied` or `Reported`).
    pub state: RequestState,
    /// Wrong numbers typed on a phone so far.
    pub wrong_numbers: u32,
    /// For a pairing request: the device to add once approved.
    pub new_device: Option<NewDevice>,
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
    /// Context (its `created_at` is "now").
    pub context: SignInContext,
    /// SHA-256 of the poll token.
    pub poll_token_hash: [u8; 32],
    /// The browser login flow that started it (its earlier pending request
    /// is replaced), if any.
    pub flow_hash: Option<[u8; 32]>,
    /// For a pairing request: the device to add once approved.
    pub new_device: Option<NewDevice>,
}

/// Result of [`Store::create_request`]. (The push-bombing limits are
/// attempt budgets reserved before, see `twostep::guard`.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartOutcome {
    /// Stored (and the flow's earlier pending request, if any, expired).
    Created,
    /// The account is paused after a report until `until`.
    Paused {
        /// End of the pause.
        until: i64,
    },
    /// The account does not exist.
    UnknownAccount,
}

/// What an answer does to a pending request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnswerChange {
    /// Approved with the right number.
    Approve,
    /// Denied.
    Deny,
    /// Reported: denied, and the account paused until `pause_until`.
    Report {
        /// End of the pause.
        pause_until: i64,
    },
    /// Approve with a wrong number: counted; the `max`-th wrong number
    /// denies the request.
    WrongNumber {
        /// Wrong numbers that deny the request.
        max: u32,
    },
}

/// The single state change of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerUpdate {
    /// Request.
    pub request_id: String,
    /// Answering device.
    pub device_id: String,
    /// What to do.
    pub change: AnswerChange,
    /// Now.
    pub now: i64,
    /// Event to record in the same transaction.
    pub event: Option<NewEvent>,
}

/// Result of [`Store::answer_request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnswerOutcome {
    /// The request left pending for `state`.
    Updated {
        /// `Approved`, `Denied` or `Reported`.
        state: RequestState,
    },
    /// A wrong number was counted; the request stays pending with this many
    /// tries left.
    WrongNumber {
        /// Tries left (≥ 1).
        tries_left: u32,
    },
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
    /// What it may do.
    pub scope: SessionScope,
    /// When the account's full sign-in (password and second step) was
    /// last checked for it: now for a full sign-in, 0 when it was not
    /// (setup sessions, emergency-code sign-ins). Recent re-authentication
    /// ("sudo mode") looks at it.
    pub verified_at: i64,
}

/// A notice for an account's phones (not a request: shown, not answered).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNotice {
    /// Account.
    pub account: String,
    /// When.
    pub time: i64,
    /// What (`device_paired`, `email_changed`, `two_step_changed`, …).
    pub kind: &'static str,
    /// The sentence the phone shows.
    pub text: String,
    /// The device it is about (not told about itself).
    pub device_id: Option<String>,
}

/// A stored notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeRecord {
    /// Increasing id.
    pub id: i64,
    /// When.
    pub time: i64,
    /// What.
    pub kind: String,
    /// The sentence.
    pub text: String,
}

/// A hashed admin API token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminTokenRecord {
    /// Its name (who or what uses it).
    pub name: String,
    /// Made at.
    pub created_at: i64,
    /// Last used at.
    pub last_used_at: Option<i64>,
    /// Revoked at.
    pub revoked_at: Option<i64>,
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

/// The attempt key of an address: every password and code guess from it is
/// reserved under it, and the IP auto-block counts them. (Typed numbers are
/// counted on their request: three wrong ones deny it.)
pub(crate) fn ip_failure_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// One limit an attempt is charged to: at most `limit` attempts under
/// `key` within the last `window_s` seconds. Which budgets an attempt is
/// charged to is policy (`twostep::guard`); the store only counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// What is counted (`pw:alice`, `ip:192.0.2.7`, …).
    pub key: String,
    /// Attempts allowed in the window.
    pub limit: u32,
    /// The window, seconds.
    pub window_s: i64,
}

impl Budget {
    /// The verdict on this budget (number `index` of its list) given the
    /// attempts counted under its key within the window (`count`, the
    /// oldest at `oldest`): `Some(Refused)` when it is spent. Both stores
    /// call this inside their reservation transaction, so the rule is
    /// written once.
    pub(crate) fn refusal(
        &self,
        index: usize,
        count: i64,
        oldest: Option<i64>,
        now: i64,
    ) -> Option<Reservation> {
        (count >= i64::from(self.limit)).then(|| Reservation::Refused {
            index,
            retry_after_s: oldest
                .map_or(self.window_s, |t| t + self.window_s - now)
                .max(1),
        })
    }

    /// The distinct keys of `budgets`, sorted (one attempt row per key; the
    /// order is the lock order on PostgreSQL).
    pub(crate) fn distinct_keys(budgets: &[Budget]) -> Vec<&str> {
        let mut keys: Vec<&str> = budgets.iter().map(|b| b.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

/// Result of [`Store::reserve_attempts`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// One attempt was recorded under every budget's key (ids of the
    /// records, for [`Store::release_attempts`]).
    Granted(Vec<i64>),
    /// Budget `index` is spent: nothing was recorded. One more attempt is
    /// allowed in `retry_after_s` seconds.
    Refused {
        /// Which budget (index into the list given).
        index: usize,
        /// Seconds until the oldest counted attempt leaves the window (≥ 1).
        retry_after_s: i64,
    },
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

    /// Looks a user up by its stored name.
    fn user(&self, username: String) -> StoreFuture<'_, Option<UserRecord>>;

    /// Looks a user up by what someone typed, normalised
    /// ([`crate::accounts::name_key`]): "Alice" and "ALICE" are one account.
    fn find_user(&self, name_key: String) -> StoreFuture<'_, Option<UserRecord>>;

    /// Stores a pairing invitation token digest; `false` if no such user.
    fn add_pair_token(
        &self,
        account: String,
        token_hash: [u8; 32],
        now: i64,
        expires_at: i64,
    ) -> StoreFuture<'_, bool>;

    /// Pairs a device: checks the credential (consuming a token or an
    /// approval), the device limit, inserts the device and records
    /// `device_paired`, atomically.
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

    /// Removes device `id`'s push token if it is still `push_token` (the
    /// push service called it dead); returns whether it did.
    fn clear_push_token(&self, id: String, push_token: String) -> StoreFuture<'_, bool>;

    /// Push destinations of an account's active devices.
    fn push_targets(&self, account: String) -> StoreFuture<'_, Vec<PushTarget>>;

    /// Creates a request unless the account is paused; a pending request
    /// of the same login flow is expired in the same transaction (a new
    /// request from a flow replaces its old one).
    fn create_request(&self, request: NewRequest) -> StoreFuture<'_, StartOutcome>;

    /// Looks a request up.
    fn request(&self, id: String) -> StoreFuture<'_, Option<RequestRecord>>;

    /// Pending, unexpired requests of an account, oldest first.
    fn pending_requests(&self, account: String, now: i64) -> StoreFuture<'_, Vec<RequestRecord>>;

    /// The one atomic state change of an answer (see [`AnswerOutcome`]).
    fn answer_request(&self, update: AnswerUpdate) -> StoreFuture<'_, AnswerOutcome>;

    /// Marks the approved sign-in request's session as issued and stores it;
    /// `false` if not approved, already issued, or not a sign-in (a pairing
    /// approval never becomes a session).
    fn issue_session(&self, request_id: String, session: NewSession) -> StoreFuture<'_, bool>;

    /// Stores a session (password-only sign-in, OTP, email code, setup).
    fn create_session(&self, session: NewSession) -> StoreFuture<'_, ()>;

    /// A valid session: not expired and used within the last `idle_s`
    /// seconds. Using it counts as activity (recorded at most once a
    /// minute).
    fn session(
        &self,
        token_hash: [u8; 32],
        now: i64,
        idle_s: i64,
    ) -> StoreFuture<'_, Option<SessionRecord>>;

    /// Records that the session's full sign-in was checked again now
    /// (re-authentication); `false` if no such session.
    fn mark_session_verified(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, bool>;

    // --- known browsers (device cookies) ---

    /// Records that the browser with this id (its SHA-256) completed a full
    /// sign-in to `account` (first time: remembered; later: seen again).
    fn remember_browser(
        &self,
        id_hash: [u8; 32],
        account: String,
        now: i64,
        label: String,
    ) -> StoreFuture<'_, ()>;

    /// Whether that browser is known (and not revoked) for `account`.
    fn browser_known(&self, id_hash: [u8; 32], account: String) -> StoreFuture<'_, bool>;

    // --- notices for phones ---

    /// Stores a notice; returns its id.
    fn add_notice(&self, notice: NewNotice) -> StoreFuture<'_, i64>;

    /// Notices of `account` with an id above `after`, made at or after
    /// `since` (the device's pairing time), not about `device_id`; oldest
    /// first, at most `limit`.
    fn notices(
        &self,
        account: String,
        after: i64,
        since: i64,
        device_id: String,
        limit: u32,
    ) -> StoreFuture<'_, Vec<NoticeRecord>>;

    // --- admin API tokens ---

    /// Stores a new admin token's digest under `name`; `false` if the name
    /// is taken (revoked names stay taken).
    fn add_admin_token(
        &self,
        name: String,
        token_hash: [u8; 32],
        now: i64,
    ) -> StoreFuture<'_, bool>;

    /// The name of the unrevoked admin token with this digest (recording
    /// its use).
    fn admin_token(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, Option<String>>;

    /// Revokes the admin token `name`; `false` if unknown or already revoked.
    fn revoke_admin_token(&self, name: String, now: i64) -> StoreFuture<'_, bool>;

    /// Every admin token (revoked ones too), by name.
    fn admin_tokens(&self) -> StoreFuture<'_, Vec<AdminTokenRecord>>;

    /// Ends one session (sign out).
    fn delete_session(&self, token_hash: [u8; 32]) -> StoreFuture<'_, ()>;

    /// Ends every session of an account (sign out everywhere); how many.
    fn delete_sessions(&self, account: String) -> StoreFuture<'_, u32>;

    // --- accounts and policy ---

    /// Every user with its number of active devices, by name.
    fn users(&self) -> StoreFuture<'_, Vec<UserListing>>;

    /// Sets how a user signs in, ends all their sessions and records
    /// `two_step_changed` with `detail`, in one transaction; `false` if no
    /// such user.
    fn set_sign_in(
        &self,
        account: String,
        method: SignInMethod,
        second_step: SecondStep,
        now: i64,
        detail: String,
    ) -> StoreFuture<'_, bool>;

    /// Changes administrative flags; `false` if no such user.
    fn set_user_flags(&self, account: String, flags: UserFlags) -> StoreFuture<'_, bool>;

    /// Groups whose members must use 2-step verification, by name.
    fn enforced_groups(&self) -> StoreFuture<'_, Vec<String>>;

    /// Adds or removes a group from [`Store::enforced_groups`].
    fn set_group_enforced(&self, group: String, enforced: bool) -> StoreFuture<'_, ()>;

    /// Revokes every active device of an account (records `device_revoked`
    /// for each); how many.
    fn revoke_all_devices(&self, account: String, now: i64) -> StoreFuture<'_, u32>;

    // --- TOTP ---

    /// Sets or clears the TOTP seed being enrolled; `false` if no such user.
    fn set_otp_pending(&self, account: String, secret: Option<OtpSecret>) -> StoreFuture<'_, bool>;

    /// Makes the pending seed the confirmed one and marks `step` used;
    /// `false` if nothing was pending.
    fn confirm_otp(&self, account: String, step: i64) -> StoreFuture<'_, bool>;

    /// Removes the confirmed and pending seeds; `false` if no such user.
    fn remove_otp(&self, account: String) -> StoreFuture<'_, bool>;

    /// Marks TOTP `step` used if it is newer than every step used before
    /// (atomic across nodes: the replay guard); `false` otherwise.
    fn use_otp_step(&self, account: String, step: i64) -> StoreFuture<'_, bool>;

    // --- backup email ---

    /// Sets (unverified) or clears the backup address; with `verify`, stores
    /// that verification token, replacing older ones. `false` if no user.
    fn set_backup_email(
        &self,
        account: String,
        email: Option<String>,
        verify: Option<NewEmailToken>,
    ) -> StoreFuture<'_, bool>;

    /// Consumes a verification token: marks the address it was sent to as
    /// verified if it is still the account's address. Returns the account.
    fn verify_email(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, Option<String>>;

    /// Stores an emergency code for an account whose verified address is
    /// `code.email` (the send limit is an attempt budget reserved before).
    fn create_email_code(
        &self,
        account: String,
        code: NewEmailToken,
    ) -> StoreFuture<'_, EmailCodeOutcome>;

    /// Consumes an unexpired, unused emergency code of the account.
    fn use_email_code(
        &self,
        account: String,
        code_hash: [u8; 32],
        now: i64,
    ) -> StoreFuture<'_, bool>;

    // --- attempts (guesses, sends) and IP blocks ---

    /// Reserves one attempt under every budget, atomically with respect to
    /// every other caller on any node: either each budget had room and one
    /// attempt is now recorded under each key (a key shared by several
    /// budgets is recorded once), or nothing is recorded and the first
    /// spent budget is named. A caller reserves *before* it checks a guess,
    /// so a burst of N concurrent guesses checks at most the limit.
    fn reserve_attempts(&self, budgets: Vec<Budget>, now: i64) -> StoreFuture<'_, Reservation>;

    /// Removes reserved attempts (the guess was right, so it is not a
    /// failure). Unknown ids are ignored.
    fn release_attempts(&self, ids: Vec<i64>) -> StoreFuture<'_, ()>;

    /// Blocks `ip` (recording `ip_blocked`) if the attempts under its key
    /// within the policy's window reached the policy's count; returns
    /// whether the address is blocked now.
    fn block_ip_if_due(&self, ip: String, now: i64, policy: IpBlockPolicy)
        -> StoreFuture<'_, bool>;

    /// The block on `ip`, if one is in force.
    fn ip_block(&self, ip: String, now: i64) -> StoreFuture<'_, Option<IpBlock>>;

    /// Blocks in force, newest first.
    fn ip_blocks(&self, now: i64) -> StoreFuture<'_, Vec<IpBlock>>;

    /// Lifts a block and forgets the address's attempts; `false` if it was
    /// not blocked.
    fn unblock_ip(&self, ip: String) -> StoreFuture<'_, bool>;

    // --- housekeeping ---

    /// Removes records older than the cut-offs (see [`Retention`]), in one
    /// transaction.
    fn prune(&self, before: PruneBefore) -> StoreFuture<'_, Pruned>;

    // --- browser login flows ---

    /// Stores a login flow (first factor passed).
    fn create_flow(&self, flow: LoginFlow) -> StoreFuture<'_, ()>;

    /// An unexpired login flow.
    fn flow(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, Option<LoginFlow>>;

    /// Records the Approve request started for a flow.
    fn set_flow_request(&self, token_hash: [u8; 32], request_id: String) -> StoreFuture<'_, ()>;

    /// Ends a flow.
    fn delete_flow(&self, token_hash: [u8; 32]) -> StoreFuture<'_, ()>;

    /// Ends an unexpired flow and returns it, atomically: of two requests
    /// finishing one flow at once, one gets it (and signs in), the other
    /// `None`.
    fn consume_flow(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, Option<LoginFlow>>;

    // --- sync: opaque encrypted blobs per space ---

    /// Creates a sync space owned by `owner`, unless the owner has
    /// `quota.spaces` live spaces (see [`SpaceOutcome`]).
    fn sync_create_space(
        &self,
        space_id: String,
        auth_hash: [u8; 32],
        owner: String,
        quota: SyncQuota,
        now: i64,
    ) -> StoreFuture<'_, SpaceOutcome>;

    /// Looks a space up (deleted ones included).
    fn sync_space(&self, space_id: String) -> StoreFuture<'_, Option<SyncSpace>>;

    /// Entries written after revision `since`, by revision, at most `limit`.
    fn sync_entries_since(
        &self,
        space_id: String,
        since: i64,
        limit: u32,
    ) -> StoreFuture<'_, Vec<SyncBlob>>;

    /// Conditional writes in one transaction by `owner`'s device: each
    /// entry is written only if its stored revision still equals its
    /// `base_rev` (0: absent), getting the space's next revision; otherwise
    /// its current version is returned. A space without an owner is
    /// claimed; another account's space is refused; the entry and byte
    /// quotas are checked with the owner's spaces locked.
    fn sync_put_entries(
        &self,
        space_id: String,
        owner: String,
        puts: Vec<SyncPut>,
        quota: SyncQuota,
        now: i64,
    ) -> StoreFuture<'_, SyncPutOutcome>;

    /// Deletes a space's entries and marks it deleted (kept as a tombstone
    /// so other devices learn it); `false` if unknown or already deleted.
    fn sync_delete_space(&self, space_id: String, now: i64) -> StoreFuture<'_, bool>;

    /// Records an event.
    fn add_event(&self, event: NewEvent) -> StoreFuture<'_, ()>;

    /// The most recent `limit` events, oldest first.
    fn events(&self, limit: u32) -> StoreFuture<'_, Vec<Event>>;
}
