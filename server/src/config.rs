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

/// Everything [`crate::start`] needs.
#[derive(Clone)]
pub struct ServerConfig {
    /// Directory for `server.db`, `cert.pem`, `key.pem` and `admin.token`
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
    /// The failure window, seconds (default 900).
    pub password_failure_window_s: i64,
    /// Active (not revoked) devices per account (default 20).
    pub max_devices_per_account: u32,
    /// Lifetime of a pairing invitation, seconds (default 600).
    pub pairing_token_ttl_s: i64,
    /// Lifetime of a session token, seconds (default 12 h).
    pub session_ttl_s: i64,
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
