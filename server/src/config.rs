//! What a deployment chooses: where data lives, where to listen, how the
//! server is named and reached, limits, and push credentials.
//!
//! [`ServerConfig::new`] gives safe defaults; callers (the binary, tests,
//! the demo) change fields afterwards. Values are checked by
//! [`crate::start`], which clamps the request lifetime to the protocol's
//! `MAX_REQUEST_TTL_S`. `Debug` never prints push credentials.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use countersign_core::approve::protocol::MAX_REQUEST_TTL_S;

use crate::clock::{Clock, SystemClock};
use crate::push::{ApnsConfig, FcmConfig, PushSender};
pub use crate::store::{IpBlockPolicy, Retention};

/// Everything [`crate::start`] needs.
#[derive(Clone)]
pub struct ServerConfig {
    /// Directory for `server.db`, `cert.pem`, `key.pem` and `seed.key`
    /// (created with mode 0700 if missing).
    pub data_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Human name of the server, shown on the phone ("Home NAS").
    pub name: String,
    /// Base URLs the phone should use (`https://host:port`), in order.
    /// Empty: `https://<bound address>`.
    pub public_urls: Vec<String>,
    /// Extra DNS names or IP addresses for the self-signed certificate
    /// (always included: `localhost`, `127.0.0.1`, `::1`). Only used when the
    /// certificate is first made.
    pub hostnames: Vec<String>,
    /// How long a sign-in request stays pending, seconds (1..=60, default 60).
    pub request_ttl_s: i64,
    /// Push-bombing and guessing limits.
    pub limits: RateLimits,
    /// Push wake-ups (none configured: no push).
    pub push: PushConfig,
    /// Source of "now" (tests inject a [`crate::ManualClock`]).
    pub clock: Arc<dyn Clock>,
    /// Print one line per notable action to stderr (never secrets).
    pub log_to_stderr: bool,
    /// Outgoing mail (backup email verification and emergency codes);
    /// `None`: backup email is not offered.
    pub smtp: Option<SmtpConfig>,
    /// When an address is blocked after failed sign-ins.
    pub ip_block: IpBlockPolicy,
    /// Where the state lives (default: SQLite in `data_dir`).
    pub database: Database,
    /// Load balancers / reverse proxies in front of this server: for a
    /// request from one of them the client's address is taken from
    /// `X-Forwarded-For` (for IP auto-block and the sign-in's context).
    /// Empty (the default): the TCP peer is the client and the header is
    /// ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long old sign-in requests and events are kept (pruned at start
    /// and hourly).
    pub retention: Retention,
    /// Whether phones may pair by username and password (always with the
    /// account's second step) or only by invitation QR codes.
    pub pairing: PairingPolicy,
}

/// How phones may pair (`--pairing`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PairingPolicy {
    /// By invitation, or by username + password with the account's second
    /// step (approval on a paired phone, or an authenticator code; the
    /// password alone only while the account has no second step).
    #[default]
    Password,
    /// Only by invitation QR codes (from a freshly verified web session or
    /// an admin); `POST /v1/pair` with a password is refused.
    InvitationOnly,
}

impl std::str::FromStr for PairingPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "password" => Ok(Self::Password),
            "invitation-only" => Ok(Self::InvitationOnly),
            _ => Err("pairing must be password or invitation-only".into()),
        }
    }
}

impl ServerConfig {
    /// Defaults: 60 s requests, default [`RateLimits`], no push, system clock,
    /// no logging.
    pub fn new(data_dir: impl Into<PathBuf>, listen: SocketAddr, name: impl Into<String>) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen,
            name: name.into(),
            public_urls: Vec::new(),
            hostnames: Vec::new(),
            request_ttl_s: MAX_REQUEST_TTL_S,
            limits: RateLimits::default(),
            push: PushConfig::default(),
            clock: Arc::new(SystemClock),
            log_to_stderr: false,
            smtp: None,
            ip_block: default_ip_block(),
            database: Database::Sqlite,
            trusted_proxies: Vec::new(),
            retention: Retention::default(),
            pairing: PairingPolicy::default(),
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("name", &self.name)
            .field("public_urls", &self.public_urls)
            .field("hostnames", &self.hostnames)
            .field("request_ttl_s", &self.request_ttl_s)
            .field("limits", &self.limits)
            .field("push", &self.push)
            .field("smtp", &self.smtp)
            .field("ip_block", &self.ip_block)
            .field("database", &self.database)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("retention", &self.retention)
            .field("pairing", &self.pairing)
            .finish_non_exhaustive()
    }
}

