//! `POST /v1/pair`: a phone joins an account.
//!
//! Two ways: a one-time invitation `token` (from the admin's QR code), or
//! `username` + `password`. Either way the phone proves it holds the private
//! key by signing `pair_message(server_id, credential, public_key, time)`
//! (credential = the token, or the username). Order of checks: shape, proof,
//! clock; then for passwords the guessing limiter and Argon2id (same time and
//! the same `invalid_credentials` for unknown users); then one store
//! transaction that consumes the token, enforces the device limit and inserts
//! the device. A refused pairing changes nothing (the token stays usable).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use countersign_core::approve::protocol::{pair_message, verify_p256, PairRequest, PairResponse};

use super::error::ApiError;
use super::extract::{check_skew, ApiJson, ClientIp};
use super::validate::{self, MAX_PAIR_TOKEN_BYTES};
use crate::accounts::check_username;
use crate::crypto::{random_id, sha256, verify_password, MAX_PASSWORD_BYTES};
use crate::state::Shared;
use crate::store::{NewDevice, PairCredential, PairOutcome};

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

/// Checks `password` for `username` with the guessing limiter; the same
/// error and (roughly) the same time for unknown users and wrong passwords.
pub(crate) async fn verify_user_password(
    shared: &Shared,
    username: &str,
    password: &str,
    client_ip: &str,
    stored_hash: Option<String>,
) -> Result<(), ApiError> {
    if crate::twostep::guard::check_ip(shared, client_ip)
        .await?
        .is_err()
    {
        return Err(ip_blocked());
    }
    // Kept in the store, so every node sees the same counts: wrong
    // passwords for this account, and failed steps of any kind from this
    // address (the IP auto-block's own count).
    let user_key = crate::twostep::guard::password_key(username);
    let ip_key = crate::store::ip_failure_key(client_ip);
    let now = shared.now();
    let window = shared.limits.password_failure_window_s;
    let mut wait = 0;
    for (key, limit) in [
        (&user_key, shared.limits.password_failures_per_user),
        (&ip_key, shared.limits.password_failures_per_ip),
    ] {
        let seen = shared
            .store
            .failures_since(key.clone(), now - window)
            .await?;
        if seen.count >= limit {
            wait = wait.max(seen.oldest.unwrap_or(now) + window - now);
        }
    }
    if wait > 0 {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many wrong passwords; wait",
        )
        .retry_after(wait));
    }
    let known = stored_hash.is_some();
    let hash = stored_hash.unwrap_or_else(|| shared.dummy_hash.clone());
    let password = password.to_owned();
    let ok = password.len() <= MAX_PASSWORD_BYTES
        && tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(ApiError::internal)?;
    if ok && known {
        Ok(())
    } else {
        if crate::twostep::guard::fail(shared, client_ip, Some(user_key)).await? {
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
) -> Result<Json<PairResponse>, ApiError> {
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
            check_username(&username).map_err(|_| invalid_credentials())?;
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

    let credential = match via {
        Via::Token(token) => PairCredential::Token {
            hash: sha256(token.as_bytes()),
        },
        Via::Password(username, password) => {
            let user = shared.store.user(username.clone()).await?;
            let hash = user.and_then(|u| u.password_hash);
            verify_user_password(&shared, &username, &password, &client_ip, hash).await?;
            PairCredential::Password { account: username }
        }
    };
    let by_token = matches!(credential, PairCredential::Token { .. });
    let now = shared.now();
    let device = NewDevice {
        id: random_id()?,
        public_key,
        name: req.device_name,
        platform: req.platform,
        push_token,
        created_at: now,
    };
    let device_id = device.id.clone();
    match shared
        .store
        .pair_device(
            credential,
            device,
            shared.limits.max_devices_per_account,
            now,
        )
        .await?
    {
        PairOutcome::Paired { account } => {
            shared.log(format_args!("device {device_id} paired"));
            Ok(Json(PairResponse {
                device_id,
                server_id: shared.server_id.clone(),
                server_name: shared.name.clone(),
                account,
                server_time: shared.now(),
            }))
        }
        PairOutcome::InvalidToken => Err(invalid_token()),
        PairOutcome::UnknownAccount if by_token => Err(invalid_token()),
        PairOutcome::UnknownAccount => Err(invalid_credentials()),
        PairOutcome::LimitReached => Err(ApiError::new(
            StatusCode::CONFLICT,
            "pairing_limit",
            format!(
                "this account already has {} paired devices; remove one first",
                shared.limits.max_devices_per_account
            ),
        )),
    }
}
