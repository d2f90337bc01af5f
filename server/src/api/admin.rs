//! `/v1/admin/…`: users, invitations, devices and events.
//!
//! Every endpoint requires `Authorization: Bearer <admin token>` (a named
//! token made with `countersign-server token create`; only its digest is
//! stored). These are for the operator's tools and the
//! demo; the phone never calls them.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{AdminAuth, ApiJson, ApiPath, ApiQuery};
use crate::accounts::{self, check_username, Event, SignInMethod};
use crate::crypto::is_id;
use crate::state::Shared;
use crate::store::{IpBlock, UserFlags};
use crate::twostep::status::{status, Factors, TwoStepStatus};

/// `POST /v1/admin/users` body.
#[derive(Debug, Deserialize)]
pub(crate) struct NewUserBody {
    username: String,
    #[serde(default)]
    password: Option<String>,
    method: SignInMethod,
    /// May use the admin pages.
    #[serde(default)]
    admin: bool,
    /// Group names.
    #[serde(default)]
    groups: Vec<String>,
    /// Require 2-step verification for this user.
    #[serde(default)]
    enforce_2sv: bool,
}

/// `POST /v1/admin/users` answer.
#[derive(Debug, Serialize)]
pub(crate) struct UserCreated {
    username: String,
    method: SignInMethod,
    server_time: i64,
}

/// `POST /v1/admin/users`.
pub(crate) async fn create_user(
    _admin: AdminAuth,
    State(shared): State<Arc<Shared>>,
    ApiJson(body): ApiJson<NewUserBody>,
) -> Result<(StatusCode, Json<UserCreated>), ApiError> {
    for g in &body.groups {
        accounts::check_group(g)?;
    }
    accounts::create_user(
        &shared,
        &body.username,
        body.password.as_deref(),
        body.method,
    )
    .await?;
    if body.admin || body.enforce_2sv || !body.groups.is_empty() {
        shared
            .store
            .set_user_flags(
                body.username.clone(),
                UserFlags {
                    is_admin: Some(body.admin),
                    enforce_2sv: Some(body.enforce_2sv),
                    groups: Some(body.groups.clone()),
                },
            )
            .await?;
    }
    Ok((
        StatusCode::CREATED,
        Json(UserCreated {
            username: body.username,
            method: body.method,
            server_time: shared.now(),
        }),
    ))
}

/// `POST /v1/admin/users/{username}/pairing` answer.
#[derive(Debug, Serialize)]
pub(crate) struct InviteBody {
    uri: String,
    expires_at: i64,
    server_time: i64,
}

/// `POST /v1/admin/users/{username}/pairing`: a one-time invitation URI.
pub(crate) async fn pairing_invite(
    _admin: AdminAuth,
    State(shared): State<Arc<Shared>>,
    ApiPath(username): ApiPath,
) -> Result<Json<InviteBody>, ApiError> {
    let (uri, expires_at) = accounts::pairing_invite(&shared, &username).await?;
    Ok(Json(InviteBody {
        uri,
        expires_at,
        server_time: shared.now(),
    }))
}

/// One device in `GET /v1/admin/users/{username}/devices`.
#[derive(Debug, Serialize)]
pub(crate) struct DeviceInfo {
    device_id: String,
    name: String,
    platform: String,
    created_at: i64,
    revoked_at: Option<i64>,
    has_push_token: bool,
}

/// `GET /v1/admin/users/{username}/devices` answer.
#[derive(Debug, Serialize)]
pub(crate) struct DeviceList {
    devices: Vec<DeviceInfo>,
    server_time: i64,
}

/// `GET /v1/admin/users/{username}/devices` (revoked ones included).
pub(crate) async fn devices(
    _admin: AdminAuth,
    State(shared): State<Arc<Shared>>,
    ApiPath(username): ApiPath,
) -> Result<Json<DeviceList>, ApiError> {
    check_username(&username)?;
    if shared.store.user(username.clone()).await?.is_none() {
        return Err(ApiError::not_found("no such user"));
    }
    let devices = shared
        .store
        .devices(username)
        .await?
        .into_iter()
        .map(|d| DeviceInfo {
            has_push_token: d.push_token.is_some(),
            device_id: d.id,
            name: d.name,
            platform: d.platform,
            created_at: d.created_at,
            revoked_at: d.revoked_at,
        })
        .collect();
    Ok(Json(DeviceList {
        devices,
        server_time: shared.now(),
    }))
}

/// `DELETE /v1/admin/devices/{id}` answer.
#[derive(Debug, Serialize)]
pub(crate) struct Revoked {
    device_id: String,
    server_time: i64,
}

