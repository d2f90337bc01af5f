//! [`PgStore`]: the [`Store`] on PostgreSQL, for several server nodes
//! sharing one database.
//!
//! Why a second backend: SQLite keeps everything in one file on one host;
//! a deployment behind a load balancer needs every node to see the same
//! users, devices and requests, and every check-then-write (one pending
//! request per account, the device limit, single use of tokens and answers)
//! to hold across nodes, not just inside one process.
//!
//! How atomicity is kept (default READ COMMITTED isolation):
//! - single-row state changes are one conditional `UPDATE … WHERE <old
//!   state>` (answers, issuing a session, TOTP steps, email codes): the row
//!   lock plus PostgreSQL's re-check of the `WHERE` after waiting makes the
//!   second of two racing nodes match nothing;
//! - multi-row checks lock the user row first (`SELECT … FOR NO KEY
//!   UPDATE`): [`Store::create_request`] (paused / pending / window limit),
//!   [`Store::pair_device`] (device limit), [`Store::create_email_code`]
//!   (mail limit). `NO KEY UPDATE` serialises those actions per account
//!   without blocking unrelated inserts that only reference the user;
//! - attempt reservations (every guess, before it is checked) take a
//!   transaction advisory lock per counted key, so a count and the insert
//!   that depends on it are one step across nodes, and an address's block
//!   is made (and its event recorded) once;
//! - inserts of unique things use `ON CONFLICT`.
//!
//! Connections come from a `deadpool-postgres` pool. There is no TLS to the
//! database: use it over a private network or a unix socket
//! (`postgres://user@%2Frun%2Fpostgresql/db`). Error messages carry
//! PostgreSQL's message and SQLSTATE only, never row values or the URL.

use std::time::Duration;

use countersign_core::approve::protocol::{RequestState, SignInContext};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::pg_schema::migrate;
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

