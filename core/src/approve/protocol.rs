//! The Approve sign-in wire protocol, shared by the app (core client) and
//! the reference server so the two cannot drift apart.
//!
//! This file is the normative source for `docs/protocol.md`: JSON bodies,
//! the pairing invitation URI, and the exact bytes that are signed. Signed
//! messages use a canonical, length-prefixed, domain-separated encoding —
//! never joined strings — so no two different field lists share an encoding.

use serde::{Deserialize, Serialize};

/// Protocol version spoken by this build (2: typed number matching,
/// pairing approvals, notices).
pub const PROTOCOL_VERSION: u32 = 2;
/// Version of the pairing invitation URI (`v=` in `countersign://pair?…`).
pub const INVITE_VERSION: u32 = 1;
/// Longest a sign-in request may stay pending, seconds.
pub const MAX_REQUEST_TTL_S: i64 = 60;
/// How far a device's signed time may be from the server's, seconds.
pub const MAX_CLOCK_SKEW_S: i64 = 300;
/// Longest long-poll, seconds.
pub const MAX_WAIT_S: u64 = 25;
/// Wrong numbers a request takes before it is denied (typed number
/// matching: the phone asks for the two digits the login screen shows).
pub const MAX_WRONG_NUMBERS: u32 = 3;
/// Largest number the login screen shows (two digits, `10..=99`).
pub const MAX_NUMBER: u8 = 99;

/// Domain tag of approval signatures.
pub const APPROVE_DOMAIN: &str = "countersign-approve-v1";
/// Domain tag of the sign-in context hash (v2: the action is hashed too).
pub const CONTEXT_DOMAIN: &str = "countersign-context-v2";
/// Domain tag of device-authenticated requests.
pub const DEVICE_AUTH_DOMAIN: &str = "countersign-device-auth-v1";
/// Domain tag of the pairing proof of possession.
pub const PAIR_DOMAIN: &str = "countersign-pair-v1";

/// HTTP header carrying the device id.
pub const HEADER_DEVICE: &str = "countersign-device";
/// HTTP header carrying the signing time (Unix seconds, decimal).
pub const HEADER_TIME: &str = "countersign-time";
/// HTTP header carrying the device signature (base64url, no padding).
pub const HEADER_SIGNATURE: &str = "countersign-signature";

/// Canonical encoding: `u32be(len(domain)) ‖ domain ‖ for each field: u32be(len) ‖ bytes`.
pub fn canonical(domain: &str, fields: &[&[u8]]) -> Vec<u8> {
    let total = 4 + domain.len() + fields.iter().map(|f| 4 + f.len()).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    push_field(&mut out, domain.as_bytes());
    for f in fields {
        push_field(&mut out, f);
    }
    out
}

/// Display text made safe to show: control characters (C0, C1), line and
/// paragraph separators, bidirectional overrides and isolates (U+202A–E,
/// U+2066–9, U+200E/F, U+061C), zero-width characters and the BOM are
/// removed, runs of whitespace become one space, and the result is trimmed
/// and cut to `max_chars`. Used by the server for everything it puts in a
/// request's context and by the phone before showing it, so "Firefox" with
/// a right-to-left override or a forged second line cannot reach the screen.
pub fn clean_display(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 4));
    let mut space = false;
    let mut n = 0;
    for c in text.chars() {
        if is_invisible(c) && !c.is_whitespace() {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if n >= max_chars {
            break;
        }
        if space {
            out.push(' ');
            n += 1;
            space = false;
            if n >= max_chars {
                break;
            }
        }
        out.push(c);
        n += 1;
    }
    out
}

/// Whether `c` is a character [`clean_display`] removes: controls, line
/// and paragraph separators, bidirectional formatting, zero-width
/// characters, the BOM and interlinear annotation marks.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{061C}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

fn push_field(out: &mut Vec<u8>, f: &[u8]) {
    // Fields are bounded far below 4 GiB by the request size limits.
    out.extend_from_slice(&(f.len().min(u32::MAX as usize) as u32).to_be_bytes());
    out.extend_from_slice(f);
}

/// What a request asks the phone to allow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Someone is signing in to the account.
    #[default]
    SignIn,
    /// Someone is pairing a new device with the account (by password); the
    /// new device shows the number.
    PairDevice,
}

