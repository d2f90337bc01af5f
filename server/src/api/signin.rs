//! The login side: start a sign-in, wait for the phone, prove the session.
//!
//! `POST /v1/signin/start` checks the password as the user's
//! [`SignInMethod`] demands (same `invalid_credentials` for unknown users and
//! wrong passwords, guessing limiter, Argon2id against a dummy hash for
//! unknown users). Password-only users get a session at once. Otherwise a
//! request is created — fresh nonce, number, choices, context, poll token —
//! under the push-bombing limits (paused after a report, one pending request
//! per account, N per window), the account's long-polling devices are woken
//! and push wake-ups are sent. `GET /v1/signin/{id}` is polled (or
//! long-polled) with the poll token; the first poll that sees `approved`
//! receives the session token, once. Only digests of poll and session tokens
//! are stored.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use countersign_core::approve::protocol::{
    RequestState, SignInContext, SignInStart, SignInStarted, SignInStatus,
};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{bearer, user_agent, ApiJson, ApiPath, ApiQuery, ClientIp};
use super::pairing::{invalid_credentials, verify_user_password};
use super::{enabled, wait_duration, wait_for};
use crate::accounts::{check_username, SignInMethod};
use crate::crypto::{
    choices_with, digest_eq, is_id, random_bytes, random_id, random_number, random_token, sha256,
};
use crate::state::Shared;
use crate::store::{NewRequest, NewSession, SessionScope, StartLimits, StartOutcome};

/// Stores a new session for `account` and returns its token.
fn new_session(shared: &Shared, account: &str) -> Result<(String, NewSession), ApiError> {
    let token = random_token()?;
    let now = shared.now();
    let session = NewSession {
        token_hash: sha256(token.as_bytes()),
        account: account.to_owned(),
        created_at: now,
        expires_at: now + shared.limits.session_ttl_s,
        scope: SessionScope::Full,
    };
    Ok((token, session))
}

/// `POST /v1/signin/start`.
pub(crate) async fn start(
    State(shared): State<Arc<Shared>>,
    ClientIp(client_ip): ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SignInStart>,
) -> Result<Json<SignInStarted>, ApiError> {
    check_username(&req.username).map_err(|_| invalid_credentials())?;
    let user = shared.store.user(req.username.clone()).await?;
    let method = user.as_ref().map(|u| u.method);
    match method {
        Some(SignInMethod::Approve) => {}
        Some(_) | None => match req.password.as_deref() {
            Some(password) => {
                let hash = user.as_ref().and_then(|u| u.password_hash.clone());
                verify_user_password(&shared, &req.username, password, &client_ip, hash).await?;
            }
            None => return Err(invalid_credentials()),
        },
    }
    let Some(user) = user else {
        return Err(invalid_credentials());
    };

    if user.method == SignInMethod::Password {
        let groups = shared.store.enforced_groups().await?;
        if crate::twostep::status::is_enforced(&user, &groups) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "setup_required",
                "2-step verification is required for this account; finish setting it up in the web portal",
            ));
        }
        let (token, session) = new_session(&shared, &user.username)?;
        shared.store.create_session(session).await?;
        shared.log(format_args!("password sign-in"));
        return Ok(Json(SignInStarted {
            state: RequestState::Approved,
            request_id: None,
            number: None,
            expires_at: None,
            poll_token: None,
            session_token: Some(token),
            server_time: shared.now(),
        }));
    }

    let started = start_approve(&shared, &user.username, client_ip, user_agent(&headers)).await?;
    Ok(Json(SignInStarted {
        state: RequestState::Pending,
        request_id: Some(started.request_id),
        number: Some(started.number),
        expires_at: Some(started.expires_at),
        poll_token: Some(started.poll_token),
        session_token: None,
        server_time: shared.now(),
    }))
}

/// A started Approve request (what the login side shows and polls with).
pub(crate) struct ApproveStarted {
    pub request_id: String,
    pub number: u8,
    pub expires_at: i64,
    pub poll_token: String,
}

