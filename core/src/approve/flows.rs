//! The phone-side Approve sign-in flows: pair, fetch pending requests,
//! answer, unpair, update the push token.
//!
//! Each flow is an `async fn` over an `Arc<Vault>` (pairings are stored in
//! the vault; signing goes through the vault's platform keystore on a
//! blocking thread so a biometric prompt never stalls the async runtime).
//! Times are parameters: `now` is the device clock; signatures use
//! `now + the server's recorded offset`.

use super::client::{Headers, ServerConn};
use super::pinning::Pin;
use super::protocol::{self as p, Decision, PairingInvite, RequestState, SignInContext};
use crate::error::AuthenticatorError;
use crate::vault::{Pairing, Vault};
use reqwest::Method;
use std::sync::Arc;
use std::time::Duration;

type Result<T, E = AuthenticatorError> = std::result::Result<T, E>;

/// Ordinary request timeout.
const TIMEOUT: Duration = Duration::from_secs(20);

/// How this device introduces itself when pairing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Name shown to the user and admins ("Alice's Pixel").
    pub name: String,
    /// "ios", "android" or "desktop".
    pub platform: String,
    /// Push token, if the platform gave one.
    pub push_token: Option<String>,
}

/// A server's identity as seen on first contact (trust on first use).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerIdentity {
    /// Server id.
    pub server_id: String,
    /// Server name.
    pub server_name: String,
    /// SHA-256 of its TLS key, hex: show it for the user to compare.
    pub spki_sha256_hex: String,
    /// Server time.
    pub server_time: i64,
}

/// A sign-in (or a new device's pairing) waiting for the user's answer.
/// The user approves by typing the number the sign-in screen — or the new
/// device — shows; it is not sent to the phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInRequest {
    /// Local pairing it came through.
    pub pairing_id: String,
    /// Server name.
    pub server_name: String,
    /// Request id.
    pub request_id: String,
    /// Account.
    pub account: String,
    /// Nonce (base64url).
    pub nonce: String,
    /// What to show (cleaned for display with [`SignInRequest::shown`]);
    /// exactly this, as received, is signed.
    pub context: SignInContext,
    /// Wrong numbers still allowed before the request is denied.
    pub tries_left: u32,
}

/// What a phone shows about a request: the context's texts made safe
/// (`protocol::clean_display`: no control, bidi or zero-width characters,
/// one line, bounded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShownContext {
    /// Sign-in, or the pairing of a new device.
    pub action: super::protocol::Action,
    /// The service ("Home NAS").
    pub service: String,
    /// Where from (address).
    pub client_ip: String,
    /// The client ("Firefox on Linux"; for a pairing, the new device).
    pub client: String,
    /// Approximate place ("" when unknown).
    pub location: String,
}

impl SignInRequest {
    /// The context as the screen shows it.
    pub fn shown(&self) -> ShownContext {
        let c = &self.context;
        ShownContext {
            action: c.action,
            service: p::clean_display(&c.service, 64),
            client_ip: p::clean_display(&c.client_ip, 64),
            client: p::clean_display(&c.user_agent, 128),
            location: p::clean_display(&c.location, 64),
        }
    }
}

/// A notice from a server: something changed on the account (a phone was
/// paired, the backup email or the 2-step settings changed). Shown, not
/// answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairingNotice {
    /// Local pairing it came through.
    pub pairing_id: String,
    /// Server name.
    pub server_name: String,
    /// The server's id for it.
    pub id: i64,
    /// When (server time).
    pub time: i64,
    /// What (`device_paired`, `device_removed`, `email_changed`,
    /// `two_step_changed`).
    pub kind: String,
    /// The sentence to show (cleaned).
    pub text: String,
}

/// Requests and notices of one pairing.
#[derive(Clone, Debug, Default)]
pub struct Pending {
    /// Requests waiting for an answer.
    pub requests: Vec<SignInRequest>,
    /// Notices not seen before on this device.
    pub notices: Vec<PairingNotice>,
}

/// Result of checking every pairing.
#[derive(Clone, Debug, Default)]
pub struct PendingCheck {
    /// Requests waiting, across pairings.
    pub requests: Vec<SignInRequest>,
    /// New notices, across pairings.
    pub notices: Vec<PairingNotice>,
    /// Pairings that could not be checked, with why.
    pub failures: Vec<(String, AuthenticatorError)>,
}