/// Limits against push bombing, password guessing and runaway pairing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// New sign-in requests allowed per account per window (default 5).
    pub requests_per_window: u32,
    /// That window, seconds (default 600).
    pub request_window_s: i64,
    /// How long new requests are refused after the user reports one,
    /// seconds (default 900).
    pub report_pause_s: i64,
    /// Wrong passwords allowed per username per failure window (default 10).
    pub password_failures_per_user: u32,
    /// Wrong passwords allowed per client IP per failure window (default 50).
    pub password_failures_per_ip: u32,
    /// The failure window, seconds (default 900; failure records older than
    /// a day are dropped, so at most a day counts).
    pub password_failure_window_s: i64,
    /// Active (not revoked) devices per account (default 20).
    pub max_devices_per_account: u32,
    /// Lifetime of a pairing invitation, seconds (default 600).
    pub pairing_token_ttl_s: i64,
    /// Lifetime of a session token, seconds (default 12 h).
    pub session_ttl_s: i64,
    /// Wrong second-step codes (TOTP or email) allowed per account per
    /// window before further attempts are refused (default 5).
    pub second_step_failures_per_user: u32,
    /// That window, seconds (default 900).
    pub second_step_failure_window_s: i64,
    /// Emergency codes mailed per account per hour (default 3).
    pub email_codes_per_hour: u32,
    /// Lifetime of an emergency code, seconds (default 600).
    pub email_code_ttl_s: i64,
    /// Lifetime of a backup-email verification link, seconds (default 24 h).
    pub email_verify_ttl_s: i64,
    /// Time a browser has between the password and the second step,
    /// seconds (default 300).
    pub login_flow_ttl_s: i64,
    /// New Approve requests allowed per client address per request window,
    /// over all accounts (default 10).
    pub requests_per_ip_per_window: u32,
    /// A session unused for this long ends, seconds (default 30 minutes;
    /// `session_ttl_s` bounds it in any case).
    pub session_idle_s: i64,
    /// How recent the last full sign-in (password and second step) must be
    /// for pages that change sign-in security ("sudo mode"), seconds
    /// (default 300).
    pub reauth_window_s: i64,
    /// Live sync spaces per account (default 3).
    pub sync_spaces_per_account: u32,
    /// Bytes of sync ciphertext per account over all its spaces (default
    /// 16 MiB).
    pub sync_bytes_per_account: i64,
    /// Sync writes (space creation, entry batches, deletion) per account
    /// per sync window (default 240).
    pub sync_writes_per_window: u32,
    /// That window, seconds (default 600).
    pub sync_window_s: i64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            requests_per_window: 5,
            request_window_s: 600,
            report_pause_s: 900,
            password_failures_per_user: 10,
            password_failures_per_ip: 50,
            password_failure_window_s: 900,
            max_devices_per_account: 20,
            pairing_token_ttl_s: 600,
            session_ttl_s: 12 * 3600,
            second_step_failures_per_user: 5,
            second_step_failure_window_s: 900,
            email_codes_per_hour: 3,
            email_code_ttl_s: 600,
            email_verify_ttl_s: 24 * 3600,
            login_flow_ttl_s: 300,
            requests_per_ip_per_window: 10,
            session_idle_s: 1800,
            reauth_window_s: 300,
            sync_spaces_per_account: 3,
            sync_bytes_per_account: 16 * 1024 * 1024,
            sync_writes_per_window: 240,
            sync_window_s: 600,
        }
    }
}

