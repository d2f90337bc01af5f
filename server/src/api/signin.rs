//! The login side: start a sign-in, wait for the phone, prove the session.
//!
//! `POST /v1/signin/start` checks the password as the user's
//! [`SignInMethod`] demands (same `invalid_credentials` for unknown users and
//! wrong passwords, attempts reserved before the check, Argon2id against a
//! dummy hash for unknown users). Password-only users get a session at once
//! (never admins: they must have 2-step verification). Otherwise a request
//! is created — fresh nonce, number, context, poll token — under the
//! push-bombing limits (paused after a report; budgets per login side, per
//! address and per account, see `twostep::guard`), the account's
//! long-polling devices are woken and push wake-ups are sent. `GET /v1/signin/{id}` is polled (or
//! long-polled) with the poll token; the first poll that sees `approved`
//! receives the session token, once. Only digests of poll and session tokens
//! are stored.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use countersign_core::approve::protocol::{
    Action, RequestState, SignInContext, SignInStart, SignInStarted, SignInStatus,
};
use serde::{Deserialize, Serialize};

use super::await_request;
use super::error::ApiError;
use super::extract::{bearer, user_agent, ApiJson, ApiPath, ApiQuery, ClientIp};
use super::pairing::{check_password, invalid_credentials};
use crate::accounts::{check_username, name_key, SignInMethod};
use crate::crypto::{
    digest_eq, is_id, random_bytes, random_id, random_number, random_token, sha256,
};
use crate::state::Shared;
use crate::store::{NewDevice, NewRequest, NewSession, SessionScope, StartOutcome};
use crate::twostep::guard::{self, Attempt, Attempter, Refusal};

/// A new full session for `account` (the API's sign-ins are always full:
/// password-only accounts, or an approval) and its token.
fn new_session(shared: &Shared, account: &str) -> Result<(String, NewSession), ApiError> {
    let token = random_token()?;
    let now = shared.now();
    let session = NewSession {
        token_hash: sha256(token.as_bytes()),
        account: account.to_owned(),
        created_at: now,
        expires_at: now + shared.limits.session_ttl_s,
        scope: SessionScope::Full,
        verified_at: now,
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
    check_username(req.username.trim()).map_err(|_| invalid_credentials())?;
    let key = name_key(&req.username);
    let user = shared.store.find_user(key.clone()).await?;
    let method = user.as_ref().map(|u| u.method);
    let who = Attempter {
        account: user.as_ref().map_or(key.as_str(), |u| u.username.as_str()),
        ip: &client_ip,
        known_browser: None,
    };
    match method {
        Some(SignInMethod::Approve) => {
            if guard::check_ip(&shared, &client_ip).await?.is_err() {
                return Err(super::pairing::ip_blocked());
            }
        }
        Some(_) | None => match req.password.as_deref() {
            Some(password) => {
                let hash = user.as_ref().and_then(|u| u.password_hash.clone());
                check_password(&shared, &who, password, hash).await?;
            }
            None => return Err(invalid_credentials()),
        },
    }
    let Some(user) = user else {
        return Err(invalid_credentials());
    };

    if user.method == SignInMethod::Password {
        let groups = shared.store.enforced_groups().await?;
        if crate::twostep::status::is_enforced(&user, &groups) || user.is_admin {
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

    let started = start_approve(
        &shared,
        ApproveStart {
            account: &user.username,
            ip: client_ip,
            client: user_agent(&headers),
            flow_hash: None,
            known_browser: None,
            new_device: None,
        },
    )
    .await?;
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

/// What an Approve request is for and who asks.
pub(crate) struct ApproveStart<'a> {
    /// The account (as stored).
    pub account: &'a str,
    /// The client address.
    pub ip: String,
    /// The client as words (`extract::user_agent`), or for a pairing the
    /// new device's name and platform.
    pub client: String,
    /// The browser login flow asking (its earlier pending request is
    /// replaced).
    pub flow_hash: Option<[u8; 32]>,
    /// The browser's id when it is known for the account.
    pub known_browser: Option<&'a str>,
    /// For a pairing approval: the device waiting to be added.
    pub new_device: Option<NewDevice>,
}

/// Creates an Approve request under the push-bombing limits (attempt
/// budgets per login side, per address and per account; see
/// `twostep::guard`), wakes the account's long-polling devices and sends
/// push wake-ups. Shared by the JSON API, the web sign-in page and password
/// pairing.
pub(crate) async fn start_approve(
    shared: &Shared,
    start: ApproveStart<'_>,
) -> Result<ApproveStarted, ApiError> {
    let account = start.account;
    let devices = shared.store.devices(account.to_owned()).await?;
    if !devices.iter().any(|d| d.revoked_at.is_none()) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_device",
            "no phone is paired with this account; ask an administrator for a pairing invitation",
        ));
    }
    let who = Attempter {
        account,
        ip: &start.ip,
        known_browser: start.known_browser,
    };
    match guard::reserve(shared, Attempt::ApproveRequest, &who).await? {
        Ok(ticket) => ticket.spent(),
        Err(Refusal::Blocked) => return Err(super::pairing::ip_blocked()),
        Err(Refusal::Wait(retry_after_s)) => {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many sign-in requests for this account; try again in {}",
                    guard::wait_words(retry_after_s)
                ),
            )
            .retry_after(retry_after_s))
        }
    }

    let now = shared.now();
    let number = random_number()?;
    let poll_token = random_token()?;
    let action = if start.new_device.is_some() {
        Action::PairDevice
    } else {
        Action::SignIn
    };
    let clean = |s: &str, n| countersign_core::approve::protocol::clean_display(s, n);
    let request = NewRequest {
        id: random_id()?,
        account: account.to_owned(),
        nonce: random_bytes::<32>()?.to_vec(),
        number,
        context: SignInContext {
            action,
            service: clean(&shared.name, 64),
            client_ip: clean(&start.ip, 64),
            user_agent: clean(&start.client, 128),
            location: String::new(),
            created_at: now,
            expires_at: now + shared.request_ttl_s,
        },
        poll_token_hash: sha256(poll_token.as_bytes()),
        flow_hash: start.flow_hash,
        new_device: start.new_device,
    };
    let request_id = request.id.clone();
    let expires_at = request.context.expires_at;
    match shared.store.create_request(request).await? {
        StartOutcome::Created => {}
        StartOutcome::Paused { until } => {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "paused",
                format!(
                    "sign-in requests for this account are paused after a reported request; try again in {}",
                    guard::wait_words(until - now)
                ),
            )
            .retry_after(until - now))
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
    let (record, state) = await_request(&shared, &id, query.wait, |record| {
        // A pairing approval is finished at `GET /v1/pair/{id}` and never
        // turns into a session.
        if !digest_eq(&poll_hash, &record.poll_token_hash)
            || record.context.action != countersign_core::approve::protocol::Action::SignIn
        {
            return Err(unknown());
        }
        Ok(())
    })
    .await?
    .ok_or_else(unknown)?;
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
        .session(
            sha256(token.as_bytes()),
            shared.now(),
            shared.limits.session_idle_s,
        )
        .await?
        .filter(|s| s.scope == SessionScope::Full)
        .ok_or_else(|| ApiError::unauthorized("invalid or expired session"))?
        .account;
    Ok(Json(SessionInfo {
        account,
        server_time: shared.now(),
    }))
}
