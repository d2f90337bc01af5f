//! Extractors that turn every malformed input into a 4xx [`ApiError`].
//!
//! axum's own `Json`/`Query`/`Path` reject with plain-text bodies; these
//! wrappers reject with our error shape and a clear message. JSON bodies are
//! read as bytes (capped at 64 KiB by the router) and parsed regardless of
//! `Content-Type`. Parser messages have quoted input removed so nothing the
//! client sent (possibly a password) is echoed back.
//!
//! Authentication extractors: [`DeviceCall`] (signed device requests, see
//! `docs/protocol.md` § device authentication), [`AdminAuth`] (a named,
//! revocable admin token, looked up by its SHA-256), and helpers for the
//! client's IP and user agent.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use countersign_core::approve::protocol::{
    clean_display, device_auth_message, unb64, verify_p256, HEADER_DEVICE, HEADER_SIGNATURE,
    HEADER_TIME, MAX_CLOCK_SKEW_S,
};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::crypto::{is_id, sha256};
use crate::state::Shared;
use crate::store::DeviceRecord;

/// Longest `User-Agent` header looked at (characters).
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

/// The client as the phone shows it: "Firefox on Linux" from the
/// `User-Agent` header (woothee's browser and OS tables), never the raw
/// header, whose text is the client's to choose (a forged "Approved by your
/// administrator" line, right-to-left overrides). An agent woothee does not
/// know is shown as its first product token, cleaned; none at all is
/// "Unknown client".
pub(crate) fn user_agent(headers: &HeaderMap) -> String {
    let raw = headers
        .get(header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    describe_client(&raw)
}

/// See [`user_agent`].
pub(crate) fn describe_client(raw: &str) -> String {
    const UNKNOWN: &str = "UNKNOWN";
    let raw: String = raw.chars().take(MAX_USER_AGENT_CHARS * 2).collect();
    let clean = |s: &str| clean_display(s, 40);
    // Libraries (curl, python-requests) are named by their product token.
    let parsed = woothee::parser::Parser::new()
        .parse(&raw)
        .filter(|r| r.category != "crawler" && r.name != "HTTP Library");
    if let Some(r) = parsed {
        let name = (r.name != UNKNOWN).then(|| clean(r.name));
        let os = (r.os != UNKNOWN).then(|| clean(r.os));
        match (name, os) {
            (Some(n), Some(o)) if !n.is_empty() && !o.is_empty() => return format!("{n} on {o}"),
            (Some(n), _) if !n.is_empty() => return n,
            (_, Some(o)) if !o.is_empty() => return format!("A browser on {o}"),
            _ => {}
        }
    }
    // The first product token ("curl/8.5.0" → "curl"), letters and digits only.
    let product: String = raw
        .split(['/', ' ', '('])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(32)
        .collect();
    let product = clean(&product);
    if product.is_empty() {
        "Unknown client".to_owned()
    } else {
        product
    }
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

/// Proof that the caller holds an admin API token (made with
/// `countersign-server token create NAME`; only its SHA-256 is stored,
/// looked up by digest, revocable).
pub(crate) struct AdminAuth {
    /// The token's name (who acts, for events).
    pub name: String,
}

impl FromRequestParts<Arc<Shared>> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let token =
            bearer(&parts.headers).ok_or_else(|| ApiError::unauthorized("admin token required"))?;
        match shared
            .store
            .admin_token(sha256(token.as_bytes()), shared.now())
            .await?
        {
            Some(name) => Ok(AdminAuth { name }),
            None => Err(ApiError::unauthorized(
                "admin token required (a valid, unrevoked one: countersign-server token create NAME)",
            )),
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
        let device = verify_device(shared, &method, &path_and_query, &headers, &body).await?;
        Ok(DeviceCall { device, body })
    }
}

/// Checks a device-signed request (headers `countersign-device`, `-time`,
/// `-signature` over method, path and query, time and body): the active
/// device that signed it.
pub(crate) async fn verify_device(
    shared: &Shared,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<DeviceRecord, ApiError> {
    let device_id = header_str(headers, HEADER_DEVICE)?
        .ok_or_else(|| ApiError::unauthorized(format!("missing {HEADER_DEVICE} header")))?;
    let time = header_str(headers, HEADER_TIME)?
        .ok_or_else(|| ApiError::unauthorized(format!("missing {HEADER_TIME} header")))?;
    let signature = header_str(headers, HEADER_SIGNATURE)?
        .ok_or_else(|| ApiError::unauthorized(format!("missing {HEADER_SIGNATURE} header")))?;
    let time: i64 = time
        .trim()
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{HEADER_TIME} must be Unix seconds")))?;
    let signature = unb64(signature.trim())
        .ok_or_else(|| ApiError::bad_request(format!("{HEADER_SIGNATURE} must be base64url")))?;
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
        method,
        path_and_query,
        time,
        body,
    );
    if !verify_p256(&device.public_key, &message, &signature) {
        return Err(ApiError::unauthorized("bad device signature"));
    }
    check_skew(shared, time)?;
    Ok(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_described_not_quoted() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_eq!(describe_client(firefox), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        assert_eq!(describe_client(chrome), "Chrome on Windows 10");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_client(iphone), "Safari on iPhone");
        assert_eq!(describe_client("curl/8.5.0"), "curl");
        assert_eq!(describe_client(""), "Unknown client");
        // A forged "second line" and a right-to-left override never reach the phone.
        let forged = "Evil\u{2028}Approved by your administrator\u{202E}";
        let shown = describe_client(forged);
        assert!(
            !shown.contains('\u{2028}') && !shown.contains('\u{202E}'),
            "{shown}"
        );
        assert!(!shown.contains("administrator"), "{shown}");
    }

    #[test]
    fn redacts_quoted_input() {
        let m = redact("invalid type: string \"hunter2\", expected u8 at line 1 column 9");
        assert!(!m.contains("hunter2"));
        assert!(m.contains("expected u8"));
        assert_eq!(redact("missing field `proof`"), "missing field `proof`");
    }
}
