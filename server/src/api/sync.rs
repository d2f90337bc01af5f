//! `/v1/sync/{space}`: the end-to-end encrypted sync service.
//!
//! The server keeps, per *space*, a set of opaque encrypted entries with a
//! space-wide revision counter. It never sees the sync key: the space id
//! and the bearer token are values the devices derive from it, entry ids
//! are keyed hashes, and blobs are AES-GCM ciphertext. What the server can
//! see: how many entries a space has, their sizes, and when they change.
//!
//! - `PUT /v1/sync/{space}` creates the space with this token (idempotent;
//!   another token: 403; a deleted space is never reused: 410).
//! - `GET /v1/sync/{space}/entries?since=R&limit=N`: entries written after
//!   revision `R`, oldest first.
//! - `POST /v1/sync/{space}/entries`: conditional writes — each entry is
//!   stored only if its revision is still the `base_rev` the device last
//!   saw; otherwise the current version comes back to be merged and retried.
//! - `DELETE /v1/sync/{space}`: deletes every entry and marks the space
//!   deleted; every device gets 410 `sync_deleted` from then on and stops
//!   syncing (keeping its local data).
//!
//! **Who may write.** Creating a space, writing entries and deleting need,
//! besides the space's bearer token, a caller the server knows: a paired
//! device signing the request (the device-authentication headers, as for
//! `/v1/device/…`) or a full session (`countersign-session: <token>`). The
//! space belongs to that account; another account's device gets 403.
//! Per account: at most `sync_spaces_per_account` live spaces and
//! `sync_bytes_per_account` bytes of ciphertext (413 `quota_exceeded`),
//! 5 000 entries per space (413), and `sync_writes_per_window` writes per
//! window (429 `rate_limited` with `Retry-After`). Reading needs only the
//! space token (it is a key derived from the sync code).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::Json;
use countersign_core::approve::protocol::HEADER_DEVICE;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{bearer, parse_json, verify_device, ApiPath, ApiQuery};
use crate::crypto::{digest_eq, is_id, sha256};
use crate::state::Shared;
use crate::store::{
    QuotaKind, SessionScope, SpaceOutcome, SyncPut, SyncPutOutcome, SyncPutResult, SyncQuota,
};
use crate::twostep::guard::{self, Attempt, Attempter};

/// Header carrying a session token for sync writes (the `Authorization`
/// header carries the space's own token).
pub(crate) const HEADER_SESSION: &str = "countersign-session";

/// Most entries in one space (profiles are limited to 500 per vault; room
/// for tombstones and several devices' worth of churn).
pub(crate) const MAX_ENTRIES_PER_SPACE: u32 = 5_000;
/// Most entries per write or read.
pub(crate) const MAX_BATCH: usize = 200;
/// Largest blob (bytes, before Base64).
pub(crate) const MAX_BLOB_BYTES: usize = 16 * 1024;
/// Largest request body on the sync write route.
pub(crate) const MAX_SYNC_BODY_BYTES: usize = 4 * 1024 * 1024;

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

fn gone() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "sync_deleted",
        "this sync space was deleted from one of your devices; sync is off",
    )
}

/// The account behind a sync write: a paired device's signature, or a
/// full session; then one write is charged to its rate budget.
async fn writer(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, ApiError> {
    let account = if headers.contains_key(HEADER_DEVICE) {
        let pq = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
        verify_device(shared, method.as_str(), &pq, headers, body)
            .await?
            .account
    } else if let Some(token) = headers.get(HEADER_SESSION).and_then(|v| v.to_str().ok()) {
        shared
            .store
            .session(
                sha256(token.trim().as_bytes()),
                shared.now(),
                shared.limits.session_idle_s,
            )
            .await?
            .filter(|s| s.scope == SessionScope::Full)
            .ok_or_else(|| ApiError::unauthorized("invalid or expired session"))?
            .account
    } else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "sign_in_required",
            "sync writes need a device paired with this server (or a signed-in session)",
        ));
    };
    let who = Attempter {
        account: &account,
        ip: "",
        known_browser: None,
    };
    match guard::reserve(shared, Attempt::SyncWrite, &who).await? {
        Ok(ticket) => ticket.spent(),
        Err(r) => return Err(super::pairing::refused(r, "sync writes")),
    }
    Ok(account)
}

