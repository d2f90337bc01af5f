//! OAuth 2 access tokens for FCM from a Google service account.
//!
//! FCM HTTP v1 wants a bearer token that expires after an hour, so a
//! configured static token stops working. With a service-account key (the
//! JSON file Firebase's console downloads) the server makes its own: an
//! RS256-signed JWT assertion `{"iss": client_email, "scope":
//! "https://www.googleapis.com/auth/firebase.messaging", "aud": token_uri,
//! "iat", "exp"}` exchanged at `token_uri` (grant type `jwt-bearer`, RFC
//! 7523) for an access token, cached until five minutes before it expires
//! and dropped early when FCM answers 401. One refresh at a time; the
//! private key and tokens never appear in `Debug` or logs.

use std::sync::Arc;

use countersign_core::approve::protocol::b64;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivatePkcs8KeyDer;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::PushError;
use crate::clock::Clock;

/// The scope FCM sends need.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// Google's token endpoint (the usual `token_uri` of a service account).
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Lifetime asked for in the assertion (Google's maximum), seconds.
const ASSERTION_TTL_S: i64 = 3600;
/// A cached token is replaced this long before it expires, seconds.
const REFRESH_EARLY_S: i64 = 300;

/// A Google service account: who signs, with which key, where tokens come
/// from.
#[derive(Clone)]
pub struct ServiceAccount {
    /// `client_email` of the service account.
    pub client_email: String,
    /// Its RSA private key, PKCS#8 PEM (`private_key` in the JSON file).
    pub private_key_pem: Zeroizing<String>,
    /// Token endpoint (`token_uri`; [`GOOGLE_TOKEN_URI`] by default).
    pub token_uri: String,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: String,
    client_email: String,
    private_key: String,
    token_uri: Option<String>,
    project_id: Option<String>,
}

impl ServiceAccount {
    /// Reads a service-account key file (JSON); also returns its
    /// `project_id`, if any.
    pub fn from_json(bytes: &[u8]) -> Result<(Self, Option<String>), PushError> {
        let bad = |what: &str| PushError::Config(format!("FCM service account file: {what}"));
        let KeyFile {
            kind,
            client_email,
            private_key,
            token_uri,
            project_id,
        } = serde_json::from_slice(bytes).map_err(|_| {
            bad("not a service-account key (JSON with client_email and private_key)")
        })?;
        let private_key_pem = Zeroizing::new(private_key);
        if kind != "service_account" {
            return Err(bad("\"type\" is not \"service_account\""));
        }
        Ok((
            Self {
                client_email,
                private_key_pem,
                token_uri: token_uri.unwrap_or_else(|| GOOGLE_TOKEN_URI.to_owned()),
            },
            project_id,
        ))
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
}

/// Makes, caches and refreshes access tokens.
pub(crate) struct TokenSource {
    key: RsaKeyPair,
    client_email: String,
    token_uri: String,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    /// (token, expires at); a tokio mutex so one refresh runs at a time.
    cached: tokio::sync::Mutex<Option<(Zeroizing<String>, i64)>>,
}

impl TokenSource {
    pub fn new(
        account: &ServiceAccount,
        client: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, PushError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(account.private_key_pem.as_bytes())
            .map_err(|_| PushError::Config("FCM service account key is not a PKCS#8 PEM".into()))?;
        let key = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).map_err(|_| {
            PushError::Config("FCM service account key is not an RSA key ring accepts".into())
        })?;
        let email_ok = !account.client_email.is_empty()
            && account.client_email.len() <= 256
            && !account.client_email.chars().any(char::is_control);
        if !email_ok || !account.token_uri.starts_with("https://") {
            return Err(PushError::Config(
                "FCM service account needs a client_email and an https token_uri".into(),
            ));
        }
        Ok(Self {
            key,
            client_email: account.client_email.clone(),
            token_uri: account.token_uri.clone(),
            client,
            clock,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    /// The signed JWT assertion at `now`.
    fn assertion(&self, now: i64) -> Result<String, PushError> {
        let header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": FCM_SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + ASSERTION_TTL_S,
        });
        let signing_input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| PushError::Config("signing the FCM token request failed".into()))?;
        Ok(format!("{signing_input}.{}", b64(&signature)))
    }

    /// A token valid now: the cached one, or a fresh one from the token
    /// endpoint.
    pub async fn token(&self) -> Result<Zeroizing<String>, PushError> {
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        if let Some((token, expires_at)) = cached.as_ref() {
            if now < expires_at - REFRESH_EARLY_S {
                return Ok(token.clone());
            }
        }
        let assertion = Zeroizing::new(self.assertion(now)?);
        let response = self
            .client
            .post(&self.token_uri)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| PushError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let reason: String = response
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| {
                    v.get("error")?
                        .as_str()
                        .map(|r| r.chars().take(64).collect())
                })
                .unwrap_or_default();
            return Err(PushError::Rejected {
                status: status.as_u16(),
                reason: format!("token endpoint: {reason}"),
            });
        }
        let answer: TokenAnswer = response
            .json()
            .await
            .map_err(|_| PushError::Transport("token endpoint answer is not a token".into()))?;
        let token = Zeroizing::new(answer.access_token);
        if token.is_empty() || token.len() > 4096 {
            return Err(PushError::Transport(
                "token endpoint gave an unusable token".into(),
            ));
        }
        let lifetime = answer
            .expires_in
            .unwrap_or(ASSERTION_TTL_S)
            .clamp(0, 86_400);
        *cached = Some((token.clone(), now + lifetime));
        Ok(token)
    }

    /// Drops the cached token (FCM refused it).
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }
}
