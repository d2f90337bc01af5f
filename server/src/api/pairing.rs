//! `POST /v1/pair` and `GET /v1/pair/{id}`: a phone joins an account.
//!
//! Two ways in. **Invitation**: a one-time `token` from a QR code that an
//! admin made, or that the user made on /account from a freshly verified
//! session (password and second step within the last minutes). **Password**
//! (the "type the server's address" path, refused with `--pairing
//! invitation-only`): the password passes *the same second step as a
//! sign-in*, so someone who only has the password cannot add their own
//! phone:
//! - the account has a paired phone: the answer is `202` with a number the
//!   new phone shows; the user types it on one of the paired phones, which
//!   approves a `pair_device` request (signed like a sign-in approval). The
//!   new phone polls `GET /v1/pair/{request_id}?poll_token=…&wait=N` and is
//!   added when the approval arrives;
//! - the account has an authenticator app (and `otp_code` is given): the
//!   code is checked like a sign-in code (attempt limits, replay guard);
//!   without it the answer is `401 second_step_required`;
//! - the account has no second step yet (first enrollment): the password
//!   alone pairs; the pairing is recorded (`paired_via = password`, shown on
//!   /account) and mailed to the verified backup address, if any.
//!
//! Emailed codes are never a pairing factor. Every pairing is announced to
//! the account's other phones and its backup address (`notify`).
//!
//! Either way the phone proves it holds the private key by signing
//! `pair_message(server_id, credential, public_key, time)` (credential = the
//! token, or the username as typed). A refused pairing changes nothing (the
//! token stays usable).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use countersign_core::approve::protocol::{
    pair_message, verify_p256, PairRequest, PairResponse, PairState, RequestState,
};
use serde::Deserialize;

use super::await_request;
use super::error::ApiError;
use super::extract::{check_skew, ApiJson, ApiPath, ApiQuery, ClientIp};
use super::signin::{start_approve, ApproveStart};
use super::validate::{self, MAX_PAIR_TOKEN_BYTES};
use crate::accounts::{check_username, name_key};
use crate::config::PairingPolicy;
use crate::crypto::{digest_eq, is_id, random_id, sha256, verify_password, MAX_PASSWORD_BYTES};
use crate::notify::{announce, Change};
use crate::state::Shared;
use crate::store::{NewDevice, PairCredential, PairOutcome, UserRecord};
use crate::twostep::guard::{self, Attempt, Attempter, Refusal};

pub(crate) fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "invalid username or password",
    )
}

fn invalid_token() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "the invitation is invalid, used or expired",
    )
}

/// The answer to an attempt refused before it was checked.
pub(crate) fn refused(r: Refusal, what: &str) -> ApiError {
    match r {
        Refusal::Blocked => ip_blocked(),
        Refusal::Wait(s) => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many {what}; try again in {}", guard::wait_words(s)),
        )
        .retry_after(s),
    }
}

/// Checks `password` against `stored_hash` for `who`, reserving the attempt
/// first (see `twostep::guard`); the same error and (roughly) the same time
/// for unknown users and wrong passwords.
pub(crate) async fn check_password(
    shared: &Shared,
    who: &Attempter<'_>,
    password: &str,
    stored_hash: Option<String>,
) -> Result<(), ApiError> {
    let ticket = match guard::reserve(shared, Attempt::Password, who).await? {
        Ok(t) => t,
        Err(r) => return Err(refused(r, "wrong passwords")),
    };
    let known = stored_hash.is_some();
    let hash = stored_hash.unwrap_or_else(|| shared.dummy_hash.clone());
    let password = password.to_owned();
    let ok = password.len() <= MAX_PASSWORD_BYTES
        && tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(ApiError::internal)?;
    if ok && known {
        ticket.succeeded(shared).await?;
        Ok(())
    } else {
        if ticket.failed(shared).await? {
            return Err(ip_blocked());
        }
        Err(invalid_credentials())
    }
}

/// The answer to every attempt from a blocked address (whatever the account).
pub(crate) fn ip_blocked() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "ip_blocked",
        "too many failed sign-ins from your address; it is blocked for now — ask an administrator",
    )
}

