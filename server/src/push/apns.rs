//! [`ApnsSender`]: wake-ups through the Apple Push Notification service.
//!
//! `POST {endpoint}/3/device/{token}` over HTTP/2 with `apns-topic`,
//! `apns-push-type: alert`, `apns-priority: 10` and
//! `authorization: bearer <ES256 JWT>`. The body is a fixed alert plus the
//! request id: `{"aps":{"alert":{"title":"Sign-in request","body":"Open
//! Countersign to review"}},"rid":"<request id>"}` — nothing secret.

use std::path::Path;
use std::sync::Arc;

use super::jwt::ApnsJwt;
use super::{http_client, PushError, PushFuture, PushSender};
use crate::clock::Clock;

/// Production APNs endpoint (the sandbox is `https://api.sandbox.push.apple.com`).
pub const APNS_PRODUCTION: &str = "https://api.push.apple.com";

/// APNs credentials and endpoint.
#[derive(Clone)]
pub struct ApnsConfig {
    /// Base URL, e.g. [`APNS_PRODUCTION`].
    pub endpoint: String,
    /// The app's bundle id (`apns-topic`).
    pub topic: String,
    /// Key id of the `.p8` key (JWT `kid`).
    pub key_id: String,
    /// Apple developer team id (JWT `iss`).
    pub team_id: String,
    /// Contents of the `.p8` file (PKCS#8 PEM, P-256).
    pub key_pem: String,
    /// Extra trusted root certificate(s), PEM (tests, private relays).
    pub extra_root_pem: Option<String>,
}

impl std::fmt::Debug for ApnsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsConfig")
            .field("endpoint", &self.endpoint)
            .field("topic", &self.topic)
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .finish_non_exhaustive()
    }
}

/// Sends APNs alert pushes.
pub struct ApnsSender {
    client: reqwest::Client,
    endpoint: String,
    topic: String,
    jwt: ApnsJwt,
    clock: Arc<dyn Clock>,
}

impl ApnsSender {
    /// Builds the sender (loads the key, builds the HTTP/2 client).
    pub fn new(
        config: ApnsConfig,
        ca_bundle: Option<&Path>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, PushError> {
        let jwt = ApnsJwt::new(&config.key_pem, &config.key_id, &config.team_id)?;
        let client = http_client(ca_bundle, config.extra_root_pem.as_deref(), true)?;
        Ok(Self {
            client,
            endpoint: config.endpoint.trim_end_matches('/').to_owned(),
            topic: config.topic,
            jwt,
            clock,
        })
    }

    /// The JSON body for a request id.
    pub fn payload(request_id: &str) -> serde_json::Value {
        serde_json::json!({
            "aps": { "alert": { "title": "Sign-in request", "body": "Open Countersign to review" } },
            "rid": request_id,
        })
    }
}

/// APNs tokens are hex; anything else would change the URL path.
fn valid_token(token: &str) -> bool {
    !token.is_empty() && token.len() <= 512 && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl PushSender for ApnsSender {
    fn wake<'a>(&'a self, push_token: &'a str, request_id: &'a str) -> PushFuture<'a> {
        Box::pin(async move {
            if !valid_token(push_token) {
                return Err(PushError::Config(
                    "APNs device token is not alphanumeric".into(),
                ));
            }
            let jwt = self.jwt.token(self.clock.now())?;
            let response = self
                .client
                .post(format!("{}/3/device/{push_token}", self.endpoint))
                .header("apns-topic", &self.topic)
                .header("apns-push-type", "alert")
                .header("apns-priority", "10")
                .header("authorization", format!("bearer {jwt}"))
                .json(&Self::payload(request_id))
                .send()
                .await
                // reqwest errors name the URL, which contains the push token.
                .map_err(|e| PushError::Transport(e.without_url().to_string()))?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let reason = response
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| {
                    v.get("reason")
                        .and_then(|r| r.as_str())
                        .map(|r| r.chars().take(64).collect())
                })
                .unwrap_or_default();
            Err(PushError::Rejected {
                status: status.as_u16(),
                reason,
            })
        })
    }
}