fn quota(shared: &Shared) -> SyncQuota {
    SyncQuota {
        spaces: shared.limits.sync_spaces_per_account,
        entries: MAX_ENTRIES_PER_SPACE,
        bytes: shared.limits.sync_bytes_per_account,
    }
}

fn over_quota(shared: &Shared, kind: QuotaKind) -> ApiError {
    let message = match kind {
        QuotaKind::Spaces => format!(
            "your account already has {} sync spaces; delete one from a device first",
            shared.limits.sync_spaces_per_account
        ),
        QuotaKind::Entries => {
            format!("this sync space holds the maximum of {MAX_ENTRIES_PER_SPACE} entries")
        }
        QuotaKind::Bytes => format!(
            "your account's sync data would exceed {} MiB",
            shared.limits.sync_bytes_per_account / (1024 * 1024)
        ),
    };
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded", message)
}

fn not_yours() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "this sync space belongs to another account",
    )
}

/// Checks the space id and the bearer token against the stored space.
async fn authorise(shared: &Shared, space: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    if !is_id(space) {
        return Err(ApiError::not_found("no such sync space"));
    }
    let token = bearer(headers).ok_or_else(|| ApiError::unauthorized("sync token required"))?;
    let stored = shared
        .store
        .sync_space(space.to_owned())
        .await?
        .ok_or_else(|| ApiError::not_found("no such sync space"))?;
    if !digest_eq(&sha256(token.as_bytes()), &stored.auth_hash) {
        return Err(ApiError::unauthorized("wrong sync token"));
    }
    if stored.deleted_at.is_some() {
        return Err(gone());
    }
    Ok(())
}

/// `PUT /v1/sync/{space}` answer.
#[derive(Debug, Serialize)]
pub(crate) struct SpaceCreated {
    created: bool,
    server_time: i64,
}

/// `PUT /v1/sync/{space}`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    ApiPath(space): ApiPath,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<SpaceCreated>), ApiError> {
    let owner = writer(&shared, &method, &uri, &headers, &body).await?;
    if !is_id(&space) {
        return Err(ApiError::bad_request(
            "space id must be 32 lower-case hex digits",
        ));
    }
    let token = bearer(&headers).ok_or_else(|| ApiError::unauthorized("sync token required"))?;
    if token.len() < 32 || token.len() > 128 {
        return Err(ApiError::bad_request(
            "sync token must be 32 to 128 characters",
        ));
    }
    let outcome = shared
        .store
        .sync_create_space(
            space,
            sha256(token.as_bytes()),
            owner,
            quota(&shared),
            shared.now(),
        )
        .await?;
    let created = match outcome {
        SpaceOutcome::Created => true,
        SpaceOutcome::Exists => false,
        SpaceOutcome::Forbidden => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this sync space belongs to another key or account",
            ))
        }
        SpaceOutcome::Deleted => return Err(gone()),
        SpaceOutcome::QuotaExceeded => return Err(over_quota(&shared, QuotaKind::Spaces)),
    };
    if created {
        shared.log(format_args!("sync space created"));
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(SpaceCreated {
            created,
            server_time: shared.now(),
        }),
    ))
}

/// `?since=R&limit=N`.
#[derive(Debug, Deserialize)]
pub(crate) struct SinceQuery {
    since: Option<i64>,
    limit: Option<u32>,
}

/// One entry as sent and received.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireEntry {
    entry_id: String,
    rev: i64,
    /// Base64 ciphertext.
    blob: String,
}

/// `GET /v1/sync/{space}/entries` answer.
#[derive(Debug, Serialize)]
pub(crate) struct EntryList {
    entries: Vec<WireEntry>,
    /// More entries follow (ask again with `since` = the last `rev`).
    more: bool,
    server_time: i64,
}

/// `GET /v1/sync/{space}/entries`.
pub(crate) async fn entries(
    State(shared): State<Arc<Shared>>,
    ApiPath(space): ApiPath,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<SinceQuery>,
) -> Result<Json<EntryList>, ApiError> {
    authorise(&shared, &space, &headers).await?;
    let limit = q
        .limit
        .unwrap_or(MAX_BATCH as u32)
        .clamp(1, MAX_BATCH as u32);
    let mut list = shared
        .store
        .sync_entries_since(space, q.since.unwrap_or(0).max(0), limit + 1)
        .await?;
    let more = list.len() > limit as usize;
    list.truncate(limit as usize);
    Ok(Json(EntryList {
        entries: list
            .into_iter()
            .map(|e| WireEntry {
                entry_id: e.entry_id,
                rev: e.rev,
                blob: b64(&e.blob),
            })
            .collect(),
        more,
        server_time: shared.now(),
    }))
}