/// A password pairing waiting for approval on one of the account's phones:
/// show [`PendingPairing::number`] and tell the user to type it there, then
/// call [`finish_password_pairing`] until it returns the pairing.
#[derive(Clone)]
pub struct PendingPairing {
    /// The number to show on this (the new) device.
    pub number: u8,
    /// When the approval request expires (server time).
    pub expires_at: i64,
    /// The account.
    pub account: String,
    /// The server's name.
    pub server_name: String,
    server_id: String,
    urls: Vec<String>,
    pin: [u8; 32],
    alias: String,
    request_id: String,
    poll_token: zeroize::Zeroizing<String>,
    push_token: Option<String>,
}

impl std::fmt::Debug for PendingPairing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingPairing")
            .field("number", &self.number)
            .field("expires_at", &self.expires_at)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// What a password pairing came to.
#[derive(Clone, Debug)]
pub enum PasswordPairing {
    /// Paired (the account had an authenticator code, or no second step).
    Paired(Pairing),
    /// Waiting for approval on one of the account's phones.
    AwaitingApproval(PendingPairing),
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AuthenticatorError::Internal {
            reason: format!("background task failed: {e}"),
        })?
}

fn key_alias(server_id: &str) -> Result<String> {
    let mut r = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut r).map_err(|_| {
        AuthenticatorError::Internal {
            reason: "randomness unavailable".into(),
        }
    })?;
    let sid: String = server_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(32)
        .collect();
    Ok(format!(
        "countersign.device.{sid}.{}",
        crate::vault::hex(&r)
    ))
}

fn check_device(d: &DeviceInfo) -> Result<()> {
    let bad = |reason: &str| {
        Err(AuthenticatorError::InvalidInput {
            reason: reason.to_owned(),
        })
    };
    if d.name.trim().is_empty() || d.name.len() > 64 {
        return bad("device name must be 1-64 bytes");
    }
    if !matches!(d.platform.as_str(), "ios" | "android" | "desktop") {
        return bad("platform must be ios, android or desktop");
    }
    if d.push_token.as_ref().is_some_and(|t| t.len() > 512) {
        return bad("push token is too long");
    }
    Ok(())
}

/// Reads a server's identity without trusting it, for the user to compare
/// the fingerprint before pairing by password.
pub async fn fetch_server_identity(url: &str) -> Result<ServerIdentity> {
    let conn = ServerConn::new(vec![url.to_owned()], Pin::Capture, TIMEOUT)?;
    let info = conn
        .call::<p::ServerInfo>(Method::GET, "/v1/info", None, &Vec::new(), None)
        .await?;
    let key = conn.seen_key().ok_or_else(|| AuthenticatorError::Network {
        reason: "no TLS key seen".into(),
    })?;
    Ok(ServerIdentity {
        server_id: info.body.server_id,
        server_name: info.body.server_name,
        spki_sha256_hex: crate::vault::hex(&key),
        server_time: info.body.server_time,
    })
}

/// Pairs using a scanned invitation (`countersign://pair?…`).
pub async fn pair_with_invite(
    vault: &Arc<Vault>,
    invite: &str,
    device: &DeviceInfo,
    now: i64,
) -> Result<Pairing> {
    check_device(device)?;
    let inv = PairingInvite::parse(invite)
        .map_err(|reason| AuthenticatorError::InvalidInput { reason })?;
    vault.can_add_pairing(&inv.server_id, &inv.account)?;
    let conn = ServerConn::new(inv.urls.clone(), Pin::Key(inv.spki_sha256), TIMEOUT)?;
    pair(
        vault,
        conn,
        &inv.server_id,
        inv.urls.clone(),
        inv.spki_sha256,
        Credential::Token(inv.token.clone()),
        device,
        now,
    )
    .await
    .and_then(|r| match r {
        PasswordPairing::Paired(p) => Ok(p),
        PasswordPairing::AwaitingApproval(_) => Err(AuthenticatorError::Internal {
            reason: "an invitation pairing asked for approval".into(),
        }),
    })
}

