//! [`FcmSender`]: wake-ups through Firebase Cloud Messaging (HTTP v1).
//!
//! `POST {endpoint}/v1/projects/{project}/messages:send` with
//! `authorization: Bearer <access token>` and a high-priority data-only
//! message: `{"message":{"token":…,"data":{"request_id":…},"android":{"priority":"high"}}}`.
//! The OAuth access token comes from configuration: obtaining and refreshing
//! it (service-account JWT exchange) is the deployment's job here.

use std::path::Path;

use super::{http_client, PushError, PushFuture, PushSender};

/// Production FCM endpoint.
pub const FCM_PRODUCTION: &str = "https://fcm.googleapis.com";

/// FCM credentials and endpoint.
#[derive(Clone)]
pub struct FcmConfig {
    /// Base URL, e.g. [`FCM_PRODUCTION`].
    pub endpoint: String,
    /// Firebase project id.
    pub project_id: String,
    /// OAuth 2 access token with the `firebase.messaging` scope.
    pub access_token: String,
    /// Extra trusted root certificate(s), PEM (tests, private relays).
    pub extra_root_pem: Option<String>,
}

impl std::fmt::Debug for FcmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmConfig")
            .field("endpoint", &self.endpoint)
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

/// Sends FCM data messages.
pub struct FcmSender {
    client: reqwest::Client,
    url: String,
    access_token: String,
}

impl FcmSender {
    /// Builds the sender.
    pub fn new(config: FcmConfig, ca_bundle: Option<&Path>) -> Result<Self, PushError> {
        let project_ok = !config.project_id.is_empty()
            && config.project_id.len() <= 128
            && config
                .project_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !project_ok {
            return Err(PushError::Config(
                "FCM project id must be letters, digits and dashes".into(),
            ));
        }
        let client = http_client(ca_bundle, config.extra_root_pem.as_deref(), false)?;
        let url = format!(
            "{}/v1/projects/{}/messages:send",
            config.endpoint.trim_end_matches('/'),
            config.project_id
        );
        Ok(Self {
            client,
            url,
            access_token: config.access_token,
        })
    }

    /// The JSON body for a device token and request id.
    pub fn payload(push_token: &str, request_id: &str) -> serde_json::Value {
        serde_json::json!({
            "message": {
                "token": push_token,
                "data": { "request_id": request_id },
                "android": { "priority": "high" },
            }
        })
    }
}

impl PushSender for FcmSender {
    fn wake<'a>(&'a self, push_token: &'a str, request_id: &'a str) -> PushFuture<'a> {
        Box::pin(async move {
            let response = self
                .client
                .post(&self.url)
                .bearer_auth(&self.access_token)
                .json(&Self::payload(push_token, request_id))
                .send()
                .await
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
                    // The specific FCM code ("UNREGISTERED") when given,
                    // else the general status ("NOT_FOUND").
                    let detail = v
                        .pointer("/error/details")
                        .and_then(|d| d.as_array())
                        .and_then(|d| d.iter().find_map(|e| e.get("errorCode")?.as_str()));
                    detail
                        .or_else(|| v.pointer("/error/status").and_then(|r| r.as_str()))
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
