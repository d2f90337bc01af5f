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
    AnswerOutcome, AnswerUpdate, DeviceRecord, Event, NewDevice, NewEvent, NewRequest, NewSession,
    PairCredential, PairOutcome, PushTarget, RequestRecord, StartLimits, StartOutcome, Store,
    StoreError, StoreFuture, UserRecord,
};
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

fn bad_column(index: usize, what: &'static str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, what.into())
}

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    let method: String = r.get(2)?;
    Ok(UserRecord {
        username: r.get(0)?,
        password_hash: r.get(1)?,
        method: SignInMethod::parse(&method)
            .ok_or_else(|| bad_column(2, "unknown sign-in method"))?,
        created_at: r.get(3)?,
        paused_until: r.get(4)?,
    })
}

const DEVICE_COLUMNS: &str =
    "id, account, public_key, name, platform, push_token, created_at, revoked_at";

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
    })
}

const REQUEST_COLUMNS: &str =
    "id, account, nonce, number, choices, service, client_ip, user_agent, location, \
     created_at, expires_at, state, answered_by, answered_at, poll_token_hash, session_issued";

fn request_from_row(r: &Row<'_>) -> rusqlite::Result<RequestRecord> {
    let number: i64 = r.get(3)?;
    let state: String = r.get(11)?;
    let poll: Vec<u8> = r.get(14)?;
    Ok(RequestRecord {
        id: r.get(0)?,
        account: r.get(1)?,
        nonce: r.get(2)?,
        number: u8::try_from(number).map_err(|_| bad_column(3, "number out of range"))?,
        choices: r.get(4)?,
        context: SignInContext {
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
                "INSERT OR IGNORE INTO users (username, password_hash, method, created_at, paused_until)
                 VALUES (?1, ?2, ?3, ?4, 0)",
                params![user.username, user.password_hash, user.method.as_str(), user.created_at],
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
            Ok(conn
                .query_row(
                    "SELECT username, password_hash, method, created_at, paused_until FROM users WHERE username = ?1",
                    params![username],
                    user_from_row,
                )
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
                PairCredential::Password { account } => account.clone(),
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
            if let PairCredential::Token { hash } = &credential {
                let n = tx.execute(
                    "UPDATE pair_tokens SET used_at = ?1, device_id = ?2 WHERE token_hash = ?3 AND used_at IS NULL",
                    params![now, device.id, &hash[..]],
                )?;
                if n != 1 {
                    return Ok(PairOutcome::InvalidToken);
                }
            }
            tx.execute(
                "INSERT INTO devices (id, account, public_key, name, platform, push_token, created_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)",
                params![
                    device.id,
                    account,
                    device.public_key,
                    device.name,
                    device.platform,
                    device.push_token,
                    device.created_at
                ],
            )?;
            let via = match credential {
                PairCredential::Token { .. } => "invitation",
                PairCredential::Password { .. } => "password",
            };
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

    fn create_request(
        &self,
        request: NewRequest,
        limits: StartLimits,
    ) -> StoreFuture<'_, StartOutcome> {
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
            let pending: i64 = tx.query_row(
                "SELECT COUNT(*) FROM requests WHERE account = ?1 AND state = 'pending' AND expires_at > ?2",
                params![request.account, now],
                |r| r.get(0),
            )?;
            if pending > 0 {
                return Ok(StartOutcome::PendingExists);
            }
            let (count, oldest): (i64, Option<i64>) = tx.query_row(
                "SELECT COUNT(*), MIN(created_at) FROM requests WHERE account = ?1 AND created_at > ?2",
                params![request.account, now - limits.window_s],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if count >= i64::from(limits.max_in_window) {
                let retry_after_s = oldest.map_or(limits.window_s, |t| t + limits.window_s - now).max(1);
                return Ok(StartOutcome::RateLimited { retry_after_s });
            }
            let c = &request.context;
            tx.execute(
                "INSERT INTO requests (id, account, nonce, number, choices, service, client_ip, user_agent, location,
                                       created_at, expires_at, state, poll_token_hash, session_issued)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending', ?12, 0)",
                params![
                    request.id,
                    request.account,
                    request.nonce,
                    i64::from(request.number),
                    request.choices,
                    c.service,
                    c.client_ip,
                    c.user_agent,
                    c.location,
                    c.created_at,
                    c.expires_at,
                    &request.poll_token_hash[..]
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
            let n = tx.execute(
                "UPDATE requests SET state = ?1, answered_by = ?2, answered_at = ?3
                 WHERE id = ?4 AND state = 'pending' AND expires_at > ?3",
                params![
                    update.new_state.as_str(),
                    update.device_id,
                    update.now,
                    update.request_id
                ],
            )?;
            if n == 1 {
                if let Some(until) = update.pause_until {
                    tx.execute(
                        "UPDATE users SET paused_until = MAX(paused_until, ?1)
                         WHERE username = (SELECT account FROM requests WHERE id = ?2)",
                        params![until, update.request_id],
                    )?;
                }
                if let Some(event) = &update.event {
                    insert_event(&tx, event)?;
                }
                tx.commit()?;
                return Ok(AnswerOutcome::Updated);
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
                "UPDATE requests SET session_issued = 1 WHERE id = ?1 AND state = 'approved' AND session_issued = 0",
                params![request_id],
            )?;
            if n != 1 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO sessions (token_hash, account, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![&session.token_hash[..], session.account, session.created_at, session.expires_at],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn create_session(&self, session: NewSession) -> StoreFuture<'_, ()> {
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", params![session.created_at])?;
            tx.execute(
                "INSERT INTO sessions (token_hash, account, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![&session.token_hash[..], session.account, session.created_at, session.expires_at],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn session_account(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, Option<String>> {
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT account FROM sessions WHERE token_hash = ?1 AND expires_at > ?2",
                    params![&token_hash[..], now],
                    |r| r.get(0),
                )
                .optional()?)
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