/// Pairs by typing: server address, the fingerprint the user confirmed (from
/// [`fetch_server_identity`]; plain hex or colon-separated pairs), username
/// and password — and the account's second step, as for a sign-in: the
/// code of its authenticator app (`otp_code`; without it an account that
/// has one answers `Rejected { code: "second_step_required" }`), or, when
/// the account has a paired phone, approval there
/// ([`PasswordPairing::AwaitingApproval`]).
#[allow(clippy::too_many_arguments)]
pub async fn pair_with_password(
    vault: &Arc<Vault>,
    url: &str,
    confirmed_spki_sha256_hex: &str,
    username: &str,
    password: &str,
    otp_code: Option<&str>,
    device: &DeviceInfo,
    now: i64,
) -> Result<PasswordPairing> {
    check_device(device)?;
    // Accept the fingerprint as people see it: `3A:F1:…`, spaced groups or plain hex.
    let cleaned: String = confirmed_spki_sha256_hex
        .chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .collect();
    let pin: [u8; 32] = crate::vault::unhex(&cleaned)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| AuthenticatorError::InvalidInput {
            reason: "fingerprint must be 64 hex characters".into(),
        })?;
    let conn = ServerConn::new(
        vec![url.trim_end_matches('/').to_owned()],
        Pin::Key(pin),
        TIMEOUT,
    )?;
    let info = conn
        .call::<p::ServerInfo>(Method::GET, "/v1/info", None, &Vec::new(), None)
        .await?;
    vault.can_add_pairing(&info.body.server_id, username)?;
    pair(
        vault,
        conn,
        &info.body.server_id,
        vec![url.trim_end_matches('/').to_owned()],
        pin,
        Credential::Password {
            username: username.to_owned(),
            password: password.to_owned(),
            otp_code: otp_code.map(str::to_owned),
        },
        device,
        now,
    )
    .await
}

/// Waits (up to `wait_s` ≤ 25 seconds) for the approval of a
/// [`PendingPairing`]: `Some(pairing)` once approved (stored in the vault),
/// `None` while still waiting. Denied, reported or expired: an error, and
/// the device key is deleted.
pub async fn finish_password_pairing(
    vault: &Arc<Vault>,
    pending: &PendingPairing,
    wait_s: u64,
    now: i64,
) -> Result<Option<Pairing>> {
    let wait = wait_s.min(p::MAX_WAIT_S);
    let conn = ServerConn::new(pending.urls.clone(), Pin::Key(pending.pin), TIMEOUT)?;
    let token: String = percent_encoding::utf8_percent_encode(
        &pending.poll_token,
        percent_encoding::NON_ALPHANUMERIC,
    )
    .to_string();
    let pq = format!(
        "/v1/pair/{}?poll_token={token}&wait={wait}",
        pending.request_id
    );
    let answer = conn
        .call_waiting::<p::PairResponse>(
            Method::GET,
            &pq,
            None,
            &Vec::new(),
            None,
            Duration::from_secs(wait),
        )
        .await;
    let r = match answer {
        Ok(a) => a,
        Err(e @ (AuthenticatorError::Network { .. } | AuthenticatorError::ServerKeyMismatch)) => {
            return Err(e)
        }
        Err(e) => {
            let _ = vault.delete_device_key(&pending.alias);
            return Err(e);
        }
    };
    if r.body.state == p::PairState::Pending {
        return Ok(None);
    }
    let device_id = r
        .body
        .device_id
        .clone()
        .ok_or_else(|| AuthenticatorError::Internal {
            reason: "the server paired without a device id".into(),
        })?;
    store_pairing(
        vault,
        Stored {
            server_id: &pending.server_id,
            urls: pending.urls.clone(),
            pin: pending.pin,
            alias: &pending.alias,
            push_token: pending.push_token.clone(),
        },
        r.body,
        device_id,
        r.server_time,
        now,
    )
    .map(Some)
}

enum Credential {
    Token(String),
    Password {
        username: String,
        password: String,
        otp_code: Option<String>,
    },
}

/// What a pairing is stored with besides the server's answer.
struct Stored<'a> {
    server_id: &'a str,
    urls: Vec<String>,
    pin: [u8; 32],
    alias: &'a str,
    push_token: Option<String>,
}

fn store_pairing(
    vault: &Arc<Vault>,
    s: Stored<'_>,
    r: p::PairResponse,
    device_id: String,
    server_time: Option<i64>,
    now: i64,
) -> Result<Pairing> {
    if r.server_id != s.server_id {
        let _ = vault.delete_device_key(s.alias);
        return Err(AuthenticatorError::Rejected {
            code: "server_id_mismatch".into(),
            message: "the server answered with another server id".into(),
        });
    }
    let pairing = Pairing {
        id: crate::vault::random_hex_id().map_err(|_| AuthenticatorError::Internal {
            reason: "randomness unavailable".into(),
        })?,
        server_id: r.server_id,
        server_name: p::clean_display(&r.server_name, 64),
        urls: s.urls,
        spki_sha256_hex: crate::vault::hex(&s.pin),
        account: r.account,
        device_id,
        key_alias: s.alias.to_owned(),
        created_at: now,
        clock_offset_s: server_time.map_or(0, |t| t - now),
        push_token: s.push_token.unwrap_or_default(),
        notices_seen: 0,
    };
    if let Err(e) = vault.add_pairing(pairing.clone()) {
        let _ = vault.delete_device_key(s.alias);
        return Err(e);
    }
    Ok(pairing)
}