/// `DELETE /v1/admin/devices/{id}`: revoke (idempotent).
pub(crate) async fn revoke(
    admin: AdminAuth,
    State(shared): State<Arc<Shared>>,
    ApiPath(id): ApiPath,
) -> Result<Json<Revoked>, ApiError> {
    let device = if is_id(&id) {
        shared.store.device(id.clone()).await?
    } else {
        None
    };
    let Some(device) = device else {
        return Err(ApiError::not_found("no such device"));
    };
    shared
        .store
        .revoke_device(id.clone(), shared.now(), "device_revoked")
        .await?;
    shared.log(format_args!(
        "device {id} revoked with admin token {:?}",
        admin.name
    ));
    if device.revoked_at.is_none() {
        let text = format!(
            "An administrator removed the phone \u{201c}{}\u{201d} ({}) from your account.",
            device.name, device.platform
        );
        crate::notify::announce(
            &shared,
            &device.account,
            crate::notify::Change::DeviceRemoved,
            &text,
            Some(&device.id),
            None,
        )
        .await;
    }
    Ok(Json(Revoked {
        device_id: id,
        server_time: shared.now(),
    }))
}

/// `?limit=N` (default 100, at most 1000).
#[derive(Debug, Deserialize)]
pub(crate) struct EventsQuery {
    limit: Option<u32>,
}

/// `GET /v1/admin/events` answer.
#[derive(Debug, Serialize)]
pub(crate) struct EventList {
    events: Vec<Event>,
    server_time: i64,
}

/// `GET /v1/admin/events`: the most recent events, oldest first.
pub(crate) async fn events(
    _admin: AdminAuth,
    State(shared): State<Arc<Shared>>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<EventList>, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let events = accounts::events(&shared, limit).await?;
    Ok(Json(EventList {
        events,
        server_time: shared.now(),
    }))
}

/// One user in `GET /v1/admin/users`.
#[derive(Debug, Serialize)]
pub(crate) struct UserInfo {
    username: String,
    method: SignInMethod,
    second_step: &'static str,
    two_step: TwoStepStatus,
    admin: bool,
    groups: Vec<String>,
    enforce_2sv: bool,
    active_devices: u32,
    otp: bool,
    backup_email_verified: bool,
}

/// `GET /v1/admin/users` answer.
#[derive(Debug, Serialize)]
pub(crate) struct UserList {
    users: Vec<UserInfo>,
    enforced_groups: Vec<String>,
    server_time: i64,
}

/// `GET /v1/admin/users`: every user with its 2-step verification status.
pub(crate) async fn users(
    _admin: AdminAuth,
    State(shared): State<Arc<Shared>>,
) -> Result<Json<UserList>, ApiError> {
    let groups = shared.store.enforced_groups().await?;
    let users = shared
        .store
        .users()
        .await?
        .into_iter()
        .map(|l| {
            let factors = Factors::of(&l.user, l.active_devices);
            UserInfo {
                two_step: status(&l.user, factors, &groups),
                method: l.user.method,
                second_step: l.user.second_step.as_str(),
                admin: l.user.is_admin,
                enforce_2sv: l.user.enforce_2sv,
                active_devices: l.active_devices,
                otp: factors.otp,
                backup_email_verified: factors.email,
                groups: l.user.groups,
                username: l.user.username,
            }
        })
        .collect();
    Ok(Json(UserList {
        users,
        enforced_groups: groups,
        server_time: shared.now(),
    }))
}

/// `GET /v1/admin/blocks` answer.
#[derive(Debug, Serialize)]
pub(crate) struct BlockList {
    blocks: Vec<IpBlock>,
    server_time: i64,
}

/// `GET /v1/admin/blocks`: addresses blocked after failed sign-ins.
pub(crate) async fn blocks(
    _admin: AdminAuth,
    State(shared): State<Arc<Shared>>,
) -> Result<Json<BlockList>, ApiError> {
    Ok(Json(BlockList {
        blocks: shared.store.ip_blocks(shared.now()).await?,
        server_time: shared.now(),
    }))
}

/// `DELETE /v1/admin/blocks/{ip}`: unblocks an address.
pub(crate) async fn unblock(
    _admin: AdminAuth,
    State(shared): State<Arc<Shared>>,
    ApiPath(ip): ApiPath,
) -> Result<Json<super::Ack>, ApiError> {
    if !shared.store.unblock_ip(ip).await? {
        return Err(ApiError::not_found("that address is not blocked"));
    }
    shared.log(format_args!("address unblocked by admin"));
    Ok(Json(super::Ack {
        server_time: shared.now(),
    }))
}
