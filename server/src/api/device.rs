//! The device-authenticated endpoints: list (and wait for) pending requests,
//! update the push token, unpair.
//!
//! Authentication is [`DeviceCall`]: the device signs method, path and
//! query, time and body hash with its key. A revoked device gets 410
//! `pairing_revoked` on every call, so the app can tell the user and forget
//! the pairing.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use countersign_core::approve::protocol::{
    b64, Notice, PendingList, PendingRequest, PushTokenUpdate, MAX_WRONG_NUMBERS,
};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{parse_json, ApiQuery, DeviceCall};
use super::{enabled, validate, wait_duration, wait_for, Ack};
use crate::state::Shared;
use crate::store::RequestRecord;

/// `?wait=N` (seconds, 0..=25) and `?notices_after=ID`.
#[derive(Debug, Deserialize)]
pub(crate) struct WaitQuery {
    wait: Option<u64>,
    notices_after: Option<i64>,
}

/// Most notices in one answer.
const MAX_NOTICES: u32 = 20;

fn to_pending(r: RequestRecord) -> PendingRequest {
    PendingRequest {
        tries_left: MAX_WRONG_NUMBERS.saturating_sub(r.wrong_numbers).max(1),
        request_id: r.id,
        account: r.account,
        nonce: b64(&r.nonce),
        context: r.context,
    }
}

/// `GET /v1/device/requests?wait=N&notices_after=ID`: pending requests of
/// the device's account, and — only when `notices_after` is given — notices
/// for it newer than `ID` (made since the device was paired, not about the
/// device itself); with `wait` > 0, waits up to that long for either.
pub(crate) async fn requests(
    State(shared): State<Arc<Shared>>,
    ApiQuery(query): ApiQuery<WaitQuery>,
    call: DeviceCall,
) -> Result<Json<PendingList>, ApiError> {
    let account = call.device.account;
    let until = tokio::time::Instant::now() + wait_duration(query.wait);
    let notify = shared.hub.account(&account);
    loop {
        let notified = enabled(&notify);
        let pending = shared
            .store
            .pending_requests(account.clone(), shared.now())
            .await?;
        // Only for a client that asks (one that does not know about notices
        // would otherwise be answered at once, forever, instead of waiting).
        let notices = match query.notices_after {
            Some(after) => {
                shared
                    .store
                    .notices(
                        account.clone(),
                        after,
                        call.device.created_at,
                        call.device.id.clone(),
                        MAX_NOTICES,
                    )
                    .await?
            }
            None => Vec::new(),
        };
        let done = !pending.is_empty()
            || !notices.is_empty()
            || tokio::time::Instant::now() >= until
            || *shared.shutdown.borrow();
        if done {
            return Ok(Json(PendingList {
                requests: pending.into_iter().map(to_pending).collect(),
                notices: notices
                    .into_iter()
                    .map(|n| Notice {
                        id: n.id,
                        time: n.time,
                        kind: n.kind,
                        text: n.text,
                    })
                    .collect(),
                server_time: shared.now(),
            }));
        }
        let mut notified = notified;
        wait_for(&shared, notified.as_mut(), until).await;
    }
}

/// `PUT /v1/device/push-token`: sets (or, with `""`, clears) the push token.
pub(crate) async fn push_token(
    State(shared): State<Arc<Shared>>,
    call: DeviceCall,
) -> Result<Json<Ack>, ApiError> {
    let update: PushTokenUpdate = parse_json(&call.body)?;
    let token = validate::push_token(&update.push_token)?;
    shared.store.set_push_token(call.device.id, token).await?;
    Ok(Json(Ack {
        server_time: shared.now(),
    }))
}

/// `DELETE /v1/device`: the app unpairs itself (the device is revoked).
pub(crate) async fn unpair(
    State(shared): State<Arc<Shared>>,
    call: DeviceCall,
) -> Result<Json<Ack>, ApiError> {
    shared
        .store
        .revoke_device(call.device.id.clone(), shared.now(), "device_unpaired")
        .await?;
    shared.log(format_args!("device {} unpaired itself", call.device.id));
    let text = format!(
        "The phone \u{201c}{}\u{201d} ({}) unpaired itself from your account.",
        call.device.name, call.device.platform
    );
    crate::notify::announce(
        &shared,
        &call.device.account,
        crate::notify::Change::DeviceRemoved,
        &text,
        Some(&call.device.id),
        None,
    )
    .await;
    Ok(Json(Ack {
        server_time: shared.now(),
    }))
}