#[allow(clippy::too_many_arguments)]
async fn pair(
    vault: &Arc<Vault>,
    conn: ServerConn,
    server_id: &str,
    urls: Vec<String>,
    pin: [u8; 32],
    cred: Credential,
    device: &DeviceInfo,
    now: i64,
) -> Result<PasswordPairing> {
    let alias = key_alias(server_id)?;
    let (v, a) = (vault.clone(), alias.clone());
    let public = blocking(move || v.create_device_key(&a, false)).await?;
    let credential = match &cred {
        Credential::Token(t) => t.clone(),
        Credential::Password { username, .. } => username.clone(),
    };
    let msg = p::pair_message(server_id, &credential, &public, now);
    let (v, a) = (vault.clone(), alias.clone());
    let proof = match blocking(move || v.sign_with_device_key(&a, &msg)).await {
        Ok(p) => p,
        Err(e) => {
            let _ = vault.delete_device_key(&alias);
            return Err(e);
        }
    };
    let (token, username, password, otp_code) = match cred {
        Credential::Token(t) => (Some(t), None, None, None),
        Credential::Password {
            username,
            password,
            otp_code,
        } => (None, Some(username), Some(password), otp_code),
    };
    let req = p::PairRequest {
        token,
        username,
        password,
        device_name: device.name.clone(),
        platform: device.platform.clone(),
        public_key: p::b64(&public),
        push_token: device.push_token.clone(),
        time: now,
        proof: p::b64(&proof),
        otp_code,
    };
    let body = serde_json::to_vec(&req).map_err(|e| AuthenticatorError::Internal {
        reason: e.to_string(),
    })?;
    let answer = conn
        .call::<p::PairResponse>(Method::POST, "/v1/pair", Some(body), &Vec::new(), None)
        .await;
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            let _ = vault.delete_device_key(&alias);
            return Err(e);
        }
    };
    let r = answer.body;
    if r.state == p::PairState::Pending {
        let (Some(request_id), Some(number), Some(expires_at), Some(poll_token)) = (
            r.request_id.clone(),
            r.number,
            r.expires_at,
            r.poll_token.clone(),
        ) else {
            let _ = vault.delete_device_key(&alias);
            return Err(AuthenticatorError::Network {
                reason: "unexpected answer from the server: a pending pairing without its request"
                    .into(),
            });
        };
        if r.server_id != server_id || !request_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            let _ = vault.delete_device_key(&alias);
            return Err(AuthenticatorError::Rejected {
                code: "server_id_mismatch".into(),
                message: "the server answered with another server id".into(),
            });
        }
        return Ok(PasswordPairing::AwaitingApproval(PendingPairing {
            number,
            expires_at,
            account: r.account,
            server_name: p::clean_display(&r.server_name, 64),
            server_id: server_id.to_owned(),
            urls,
            pin,
            alias,
            request_id,
            poll_token: zeroize::Zeroizing::new(poll_token),
            push_token: device.push_token.clone(),
        }));
    }
    let Some(device_id) = r.device_id.clone() else {
        let _ = vault.delete_device_key(&alias);
        return Err(AuthenticatorError::Internal {
            reason: "the server paired without a device id".into(),
        });
    };
    store_pairing(
        vault,
        Stored {
            server_id,
            urls,
            pin,
            alias: &alias,
            push_token: device.push_token.clone(),
        },
        r,
        device_id,
        answer.server_time,
        now,
    )
    .map(PasswordPairing::Paired)
}

/// Pinned connections kept per pairing, so repeated calls reuse one TLS
/// session instead of a handshake each (see [`Approver`]).
#[derive(Default)]
pub struct ConnCache(std::sync::Mutex<std::collections::HashMap<String, Arc<ServerConn>>>);

fn conn_for(pairing: &Pairing, cache: Option<&ConnCache>) -> Result<Arc<ServerConn>> {
    let pin = pairing
        .spki_sha256()
        .ok_or_else(|| AuthenticatorError::Internal {
            reason: "stored pairing has no valid fingerprint".into(),
        })?;
    // The key covers everything the connection is bound to.
    let key = format!(
        "{}|{}|{}",
        pairing.id,
        pairing.spki_sha256_hex,
        pairing.urls.join(" ")
    );
    if let Some(c) = cache
        .and_then(|c| c.0.lock().ok())
        .and_then(|m| m.get(&key).cloned())
    {
        return Ok(c);
    }
    let conn = Arc::new(ServerConn::new(
        pairing.urls.clone(),
        Pin::Key(pin),
        TIMEOUT,
    )?);
    if let Some(mut m) = cache.and_then(|c| c.0.lock().ok()) {
        let prefix = format!("{}|", pairing.id);
        m.retain(|k, _| !k.starts_with(&prefix));
        m.insert(key, conn.clone());
    }
    Ok(conn)
}

