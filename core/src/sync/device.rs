//! Sync for one device: the vault ↔ replica ↔ server loop.
//!
//! [`enable`] makes a sync code and a space on a Countersign server (the
//! same server, pinned the same way, as Approve sign-in); [`join`] attaches
//! another device with that code (typed, or scanned from [`join_uri`]);
//! [`sync_now`] does one round; [`delete_everywhere`] removes the server copy
//! so every device stops at its next round; [`leave`] stops on this device
//! only. Nothing here ever deletes local profiles except to apply a delete
//! that the merge engine says won.
//!
//! One round:
//! 1. local → replica: new vault profiles are added (fresh random sync id),
//!    changed ones edited, removed ones deleted, reordered ones re-keyed;
//! 2. pull: entries newer than the last revision seen are decrypted and
//!    merged;
//! 3. push: entries whose encoding differs from what the server holds are
//!    sent as conditional writes; a conflict returns the server's version,
//!    which is merged and pushed again (a few rounds at most);
//! 4. replica → vault: visible entries missing locally are added (a seed the
//!    vault already has is linked instead of doubled), changed names, notes,
//!    groups and favorites are applied, won deletes remove the profile, and
//!    the list order follows the replica's.
//!
//! The device's state — sync code, device id, clock, entries, the mapping
//! sync id → vault profile id, the server revisions — lives in
//! `<vault>.sync`, AES-256-GCM under a key wrapped by the platform key
//! (alias [`KEY_ALIAS`]), written atomically. Offline, a round fails with a
//! network error and changes nothing; the vault keeps working (codes never
//! wait for sync).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::keys::SyncKeys;
use super::{decode_entry, encode_entry, DeviceId, Replica, SyncEntry, DEFAULT_RETENTION_S};
use crate::approve::client::ServerConn;
use crate::approve::pinning::Pin;
use crate::error::{AuthenticatorError, VaultError};
use crate::otp::{OtpParams, OtpType};
use crate::profile::{NewProfile, Profile};
use crate::vault::{KeyProtector, ProfileUpdate, Vault};

/// Platform key alias that wraps the sync state's key.
pub const KEY_ALIAS: &str = "countersign.sync";

/// Entries per request (the server takes at most 200).
const BATCH: usize = 100;
/// Push/merge rounds before giving up on a busy space.
const MAX_PUSH_ROUNDS: usize = 5;
/// Gap between sort keys of neighbours.
const SORT_GAP: i64 = 1024;

type Result<T, E = AuthenticatorError> = std::result::Result<T, E>;

/// What one round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Entries received from the server.
    pub pulled: usize,
    /// Entries written to the server.
    pub pushed: usize,
    /// Profiles added to this vault from other devices.
    pub added: usize,
    /// Profiles changed from other devices.
    pub updated: usize,
    /// Profiles removed because another device deleted them.
    pub removed: usize,
    /// Entries with concurrent edits (the newest is shown; nothing is lost).
    pub conflicts: usize,
}

/// Where sync stands on this device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncStatus {
    /// Server addresses.
    pub urls: Vec<String>,
    /// The space's id on the server (not secret).
    pub space_id: String,
    /// Entries known (deleted ones included until purged).
    pub entries: usize,
    /// Time of the last successful round.
    pub last_sync: Option<i64>,
    /// Why sync stopped, if it did (e.g. deleted from another device).
    pub stopped: Option<String>,
}

/// The persisted state (inside the encrypted file).
#[derive(Serialize, Deserialize)]
struct State {
    urls: Vec<String>,
    spki: String,
    code: String,
    device: String,
    clock: u64,
    /// Base64 of `encode_entry`.
    entries: Vec<String>,
    /// sync id → vault profile id.
    map: BTreeMap<String, String>,
    /// entry id → the server revision this device last saw.
    revs: BTreeMap<String, i64>,
    /// sync id → hex SHA-256 of the encoding the server holds.
    synced: BTreeMap<String, String>,
    last_rev: i64,
    last_sync: Option<i64>,
    stopped: Option<String>,
}

/// The file: the state sealed under a platform-wrapped key.
#[derive(Serialize, Deserialize)]
struct Sealed {
    v: u8,
    wrapped_key: String,
    nonce: String,
    data: String,
}

fn state_path(vault_path: &Path) -> PathBuf {
    let mut name = vault_path.as_os_str().to_owned();
    name.push(".sync");
    PathBuf::from(name)
}

fn b64(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn unb64(s: &str) -> Result<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| damaged("base64"))
}

fn damaged(what: &str) -> AuthenticatorError {
    AuthenticatorError::VaultUnreadable {
        reason: format!("the sync state file is damaged ({what}); turn sync off and join again"),
    }
}

fn internal(what: &str) -> AuthenticatorError {
    AuthenticatorError::Internal {
        reason: what.to_owned(),
    }
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .map_err(|_| internal("system randomness unavailable"))?;
    Ok(b)
}

