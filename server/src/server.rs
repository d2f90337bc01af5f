//! Starting and stopping the server: [`start`] and [`RunningServer`].
//!
//! `start` prepares everything that can fail before accepting a connection
//! (data directory, database (SQLite file or PostgreSQL) and migrations, TLS key and certificate, seed
//! key, push senders), binds the listener (port 0 allowed), and serves
//! HTTPS with rustls/ring through axum-server on a background task. The
//! returned handle exposes what tests, the CLI demo and benchmarks need, and
//! shuts down gracefully: long-polls are woken and answered, in-flight
//! requests get up to 5 seconds.

use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;
use countersign_core::approve::protocol::MAX_REQUEST_TTL_S;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::accounts::{self, Event, SignInMethod};
use crate::config::{Database, ServerConfig};
use crate::crypto::{hash_password, random_token, sha256};
use crate::error::ServerError;
use crate::hub::{Hub, LocalHub};
use crate::log::Logger;
use crate::push::PushDispatcher;
use crate::state::Shared;
use crate::store::{pg_wake, PgStore, SqliteStore, Store};
use crate::tls::{self, TlsMaterial};

/// A TLS handshake must finish within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// An HTTP/1 request's headers must arrive within this.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Grace period for in-flight requests at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Longest server name (characters).
const MAX_NAME_CHARS: usize = 64;

/// A server accepting HTTPS connections. Dropping it stops the server
/// abruptly; call [`RunningServer::shutdown`] for a graceful stop.
pub struct RunningServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    cert_pem: String,
    handle: Handle<SocketAddr>,
    shutdown_tx: watch::Sender<bool>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .field("server_id", &self.shared.server_id)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first public URL (`https://…`), what phones are told to use.
    pub fn base_url(&self) -> &str {
        self.shared.public_urls.first().map_or("", String::as_str)
    }

    /// All public URLs, in order.
    pub fn public_urls(&self) -> &[String] {
        &self.shared.public_urls
    }

    /// The stable random server id.
    pub fn server_id(&self) -> &str {
        &self.shared.server_id
    }

    /// The server name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// SHA-256 of the TLS certificate's SubjectPublicKeyInfo (what phones pin).
    pub fn spki_sha256(&self) -> [u8; 32] {
        self.shared.spki_sha256
    }

    /// The TLS certificate, PEM (tests and tools that trust it directly).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Makes a named admin API token and returns it (shown once; only its
    /// digest is stored). `countersign-server token create` does the same
    /// on the data directory.
    pub async fn create_admin_token(&self, name: &str) -> Result<String, ServerError> {
        new_admin_token(self.shared.store.as_ref(), name, self.shared.now()).await
    }

    /// Creates a user (`password` may be `None` only for [`SignInMethod::Approve`]).
    pub async fn create_user(
        &self,
        username: &str,
        password: Option<&str>,
        method: SignInMethod,
    ) -> Result<(), ServerError> {
        accounts::create_user(&self.shared, username, password, method).await
    }

    /// A one-time pairing invitation URI (`countersign://pair?…`) for `username`.
    pub async fn pairing_invite(&self, username: &str) -> Result<String, ServerError> {
        Ok(accounts::pairing_invite(&self.shared, username).await?.0)
    }

    /// The most recent 1000 admin events, oldest first.
    pub async fn events(&self) -> Result<Vec<Event>, ServerError> {
        accounts::events(&self.shared, 1000).await
    }

    /// Removes old records now (the server also does this at start and
    /// hourly; see [`crate::store::Retention`]).
    pub async fn prune_now(&self) -> Result<crate::store::Pruned, ServerError> {
        prune(&self.shared).await
    }

    /// Stops accepting connections, ends long-polls, and waits (up to 5 s)
    /// for in-flight requests.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        let _ = self.shutdown_tx.send(true);
        self.handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(ServerError::io("serve", self.addr.to_string(), e)),
                Err(_) => return Err(ServerError::Internal("server task failed".into())),
            }
        }
        self.shared.log(format_args!("server stopped"));
        Ok(())
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if self.task.is_some() {
            let _ = self.shutdown_tx.send(true);
            self.handle.shutdown();
        }
    }
}

/// Creates `dir` (mode 0700) if missing.
fn ensure_dir(dir: &Path) -> Result<(), ServerError> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| ServerError::io("create data directory", dir, e))?;
    }
    Ok(())
}

/// Longest admin token name.
const MAX_TOKEN_NAME_CHARS: usize = 64;