async fn device_headers(
    vault: &Arc<Vault>,
    pairing: &Pairing,
    method: &str,
    pq: &str,
    body: &[u8],
    now: i64,
) -> Result<Headers> {
    let time = now + pairing.clock_offset_s;
    let msg = p::device_auth_message(
        &pairing.server_id,
        &pairing.device_id,
        method,
        pq,
        time,
        body,
    );
    let (v, a) = (vault.clone(), pairing.key_alias.clone());
    let sig = blocking(move || v.sign_with_device_key(&a, &msg)).await?;
    Ok(vec![
        (p::HEADER_DEVICE, pairing.device_id.clone()),
        (p::HEADER_TIME, time.to_string()),
        (p::HEADER_SIGNATURE, p::b64(&sig)),
    ])
}

/// Records the server's clock offset (pairing, and the vault's OTP offset
/// when it moved by 5 s or more: the server is trusted over pinned TLS).
fn record_offset(vault: &Vault, pairing: &Pairing, server_time: Option<i64>, now: i64) {
    let Some(st) = server_time else { return };
    let offset = st - now;
    if (offset - pairing.clock_offset_s).abs() >= 2 {
        let mut p2 = pairing.clone();
        p2.clock_offset_s = offset;
        let _ = vault.update_pairing(p2);
    }
    if let Ok(s) = vault.settings() {
        if (offset - s.clock_offset_s).abs() >= 5
            && offset.abs() <= crate::vault::MAX_CLOCK_OFFSET_S
        {
            let _ = vault.set_clock_offset(offset);
        }
    }
}

fn validate_request(pairing: &Pairing, r: p::PendingRequest) -> Option<SignInRequest> {
    let nonce_ok = p::unb64(&r.nonce).is_some_and(|n| n.len() == 32);
    let sizes_ok = r.request_id.len() <= 64
        && r.account.len() <= 256
        && r.context.service.len() <= 256
        && r.context.client_ip.len() <= 64
        && r.context.user_agent.len() <= 512
        && r.context.location.len() <= 256
        && r.tries_left <= p::MAX_WRONG_NUMBERS;
    if !nonce_ok || !sizes_ok || r.account != pairing.account {
        return None;
    }
    Some(SignInRequest {
        pairing_id: pairing.id.clone(),
        server_name: pairing.server_name.clone(),
        request_id: r.request_id,
        account: r.account,
        nonce: r.nonce,
        context: r.context,
        tries_left: r.tries_left.max(1),
    })
}

/// True when a refusal came with a server time far from the time we signed
/// with: our clock (or recorded offset) is wrong. The offset is recorded so
/// the caller can retry once.
fn learned_skew(
    vault: &Vault,
    pairing: &Pairing,
    conn: &ServerConn,
    err: &AuthenticatorError,
    now: i64,
) -> bool {
    let Some(st) = conn.last_server_time() else {
        return false;
    };
    let skewed = (st - (now + pairing.clock_offset_s)).abs() > p::MAX_CLOCK_SKEW_S / 2;
    if skewed && matches!(err, AuthenticatorError::Rejected { .. }) {
        record_offset(vault, pairing, Some(st), now);
        true
    } else {
        false
    }
}

/// Pending requests of one pairing; waits up to `wait_s` (≤ 25) for one.
pub async fn pending_requests(
    vault: &Arc<Vault>,
    pairing_id: &str,
    wait_s: u64,
    now: i64,
) -> Result<Vec<SignInRequest>> {
    Ok(pending_in(None, vault, pairing_id, wait_s, now, false)
        .await?
        .requests)
}

/// Pending requests *and* new notices of one pairing; waits up to `wait_s`
/// (≤ 25) for either. Notices returned are marked seen in the pairing.
pub async fn pending(
    vault: &Arc<Vault>,
    pairing_id: &str,
    wait_s: u64,
    now: i64,
) -> Result<Pending> {
    pending_in(None, vault, pairing_id, wait_s, now, true).await
}