fn sha_hex(bytes: &[u8]) -> String {
    crate::vault::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

fn save(vault_path: &Path, protector: &dyn KeyProtector, state: &State) -> Result<()> {
    let key = Zeroizing::new(random::<32>()?);
    let wrapped = protector
        .wrap(KEY_ALIAS, &key[..], false)
        .map_err(VaultError::from)?;
    let nonce = random::<NONCE_LEN>()?;
    let mut data =
        Zeroizing::new(serde_json::to_vec(state).map_err(|_| internal("sync state encoding"))?);
    let cipher = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &key[..]).map_err(|_| internal("sync key"))?,
    );
    let mut buf = data.to_vec();
    data.fill(0);
    cipher
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(KEY_ALIAS.as_bytes()),
            &mut buf,
        )
        .map_err(|_| internal("sync seal"))?;
    let file = Sealed {
        v: 1,
        wrapped_key: b64(&wrapped),
        nonce: b64(&nonce),
        data: b64(&buf),
    };
    let json = serde_json::to_vec(&file).map_err(|_| internal("sync state encoding"))?;
    crate::backup::write_atomic(&state_path(vault_path), &json)
}

fn load(vault_path: &Path, protector: &dyn KeyProtector) -> Result<Option<State>> {
    let bytes = match std::fs::read(state_path(vault_path)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(VaultError::from(e).into()),
    };
    let file: Sealed = serde_json::from_slice(&bytes).map_err(|_| damaged("not JSON"))?;
    if file.v != 1 {
        return Err(damaged("unknown version"));
    }
    let key = protector
        .unwrap(KEY_ALIAS, &unb64(&file.wrapped_key)?)
        .map_err(VaultError::from)?;
    let nonce: [u8; NONCE_LEN] = unb64(&file.nonce)?
        .try_into()
        .map_err(|_| damaged("nonce"))?;
    let cipher =
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key.expose()).map_err(|_| damaged("key"))?);
    let mut buf = Zeroizing::new(unb64(&file.data)?);
    let plain = cipher
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(KEY_ALIAS.as_bytes()),
            &mut buf[..],
        )
        .map_err(|_| damaged("does not decrypt"))?;
    serde_json::from_slice(plain)
        .map(Some)
        .map_err(|_| damaged("contents"))
}

/// What a profile looks like inside a sync entry (never its local id or
/// list position).
#[derive(Serialize, Deserialize, PartialEq)]
struct Payload {
    issuer: String,
    account: String,
    secret: String,
    params: OtpParams,
    #[serde(default)]
    note: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    favorite: bool,
}

impl Payload {
    fn of(p: &Profile) -> Self {
        Self {
            issuer: p.issuer.clone(),
            account: p.account.clone(),
            secret: p.secret.to_base32().to_string(),
            params: p.params,
            note: p.note.clone(),
            group: p.group.clone(),
            favorite: p.favorite,
        }
    }

    fn bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        serde_json::to_vec(self)
            .map(Zeroizing::new)
            .map_err(|_| internal("sync payload encoding"))
    }

    fn parse(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    fn new_profile(&self) -> Option<NewProfile> {
        let secret = crate::uri::decode_secret(&self.secret).ok()?;
        let mut p = NewProfile::new(&self.issuer, &self.account, secret, self.params);
        p.note = self.note.clone();
        p.group = self.group.clone();
        p.favorite = self.favorite;
        Some(p)
    }
}

impl Drop for Payload {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.secret.zeroize();
    }
}

fn spki_from_hex(s: &str) -> Result<[u8; 32]> {
    crate::vault::unhex(s)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| AuthenticatorError::InvalidInput {
            reason: "the server fingerprint is 64 hex digits".into(),
        })
}

struct Session {
    state: State,
    keys: SyncKeys,
    replica: Replica,
    conn: ServerConn,
}

fn connect(urls: &[String], spki: [u8; 32]) -> Result<ServerConn> {
    ServerConn::new(urls.to_vec(), Pin::Key(spki), Duration::from_secs(30))
}

fn open_session(state: State) -> Result<Session> {
    let keys = SyncKeys::from_code(&state.code)?;
    let device: DeviceId = crate::vault::unhex(&state.device)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| damaged("device id"))?;
    let mut entries = Vec::with_capacity(state.entries.len());
    for e in &state.entries {
        let bytes = Zeroizing::new(unb64(e)?);
        entries.push(decode_entry(&bytes).map_err(|_| damaged("entry"))?);
    }
    let replica = Replica::load(device, state.clock, entries);
    let conn = connect(&state.urls, spki_from_hex(&state.spki)?)?;
    Ok(Session {
        state,
        keys,
        replica,
        conn,
    })
}

fn bearer(keys: &SyncKeys) -> crate::approve::client::Headers {
    vec![("authorization", format!("Bearer {}", keys.token()))]
}

