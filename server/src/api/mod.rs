//! The HTTP API: routes, and one file per group of endpoints.
//!
//! - `pairing`: `POST /v1/pair`.
//! - `device`: the device-authenticated endpoints (`/v1/device/…`).
//! - `answer`: `POST /v1/requests/{id}/answer` (signed by the device key).
//! - `signin`: the login side (`/v1/signin/…`, `/v1/session`).
//! - `admin`: `/v1/admin/…` (bearer admin token).
//! - `extract`, `error`: input parsing and the one error mapping.
//!
//! Every endpoint is documented in `docs/protocol.md`; every answer carries
//! `server_time`; bodies are capped at 64 KiB.

mod admin;
mod answer;
mod device;
pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod forwarded;
pub(crate) mod pairing;
pub(crate) mod signin;
mod sync;
mod validate;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::middleware::map_response_with_state;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use countersign_core::approve::protocol::{ServerInfo, PROTOCOL_VERSION};
use serde::Serialize;
use tokio::sync::Notify;

use crate::state::Shared;
use error::ApiError;

/// Largest request body accepted.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Builds the router.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/info", get(info))
        .route("/v1/pair", post(pairing::pair))
        .route("/v1/pair/{id}", get(pairing::status))
        .route("/v1/device/requests", get(device::requests))
        .route("/v1/device/push-token", put(device::push_token))
        .route("/v1/device", delete(device::unpair))
        .route("/v1/requests/{id}/answer", post(answer::answer))
        .route("/v1/signin/start", post(signin::start))
        .route("/v1/signin/{id}", get(signin::status))
        .route("/v1/session", get(signin::session))
        .route(
            "/v1/admin/users",
            post(admin::create_user).get(admin::users),
        )
        .route("/v1/admin/blocks", get(admin::blocks))
        .route("/v1/sync/{space}", put(sync::create).delete(sync::delete))
        .route(
            "/v1/sync/{space}/entries",
            get(sync::entries)
                .post(sync::put)
                .layer(DefaultBodyLimit::max(sync::MAX_SYNC_BODY_BYTES)),
        )
        .route("/v1/admin/blocks/{ip}", delete(admin::unblock))
        .route(
            "/v1/admin/users/{username}/pairing",
            post(admin::pairing_invite),
        )
        .route("/v1/admin/users/{username}/devices", get(admin::devices))
        .route("/v1/admin/devices/{id}", delete(admin::revoke))
        .route("/v1/admin/events", get(admin::events))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(map_response_with_state(Arc::clone(&shared), error::finish))
        .with_state(shared)
}

/// `GET /v1/info`.
async fn info(State(shared): State<Arc<Shared>>) -> Json<ServerInfo> {
    Json(ServerInfo {
        server_id: shared.server_id.clone(),
        server_name: shared.name.clone(),
        protocol: PROTOCOL_VERSION,
        server_time: shared.now(),
    })
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed here",
    )
}

/// A body with nothing but `server_time`.
#[derive(Serialize)]
pub(crate) struct Ack {
    pub server_time: i64,
}

/// The long-poll wait requested (`wait` seconds, capped at `MAX_WAIT_S`).
pub(crate) fn wait_duration(wait: Option<u64>) -> Duration {
    Duration::from_secs(
        wait.unwrap_or(0)
            .min(countersign_core::approve::protocol::MAX_WAIT_S),
    )
}

/// Waits until `notify` fires, `until` passes, or the server shuts down.
/// The caller must have enabled the `Notified` future before reading state.
pub(crate) async fn wait_for(
    shared: &Shared,
    notified: std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
    until: tokio::time::Instant,
) {
    let mut shutdown = shared.shutdown.clone();
    if *shutdown.borrow() {
        return;
    }
    tokio::select! {
        _ = notified => {}
        _ = tokio::time::sleep_until(until) => {}
        _ = shutdown.changed() => {}
    }
}

/// The one long-poll on an approve request (the web's `/signin/status`,
/// the API's `/v1/signin/{id}` and `/v1/pair/{id}`): reads request `id`
/// until it leaves `pending`, `wait` runs out, it expires (woken at expiry
/// so the caller sees `expired` promptly) or the server shuts down. `vet`
/// checks every read (poll token, kind) and may refuse. `Ok(None)` when
/// there is no such request.
pub(crate) async fn await_request<E: From<crate::store::StoreError>>(
    shared: &Shared,
    id: &str,
    wait: Option<u64>,
    mut vet: impl FnMut(&crate::store::RequestRecord) -> Result<(), E>,
) -> Result<
    Option<(
        crate::store::RequestRecord,
        countersign_core::approve::protocol::RequestState,
    )>,
    E,
> {
    use countersign_core::approve::protocol::RequestState;
    let until = tokio::time::Instant::now() + wait_duration(wait);
    let notify = shared.hub.request(id);
    loop {
        let notified = enabled(&notify);
        let Some(record) = shared.store.request(id.to_owned()).await? else {
            return Ok(None);
        };
        vet(&record)?;
        let now = shared.now();
        let state = record.effective_state(now);
        let real_now = tokio::time::Instant::now();
        if state != RequestState::Pending || real_now >= until || *shared.shutdown.borrow() {
            return Ok(Some((record, state)));
        }
        let to_expiry =
            Duration::from_secs(u64::try_from(record.context.expires_at - now).unwrap_or(0));
        let mut notified = notified;
        wait_for(shared, notified.as_mut(), until.min(real_now + to_expiry)).await;
    }
}

/// Subscribes and returns a ready-to-await `Notified` (enabled, so a
/// notification after this call is not missed).
pub(crate) fn enabled(notify: &Notify) -> std::pin::Pin<Box<tokio::sync::futures::Notified<'_>>> {
    let mut fut = Box::pin(notify.notified());
    fut.as_mut().enable();
    fut
}
