//! The HTTP error: one type, one mapping, one JSON shape.
//!
//! Handlers and extractors return [`ApiError`] (status, stable code, safe
//! message). It becomes a response carrying the error in its extensions, and
//! the [`finish`] middleware — which sees *every* response, including axum's
//! own fallbacks and rejections — turns it into the protocol's `ErrorBody`
//! with `server_time`. Any error response that is not yet JSON is wrapped the
//! same way, so clients only ever see `ErrorBody`. Messages never contain
//! secrets; for 5xx the internal cause is logged (it holds no secrets either)
//! and the client sees only "internal error".

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use countersign_core::approve::protocol::ErrorBody;

use crate::error::ServerError;
use crate::state::Shared;
use crate::store::StoreError;

/// An error answer.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after_s: Option<i64>,
    /// Internal cause, logged for 5xx only.
    cause: Option<String>,
    tries_left: Option<u32>,
    second_step: Option<&'static str>,
}

/// Carried from [`ApiError::into_response`] to [`finish`].
#[derive(Clone, Debug)]
struct ErrorInfo {
    code: &'static str,
    message: String,
    cause: Option<String>,
    tries_left: Option<u32>,
    second_step: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_s: None,
            cause: None,
            tries_left: None,
            second_step: None,
        }
    }

    /// Malformed input (400 `bad_request`).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// Missing or wrong authentication (401 `unauthorized`).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// Signed time too far from the server's (401 `clock_skew`).
    pub fn clock_skew() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "clock_skew",
            "signed time is too far from server_time; correct the clock offset and retry",
        )
    }

    /// 410 `pairing_revoked`.
    pub fn revoked() -> Self {
        Self::new(
            StatusCode::GONE,
            "pairing_revoked",
            "this device's pairing was revoked",
        )
    }

    /// 500 `internal`; `cause` is logged, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        );
        e.cause = Some(cause.to_string());
        e
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message for the user.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Adds `tries_left` to the body (`wrong_number`).
    pub fn tries_left(mut self, n: u32) -> Self {
        self.tries_left = Some(n);
        self
    }

    /// Adds `second_step` to the body (`second_step_required`).
    pub fn second_step(mut self, which: &'static str) -> Self {
        self.second_step = Some(which);
        self
    }

    /// Adds a `Retry-After` header.
    pub fn retry_after(mut self, seconds: i64) -> Self {
        self.retry_after_s = Some(seconds.max(1));
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
        match e {
            ServerError::InvalidInput { reason } => Self::bad_request(reason),
            ServerError::WeakPassword { reason } => Self::new(
                StatusCode::BAD_REQUEST,
                "weak_password",
                format!("password too weak: {reason}"),
            ),
            ServerError::UserExists => Self::new(
                StatusCode::CONFLICT,
                "user_exists",
                "a user with that name exists",
            ),
            ServerError::UnknownUser => Self::not_found("no such user"),
            ServerError::Mail(_) => Self::new(
                StatusCode::BAD_GATEWAY,
                "mail_failed",
                "the mail server did not accept the message; try again later",
            ),
            other => Self::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        if let Some(s) = self.retry_after_s {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response.extensions_mut().insert(ErrorInfo {
            code: self.code,
            message: self.message,
            cause: self.cause,
            tries_left: self.tries_left,
            second_step: self.second_step,
        });
        response
    }
}

/// Code for an error response produced outside our handlers.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

/// Middleware run on every response: renders errors as `ErrorBody` with
/// `server_time`, and marks every answer `Cache-Control: no-store`.
pub(crate) async fn finish(State(shared): State<Arc<Shared>>, mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let status = response.status();
    let info = response.extensions_mut().remove::<ErrorInfo>();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let info = match info {
        Some(info) => info,
        None if (status.is_client_error() || status.is_server_error()) && !is_json => ErrorInfo {
            code: code_for(status),
            message: status.canonical_reason().unwrap_or("error").to_lowercase(),
            cause: None,
            tries_left: None,
            second_step: None,
        },
        None => return response,
    };
    if status.is_server_error() {
        shared.log(format_args!(
            "internal error: {}",
            info.cause
                .as_deref()
                .unwrap_or(status.canonical_reason().unwrap_or("unknown"))
        ));
    }
    let body = ErrorBody {
        error: info.code.to_string(),
        message: info.message,
        tries_left: info.tries_left,
        second_step: info.second_step.map(str::to_owned),
        server_time: shared.now(),
    };
    let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    let (mut parts, _old) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(json))
}