pub(super) async fn pending_in(
    cache: Option<&ConnCache>,
    vault: &Arc<Vault>,
    pairing_id: &str,
    wait_s: u64,
    now: i64,
    with_notices: bool,
) -> Result<Pending> {
    let mut pairing = vault.pairing(pairing_id)?;
    let wait = wait_s.min(p::MAX_WAIT_S);
    let conn = conn_for(&pairing, cache)?;
    // Without notices wanted, ask for none newer than "everything".
    let after = if with_notices {
        pairing.notices_seen
    } else {
        i64::MAX
    };
    let pq = format!("/v1/device/requests?wait={wait}&notices_after={after}");
    let mut retried = false;
    let list = loop {
        let headers = device_headers(vault, &pairing, "GET", &pq, b"", now).await?;
        match conn
            .call_waiting::<p::PendingList>(
                Method::GET,
                &pq,
                None,
                &headers,
                Some(&pairing.id),
                Duration::from_secs(wait),
            )
            .await
        {
            Ok(l) => break l,
            Err(e) if !retried && learned_skew(vault, &pairing, &conn, &e, now) => {
                retried = true;
                pairing = vault.pairing(pairing_id)?;
            }
            Err(e) => return Err(e),
        }
    };
    record_offset(vault, &pairing, list.server_time, now);
    let notices: Vec<PairingNotice> = list
        .body
        .notices
        .iter()
        .filter(|n| with_notices && n.id > pairing.notices_seen)
        .take(20)
        .map(|n| PairingNotice {
            pairing_id: pairing.id.clone(),
            server_name: pairing.server_name.clone(),
            id: n.id,
            time: n.time,
            kind: p::clean_display(&n.kind, 32),
            text: p::clean_display(&n.text, 400),
        })
        .collect();
    if let Some(last) = notices.iter().map(|n| n.id).max() {
        if let Ok(mut latest) = vault.pairing(pairing_id) {
            latest.notices_seen = last;
            vault.update_pairing(latest)?;
        }
    }
    Ok(Pending {
        requests: list
            .body
            .requests
            .into_iter()
            .filter_map(|r| validate_request(&pairing, r))
            .collect(),
        notices,
    })
}

/// Checks every pairing once (when the app opens or a push arrives).
pub async fn check_all_pending(vault: &Arc<Vault>, now: i64) -> Result<PendingCheck> {
    Approver::new(Arc::clone(vault))
        .check_all_pending(now)
        .await
}

/// A signed answer ready to send (kept separate from sending so a test or
/// the demo can show that replaying the exact same bytes is refused).
#[derive(Clone, Debug)]
pub struct SignedAnswer {
    /// Pairing the answer goes through.
    pub pairing_id: String,
    /// `/v1/requests/{id}/answer`.
    pub path: String,
    /// The JSON body, signature included.
    pub body: Vec<u8>,
}

/// Signs an answer. Approving needs the number the user typed (the one on
/// the sign-in screen, `0..=99`; a wrong one is refused by the server and
/// counted) and, when the vault's "require screen lock after Approve" is
/// on, the user's biometric / device-credential confirmation through the
/// platform keystore.
pub async fn sign_answer(
    vault: &Arc<Vault>,
    req: &SignInRequest,
    decision: Decision,
    picked_number: u8,
    now: i64,
) -> Result<SignedAnswer> {
    let pairing = vault.pairing(&req.pairing_id)?;
    if !req.request_id.bytes().all(|b| b.is_ascii_alphanumeric()) || req.request_id.len() > 64 {
        return Err(AuthenticatorError::InvalidInput {
            reason: "malformed request id".into(),
        });
    }
    if decision == Decision::Approve {
        if picked_number > p::MAX_NUMBER {
            return Err(AuthenticatorError::InvalidInput {
                reason: "type the two digits the sign-in screen shows".into(),
            });
        }
        if vault.settings()?.require_screen_lock_after_approve {
            let v = vault.clone();
            blocking(move || v.confirm_user_presence()).await?;
        }
    }
    let nonce = p::unb64(&req.nonce).ok_or_else(|| AuthenticatorError::InvalidInput {
        reason: "malformed nonce".into(),
    })?;
    let time = now + pairing.clock_offset_s;
    let msg = p::approval_message(
        &pairing.server_id,
        &req.account,
        &req.request_id,
        &nonce,
        decision,
        picked_number,
        &req.context.hash(),
        time,
    );
    let (v, a) = (vault.clone(), pairing.key_alias.clone());
    let sig = blocking(move || v.sign_with_device_key(&a, &msg)).await?;
    let body = p::AnswerRequest {
        device_id: pairing.device_id.clone(),
        decision,
        picked_number,
        time,
        signature: p::b64(&sig),
    };
    let body = serde_json::to_vec(&body).map_err(|e| AuthenticatorError::Internal {
        reason: e.to_string(),
    })?;
    Ok(SignedAnswer {
        pairing_id: pairing.id,
        path: format!("/v1/requests/{}/answer", req.request_id),
        body,
    })
}