/// The space token plus this device's signature for a write: the server
/// accepts sync writes only from a device paired with it (the space then
/// belongs to that account). The pairing is the vault's pairing with the
/// sync server's pinned key.
fn writer_headers(
    vault: &Vault,
    state: &State,
    keys: &SyncKeys,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    now: i64,
) -> Result<crate::approve::client::Headers> {
    let pairing = vault
        .pairings()?
        .into_iter()
        .find(|p| p.spki_sha256_hex.eq_ignore_ascii_case(&state.spki))
        .ok_or_else(|| AuthenticatorError::InvalidInput {
            reason: "sync through this server needs this device paired with it for Approve sign-in: pair first (countersign pair …), then turn sync on".into(),
        })?;
    let time = now + pairing.clock_offset_s;
    let msg = crate::approve::protocol::device_auth_message(
        &pairing.server_id,
        &pairing.device_id,
        method,
        path_and_query,
        time,
        body,
    );
    let sig = vault.sign_with_device_key(&pairing.key_alias, &msg)?;
    let mut headers = bearer(keys);
    headers.push((crate::approve::protocol::HEADER_DEVICE, pairing.device_id));
    headers.push((crate::approve::protocol::HEADER_TIME, time.to_string()));
    headers.push((
        crate::approve::protocol::HEADER_SIGNATURE,
        crate::approve::protocol::b64(&sig),
    ));
    Ok(headers)
}

#[derive(Deserialize)]
struct WireEntry {
    entry_id: String,
    rev: i64,
    blob: String,
}

#[derive(Deserialize)]
struct EntryList {
    entries: Vec<WireEntry>,
    more: bool,
}

#[derive(Serialize)]
struct WirePut {
    entry_id: String,
    base_rev: i64,
    blob: String,
}

#[derive(Deserialize)]
struct PutResult {
    entry_id: String,
    status: String,
    rev: i64,
    #[serde(default)]
    blob: Option<String>,
}

#[derive(Deserialize)]
struct PutAnswer {
    results: Vec<PutResult>,
}

#[derive(Deserialize)]
struct Created {
    #[allow(dead_code)]
    created: bool,
}

/// Makes a new sync space on the server (`urls`, pinned to `spki_hex`, the
/// fingerprint the user compared — e.g. from an Approve pairing) and syncs
/// this vault into it. Returns the sync code to show once (and to put in
/// the join QR, [`join_uri`]).
pub async fn enable(
    vault: &Vault,
    vault_path: &Path,
    protector: &dyn KeyProtector,
    urls: Vec<String>,
    spki_hex: &str,
    now: i64,
) -> Result<(Zeroizing<String>, SyncReport)> {
    if load(vault_path, protector)?.is_some_and(|s| s.stopped.is_none()) {
        return Err(AuthenticatorError::InvalidInput {
            reason: "sync is already on for this vault".into(),
        });
    }
    let keys = SyncKeys::generate()?;
    let code = keys.display_code();
    let state = new_state(urls, spki_hex, &keys)?;
    let session = open_session(state)?;
    let path = format!("/v1/sync/{}", keys.space_id());
    let headers = writer_headers(vault, &session.state, &keys, "PUT", &path, b"", now)?;
    session
        .conn
        .call::<Created>(reqwest::Method::PUT, &path, None, &headers, None)
        .await?;
    let report = round(vault, vault_path, protector, session, now).await?;
    Ok((code, report))
}

fn new_state(urls: Vec<String>, spki_hex: &str, keys: &SyncKeys) -> Result<State> {
    if urls.is_empty() || urls.iter().any(|u| !u.starts_with("https://")) {
        return Err(AuthenticatorError::InvalidInput {
            reason: "sync server addresses start with https://".into(),
        });
    }
    let spki = spki_from_hex(spki_hex)?;
    Ok(State {
        urls,
        spki: crate::vault::hex(&spki),
        code: keys.code().to_owned(),
        device: crate::vault::hex(&random::<16>()?),
        clock: 0,
        entries: Vec::new(),
        map: BTreeMap::new(),
        revs: BTreeMap::new(),
        synced: BTreeMap::new(),
        last_rev: 0,
        last_sync: None,
        stopped: None,
    })
}

/// Joins an existing sync space with its code (typed, or from the QR of
/// [`join_uri`]) and syncs. Profiles already in this vault are kept and
/// merged in (a seed both sides have is linked, not doubled).
pub async fn join(
    vault: &Vault,
    vault_path: &Path,
    protector: &dyn KeyProtector,
    urls: Vec<String>,
    spki_hex: &str,
    code: &str,
    now: i64,
) -> Result<SyncReport> {
    if load(vault_path, protector)?.is_some_and(|s| s.stopped.is_none()) {
        return Err(AuthenticatorError::InvalidInput {
            reason: "sync is already on for this vault".into(),
        });
    }
    let keys = SyncKeys::from_code(code)?;
    let state = new_state(urls, spki_hex, &keys)?;
    let session = open_session(state)?;
    // The space must exist: a mistyped code must not make a new one.
    let path = format!("/v1/sync/{}/entries?since=0&limit=1", keys.space_id());
    session
        .conn
        .call::<serde_json::Value>(reqwest::Method::GET, &path, None, &bearer(&keys), None)
        .await
        .map_err(|e| match e {
            AuthenticatorError::Rejected { code, .. } if code == "not_found" => {
                AuthenticatorError::InvalidInput {
                    reason: "no sync space for this code on that server".into(),
                }
            }
            other => other,
        })?;
    // Pull first, so profiles this vault already has are linked to the
    // space's entries (same seed and parameters) instead of doubled.
    let mut session = session;
    let mut pulled = SyncReport::default();
    pull(&mut session, &mut pulled).await?;
    let mut report = round(vault, vault_path, protector, session, now).await?;
    report.pulled += pulled.pulled;
    Ok(report)
}

