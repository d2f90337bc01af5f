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
//! request was already answered (409) or expired (410). Approving with the
//! wrong number is a denial. A report also pauses the account and records an
//! event, in the same transaction.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use countersign_core::approve::protocol::{
    approval_message, verify_p256, AnswerRequest, AnswerResponse, Decision, RequestState,
};

use super::error::ApiError;
use super::extract::{check_skew, ApiJson, ApiPath};
use super::validate;
use crate::crypto::is_id;
use crate::state::Shared;
use crate::store::{AnswerOutcome, AnswerUpdate, NewEvent};

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
    let new_state = match req.decision {
        Decision::Approve if req.picked_number == request.number => RequestState::Approved,
        Decision::Approve | Decision::Deny => RequestState::Denied,
        Decision::Report => RequestState::Reported,
    };
    let (pause_until, event) = match (req.decision, new_state) {
        (Decision::Report, _) => {
            let until = now + shared.limits.report_pause_s;
            let c = &request.context;
            let event = NewEvent {
                time: now,
                kind: "reported",
                account: Some(request.account.clone()),
                device_id: Some(device.id.clone()),
                request_id: Some(request.id.clone()),
                detail: format!(
                    "client_ip={} user_agent={:?} paused_until={until}",
                    c.client_ip, c.user_agent
                ),
            };
            (Some(until), Some(event))
        }
        (Decision::Approve, RequestState::Denied) => (
            None,
            Some(NewEvent {
                time: now,
                kind: "wrong_number",
                account: Some(request.account.clone()),
                device_id: Some(device.id.clone()),
                request_id: Some(request.id.clone()),
                detail: String::new(),
            }),
        ),
        _ => (None, None),
    };
    let update = AnswerUpdate {
        request_id: request.id.clone(),
        device_id: device.id.clone(),
        new_state,
        now,
        pause_until,
        event,
    };
    match shared.store.answer_request(update).await? {
        AnswerOutcome::Updated => {
            shared.hub.notify_request(&request.id);
            shared.hub.notify_account(&request.account);
            shared.log(format_args!(
                "request {} {} by device {}",
                request.id,
                new_state.as_str(),
                device.id
            ));
            Ok(Json(AnswerResponse {
                state: new_state,
                server_time: shared.now(),
            }))
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