/// Sends a signed answer as is; returns the request's state.
pub async fn send_answer(
    vault: &Arc<Vault>,
    answer: &SignedAnswer,
    now: i64,
) -> Result<RequestState> {
    send_in(None, vault, answer, now).await
}

async fn send_in(
    cache: Option<&ConnCache>,
    vault: &Arc<Vault>,
    answer: &SignedAnswer,
    now: i64,
) -> Result<RequestState> {
    let pairing = vault.pairing(&answer.pairing_id)?;
    let conn = conn_for(&pairing, cache)?;
    send_on(vault, &conn, &pairing, answer, now).await
}

/// Signs and sends an answer (re-signing once if the server's time shows
/// the device clock was off).
pub async fn answer(
    vault: &Arc<Vault>,
    req: &SignInRequest,
    decision: Decision,
    picked_number: u8,
    now: i64,
) -> Result<RequestState> {
    answer_in(None, vault, req, decision, picked_number, now).await
}

pub(super) async fn answer_in(
    cache: Option<&ConnCache>,
    vault: &Arc<Vault>,
    req: &SignInRequest,
    decision: Decision,
    picked_number: u8,
    now: i64,
) -> Result<RequestState> {
    let signed = sign_answer(vault, req, decision, picked_number, now).await?;
    let pairing = vault.pairing(&req.pairing_id)?;
    let conn = conn_for(&pairing, cache)?;
    match send_on(vault, &conn, &pairing, &signed, now).await {
        Err(e) if learned_skew(vault, &pairing, &conn, &e, now) => {
            let signed = sign_answer(vault, req, decision, picked_number, now).await?;
            let pairing = vault.pairing(&req.pairing_id)?;
            send_on(vault, &conn, &pairing, &signed, now).await
        }
        other => other,
    }
}

async fn send_on(
    vault: &Vault,
    conn: &ServerConn,
    pairing: &Pairing,
    answer: &SignedAnswer,
    now: i64,
) -> Result<RequestState> {
    let r = conn
        .call::<p::AnswerResponse>(
            Method::POST,
            &answer.path,
            Some(answer.body.clone()),
            &Vec::new(),
            Some(&pairing.id),
        )
        .await?;
    record_offset(vault, pairing, r.server_time, now);
    Ok(r.body.state)
}

/// Unpairs: tells the server (best effort), then deletes the pairing and its
/// key locally. Returns whether the server confirmed.
pub async fn unpair(vault: &Arc<Vault>, pairing_id: &str, now: i64) -> Result<bool> {
    unpair_in(None, vault, pairing_id, now).await
}

async fn unpair_in(
    cache: Option<&ConnCache>,
    vault: &Arc<Vault>,
    pairing_id: &str,
    now: i64,
) -> Result<bool> {
    let pairing = vault.pairing(pairing_id)?;
    let told = match conn_for(&pairing, cache) {
        Ok(conn) => {
            let headers = device_headers(vault, &pairing, "DELETE", "/v1/device", b"", now).await?;
            match conn
                .call::<serde_json::Value>(
                    Method::DELETE,
                    "/v1/device",
                    None,
                    &headers,
                    Some(&pairing.id),
                )
                .await
            {
                Ok(_) | Err(AuthenticatorError::PairingRevoked { .. }) => true,
                Err(_) => false,
            }
        }
        Err(_) => false,
    };
    vault.remove_pairing(pairing_id)?;
    let _ = vault.delete_device_key(&pairing.key_alias);
    Ok(told)
}

/// Sends a new push token to the server of one pairing and stores it.
pub async fn update_push_token(
    vault: &Arc<Vault>,
    pairing_id: &str,
    push_token: &str,
    now: i64,
) -> Result<()> {
    push_token_in(None, vault, pairing_id, push_token, now).await
}

async fn push_token_in(
    cache: Option<&ConnCache>,
    vault: &Arc<Vault>,
    pairing_id: &str,
    push_token: &str,
    now: i64,
) -> Result<()> {
    if push_token.len() > 512 {
        return Err(AuthenticatorError::InvalidInput {
            reason: "push token is too long".into(),
        });
    }
    let pairing = vault.pairing(pairing_id)?;
    let body = serde_json::to_vec(&p::PushTokenUpdate {
        push_token: push_token.to_owned(),
    })
    .map_err(|e| AuthenticatorError::Internal {
        reason: e.to_string(),
    })?;
    let headers =
        device_headers(vault, &pairing, "PUT", "/v1/device/push-token", &body, now).await?;
    let conn = conn_for(&pairing, cache)?;
    let r = conn
        .call::<serde_json::Value>(
            Method::PUT,
            "/v1/device/push-token",
            Some(body),
            &headers,
            Some(&pairing.id),
        )
        .await?;
    record_offset(vault, &pairing, r.server_time, now);
    let mut p2 = pairing;
    p2.push_token = push_token.to_owned();
    vault.update_pairing(p2)
}