/// Most connections one node keeps open.
const POOL_SIZE: usize = 16;
/// How long a caller waits for a free connection or a new one.
const POOL_WAIT: Duration = Duration::from_secs(30);
/// TCP connect timeout when the URL sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Advisory lock held while filling in name keys at start ("cs-keys").
const BACKFILL_LOCK: i64 = 0x0063_732d_6b65_7973;
/// Advisory-lock namespace for sync writes (per owner: quotas).
const SYNC_OWNER_LOCK_CLASS: i32 = 0x6373_7379; // "csys"
/// Advisory-lock namespace for attempt reservations (per key).
const ATTEMPT_LOCK_CLASS: i32 = 0x6373_6970; // "csip"

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The PostgreSQL implementation of [`Store`].
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    config: tokio_postgres::Config,
    server_id: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("server_id", &self.server_id)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/db` or
    /// key=value form), creates or migrates the schema, and reads (or, on
    /// an empty database, makes) the server id. Safe with several nodes
    /// starting at once.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url.parse()?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("countersign-server");
        }
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(POOL_WAIT))
            .build()
            .map_err(|_| StoreError::PoolSetup)?;
        let new_id = random_id().map_err(|_| StoreError::Random)?;
        let server_id = {
            let mut client = pool.get().await?;
            let id = migrate(&mut client, &new_id).await?;
            backfill_name_keys(&mut client).await?;
            id
        };
        Ok(Self {
            pool,
            config,
            server_id,
        })
    }

    /// The connection settings (for the dedicated `LISTEN` connection).
    pub(crate) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The connection pool (for publishing wake-ups).
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        Ok(self.pool.get().await?)
    }

    /// One statement outside an explicit transaction; rows changed.
    async fn exec(&self, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
        Ok(self.client().await?.execute(sql, params).await?)
    }

    async fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, StoreError> {
        Ok(self.client().await?.query(sql, params).await?)
    }

    async fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, StoreError> {
        Ok(self.client().await?.query_opt(sql, params).await?)
    }
}

/// Gives users stored before names were normalised their `name_key` (as
/// the SQLite store does; a clash keeps the first by name).
async fn backfill_name_keys(client: &mut deadpool_postgres::Client) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    // Nodes starting together take turns.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&BACKFILL_LOCK])
        .await?;
    let rows = tx
        .query(
            "SELECT username FROM users WHERE name_key IS NULL ORDER BY username COLLATE \"C\"",
            &[],
        )
        .await?;
    for r in rows {
        let name: String = r.try_get(0)?;
        let key = crate::accounts::name_key(&name);
        tx.execute(
            "UPDATE users SET name_key = $1 WHERE username = $2
             AND NOT EXISTS (SELECT 1 FROM users WHERE name_key = $1)",
            &[&key, &name],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

const USER_COLUMNS: &str = "username, password_hash, method, created_at, paused_until, \
     second_step, is_admin, groups, enforce_2sv, otp_secret, otp_pending, otp_last_step, \
     email, email_verified";

fn user_from_row(r: &Row) -> Result<UserRecord, StoreError> {
    let method: String = r.try_get(2)?;
    let second: String = r.try_get(5)?;
    let groups: String = r.try_get(7)?;
    Ok(UserRecord {
        username: r.try_get(0)?,
        password_hash: r.try_get(1)?,
        method: SignInMethod::parse(&method)
            .ok_or(StoreError::Corrupt("unknown sign-in method"))?,
        created_at: r.try_get(3)?,
        paused_until: r.try_get(4)?,
        second_step: SecondStep::parse(&second)
            .ok_or(StoreError::Corrupt("unknown second step"))?,
        is_admin: r.try_get(6)?,
        groups: split_groups(&groups),
        enforce_2sv: r.try_get(8)?,
        otp_secret: r.try_get::<_, Option<Vec<u8>>>(9)?.map(OtpSecret::new),
        otp_pending: r.try_get::<_, Option<Vec<u8>>>(10)?.map(OtpSecret::new),
        otp_last_step: r.try_get(11)?,
        email: r.try_get(12)?,
        email_verified: r.try_get(13)?,
    })
}

/// Groups are one comma-separated column, as in SQLite.
fn split_groups(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
}

fn digest_from(v: Vec<u8>) -> Result<[u8; 32], StoreError> {
    v.as_slice()
        .try_into()
        .map_err(|_| StoreError::Corrupt("digest length"))
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

const DEVICE_COLUMNS: &str =
    "id, account, public_key, name, platform, push_token, created_at, revoked_at, paired_via";

fn device_from_row(r: &Row) -> Result<DeviceRecord, StoreError> {
    Ok(DeviceRecord {
        id: r.try_get(0)?,
        account: r.try_get(1)?,
        public_key: r.try_get(2)?,
        name: r.try_get(3)?,
        platform: r.try_get(4)?,
        push_token: r.try_get(5)?,
        created_at: r.try_get(6)?,
        revoked_at: r.try_get(7)?,
        paired_via: r.try_get(8)?,
    })
}

const REQUEST_COLUMNS: &str =
    "id, account, nonce, number, kind, service, client_ip, user_agent, location, \
     created_at, expires_at, state, answered_by, answered_at, poll_token_hash, session_issued, \
     wrong_numbers, new_device";

fn request_from_row(r: &Row) -> Result<RequestRecord, StoreError> {
    let number: i64 = r.try_get(3)?;
    let kind: String = r.try_get(4)?;
    let state: String = r.try_get(11)?;
    let new_device: Option<String> = r.try_get(17)?;
    Ok(RequestRecord {
        id: r.try_get(0)?,
        account: r.try_get(1)?,
        nonce: r.try_get(2)?,
        number: u8::try_from(number).map_err(|_| StoreError::Corrupt("number out of range"))?,
        wrong_numbers: count(r.try_get(16)?),
        new_device: new_device
            .map(|j| serde_json::from_str(&j).map_err(|_| StoreError::Corrupt("pending device")))
            .transpose()?,
        context: SignInContext {
            action: super::action_of_kind(&kind).ok_or(StoreError::Corrupt("unknown kind"))?,
            service: r.try_get(5)?,
            client_ip: r.try_get(6)?,
            user_agent: r.try_get(7)?,
            location: r.try_get(8)?,
            created_at: r.try_get(9)?,
            expires_at: r.try_get(10)?,
        },
        state: RequestState::parse(&state).ok_or(StoreError::Corrupt("unknown request state"))?,
        answered_by: r.try_get(12)?,
        answered_at: r.try_get(13)?,
        poll_token_hash: digest_from(r.try_get(14)?)?,
        session_issued: r.try_get(15)?,
    })
}

fn ip_block_from_row(r: &Row) -> Result<IpBlock, StoreError> {
    Ok(IpBlock {
        ip: r.try_get(0)?,
        blocked_at: r.try_get(1)?,
        until: r.try_get(2)?,
        failures: count(r.try_get(3)?),
    })
}

async fn insert_event(c: &impl GenericClientExt, e: &NewEvent) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO events (time, kind, account, device_id, request_id, detail)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &e.time,
            &e.kind,
            &e.account,
            &e.device_id,
            &e.request_id,
            &e.detail,
        ],
    )
    .await?;
    Ok(())
}

async fn insert_session(c: &impl GenericClientExt, s: &NewSession) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO sessions (token_hash, account, created_at, expires_at, scope, last_seen_at, verified_at)
         VALUES ($1, $2, $3, $4, $5, $3, $6)",
        &[
            &&s.token_hash[..],
            &s.account,
            &s.created_at,
            &s.expires_at,
            &s.scope.as_str(),
            &s.verified_at,
        ],
    )
    .await?;
    Ok(())
}

fn flow_from_row(r: &Row) -> Result<LoginFlow, StoreError> {
    Ok(LoginFlow {
        token_hash: digest_from(r.try_get(0)?)?,
        account: r.try_get(1)?,
        created_at: r.try_get(2)?,
        expires_at: r.try_get(3)?,
        request_id: r.try_get(4)?,
        reauth_of: r
            .try_get::<_, Option<Vec<u8>>>(5)?
            .map(digest_from)
            .transpose()?,
        next: r.try_get(6)?,
    })
}

async fn insert_email_token(
    c: &impl GenericClientExt,
    account: &str,
    kind: EmailTokenKind,
    t: &NewEmailToken,
) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO email_tokens (token_hash, account, kind, email, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &&t.token_hash[..],
            &account,
            &kind.as_str(),
            &t.email,
            &t.created_at,
            &t.expires_at,
        ],
    )
    .await?;
    Ok(())
}

/// `execute` returning [`StoreError`] on a transaction (shared helpers).
trait GenericClientExt: Sync {
    fn exec<'a>(&'a self, sql: &'a str, params: Params<'a>) -> StoreFuture<'a, u64>;
}

impl GenericClientExt for deadpool_postgres::Transaction<'_> {
    fn exec<'a>(&'a self, sql: &'a str, params: Params<'a>) -> StoreFuture<'a, u64> {
        Box::pin(async move { Ok(self.execute(sql, params).await?) })
    }
}

impl GenericClientExt for deadpool_postgres::Client {
    fn exec<'a>(&'a self, sql: &'a str, params: Params<'a>) -> StoreFuture<'a, u64> {
        Box::pin(async move { Ok(self.execute(sql, params).await?) })
    }
}

impl Store for PgStore {
    fn server_id(&self) -> StoreFuture<'_, String> {
        let id = self.server_id.clone();
        Box::pin(async move { Ok(id) })
    }

    fn create_user(&self, user: UserRecord) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let groups = user.groups.join(",");
            let n = tx
                .execute(
                    "INSERT INTO users (username, password_hash, method, created_at, paused_until,
                         second_step, is_admin, groups, enforce_2sv, email, email_verified, name_key)
                     VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT DO NOTHING",
                    &[
                        &user.username,
                        &user.password_hash,
                        &user.method.as_str(),
                        &user.created_at,
                        &user.second_step.as_str(),
                        &user.is_admin,
                        &groups,
                        &user.enforce_2sv,
                        &user.email,
                        &user.email_verified,
                        &crate::accounts::name_key(&user.username),
                    ],
                )
                .await?;
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
                )
                .await?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    fn user(&self, username: String) -> StoreFuture<'_, Option<UserRecord>> {
        Box::pin(async move {
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
            self.query_opt(&sql, &[&username])
                .await?
                .map(|r| user_from_row(&r))
                .transpose()
        })
    }

    fn find_user(&self, name_key: String) -> StoreFuture<'_, Option<UserRecord>> {
        Box::pin(async move {
            let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name_key = $1");
            self.query_opt(&sql, &[&name_key])
                .await?
                .map(|r| user_from_row(&r))
                .transpose()
        })
    }

    fn add_pair_token(
        &self,
        account: String,
        token_hash: [u8; 32],
        now: i64,
        expires_at: i64,
    ) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let exists = tx
                .query_opt("SELECT 1 FROM users WHERE username = $1", &[&account])
                .await?
                .is_some();
            if !exists {
                return Ok(false);
            }
            // Forget long-dead invitations while we are here.
            tx.execute(
                "DELETE FROM pair_tokens WHERE expires_at < $1",
                &[&(now - 86_400)],
            )
            .await?;
            tx.execute(
                "INSERT INTO pair_tokens (token_hash, account, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[&&token_hash[..], &account, &now, &expires_at],
            )
            .await?;
            tx.commit().await?;
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
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            // Lock order: the token (or approval request) row, then the user row.
            let account = match &credential {
                PairCredential::Token { hash } => {
                    let found = tx
                        .query_opt(
                            "SELECT account FROM pair_tokens
                             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
                             FOR UPDATE",
                            &[&&hash[..], &now],
                        )
                        .await?;
                    match found {
                        Some(r) => r.try_get::<_, String>(0)?,
                        None => return Ok(PairOutcome::InvalidToken),
                    }
                }
                PairCredential::Password { account, .. } => account.clone(),
                PairCredential::Approval { request_id } => {
                    let found = tx
                        .query_opt(
                            "SELECT account FROM requests WHERE id = $1 AND kind = 'pair'
                             AND state = 'approved' AND NOT session_issued FOR UPDATE",
                            &[request_id],
                        )
                        .await?;
                    match found {
                        Some(r) => r.try_get::<_, String>(0)?,
                        None => return Ok(PairOutcome::NotApproved),
                    }
                }
            };
            let exists = tx
                .query_opt(
                    "SELECT 1 FROM users WHERE username = $1 FOR NO KEY UPDATE",
                    &[&account],
                )
                .await?
                .is_some();
            if !exists {
                return Ok(PairOutcome::UnknownAccount);
            }
            let active: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM devices WHERE account = $1 AND revoked_at IS NULL",
                    &[&account],
                )
                .await?
                .try_get(0)?;
            if active >= i64::from(max_devices) {
                return Ok(PairOutcome::LimitReached);
            }
            let via = match &credential {
                PairCredential::Token { hash } => {
                    let n = tx
                        .execute(
                            "UPDATE pair_tokens SET used_at = $1, device_id = $2
                             WHERE token_hash = $3 AND used_at IS NULL",
                            &[&now, &device.id, &&hash[..]],
                        )
                        .await?;
                    if n != 1 {
                        return Ok(PairOutcome::InvalidToken);
                    }
                    "invitation"
                }
                PairCredential::Approval { request_id } => {
                    let n = tx
                        .execute(
                            "UPDATE requests SET session_issued = TRUE
                             WHERE id = $1 AND state = 'approved' AND NOT session_issued",
                            &[request_id],
                        )
                        .await?;
                    if n != 1 {
                        return Ok(PairOutcome::NotApproved);
                    }
                    "approval"
                }
                PairCredential::Password { via, .. } => via,
            };
            tx.execute(
                "INSERT INTO devices (id, account, public_key, name, platform, push_token, created_at, revoked_at, paired_via)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)",
                &[
                    &device.id,
                    &account,
                    &device.public_key,
                    &device.name,
                    &device.platform,
                    &device.push_token,
                    &device.created_at,
                    &via,
                ],
            )
            .await?;
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
            )
            .await?;
            tx.commit().await?;
            Ok(PairOutcome::Paired { account })
        })
    }

    fn device(&self, id: String) -> StoreFuture<'_, Option<DeviceRecord>> {
        Box::pin(async move {
            let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1");
            self.query_opt(&sql, &[&id])
                .await?
                .map(|r| device_from_row(&r))
                .transpose()
        })
    }

    fn devices(&self, account: String) -> StoreFuture<'_, Vec<DeviceRecord>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT {DEVICE_COLUMNS} FROM devices WHERE account = $1
                 ORDER BY created_at, id COLLATE \"C\""
            );
            self.query(&sql, &[&account])
                .await?
                .iter()
                .map(device_from_row)
                .collect()
        })
    }

    fn revoke_device(&self, id: String, now: i64, kind: &'static str) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let found = tx
                .query_opt(
                    "SELECT account, revoked_at FROM devices WHERE id = $1 FOR UPDATE",
                    &[&id],
                )
                .await?;
            let Some(row) = found else {
                return Ok(false);
            };
            let account: String = row.try_get(0)?;
            let revoked_at: Option<i64> = row.try_get(1)?;
            if revoked_at.is_none() {
                tx.execute(
                    "UPDATE devices SET revoked_at = $1, push_token = NULL WHERE id = $2",
                    &[&now, &id],
                )
                .await?;
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
                )
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    fn set_push_token(&self, id: String, push_token: Option<String>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.exec(
                "UPDATE devices SET push_token = $1 WHERE id = $2",
                &[&push_token, &id],
            )
            .await?;
            Ok(())
        })
    }

    fn clear_push_token(&self, id: String, push_token: String) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let n = self
                .exec(
                    "UPDATE devices SET push_token = NULL WHERE id = $1 AND push_token = $2",
                    &[&id, &push_token],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn push_targets(&self, account: String) -> StoreFuture<'_, Vec<PushTarget>> {
        Box::pin(async move {
            self.query(
                "SELECT id, platform, push_token FROM devices
                 WHERE account = $1 AND revoked_at IS NULL AND push_token IS NOT NULL AND push_token <> ''
                 ORDER BY created_at, id COLLATE \"C\"",
                &[&account],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(PushTarget {
                    device_id: r.try_get(0)?,
                    platform: r.try_get(1)?,
                    push_token: r.try_get(2)?,
                })
            })
            .collect()
        })
    }

    fn create_request(&self, request: NewRequest) -> StoreFuture<'_, StartOutcome> {
        Box::pin(async move {
            let now = request.context.created_at;
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            // The user row lock serialises every create_request of this
            // account across nodes (the pause check, replacing the flow's
            // pending request, and the insert are one step).
            let paused = tx
                .query_opt(
                    "SELECT paused_until FROM users WHERE username = $1 FOR NO KEY UPDATE",
                    &[&request.account],
                )
                .await?;
            let Some(paused) = paused else {
                return Ok(StartOutcome::UnknownAccount);
            };
            let paused_until: i64 = paused.try_get(0)?;
            if paused_until > now {
                return Ok(StartOutcome::Paused {
                    until: paused_until,
                });
            }
            if let Some(flow) = &request.flow_hash {
                tx.execute(
                    "UPDATE requests SET expires_at = $1
                     WHERE flow_hash = $2 AND state = 'pending' AND expires_at > $1",
                    &[&now, &&flow[..]],
                )
                .await?;
            }
            let new_device = request
                .new_device
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|_| StoreError::Corrupt("pending device"))?;
            let flow_hash = request.flow_hash.as_ref().map(|h| h.to_vec());
            let ctx = &request.context;
            tx.execute(
                "INSERT INTO requests (id, account, nonce, number, choices, service, client_ip, user_agent,
                                       location, created_at, expires_at, state, poll_token_hash, session_issued,
                                       kind, flow_hash, new_device)
                 VALUES ($1, $2, $3, $4, ''::bytea, $5, $6, $7, $8, $9, $10, 'pending', $11, FALSE, $12, $13, $14)",
                &[
                    &request.id,
                    &request.account,
                    &request.nonce,
                    &i64::from(request.number),
                    &ctx.service,
                    &ctx.client_ip,
                    &ctx.user_agent,
                    &ctx.location,
                    &ctx.created_at,
                    &ctx.expires_at,
                    &&request.poll_token_hash[..],
                    &super::kind_of_action(ctx.action),
                    &flow_hash,
                    &new_device,
                ],
            )
            .await?;
            tx.commit().await?;
            Ok(StartOutcome::Created)
        })
    }

    fn request(&self, id: String) -> StoreFuture<'_, Option<RequestRecord>> {
        Box::pin(async move {
            let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = $1");
            self.query_opt(&sql, &[&id])
                .await?
                .map(|r| request_from_row(&r))
                .transpose()
        })
    }

    fn pending_requests(&self, account: String, now: i64) -> StoreFuture<'_, Vec<RequestRecord>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT {REQUEST_COLUMNS} FROM requests
                 WHERE account = $1 AND state = 'pending' AND expires_at > $2
                 ORDER BY created_at, id COLLATE \"C\""
            );
            self.query(&sql, &[&account, &now])
                .await?
                .iter()
                .map(request_from_row)
                .collect()
        })
    }

    fn answer_request(&self, update: AnswerUpdate) -> StoreFuture<'_, AnswerOutcome> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            // One conditional UPDATE (the row lock and PostgreSQL's re-check
            // of the WHERE make the second of two racing answers match
            // nothing); a wrong number counts and the last allowed one
            // denies (SET expressions see the row before this update).
            let updated = match &update.change {
                AnswerChange::WrongNumber { max } => {
                    let max = i64::from(*max);
                    tx.query_opt(
                        "UPDATE requests SET wrong_numbers = wrong_numbers + 1,
                             state = CASE WHEN wrong_numbers + 1 >= $1 THEN 'denied' ELSE state END,
                             answered_by = CASE WHEN wrong_numbers + 1 >= $1 THEN $2 ELSE answered_by END,
                             answered_at = CASE WHEN wrong_numbers + 1 >= $1 THEN $3 ELSE answered_at END
                         WHERE id = $4 AND state = 'pending' AND expires_at > $3
                         RETURNING account, state, wrong_numbers",
                        &[&max, &update.device_id, &update.now, &update.request_id],
                    )
                    .await?
                }
                other => {
                    let state = match other {
                        AnswerChange::Approve => "approved",
                        AnswerChange::Report { .. } => "reported",
                        _ => "denied",
                    };
                    tx.query_opt(
                        "UPDATE requests SET state = $1, answered_by = $2, answered_at = $3
                         WHERE id = $4 AND state = 'pending' AND expires_at > $3
                         RETURNING account, state, wrong_numbers",
                        &[&state, &update.device_id, &update.now, &update.request_id],
                    )
                    .await?
                }
            };
            if let Some(row) = updated {
                let account: String = row.try_get(0)?;
                let state: String = row.try_get(1)?;
                let wrong: i64 = row.try_get(2)?;
                if let AnswerChange::Report { pause_until } = update.change {
                    tx.execute(
                        "UPDATE users SET paused_until = GREATEST(paused_until, $1) WHERE username = $2",
                        &[&pause_until, &account],
                    )
                    .await?;
                }
                if let Some(event) = &update.event {
                    insert_event(&tx, event).await?;
                }
                tx.commit().await?;
                let state =
                    RequestState::parse(&state).ok_or(StoreError::Corrupt("request state"))?;
                return Ok(match (state, &update.change) {
                    (RequestState::Pending, AnswerChange::WrongNumber { max }) => {
                        AnswerOutcome::WrongNumber {
                            tries_left: max.saturating_sub(count(wrong)).max(1),
                        }
                    }
                    (state, _) => AnswerOutcome::Updated { state },
                });
            }
            let found = tx
                .query_opt(
                    "SELECT state FROM requests WHERE id = $1",
                    &[&update.request_id],
                )
                .await?;
            let state: Option<String> = found.map(|r| r.try_get(0)).transpose()?;
            Ok(match state.as_deref() {
                None => AnswerOutcome::NotFound,
                Some("pending") => AnswerOutcome::Expired,
                Some(_) => AnswerOutcome::AlreadyAnswered,
            })
        })
    }

    fn issue_session(&self, request_id: String, session: NewSession) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let n = tx
                .execute(
                    "UPDATE requests SET session_issued = TRUE
                     WHERE id = $1 AND kind = 'sign_in' AND state = 'approved' AND NOT session_issued",
                    &[&request_id],
                )
                .await?;
            if n != 1 {
                return Ok(false);
            }
            insert_session(&tx, &session).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    fn create_session(&self, session: NewSession) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            tx.execute(
                "DELETE FROM sessions WHERE expires_at <= $1",
                &[&session.created_at],
            )
            .await?;
            insert_session(&tx, &session).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn session(
        &self,
        token_hash: [u8; 32],
        now: i64,
        idle_s: i64,
    ) -> StoreFuture<'_, Option<SessionRecord>> {
        Box::pin(async move {
            let row = self
                .query_opt(
                    "SELECT account, scope, expires_at, verified_at, last_seen_at FROM sessions
                     WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $3",
                    &[&&token_hash[..], &now, &(now - idle_s)],
                )
                .await?;
            let Some(r) = row else { return Ok(None) };
            let scope: String = r.try_get(1)?;
            let last_seen: i64 = r.try_get(4)?;
            if last_seen < now - super::SESSION_TOUCH_S {
                self.exec(
                    "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2",
                    &[&now, &&token_hash[..]],
                )
                .await?;
            }
            Ok(Some(SessionRecord {
                account: r.try_get(0)?,
                scope: SessionScope::parse(&scope)
                    .ok_or(StoreError::Corrupt("unknown session scope"))?,
                expires_at: r.try_get(2)?,
                verified_at: r.try_get(3)?,
            }))
        })
    }

    fn mark_session_verified(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let n = self
                .exec(
                    "UPDATE sessions SET verified_at = $1, last_seen_at = $1
                     WHERE token_hash = $2 AND expires_at > $1",
                    &[&now, &&token_hash[..]],
                )
                .await?;
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
        Box::pin(async move {
            self.exec(
                "INSERT INTO browsers (id_hash, account, created_at, last_seen_at, label)
                 VALUES ($1, $2, $3, $3, $4)
                 ON CONFLICT (id_hash, account) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at,
                     label = EXCLUDED.label",
                &[&&id_hash[..], &account, &now, &label],
            )
            .await?;
            Ok(())
        })
    }

    fn browser_known(&self, id_hash: [u8; 32], account: String) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            Ok(self
                .query_opt(
                    "SELECT 1 FROM browsers WHERE id_hash = $1 AND account = $2 AND revoked_at IS NULL",
                    &[&&id_hash[..], &account],
                )
                .await?
                .is_some())
        })
    }

    fn add_notice(&self, notice: NewNotice) -> StoreFuture<'_, i64> {
        Box::pin(async move {
            let row = self
                .query_opt(
                    "INSERT INTO notices (account, time, kind, text, device_id)
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    &[
                        &notice.account,
                        &notice.time,
                        &notice.kind,
                        &notice.text,
                        &notice.device_id,
                    ],
                )
                .await?
                .ok_or(StoreError::Corrupt("insert returned nothing"))?;
            Ok(row.try_get(0)?)
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
        Box::pin(async move {
            self.query(
                "SELECT id, time, kind, text FROM notices
                 WHERE account = $1 AND id > $2 AND time >= $3
                   AND (device_id IS NULL OR device_id != $4)
                 ORDER BY id LIMIT $5",
                &[&account, &after, &since, &device_id, &i64::from(limit)],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(NoticeRecord {
                    id: r.try_get(0)?,
                    time: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    text: r.try_get(3)?,
                })
            })
            .collect()
        })
    }

    fn add_admin_token(
        &self,
        name: String,
        token_hash: [u8; 32],
        now: i64,
    ) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let n = self
                .exec(
                    "INSERT INTO admin_tokens (name, token_hash, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                    &[&name, &&token_hash[..], &now],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn admin_token(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, Option<String>> {
        Box::pin(async move {
            let row = self
                .query_opt(
                    "SELECT name, last_used_at FROM admin_tokens
                     WHERE token_hash = $1 AND revoked_at IS NULL",
                    &[&&token_hash[..]],
                )
                .await?;
            let Some(r) = row else { return Ok(None) };
            let name: String = r.try_get(0)?;
            let last: Option<i64> = r.try_get(1)?;
            if last.is_none_or(|t| t < now - super::SESSION_TOUCH_S) {
                self.exec(
                    "UPDATE admin_tokens SET last_used_at = $1 WHERE name = $2",
                    &[&now, &name],
                )
                .await?;
            }
            Ok(Some(name))
        })
    }

    fn revoke_admin_token(&self, name: String, now: i64) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let n = self
                .exec(
                    "UPDATE admin_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
                    &[&now, &name],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn admin_tokens(&self) -> StoreFuture<'_, Vec<AdminTokenRecord>> {
        Box::pin(async move {
            self.query(
                "SELECT name, created_at, last_used_at, revoked_at FROM admin_tokens
                 ORDER BY name COLLATE \"C\"",
                &[],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(AdminTokenRecord {
                    name: r.try_get(0)?,
                    created_at: r.try_get(1)?,
                    last_used_at: r.try_get(2)?,
                    revoked_at: r.try_get(3)?,
                })
            })
            .collect()
        })
    }

    fn delete_session(&self, token_hash: [u8; 32]) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.exec(
                "DELETE FROM sessions WHERE token_hash = $1",
                &[&&token_hash[..]],
            )
            .await?;
            Ok(())
        })
    }

    fn delete_sessions(&self, account: String) -> StoreFuture<'_, u32> {
        Box::pin(async move {
            let n = self
                .exec("DELETE FROM sessions WHERE account = $1", &[&account])
                .await?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        })
    }

    fn users(&self) -> StoreFuture<'_, Vec<UserListing>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT {USER_COLUMNS},
                    (SELECT COUNT(*) FROM devices d WHERE d.account = users.username AND d.revoked_at IS NULL)
                 FROM users ORDER BY username COLLATE \"C\""
            );
            self.query(&sql, &[])
                .await?
                .iter()
                .map(|r| {
                    Ok(UserListing {
                        user: user_from_row(r)?,
                        active_devices: count(r.try_get(14)?),
                    })
                })
                .collect()
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
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let n = tx
                .execute(
                    "UPDATE users SET method = $1, second_step = $2 WHERE username = $3",
                    &[&method.as_str(), &second_step.as_str(), &account],
                )
                .await?;
            if n != 1 {
                return Ok(false);
            }
            tx.execute("DELETE FROM sessions WHERE account = $1", &[&account])
                .await?;
            tx.execute("DELETE FROM login_flows WHERE account = $1", &[&account])
                .await?;
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
            )
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    fn set_user_flags(&self, account: String, flags: UserFlags) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let groups = flags.groups.as_ref().map(|g| g.join(","));
            let n = self
                .exec(
                    "UPDATE users SET is_admin = COALESCE($1, is_admin),
                                      enforce_2sv = COALESCE($2, enforce_2sv),
                                      groups = COALESCE($3, groups)
                     WHERE username = $4",
                    &[&flags.is_admin, &flags.enforce_2sv, &groups, &account],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn enforced_groups(&self) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async move {
            self.query(
                "SELECT name FROM enforced_groups ORDER BY name COLLATE \"C\"",
                &[],
            )
            .await?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
        })
    }

    fn set_group_enforced(&self, group: String, enforced: bool) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            if enforced {
                self.exec(
                    "INSERT INTO enforced_groups (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
                    &[&group],
                )
                .await?;
            } else {
                self.exec("DELETE FROM enforced_groups WHERE name = $1", &[&group])
                    .await?;
            }
            Ok(())
        })
    }

    fn revoke_all_devices(&self, account: String, now: i64) -> StoreFuture<'_, u32> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            // One conditional UPDATE: a device revoked concurrently by
            // another node is not revoked (or recorded) twice.
            let rows = tx
                .query(
                    "UPDATE devices SET revoked_at = $1, push_token = NULL
                     WHERE account = $2 AND revoked_at IS NULL
                     RETURNING id, created_at",
                    &[&now, &account],
                )
                .await?;
            let mut ids = rows
                .iter()
                .map(|r| Ok((r.try_get::<_, i64>(1)?, r.try_get::<_, String>(0)?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            ids.sort();
            for (_, id) in &ids {
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
                )
                .await?;
            }
            tx.commit().await?;
            Ok(u32::try_from(ids.len()).unwrap_or(u32::MAX))
        })
    }

    fn set_otp_pending(&self, account: String, secret: Option<OtpSecret>) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let n = self
                .exec(
                    "UPDATE users SET otp_pending = $1 WHERE username = $2",
                    &[&secret.as_ref().map(OtpSecret::expose), &account],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn confirm_otp(&self, account: String, step: i64) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let n = self
                .exec(
                    "UPDATE users SET otp_secret = otp_pending, otp_pending = NULL, otp_last_step = $1
                     WHERE username = $2 AND otp_pending IS NOT NULL",
                    &[&step, &account],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn remove_otp(&self, account: String) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let n = self
                .exec(
                    "UPDATE users SET otp_secret = NULL, otp_pending = NULL WHERE username = $1",
                    &[&account],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn use_otp_step(&self, account: String, step: i64) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let n = self
                .exec(
                    "UPDATE users SET otp_last_step = $1
                     WHERE username = $2 AND otp_secret IS NOT NULL AND otp_last_step < $1",
                    &[&step, &account],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn set_backup_email(
        &self,
        account: String,
        email: Option<String>,
        verify: Option<NewEmailToken>,
    ) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let n = tx
                .execute(
                    "UPDATE users SET email = $1, email_verified = FALSE WHERE username = $2",
                    &[&email, &account],
                )
                .await?;
            if n != 1 {
                return Ok(false);
            }
            tx.execute(
                "DELETE FROM email_tokens WHERE account = $1 AND (kind = 'verify' OR used_at IS NULL)",
                &[&account],
            )
            .await?;
            if let Some(t) = &verify {
                insert_email_token(&tx, &account, EmailTokenKind::Verify, t).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    fn verify_email(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, Option<String>> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let used = tx
                .query_opt(
                    "UPDATE email_tokens SET used_at = $2
                     WHERE token_hash = $1 AND kind = 'verify' AND used_at IS NULL AND expires_at > $2
                     RETURNING account, email",
                    &[&&token_hash[..], &now],
                )
                .await?;
            let Some(row) = used else {
                return Ok(None);
            };
            let account: String = row.try_get(0)?;
            let email: String = row.try_get(1)?;
            let n = tx
                .execute(
                    "UPDATE users SET email_verified = TRUE WHERE username = $1 AND email = $2",
                    &[&account, &email],
                )
                .await?;
            tx.commit().await?;
            Ok((n == 1).then_some(account))
        })
    }

    fn create_email_code(
        &self,
        account: String,
        code: NewEmailToken,
    ) -> StoreFuture<'_, EmailCodeOutcome> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let user = tx
                .query_opt(
                    "SELECT email, email_verified FROM users WHERE username = $1 FOR NO KEY UPDATE",
                    &[&account],
                )
                .await?;
            let verified = match &user {
                Some(r) => {
                    let email: Option<String> = r.try_get(0)?;
                    let ok: bool = r.try_get(1)?;
                    ok && email.as_deref() == Some(code.email.as_str())
                }
                None => false,
            };
            if !verified {
                return Ok(EmailCodeOutcome::NoVerifiedEmail);
            }
            insert_email_token(&tx, &account, EmailTokenKind::Code, &code).await?;
            tx.commit().await?;
            Ok(EmailCodeOutcome::Created)
        })
    }

    fn use_email_code(
        &self,
        account: String,
        code_hash: [u8; 32],
        now: i64,
    ) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let n = self
                .exec(
                    "UPDATE email_tokens SET used_at = $1
                     WHERE token_hash = $2 AND account = $3 AND kind = 'code'
                       AND used_at IS NULL AND expires_at > $1",
                    &[&now, &&code_hash[..], &account],
                )
                .await?;
            Ok(n == 1)
        })
    }

    fn reserve_attempts(&self, budgets: Vec<Budget>, now: i64) -> StoreFuture<'_, Reservation> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            // One reservation per key at a time, across nodes: a transaction
            // advisory lock per distinct key, taken in sorted order (so two
            // reservations sharing keys cannot deadlock), held until commit.
            let keys = Budget::distinct_keys(&budgets);
            for key in &keys {
                tx.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                    &[&ATTEMPT_LOCK_CLASS, key],
                )
                .await?;
            }
            for (index, b) in budgets.iter().enumerate() {
                let row = tx
                    .query_one(
                        "SELECT COUNT(*), MIN(time) FROM attempts WHERE key = $1 AND time > $2",
                        &[&b.key, &(now - b.window_s)],
                    )
                    .await?;
                if let Some(refused) = b.refusal(index, row.try_get(0)?, row.try_get(1)?, now) {
                    return Ok(refused);
                }
            }
            let mut ids = Vec::with_capacity(keys.len());
            for key in &keys {
                let id: i64 = tx
                    .query_one(
                        "INSERT INTO attempts (key, time) VALUES ($1, $2) RETURNING id",
                        &[key, &now],
                    )
                    .await?
                    .try_get(0)?;
                ids.push(id);
            }
            tx.commit().await?;
            Ok(Reservation::Granted(ids))
        })
    }

    fn release_attempts(&self, ids: Vec<i64>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            if !ids.is_empty() {
                self.exec("DELETE FROM attempts WHERE id = ANY($1)", &[&ids])
                    .await?;
            }
            Ok(())
        })
    }

    fn block_ip_if_due(
        &self,
        ip: String,
        now: i64,
        policy: IpBlockPolicy,
    ) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let ip_key = super::ip_failure_key(&ip);
            // The same lock as reservations on this key: the count and the
            // block are one step, so the block (and its event) is made once.
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&ATTEMPT_LOCK_CLASS, &ip_key],
            )
            .await?;
            let already = tx
                .query_opt(
                    "SELECT 1 FROM ip_blocks WHERE ip = $1 AND (until IS NULL OR until > $2)",
                    &[&ip, &now],
                )
                .await?
                .is_some();
            if already {
                return Ok(true);
            }
            let failures: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM attempts WHERE key = $1 AND time > $2",
                    &[&ip_key, &(now - policy.window_s)],
                )
                .await?
                .try_get(0)?;
            if policy.max_failures == 0 || failures < i64::from(policy.max_failures) {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO ip_blocks (ip, blocked_at, until, failures) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (ip) DO UPDATE SET blocked_at = EXCLUDED.blocked_at,
                     until = EXCLUDED.until, failures = EXCLUDED.failures",
                &[&ip, &now, &policy.block_s.map(|s| now + s), &failures],
            )
            .await?;
            insert_event(
                &tx,
                &NewEvent {
                    time: now,
                    kind: "ip_blocked",
                    account: None,
                    device_id: None,
                    request_id: None,
                    detail: format!("ip={ip} failures={failures}"),
                },
            )
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    fn ip_block(&self, ip: String, now: i64) -> StoreFuture<'_, Option<IpBlock>> {
        Box::pin(async move {
            self.query_opt(
                "SELECT ip, blocked_at, until, failures FROM ip_blocks
                 WHERE ip = $1 AND (until IS NULL OR until > $2)",
                &[&ip, &now],
            )
            .await?
            .map(|r| ip_block_from_row(&r))
            .transpose()
        })
    }

    fn ip_blocks(&self, now: i64) -> StoreFuture<'_, Vec<IpBlock>> {
        Box::pin(async move {
            self.query(
                "SELECT ip, blocked_at, until, failures FROM ip_blocks
                 WHERE until IS NULL OR until > $1 ORDER BY blocked_at DESC, ip COLLATE \"C\"",
                &[&now],
            )
            .await?
            .iter()
            .map(ip_block_from_row)
            .collect()
        })
    }

    fn unblock_ip(&self, ip: String) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let n = tx
                .execute("DELETE FROM ip_blocks WHERE ip = $1", &[&ip])
                .await?;
            tx.execute(
                "DELETE FROM attempts WHERE key = $1",
                &[&super::ip_failure_key(&ip)],
            )
            .await?;
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    fn prune(&self, before: PruneBefore) -> StoreFuture<'_, Pruned> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let mut pruned = Pruned::default();
            for (target, sql, cut) in super::retention::STATEMENTS {
                let n = tx
                    .execute(&sql.replace("{p}", "$1"), &[&before.get(*cut)])
                    .await?;
                pruned.add(*target, n);
            }
            tx.commit().await?;
            Ok(pruned)
        })
    }

    fn create_flow(&self, flow: LoginFlow) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let reauth = flow.reauth_of.as_ref().map(|h| h.to_vec());
            self.exec(
                "INSERT INTO login_flows (token_hash, account, created_at, expires_at, request_id, reauth_of, next)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &&flow.token_hash[..],
                    &flow.account,
                    &flow.created_at,
                    &flow.expires_at,
                    &flow.request_id,
                    &reauth,
                    &flow.next,
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn flow(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, Option<LoginFlow>> {
        Box::pin(async move {
            self.query_opt(
                "SELECT token_hash, account, created_at, expires_at, request_id, reauth_of, next
                 FROM login_flows WHERE token_hash = $1 AND expires_at > $2",
                &[&&token_hash[..], &now],
            )
            .await?
            .map(|r| flow_from_row(&r))
            .transpose()
        })
    }

    fn consume_flow(&self, token_hash: [u8; 32], now: i64) -> StoreFuture<'_, Option<LoginFlow>> {
        Box::pin(async move {
            self.query_opt(
                "DELETE FROM login_flows WHERE token_hash = $1 AND expires_at > $2
                 RETURNING token_hash, account, created_at, expires_at, request_id, reauth_of, next",
                &[&&token_hash[..], &now],
            )
            .await?
            .map(|r| flow_from_row(&r))
            .transpose()
        })
    }

    fn set_flow_request(&self, token_hash: [u8; 32], request_id: String) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.exec(
                "UPDATE login_flows SET request_id = $1 WHERE token_hash = $2",
                &[&request_id, &&token_hash[..]],
            )
            .await?;
            Ok(())
        })
    }

    fn delete_flow(&self, token_hash: [u8; 32]) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.exec(
                "DELETE FROM login_flows WHERE token_hash = $1",
                &[&&token_hash[..]],
            )
            .await?;
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
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            // Per-owner quotas hold across nodes: one writer per owner.
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&SYNC_OWNER_LOCK_CLASS, &owner],
            )
            .await?;
            let row = tx
                .query_opt(
                    "SELECT auth_hash, deleted_at, owner FROM sync_spaces WHERE space_id = $1 FOR UPDATE",
                    &[&space_id],
                )
                .await?;
            let outcome = match row {
                Some(row) => {
                    let deleted: Option<i64> = row.try_get(1)?;
                    let stored_owner: Option<String> = row.try_get(2)?;
                    let same_key =
                        crate::crypto::digest_eq(&digest_from(row.try_get(0)?)?, &auth_hash);
                    if deleted.is_some() {
                        SpaceOutcome::Deleted
                    } else if !same_key || stored_owner.as_deref().is_some_and(|o| o != owner) {
                        SpaceOutcome::Forbidden
                    } else {
                        if stored_owner.is_none() {
                            tx.execute(
                                "UPDATE sync_spaces SET owner = $1 WHERE space_id = $2",
                                &[&owner, &space_id],
                            )
                            .await?;
                        }
                        SpaceOutcome::Exists
                    }
                }
                None => {
                    let live: i64 = tx
                        .query_one(
                            "SELECT COUNT(*) FROM sync_spaces WHERE owner = $1 AND deleted_at IS NULL",
                            &[&owner],
                        )
                        .await?
                        .try_get(0)?;
                    if live >= i64::from(quota.spaces) {
                        SpaceOutcome::QuotaExceeded
                    } else {
                        let inserted = tx
                            .execute(
                                "INSERT INTO sync_spaces (space_id, auth_hash, created_at, rev, owner, bytes)
                                 VALUES ($1, $2, $3, 0, $4, 0) ON CONFLICT (space_id) DO NOTHING",
                                &[&space_id, &&auth_hash[..], &now, &owner],
                            )
                            .await?;
                        if inserted == 1 {
                            SpaceOutcome::Created
                        } else {
                            // Made by another owner meanwhile.
                            SpaceOutcome::Forbidden
                        }
                    }
                }
            };
            tx.commit().await?;
            Ok(outcome)
        })
    }

    fn sync_space(&self, space_id: String) -> StoreFuture<'_, Option<SyncSpace>> {
        Box::pin(async move {
            let Some(r) = self
                .query_opt(
                    "SELECT auth_hash, created_at, deleted_at, rev, owner, bytes FROM sync_spaces
                     WHERE space_id = $1",
                    &[&space_id],
                )
                .await?
            else {
                return Ok(None);
            };
            Ok(Some(SyncSpace {
                auth_hash: digest_from(r.try_get(0)?)?,
                created_at: r.try_get(1)?,
                deleted_at: r.try_get(2)?,
                rev: r.try_get(3)?,
                owner: r.try_get(4)?,
                bytes: r.try_get(5)?,
            }))
        })
    }

    fn sync_entries_since(
        &self,
        space_id: String,
        since: i64,
        limit: u32,
    ) -> StoreFuture<'_, Vec<SyncBlob>> {
        Box::pin(async move {
            let rows = self
                .query(
                    "SELECT entry_id, rev, blob FROM sync_entries
                     WHERE space_id = $1 AND rev > $2 ORDER BY rev LIMIT $3",
                    &[&space_id, &since, &i64::from(limit)],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(SyncBlob {
                        entry_id: r.try_get(0)?,
                        rev: r.try_get(1)?,
                        blob: r.try_get(2)?,
                    })
                })
                .collect()
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
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            // Lock order: the owner (its byte quota spans its spaces), then
            // the space row, which serialises writers of one space across
            // nodes (revisions stay gap-free and increasing).
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&SYNC_OWNER_LOCK_CLASS, &owner],
            )
            .await?;
            let Some(space) = tx
                .query_opt(
                    "SELECT rev, deleted_at, owner, bytes FROM sync_spaces WHERE space_id = $1 FOR UPDATE",
                    &[&space_id],
                )
                .await?
            else {
                return Ok(SyncPutOutcome::Gone);
            };
            let deleted: Option<i64> = space.try_get(1)?;
            if deleted.is_some() {
                return Ok(SyncPutOutcome::Gone);
            }
            let stored_owner: Option<String> = space.try_get(2)?;
            if stored_owner.as_deref().is_some_and(|o| o != owner) {
                return Ok(SyncPutOutcome::Forbidden);
            }
            let mut rev: i64 = space.try_get(0)?;
            let mut space_bytes: i64 = space.try_get(3)?;
            let others: i64 = tx
                .query_one(
                    "SELECT COALESCE(SUM(bytes), 0)::BIGINT FROM sync_spaces WHERE owner = $1 AND space_id != $2",
                    &[&owner, &space_id],
                )
                .await?
                .try_get(0)?;
            let mut count: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM sync_entries WHERE space_id = $1",
                    &[&space_id],
                )
                .await?
                .try_get(0)?;
            let mut results = Vec::with_capacity(puts.len());
            for put in puts {
                let current = tx
                    .query_opt(
                        "SELECT rev, blob FROM sync_entries WHERE space_id = $1 AND entry_id = $2",
                        &[&space_id, &put.entry_id],
                    )
                    .await?;
                let current: Option<(i64, Vec<u8>)> = match current {
                    Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
                    None => None,
                };
                let current_rev = current.as_ref().map_or(0, |c| c.0);
                if current_rev != put.base_rev {
                    let (rev, blob) = current.unwrap_or((0, Vec::new()));
                    results.push(SyncPutResult::Conflict(SyncBlob {
                        entry_id: put.entry_id,
                        rev,
                        blob,
                    }));
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
                    "INSERT INTO sync_entries (space_id, entry_id, rev, blob, updated_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (space_id, entry_id) DO UPDATE SET rev = EXCLUDED.rev, blob = EXCLUDED.blob,
                         updated_at = EXCLUDED.updated_at",
                    &[&space_id, &put.entry_id, &rev, &put.blob, &now],
                )
                .await?;
                results.push(SyncPutResult::Stored { rev });
            }
            tx.execute(
                "UPDATE sync_spaces SET rev = $1, bytes = $2, owner = $3 WHERE space_id = $4",
                &[&rev, &space_bytes, &owner, &space_id],
            )
            .await?;
            tx.commit().await?;
            Ok(SyncPutOutcome::Done(results))
        })
    }

    fn sync_delete_space(&self, space_id: String, now: i64) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let n = tx
                .execute(
                    "UPDATE sync_spaces SET deleted_at = $1 WHERE space_id = $2 AND deleted_at IS NULL",
                    &[&now, &space_id],
                )
                .await?;
            if n == 1 {
                tx.execute("DELETE FROM sync_entries WHERE space_id = $1", &[&space_id])
                    .await?;
                tx.execute(
                    "UPDATE sync_spaces SET bytes = 0 WHERE space_id = $1",
                    &[&space_id],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
    }

    fn add_event(&self, event: NewEvent) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let c = self.client().await?;
            insert_event(&c, &event).await
        })
    }

    fn events(&self, limit: u32) -> StoreFuture<'_, Vec<Event>> {
        Box::pin(async move {
            let mut out = self
                .query(
                    "SELECT id, time, kind, account, device_id, request_id, detail FROM events
                     ORDER BY id DESC LIMIT $1",
                    &[&i64::from(limit)],
                )
                .await?
                .iter()
                .map(|r| {
                    Ok(Event {
                        id: r.try_get(0)?,
                        time: r.try_get(1)?,
                        kind: r.try_get(2)?,
                        account: r.try_get(3)?,
                        device_id: r.try_get(4)?,
                        request_id: r.try_get(5)?,
                        detail: r.try_get(6)?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            out.reverse();
            Ok(out)
        })
    }
}