impl Action {
    /// Wire name (also what the context hash covers).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::SignIn => "sign_in",
            Action::PairDevice => "pair_device",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sign_in" => Some(Action::SignIn),
            "pair_device" => Some(Action::PairDevice),
            _ => None,
        }
    }
}

/// What the phone shows about a sign-in attempt; hashed into the signature.
/// Every text field is display text the server cleaned with
/// [`clean_display`] (the phone cleans again before showing it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInContext {
    /// What is being asked for (sign-in, or pairing a new device).
    #[serde(default)]
    pub action: Action,
    /// Name of the service being signed in to ("Home NAS").
    pub service: String,
    /// Address the attempt came from.
    pub client_ip: String,
    /// Browser or client, as words ("Firefox on Linux"; for a pairing:
    /// the new device's name and platform), never the raw `User-Agent`.
    pub user_agent: String,
    /// Approximate place, or empty when unknown.
    pub location: String,
    /// When the attempt started, Unix seconds (server time).
    pub created_at: i64,
    /// When the request expires, Unix seconds (server time).
    pub expires_at: i64,
}

impl SignInContext {
    /// SHA-256 of the canonical encoding of every field.
    pub fn hash(&self) -> [u8; 32] {
        let msg = canonical(
            CONTEXT_DOMAIN,
            &[
                self.action.as_str().as_bytes(),
                self.service.as_bytes(),
                self.client_ip.as_bytes(),
                self.user_agent.as_bytes(),
                self.location.as_bytes(),
                &self.created_at.to_be_bytes(),
                &self.expires_at.to_be_bytes(),
            ],
        );
        let mut out = [0u8; 32];
        out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, &msg).as_ref());
        out
    }
}

/// The user's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Let the sign-in proceed.
    Approve,
    /// Refuse it.
    Deny,
    /// Refuse it and report it as not the user (pauses requests for the account).
    Report,
}

impl Decision {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Deny => "deny",
            Decision::Report => "report",
        }
    }
}

/// Lifecycle of a sign-in request. Every state but `Pending` is terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestState {
    /// Waiting for the phone.
    Pending,
    /// Approved with the right number.
    Approved,
    /// Denied (or a wrong number was picked).
    Denied,
    /// Reported as suspicious.
    Reported,
    /// Nobody answered in time.
    Expired,
}

impl RequestState {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Denied => "denied",
            RequestState::Reported => "reported",
            RequestState::Expired => "expired",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            "reported" => Self::Reported,
            "expired" => Self::Expired,
            _ => return None,
        })
    }
}

/// The bytes a device signs to answer a request.
#[allow(clippy::too_many_arguments)]
pub fn approval_message(
    server_id: &str,
    account: &str,
    request_id: &str,
    nonce: &[u8],
    decision: Decision,
    picked_number: u8,
    context_hash: &[u8; 32],
    time: i64,
) -> Vec<u8> {
    canonical(
        APPROVE_DOMAIN,
        &[
            server_id.as_bytes(),
            account.as_bytes(),
            request_id.as_bytes(),
            nonce,
            decision.as_str().as_bytes(),
            &[picked_number],
            context_hash,
            &time.to_be_bytes(),
        ],
    )
}

/// The bytes a device signs to authenticate an HTTP request.
pub fn device_auth_message(
    server_id: &str,
    device_id: &str,
    method: &str,
    path_and_query: &str,
    time: i64,
    body: &[u8],
) -> Vec<u8> {
    let body_hash = ring::digest::digest(&ring::digest::SHA256, body);
    canonical(
        DEVICE_AUTH_DOMAIN,
        &[
            server_id.as_bytes(),
            device_id.as_bytes(),
            method.as_bytes(),
            path_and_query.as_bytes(),
            &time.to_be_bytes(),
            body_hash.as_ref(),
        ],
    )
}

/// The bytes a device signs when pairing (proof that it holds the key).
/// `credential` is the pairing token, or the username for password pairing.
pub fn pair_message(server_id: &str, credential: &str, public_key: &[u8], time: i64) -> Vec<u8> {
    canonical(
        PAIR_DOMAIN,
        &[
            server_id.as_bytes(),
            credential.as_bytes(),
            public_key,
            &time.to_be_bytes(),
        ],
    )
}

/// Verifies an ECDSA P-256/SHA-256 DER signature by an uncompressed SEC1 key.
pub fn verify_p256(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    if public_key.len() != 65 || public_key[0] != 4 {
        return false;
    }
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, public_key)
        .verify(message, signature)
        .is_ok()
}

