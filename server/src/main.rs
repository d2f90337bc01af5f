//! `countersign-server`: run the reference sign-in server, add a user, or
//! make and revoke admin API tokens.
//!
//! Parse, then validate, then act — using only the library's public API
//! (`start`, `add_user_to`, `create_admin_token`, …), the same API the tests
//! and the demo use. Secrets are never taken from the command line:
//! passwords come from stdin, push credentials from files, and an admin
//! token is printed once by `token create` (only its digest is stored).

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use countersign_server::push::{APNS_PRODUCTION, FCM_PRODUCTION};
use countersign_server::{
    ApnsConfig, Clock, Database, FcmAuth, FcmConfig, ServerConfig, ServiceAccount, SignInMethod,
    SystemClock,
};
use zeroize::Zeroizing;

#[derive(Parser)]
#[command(
    name = "countersign-server",
    version,
    about = "Countersign reference sign-in server (Approve sign-in)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTPS until interrupted.
    Serve(Box<ServeArgs>),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Admin API tokens (named, stored hashed, revocable).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token and print it once.
    Create(TokenArgs),
    /// Revoke a token (the name stays taken).
    Revoke(TokenArgs),
    /// List tokens (names and dates, never the tokens).
    List(TokenListArgs),
}

#[derive(Args)]
struct TokenArgs {
    /// Data directory.
    #[arg(long)]
    data_dir: PathBuf,
    /// Who or what uses the token ("backup-script").
    name: String,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Args)]
struct TokenListArgs {
    /// Data directory.
    #[arg(long)]
    data_dir: PathBuf,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Args)]
struct ServeArgs {
    /// Data directory (database, certificate, TLS key, seed key).
    #[arg(long)]
    data_dir: PathBuf,
    /// Address to listen on, e.g. 0.0.0.0:8443 (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Server name shown on phones.
    #[arg(long, default_value = "Countersign")]
    name: String,
    /// Public base URL for phones (repeatable; default https://<listen address>).
    #[arg(long = "public-url")]
    public_urls: Vec<String>,
    /// Extra certificate name (DNS name or IP; repeatable; first start only).
    #[arg(long = "hostname")]
    hostnames: Vec<String>,
    /// Sign-in request lifetime in seconds (1..=60).
    #[arg(long, default_value_t = 60)]
    request_ttl: i64,
    /// New sign-in requests allowed per account per window.
    #[arg(long, default_value_t = 5)]
    requests_per_window: u32,
    /// New sign-in requests allowed per client address per window (all
    /// accounts together).
    #[arg(long, default_value_t = 10)]
    requests_per_ip_per_window: u32,
    /// That window, seconds.
    #[arg(long, default_value_t = 600)]
    request_window: i64,
    /// Pause after a reported request, seconds.
    #[arg(long, default_value_t = 900)]
    report_pause: i64,
    /// APNs .p8 key file (enables APNs).
    #[arg(long, requires_all = ["apns_key_id", "apns_team_id", "apns_topic"])]
    apns_key_file: Option<PathBuf>,
    /// APNs key id.
    #[arg(long)]
    apns_key_id: Option<String>,
    /// Apple team id.
    #[arg(long)]
    apns_team_id: Option<String>,
    /// App bundle id (apns-topic).
    #[arg(long)]
    apns_topic: Option<String>,
    /// APNs endpoint.
    #[arg(long, default_value = APNS_PRODUCTION)]
    apns_endpoint: String,
    /// Firebase project id (default: the service account file's).
    #[arg(long)]
    fcm_project: Option<String>,
    /// Google service-account key file (JSON) for FCM: the server makes and
    /// refreshes its own access tokens (enables FCM).
    #[arg(long, conflicts_with = "fcm_access_token_file")]
    fcm_service_account: Option<PathBuf>,
    /// File holding an OAuth access token for FCM, used as is (Google's
    /// expire after an hour: something else must refresh the file before a
    /// restart; prefer --fcm-service-account).
    #[arg(long, requires = "fcm_project")]
    fcm_access_token_file: Option<PathBuf>,
    /// FCM endpoint.
    #[arg(long, default_value = FCM_PRODUCTION)]
    fcm_endpoint: String,
    /// Don't log to stderr.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    database: DatabaseArgs,
    /// SMTP server for backup email (verification links, emergency codes).
    #[arg(long, requires = "smtp_from")]
    smtp_host: Option<String>,
    /// SMTP port.
    #[arg(long, default_value_t = 587)]
    smtp_port: u16,
    /// SMTP connection security: none, starttls or tls.
    #[arg(long, default_value = "starttls")]
    smtp_security: countersign_server::SmtpSecurity,
    /// Sender address, e.g. "NAS <nas@example.com>".
    #[arg(long)]
    smtp_from: Option<String>,
    /// SMTP login name.
    #[arg(long, requires = "smtp_password_file")]
    smtp_user: Option<String>,
    /// File holding the SMTP password.
    #[arg(long)]
    smtp_password_file: Option<PathBuf>,
    /// Failed sign-ins from one address that block it.
    #[arg(long, default_value_t = 10)]
    ip_block_failures: u32,
    /// Window for counting those failures, seconds.
    #[arg(long, default_value_t = 300)]
    ip_block_window: i64,
    /// How long a block lasts, seconds (0: until an admin unblocks).
    #[arg(long, default_value_t = 86_400)]
    ip_block_for: i64,
    /// A load balancer or reverse proxy in front of this server (address or
    /// CIDR network; repeat for several): for its requests the client's
    /// address is read from X-Forwarded-For. Without it the header is
    /// ignored.
    #[arg(long = "trusted-proxy", value_name = "CIDR", value_parser = countersign_server::parse_trusted_proxy)]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Days answered or expired sign-in requests are kept.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    keep_requests_days: u32,
    /// Days the event log is kept.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    keep_events_days: u32,
    /// How phones may pair: "password" (by invitation, or by username and
    /// password plus the account's second step) or "invitation-only".
    #[arg(long, default_value = "password")]
    pairing: countersign_server::PairingPolicy,
    /// Seconds a web session may sit unused before it ends (besides its
    /// 12-hour lifetime).
    #[arg(long, default_value_t = 1800, value_parser = clap::value_parser!(i64).range(60..=43_200))]
    session_idle: i64,
    /// Seconds a full sign-in (or re-authentication) counts as recent for
    /// pairing, email, method and phone changes ("sudo mode").
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(i64).range(1..=3600))]
    reauth_window: i64,
}

