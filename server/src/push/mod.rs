//! Push wake-ups: tell a phone "there is a sign-in request, come and look".
//!
//! A push carries only the request id — never the number, the nonce, the
//! context or any token — so a push service (or anyone reading it) learns
//! nothing it could use; the phone fetches the request over the
//! authenticated API. Pushes are fire-and-forget: the dispatcher sends
//! them on background tasks with a timeout, and a failure is logged (without
//! the push token) but never fails the sign-in. Phones also long-poll, so a
//! lost push only costs latency.
//!
//! - [`PushSender`]: the trait; [`ApnsSender`] (HTTP/2, ES256 JWT) and
//!   [`FcmSender`] (FCM HTTP v1, OAuth tokens from a service account)
//!   implement it.
//! - Which sender a device gets depends on its platform: `ios` → APNs,
//!   `android` → FCM; [`crate::PushConfig::custom`] overrides both.

mod apns;
mod fcm;
mod jwt;
mod oauth;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use apns::{ApnsConfig, ApnsSender, APNS_PRODUCTION};
pub use fcm::{FcmAuth, FcmConfig, FcmSender, FCM_PRODUCTION};
pub use oauth::{ServiceAccount, FCM_SCOPE, GOOGLE_TOKEN_URI};

use crate::clock::Clock;
use crate::config::PushConfig;
use crate::log::Logger;
use crate::store::{PushTarget, Store};

/// What [`PushSender::wake`] returns.
pub type PushFuture<'a> = Pin<Box<dyn Future<Output = Result<(), PushError>> + Send + 'a>>;

/// How long one push may take before it is abandoned.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Bundles tried, in order, when [`PushConfig::ca_bundle`] is not set.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// Why a push failed (never contains the push token or credentials).
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The configuration is unusable (bad key, bad root certificate).
    #[error("push configuration: {0}")]
    Config(String),
    /// The push service could not be reached.
    #[error("push transport: {0}")]
    Transport(String),
    /// The push service refused the message.
    #[error("push rejected with HTTP {status}: {reason}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The service's reason code (e.g. `BadDeviceToken`), if given.
        reason: String,
    },
}

impl PushError {
    /// Whether the service says the token will never work again: APNs 410
    /// (`Unregistered`: the app was removed) or FCM `UNREGISTERED`. Such a
    /// token is cleared so the server stops pushing to it; a configuration
    /// error (wrong topic, project or key) is not such an answer, so it never
    /// wipes tokens.
    pub fn token_is_dead(&self) -> bool {
        matches!(self, PushError::Rejected { status, reason }
            if *status == 410 || reason == "UNREGISTERED")
    }
}

/// Sends one wake-up to one device.
///
/// Implementations must be `Send + Sync`; they are called from background
/// tasks, never while the server holds a lock.
pub trait PushSender: Send + Sync + 'static {
    /// Wakes the device with `push_token` about `request_id`.
    fn wake<'a>(&'a self, push_token: &'a str, request_id: &'a str) -> PushFuture<'a>;
}

/// Builds the HTTPS client used for a push service: rustls with ring, the
/// public roots from the CA bundle, plus `extra_root_pem` if given.
pub(crate) fn http_client(
    ca_bundle: Option<&Path>,
    extra_root_pem: Option<&str>,
    http2_only: bool,
) -> Result<reqwest::Client, PushError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .https_only(true)
        .timeout(PUSH_TIMEOUT)
        .connect_timeout(PUSH_TIMEOUT);
    if http2_only {
        builder = builder.http2_prior_knowledge();
    }
    let bundle: Option<PathBuf> = match ca_bundle {
        Some(p) => Some(p.to_path_buf()),
        None => SYSTEM_BUNDLES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists()),
    };
    if let Some(path) = bundle {
        let pem = std::fs::read(&path).map_err(|e| {
            PushError::Config(format!("cannot read CA bundle {}: {e}", path.display()))
        })?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|_| PushError::Config(format!("CA bundle {} is not PEM", path.display())))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(pem) = extra_root_pem {
        for cert in reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|_| PushError::Config("extra_root_pem is not PEM".into()))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| PushError::Config(format!("HTTP client: {e}")))
}