/// `POST /v1/pair`.
pub(crate) async fn pair(
    State(shared): State<Arc<Shared>>,
    ClientIp(client_ip): ClientIp,
    ApiJson(req): ApiJson<PairRequest>,
) -> Result<(StatusCode, Json<PairResponse>), ApiError> {
    validate::device_name(&req.device_name)?;
    validate::platform(&req.platform)?;
    let push_token = validate::push_token(req.push_token.as_deref().unwrap_or(""))?;
    let public_key = validate::public_key(&req.public_key)?;
    let proof = validate::signature("proof", &req.proof)?;

    enum Via {
        Token(String),
        Password(String, String),
    }
    let via = match (req.token, req.username, req.password) {
        (Some(token), None, None) => {
            if token.is_empty() || token.len() > MAX_PAIR_TOKEN_BYTES {
                return Err(invalid_token());
            }
            Via::Token(token)
        }
        (None, Some(username), Some(password)) => {
            if shared.pairing == PairingPolicy::InvitationOnly {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "invitation_only",
                    "this server pairs phones only by invitation: sign in on the web and choose \"Pair a phone\", or ask an administrator",
                ));
            }
            check_username(username.trim()).map_err(|_| invalid_credentials())?;
            Via::Password(username, password)
        }
        _ => {
            return Err(ApiError::bad_request(
                "give either token, or username and password",
            ))
        }
    };
    let credential = match &via {
        Via::Token(t) => t.as_str(),
        Via::Password(u, _) => u.as_str(),
    };
    let message = pair_message(&shared.server_id, credential, &public_key, req.time);
    if !verify_p256(&public_key, &message, &proof) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_proof",
            "proof is not a valid signature by public_key",
        ));
    }
    check_skew(&shared, req.time)?;

    let now = shared.now();
    let device = NewDevice {
        id: random_id()?,
        public_key,
        name: req.device_name,
        platform: req.platform,
        push_token,
        created_at: now,
    };
    let credential = match via {
        Via::Token(token) => PairCredential::Token {
            hash: sha256(token.as_bytes()),
        },
        Via::Password(username, password) => {
            let key = name_key(&username);
            let user = shared.store.find_user(key.clone()).await?;
            let who = Attempter {
                account: user.as_ref().map_or(key.as_str(), |u| u.username.as_str()),
                ip: &client_ip,
                known_browser: None,
            };
            let hash = user.as_ref().and_then(|u| u.password_hash.clone());
            check_password(&shared, &who, &password, hash).await?;
            let user = user.ok_or_else(invalid_credentials)?;
            match second_step(&shared, &user, req.otp_code.as_deref(), &client_ip).await? {
                Step::Done(via) => PairCredential::Password {
                    account: user.username,
                    via,
                },
                Step::Approve => {
                    let client = format!("New device: {} ({})", device.name, device.platform);
                    let started = start_approve(
                        &shared,
                        ApproveStart {
                            account: &user.username,
                            ip: client_ip.clone(),
                            client,
                            flow_hash: None,
                            known_browser: None,
                            new_device: Some(device),
                        },
                    )
                    .await?;
                    shared.log(format_args!(
                        "pairing by password waits for approval ({})",
                        started.request_id
                    ));
                    return Ok((
                        StatusCode::ACCEPTED,
                        Json(PairResponse {
                            state: PairState::Pending,
                            device_id: None,
                            server_id: shared.server_id.clone(),
                            server_name: shared.name.clone(),
                            account: user.username,
                            request_id: Some(started.request_id),
                            number: Some(started.number),
                            expires_at: Some(started.expires_at),
                            poll_token: Some(started.poll_token),
                            server_time: shared.now(),
                        }),
                    ));
                }
            }
        }
    };
    let by_token = matches!(credential, PairCredential::Token { .. });
    add_device(&shared, credential, device, &client_ip)
        .await
        .map(|r| (StatusCode::OK, Json(r)))
        .map_err(|e| match (e.code(), by_token) {
            ("unknown_account", true) => invalid_token(),
            ("unknown_account", false) => invalid_credentials(),
            _ => e,
        })
}

/// What the second step of a password pairing asks for.
enum Step {
    /// Passed (`otp`), or nothing to pass (`password`: first enrollment).
    Done(&'static str),
    /// Approval on a paired phone.
    Approve,
}

async fn second_step(
    shared: &Shared,
    user: &UserRecord,
    otp_code: Option<&str>,
    ip: &str,
) -> Result<Step, ApiError> {
    let devices = shared.store.devices(user.username.clone()).await?;
    let active = devices.iter().filter(|d| d.revoked_at.is_none()).count();
    let has_phone = active > 0;
    if active >= shared.limits.max_devices_per_account as usize {
        return Err(pairing_limit(shared));
    }
    match (&user.otp_secret, otp_code) {
        (Some(secret), Some(code)) => {
            let who = Attempter {
                account: &user.username,
                ip,
                known_browser: None,
            };
            let ticket = match guard::reserve(shared, Attempt::Otp, &who).await? {
                Ok(t) => t,
                Err(r) => return Err(refused(r, "wrong codes")),
            };
            let secret = shared.seed_key.open(&user.username, secret)?;
            let step = crate::twostep::otp::matching_step(&secret, code, shared.now())?;
            let fresh = match step {
                Some(step) => {
                    shared
                        .store
                        .use_otp_step(user.username.clone(), step)
                        .await?
                }
                None => false,
            };
            if fresh {
                ticket.succeeded(shared).await?;
                return Ok(Step::Done("otp"));
            }
            if ticket.failed(shared).await? {
                return Err(ip_blocked());
            }
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "wrong_code",
                "that authenticator code is wrong or was already used; wait for the next one",
            ))
        }
        _ if has_phone => Ok(Step::Approve),
        (Some(_), None) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "second_step_required",
            "this account has an authenticator app: send its current code as otp_code",
        )
        .second_step("otp")),
        (None, _) => Ok(Step::Done("password")),
    }
}

