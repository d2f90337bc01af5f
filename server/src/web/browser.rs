//! Device cookies: how the server knows a browser it has seen sign in.
//!
//! After a full sign-in (password and second step) the browser gets
//! `__Host-cs_device`: a random 16-byte browser id and its HMAC under a key
//! derived from `seed.key` (so every node checks it and nobody can make
//! one), valid for a year. The store remembers which accounts each browser
//! id (its SHA-256) completed a sign-in for. A browser is *known* for an
//! account when its cookie's MAC checks and the store has that pair; its
//! guesses then have budgets of their own (`twostep::guard`), so strangers
//! failing from anywhere never lock the owner's own browser out. A cookie
//! with a bad MAC is ignored (the browser is simply unknown).

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;

use super::session::{cookie, set_cookie};
use crate::crypto::{digest_eq, hex, random_bytes, sha256};
use crate::error::ServerError;
use crate::state::Shared;

/// The device cookie's name (`__Host-`: Secure, Path=/, no Domain).
pub(crate) const BROWSER_COOKIE: &str = "__Host-cs_device";
/// How long a device cookie lives, seconds (a year).
const BROWSER_COOKIE_TTL_S: i64 = 365 * 86_400;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The browser id of the request's device cookie, if its MAC checks.
fn browser_id(shared: &Shared, headers: &HeaderMap) -> Option<[u8; 16]> {
    let value = cookie(headers, BROWSER_COOKIE)?;
    let (id, mac) = value.split_once('.')?;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let id: [u8; 16] = engine.decode(id).ok()?.try_into().ok()?;
    let mac: [u8; 32] = engine.decode(mac).ok()?.try_into().ok()?;
    digest_eq(&shared.seed_key.browser_mac(&id), &mac).then_some(id)
}

/// The browser's id (hex) if it holds a device cookie known for `account`.
pub(crate) async fn known_for(
    shared: &Shared,
    headers: &HeaderMap,
    account: &str,
) -> Result<Option<String>, ServerError> {
    let Some(id) = browser_id(shared, headers) else {
        return Ok(None);
    };
    let known = shared
        .store
        .browser_known(sha256(&id), account.to_owned())
        .await?;
    Ok(known.then(|| hex(&id)))
}

/// After a full sign-in to `account`: remembers this browser for it, and
/// returns the `Set-Cookie` of a new device cookie if it had none (or an
/// invalid one). `label` describes the browser ("Firefox on Linux").
pub(crate) async fn remember(
    shared: &Shared,
    headers: &HeaderMap,
    account: &str,
    label: &str,
) -> Result<Option<HeaderValue>, ServerError> {
    let (id, fresh) = match browser_id(shared, headers) {
        Some(id) => (id, false),
        None => (random_bytes::<16>()?, true),
    };
    shared
        .store
        .remember_browser(
            sha256(&id),
            account.to_owned(),
            shared.now(),
            label.to_owned(),
        )
        .await?;
    Ok(fresh.then(|| {
        let value = format!("{}.{}", b64(&id), b64(&shared.seed_key.browser_mac(&id)));
        set_cookie(BROWSER_COOKIE, &value, BROWSER_COOKIE_TTL_S)
    }))
}