/// Base64url without padding (all binary fields on the wire).
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes [`b64`].
pub fn unb64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    if s.len() > 8192 {
        return None;
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
}

/// `GET /v1/info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Stable random server id (32 hex characters).
    pub server_id: String,
    /// Human name of the server.
    pub server_name: String,
    /// Protocol version.
    pub protocol: u32,
    /// Server time, Unix seconds.
    pub server_time: i64,
}

/// `POST /v1/pair` body: by invitation token (QR) or by username + password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairRequest {
    /// One-time token from the invitation QR (QR pairing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Username (password pairing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password (password pairing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Device name shown to the user and admins ("Alice's iPhone").
    pub device_name: String,
    /// "ios", "android", "desktop".
    pub platform: String,
    /// Device signing key, uncompressed SEC1 P-256, base64url.
    pub public_key: String,
    /// Push token (APNs / FCM), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_token: Option<String>,
    /// Signing time used in `proof`.
    pub time: i64,
    /// DER signature over [`pair_message`], base64url.
    pub proof: String,
    /// Code from the account's authenticator app (password pairing of an
    /// account that has one; see `docs/protocol.md` § pairing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_code: Option<String>,
}

/// Where a pairing stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PairState {
    /// The device is paired (`device_id` is set).
    Paired,
    /// Waiting for approval on one of the account's phones: show `number`
    /// and poll `GET /v1/pair/{request_id}` with `poll_token`.
    Pending,
}

/// `POST /v1/pair` and `GET /v1/pair/{id}` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairResponse {
    /// Paired, or waiting for approval.
    pub state: PairState,
    /// Id the server gave this device (when paired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Server id.
    pub server_id: String,
    /// Server name.
    pub server_name: String,
    /// Account the device is (being) paired with.
    pub account: String,
    /// The approval request (when pending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The number to show; the user types it on an already paired phone
    /// (when pending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u8>,
    /// When the approval request expires (when pending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Secret to poll the approval with (when pending, first answer only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_token: Option<String>,
    /// Server time.
    pub server_time: i64,
}

/// One pending request as the device sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// Request id (32 hex characters).
    pub request_id: String,
    /// Account being signed in to.
    pub account: String,
    /// Fresh random nonce, base64url (32 bytes).
    pub nonce: String,
    /// What to show. The number is not sent: the user types the one the
    /// login screen (or the new device) shows.
    pub context: SignInContext,
    /// Wrong numbers left before the request is denied.
    #[serde(default = "default_tries")]
    pub tries_left: u32,
}

fn default_tries() -> u32 {
    MAX_WRONG_NUMBERS
}

/// Something the phone should tell its user (a new phone was paired, the
/// backup email or the 2-step settings changed): shown, not answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Increasing id (ask for notices after the last one seen).
    pub id: i64,
    /// When, Unix seconds (server time).
    pub time: i64,
    /// What happened (`device_paired`, `email_changed`, `two_step_changed`,
    /// `device_removed`).
    pub kind: String,
    /// The sentence to show.
    pub text: String,
}

/// `GET /v1/device/requests` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingList {
    /// Pending requests for the device's account, oldest first.
    pub requests: Vec<PendingRequest>,
    /// Notices after `?notices_after=` (at most 20, oldest first).
    #[serde(default)]
    pub notices: Vec<Notice>,
    /// Server time.
    pub server_time: i64,
}

/// `POST /v1/requests/{id}/answer` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerRequest {
    /// Answering device.
    pub device_id: String,
    /// Approve, deny or report.
    pub decision: Decision,
    /// Number the user typed (0 when denying or reporting).
    pub picked_number: u8,
    /// Signing time (device clock corrected by the known offset).
    pub time: i64,
    /// DER signature over [`approval_message`], base64url.
    pub signature: String,
}

/// `POST /v1/requests/{id}/answer` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerResponse {
    /// State after the answer.
    pub state: RequestState,
    /// Server time.
    pub server_time: i64,
}

/// `PUT /v1/device/push-token` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushTokenUpdate {
    /// New token (empty: none).
    pub push_token: String,
}

