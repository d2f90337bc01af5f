//! Extractors that turn every malformed input into a 4xx [`ApiError`].
//!
//! axum's own `Json`/`Query`/`Path` reject with plain-text bodies; these
//! wrappers reject with our error shape and a clear message. JSON bodies are
//! read as bytes (capped at 64 KiB by the router) and parsed regardless of
//! `Content-Type`. Parser messages have quoted input removed so nothing the
//! client sent (possibly a password) is echoed back.
//!
//! Authentication extractors: [`DeviceCall`] (signed device requests, see
//! `docs/protocol.md` § device authentication), [`AdminAuth`] (bearer admin
//! token, compared as SHA-256 digests in constant time), and helpers for the
//! client's IP and user agent.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use countersign_core::approve::protocol::{
    device_auth_message, unb64, verify_p256, HEADER_DEVICE, HEADER_SIGNATURE, HEADER_TIME,
    MAX_CLOCK_SKEW_S,
};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::crypto::{digest_eq, is_id, sha256};
use crate::state::Shared;
use crate::store::DeviceRecord;

/// Longest user agent kept in a request's context (characters).
pub(crate) const MAX_USER_AGENT_CHARS: usize = 256;

/// Removes double-quoted fragments (client input) from a parser message and
/// bounds its length.
pub(crate) fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(300));
    let mut in_quotes = false;
    for c in message.chars() {
        if c == '"' {
            if !in_quotes {
                out.push_str("\"…\"");
            }
            in_quotes = !in_quotes;
        } else if !in_quotes {
            out.push(c);
        }
    }
    out.chars().take(300).collect()
}

fn bytes_rejection(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body is larger than 64 KiB",
        )
    } else {
        ApiError::bad_request("could not read the request body")
    }
}

/// Parses a JSON body.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!("invalid JSON body: {}", redact(&e.to_string())))
    })
}

/// A JSON body.
pub(crate) struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(bytes_rejection)?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Query parameters.
pub(crate) struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| {
                ApiError::bad_request(format!("invalid query: {}", redact(&e.body_text())))
            })
    }
}

/// One path parameter.
pub(crate) struct ApiPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ApiPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|_| ApiError::bad_request("invalid path parameter"))
    }
}

/// The client's IP address as text ("unknown" if not available): the TCP
/// peer, or behind a configured trusted proxy the address it forwarded for
/// (see [`super::forwarded`]).
pub(crate) struct ClientIp(pub String);

impl FromRequestParts<Arc<Shared>> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(
                    || "unknown".to_string(),
                    |ConnectInfo(a)| {
                        shared
                            .trusted_proxies
                            .client_ip(a.ip(), &parts.headers)
                            .to_string()
                    },
                ),
        ))
    }
}

/// The `User-Agent` header, lossily decoded and truncated.
pub(crate) fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_USER_AGENT_CHARS)
                .collect()
        })
        .unwrap_or_default()
}

/// The token of an `Authorization: Bearer …` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Proof that the caller holds the admin token.
pub(crate) struct AdminAuth;

impl FromRequestParts<Arc<Shared>> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let token =
            bearer(&parts.headers).ok_or_else(|| ApiError::unauthorized("admin token required"))?;
        if digest_eq(&sha256(token.as_bytes()), &shared.admin_token_hash) {
            Ok(AdminAuth)
        } else {
            Err(ApiError::unauthorized("admin token required"))
        }
    }
}

/// Checks a signed time against the server's clock.
pub(crate) fn check_skew(shared: &Shared, time: i64) -> Result<(), ApiError> {
    if time.abs_diff(shared.now()) > MAX_CLOCK_SKEW_S.unsigned_abs() {
        Err(ApiError::clock_skew())
    } else {
        Ok(())
    }
}

/// A device-authenticated request: the verified, active device and the raw
/// body (which the signature covers).
pub(crate) struct DeviceCall {
    pub device: DeviceRecord,
    pub body: Bytes,
}

fn header_str<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("{name} header is not ASCII"))),
    }
}

impl FromRequest<Arc<Shared>> for DeviceCall {
    type Rejection = ApiError;

    async fn from_request(req: Request, shared: &Arc<Shared>) -> Result<Self, Self::Rejection> {
        let method = req.method().as_str().to_owned();
        let path_and_query = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, shared)
            .await
            .map_err(bytes_rejection)?;

        let device_id = header_str(&headers, HEADER_DEVICE)?
            .ok_or_else(|| ApiError::unauthorized(format!("missing {HEADER_DEVICE} header")))?;
        let time = header_str(&headers, HEADER_TIME)?
            .ok_or_else(|| ApiError::unauthorized(format!("missing {HEADER_TIME} header")))?;
        let signature = header_str(&headers, HEADER_SIGNATURE)?
            .ok_or_else(|| ApiError::unauthorized(format!("missing {HEADER_SIGNATURE} header")))?;
        let time: i64 = time
            .trim()
            .parse()
            .map_err(|_| ApiError::bad_request(format!("{HEADER_TIME} must be Unix seconds")))?;
        let signature = unb64(signature.trim()).ok_or_else(|| {
            ApiError::bad_request(format!("{HEADER_SIGNATURE} must be base64url"))
        })?;
        if !is_id(device_id) {
            return Err(ApiError::unauthorized("unknown device"));
        }
        let device = shared
            .store
            .device(device_id.to_owned())
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown device"))?;
        if device.revoked_at.is_some() {
            return Err(ApiError::revoked());
        }
        let message = device_auth_message(
            &shared.server_id,
            &device.id,
            &method,
            &path_and_query,
            time,
            &body,
        );
        if !verify_p256(&device.public_key, &message, &signature) {
            return Err(ApiError::unauthorized("bad device signature"));
        }
        check_skew(shared, time)?;
        Ok(DeviceCall { device, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_quoted_input() {
        let m = redact("invalid type: string \"hunter2\", expected u8 at line 1 column 9");
        assert!(!m.contains("hunter2"));
        assert!(m.contains("expected u8"));
        assert_eq!(redact("missing field `proof`"), "missing field `proof`");
    }
}