/// The `countersign://sync?…` text for the join QR code (contains the sync
/// code: show it only on this device's screen).
pub fn join_uri(vault_path: &Path, protector: &dyn KeyProtector) -> Result<Zeroizing<String>> {
    let state = load(vault_path, protector)?.ok_or_else(|| AuthenticatorError::InvalidInput {
        reason: "sync is off".into(),
    })?;
    let mut uri = format!(
        "countersign://sync?v=1&fp={}&code={}",
        state.spki, state.code
    );
    for u in &state.urls {
        uri.push_str("&url=");
        uri.push_str(
            &percent_encoding::utf8_percent_encode(u, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
    }
    Ok(Zeroizing::new(uri))
}

/// What a join QR holds.
pub struct JoinInfo {
    /// Server addresses.
    pub urls: Vec<String>,
    /// Server key fingerprint (hex).
    pub spki_hex: String,
    /// The sync code.
    pub code: Zeroizing<String>,
}

/// Parses a `countersign://sync?…` join text.
pub fn parse_join_uri(text: &str) -> Result<JoinInfo> {
    let bad = || AuthenticatorError::InvalidInput {
        reason: "not a Countersign sync code (countersign://sync?…)".into(),
    };
    let query = text
        .trim()
        .strip_prefix("countersign://sync?")
        .ok_or_else(bad)?;
    let (mut urls, mut fp, mut code, mut v) = (Vec::new(), None, None, None);
    for pair in query.split('&') {
        let (k, val) = pair.split_once('=').ok_or_else(bad)?;
        let val = percent_encoding::percent_decode_str(val)
            .decode_utf8()
            .map_err(|_| bad())?
            .into_owned();
        match k {
            "v" => v = Some(val),
            "url" => urls.push(val),
            "fp" => fp = Some(val),
            "code" => code = Some(Zeroizing::new(val)),
            _ => {}
        }
    }
    if v.as_deref() != Some("1") || urls.is_empty() {
        return Err(bad());
    }
    Ok(JoinInfo {
        urls,
        spki_hex: fp.ok_or_else(bad)?,
        code: code.ok_or_else(bad)?,
    })
}

/// One sync round (see the module docs). A network failure changes
/// nothing; a space deleted from another device stops sync here too
/// (`Rejected { code: "sync_deleted" }`), keeping every local profile.
pub async fn sync_now(
    vault: &Vault,
    vault_path: &Path,
    protector: &dyn KeyProtector,
    now: i64,
) -> Result<SyncReport> {
    let state = load(vault_path, protector)?.ok_or_else(|| AuthenticatorError::InvalidInput {
        reason: "sync is off".into(),
    })?;
    if let Some(why) = &state.stopped {
        return Err(AuthenticatorError::Rejected {
            code: "sync_stopped".into(),
            message: why.clone(),
        });
    }
    round(vault, vault_path, protector, open_session(state)?, now).await
}

/// Deletes the server copy: sync stops on every device at its next round.
/// Local profiles stay on every device.
pub async fn delete_everywhere(
    vault: &Vault,
    vault_path: &Path,
    protector: &dyn KeyProtector,
    now: i64,
) -> Result<()> {
    let state = load(vault_path, protector)?.ok_or_else(|| AuthenticatorError::InvalidInput {
        reason: "sync is off".into(),
    })?;
    let mut session = open_session(state)?;
    let path = format!("/v1/sync/{}", session.keys.space_id());
    let headers = writer_headers(
        vault,
        &session.state,
        &session.keys,
        "DELETE",
        &path,
        b"",
        now,
    )?;
    match session
        .conn
        .call::<serde_json::Value>(reqwest::Method::DELETE, &path, None, &headers, None)
        .await
    {
        Ok(_) => {}
        Err(AuthenticatorError::Rejected { code, .. }) if code == "sync_deleted" => {}
        Err(e) => return Err(e),
    }
    session.state.stopped = Some(format!(
        "the sync copy was deleted from this device at {now}"
    ));
    save(vault_path, protector, &session.state)
}

/// A profile deleted on some device, still recoverable (its tombstone keeps
/// the last payload until it is purged, 30 days after the delete).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletedProfile {
    /// The entry's sync id (pass it to [`restore_deleted`]).
    pub sync_id: String,
    /// Service name it had.
    pub issuer: String,
    /// Account name it had.
    pub account: String,
    /// When it was deleted (Unix seconds).
    pub deleted_at: i64,
}

/// Recently deleted profiles, newest first.
pub fn recently_deleted(
    vault_path: &Path,
    protector: &dyn KeyProtector,
) -> Result<Vec<DeletedProfile>> {
    let state = load(vault_path, protector)?.ok_or_else(|| AuthenticatorError::InvalidInput {
        reason: "sync is off".into(),
    })?;
    let s = open_session(state)?;
    let mut out: Vec<DeletedProfile> = s
        .replica
        .entries()
        .filter_map(|(id, e)| {
            let payload = Payload::parse(e.restorable_payload()?.as_bytes())?;
            Some(DeletedProfile {
                sync_id: id.to_owned(),
                issuer: payload.issuer.clone(),
                account: payload.account.clone(),
                deleted_at: e.deleted_at().unwrap_or(0),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.deleted_at
            .cmp(&a.deleted_at)
            .then_with(|| a.sync_id.cmp(&b.sync_id))
    });
    Ok(out)
}

/// Brings a recently deleted profile back into this vault (and, at the
/// next round, onto every device). Works offline: the restore is applied
/// and saved here at once. Returns the profile's new local id.
pub fn restore_deleted(
    vault: &Vault,
    vault_path: &Path,
    protector: &dyn KeyProtector,
    sync_id: &str,
    now: i64,
) -> Result<String> {
    let state = load(vault_path, protector)?.ok_or_else(|| AuthenticatorError::InvalidInput {
        reason: "sync is off".into(),
    })?;
    let mut s = open_session(state)?;
    // Pending local changes first, so the apply below cannot undo them.
    local_to_replica(vault, &mut s, now)?;
    s.replica
        .restore(sync_id, now)
        .map_err(AuthenticatorError::from)?;
    let mut report = SyncReport::default();
    replica_to_vault(vault, &mut s, &mut report, now)?;
    let id = s
        .state
        .map
        .get(sync_id)
        .cloned()
        .ok_or_else(|| AuthenticatorError::InvalidInput {
            reason: "that profile could not be added back to this vault".into(),
        })?;
    persist(vault_path, protector, &mut s)?;
    Ok(id)
}

/// Stops sync on this device only (forgets the code; the server copy and
/// the other devices carry on). `false` if it was off.
pub fn leave(vault_path: &Path) -> Result<bool> {
    match std::fs::remove_file(state_path(vault_path)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(VaultError::from(e).into()),
    }
}

/// Where sync stands, or `None` when it is off.
pub fn status(vault_path: &Path, protector: &dyn KeyProtector) -> Result<Option<SyncStatus>> {
    let Some(state) = load(vault_path, protector)? else {
        return Ok(None);
    };
    let keys = SyncKeys::from_code(&state.code)?;
    Ok(Some(SyncStatus {
        urls: state.urls.clone(),
        space_id: keys.space_id().to_owned(),
        entries: state.entries.len(),
        last_sync: state.last_sync,
        stopped: state.stopped.clone(),
    }))
}

fn stop_if_deleted(
    e: AuthenticatorError,
    state: &mut State,
    vault_path: &Path,
    protector: &dyn KeyProtector,
) -> AuthenticatorError {
    if let AuthenticatorError::Rejected { code, .. } = &e {
        if code == "sync_deleted" {
            state.stopped = Some("the sync copy was deleted from another device".into());
            if let Err(save_err) = save(vault_path, protector, state) {
                return save_err;
            }
        }
    }
    e
}

async fn round(
    vault: &Vault,
    vault_path: &Path,
    protector: &dyn KeyProtector,
    mut s: Session,
    now: i64,
) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    local_to_replica(vault, &mut s, now)?;
    if let Err(e) = pull(&mut s, &mut report).await {
        return Err(stop_if_deleted(e, &mut s.state, vault_path, protector));
    }
    if let Err(e) = push(vault, &mut s, &mut report, now).await {
        return Err(stop_if_deleted(e, &mut s.state, vault_path, protector));
    }
    replica_to_vault(vault, &mut s, &mut report, now)?;
    for id in s.replica.purge_tombstones(now, DEFAULT_RETENTION_S) {
        s.state.map.remove(&id);
        s.state.synced.remove(&id);
    }
    s.state.last_sync = Some(now);
    persist(vault_path, protector, &mut s)?;
    Ok(report)
}

/// Copies the replica (clock and encoded entries) into the state and saves it.
fn persist(vault_path: &Path, protector: &dyn KeyProtector, s: &mut Session) -> Result<()> {
    s.state.clock = s.replica.clock();
    s.state.entries = s
        .replica
        .entries()
        .map(|(id, e)| encode_entry(id, e).map(|b| b64(&b)))
        .collect::<Result<_, _>>()
        .map_err(AuthenticatorError::from)?;
    save(vault_path, protector, &s.state)
}

/// The highest HOTP counter among an entry's live versions, the shown one
/// and concurrent ones that lost the resolution: counters only move
/// forward, so a concurrent advance counts even when its version is not the
/// one shown. `None` for other kinds and deleted entries.
fn hotp_counter(entry: &SyncEntry) -> Option<u64> {
    entry
        .payload()
        .into_iter()
        .chain(entry.conflicts())
        .filter_map(Payload::parse)
        .filter(|p| p.params.otp_type == OtpType::Hotp)
        .map(|p| p.params.counter)
        .max()
}

/// What makes a local profile and an unlinked entry the same account: the
/// seed and the parameters, except an HOTP counter (two devices holding the
/// same HOTP account may have advanced it differently).
fn link_key(secret_b32: &str, mut params: OtpParams) -> String {
    params.counter = 0;
    let params = serde_json::to_string(&params).unwrap_or_default();
    // A digest, so the map holds no copy of the seed.
    sha_hex(Zeroizing::new(format!("{secret_b32}\n{params}")).as_bytes())
}

/// Step 1: what the user did on this device since the last round.
fn local_to_replica(vault: &Vault, s: &mut Session, now: i64) -> Result<()> {
    let profiles = vault.list()?;
    let mut linked: BTreeSet<String> = BTreeSet::new();
    let by_vault: BTreeMap<&str, &Profile> = profiles.iter().map(|p| (p.id.as_str(), p)).collect();
    // Removed locally: delete in the replica (if it is still live there).
    let gone: Vec<String> = s
        .state
        .map
        .iter()
        .filter(|(_, vid)| !by_vault.contains_key(vid.as_str()))
        .map(|(sid, _)| sid.clone())
        .collect();
    for sid in gone {
        if s.replica.get(&sid).is_some_and(|e| !e.is_deleted()) {
            s.replica
                .delete(&sid, now)
                .map_err(AuthenticatorError::from)?;
        }
        s.state.map.remove(&sid);
    }
    let mut vault_to_sync: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (sid, vid) in &s.state.map {
        vault_to_sync
            .entry(vid.clone())
            .or_default()
            .push(sid.clone());
    }
    // Entries not linked to a local profile yet (just pulled at join), by
    // seed and parameters: a local profile with the same ones is linked to
    // it rather than added again; its names then follow the space.
    let mut unlinked: BTreeMap<String, String> = BTreeMap::new();
    for (sid, bytes) in s.replica.visible() {
        if s.state.map.contains_key(sid) {
            continue;
        }
        if let Some(p) = Payload::parse(bytes) {
            unlinked.insert(link_key(&p.secret, p.params), sid.to_owned());
        }
    }
    for p in &profiles {
        if vault_to_sync.contains_key(&p.id) {
            continue;
        }
        let key = link_key(&p.secret.to_base32(), p.params);
        if let Some(sid) = unlinked.remove(&key) {
            s.state.map.insert(sid.clone(), p.id.clone());
            vault_to_sync.insert(p.id.clone(), vec![sid]);
            linked.insert(p.id.clone());
        }
    }
    for (index, p) in profiles.iter().enumerate() {
        let mut payload = Payload::of(p);
        // An HOTP counter only moves forward: one another device advanced
        // further (not yet applied here, step 4 does that) is kept, not
        // overwritten with this device's older counter.
        if payload.params.otp_type == OtpType::Hotp {
            for sid in vault_to_sync.get(&p.id).into_iter().flatten() {
                if let Some(c) = s.replica.get(sid).and_then(hotp_counter) {
                    payload.params.counter = payload.params.counter.max(c);
                }
            }
        }
        let bytes = payload.bytes()?;
        let key = (index as i64 + 1) * SORT_GAP;
        match vault_to_sync.get(&p.id) {
            None => {
                let sid = crate::vault::random_hex_id()?;
                s.replica
                    .add(&sid, bytes.to_vec(), key, now)
                    .map_err(AuthenticatorError::from)?;
                s.state.map.insert(sid, p.id.clone());
            }
            Some(sids) if linked.contains(&p.id) => {
                // Just linked at join: the space's names win, but not an
                // older HOTP counter.
                for sid in sids {
                    let Some(entry) = s.replica.get(sid) else {
                        continue;
                    };
                    let shown = entry.payload().and_then(Payload::parse);
                    if let (Some(mut q), Some(c)) = (shown, hotp_counter(entry)) {
                        let counter = c.max(p.params.counter);
                        if counter > q.params.counter {
                            q.params.counter = counter;
                            s.replica
                                .edit(sid, q.bytes()?.to_vec(), now)
                                .map_err(AuthenticatorError::from)?;
                        }
                    }
                }
            }
            Some(sids) => {
                for sid in sids {
                    let Some(entry) = s.replica.get(sid) else {
                        continue;
                    };
                    if entry.is_deleted() {
                        s.replica
                            .restore(sid, now)
                            .map_err(AuthenticatorError::from)?;
                    }
                    let same = s
                        .replica
                        .get(sid)
                        .and_then(SyncEntry::payload)
                        .and_then(Payload::parse)
                        .is_some_and(|q| q == payload);
                    if !same {
                        s.replica
                            .edit(sid, bytes.to_vec(), now)
                            .map_err(AuthenticatorError::from)?;
                    }
                }
            }
        }
    }
    // Order: if the vault's order of linked profiles differs from the
    // replica's, re-key every profile whose position moved. Not in a round
    // that just linked profiles (a join): then the space's order wins.
    if !linked.is_empty() {
        return Ok(());
    }
    let replica_order: Vec<String> = s
        .replica
        .visible()
        .iter()
        .map(|(id, _)| (*id).to_owned())
        .collect();
    let position: BTreeMap<&str, usize> = replica_order
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let local_order: Vec<&String> = profiles
        .iter()
        .filter_map(|p| vault_to_sync.get(&p.id).and_then(|v| v.first()))
        .collect();
    let mut sorted = local_order.clone();
    sorted.sort_by_key(|sid| position.get(sid.as_str()).copied().unwrap_or(usize::MAX));
    if sorted != local_order {
        for (index, p) in profiles.iter().enumerate() {
            for sid in vault_to_sync.get(&p.id).into_iter().flatten() {
                let key = (index as i64 + 1) * SORT_GAP;
                if s.replica.get(sid).is_some_and(|e| e.sort_key() != key) {
                    s.replica
                        .reorder(sid, key)
                        .map_err(AuthenticatorError::from)?;
                }
            }
        }
    }
    Ok(())
}

/// Step 2: everything newer than the last revision seen.
async fn pull(s: &mut Session, report: &mut SyncReport) -> Result<()> {
    loop {
        let path = format!(
            "/v1/sync/{}/entries?since={}&limit=200",
            s.keys.space_id(),
            s.state.last_rev
        );
        let list = s
            .conn
            .call::<EntryList>(reqwest::Method::GET, &path, None, &bearer(&s.keys), None)
            .await?
            .body;
        for e in &list.entries {
            merge_blob(s, &e.entry_id, e.rev, &e.blob)?;
            s.state.last_rev = s.state.last_rev.max(e.rev);
            report.pulled += 1;
        }
        if !list.more || list.entries.is_empty() {
            return Ok(());
        }
    }
}

/// Decrypts and merges one server entry; remembers its revision and what
/// the server holds.
fn merge_blob(s: &mut Session, entry_id: &str, rev: i64, blob_b64: &str) -> Result<()> {
    let blob = unb64(blob_b64).map_err(|_| AuthenticatorError::Network {
        reason: "the sync server sent an entry that is not Base64".into(),
    })?;
    let plain = s.keys.open(entry_id, &blob)?;
    let (sid, entry) = decode_entry(&plain).map_err(AuthenticatorError::from)?;
    if s.keys.entry_id(&sid) != entry_id {
        return Err(AuthenticatorError::VaultUnreadable {
            reason: "a sync entry is stored under the wrong id".into(),
        });
    }
    s.replica.merge_entry(&sid, &entry);
    s.state.revs.insert(entry_id.to_owned(), rev);
    s.state.synced.insert(sid, sha_hex(&plain));
    Ok(())
}

/// Step 3: conditional writes of what the server does not have yet.
async fn push(vault: &Vault, s: &mut Session, report: &mut SyncReport, now: i64) -> Result<()> {
    for _ in 0..MAX_PUSH_ROUNDS {
        let mut pending = Vec::new();
        for (sid, entry) in s.replica.entries() {
            let encoded = encode_entry(sid, entry).map_err(AuthenticatorError::from)?;
            if s.state.synced.get(sid).map(String::as_str) != Some(sha_hex(&encoded).as_str()) {
                pending.push((sid.to_owned(), encoded));
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        let mut conflicted = false;
        for chunk in pending.chunks(BATCH) {
            let mut puts = Vec::with_capacity(chunk.len());
            for (sid, encoded) in chunk {
                let entry_id = s.keys.entry_id(sid);
                puts.push(WirePut {
                    base_rev: s.state.revs.get(&entry_id).copied().unwrap_or(0),
                    blob: b64(&s.keys.seal(&entry_id, encoded)?),
                    entry_id,
                });
            }
            let body = serde_json::to_vec(&serde_json::json!({ "entries": puts }))
                .map_err(|_| internal("sync request encoding"))?;
            let path = format!("/v1/sync/{}/entries", s.keys.space_id());
            let headers = writer_headers(vault, &s.state, &s.keys, "POST", &path, &body, now)?;
            let answer = s
                .conn
                .call::<PutAnswer>(reqwest::Method::POST, &path, Some(body), &headers, None)
                .await?
                .body;
            let by_entry: BTreeMap<String, &(String, Zeroizing<Vec<u8>>)> =
                chunk.iter().map(|c| (s.keys.entry_id(&c.0), c)).collect();
            for r in answer.results {
                match (r.status.as_str(), by_entry.get(&r.entry_id)) {
                    ("stored", Some((sid, encoded))) => {
                        s.state.revs.insert(r.entry_id.clone(), r.rev);
                        s.state.synced.insert(sid.clone(), sha_hex(encoded));
                        report.pushed += 1;
                    }
                    ("conflict", Some(_)) => {
                        conflicted = true;
                        match &r.blob {
                            Some(blob) => merge_blob(s, &r.entry_id, r.rev, blob)?,
                            None => {
                                s.state.revs.insert(r.entry_id.clone(), r.rev);
                            }
                        }
                    }
                    _ => {
                        return Err(AuthenticatorError::Network {
                            reason: "unexpected answer from the sync server".into(),
                        })
                    }
                }
            }
        }
        if !conflicted {
            return Ok(());
        }
    }
    Err(AuthenticatorError::Network {
        reason: "the sync space is too busy; try again".into(),
    })
}

/// Step 4: what the other devices did, applied to this vault.
fn replica_to_vault(
    vault: &Vault,
    s: &mut Session,
    report: &mut SyncReport,
    now: i64,
) -> Result<()> {
    let profiles = vault.list()?;
    let by_vault: BTreeMap<String, Profile> =
        profiles.into_iter().map(|p| (p.id.clone(), p)).collect();
    let visible: Vec<(String, Vec<u8>)> = s
        .replica
        .visible()
        .into_iter()
        .map(|(id, p)| (id.to_owned(), p.to_vec()))
        .collect();
    let visible_ids: BTreeSet<&str> = visible.iter().map(|(id, _)| id.as_str()).collect();
    // Deletes that won.
    let deleted: Vec<(String, String)> = s
        .state
        .map
        .iter()
        .filter(|(sid, _)| !visible_ids.contains(sid.as_str()))
        .map(|(sid, vid)| (sid.clone(), vid.clone()))
        .collect();
    for (sid, vid) in deleted {
        s.state.map.remove(&sid);
        let still_linked = s.state.map.values().any(|v| *v == vid);
        if !still_linked && by_vault.contains_key(&vid) {
            match vault.remove(&vid) {
                Ok(()) => report.removed += 1,
                Err(AuthenticatorError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
    }
    let mut order: Vec<String> = Vec::new();
    for (sid, bytes) in &visible {
        if s.replica.get(sid).is_some_and(|e| e.conflicts().len() > 1) {
            report.conflicts += 1;
        }
        let Some(payload) = Payload::parse(bytes) else {
            continue;
        };
        match s.state.map.get(sid).cloned() {
            Some(vid) => {
                if let Some(p) = by_vault.get(&vid) {
                    let change = ProfileUpdate {
                        issuer: (p.issuer != payload.issuer).then(|| payload.issuer.clone()),
                        account: (p.account != payload.account).then(|| payload.account.clone()),
                        note: (p.note != payload.note).then(|| payload.note.clone()),
                        group: (p.group != payload.group).then(|| payload.group.clone()),
                        favorite: (p.favorite != payload.favorite).then_some(payload.favorite),
                    };
                    let mut changed = false;
                    if change != ProfileUpdate::default() {
                        vault.update(&vid, change, now)?;
                        changed = true;
                    }
                    let remote = s.replica.get(sid).and_then(hotp_counter);
                    if let Some(counter) = remote
                        .filter(|&c| p.params.otp_type == OtpType::Hotp && c > p.params.counter)
                    {
                        changed |= vault.hotp_raise_counter(&vid, counter, now)?;
                    }
                    if changed {
                        report.updated += 1;
                    }
                }
                if !order.contains(&vid) {
                    order.push(vid);
                }
            }
            None => {
                let Some(new) = payload.new_profile() else {
                    continue;
                };
                match vault.add(new, now) {
                    Ok(p) => {
                        report.added += 1;
                        order.push(p.id.clone());
                        s.state.map.insert(sid.clone(), p.id);
                    }
                    Err(AuthenticatorError::Duplicate { existing_id }) => {
                        if !order.contains(&existing_id) {
                            order.push(existing_id.clone());
                        }
                        s.state.map.insert(sid.clone(), existing_id);
                    }
                    // Invalid or over the limit: stays in the replica (other
                    // devices keep it), not in this vault.
                    Err(
                        AuthenticatorError::InvalidInput { .. }
                        | AuthenticatorError::LimitReached { .. },
                    ) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    // The replica's order, then anything local not linked (none after step 1).
    let current: Vec<String> = vault.list()?.into_iter().map(|p| p.id).collect();
    for id in &current {
        if !order.contains(id) {
            order.push(id.clone());
        }
    }
    order.retain(|id| current.contains(id));
    if order != current {
        vault.reorder(&order, now)?;
    }
    Ok(())
}
