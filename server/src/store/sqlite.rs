//! [`SqliteStore`]: the [`Store`] on one SQLite file.
//!
//! One connection behind a mutex, used from tokio's blocking threads, so
//! writes are serialised in-process; every action that checks and then
//! writes runs in a `BEGIN IMMEDIATE` transaction so it is also atomic
//! against another process on the same file. The file uses WAL with
//! `synchronous=FULL`: an acknowledged answer or pairing survives a power
//! cut.

use std::path::Path;
use std::sync::{Arc, Mutex};

use countersign_core::approve::protocol::{RequestState, SignInContext};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::schema::migrate;
use super::{
    AdminTokenRecord, AnswerChange, AnswerOutcome, AnswerUpdate, DeviceRecord, EmailCodeOutcome,
    EmailTokenKind, Event, IpBlock, IpBlockPolicy, LoginFlow, NewDevice, NewEmailToken, NewEvent,
    NewNotice, NewRequest, NewSession, NoticeRecord, OtpSecret, PairCredential, PairOutcome,
    PruneBefore, Pruned, PushTarget, QuotaKind, RequestRecord, SecondStep, SessionRecord,
    SessionScope, SpaceOutcome, StartOutcome, Store, StoreError, StoreFuture, SyncBlob, SyncPut,
    SyncPutOutcome, SyncPutResult, SyncQuota, SyncSpace, UserFlags, UserListing, UserRecord,
};
use super::{Budget, Reservation};
use crate::accounts::SignInMethod;
use crate::crypto::random_id;

/// The SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    server_id: String,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("server_id", &self.server_id)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `path`.
    /// Blocking: call from a blocking context.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::setup(Connection::open(path)?)
    }

    /// A private in-memory database (tests).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(mut conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // journal_mode answers with a row; in-memory databases answer "memory".
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        backfill_name_keys(&mut conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<String> = tx
            .query_row("SELECT value FROM meta WHERE key = 'server_id'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let server_id = match existing {
            Some(id) => id,
            None => {
                let id = random_id().map_err(|_| StoreError::Random)?;
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('server_id', ?1)",
                    params![id],
                )?;
                id
            }
        };
        tx.commit()?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            server_id,
        })
    }

    /// Runs `f` on the connection on a blocking thread.
    fn run<T, F>(&self, f: F) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                // A panic inside a closure cannot leave a transaction open
                // (rusqlite rolls back on drop), so a poisoned lock is usable.
                let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                f(&mut guard)
            })
            .await
            .map_err(|_| StoreError::Task)?
        })
    }
}

/// Gives users stored before names were normalised their `name_key`. Two
/// old names with one key keep the first (by name) and leave the other
/// without a key: it can then only be renamed by an administrator.
fn backfill_name_keys(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let names: Vec<String> = {
        let mut stmt =
            tx.prepare("SELECT username FROM users WHERE name_key IS NULL ORDER BY username")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    for name in names {
        let key = crate::accounts::name_key(&name);
        tx.execute(
            "UPDATE users SET name_key = ?1 WHERE username = ?2
             AND NOT EXISTS (SELECT 1 FROM users WHERE name_key = ?1)",
            params![key, name],
        )?;
    }
    tx.commit()?;
    Ok(())
}

fn bad_column(index: usize, what: &'static str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, what.into())
}

const USER_COLUMNS: &str = "username, password_hash, method, created_at, paused_until, \
     second_step, is_admin, groups, enforce_2sv, otp_secret, otp_pending, otp_last_step, \
     email, email_verified";

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    let method: String = r.get(2)?;
    let second: String = r.get(5)?;
    let groups: String = r.get(7)?;
    Ok(UserRecord {
        username: r.get(0)?,
        password_hash: r.get(1)?,
        method: SignInMethod::parse(&method)
            .ok_or_else(|| bad_column(2, "unknown sign-in method"))?,
        created_at: r.get(3)?,
        paused_until: r.get(4)?,
        second_step: SecondStep::parse(&second)
            .ok_or_else(|| bad_column(5, "unknown second step"))?,
        is_admin: r.get::<_, i64>(6)? != 0,
        groups: split_groups(&groups),
        enforce_2sv: r.get::<_, i64>(8)? != 0,
        otp_secret: r.get::<_, Option<Vec<u8>>>(9)?.map(OtpSecret::new),
        otp_pending: r.get::<_, Option<Vec<u8>>>(10)?.map(OtpSecret::new),
        otp_last_step: r.get(11)?,
        email: r.get(12)?,
        email_verified: r.get::<_, i64>(13)? != 0,
    })
}

/// Groups are stored as one comma-separated column (names never contain
/// commas: `accounts::check_group`).
fn split_groups(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
}

fn insert_session(conn: &Connection, session: &NewSession) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO sessions (token_hash, account, created_at, expires_at, scope, last_seen_at, verified_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?3, ?6)",
        params![
            &session.token_hash[..],
            session.account,
            session.created_at,
            session.expires_at,
            session.scope.as_str(),
            session.verified_at
        ],
    )?;
    Ok(())
}

fn digest_from(v: Vec<u8>, index: usize) -> rusqlite::Result<[u8; 32]> {
    v.as_slice()
        .try_into()
        .map_err(|_| bad_column(index, "digest length"))
}

const DEVICE_COLUMNS: &str =
    "id, account, public_key, name, platform, push_token, created_at, revoked_at, paired_via";

fn device_from_row(r: &Row<'_>) -> rusqlite::Result<DeviceRecord> {
    Ok(DeviceRecord {
        id: r.get(0)?,
        account: r.get(1)?,
        public_key: r.get(2)?,
        name: r.get(3)?,
        platform: r.get(4)?,
        push_token: r.get(5)?,
        created_at: r.get(6)?,
        revoked_at: r.get(7)?,
        paired_via: r.get(8)?,
    })
}

