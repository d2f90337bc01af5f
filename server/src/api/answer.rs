//! `POST /v1/requests/{id}/answer`: the phone approves, denies or reports.
//!
//! Checks, in order: the request exists (404); the device exists (401), is
//! not revoked (410 `pairing_revoked`) and belongs to the request's account
//! (403 `wrong_account`); the signature over `approval_message(server_id,
//! account, request_id, nonce, decision, picked_number, context.hash(),
//! time)` verifies with the device key (403 `bad_signature` — so a phone
//! shown a tampered context fails here); the signed time is within
//! `MAX_CLOCK_SKEW_S` (401 `clock_skew`). Then exactly one conditional
//! UPDATE (pending and unexpired → new state): if it changed nothing the
//! request was already answered (409) or expired (410). Approving with a
//! number other than the one the login screen shows (the user types it) is
//! refused with 403 `wrong_number` and counted; the third wrong number
//! denies the request. A report also pauses the account and records an
//! event, in the same transaction.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use countersign_core::approve::protocol::{
    approval_message, verify_p256, AnswerRequest, AnswerResponse, Decision, MAX_WRONG_NUMBERS,
};

use super::error::ApiError;
use super::extract::{check_skew, ApiJson, ApiPath};
use super::validate;
use crate::crypto::is_id;
use crate::state::Shared;
use crate::store::{AnswerChange, AnswerOutcome, AnswerUpdate, NewEvent};

/// `POST /v1/requests/{id}/answer`.
pub(crate) async fn answer(
    State(shared): State<Arc<Shared>>,
    ApiPath(request_id): ApiPath,
    ApiJson(req): ApiJson<AnswerRequest>,
) -> Result<Json<AnswerResponse>, ApiError> {
    if !is_id(&request_id) {
        return Err(ApiError::not_found("no such request"));
    }
    let request = shared
        .store
        .request(request_id.clone())
        .await?
        .ok_or_else(|| ApiError::not_found("no such request"))?;
    if !is_id(&req.device_id) {
        return Err(ApiError::unauthorized("unknown device"));
    }
    let device = shared
        .store
        .device(req.device_id.clone())
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown device"))?;
    if device.revoked_at.is_some() {
        return Err(ApiError::revoked());
    }
    if device.account != request.account {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_account",
            "this device is not paired with that account",
        ));
    }
    let signature = validate::signature("signature", &req.signature)?;
    let message = approval_message(
        &shared.server_id,
        &request.account,
        &request.id,
        &request.nonce,
        req.decision,
        req.picked_number,
        &request.context.hash(),
        req.time,
    );
    if !verify_p256(&device.public_key, &message, &signature) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_signature",
            "signature does not match this request as the server sent it",
        ));
    }
    check_skew(&shared, req.time)?;

    let now = shared.now();
    let wrong_number = req.decision == Decision::Approve && req.picked_number != request.number;
    let event = |kind: &'static str, detail: String| {
        Some(NewEvent {
            time: now,
            kind,
            account: Some(request.account.clone()),
            device_id: Some(device.id.clone()),
            request_id: Some(request.id.clone()),
            detail,
        })
    };
    let (change, event) = match req.decision {
        Decision::Approve if !wrong_number => (AnswerChange::Approve, None),
        Decision::Approve => (
            AnswerChange::WrongNumber {
                max: MAX_WRONG_NUMBERS,
            },
            event("wrong_number", String::new()),
        ),
        Decision::Deny => (AnswerChange::Deny, None),
        Decision::Report => {
            let until = now + shared.limits.report_pause_s;
            let c = &request.context;
            (
                AnswerChange::Report { pause_until: until },
                event(
                    "reported",
                    format!(
                        "action={} client_ip={} client={:?} paused_until={until}",
                        c.action.as_str(),
                        c.client_ip,
                        c.user_agent
                    ),
                ),
            )
        }
    };
    let update = AnswerUpdate {
        request_id: request.id.clone(),
        device_id: device.id.clone(),
        change,
        now,
        event,
    };
    match shared.store.answer_request(update).await? {
        AnswerOutcome::Updated { state } => {
            shared.hub.notify_request(&request.id);
            shared.hub.notify_account(&request.account);
            shared.log(format_args!(
                "request {} {} by device {}",
                request.id,
                state.as_str(),
                device.id
            ));
            if wrong_number {
                return Err(wrong_number_error(0));
            }
            Ok(Json(AnswerResponse {
                state,
                server_time: shared.now(),
            }))
        }
        AnswerOutcome::WrongNumber { tries_left } => {
            shared.log(format_args!("request {}: wrong number", request.id));
            Err(wrong_number_error(tries_left))
        }
        AnswerOutcome::AlreadyAnswered => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_answered",
            "this request was already answered",
        )),
        AnswerOutcome::Expired => Err(ApiError::new(
            StatusCode::GONE,
            "expired",
            "this request has expired",
        )),
        AnswerOutcome::NotFound => Err(ApiError::not_found("no such request")),
    }
}

/// The refusal of a wrong typed number (`tries_left` 0: the request is now
/// denied).
fn wrong_number_error(tries_left: u32) -> ApiError {
    let message = if tries_left == 0 {
        "that is not the number on the sign-in screen; the request is now denied".to_owned()
    } else {
        format!(
            "that is not the number on the sign-in screen; {tries_left} {} left",
            if tries_left == 1 { "try" } else { "tries" }
        )
    };
    ApiError::new(StatusCode::FORBIDDEN, "wrong_number", message).tries_left(tries_left)
}