/// One conditional write.
#[derive(Debug, Deserialize)]
pub(crate) struct WirePut {
    entry_id: String,
    base_rev: i64,
    blob: String,
}

/// `POST /v1/sync/{space}/entries` body.
#[derive(Debug, Deserialize)]
pub(crate) struct PutBody {
    entries: Vec<WirePut>,
}

/// One write's result.
#[derive(Debug, Serialize)]
pub(crate) struct PutResult {
    entry_id: String,
    /// `stored` or `conflict`.
    status: &'static str,
    rev: i64,
    /// The current version (conflicts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    blob: Option<String>,
}

/// `POST /v1/sync/{space}/entries` answer.
#[derive(Debug, Serialize)]
pub(crate) struct PutAnswer {
    results: Vec<PutResult>,
    server_time: i64,
}

/// `POST /v1/sync/{space}/entries`.
pub(crate) async fn put(
    State(shared): State<Arc<Shared>>,
    ApiPath(space): ApiPath,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Json<PutAnswer>, ApiError> {
    authorise(&shared, &space, &headers).await?;
    let owner = writer(&shared, &method, &uri, &headers, &raw).await?;
    let body: PutBody = parse_json(&raw)?;
    if body.entries.is_empty() || body.entries.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "send 1 to {MAX_BATCH} entries per request"
        )));
    }
    let mut puts = Vec::with_capacity(body.entries.len());
    for e in body.entries {
        if !is_id(&e.entry_id) {
            return Err(ApiError::bad_request(
                "entry id must be 32 lower-case hex digits",
            ));
        }
        if e.base_rev < 0 {
            return Err(ApiError::bad_request("base_rev must not be negative"));
        }
        let blob = unb64(&e.blob).ok_or_else(|| ApiError::bad_request("blob is not Base64"))?;
        if blob.is_empty() || blob.len() > MAX_BLOB_BYTES {
            return Err(ApiError::bad_request(format!(
                "a blob is 1 to {MAX_BLOB_BYTES} bytes"
            )));
        }
        if puts.iter().any(|p: &SyncPut| p.entry_id == e.entry_id) {
            return Err(ApiError::bad_request("an entry appears twice"));
        }
        puts.push(SyncPut {
            entry_id: e.entry_id,
            base_rev: e.base_rev,
            blob,
        });
    }
    let ids: Vec<String> = puts.iter().map(|p| p.entry_id.clone()).collect();
    let outcome = shared
        .store
        .sync_put_entries(space, owner, puts, quota(&shared), shared.now())
        .await?;
    let results = match outcome {
        SyncPutOutcome::Gone => return Err(gone()),
        SyncPutOutcome::Forbidden => return Err(not_yours()),
        SyncPutOutcome::QuotaExceeded(kind) => return Err(over_quota(&shared, kind)),
        SyncPutOutcome::Done(r) => r,
    };
    Ok(Json(PutAnswer {
        results: ids
            .into_iter()
            .zip(results)
            .map(|(entry_id, r)| match r {
                SyncPutResult::Stored { rev } => PutResult {
                    entry_id,
                    status: "stored",
                    rev,
                    blob: None,
                },
                SyncPutResult::Conflict(current) => PutResult {
                    entry_id,
                    status: "conflict",
                    rev: current.rev,
                    blob: (!current.blob.is_empty()).then(|| b64(&current.blob)),
                },
            })
            .collect(),
        server_time: shared.now(),
    }))
}

/// `DELETE /v1/sync/{space}`: deletes the server copy; sync stops everywhere.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    ApiPath(space): ApiPath,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<super::Ack>, ApiError> {
    authorise(&shared, &space, &headers).await?;
    let account = writer(&shared, &method, &uri, &headers, &body).await?;
    let stored = shared.store.sync_space(space.clone()).await?;
    if stored
        .as_ref()
        .and_then(|s| s.owner.as_deref())
        .is_some_and(|o| o != account)
    {
        return Err(not_yours());
    }
    shared.store.sync_delete_space(space, shared.now()).await?;
    shared.log(format_args!("sync space deleted"));
    Ok(Json(super::Ack {
        server_time: shared.now(),
    }))
}
