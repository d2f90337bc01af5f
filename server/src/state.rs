//! The one shared object behind every request handler and helper.
//!
//! Built once by [`crate::start`] and handed to axum as `Arc<Shared>`. It
//! holds the storage, the clock, the wake-up hub, the push dispatcher, the
//! limits and the server's identity; nothing in it changes after start except
//! through the store and the hub, which synchronise themselves.

use std::sync::Arc;

use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::RateLimits;
use crate::hub::Hub;
use crate::log::Logger;
use crate::push::PushDispatcher;
use crate::store::{IpBlockPolicy, Store};
use crate::twostep::email::Mailer;

/// Shared server state.
pub(crate) struct Shared {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub hub: Hub,
    pub push: PushDispatcher,
    pub limits: RateLimits,
    pub request_ttl_s: i64,
    pub server_id: String,
    pub name: String,
    pub public_urls: Vec<String>,
    pub spki_sha256: [u8; 32],
    /// An Argon2id hash of a random password, verified against when the user
    /// is unknown so that unknown and known users take the same time.
    pub dummy_hash: String,
    /// Becomes `true` when the server shuts down (ends long-polls early).
    pub shutdown: watch::Receiver<bool>,
    pub logger: Logger,
    /// Outgoing mail, when SMTP is configured.
    pub mailer: Option<Mailer>,
    /// Auto-block policy for failed sign-ins.
    pub ip_block: IpBlockPolicy,
    /// How long old records are kept.
    pub retention: crate::store::Retention,
    /// Seals TOTP seeds in the database (`<data>/seed.key`).
    pub seed_key: crate::twostep::seal::SeedKey,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: crate::api::forwarded::TrustedProxies,
    /// How phones may pair.
    pub pairing: crate::config::PairingPolicy,
}

impl Shared {
    /// Now, from the injected clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Logs a line (callers pass no secrets).
    pub fn log(&self, line: std::fmt::Arguments<'_>) {
        self.logger.info(self.now(), line);
    }
}