/// Makes an admin token called `name` in `store`: 32 random bytes shown
/// once, SHA-256 stored.
pub(crate) async fn new_admin_token(
    store: &dyn Store,
    name: &str,
    now: i64,
) -> Result<String, ServerError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_TOKEN_NAME_CHARS
        || name
            .chars()
            .any(countersign_core::approve::protocol::is_invisible)
    {
        return Err(ServerError::invalid(format!(
            "a token name is 1 to {MAX_TOKEN_NAME_CHARS} visible characters"
        )));
    }
    let token = format!("csadm_{}", random_token()?);
    if !store
        .add_admin_token(name.to_owned(), sha256(token.as_bytes()), now)
        .await?
    {
        return Err(ServerError::invalid(format!(
            "an admin token named {name:?} exists (names of revoked tokens stay taken)"
        )));
    }
    Ok(token)
}

/// Refuses a data directory that others may write to: whoever can write
/// there can replace the TLS key, the seed key or the database.
fn check_dir_permissions(dir: &Path) -> Result<(), ServerError> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = fs::metadata(dir).map_err(|e| ServerError::io("read data directory", dir, e))?;
    let mode = meta.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(ServerError::invalid(format!(
            "the data directory {} is writable by its group or by everyone (mode {:o}); run chmod 700 on it",
            dir.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

/// Opens `<dir>/server.db`, creating it with mode 0600 first (it holds
/// password hashes; SQLite gives its -wal and -shm files the same mode).
fn open_sqlite(dir: &Path) -> Result<SqliteStore, ServerError> {
    let path = dir.join("server.db");
    if !path.exists() {
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| ServerError::io("create database", &path, e))?;
    }
    Ok(SqliteStore::open(&path)?)
}

struct Prepared {
    /// `None` when the state lives in PostgreSQL.
    store: Option<SqliteStore>,
    tls: TlsMaterial,
    seed_key: crate::twostep::seal::SeedKey,
    dummy_hash: String,
}

fn prepare(
    data_dir: PathBuf,
    name: String,
    hostnames: Vec<String>,
    sqlite: bool,
) -> Result<Prepared, ServerError> {
    ensure_dir(&data_dir)?;
    check_dir_permissions(&data_dir)?;
    let store = if sqlite {
        Some(open_sqlite(&data_dir)?)
    } else {
        None
    };
    let tls = tls::load_or_create(&data_dir, &name, &hostnames)?;
    let seed_key = crate::twostep::seal::SeedKey::load_or_create(&data_dir)?;
    let dummy_hash = hash_password(&random_token()?)?;
    Ok(Prepared {
        store,
        tls,
        seed_key,
        dummy_hash,
    })
}

fn check_config(config: &ServerConfig) -> Result<(), ServerError> {
    let n = config.name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS {
        return Err(ServerError::invalid(format!(
            "server name must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    if !(1..=MAX_REQUEST_TTL_S).contains(&config.request_ttl_s) {
        return Err(ServerError::invalid(format!(
            "request_ttl_s must be 1 to {MAX_REQUEST_TTL_S}"
        )));
    }
    for u in &config.public_urls {
        if !u.starts_with("https://") || u.len() > 256 {
            return Err(ServerError::invalid(
                "public URLs must start with https:// (at most 256 characters)",
            ));
        }
    }
    let l = &config.limits;
    let positive = [
        l.request_window_s,
        l.report_pause_s,
        l.password_failure_window_s,
        l.pairing_token_ttl_s,
        l.session_ttl_s,
        l.session_idle_s,
        l.reauth_window_s,
        l.sync_bytes_per_account,
        l.sync_window_s,
    ];
    if positive.iter().any(|&v| v <= 0)
        || l.requests_per_window == 0
        || l.requests_per_ip_per_window == 0
        || l.sync_spaces_per_account == 0
        || l.sync_writes_per_window == 0
        || l.password_failures_per_user == 0
        || l.password_failures_per_ip == 0
        || l.max_devices_per_account == 0
    {
        return Err(ServerError::invalid(
            "rate limits and lifetimes must be positive",
        ));
    }
    Ok(())
}

/// Starts the server described by `config`.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    check_config(&config)?;
    let logger = Logger::new(config.log_to_stderr);
    let (data_dir, name, hostnames) = (
        config.data_dir.clone(),
        config.name.clone(),
        config.hostnames.clone(),
    );
    let sqlite = config.database == Database::Sqlite;
    let prepared = tokio::task::spawn_blocking(move || prepare(data_dir, name, hostnames, sqlite))
        .await
        .map_err(|_| ServerError::Internal("start-up task failed".into()))??;
    let pg = match &config.database {
        Database::Postgres { url } => Some(PgStore::connect(url).await?),
        Database::Sqlite => None,
    };
    let push = PushDispatcher::new(&config.push, Arc::clone(&config.clock), logger)
        .map_err(|e| ServerError::invalid(e.to_string()))?;
    let rustls_config = tls::server_config(&prepared.tls)?;

    let listener = std::net::TcpListener::bind(config.listen)
        .map_err(|e| ServerError::io("bind", config.listen.to_string(), e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| ServerError::io("configure socket", config.listen.to_string(), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServerError::io("read bound address", config.listen.to_string(), e))?;
    let public_urls = if config.public_urls.is_empty() {
        let mut shown = addr;
        if shown.ip().is_unspecified() {
            shown.set_ip(if addr.is_ipv4() {
                [127, 0, 0, 1].into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        vec![format!("https://{shown}")]
    } else {
        config
            .public_urls
            .iter()
            .map(|u| u.trim_end_matches('/').to_owned())
            .collect()
    };

    let store: Arc<dyn Store> = match (&pg, prepared.store) {
        (Some(pg), _) => Arc::new(pg.clone()),
        (None, Some(sqlite)) => Arc::new(sqlite),
        (None, None) => return Err(ServerError::Internal("no database opened".into())),
    };
    let server_id = store.server_id().await?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    // PostgreSQL: wake-ups also travel to (and from) the other nodes.
    let hub = match &pg {
        None => Hub::default(),
        Some(pg) => {
            let local = Arc::new(LocalHub::default());
            let remote = pg_wake::start(
                pg,
                Arc::clone(&local),
                shutdown_rx.clone(),
                logger,
                Arc::clone(&config.clock),
            )?;
            Hub::with_remote(local, Box::new(remote))
        }
    };
    let shared = Arc::new(Shared {
        store,
        clock: Arc::clone(&config.clock),
        hub,
        push,
        limits: config.limits.clone(),
        request_ttl_s: config.request_ttl_s,
        server_id,
        name: config.name.clone(),
        public_urls,
        spki_sha256: prepared.tls.spki_sha256,
        dummy_hash: prepared.dummy_hash,
        seed_key: prepared.seed_key,
        shutdown: shutdown_rx,
        logger,
        mailer: config
            .smtp
            .as_ref()
            .map(crate::twostep::email::Mailer::new)
            .transpose()?,
        ip_block: config.ip_block,
        retention: config.retention,
        trusted_proxies: crate::api::forwarded::TrustedProxies::new(config.trusted_proxies.clone()),
        pairing: config.pairing,
    });

    let app =
        crate::api::router(Arc::clone(&shared)).merge(crate::web::router(Arc::clone(&shared)));
    let handle = Handle::new();
    // TCP_NODELAY: without it, Nagle holds the response behind TLS 1.3's
    // session tickets until the client's delayed ACK (~40 ms per new
    // connection, measured in docs/benchmarks.md).
    let acceptor =
        axum_server::tls_rustls::RustlsAcceptor::new(RustlsConfig::from_config(rustls_config))
            .handshake_timeout(HANDSHAKE_TIMEOUT)
            .acceptor(axum_server::accept::NoDelayAcceptor::new());
    let mut server = axum_server::from_tcp(listener)
        .map_err(|e| ServerError::io("listen", addr.to_string(), e))?
        .acceptor(acceptor)
        .handle(handle.clone());
    // A client that opens a connection and then stalls (no TLS handshake,
    // or headers sent a byte at a time) is cut off within seconds instead
    // of holding a connection forever; an HTTP/2 peer that stops answering
    // pings is dropped too.
    let http = server.http_builder();
    http.http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    http.http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(10));
    // Once now (before the first request, so nothing races with it), then
    // hourly in the background.
    if let Err(e) = prune(&shared).await {
        shared.log(format_args!("pruning old records failed: {e}"));
    }
    let task = tokio::spawn(server.serve(app.into_make_service_with_connect_info::<SocketAddr>()));
    shared.log(format_args!(
        "listening on {addr} as server {}",
        shared.server_id
    ));
    tokio::spawn(prune_hourly(Arc::clone(&shared)));
    Ok(RunningServer {
        shared,
        addr,
        cert_pem: prepared.tls.cert_pem,
        handle,
        shutdown_tx,
        task: Some(task),
    })
}

/// How often old records are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

async fn prune(shared: &Shared) -> Result<crate::store::Pruned, ServerError> {
    let pruned = shared
        .store
        .prune(shared.retention.before(shared.now()))
        .await?;
    if pruned != crate::store::Pruned::default() {
        shared.log(format_args!(
            "pruned {} old requests, {} old events, {} expired records",
            pruned.requests, pruned.events, pruned.other
        ));
    }
    Ok(pruned)
}

/// Prunes every hour until shutdown (the start-up prune is done by
/// [`start`]). A failed prune is logged and tried again at the next tick
/// (nothing depends on it).
async fn prune_hourly(shared: Arc<Shared>) {
    let mut stop = shared.shutdown.clone();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + PRUNE_EVERY, PRUNE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = prune(&shared).await {
                    shared.log(format_args!("pruning old records failed: {e}"));
                }
            }
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// Adds a user to the database in `data_dir` without starting the server
/// (the `countersign-server user add` command). Safe while a server runs on
/// the same directory (SQLite locking).
pub async fn add_user(
    data_dir: &Path,
    username: &str,
    password: Option<&str>,
    method: SignInMethod,
    now: i64,
) -> Result<(), ServerError> {
    let dir = data_dir.to_path_buf();
    let store = tokio::task::spawn_blocking(move || {
        ensure_dir(&dir)?;
        check_dir_permissions(&dir)?;
        open_sqlite(&dir)
    })
    .await
    .map_err(|_| ServerError::Internal("start-up task failed".into()))??;
    accounts::create_user_in(&store, now, username, password, method).await
}

/// Like [`add_user`], against the chosen database: with
/// [`Database::Postgres`] the user is added there (creating the schema if
/// the database is empty) and `data_dir` is not touched.
pub async fn add_user_to(
    database: &Database,
    data_dir: &Path,
    username: &str,
    password: Option<&str>,
    method: SignInMethod,
    now: i64,
) -> Result<(), ServerError> {
    add_user_with(
        database,
        data_dir,
        username,
        password,
        method,
        crate::store::UserFlags::default(),
        now,
    )
    .await
}

/// Opens the state of a server that may be stopped or running: SQLite in
/// `data_dir` (locking makes that safe beside a running server), or the
/// PostgreSQL database. For the local commands (`user add`, `token …`).
pub async fn open_store(
    database: &Database,
    data_dir: &Path,
) -> Result<Box<dyn crate::store::Store>, ServerError> {
    Ok(match database {
        Database::Sqlite => {
            let dir = data_dir.to_path_buf();
            Box::new(
                tokio::task::spawn_blocking(move || {
                    ensure_dir(&dir)?;
                    check_dir_permissions(&dir)?;
                    open_sqlite(&dir)
                })
                .await
                .map_err(|_| ServerError::Internal("start-up task failed".into()))??,
            )
        }
        Database::Postgres { url } => Box::new(PgStore::connect(url).await?),
    })
}

/// `countersign-server token create NAME`: a new admin API token (printed
/// once by the command; only its digest is stored).
pub async fn create_admin_token(
    database: &Database,
    data_dir: &Path,
    name: &str,
    now: i64,
) -> Result<String, ServerError> {
    let store = open_store(database, data_dir).await?;
    new_admin_token(store.as_ref(), name, now).await
}

/// `countersign-server token revoke NAME`; `false` if there was no such
/// unrevoked token.
pub async fn revoke_admin_token(
    database: &Database,
    data_dir: &Path,
    name: &str,
    now: i64,
) -> Result<bool, ServerError> {
    let store = open_store(database, data_dir).await?;
    Ok(store
        .revoke_admin_token(name.trim().to_owned(), now)
        .await?)
}

/// `countersign-server token list`.
pub async fn admin_tokens(
    database: &Database,
    data_dir: &Path,
) -> Result<Vec<crate::store::AdminTokenRecord>, ServerError> {
    let store = open_store(database, data_dir).await?;
    Ok(store.admin_tokens().await?)
}

/// Like [`add_user_to`], also setting the admin flag, groups and 2-step
/// enforcement (`None` fields: the defaults — not admin, no groups, not
/// enforced). The user is created first; flags follow in a second step.
pub async fn add_user_with(
    database: &Database,
    data_dir: &Path,
    username: &str,
    password: Option<&str>,
    method: SignInMethod,
    flags: crate::store::UserFlags,
    now: i64,
) -> Result<(), ServerError> {
    if let Some(groups) = &flags.groups {
        for g in groups {
            accounts::check_group(g)?;
        }
    }
    let store = open_store(database, data_dir).await?;
    accounts::create_user_in(store.as_ref(), now, username, password, method).await?;
    if flags != crate::store::UserFlags::default() {
        store.set_user_flags(username.to_owned(), flags).await?;
    }
    Ok(())
}
