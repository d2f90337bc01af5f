//! Approve sign-in end to end: the core client against the real server over
//! HTTPS on loopback (self-signed certificate, pinned key, P-256 signatures,
//! SQLite on both sides). The server's clock is a manual clock so expiry is
//! tested without sleeping; the device uses the same time.

use countersign_core::approve::pinning::{self, Pin};
use countersign_core::approve::protocol::{RequestState, SignInStarted, SignInStatus};
use countersign_core::approve::{self, Decision, DeviceInfo, SignInRequest};
use countersign_core::{AuthenticatorError, SoftwareKeyProtector, Vault};
use countersign_server::{Clock, ManualClock, RunningServer, ServerConfig};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const T0: i64 = 1_800_000_000;
const PASSWORD: &str = "Correct-Horse-42";

struct Env {
    _dir: tempfile::TempDir,
    server: RunningServer,
    clock: Arc<ManualClock>,
    http: reqwest::Client,
    admin: String,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let mut config = ServerConfig::new(
        dir.path().join("server"),
        "127.0.0.1:0".parse().unwrap(),
        "Test NAS",
    );
    config.clock = clock.clone();
    let server = countersign_server::start(config).await.unwrap();
    let (http, _) =
        pinning::client(Pin::Key(server.spki_sha256()), Duration::from_secs(30)).unwrap();
    let admin = server.create_admin_token("e2e").await.unwrap();
    Env {
        _dir: dir,
        server,
        clock,
        http,
        admin,
    }
}

impl Env {
    fn now(&self) -> i64 {
        self.clock.now()
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        bearer: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.server.base_url()))
            .header("user-agent", "TestBrowser/1.0");
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let token = self.admin.clone();
        self.call(method, path, body, Some(&token)).await
    }

    async fn user(&self, name: &str, method: &str) {
        let (s, b) = self
            .admin(
                reqwest::Method::POST,
                "/v1/admin/users",
                Some(json!({"username": name, "password": PASSWORD, "method": method})),
            )
            .await;
        assert!(s == 200 || s == 201, "create user: {s} {b}");
    }

    async fn invite(&self, name: &str) -> String {
        let (s, b) = self
            .admin(
                reqwest::Method::POST,
                &format!("/v1/admin/users/{name}/pairing"),
                Some(json!({})),
            )
            .await;
        assert!(s == 200 || s == 201, "invite: {s} {b}");
        b["uri"].as_str().unwrap().to_owned()
    }

    async fn start(&self, name: &str) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            "/v1/signin/start",
            Some(json!({"username": name, "password": PASSWORD})),
            None,
        )
        .await
    }

    async fn started(&self, name: &str) -> SignInStarted {
        let (s, b) = self.start(name).await;
        assert_eq!(s, 200, "{b}");
        serde_json::from_value(b).unwrap()
    }

    async fn status(&self, st: &SignInStarted, wait: u32) -> SignInStatus {
        let (s, b) = self
            .call(
                reqwest::Method::GET,
                &format!(
                    "/v1/signin/{}?poll_token={}&wait={wait}",
                    st.request_id.as_deref().unwrap(),
                    st.poll_token.as_deref().unwrap()
                ),
                None,
                None,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        serde_json::from_value(b).unwrap()
    }
}

struct Phone {
    _dir: tempfile::TempDir,
    vault: Arc<Vault>,
}

fn phone(biometrics: bool) -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let vault =
        Arc::new(Vault::create(&path, Arc::new(SoftwareKeyProtector::beside(&path)), T0).unwrap());
    vault.unlock(None, T0).unwrap();
    if biometrics {
        vault.enable_biometrics(T0).unwrap();
    }
    Phone { _dir: dir, vault }
}

fn device() -> DeviceInfo {
    DeviceInfo {
        name: "Test phone".into(),
        platform: "android".into(),
        push_token: None,
    }
}