#[derive(Args)]
struct DatabaseArgs {
    /// PostgreSQL URL (postgres://user@host:port/db) shared by every node;
    /// default: SQLite in the data directory. No TLS to the database: use
    /// a private network or a unix socket.
    #[arg(long, env = "COUNTERSIGN_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl DatabaseArgs {
    fn database(&self) -> Database {
        match &self.database_url {
            Some(url) if !url.is_empty() => Database::Postgres { url: url.clone() },
            _ => Database::Sqlite,
        }
    }
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user.
    Add(UserAddArgs),
}

#[derive(Args)]
struct UserAddArgs {
    /// Data directory.
    #[arg(long)]
    data_dir: PathBuf,
    /// Username (at most 64 bytes).
    #[arg(long)]
    username: String,
    /// Sign-in method: password, password_approve or approve.
    #[arg(long)]
    method: SignInMethod,
    /// Read the password from the first line of stdin.
    #[arg(long)]
    password_stdin: bool,
    /// May use the admin web pages.
    #[arg(long)]
    admin: bool,
    /// Group the user belongs to (repeatable).
    #[arg(long = "group")]
    groups: Vec<String>,
    /// Require 2-step verification (set up at the next sign-in).
    #[arg(long)]
    enforce_2sv: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

fn read_secret_file(path: &PathBuf, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

fn serve_config(args: ServeArgs) -> Result<ServerConfig, String> {
    let mut config = ServerConfig::new(args.data_dir, args.listen, args.name);
    config.public_urls = args.public_urls;
    config.hostnames = args.hostnames;
    config.request_ttl_s = args.request_ttl;
    config.limits.requests_per_window = args.requests_per_window;
    config.limits.request_window_s = args.request_window;
    config.limits.requests_per_ip_per_window = args.requests_per_ip_per_window;
    config.limits.report_pause_s = args.report_pause;
    config.log_to_stderr = !args.quiet;
    config.database = args.database.database();
    config.ip_block = countersign_server::IpBlockPolicy {
        max_failures: args.ip_block_failures,
        window_s: args.ip_block_window.max(1),
        block_s: (args.ip_block_for > 0).then_some(args.ip_block_for),
    };
    config.trusted_proxies = args.trusted_proxies.clone();
    config.pairing = args.pairing;
    config.limits.session_idle_s = args.session_idle;
    config.limits.reauth_window_s = args.reauth_window;
    config.retention = countersign_server::Retention {
        requests_days: args.keep_requests_days,
        events_days: args.keep_events_days,
    };
    if let Some(host) = args.smtp_host.clone() {
        let password = match &args.smtp_password_file {
            Some(p) => Some(zeroize::Zeroizing::new(read_secret_file(
                p,
                "SMTP password",
            )?)),
            None => None,
        };
        config.smtp = Some(countersign_server::SmtpConfig {
            host,
            port: args.smtp_port,
            security: args.smtp_security,
            username: args.smtp_user.clone(),
            password,
            from: args.smtp_from.clone().unwrap_or_default(),
        });
    }
    if let Some(key_file) = &args.apns_key_file {
        config.push.apns = Some(ApnsConfig {
            endpoint: args.apns_endpoint,
            topic: args.apns_topic.unwrap_or_default(),
            key_id: args.apns_key_id.unwrap_or_default(),
            team_id: args.apns_team_id.unwrap_or_default(),
            key_pem: read_secret_file(key_file, "APNs key")?,
            extra_root_pem: None,
        });
    }
    let fcm_auth = match (&args.fcm_service_account, &args.fcm_access_token_file) {
        (Some(file), _) => {
            let json = Zeroizing::new(read_secret_file(file, "FCM service account file")?);
            let (account, project) =
                ServiceAccount::from_json(json.as_bytes()).map_err(|e| e.to_string())?;
            Some((FcmAuth::ServiceAccount(account), project))
        }
        (None, Some(file)) => Some((
            FcmAuth::AccessToken(read_secret_file(file, "FCM access token")?),
            None,
        )),
        (None, None) if args.fcm_project.is_some() => {
            return Err(
                "--fcm-project needs --fcm-service-account (or --fcm-access-token-file)".into(),
            )
        }
        (None, None) => None,
    };
    if let Some((auth, file_project)) = fcm_auth {
        let project_id = args
            .fcm_project
            .or(file_project)
            .ok_or("--fcm-project is needed: the service account file names no project_id")?;
        config.push.fcm = Some(FcmConfig {
            endpoint: args.fcm_endpoint,
            project_id,
            auth,
            extra_root_pem: None,
        });
    }
    Ok(config)
}

fn fingerprint(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let data_dir = args.data_dir.clone();
    let config = serve_config(args)?;
    let server = countersign_server::start(config)
        .await
        .map_err(|e| e.to_string())?;
    // Written as one block, and never a panic if whoever started us has
    // closed our stdout (a supervisor that read the URL and went away).
    let mut banner = format!(
        "Countersign server \"{}\" listening on {}\n  server id:         {}\n",
        server.name(),
        server.addr(),
        server.server_id()
    );
    for url in server.public_urls() {
        banner.push_str(&format!("  public URL:        {url}\n"));
    }
    banner.push_str(&format!(
        "  TLS key SHA-256:   {}\n  admin API tokens:  countersign-server token create NAME --data-dir {}\n",
        fingerprint(&server.spki_sha256()),
        data_dir.display()
    ));
    say(&banner);
    wait_for_signal().await;
    say("shutting down\n");
    server.shutdown().await.map_err(|e| e.to_string())
}

async fn user_add(args: UserAddArgs) -> Result<(), String> {
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        Some(line.trim_end_matches(['\n', '\r']).to_owned())
    } else {
        None
    };
    let flags = countersign_server::store::UserFlags {
        is_admin: args.admin.then_some(true),
        enforce_2sv: args.enforce_2sv.then_some(true),
        groups: (!args.groups.is_empty()).then(|| args.groups.clone()),
    };
    countersign_server::add_user_with(
        &args.database.database(),
        &args.data_dir,
        &args.username,
        password.as_deref(),
        args.method,
        flags,
        SystemClock.now(),
    )
    .await
    .map_err(|e| e.to_string())?;
    println!("user {} added ({})", args.username, args.method.as_str());
    Ok(())
}

fn date(t: i64) -> String {
    let u = countersign_core::civil::utc(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        u.year, u.month, u.day, u.hour, u.minute
    )
}

async fn token(cmd: TokenCommand) -> Result<(), String> {
    let now = SystemClock.now();
    match cmd {
        TokenCommand::Create(a) => {
            let token = countersign_server::create_admin_token(
                &a.database.database(),
                &a.data_dir,
                &a.name,
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
            eprintln!(
                "admin token {:?} made; it is shown once, keep it safe (send it as Authorization: Bearer …):",
                a.name.trim()
            );
            println!("{token}");
        }
        TokenCommand::Revoke(a) => {
            let done = countersign_server::revoke_admin_token(
                &a.database.database(),
                &a.data_dir,
                &a.name,
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
            if !done {
                return Err(format!(
                    "no unrevoked admin token named {:?} (countersign-server token list shows them)",
                    a.name.trim()
                ));
            }
            println!("admin token {:?} revoked", a.name.trim());
        }
        TokenCommand::List(a) => {
            let tokens = countersign_server::admin_tokens(&a.database.database(), &a.data_dir)
                .await
                .map_err(|e| e.to_string())?;
            if tokens.is_empty() {
                println!("no admin tokens (make one with: countersign-server token create NAME --data-dir …)");
            }
            for t in tokens {
                let state = match t.revoked_at {
                    Some(_) => "revoked".to_owned(),
                    None => match t.last_used_at {
                        Some(u) => format!("last used {}", date(u)),
                        None => "never used".to_owned(),
                    },
                };
                println!("{}\tmade {}\t{state}", t.name, date(t.created_at));
            }
        }
    }
    Ok(())
}

/// Writes to stdout, ignoring a closed pipe (the server keeps running).
fn say(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(*args).await,
            Command::User(UserCommand::Add(args)) => user_add(args).await,
            Command::Token(cmd) => token(cmd).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
