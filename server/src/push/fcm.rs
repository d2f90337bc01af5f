//! [`FcmSender`]: wake-ups through Firebase Cloud Messaging (HTTP v1).
//!
//! `POST {endpoint}/v1/projects/{project}/messages:send` with
//! `authorization: Bearer <access token>` and a high-priority data-only
//! message: `{"message":{"token":…,"data":{"request_id":…},"android":{"priority":"high"}}}`.
//! The OAuth access token is either made by the server from a service
//! account ([`FcmAuth::ServiceAccount`], refreshed before it expires, see
//! `oauth.rs`) or given as is ([`FcmAuth::AccessToken`], for tests or when
//! something else refreshes it).

use std::path::Path;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::oauth::{ServiceAccount, TokenSource};
use super::{http_client, PushError, PushFuture, PushSender};
use crate::clock::Clock;

/// Production FCM endpoint.
pub const FCM_PRODUCTION: &str = "https://fcm.googleapis.com";

/// FCM credentials and endpoint.
#[derive(Clone)]
pub struct FcmConfig {
    /// Base URL, e.g. [`FCM_PRODUCTION`].
    pub endpoint: String,
    /// Firebase project id.
    pub project_id: String,
    /// Where the OAuth 2 access token (scope `firebase.messaging`) comes from.
    pub auth: FcmAuth,
    /// Extra trusted root certificate(s), PEM (tests, private relays).
    pub extra_root_pem: Option<String>,
}

/// How the FCM sender gets its access token.
#[derive(Clone)]
pub enum FcmAuth {
    /// A token used as given (it expires after an hour at Google).
    AccessToken(String),
    /// Tokens made from this service account and refreshed as needed.
    ServiceAccount(ServiceAccount),
}

impl std::fmt::Debug for FcmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmConfig")
            .field("endpoint", &self.endpoint)
            .field("project_id", &self.project_id)
            .finish_non_exhaustive()
    }
}

enum Token {
    Static(Zeroizing<String>),
    Refreshed(Box<TokenSource>),
}

/// Sends FCM data messages.
pub struct FcmSender {
    client: reqwest::Client,
    url: String,
    token: Token,
}

impl FcmSender {
    /// Builds the sender (`clock` dates the service-account assertions).
    pub fn new(
        config: FcmConfig,
        ca_bundle: Option<&Path>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, PushError> {
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
        let token = match &config.auth {
            FcmAuth::AccessToken(t) => Token::Static(Zeroizing::new(t.clone())),
            FcmAuth::ServiceAccount(account) => {
                Token::Refreshed(Box::new(TokenSource::new(account, client.clone(), clock)?))
            }
        };
        Ok(Self { client, url, token })
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
            let token = match &self.token {
                Token::Static(t) => t.clone(),
                Token::Refreshed(source) => source.token().await?,
            };
            let response = self
                .client
                .post(&self.url)
                .bearer_auth(token.as_str())
                .json(&Self::payload(push_token, request_id))
                .send()
                .await
                .map_err(|e| PushError::Transport(e.without_url().to_string()))?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            if status == reqwest::StatusCode::UNAUTHORIZED {
                if let Token::Refreshed(source) = &self.token {
                    // Revoked or expired early: the next push gets a new one.
                    source.forget().await;
                }
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