const REQUEST_COLUMNS: &str =
    "id, account, nonce, number, kind, service, client_ip, user_agent, location, \
     created_at, expires_at, state, answered_by, answered_at, poll_token_hash, session_issued, \
     wrong_numbers, new_device";

fn request_from_row(r: &Row<'_>) -> rusqlite::Result<RequestRecord> {
    let number: i64 = r.get(3)?;
    let kind: String = r.get(4)?;
    let state: String = r.get(11)?;
    let poll: Vec<u8> = r.get(14)?;
    let new_device: Option<String> = r.get(17)?;
    Ok(RequestRecord {
        id: r.get(0)?,
        account: r.get(1)?,
        nonce: r.get(2)?,
        number: u8::try_from(number).map_err(|_| bad_column(3, "number out of range"))?,
        wrong_numbers: u32::try_from(r.get::<_, i64>(16)?).unwrap_or(u32::MAX),
        new_device: new_device
            .map(|j| serde_json::from_str(&j).map_err(|_| bad_column(17, "pending device")))
            .transpose()?,
        context: SignInContext {
            action: super::action_of_kind(&kind).ok_or_else(|| bad_column(4, "unknown kind"))?,
            service: r.get(5)?,
            client_ip: r.get(6)?,
            user_agent: r.get(7)?,
            location: r.get(8)?,
            created_at: r.get(9)?,
            expires_at: r.get(10)?,
        },
        state: RequestState::parse(&state)
            .ok_or_else(|| bad_column(11, "unknown request state"))?,
        answered_by: r.get(12)?,
        answered_at: r.get(13)?,
        poll_token_hash: poll
            .as_slice()
            .try_into()
            .map_err(|_| bad_column(14, "poll token digest length"))?,
        session_issued: r.get::<_, i64>(15)? != 0,
    })
}

fn insert_email_token(
    conn: &Connection,
    account: &str,
    kind: EmailTokenKind,
    t: &NewEmailToken,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO email_tokens (token_hash, account, kind, email, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            &t.token_hash[..],
            account,
            kind.as_str(),
            t.email,
            t.created_at,
            t.expires_at
        ],
    )?;
    Ok(())
}

fn ip_block_from_row(r: &Row<'_>) -> rusqlite::Result<IpBlock> {
    Ok(IpBlock {
        ip: r.get(0)?,
        blocked_at: r.get(1)?,
        until: r.get(2)?,
        failures: u32::try_from(r.get::<_, i64>(3)?).unwrap_or(u32::MAX),
    })
}

fn flow_from_row(r: &Row<'_>) -> rusqlite::Result<LoginFlow> {
    Ok(LoginFlow {
        token_hash: digest_from(r.get(0)?, 0)?,
        account: r.get(1)?,
        created_at: r.get(2)?,
        expires_at: r.get(3)?,
        request_id: r.get(4)?,
        reauth_of: r
            .get::<_, Option<Vec<u8>>>(5)?
            .map(|v| digest_from(v, 5))
            .transpose()?,
        next: r.get(6)?,
    })
}

fn insert_event(conn: &Connection, e: &NewEvent) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO events (time, kind, account, device_id, request_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![e.time, e.kind, e.account, e.device_id, e.request_id, e.detail],
    )?;
    Ok(())
}