async fn paired(e: &Env, user: &str) -> (Phone, String) {
    e.user(user, "password_approve").await;
    let p = phone(true);
    let inv = e.invite(user).await;
    let pairing = approve::pair_with_invite(&p.vault, &inv, &device(), e.now())
        .await
        .unwrap();
    (p, pairing.id)
}

async fn one_request(e: &Env, p: &Phone, pairing: &str) -> SignInRequest {
    let mut r = approve::pending_requests(&p.vault, pairing, 0, e.now())
        .await
        .unwrap();
    assert_eq!(r.len(), 1, "{r:?}");
    r.remove(0)
}

fn rejected_code(r: Result<impl std::fmt::Debug, AuthenticatorError>) -> String {
    match r {
        Err(AuthenticatorError::Rejected { code, .. }) => code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_pairing_approve_and_session() {
    let e = env().await;
    let (p, pid) = paired(&e, "alice").await;
    let pairings = p.vault.pairings().unwrap();
    assert_eq!(pairings[0].server_name, "Test NAS");
    assert_eq!(pairings[0].spki_sha256(), Some(e.server.spki_sha256()));

    let st = e.started("alice").await;
    assert_eq!(st.state, RequestState::Pending);
    let number = st.number.unwrap();
    let req = one_request(&e, &p, &pid).await;
    assert_eq!(req.tries_left, 3);
    // The client in words, cleaned for display.
    assert_eq!(req.shown().client, "TestBrowser");
    assert_eq!(req.context.client_ip, "127.0.0.1");
    assert!(req.context.expires_at - req.context.created_at <= 60);
    let state = approve::answer(&p.vault, &req, Decision::Approve, number, e.now())
        .await
        .unwrap();
    assert_eq!(state, RequestState::Approved);
    let status = e.status(&st, 0).await;
    assert_eq!(status.state, RequestState::Approved);
    let session = status.session_token.unwrap();
    let (s, who) = e
        .call(reqwest::Method::GET, "/v1/session", None, Some(&session))
        .await;
    assert_eq!(s, 200);
    assert_eq!(who["account"], "alice");
    // The invitation was single use.
    let q = phone(true);
    let inv2 = e.invite("alice").await;
    approve::pair_with_invite(&q.vault, &inv2, &device(), e.now())
        .await
        .unwrap();
    let inv = e.invite("alice").await;
    let r = phone(true);
    approve::pair_with_invite(&r.vault, &inv, &device(), e.now())
        .await
        .unwrap();
    let s = phone(true);
    assert_eq!(
        rejected_code(approve::pair_with_invite(&s.vault, &inv, &device(), e.now()).await),
        "invalid_token"
    );
    assert!(s.vault.pairings().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_wakes_on_new_request() {
    let e = Arc::new(env().await);
    let (p, pid) = paired(&e, "alice").await;
    let vault = p.vault.clone();
    let now = e.now();
    let waiter =
        tokio::spawn(async move { approve::pending_requests(&vault, &pid, 20, now).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let st = e.started("alice").await;
    let got = waiter.await.unwrap().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(Some(got[0].request_id.as_str()), st.request_id.as_deref());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "long-poll did not wake promptly"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_pairing_with_tofu_fingerprint() {
    let e = env().await;
    e.user("bob", "password_approve").await;
    let url = e.server.base_url().to_owned();
    let id = approve::fetch_server_identity(&url).await.unwrap();
    assert_eq!(
        id.spki_sha256_hex,
        countersign_core::vault::hex(&e.server.spki_sha256())
    );
    assert_eq!(id.server_name, "Test NAS");
    let p = phone(true);
    // A wrong fingerprint never reaches the server with the password.
    let wrong = "00".repeat(32);
    let r = approve::pair_with_password(
        &p.vault,
        &url,
        &wrong,
        "bob",
        PASSWORD,
        None,
        &device(),
        e.now(),
    )
    .await;
    assert!(
        matches!(r, Err(AuthenticatorError::ServerKeyMismatch)),
        "{r:?}"
    );
    let r = approve::pair_with_password(
        &p.vault,
        &url,
        &id.spki_sha256_hex,
        "bob",
        "wrong-password",
        None,
        &device(),
        e.now(),
    )
    .await;
    assert_eq!(rejected_code(r), "invalid_credentials");
    // As people read it: uppercase pairs separated by colons.
    let colon = id
        .spki_sha256_hex
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    // Bob has no second step yet: the password alone pairs (first enrollment).
    let pairing = match approve::pair_with_password(
        &p.vault,
        &url,
        &colon,
        "bob",
        PASSWORD,
        None,
        &device(),
        e.now(),
    )
    .await
    .unwrap()
    {
        approve::PasswordPairing::Paired(p) => p,
        other => panic!("expected paired, got {other:?}"),
    };
    assert_eq!(pairing.account, "bob");
    // Pairing the same account twice is a duplicate, caught before any key is made.
    let r = approve::pair_with_password(
        &p.vault,
        &url,
        &id.spki_sha256_hex,
        "bob",
        PASSWORD,
        None,
        &device(),
        e.now(),
    )
    .await;
    assert!(
        matches!(r, Err(AuthenticatorError::Duplicate { .. })),
        "{r:?}"
    );

    // Now bob has a phone: a second one pairing by password waits for him
    // to type its number on the first, then is paired.
    let q = phone(true);
    let pending = match approve::pair_with_password(
        &q.vault,
        &url,
        &id.spki_sha256_hex,
        "bob",
        PASSWORD,
        None,
        &device(),
        e.now(),
    )
    .await
    .unwrap()
    {
        approve::PasswordPairing::AwaitingApproval(w) => w,
        other => panic!("expected to wait for approval, got {other:?}"),
    };
    assert!(
        approve::finish_password_pairing(&q.vault, &pending, 0, e.now())
            .await
            .unwrap()
            .is_none()
    );
    let req = one_request(&e, &p, &pairing.id).await;
    assert_eq!(
        req.context.action,
        countersign_core::approve::Action::PairDevice
    );
    approve::answer(&p.vault, &req, Decision::Approve, pending.number, e.now())
        .await
        .unwrap();
    let second = approve::finish_password_pairing(&q.vault, &pending, 5, e.now())
        .await
        .unwrap()
        .expect("paired after approval");
    assert_eq!(second.account, "bob");
    assert_eq!(q.vault.pairings().unwrap().len(), 1);
    // The first phone hears about it.
    let seen = approve::pending(&p.vault, &pairing.id, 0, e.now())
        .await
        .unwrap();
    assert!(
        seen.notices.iter().any(|n| n.kind == "device_paired"),
        "{seen:?}"
    );
    // …once: the notice is marked seen.
    let again = approve::pending(&p.vault, &pairing.id, 0, e.now())
        .await
        .unwrap();
    assert!(again.notices.is_empty(), "{again:?}");

    // A denied pairing deletes the new device's key and adds nothing.
    let r = phone(true);
    let pending = match approve::pair_with_password(
        &r.vault,
        &url,
        &id.spki_sha256_hex,
        "bob",
        PASSWORD,
        None,
        &device(),
        e.now(),
    )
    .await
    .unwrap()
    {
        approve::PasswordPairing::AwaitingApproval(w) => w,
        other => panic!("expected to wait for approval, got {other:?}"),
    };
    let req = one_request(&e, &p, &pairing.id).await;
    approve::answer(&p.vault, &req, Decision::Deny, 0, e.now())
        .await
        .unwrap();
    assert_eq!(
        rejected_code(approve::finish_password_pairing(&r.vault, &pending, 0, e.now()).await),
        "pair_denied"
    );
    assert!(r.vault.pairings().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_report_and_pause() {
    let e = env().await;
    let (p, pid) = paired(&e, "alice").await;
    let st = e.started("alice").await;
    let req = one_request(&e, &p, &pid).await;
    assert_eq!(
        approve::answer(&p.vault, &req, Decision::Deny, 0, e.now())
            .await
            .unwrap(),
        RequestState::Denied
    );
    let s = e.status(&st, 0).await;
    assert_eq!(s.state, RequestState::Denied);
    assert!(s.session_token.is_none());

    let _st = e.started("alice").await;
    let req = one_request(&e, &p, &pid).await;
    assert_eq!(
        approve::answer(&p.vault, &req, Decision::Report, 0, e.now())
            .await
            .unwrap(),
        RequestState::Reported
    );
    let (s, b) = e.start("alice").await;
    assert_eq!(s, 429, "{b}");
    assert_eq!(b["error"], "paused");
    let (s, events) = e
        .admin(reqwest::Method::GET, "/v1/admin/events", None)
        .await;
    assert_eq!(s, 200);
    assert!(events.to_string().contains("report"), "{events}");
    // The pause ends.
    e.clock.advance(16 * 60);
    let (s, b) = e.start("alice").await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_numbers_are_refused_then_deny_and_replay_is_refused() {
    let e = env().await;
    let (p, pid) = paired(&e, "alice").await;
    let st = e.started("alice").await;
    let number = st.number.unwrap();
    let req = one_request(&e, &p, &pid).await;
    let wrong = if number == 10 { 11 } else { 10 };
    for left in [2, 1, 0] {
        let r = approve::answer(&p.vault, &req, Decision::Approve, wrong, e.now()).await;
        assert_eq!(r, Err(AuthenticatorError::WrongNumber { tries_left: left }));
    }
    assert_eq!(e.status(&st, 0).await.state, RequestState::Denied);
    // More than two digits is refused on the phone.
    assert!(matches!(
        approve::answer(&p.vault, &req, Decision::Approve, 100, e.now()).await,
        Err(AuthenticatorError::InvalidInput { .. })
    ));

    let _st = e.started("alice").await;
    let req = one_request(&e, &p, &pid).await;
    let n = _st.number.unwrap();
    let signed = approve::sign_answer(&p.vault, &req, Decision::Approve, n, e.now())
        .await
        .unwrap();
    assert_eq!(
        approve::send_answer(&p.vault, &signed, e.now())
            .await
            .unwrap(),
        RequestState::Approved
    );
    assert_eq!(
        rejected_code(approve::send_answer(&p.vault, &signed, e.now()).await),
        "already_answered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_requests_cannot_be_answered() {
    let e = env().await;
    let (p, pid) = paired(&e, "alice").await;
    let st = e.started("alice").await;
    let req = one_request(&e, &p, &pid).await;
    e.clock.advance(61);
    assert!(approve::pending_requests(&p.vault, &pid, 0, e.now())
        .await
        .unwrap()
        .is_empty());
    let r = approve::answer(
        &p.vault,
        &req,
        Decision::Approve,
        st.number.unwrap(),
        e.now(),
    )
    .await;
    assert_eq!(rejected_code(r), "expired");
    assert_eq!(e.status(&st, 0).await.state, RequestState::Expired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_context_and_foreign_devices_are_rejected() {
    let e = env().await;
    let (p, pid) = paired(&e, "alice").await;
    let (q, qid) = paired(&e, "mallory").await;
    let st = e.started("alice").await;
    let number = st.number.unwrap();
    let req = one_request(&e, &p, &pid).await;

    // The phone signs a context other than the server's.
    let mut tampered = req.clone();
    tampered.context.client_ip = "10.9.8.7".into();
    assert_eq!(
        rejected_code(
            approve::answer(&p.vault, &tampered, Decision::Approve, number, e.now()).await
        ),
        "bad_signature"
    );
    // Mallory's device answers Alice's request.
    let mut foreign = req.clone();
    foreign.pairing_id = qid.clone();
    assert_eq!(
        rejected_code(
            approve::answer(&q.vault, &foreign, Decision::Approve, number, e.now()).await
        ),
        "wrong_account"
    );
    // Still pending: the real phone can approve.
    assert_eq!(
        approve::answer(&p.vault, &req, Decision::Approve, number, e.now())
            .await
            .unwrap(),
        RequestState::Approved
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_parallel_identical_approvals_one_success() {
    let e = env().await;
    let (p, pid) = paired(&e, "alice").await;
    let st = e.started("alice").await;
    let req = one_request(&e, &p, &pid).await;
    let signed = approve::sign_answer(
        &p.vault,
        &req,
        Decision::Approve,
        st.number.unwrap(),
        e.now(),
    )
    .await
    .unwrap();
    let now = e.now();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let v = p.vault.clone();
            let s = signed.clone();
            tokio::spawn(async move { approve::send_answer(&v, &s, now).await })
        })
        .collect();
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(RequestState::Approved) => ok += 1,
            Err(AuthenticatorError::Rejected { code, .. }) if code == "already_answered" => {
                refused += 1
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, refused), (1, 99));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_bombing_limits() {
    let e = env().await;
    let (p, pid) = paired(&e, "alice").await;
    // Several may wait at once; the account's budget for unknown login
    // sides (5 per 10 minutes) stops the flood.
    let mut limited = false;
    for i in 0..10 {
        let (s, b) = e.start("alice").await;
        if s == 429 {
            assert_eq!(b["error"], "rate_limited");
            assert_eq!(i, 5, "the sixth request is refused");
            limited = true;
            break;
        }
        assert_eq!(s, 200, "{b}");
    }
    assert!(limited, "no rate limit after 10 requests");
    let waiting = approve::pending_requests(&p.vault, &pid, 0, e.now())
        .await
        .unwrap();
    assert_eq!(waiting.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_pairing_is_reported_and_unpair_works() {
    let e = env().await;
    let (p, pid) = paired(&e, "alice").await;
    let (s, devices) = e
        .admin(reqwest::Method::GET, "/v1/admin/users/alice/devices", None)
        .await;
    assert_eq!(s, 200, "{devices}");
    let device_id = p.vault.pairing(&pid).unwrap().device_id;
    assert!(devices.to_string().contains(&device_id));
    let (s, b) = e
        .admin(
            reqwest::Method::DELETE,
            &format!("/v1/admin/devices/{device_id}"),
            None,
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {b}");
    let r = approve::pending_requests(&p.vault, &pid, 0, e.now()).await;
    assert!(
        matches!(r, Err(AuthenticatorError::PairingRevoked { ref pairing_id }) if *pairing_id == pid),
        "{r:?}"
    );
    // Unpairing a revoked pairing removes it locally.
    approve::unpair(&p.vault, &pid, e.now()).await.unwrap();
    assert!(p.vault.pairings().unwrap().is_empty());

    // A live pairing unpaired from the app is gone on the server too.
    let (q, qid) = paired(&e, "carol").await;
    assert!(approve::unpair(&q.vault, &qid, e.now()).await.unwrap());
    let (_, devices) = e
        .admin(reqwest::Method::GET, "/v1/admin/users/carol/devices", None)
        .await;
    let active = devices
        .as_array()
        .or_else(|| devices.get("devices").and_then(Value::as_array))
        .map(|a| a.iter().filter(|d| d["revoked_at"].is_null()).count())
        .unwrap_or(0);
    assert_eq!(active, 0, "{devices}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_twenty_pairings_per_device() {
    let e = env().await;
    let p = phone(true);
    for i in 0..20 {
        let name = format!("user{i}");
        e.user(&name, "password_approve").await;
        let inv = e.invite(&name).await;
        approve::pair_with_invite(&p.vault, &inv, &device(), e.now())
            .await
            .unwrap();
    }
    e.user("user20", "password_approve").await;
    let inv = e.invite("user20").await;
    let r = approve::pair_with_invite(&p.vault, &inv, &device(), e.now()).await;
    assert!(
        matches!(r, Err(AuthenticatorError::LimitReached { limit: 20, .. })),
        "{r:?}"
    );
    assert_eq!(p.vault.pairings().unwrap().len(), 20);
    // The invitation was not consumed: another device can still use it.
    let q = phone(true);
    approve::pair_with_invite(&q.vault, &inv, &device(), e.now())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screen_lock_required_for_approve_only() {
    let e = env().await;
    e.user("alice", "password_approve").await;
    let p = phone(false); // no biometric slot: no screen lock to confirm with
    let inv = e.invite("alice").await;
    let pid = approve::pair_with_invite(&p.vault, &inv, &device(), e.now())
        .await
        .unwrap()
        .id;
    let st = e.started("alice").await;
    let req = one_request(&e, &p, &pid).await;
    let r = approve::answer(
        &p.vault,
        &req,
        Decision::Approve,
        st.number.unwrap(),
        e.now(),
    )
    .await;
    assert!(
        matches!(r, Err(AuthenticatorError::KeyUnavailable { .. })),
        "{r:?}"
    );
    // Turning the setting off allows approving; denying never needs it.
    let mut s = p.vault.settings().unwrap();
    s.require_screen_lock_after_approve = false;
    p.vault.update_settings(s).unwrap();
    assert_eq!(
        approve::answer(
            &p.vault,
            &req,
            Decision::Approve,
            st.number.unwrap(),
            e.now()
        )
        .await
        .unwrap(),
        RequestState::Approved
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_clock_offset_is_recorded_and_corrected() {
    let e = env().await;
    let (p, pid) = paired(&e, "alice").await;
    let st = e.started("alice").await;
    // The phone's clock is 400 s behind (beyond the server's 300 s skew).
    let device_now = e.now() - 400;
    let reqs = approve::pending_requests(&p.vault, &pid, 0, e.now())
        .await
        .unwrap();
    let _ = reqs;
    // First contact with a skewed clock records the offset from server_time…
    let _ = approve::pending_requests(&p.vault, &pid, 0, device_now).await;
    let offset = p.vault.pairing(&pid).unwrap().clock_offset_s;
    assert!((offset - 400).abs() <= 2, "offset {offset}");
    assert_eq!(
        p.vault.settings().unwrap().clock_offset_s,
        offset,
        "OTP clock corrected from the server"
    );
    // …so signatures made with the skewed clock still carry a correct time.
    let req = one_request(&e, &p, &pid).await;
    assert_eq!(
        approve::answer(
            &p.vault,
            &req,
            Decision::Approve,
            st.number.unwrap(),
            device_now
        )
        .await
        .unwrap(),
        RequestState::Approved
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_only_and_approve_only_methods() {
    let e = env().await;
    e.user("pw", "password").await;
    let (s, b) = e.start("pw").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["state"], "approved");
    assert!(b["session_token"].is_string());

    e.user("nopw", "approve").await;
    let p = phone(true);
    let inv = e.invite("nopw").await;
    let pid = approve::pair_with_invite(&p.vault, &inv, &device(), e.now())
        .await
        .unwrap()
        .id;
    let (s, b) = e
        .call(
            reqwest::Method::POST,
            "/v1/signin/start",
            Some(json!({"username": "nopw"})),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let st: SignInStarted = serde_json::from_value(b).unwrap();
    let req = one_request(&e, &p, &pid).await;
    approve::answer(
        &p.vault,
        &req,
        Decision::Approve,
        st.number.unwrap(),
        e.now(),
    )
    .await
    .unwrap();
    assert!(e.status(&st, 0).await.session_token.is_some());
}