/// Creates an Approve request for `account` under the push-bombing limits,
/// wakes its long-polling devices and sends push wake-ups. Shared by the
/// JSON API and the web sign-in page.
pub(crate) async fn start_approve(
    shared: &Shared,
    account: &str,
    client_ip: String,
    user_agent: String,
) -> Result<ApproveStarted, ApiError> {
    let devices = shared.store.devices(account.to_owned()).await?;
    if !devices.iter().any(|d| d.revoked_at.is_none()) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_device",
            "no phone is paired with this account; ask an administrator for a pairing invitation",
        ));
    }

    let now = shared.now();
    let number = random_number()?;
    let poll_token = random_token()?;
    let request = NewRequest {
        id: random_id()?,
        account: account.to_owned(),
        nonce: random_bytes::<32>()?.to_vec(),
        number,
        choices: choices_with(number)?,
        context: SignInContext {
            service: shared.name.clone(),
            client_ip,
            user_agent,
            location: String::new(),
            created_at: now,
            expires_at: now + shared.request_ttl_s,
        },
        poll_token_hash: sha256(poll_token.as_bytes()),
    };
    let limits = StartLimits {
        max_in_window: shared.limits.requests_per_window,
        window_s: shared.limits.request_window_s,
    };
    let request_id = request.id.clone();
    let expires_at = request.context.expires_at;
    match shared.store.create_request(request, limits).await? {
        StartOutcome::Created => {}
        StartOutcome::Paused { until } => {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "paused",
                "sign-in requests for this account are paused after a reported request",
            )
            .retry_after(until - now))
        }
        StartOutcome::PendingExists => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "pending_exists",
                "another sign-in request for this account is waiting for the phone",
            ))
        }
        StartOutcome::RateLimited { retry_after_s } => {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many sign-in requests for this account; wait",
            )
            .retry_after(retry_after_s))
        }
        StartOutcome::UnknownAccount => return Err(invalid_credentials()),
    }
    shared.hub.notify_account(account);
    let targets = shared.store.push_targets(account.to_owned()).await?;
    shared
        .push
        .wake_all(Arc::clone(&shared.store), targets, &request_id);
    shared.log(format_args!("request {request_id} created"));
    Ok(ApproveStarted {
        request_id,
        number,
        expires_at,
        poll_token,
    })
}

/// `?poll_token=…&wait=N`.
#[derive(Debug, Deserialize)]
pub(crate) struct StatusQuery {
    poll_token: String,
    wait: Option<u64>,
}

/// `GET /v1/signin/{id}`.
pub(crate) async fn status(
    State(shared): State<Arc<Shared>>,
    ApiPath(id): ApiPath,
    ApiQuery(query): ApiQuery<StatusQuery>,
) -> Result<Json<SignInStatus>, ApiError> {
    let unknown = || ApiError::not_found("no such sign-in request");
    if !is_id(&id) {
        return Err(unknown());
    }
    let poll_hash = sha256(query.poll_token.as_bytes());
    let until = tokio::time::Instant::now() + wait_duration(query.wait);
    let notify = shared.hub.request(&id);
    let (record, state) = loop {
        let notified = enabled(&notify);
        let record = shared
            .store
            .request(id.clone())
            .await?
            .ok_or_else(unknown)?;
        if !digest_eq(&poll_hash, &record.poll_token_hash) {
            return Err(unknown());
        }
        let now = shared.now();
        let state = record.effective_state(now);
        let real_now = tokio::time::Instant::now();
        if state != RequestState::Pending || real_now >= until || *shared.shutdown.borrow() {
            break (record, state);
        }
        // Wake at expiry too, so the caller sees `expired` promptly.
        let to_expiry = std::time::Duration::from_secs(
            u64::try_from(record.context.expires_at - now).unwrap_or(0),
        );
        let mut notified = notified;
        wait_for(&shared, notified.as_mut(), until.min(real_now + to_expiry)).await;
    };
    let mut session_token = None;
    if state == RequestState::Approved && !record.session_issued {
        let (token, session) = new_session(&shared, &record.account)?;
        if shared
            .store
            .issue_session(record.id.clone(), session)
            .await?
        {
            session_token = Some(token);
        }
    }
    Ok(Json(SignInStatus {
        state,
        session_token,
        server_time: shared.now(),
    }))
}

/// `GET /v1/session` answer.
#[derive(Debug, Serialize)]
pub(crate) struct SessionInfo {
    account: String,
    server_time: i64,
}

/// `GET /v1/session` with `Authorization: Bearer <session token>`.
pub(crate) async fn session(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Json<SessionInfo>, ApiError> {
    let token = bearer(&headers).ok_or_else(|| ApiError::unauthorized("session token required"))?;
    let account = shared
        .store
        .session(sha256(token.as_bytes()), shared.now())
        .await?
        .filter(|s| s.scope == SessionScope::Full)
        .ok_or_else(|| ApiError::unauthorized("invalid or expired session"))?
        .account;
    Ok(Json(SessionInfo {
        account,
        server_time: shared.now(),
    }))
}