/// Adds the device and announces it.
async fn add_device(
    shared: &Shared,
    credential: PairCredential,
    device: NewDevice,
    client_ip: &str,
) -> Result<PairResponse, ApiError> {
    let (device_id, name, platform) = (
        device.id.clone(),
        device.name.clone(),
        device.platform.clone(),
    );
    let via = match &credential {
        PairCredential::Token { .. } => "with an invitation",
        PairCredential::Approval { .. } => "with the password, approved on another phone",
        PairCredential::Password { via: "otp", .. } => {
            "with the password and an authenticator code"
        }
        PairCredential::Password { .. } => "with the password alone (no second step was set up)",
    };
    match shared
        .store
        .pair_device(
            credential,
            device,
            shared.limits.max_devices_per_account,
            shared.now(),
        )
        .await?
    {
        PairOutcome::Paired { account } => {
            shared.log(format_args!("device {device_id} paired"));
            let text = format!(
                "A new phone \u{201c}{name}\u{201d} ({platform}) was paired with your account {via}, from {client_ip}."
            );
            announce(
                shared,
                &account,
                Change::DevicePaired,
                &text,
                Some(&device_id),
                None,
            )
            .await;
            Ok(PairResponse {
                state: PairState::Paired,
                device_id: Some(device_id),
                server_id: shared.server_id.clone(),
                server_name: shared.name.clone(),
                account,
                request_id: None,
                number: None,
                expires_at: None,
                poll_token: None,
                server_time: shared.now(),
            })
        }
        PairOutcome::InvalidToken => Err(invalid_token()),
        PairOutcome::UnknownAccount => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unknown_account",
            "no such account",
        )),
        PairOutcome::NotApproved => Err(ApiError::new(
            StatusCode::GONE,
            "pair_used",
            "this pairing approval was already used",
        )),
        PairOutcome::LimitReached => Err(pairing_limit(shared)),
    }
}

fn pairing_limit(shared: &Shared) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "pairing_limit",
        format!(
            "this account already has {} paired devices; remove one first",
            shared.limits.max_devices_per_account
        ),
    )
}

/// `?poll_token=…&wait=N`.
#[derive(Debug, Deserialize)]
pub(crate) struct PollQuery {
    poll_token: String,
    wait: Option<u64>,
}

/// `GET /v1/pair/{id}`: the new phone waits for the approval; once it is
/// there the device is added (once) and the answer is the pairing.
pub(crate) async fn status(
    State(shared): State<Arc<Shared>>,
    ClientIp(client_ip): ClientIp,
    ApiPath(id): ApiPath,
    ApiQuery(query): ApiQuery<PollQuery>,
) -> Result<(StatusCode, Json<PairResponse>), ApiError> {
    let unknown = || ApiError::not_found("no such pairing request");
    if !is_id(&id) {
        return Err(unknown());
    }
    let poll_hash = sha256(query.poll_token.as_bytes());
    let (record, state) = await_request(&shared, &id, query.wait, |record| {
        if !digest_eq(&poll_hash, &record.poll_token_hash) || record.new_device.is_none() {
            return Err(unknown());
        }
        Ok(())
    })
    .await?
    .ok_or_else(unknown)?;
    let refusal =
        |code: &'static str, text: &'static str| ApiError::new(StatusCode::FORBIDDEN, code, text);
    match state {
        RequestState::Pending => Ok((
            StatusCode::ACCEPTED,
            Json(PairResponse {
                state: PairState::Pending,
                device_id: None,
                server_id: shared.server_id.clone(),
                server_name: shared.name.clone(),
                account: record.account,
                request_id: Some(record.id),
                number: None,
                expires_at: Some(record.context.expires_at),
                poll_token: None,
                server_time: shared.now(),
            }),
        )),
        RequestState::Approved => {
            let device = record.new_device.clone().ok_or_else(unknown)?;
            if record.session_issued {
                // Added by an earlier poll whose answer was lost.
                return match shared.store.device(device.id.clone()).await? {
                    Some(d) if d.revoked_at.is_none() => Ok((
                        StatusCode::OK,
                        Json(PairResponse {
                            state: PairState::Paired,
                            device_id: Some(d.id),
                            server_id: shared.server_id.clone(),
                            server_name: shared.name.clone(),
                            account: d.account,
                            request_id: None,
                            number: None,
                            expires_at: None,
                            poll_token: None,
                            server_time: shared.now(),
                        }),
                    )),
                    _ => Err(ApiError::new(
                        StatusCode::GONE,
                        "pair_used",
                        "this pairing approval was already used",
                    )),
                };
            }
            add_device(
                &shared,
                PairCredential::Approval {
                    request_id: record.id,
                },
                device,
                &client_ip,
            )
            .await
            .map(|r| (StatusCode::OK, Json(r)))
        }
        RequestState::Denied => Err(refusal(
            "pair_denied",
            "the pairing was denied on your other phone",
        )),
        RequestState::Reported => Err(refusal(
            "pair_reported",
            "the pairing was reported as not you; new requests are paused for a while",
        )),
        RequestState::Expired => Err(ApiError::new(
            StatusCode::GONE,
            "expired",
            "nobody approved the pairing in time; start again",
        )),
    }
}