/// `POST /v1/signin/start` body (the login side).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInStart {
    /// Username.
    pub username: String,
    /// Password, unless the account signs in with approve only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `POST /v1/signin/start` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInStarted {
    /// `pending` (approve on the phone) or `approved` (password-only account).
    pub state: RequestState,
    /// Request id when pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Number to show on the login screen (number matching).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u8>,
    /// When the request expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Secret the login side uses to poll this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_token: Option<String>,
    /// Session token when signed in without approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    /// Server time.
    pub server_time: i64,
}

/// `GET /v1/signin/{id}` answer (the login side polls / waits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInStatus {
    /// Current state.
    pub state: RequestState,
    /// Session token once approved (given once, to the poll-token holder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    /// Server time.
    pub server_time: i64,
}

/// Every error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code (see `docs/protocol.md`).
    pub error: String,
    /// Human-readable message.
    pub message: String,
    /// Tries left (`wrong_number` answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tries_left: Option<u32>,
    /// Which second step is needed (`second_step_required` answers:
    /// `otp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_step: Option<String>,
    /// Server time.
    pub server_time: i64,
}

/// A pairing invitation, as carried by the server's QR code:
/// `countersign://pair?v=1&sid=…&name=…&url=…[&url=…]&fp=…&tok=…&acct=…`.
#[derive(Clone, PartialEq, Eq)]
pub struct PairingInvite {
    /// Server id.
    pub server_id: String,
    /// Server name.
    pub server_name: String,
    /// Base URLs to try, in order (`https://host:port`).
    pub urls: Vec<String>,
    /// SHA-256 of the server's TLS SubjectPublicKeyInfo.
    pub spki_sha256: [u8; 32],
    /// One-time token.
    pub token: String,
    /// Account to pair.
    pub account: String,
}

impl std::fmt::Debug for PairingInvite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairingInvite")
            .field("server_id", &self.server_id)
            .field("urls", &self.urls)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Longest invitation URI accepted.
pub const MAX_INVITE_LEN: usize = 2048;

impl PairingInvite {
    /// Writes the invitation URI.
    pub fn to_uri(&self) -> String {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let mut s = format!(
            "countersign://pair?v={INVITE_VERSION}&sid={}&name={}",
            enc(&self.server_id),
            enc(&self.server_name)
        );
        for u in &self.urls {
            s.push_str("&url=");
            s.push_str(&enc(u));
        }
        s.push_str(&format!(
            "&fp={}&tok={}&acct={}",
            b64(&self.spki_sha256),
            enc(&self.token),
            enc(&self.account)
        ));
        s
    }