/// The Approve client for one vault, keeping one pinned connection per
/// pairing so repeated calls reuse a TLS session (a phone app, the CLI's
/// long-running commands, benchmarks). The free functions of this module do
/// the same without keeping connections.
pub struct Approver {
    pub(super) vault: Arc<Vault>,
    pub(super) conns: ConnCache,
    /// The requests waiting for this phone's answer (`inbox.rs`).
    pub(super) inbox: super::inbox::Inbox,
    /// Who hears about inbox changes, notices and poll errors (`watcher.rs`).
    pub(super) listener: std::sync::Mutex<Option<Arc<dyn super::watcher::ApproveListener>>>,
}

impl Approver {
    /// A client for `vault`.
    pub fn new(vault: Arc<Vault>) -> Self {
        Self {
            vault,
            conns: ConnCache::default(),
            inbox: super::inbox::Inbox::default(),
            listener: std::sync::Mutex::new(None),
        }
    }

    /// The vault.
    pub fn vault(&self) -> &Arc<Vault> {
        &self.vault
    }

    /// Drops kept connections and the waiting requests (the vault locks:
    /// nothing about sign-ins is shown while locked).
    pub fn forget_connections(&self) {
        if let Ok(mut m) = self.conns.0.lock() {
            m.clear();
        }
        self.inbox.clear();
    }

    /// See [`pending_requests`]. The requests also go into the waiting
    /// list (so they can be answered by id), its listener told.
    pub async fn pending_requests(
        &self,
        pairing_id: &str,
        wait_s: u64,
        now: i64,
    ) -> Result<Vec<SignInRequest>> {
        Ok(self
            .poll_merge(pairing_id, wait_s, now, false)
            .await?
            .requests)
    }

    /// See [`pending`]; the requests go into the waiting list too.
    pub async fn pending(&self, pairing_id: &str, wait_s: u64, now: i64) -> Result<Pending> {
        self.poll_merge(pairing_id, wait_s, now, true).await
    }

    /// See [`check_all_pending`]; the requests go into the waiting list too.
    pub async fn check_all_pending(&self, now: i64) -> Result<PendingCheck> {
        let mut out = PendingCheck::default();
        for pairing in self.vault.pairings()? {
            match self.poll_merge(&pairing.id, 0, now, true).await {
                Ok(mut r) => {
                    out.requests.append(&mut r.requests);
                    out.notices.append(&mut r.notices);
                }
                Err(e) => out.failures.push((pairing.id.clone(), e)),
            }
        }
        Ok(out)
    }

    /// Polls one pairing and takes its list into the waiting list.
    pub(super) async fn poll_merge(
        &self,
        pairing_id: &str,
        wait_s: u64,
        now: i64,
        with_notices: bool,
    ) -> Result<Pending> {
        let found = pending_in(
            Some(&self.conns),
            &self.vault,
            pairing_id,
            wait_s,
            now,
            with_notices,
        )
        .await?;
        let offset = self
            .vault
            .pairing(pairing_id)
            .map(|p| p.clock_offset_s)
            .unwrap_or(0);
        let events = self
            .inbox
            .merge(pairing_id, found.requests.clone(), offset, now);
        self.tell(events);
        Ok(found)
    }

    /// See [`answer`].
    pub async fn answer(
        &self,
        req: &SignInRequest,
        decision: Decision,
        picked_number: u8,
        now: i64,
    ) -> Result<RequestState> {
        answer_in(
            Some(&self.conns),
            &self.vault,
            req,
            decision,
            picked_number,
            now,
        )
        .await
    }

    /// See [`send_answer`].
    pub async fn send_answer(&self, answer: &SignedAnswer, now: i64) -> Result<RequestState> {
        send_in(Some(&self.conns), &self.vault, answer, now).await
    }

    /// See [`unpair`].
    pub async fn unpair(&self, pairing_id: &str, now: i64) -> Result<bool> {
        unpair_in(Some(&self.conns), &self.vault, pairing_id, now).await
    }

    /// See [`update_push_token`].
    pub async fn update_push_token(
        &self,
        pairing_id: &str,
        push_token: &str,
        now: i64,
    ) -> Result<()> {
        push_token_in(Some(&self.conns), &self.vault, pairing_id, push_token, now).await
    }
}