/// Which push services wake the phones. Push only ever carries a request id.
#[derive(Clone, Default)]
pub struct PushConfig {
    /// Apple Push Notification service (devices with platform `ios`).
    pub apns: Option<ApnsConfig>,
    /// Firebase Cloud Messaging HTTP v1 (devices with platform `android`).
    pub fcm: Option<FcmConfig>,
    /// PEM bundle of public roots for the push services. `None`: the first
    /// of the usual system bundles that exists (e.g.
    /// `/etc/ssl/certs/ca-certificates.crt`).
    pub ca_bundle: Option<PathBuf>,
    /// A sender used for every device with a push token instead of APNs and
    /// FCM (in-process demos and tests).
    pub custom: Option<Arc<dyn PushSender>>,
}

impl std::fmt::Debug for PushConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConfig")
            .field("apns", &self.apns)
            .field("fcm", &self.fcm)
            .field("ca_bundle", &self.ca_bundle)
            .field("custom", &self.custom.is_some())
            .finish()
    }
}

/// The default auto-block: 10 failed sign-ins from one address within
/// 5 minutes block it for 24 hours (admins can unblock sooner).
pub fn default_ip_block() -> IpBlockPolicy {
    IpBlockPolicy {
        max_failures: 10,
        window_s: 300,
        block_s: Some(24 * 3600),
    }
}

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP (only for a server on the same host or a test sink).
    None,
    /// STARTTLS upgrade, required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl std::str::FromStr for SmtpSecurity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Self::None),
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            _ => Err("SMTP security must be none, starttls or tls".into()),
        }
    }
}

/// Where and how the server sends mail. `Debug` hides the password.
#[derive(Clone)]
pub struct SmtpConfig {
    /// SMTP server host name or address.
    pub host: String,
    /// Port (25, 465, 587, or a test sink's).
    pub port: u16,
    /// Connection security.
    pub security: SmtpSecurity,
    /// Login name, if the server wants one.
    pub username: Option<String>,
    /// Password for `username`.
    pub password: Option<zeroize::Zeroizing<String>>,
    /// Sender (`Countersign <nas@example.com>`).
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .finish()
    }
}

/// Where the server keeps its state.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Database {
    /// `<data_dir>/server.db` (one node).
    #[default]
    Sqlite,
    /// A PostgreSQL database shared by every node
    /// (`postgres://user[:password]@host[:port]/db`). No TLS to the
    /// database: use a private network or a unix socket. `Debug` hides the
    /// password.
    Postgres {
        /// Connection URL.
        url: String,
    },
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite => f.write_str("Sqlite"),
            Self::Postgres { url } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .finish(),
        }
    }
}

/// `url` with any password replaced by `***` (URL form `user:pw@` and
/// key=value form `password=…`).
pub fn redact_url(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let mut out = url[..scheme_end + 3].to_owned();
        let authority = &rest[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        let tail = &rest[authority_end..];
        out.push_str(&redact_password_param(tail));
        out
    } else {
        redact_password_param(url)
    }
}

/// Replaces the value of `password=` (query or key=value form).
fn redact_password_param(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("password=") {
        let start_ok = i == 0 || matches!(rest.as_bytes()[i - 1], b'?' | b'&' | b' ');
        out.push_str(&rest[..i + "password=".len()]);
        rest = &rest[i + "password=".len()..];
        if start_ok {
            let end = rest.find(['&', ' ']).unwrap_or(rest.len());
            out.push_str("***");
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod database_tests {
    use super::*;

    #[test]
    fn debug_hides_passwords() {
        for (url, shown) in [
            (
                "postgres://cs:s3cret@db:5432/cs",
                "postgres://cs:***@db:5432/cs",
            ),
            ("postgres://cs@db/cs", "postgres://cs@db/cs"),
            (
                "postgres://db/cs?password=s3cret&x=1",
                "postgres://db/cs?password=***&x=1",
            ),
            (
                "host=db user=cs password=s3cret dbname=cs",
                "host=db user=cs password=*** dbname=cs",
            ),
        ] {
            assert_eq!(redact_url(url), shown);
            let d = format!("{:?}", Database::Postgres { url: url.into() });
            assert!(!d.contains("s3cret"), "{d}");
        }
    }
}