    /// Parses an invitation URI; every field is required and checked.
    pub fn parse(uri: &str) -> Result<Self, String> {
        let uri = uri.trim();
        if uri.len() > MAX_INVITE_LEN {
            return Err("invitation is too long".into());
        }
        let rest = uri
            .strip_prefix("countersign://pair?")
            .ok_or("not a Countersign pairing code")?;
        let (mut v, mut sid, mut name, mut fp, mut tok, mut acct) =
            (None, None, None, None, None, None);
        let mut urls = Vec::new();
        for pair in rest.split('&') {
            let (k, val) = pair.split_once('=').unwrap_or((pair, ""));
            let val = percent_encoding::percent_decode_str(val)
                .decode_utf8()
                .map_err(|_| format!("{k} is not valid UTF-8"))?
                .into_owned();
            match k {
                "v" => v = Some(val),
                "sid" => sid = Some(val),
                "name" => name = Some(val),
                "url" => urls.push(val),
                "fp" => fp = Some(val),
                "tok" => tok = Some(val),
                "acct" => acct = Some(val),
                _ => {}
            }
        }
        if v.as_deref() != Some("1") {
            return Err("unsupported pairing code version".into());
        }
        let fp = unb64(&fp.ok_or("missing key fingerprint")?).ok_or("bad key fingerprint")?;
        let spki_sha256: [u8; 32] = fp
            .as_slice()
            .try_into()
            .map_err(|_| "bad key fingerprint length")?;
        if urls.is_empty() {
            return Err("missing server address".into());
        }
        for u in &urls {
            if !u.starts_with("https://") {
                return Err("server addresses must be https".into());
            }
        }
        let token = tok.ok_or("missing pairing token")?;
        if token.is_empty() {
            return Err("missing pairing token".into());
        }
        Ok(Self {
            server_id: sid.ok_or("missing server id")?,
            server_name: name.unwrap_or_default(),
            urls,
            spki_sha256,
            token,
            account: acct.ok_or("missing account")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ctx() -> SignInContext {
        SignInContext {
            action: Action::SignIn,
            service: "NAS".into(),
            client_ip: "127.0.0.1".into(),
            user_agent: "Firefox".into(),
            location: String::new(),
            created_at: 100,
            expires_at: 160,
        }
    }

    #[test]
    fn canonical_is_unambiguous() {
        assert_ne!(
            canonical("d", &[b"ab", b"c"]),
            canonical("d", &[b"a", b"bc"])
        );
        assert_ne!(canonical("d", &[b"", b""]), canonical("d", &[b""]));
        assert_ne!(canonical("da", &[b"b"]), canonical("d", &[b"ab"]));
        assert_eq!(
            canonical("d", &[b"x"]),
            [0, 0, 0, 1, b'd', 0, 0, 0, 1, b'x']
        );
    }

    #[test]
    fn context_hash_covers_every_field() {
        let base = ctx().hash();
        let mut c = ctx();
        c.service.push('!');
        assert_ne!(c.hash(), base);
        let mut c = ctx();
        c.location = "Zürich".into();
        assert_ne!(c.hash(), base);
        let mut c = ctx();
        c.expires_at += 1;
        assert_ne!(c.hash(), base);
        let mut c = ctx();
        c.action = Action::PairDevice;
        assert_ne!(c.hash(), base);
    }

    #[test]
    fn display_text_is_cleaned() {
        assert_eq!(
            clean_display("Firefox\u{202E}xoferiF", 100),
            "FirefoxxoferiF"
        );
        assert_eq!(
            clean_display("  Firefox on Linux\u{2028}Approved by admin\r\n ", 100),
            "Firefox on Linux Approved by admin"
        );
        assert_eq!(
            clean_display("a\u{0}b\u{7f}c\u{9c}d\u{200b}e\u{2066}f", 100),
            "abcdef"
        );
        assert_eq!(clean_display("Zürich 東京", 100), "Zürich 東京");
        assert_eq!(clean_display("abcdef", 3), "abc");
        assert_eq!(clean_display("ab    cd", 4), "ab c");
        assert_eq!(clean_display("\u{202e}\u{202e}", 10), "");
    }

    #[test]
    fn invite_round_trip_and_rejections() {
        let inv = PairingInvite {
            server_id: "abc".into(),
            server_name: "Home NAS & co".into(),
            urls: vec![
                "https://127.0.0.1:8443".into(),
                "https://nas.local:8443".into(),
            ],
            spki_sha256: [7; 32],
            token: "tok-123".into(),
            account: "alice@example".into(),
        };
        let uri = inv.to_uri();
        assert_eq!(PairingInvite::parse(&uri).unwrap(), inv);
        assert!(!format!("{inv:?}").contains("tok-123"));
        assert!(PairingInvite::parse("https://x").is_err());
        assert!(PairingInvite::parse(&uri.replace("v=1", "v=2")).is_err());
        assert!(PairingInvite::parse(&uri.replace("https%3A", "http%3A")).is_err());
        assert!(PairingInvite::parse(&"x".repeat(5000)).is_err());
    }

    proptest! {
        #[test]
        fn approval_messages_differ_when_any_field_differs(
            a in "[a-z]{0,8}", b in "[a-z]{0,8}", n in any::<u8>(), t in any::<i64>()
        ) {
            let h = [1u8; 32];
            let m1 = approval_message(&a, &b, "r", b"n", Decision::Approve, n, &h, t);
            let m2 = approval_message(&format!("{a}{b}"), "", "r", b"n", Decision::Approve, n, &h, t);
            if !b.is_empty() {
                prop_assert_ne!(&m1, &m2);
            }
            let m3 = approval_message(&a, &b, "r", b"n", Decision::Deny, n, &h, t);
            prop_assert_ne!(&m1, &m3);
            let m4 = approval_message(&a, &b, "r", b"n", Decision::Approve, n.wrapping_add(1), &h, t);
            prop_assert_ne!(&m1, &m4);
        }

        #[test]
        fn invite_parser_never_panics(s in ".{0,300}") {
            let _ = PairingInvite::parse(&s);
            let _ = PairingInvite::parse(&format!("countersign://pair?{s}"));
        }
    }
}