impl Store for SqliteStore {
    fn server_id(&self) -> StoreFuture<'_, String> {
        let id = self.server_id.clone();
        Box::pin(async move { Ok(id) })
    }

    fn create_user(&self, user: UserRecord) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "INSERT OR IGNORE INTO users (username, password_hash, method, created_at, paused_until,
                     second_step, is_admin, groups, enforce_2sv, email, email_verified, name_key)
                 VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    user.username,
                    user.password_hash,
                    user.method.as_str(),
                    user.created_at,
                    user.second_step.as_str(),
                    i64::from(user.is_admin),
                    user.groups.join(","),
                    i64::from(user.enforce_2sv),
                    user.email,
                    i64::from(user.email_verified),
                    crate::accounts::name_key(&user.username)
                ],
            )?;
            if n == 1 {
                insert_event(
                    &tx,
                    &NewEvent {
                        time: user.created_at,
                        kind: "user_created",
                        account: Some(user.username.clone()),
                        device_id: None,
                        request_id: None,
                        detail: format!("method={}", user.method.as_str()),
                    },
                )?;
            }
            tx.commit()?;
            Ok(n == 1)
        })
    }

    fn user(&self, username: String) -> StoreFuture<'_, Option<UserRecord>> {
        self.run(move |conn| {
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1");
            Ok(conn
                .query_row(&sql, params![username], user_from_row)
                .optional()?)
        })
    }

    fn find_user(&self, name_key: String) -> StoreFuture<'_, Option<UserRecord>> {
        self.run(move |conn| {
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name_key = ?1");
            Ok(conn
                .query_row(&sql, params![name_key], user_from_row)
                .optional()?)
        })
    }

    fn add_pair_token(
        &self,
        account: String,
        token_hash: [u8; 32],
        now: i64,
        expires_at: i64,
    ) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let exists = tx
                .query_row("SELECT 1 FROM users WHERE username = ?1", params![account], |_| Ok(()))
                .optional()?
                .is_some();
            if !exists {
                return Ok(false);
            }
            // Forget long-dead invitations while we are here.
            tx.execute("DELETE FROM pair_tokens WHERE expires_at < ?1", params![now - 86_400])?;
            tx.execute(
                "INSERT INTO pair_tokens (token_hash, account, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![&token_hash[..], account, now, expires_at],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn pair_device(
        &self,
        credential: PairCredential,
        device: NewDevice,
        max_devices: u32,
        now: i64,
    ) -> StoreFuture<'_, PairOutcome> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let account = match &credential {
                PairCredential::Token { hash } => {
                    let found: Option<String> = tx
                        .query_row(
                            "SELECT account FROM pair_tokens
                             WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
                            params![&hash[..], now],
                            |r| r.get(0),
                        )
                        .optional()?;
                    match found {
                        Some(a) => a,
                        None => return Ok(PairOutcome::InvalidToken),
                    }
                }
                PairCredential::Password { account, .. } => account.clone(),
                PairCredential::Approval { request_id } => {
                    let found: Option<String> = tx
                        .query_row(
                            "SELECT account FROM requests WHERE id = ?1 AND kind = 'pair'
                             AND state = 'approved' AND session_issued = 0",
                            params![request_id],
                            |r| r.get(0),
                        )
                        .optional()?;
                    match found {
                        Some(a) => a,
                        None => return Ok(PairOutcome::NotApproved),
                    }
                }
            };
            let exists = tx
                .query_row("SELECT 1 FROM users WHERE username = ?1", params![account], |_| Ok(()))
                .optional()?
                .is_some();
            if !exists {
                return Ok(PairOutcome::UnknownAccount);
            }
            let active: i64 = tx.query_row(
                "SELECT COUNT(*) FROM devices WHERE account = ?1 AND revoked_at IS NULL",
                params![account],
                |r| r.get(0),
            )?;
            if active >= i64::from(max_devices) {
                return Ok(PairOutcome::LimitReached);
            }
            let via = match &credential {
                PairCredential::Token { hash } => {
                    let n = tx.execute(
                        "UPDATE pair_tokens SET used_at = ?1, device_id = ?2 WHERE token_hash = ?3 AND used_at IS NULL",
                        params![now, device.id, &hash[..]],
                    )?;
                    if n != 1 {
                        return Ok(PairOutcome::InvalidToken);
                    }
                    "invitation"
                }
                PairCredential::Approval { request_id } => {
                    let n = tx.execute(
                        "UPDATE requests SET session_issued = 1 WHERE id = ?1 AND state = 'approved' AND session_issued = 0",
                        params![request_id],
                    )?;
                    if n != 1 {
                        return Ok(PairOutcome::NotApproved);
                    }
                    "approval"
                }
                PairCredential::Password { via, .. } => via,
            };
            tx.execute(
                "INSERT INTO devices (id, account, public_key, name, platform, push_token, created_at, revoked_at, paired_via)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8)",
                params![
                    device.id,
                    account,
                    device.public_key,
                    device.name,
                    device.platform,
                    device.push_token,
                    device.created_at,
                    via
                ],
            )?;
            insert_event(
                &tx,
                &NewEvent {
                    time: now,
                    kind: "device_paired",
                    account: Some(account.clone()),
                    device_id: Some(device.id.clone()),
                    request_id: None,
                    detail: format!("via={via} platform={}", device.platform),
                },
            )?;
            tx.commit()?;
            Ok(PairOutcome::Paired { account })
        })
    }

    fn device(&self, id: String) -> StoreFuture<'_, Option<DeviceRecord>> {
        self.run(move |conn| {
            let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?1");
            Ok(conn
                .query_row(&sql, params![id], device_from_row)
                .optional()?)
        })
    }

    fn devices(&self, account: String) -> StoreFuture<'_, Vec<DeviceRecord>> {
        self.run(move |conn| {
            let sql = format!(
                "SELECT {DEVICE_COLUMNS} FROM devices WHERE account = ?1 ORDER BY created_at, id"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(params![account], device_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn revoke_device(&self, id: String, now: i64, kind: &'static str) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found: Option<(String, Option<i64>)> = tx
                .query_row(
                    "SELECT account, revoked_at FROM devices WHERE id = ?1",
                    params![id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((account, revoked_at)) = found else {
                return Ok(false);
            };
            if revoked_at.is_none() {
                tx.execute(
                    "UPDATE devices SET revoked_at = ?1, push_token = NULL WHERE id = ?2",
                    params![now, id],
                )?;
                insert_event(
                    &tx,
                    &NewEvent {
                        time: now,
                        kind,
                        account: Some(account),
                        device_id: Some(id),
                        request_id: None,
                        detail: String::new(),
                    },
                )?;
            }
            tx.commit()?;
            Ok(true)
        })
    }

    fn set_push_token(&self, id: String, push_token: Option<String>) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            conn.execute(
                "UPDATE devices SET push_token = ?1 WHERE id = ?2",
                params![push_token, id],
            )?;
            Ok(())
        })
    }

    fn clear_push_token(&self, id: String, push_token: String) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE devices SET push_token = NULL WHERE id = ?1 AND push_token = ?2",
                params![id, push_token],
            )?;
            Ok(n == 1)
        })
    }

    fn push_targets(&self, account: String) -> StoreFuture<'_, Vec<PushTarget>> {
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT id, platform, push_token FROM devices
                 WHERE account = ?1 AND revoked_at IS NULL AND push_token IS NOT NULL AND push_token != ''
                 ORDER BY created_at, id",
            )?;
            let rows = stmt.query_map(params![account], |r| {
                Ok(PushTarget { device_id: r.get(0)?, platform: r.get(1)?, push_token: r.get(2)? })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn create_request(&self, request: NewRequest) -> StoreFuture<'_, StartOutcome> {
        self.run(move |conn| {
            let now = request.context.created_at;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let paused_until: Option<i64> = tx
                .query_row("SELECT paused_until FROM users WHERE username = ?1", params![request.account], |r| {
                    r.get(0)
                })
                .optional()?;
            let Some(paused_until) = paused_until else {
                return Ok(StartOutcome::UnknownAccount);
            };
            if paused_until > now {
                return Ok(StartOutcome::Paused { until: paused_until });
            }
            if let Some(flow) = &request.flow_hash {
                tx.execute(
                    "UPDATE requests SET expires_at = ?1
                     WHERE flow_hash = ?2 AND state = 'pending' AND expires_at > ?1",
                    params![now, &flow[..]],
                )?;
            }
            let new_device = request
                .new_device
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|_| StoreError::Corrupt("pending device"))?;
            let c = &request.context;
            tx.execute(
                "INSERT INTO requests (id, account, nonce, number, choices, service, client_ip, user_agent, location,
                                       created_at, expires_at, state, poll_token_hash, session_issued,
                                       kind, flow_hash, new_device)
                 VALUES (?1, ?2, ?3, ?4, x'', ?5, ?6, ?7, ?8, ?9, ?10, 'pending', ?11, 0, ?12, ?13, ?14)",
                params![
                    request.id,
                    request.account,
                    request.nonce,
                    i64::from(request.number),
                    c.service,
                    c.client_ip,
                    c.user_agent,
                    c.location,
                    c.created_at,
                    c.expires_at,
                    &request.poll_token_hash[..],
                    super::kind_of_action(c.action),
                    request.flow_hash.as_ref().map(|h| h.to_vec()),
                    new_device
                ],
            )?;
            tx.commit()?;
            Ok(StartOutcome::Created)
        })
    }

    fn request(&self, id: String) -> StoreFuture<'_, Option<RequestRecord>> {
        self.run(move |conn| {
            let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = ?1");
            Ok(conn
                .query_row(&sql, params![id], request_from_row)
                .optional()?)
        })
    }

    fn pending_requests(&self, account: String, now: i64) -> StoreFuture<'_, Vec<RequestRecord>> {
        self.run(move |conn| {
            let sql = format!(
                "SELECT {REQUEST_COLUMNS} FROM requests
                 WHERE account = ?1 AND state = 'pending' AND expires_at > ?2 ORDER BY created_at, id"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(params![account, now], request_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn answer_request(&self, update: AnswerUpdate) -> StoreFuture<'_, AnswerOutcome> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // One conditional UPDATE: only a pending, unexpired request moves.
            // A wrong number counts, and the last allowed one denies (the
            // CASE sees the row as it was before this update).
            let changed: Option<(String, i64)> = match &update.change {
                AnswerChange::WrongNumber { max } => tx
                    .query_row(
                        "UPDATE requests SET wrong_numbers = wrong_numbers + 1,
                             state = CASE WHEN wrong_numbers + 1 >= ?1 THEN 'denied' ELSE state END,
                             answered_by = CASE WHEN wrong_numbers + 1 >= ?1 THEN ?2 ELSE answered_by END,
                             answered_at = CASE WHEN wrong_numbers + 1 >= ?1 THEN ?3 ELSE answered_at END
                         WHERE id = ?4 AND state = 'pending' AND expires_at > ?3
                         RETURNING state, wrong_numbers",
                        params![i64::from(*max), update.device_id, update.now, update.request_id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?,
                other => {
                    let state = match other {
                        AnswerChange::Approve => "approved",
                        AnswerChange::Report { .. } => "reported",
                        _ => "denied",
                    };
                    tx.query_row(
                        "UPDATE requests SET state = ?1, answered_by = ?2, answered_at = ?3
                         WHERE id = ?4 AND state = 'pending' AND expires_at > ?3
                         RETURNING state, wrong_numbers",
                        params![state, update.device_id, update.now, update.request_id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?
                }
            };
            if let Some((state, wrong)) = changed {
                if let AnswerChange::Report { pause_until } = update.change {
                    tx.execute(
                        "UPDATE users SET paused_until = MAX(paused_until, ?1)
                         WHERE username = (SELECT account FROM requests WHERE id = ?2)",
                        params![pause_until, update.request_id],
                    )?;
                }
                if let Some(event) = &update.event {
                    insert_event(&tx, event)?;
                }
                tx.commit()?;
                let state = RequestState::parse(&state).ok_or(StoreError::Corrupt("request state"))?;
                return Ok(match (state, &update.change) {
                    (RequestState::Pending, AnswerChange::WrongNumber { max }) => AnswerOutcome::WrongNumber {
                        tries_left: max.saturating_sub(u32::try_from(wrong).unwrap_or(u32::MAX)).max(1),
                    },
                    (state, _) => AnswerOutcome::Updated { state },
                });
            }
            let found: Option<String> = tx
                .query_row(
                    "SELECT state FROM requests WHERE id = ?1",
                    params![update.request_id],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(match found.as_deref() {
                None => AnswerOutcome::NotFound,
                Some("pending") => AnswerOutcome::Expired,
                Some(_) => AnswerOutcome::AlreadyAnswered,
            })
        })
    }

    fn issue_session(&self, request_id: String, session: NewSession) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "UPDATE requests SET session_issued = 1 WHERE id = ?1 AND kind = 'sign_in'
                 AND state = 'approved' AND session_issued = 0",
                params![request_id],
            )?;
            if n != 1 {
                return Ok(false);
            }
            insert_session(&tx, &session)?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn create_session(&self, session: NewSession) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "DELETE FROM sessions WHERE expires_at <= ?1",
                params![session.created_at],
            )?;
            insert_session(&tx, &session)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn session(
        &self,
        token_hash: [u8; 32],
        now: i64,
        idle_s: i64,
    ) -> StoreFuture<'_, Option<SessionRecord>> {
        self.run(move |conn| {
            let found: Option<(String, String, i64, i64, i64)> = conn
                .query_row(
                    "SELECT account, scope, expires_at, verified_at, last_seen_at FROM sessions
                     WHERE token_hash = ?1 AND expires_at > ?2 AND last_seen_at > ?3",
                    params![&token_hash[..], now, now - idle_s],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            let Some((account, scope, expires_at, verified_at, last_seen)) = found else {
                return Ok(None);
            };
            if last_seen < now - super::SESSION_TOUCH_S {
                conn.execute(
                    "UPDATE sessions SET last_seen_at = ?1 WHERE token_hash = ?2",
                    params![now, &token_hash[..]],
                )?;
            }
            Ok(Some(SessionRecord {
                account,
                scope: SessionScope::parse(&scope)
                    .ok_or(StoreError::Corrupt("unknown session scope"))?,
                expires_at,
                verified_at,
            }))
        })
    }

    fn mark_session_verified(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE sessions SET verified_at = ?1, last_seen_at = ?1 WHERE token_hash = ?2 AND expires_at > ?1",
                params![now, &token_hash[..]],
            )?;
            Ok(n == 1)
        })
    }

    fn remember_browser(
        &self,
        id_hash: [u8; 32],
        account: String,
        now: i64,
        label: String,
    ) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO browsers (id_hash, account, created_at, last_seen_at, label)
                 VALUES (?1, ?2, ?3, ?3, ?4)
                 ON CONFLICT (id_hash, account) DO UPDATE SET last_seen_at = excluded.last_seen_at,
                     label = excluded.label",
                params![&id_hash[..], account, now, label],
            )?;
            Ok(())
        })
    }

    fn browser_known(&self, id_hash: [u8; 32], account: String) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT 1 FROM browsers WHERE id_hash = ?1 AND account = ?2 AND revoked_at IS NULL",
                    params![&id_hash[..], account],
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
        })
    }

    fn add_notice(&self, notice: NewNotice) -> StoreFuture<'_, i64> {
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO notices (account, time, kind, text, device_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![notice.account, notice.time, notice.kind, notice.text, notice.device_id],
            )?;
            Ok(conn.last_insert_rowid())
        })
    }

    fn notices(
        &self,
        account: String,
        after: i64,
        since: i64,
        device_id: String,
        limit: u32,
    ) -> StoreFuture<'_, Vec<NoticeRecord>> {
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT id, time, kind, text FROM notices
                 WHERE account = ?1 AND id > ?2 AND time >= ?3 AND (device_id IS NULL OR device_id != ?4)
                 ORDER BY id LIMIT ?5",
            )?;
            let rows = stmt.query_map(
                params![account, after, since, device_id, i64::from(limit)],
                |r| Ok(NoticeRecord { id: r.get(0)?, time: r.get(1)?, kind: r.get(2)?, text: r.get(3)? }),
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn add_admin_token(
        &self,
        name: String,
        token_hash: [u8; 32],
        now: i64,
    ) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let n = conn.execute(
                "INSERT OR IGNORE INTO admin_tokens (name, token_hash, created_at) VALUES (?1, ?2, ?3)",
                params![name, &token_hash[..], now],
            )?;
            Ok(n == 1)
        })
    }

    fn admin_token(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, Option<String>> {
        self.run(move |conn| {
            let name: Option<(String, Option<i64>)> = conn
                .query_row(
                    "SELECT name, last_used_at FROM admin_tokens WHERE token_hash = ?1 AND revoked_at IS NULL",
                    params![&token_hash[..]],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((name, last)) = name else { return Ok(None) };
            if last.is_none_or(|t| t < now - super::SESSION_TOUCH_S) {
                conn.execute(
                    "UPDATE admin_tokens SET last_used_at = ?1 WHERE name = ?2",
                    params![now, name],
                )?;
            }
            Ok(Some(name))
        })
    }

    fn revoke_admin_token(&self, name: String, now: i64) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE admin_tokens SET revoked_at = ?1 WHERE name = ?2 AND revoked_at IS NULL",
                params![now, name],
            )?;
            Ok(n == 1)
        })
    }

    fn admin_tokens(&self) -> StoreFuture<'_, Vec<AdminTokenRecord>> {
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT name, created_at, last_used_at, revoked_at FROM admin_tokens ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(AdminTokenRecord {
                    name: r.get(0)?,
                    created_at: r.get(1)?,
                    last_used_at: r.get(2)?,
                    revoked_at: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn delete_session(&self, token_hash: [u8; 32]) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            conn.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                params![&token_hash[..]],
            )?;
            Ok(())
        })
    }

    fn delete_sessions(&self, account: String) -> StoreFuture<'_, u32> {
        self.run(move |conn| {
            let n = conn.execute("DELETE FROM sessions WHERE account = ?1", params![account])?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        })
    }

    fn users(&self) -> StoreFuture<'_, Vec<UserListing>> {
        self.run(move |conn| {
            let sql = format!(
                "SELECT {USER_COLUMNS},
                    (SELECT COUNT(*) FROM devices d WHERE d.account = users.username AND d.revoked_at IS NULL)
                 FROM users ORDER BY username"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map([], |r| {
                Ok(UserListing {
                    user: user_from_row(r)?,
                    active_devices: u32::try_from(r.get::<_, i64>(14)?).unwrap_or(u32::MAX),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn set_sign_in(
        &self,
        account: String,
        method: SignInMethod,
        second_step: SecondStep,
        now: i64,
        detail: String,
    ) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "UPDATE users SET method = ?1, second_step = ?2 WHERE username = ?3",
                params![method.as_str(), second_step.as_str(), account],
            )?;
            if n != 1 {
                return Ok(false);
            }
            tx.execute("DELETE FROM sessions WHERE account = ?1", params![account])?;
            tx.execute(
                "DELETE FROM login_flows WHERE account = ?1",
                params![account],
            )?;
            insert_event(
                &tx,
                &NewEvent {
                    time: now,
                    kind: "two_step_changed",
                    account: Some(account),
                    device_id: None,
                    request_id: None,
                    detail,
                },
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn set_user_flags(&self, account: String, flags: UserFlags) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let exists = tx
                .query_row(
                    "SELECT 1 FROM users WHERE username = ?1",
                    params![account],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if !exists {
                return Ok(false);
            }
            if let Some(admin) = flags.is_admin {
                tx.execute(
                    "UPDATE users SET is_admin = ?1 WHERE username = ?2",
                    params![i64::from(admin), account],
                )?;
            }
            if let Some(enforce) = flags.enforce_2sv {
                tx.execute(
                    "UPDATE users SET enforce_2sv = ?1 WHERE username = ?2",
                    params![i64::from(enforce), account],
                )?;
            }
            if let Some(groups) = &flags.groups {
                tx.execute(
                    "UPDATE users SET groups = ?1 WHERE username = ?2",
                    params![groups.join(","), account],
                )?;
            }
            tx.commit()?;
            Ok(true)
        })
    }

    fn enforced_groups(&self) -> StoreFuture<'_, Vec<String>> {
        self.run(move |conn| {
            let mut stmt = conn.prepare("SELECT name FROM enforced_groups ORDER BY name")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
    }

    fn set_group_enforced(&self, group: String, enforced: bool) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            if enforced {
                conn.execute(
                    "INSERT OR IGNORE INTO enforced_groups (name) VALUES (?1)",
                    params![group],
                )?;
            } else {
                conn.execute(
                    "DELETE FROM enforced_groups WHERE name = ?1",
                    params![group],
                )?;
            }
            Ok(())
        })
    }

    fn revoke_all_devices(&self, account: String, now: i64) -> StoreFuture<'_, u32> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let ids: Vec<String> = {
                let mut stmt = tx.prepare(
                    "SELECT id FROM devices WHERE account = ?1 AND revoked_at IS NULL ORDER BY created_at, id",
                )?;
                let rows = stmt.query_map(params![account], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            for id in &ids {
                tx.execute(
                    "UPDATE devices SET revoked_at = ?1, push_token = NULL WHERE id = ?2",
                    params![now, id],
                )?;
                insert_event(
                    &tx,
                    &NewEvent {
                        time: now,
                        kind: "device_revoked",
                        account: Some(account.clone()),
                        device_id: Some(id.clone()),
                        request_id: None,
                        detail: "all devices".into(),
                    },
                )?;
            }
            tx.commit()?;
            Ok(u32::try_from(ids.len()).unwrap_or(u32::MAX))
        })
    }

    fn set_otp_pending(&self, account: String, secret: Option<OtpSecret>) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE users SET otp_pending = ?1 WHERE username = ?2",
                params![secret.as_ref().map(OtpSecret::expose), account],
            )?;
            Ok(n == 1)
        })
    }

    fn confirm_otp(&self, account: String, step: i64) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE users SET otp_secret = otp_pending, otp_pending = NULL, otp_last_step = ?1
                 WHERE username = ?2 AND otp_pending IS NOT NULL",
                params![step, account],
            )?;
            Ok(n == 1)
        })
    }

    fn remove_otp(&self, account: String) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE users SET otp_secret = NULL, otp_pending = NULL WHERE username = ?1",
                params![account],
            )?;
            Ok(n == 1)
        })
    }

    fn use_otp_step(&self, account: String, step: i64) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE users SET otp_last_step = ?1
                 WHERE username = ?2 AND otp_secret IS NOT NULL AND otp_last_step < ?1",
                params![step, account],
            )?;
            Ok(n == 1)
        })
    }

    fn set_backup_email(
        &self,
        account: String,
        email: Option<String>,
        verify: Option<NewEmailToken>,
    ) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "UPDATE users SET email = ?1, email_verified = 0 WHERE username = ?2",
                params![email, account],
            )?;
            if n != 1 {
                return Ok(false);
            }
            tx.execute(
                "DELETE FROM email_tokens WHERE account = ?1 AND (kind = 'verify' OR used_at IS NULL)",
                params![account],
            )?;
            if let Some(t) = &verify {
                insert_email_token(&tx, &account, EmailTokenKind::Verify, t)?;
            }
            tx.commit()?;
            Ok(true)
        })
    }

    fn verify_email(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, Option<String>> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found: Option<(String, String)> = tx
                .query_row(
                    "SELECT account, email FROM email_tokens
                     WHERE token_hash = ?1 AND kind = 'verify' AND used_at IS NULL AND expires_at > ?2",
                    params![&token_hash[..], now],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((account, email)) = found else {
                return Ok(None);
            };
            tx.execute(
                "UPDATE email_tokens SET used_at = ?1 WHERE token_hash = ?2",
                params![now, &token_hash[..]],
            )?;
            let n = tx.execute(
                "UPDATE users SET email_verified = 1 WHERE username = ?1 AND email = ?2",
                params![account, email],
            )?;
            tx.commit()?;
            Ok((n == 1).then_some(account))
        })
    }

    fn create_email_code(
        &self,
        account: String,
        code: NewEmailToken,
    ) -> StoreFuture<'_, EmailCodeOutcome> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let verified: Option<(Option<String>, i64)> = tx
                .query_row(
                    "SELECT email, email_verified FROM users WHERE username = ?1",
                    params![account],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match verified {
                Some((Some(email), 1)) if email == code.email => {}
                _ => return Ok(EmailCodeOutcome::NoVerifiedEmail),
            }
            insert_email_token(&tx, &account, EmailTokenKind::Code, &code)?;
            tx.commit()?;
            Ok(EmailCodeOutcome::Created)
        })
    }

    fn use_email_code(
        &self,
        account: String,
        code_hash: [u8; 32],
        now: i64,
    ) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE email_tokens SET used_at = ?1
                 WHERE token_hash = ?2 AND account = ?3 AND kind = 'code' AND used_at IS NULL AND expires_at > ?1",
                params![now, &code_hash[..], account],
            )?;
            Ok(n == 1)
        })
    }

    fn reserve_attempts(&self, budgets: Vec<Budget>, now: i64) -> StoreFuture<'_, Reservation> {
        self.run(move |conn| {
            // BEGIN IMMEDIATE takes the database's write lock first, so the
            // counts below and the inserts are one step for every other
            // connection and process.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for (index, b) in budgets.iter().enumerate() {
                let (n, oldest): (i64, Option<i64>) = tx.query_row(
                    "SELECT COUNT(*), MIN(time) FROM attempts WHERE key = ?1 AND time > ?2",
                    params![b.key, now - b.window_s],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                if let Some(refused) = b.refusal(index, n, oldest, now) {
                    return Ok(refused);
                }
            }
            let keys = Budget::distinct_keys(&budgets);
            let mut ids = Vec::with_capacity(keys.len());
            for key in keys {
                tx.execute(
                    "INSERT INTO attempts (key, time) VALUES (?1, ?2)",
                    params![key, now],
                )?;
                ids.push(tx.last_insert_rowid());
            }
            tx.commit()?;
            Ok(Reservation::Granted(ids))
        })
    }

    fn release_attempts(&self, ids: Vec<i64>) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for id in ids {
                tx.execute("DELETE FROM attempts WHERE id = ?1", params![id])?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn block_ip_if_due(
        &self,
        ip: String,
        now: i64,
        policy: IpBlockPolicy,
    ) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let already = tx
                .query_row(
                    "SELECT 1 FROM ip_blocks WHERE ip = ?1 AND (until IS NULL OR until > ?2)",
                    params![ip, now],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if already {
                return Ok(true);
            }
            let count: i64 = tx.query_row(
                "SELECT COUNT(*) FROM attempts WHERE key = ?1 AND time > ?2",
                params![super::ip_failure_key(&ip), now - policy.window_s],
                |r| r.get(0),
            )?;
            if policy.max_failures == 0 || count < i64::from(policy.max_failures) {
                return Ok(false);
            }
            tx.execute(
                "INSERT OR REPLACE INTO ip_blocks (ip, blocked_at, until, failures) VALUES (?1, ?2, ?3, ?4)",
                params![ip, now, policy.block_s.map(|s| now + s), count],
            )?;
            insert_event(
                &tx,
                &NewEvent {
                    time: now,
                    kind: "ip_blocked",
                    account: None,
                    device_id: None,
                    request_id: None,
                    detail: format!("ip={ip} failures={count}"),
                },
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn ip_block(&self, ip: String, now: i64) -> StoreFuture<'_, Option<IpBlock>> {
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT ip, blocked_at, until, failures FROM ip_blocks
                     WHERE ip = ?1 AND (until IS NULL OR until > ?2)",
                    params![ip, now],
                    ip_block_from_row,
                )
                .optional()?)
        })
    }

    fn ip_blocks(&self, now: i64) -> StoreFuture<'_, Vec<IpBlock>> {
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT ip, blocked_at, until, failures FROM ip_blocks
                 WHERE until IS NULL OR until > ?1 ORDER BY blocked_at DESC, ip",
            )?;
            let rows = stmt.query_map(params![now], ip_block_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn unblock_ip(&self, ip: String) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute("DELETE FROM ip_blocks WHERE ip = ?1", params![ip])?;
            tx.execute(
                "DELETE FROM attempts WHERE key = ?1",
                params![super::ip_failure_key(&ip)],
            )?;
            tx.commit()?;
            Ok(n == 1)
        })
    }

    fn prune(&self, before: PruneBefore) -> StoreFuture<'_, Pruned> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut pruned = Pruned::default();
            for (target, sql, cut) in super::retention::STATEMENTS {
                let n = tx.execute(&sql.replace("{p}", "?1"), params![before.get(*cut)])?;
                pruned.add(*target, n as u64);
            }
            tx.commit()?;
            Ok(pruned)
        })
    }

    fn create_flow(&self, flow: LoginFlow) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO login_flows (token_hash, account, created_at, expires_at, request_id, reauth_of, next)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    &flow.token_hash[..],
                    flow.account,
                    flow.created_at,
                    flow.expires_at,
                    flow.request_id,
                    flow.reauth_of.as_ref().map(|h| h.to_vec()),
                    flow.next
                ],
            )?;
            Ok(())
        })
    }

    fn flow(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, Option<LoginFlow>> {
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT token_hash, account, created_at, expires_at, request_id, reauth_of, next FROM login_flows
                     WHERE token_hash = ?1 AND expires_at > ?2",
                    params![&token_hash[..], now],
                    flow_from_row,
                )
                .optional()?)
        })
    }

    fn consume_flow(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, Option<LoginFlow>> {
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "DELETE FROM login_flows WHERE token_hash = ?1 AND expires_at > ?2
                     RETURNING token_hash, account, created_at, expires_at, request_id, reauth_of, next",
                    params![&token_hash[..], now],
                    flow_from_row,
                )
                .optional()?)
        })
    }

    fn set_flow_request(&self, token_hash: [u8; 32], request_id: String) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            conn.execute(
                "UPDATE login_flows SET request_id = ?1 WHERE token_hash = ?2",
                params![request_id, &token_hash[..]],
            )?;
            Ok(())
        })
    }

    fn delete_flow(&self, token_hash: [u8; 32]) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            conn.execute(
                "DELETE FROM login_flows WHERE token_hash = ?1",
                params![&token_hash[..]],
            )?;
            Ok(())
        })
    }

    fn sync_create_space(
        &self,
        space_id: String,
        auth_hash: [u8; 32],
        owner: String,
        quota: SyncQuota,
        now: i64,
    ) -> StoreFuture<'_, SpaceOutcome> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found: Option<(Vec<u8>, Option<i64>, Option<String>)> = tx
                .query_row(
                    "SELECT auth_hash, deleted_at, owner FROM sync_spaces WHERE space_id = ?1",
                    params![space_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let outcome = match found {
                Some((_, Some(_), _)) => SpaceOutcome::Deleted,
                Some((hash, None, stored_owner)) => {
                    let same_key = crate::crypto::digest_eq(&digest_from(hash, 0)?, &auth_hash);
                    if !same_key || stored_owner.as_deref().is_some_and(|o| o != owner) {
                        SpaceOutcome::Forbidden
                    } else {
                        if stored_owner.is_none() {
                            tx.execute(
                                "UPDATE sync_spaces SET owner = ?1 WHERE space_id = ?2",
                                params![owner, space_id],
                            )?;
                        }
                        SpaceOutcome::Exists
                    }
                }
                None => {
                    let live: i64 = tx.query_row(
                        "SELECT COUNT(*) FROM sync_spaces WHERE owner = ?1 AND deleted_at IS NULL",
                        params![owner],
                        |r| r.get(0),
                    )?;
                    if live >= i64::from(quota.spaces) {
                        SpaceOutcome::QuotaExceeded
                    } else {
                        tx.execute(
                            "INSERT INTO sync_spaces (space_id, auth_hash, created_at, rev, owner, bytes)
                             VALUES (?1, ?2, ?3, 0, ?4, 0)",
                            params![space_id, &auth_hash[..], now, owner],
                        )?;
                        SpaceOutcome::Created
                    }
                }
            };
            tx.commit()?;
            Ok(outcome)
        })
    }

    fn sync_space(&self, space_id: String) -> StoreFuture<'_, Option<SyncSpace>> {
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT auth_hash, created_at, deleted_at, rev, owner, bytes FROM sync_spaces WHERE space_id = ?1",
                    params![space_id],
                    |r| {
                        Ok(SyncSpace {
                            auth_hash: digest_from(r.get(0)?, 0)?,
                            created_at: r.get(1)?,
                            deleted_at: r.get(2)?,
                            rev: r.get(3)?,
                            owner: r.get(4)?,
                            bytes: r.get(5)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn sync_entries_since(
        &self,
        space_id: String,
        since: i64,
        limit: u32,
    ) -> StoreFuture<'_, Vec<SyncBlob>> {
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT entry_id, rev, blob FROM sync_entries
                 WHERE space_id = ?1 AND rev > ?2 ORDER BY rev LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![space_id, since, i64::from(limit)], |r| {
                Ok(SyncBlob {
                    entry_id: r.get(0)?,
                    rev: r.get(1)?,
                    blob: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn sync_put_entries(
        &self,
        space_id: String,
        owner: String,
        puts: Vec<SyncPut>,
        quota: SyncQuota,
        now: i64,
    ) -> StoreFuture<'_, SyncPutOutcome> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found: Option<(i64, Option<i64>, Option<String>, i64)> = tx
                .query_row(
                    "SELECT rev, deleted_at, owner, bytes FROM sync_spaces WHERE space_id = ?1",
                    params![space_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let (mut rev, mut space_bytes) = match found {
                Some((rev, None, stored, bytes)) => {
                    if stored.as_deref().is_some_and(|o| o != owner) {
                        return Ok(SyncPutOutcome::Forbidden);
                    }
                    (rev, bytes)
                }
                _ => return Ok(SyncPutOutcome::Gone),
            };
            let others: i64 = tx.query_row(
                "SELECT COALESCE(SUM(bytes), 0) FROM sync_spaces WHERE owner = ?1 AND space_id != ?2",
                params![owner, space_id],
                |r| r.get(0),
            )?;
            let mut count: i64 = tx.query_row(
                "SELECT COUNT(*) FROM sync_entries WHERE space_id = ?1",
                params![space_id],
                |r| r.get(0),
            )?;
            let mut results = Vec::with_capacity(puts.len());
            for put in puts {
                let current: Option<(i64, Vec<u8>)> = tx
                    .query_row(
                        "SELECT rev, blob FROM sync_entries WHERE space_id = ?1 AND entry_id = ?2",
                        params![space_id, put.entry_id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                let current_rev = current.as_ref().map_or(0, |c| c.0);
                if current_rev != put.base_rev {
                    let (rev, blob) = current.unwrap_or((0, Vec::new()));
                    results.push(SyncPutResult::Conflict(SyncBlob { entry_id: put.entry_id, rev, blob }));
                    continue;
                }
                let old_len = current.as_ref().map_or(0, |c| c.1.len() as i64);
                if current.is_none() {
                    count += 1;
                    if count > i64::from(quota.entries) {
                        return Ok(SyncPutOutcome::QuotaExceeded(QuotaKind::Entries));
                    }
                }
                space_bytes += put.blob.len() as i64 - old_len;
                if others + space_bytes > quota.bytes {
                    return Ok(SyncPutOutcome::QuotaExceeded(QuotaKind::Bytes));
                }
                rev += 1;
                tx.execute(
                    "INSERT INTO sync_entries (space_id, entry_id, rev, blob, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (space_id, entry_id) DO UPDATE SET rev = excluded.rev, blob = excluded.blob, updated_at = excluded.updated_at",
                    params![space_id, put.entry_id, rev, put.blob, now],
                )?;
                results.push(SyncPutResult::Stored { rev });
            }
            tx.execute(
                "UPDATE sync_spaces SET rev = ?1, bytes = ?2, owner = ?3 WHERE space_id = ?4",
                params![rev, space_bytes, owner, space_id],
            )?;
            tx.commit()?;
            Ok(SyncPutOutcome::Done(results))
        })
    }

    fn sync_delete_space(&self, space_id: String, now: i64) -> StoreFuture<'_, bool> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "UPDATE sync_spaces SET deleted_at = ?1 WHERE space_id = ?2 AND deleted_at IS NULL",
                params![now, space_id],
            )?;
            if n == 1 {
                tx.execute(
                    "DELETE FROM sync_entries WHERE space_id = ?1",
                    params![space_id],
                )?;
                tx.execute(
                    "UPDATE sync_spaces SET bytes = 0 WHERE space_id = ?1",
                    params![space_id],
                )?;
            }
            tx.commit()?;
            Ok(n == 1)
        })
    }

    fn add_event(&self, event: NewEvent) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            insert_event(conn, &event)?;
            Ok(())
        })
    }

    fn events(&self, limit: u32) -> StoreFuture<'_, Vec<Event>> {
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT id, time, kind, account, device_id, request_id, detail FROM events ORDER BY id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map(params![i64::from(limit)], |r| {
                Ok(Event {
                    id: r.get(0)?,
                    time: r.get(1)?,
                    kind: r.get(2)?,
                    account: r.get(3)?,
                    device_id: r.get(4)?,
                    request_id: r.get(5)?,
                    detail: r.get(6)?,
                })
            })?;
            let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            out.reverse();
            Ok(out)
        })
    }
}
