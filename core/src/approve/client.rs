//! HTTP calls to one sign-in server over the pinned connection.
//!
//! Tries the server's addresses in order on connection failures (a NAS may
//! be reachable on the LAN name at home and a public name outside), maps
//! the protocol's error bodies to [`AuthenticatorError`], and reports the
//! server time of every answer so the caller can record the clock offset.

use super::pinning::{self, Pin, PinVerifier};
use super::protocol::ErrorBody;
use crate::error::AuthenticatorError;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// Longest answer body we read.
const MAX_BODY: usize = 256 * 1024;

/// A connection to one server.
pub struct ServerConn {
    http: reqwest::Client,
    /// Per-request timeout (long-polls add their wait to it).
    timeout: Duration,
    verifier: Arc<PinVerifier>,
    urls: Vec<String>,
    /// `server_time` of the last answer, errors included.
    last_server_time: std::sync::Mutex<Option<i64>>,
}

/// A successful answer and the server time it carried (if any).
pub struct Answer<T> {
    /// Parsed body.
    pub body: T,
    /// `server_time` of the body.
    pub server_time: Option<i64>,
}

/// Extra headers for device-authenticated calls.
pub type Headers = Vec<(&'static str, String)>;

impl ServerConn {
    /// A connection pinned to `pin`, for `urls` (tried in order).
    pub fn new(urls: Vec<String>, pin: Pin, timeout: Duration) -> Result<Self, AuthenticatorError> {
        if urls.is_empty() {
            return Err(AuthenticatorError::InvalidInput {
                reason: "no server address".into(),
            });
        }
        for u in &urls {
            if !u.starts_with("https://") || u.len() > 512 {
                return Err(AuthenticatorError::InvalidInput {
                    reason: "server addresses must be https:// URLs".into(),
                });
            }
        }
        let (http, verifier) = pinning::client(pin, timeout)
            .map_err(|reason| AuthenticatorError::Internal { reason })?;
        Ok(Self {
            http,
            timeout,
            verifier,
            urls,
            last_server_time: std::sync::Mutex::new(None),
        })
    }

    /// The key seen in the last handshake.
    pub fn seen_key(&self) -> Option<[u8; 32]> {
        self.verifier.seen()
    }

    /// `server_time` of the last answer (successful or not).
    pub fn last_server_time(&self) -> Option<i64> {
        self.last_server_time.lock().ok().and_then(|g| *g)
    }

    /// Sends a request; `body` is JSON bytes (sent as is, so it matches what was signed).
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        headers: &Headers,
        pairing_id: Option<&str>,
    ) -> Result<Answer<T>, AuthenticatorError> {
        self.call_waiting(
            method,
            path_and_query,
            body,
            headers,
            pairing_id,
            Duration::ZERO,
        )
        .await
    }

    /// Like [`ServerConn::call`] for a long-poll: the timeout grows by `wait`.
    pub async fn call_waiting<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
        headers: &Headers,
        pairing_id: Option<&str>,
        wait: Duration,
    ) -> Result<Answer<T>, AuthenticatorError> {
        let mut last = AuthenticatorError::Network {
            reason: "no address tried".into(),
        };
        for base in &self.urls {
            let url = format!("{}{}", base.trim_end_matches('/'), path_and_query);
            let mut req = self
                .http
                .request(method.clone(), &url)
                .timeout(self.timeout + wait);
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            if let Some(b) = &body {
                req = req
                    .header("content-type", "application/json")
                    .body(b.clone());
            }
            match req.send().await {
                Ok(resp) => return self.read(resp, pairing_id).await,
                Err(e) => {
                    if self.verifier.mismatched() {
                        return Err(AuthenticatorError::ServerKeyMismatch);
                    }
                    last = AuthenticatorError::Network {
                        reason: describe(&e),
                    };
                }
            }
        }
        Err(last)
    }

    async fn read<T: DeserializeOwned>(
        &self,
        resp: reqwest::Response,
        pairing_id: Option<&str>,
    ) -> Result<Answer<T>, AuthenticatorError> {
        let status = resp.status();
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(AuthenticatorError::Network {
                reason: "answer too large".into(),
            });
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| AuthenticatorError::Network {
                reason: describe(&e),
            })?;
        if bytes.len() > MAX_BODY {
            return Err(AuthenticatorError::Network {
                reason: "answer too large".into(),
            });
        }
        let server_time = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("server_time").and_then(serde_json::Value::as_i64));
        if let (Some(t), Ok(mut g)) = (server_time, self.last_server_time.lock()) {
            *g = Some(t);
        }
        if status.is_success() {
            let body: T =
                serde_json::from_slice(&bytes).map_err(|e| AuthenticatorError::Network {
                    reason: format!("unexpected answer from the server: {e}"),
                })?;
            return Ok(Answer { body, server_time });
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(e) if e.error == "pairing_revoked" => Err(AuthenticatorError::PairingRevoked {
                pairing_id: pairing_id.unwrap_or_default().to_owned(),
            }),
            Ok(e) if e.error == "wrong_number" => Err(AuthenticatorError::WrongNumber {
                tries_left: e.tries_left.unwrap_or(0),
            }),
            Ok(e) => Err(AuthenticatorError::Rejected {
                code: e.error,
                message: e.message.chars().take(300).collect(),
            }),
            Err(_) => Err(AuthenticatorError::Rejected {
                code: format!("http_{}", status.as_u16()),
                message: status.canonical_reason().unwrap_or("error").to_owned(),
            }),
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s.chars().take(300).collect()
}