/// Chooses the sender for each device and sends in the background.
#[derive(Clone, Default)]
pub(crate) struct PushDispatcher {
    apns: Option<Arc<dyn PushSender>>,
    fcm: Option<Arc<dyn PushSender>>,
    custom: Option<Arc<dyn PushSender>>,
    logger: Option<Logger>,
    clock: Option<Arc<dyn Clock>>,
}

impl PushDispatcher {
    /// Builds the senders named in `config`.
    pub fn new(
        config: &PushConfig,
        clock: Arc<dyn Clock>,
        logger: Logger,
    ) -> Result<Self, PushError> {
        let ca = config.ca_bundle.as_deref();
        let apns = match &config.apns {
            Some(c) => Some(
                Arc::new(ApnsSender::new(c.clone(), ca, Arc::clone(&clock))?)
                    as Arc<dyn PushSender>,
            ),
            None => None,
        };
        let fcm =
            match &config.fcm {
                Some(c) => Some(Arc::new(FcmSender::new(c.clone(), ca, Arc::clone(&clock))?)
                    as Arc<dyn PushSender>),
                None => None,
            };
        Ok(Self {
            apns,
            fcm,
            custom: config.custom.clone(),
            logger: Some(logger),
            clock: Some(clock),
        })
    }

    fn sender_for(&self, platform: &str) -> Option<Arc<dyn PushSender>> {
        if let Some(c) = &self.custom {
            return Some(Arc::clone(c));
        }
        match platform {
            "ios" => self.apns.clone(),
            "android" => self.fcm.clone(),
            _ => None,
        }
    }

    /// Sends a wake-up about `request_id` to every target, in the background.
    /// A token the service calls dead is cleared from `store` (only if the
    /// device still has that token: it may have sent a new one meanwhile).
    pub fn wake_all(&self, store: Arc<dyn Store>, targets: Vec<PushTarget>, request_id: &str) {
        for target in targets {
            let Some(sender) = self.sender_for(&target.platform) else {
                continue;
            };
            let request_id = request_id.to_owned();
            let logger = self.logger;
            let clock = self.clock.clone();
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let result = tokio::time::timeout(
                    PUSH_TIMEOUT,
                    sender.wake(&target.push_token, &request_id),
                )
                .await;
                let mut outcome = match &result {
                    Ok(Ok(())) => "sent".to_string(),
                    Ok(Err(e)) => format!("failed: {e}"),
                    Err(_) => "timed out".to_string(),
                };
                if matches!(&result, Ok(Err(e)) if e.token_is_dead()) {
                    match store
                        .clear_push_token(target.device_id.clone(), target.push_token.clone())
                        .await
                    {
                        Ok(true) => outcome.push_str("; push token cleared"),
                        Ok(false) => {}
                        Err(e) => outcome.push_str(&format!("; clearing the token failed: {e}")),
                    }
                }
                if let (Some(logger), Some(clock)) = (logger, clock) {
                    logger.info(
                        clock.now(),
                        format_args!(
                            "push to device {} for request {request_id}: {outcome}",
                            target.device_id
                        ),
                    );
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PushError;

    fn rejected(status: u16, reason: &str) -> PushError {
        PushError::Rejected {
            status,
            reason: reason.into(),
        }
    }

    #[test]
    fn only_a_dead_token_answer_counts_as_dead() {
        assert!(rejected(410, "Unregistered").token_is_dead());
        assert!(rejected(404, "UNREGISTERED").token_is_dead());
        for not_dead in [
            rejected(400, "BadDeviceToken"),
            rejected(403, "InvalidProviderToken"),
            rejected(404, "NOT_FOUND"),
            rejected(500, "InternalServerError"),
            PushError::Transport("connection refused".into()),
        ] {
            assert!(!not_dead.token_is_dead(), "{not_dead}");
        }
    }
}
