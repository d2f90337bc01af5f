//! Push senders against a real loopback HTTP/2 TLS receiver: exact paths,
//! headers, APNs JWT (decoded and its ES256 signature verified with ring) and
//! bodies; then end to end, a sign-in waking a paired phone, and a broken
//! push service not failing the sign-in.

use crate::common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::IntoResponse;
use axum::Router;
use base64::Engine;
use common::*;
use countersign_core::approve::protocol::{unb64, RequestState};
use countersign_server::push::{ApnsSender, FcmSender, PushFuture};
use countersign_server::{
    ApnsConfig, Clock, FcmAuth, FcmConfig, ManualClock, PushError, PushSender, ServiceAccount,
    SignInMethod,
};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use serde_json::{json, Value};
use tokio::sync::mpsc;

#[derive(Debug)]
struct Captured {
    method: String,
    path: String,
    version: Version,
    headers: HeaderMap,
    body: Bytes,
}

struct Receiver {
    addr: SocketAddr,
    cert_pem: String,
    rx: mpsc::UnboundedReceiver<Captured>,
    handle: axum_server::Handle<SocketAddr>,
}

impl Receiver {
    /// A push service stand-in answering every request with `status` and `body`.
    async fn start(status: StatusCode, body: Value) -> Self {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .unwrap()
                .self_signed(&key)
                .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let (tx, rx) = mpsc::unbounded_channel();
        let app = Router::new()
            .fallback(
                |State((tx, status, body)): State<(
                    mpsc::UnboundedSender<Captured>,
                    StatusCode,
                    Value,
                )>,
                 req: Request| async move {
                    let (parts, b) = req.into_parts();
                    let bytes = axum::body::to_bytes(b, 1 << 20).await.unwrap();
                    let _ = tx.send(Captured {
                        method: parts.method.to_string(),
                        path: parts.uri.path().to_string(),
                        version: parts.version,
                        headers: parts.headers,
                        body: bytes,
                    });
                    (status, axum::Json(body)).into_response()
                },
            )
            .with_state((tx, status, body));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = axum_server::Handle::new();
        let server = axum_server::from_tcp_rustls(
            listener,
            axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(tls)),
        )
        .unwrap()
        .handle(handle.clone());
        tokio::spawn(server.serve(app.into_make_service()));
        Self {
            addr,
            cert_pem: cert.pem(),
            rx,
            handle,
        }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    async fn next(&mut self) -> Captured {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("no push arrived")
            .unwrap()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// An APNs-style `.p8` key (PKCS#8 PEM) and its public key.
fn p8_key() -> (String, Vec<u8>) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let public = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .unwrap()
        .public_key()
        .as_ref()
        .to_vec();
    let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    (
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        ),
        public,
    )
}

fn apns_config(receiver: &Receiver, key_pem: String) -> ApnsConfig {
    ApnsConfig {
        endpoint: receiver.url(),
        topic: "org.countersign.app".into(),
        key_id: "KEY1234567".into(),
        team_id: "TEAM123456".into(),
        key_pem,
        extra_root_pem: Some(receiver.cert_pem.clone()),
    }
}

/// Decodes and verifies an APNs bearer JWT; returns (header, claims).
fn check_jwt(authorization: &str, public_key: &[u8]) -> (Value, Value) {
    let jwt = authorization
        .strip_prefix("bearer ")
        .expect("bearer scheme");
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&unb64(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&unb64(parts[1]).unwrap()).unwrap();
    let signature = unb64(parts[2]).unwrap();
    assert_eq!(signature.len(), 64, "ES256 signatures are r ‖ s");
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public_key)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("JWT signature verifies with the .p8 public key");
    (header, claims)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apns_sender_speaks_http2_with_an_es256_jwt() {
    let mut receiver = Receiver::start(StatusCode::OK, json!({})).await;
    let (key_pem, public) = p8_key();
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let sender = ApnsSender::new(apns_config(&receiver, key_pem), None, clock.clone()).unwrap();
    let token = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let rid = "0123456789abcdef0123456789abcdef";
    sender.wake(token, rid).await.unwrap();

    let got = receiver.next().await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, format!("/3/device/{token}"));
    assert_eq!(got.version, Version::HTTP_2);
    assert_eq!(got.headers["apns-topic"], "org.countersign.app");
    assert_eq!(got.headers["apns-push-type"], "alert");
    assert_eq!(got.headers["apns-priority"], "10");
    let auth = got.headers["authorization"].to_str().unwrap().to_string();
    let (header, claims) = check_jwt(&auth, &public);
    assert_eq!(header, json!({"alg": "ES256", "kid": "KEY1234567"}));
    assert_eq!(claims, json!({"iss": "TEAM123456", "iat": 1_700_000_000}));
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(
        body,
        json!({"aps": {"alert": {"title": "Sign-in request", "body": "Open Countersign to review"}}, "rid": rid})
    );

    // The provider token is reused for a while, then renewed.
    clock.advance(60);
    sender.wake(token, rid).await.unwrap();
    assert_eq!(
        receiver.next().await.headers["authorization"]
            .to_str()
            .unwrap(),
        auth
    );
    clock.advance(50 * 60);
    sender.wake(token, rid).await.unwrap();
    let renewed = receiver.next().await.headers["authorization"]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(renewed, auth);
    assert_eq!(check_jwt(&renewed, &public).1["iat"], clock.now());

    // A token that would change the URL path is refused before sending.
    assert!(matches!(
        sender.wake("../x", rid).await,
        Err(PushError::Config(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apns_rejections_are_reported_without_the_token() {
    let receiver =
        Receiver::start(StatusCode::BAD_REQUEST, json!({"reason": "BadDeviceToken"})).await;
    let (key_pem, _) = p8_key();
    let sender = ApnsSender::new(
        apns_config(&receiver, key_pem),
        None,
        Arc::new(ManualClock::new(1)),
    )
    .unwrap();
    let err = sender
        .wake("deadbeef", "0123456789abcdef0123456789abcdef")
        .await
        .unwrap_err();
    match &err {
        PushError::Rejected { status, reason } => {
            assert_eq!((*status, reason.as_str()), (400, "BadDeviceToken"))
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains("deadbeef"));
    // Unreachable service: a transport error, without the token either.
    let mut config = apns_config(&receiver, p8_key().0);
    config.endpoint = "https://127.0.0.1:1".into();
    let sender = ApnsSender::new(config, None, Arc::new(ManualClock::new(1))).unwrap();
    let err = sender
        .wake("deadbeef", "0123456789abcdef0123456789abcdef")
        .await
        .unwrap_err();
    assert!(matches!(err, PushError::Transport(_)), "{err:?}");
    assert!(!err.to_string().contains("deadbeef"), "{err}");
    // Bad keys are configuration errors.
    assert!(ApnsSender::new(
        apns_config(&receiver, "not a key".into()),
        None,
        Arc::new(ManualClock::new(1))
    )
    .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_sender_posts_a_data_message() {
    let mut receiver =
        Receiver::start(StatusCode::OK, json!({"name": "projects/demo/messages/1"})).await;
    let sender = FcmSender::new(
        FcmConfig {
            endpoint: receiver.url(),
            project_id: "demo-project".into(),
            auth: FcmAuth::AccessToken("ya29.test-access-token".into()),
            extra_root_pem: Some(receiver.cert_pem.clone()),
        },
        None,
        Arc::new(ManualClock::new(1_700_000_000)),
    )
    .unwrap();
    let rid = "0123456789abcdef0123456789abcdef";
    sender.wake("fcm-token:APA91b_x", rid).await.unwrap();
    let got = receiver.next().await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/v1/projects/demo-project/messages:send");
    assert_eq!(got.version, Version::HTTP_2);
    assert_eq!(
        got.headers["authorization"],
        "Bearer ya29.test-access-token"
    );
    assert!(got.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(
        body,
        json!({"message": {"token": "fcm-token:APA91b_x", "data": {"request_id": rid}, "android": {"priority": "high"}}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_wakes_paired_phones_through_apns_and_fcm() {
    let mut apns = Receiver::start(StatusCode::OK, json!({})).await;
    let mut fcm = Receiver::start(StatusCode::OK, json!({})).await;
    let (key_pem, public) = p8_key();
    let apns_cfg = apns_config(&apns, key_pem);
    let fcm_cfg = FcmConfig {
        endpoint: fcm.url(),
        project_id: "demo".into(),
        auth: FcmAuth::AccessToken("token".into()),
        extra_root_pem: Some(fcm.cert_pem.clone()),
    };
    let ts = TestServer::start_with(move |c| {
        c.push.apns = Some(apns_cfg);
        c.push.fcm = Some(fcm_cfg);
    })
    .await;
    ts.user("alice", SignInMethod::Approve).await;
    let invite = ts.invite("alice").await;
    let mut iphone = Device::new();
    iphone.platform = "ios".into();
    iphone.push_token = Some("abcdef0123456789".into());
    iphone.pair_with_token(&ts, &invite.token).await.unwrap();
    let invite = ts.invite("alice").await;
    let mut android = Device::new();
    android.push_token = Some("fcm:android_token".into());
    android.pair_with_token(&ts, &invite.token).await.unwrap();
    // A desktop device without push is simply not pushed to.
    ts.paired_device("alice").await;

    // Pairing the later phones was announced to the earlier ones
    // ("notice" wake-ups); wait for those before the sign-in.
    let notice = apns.next().await;
    assert_eq!(
        serde_json::from_slice::<Value>(&notice.body).unwrap()["rid"],
        "notice"
    );
    let _ = apns.next().await;
    let f = fcm.next().await;
    assert_eq!(
        serde_json::from_slice::<Value>(&f.body).unwrap()["message"]["data"]["request_id"],
        "notice"
    );
    let started = ts.start_signin("alice", None).await.unwrap();
    let rid = started.request_id.unwrap();
    let a = apns.next().await;
    assert_eq!(a.path, "/3/device/abcdef0123456789");
    assert_eq!(
        serde_json::from_slice::<Value>(&a.body).unwrap()["rid"],
        rid.as_str()
    );
    check_jwt(a.headers["authorization"].to_str().unwrap(), &public);
    let f = fcm.next().await;
    let body: Value = serde_json::from_slice(&f.body).unwrap();
    assert_eq!(body["message"]["token"], "fcm:android_token");
    assert_eq!(body["message"]["data"], json!({"request_id": rid}));
    // Nothing secret travelled: no number, nonce or poll token in either push.
    for raw in [&a.body, &f.body] {
        let text = String::from_utf8_lossy(raw);
        assert!(!text.contains(started.poll_token.as_deref().unwrap()));
        assert!(!text.contains("nonce") && !text.contains("number"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_push_does_not_fail_the_sign_in() {
    let receiver = Receiver::start(
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({"reason": "InternalServerError"}),
    )
    .await;
    let mut cfg = apns_config(&receiver, p8_key().0);
    cfg.endpoint = "https://127.0.0.1:1".into();
    let ts = TestServer::start_with(move |c| c.push.apns = Some(cfg)).await;
    ts.user("alice", SignInMethod::PasswordApprove).await;
    let invite = ts.invite("alice").await;
    let mut iphone = Device::new();
    iphone.platform = "ios".into();
    iphone.push_token = Some("abcdef".into());
    let iphone = iphone.pair_with_token(&ts, &invite.token).await.unwrap();
    let started = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    assert_eq!(started.state, RequestState::Pending);
    assert_eq!(
        iphone.the_request(&ts).await.request_id,
        started.request_id.unwrap()
    );
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(String, String)>>);

impl PushSender for Recorder {
    fn wake<'a>(&'a self, push_token: &'a str, request_id: &'a str) -> PushFuture<'a> {
        self.0
            .lock()
            .unwrap()
            .push((push_token.to_string(), request_id.to_string()));
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_sender_gets_every_wake_up() {
    let recorder = Arc::new(Recorder::default());
    let r = recorder.clone();
    let ts = TestServer::start_with(move |c| c.push.custom = Some(r)).await;
    ts.user("alice", SignInMethod::Approve).await;
    let invite = ts.invite("alice").await;
    let mut phone = Device::new();
    phone.platform = "desktop".into();
    phone.push_token = Some("tok-1".into());
    let phone = phone.pair_with_token(&ts, &invite.token).await.unwrap();
    let started = ts.start_signin("alice", None).await.unwrap();
    for _ in 0..100 {
        if !recorder.0.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        *recorder.0.lock().unwrap(),
        vec![("tok-1".to_string(), started.request_id.clone().unwrap())]
    );
    drop(phone);
}

/// Whether each of `alice`'s devices still has a push token, in pairing
/// order; waits (up to 10 s) for `want`, since pushes run in the background.
async fn push_tokens_become(ts: &TestServer, want: &[bool]) -> Vec<bool> {
    let mut got = Vec::new();
    for _ in 0..500 {
        let (_, list) = ts
            .admin(reqwest::Method::GET, "/v1/admin/users/alice/devices", None)
            .await;
        // By platform (android, then ios): the list's own order is by id.
        let mut devices: Vec<(String, bool)> = list["devices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["platform"].as_str().unwrap().to_owned(),
                    d["has_push_token"].as_bool().unwrap(),
                )
            })
            .collect();
        devices.sort();
        got = devices.into_iter().map(|(_, t)| t).collect();
        if got == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    got
}

/// A server with APNs and FCM pointed at receivers answering as given, and
/// alice with an iPhone and an Android phone that both have push tokens.
async fn server_with_push_answers(apns: &Receiver, fcm: &Receiver) -> TestServer {
    let apns_cfg = apns_config(apns, p8_key().0);
    let fcm_cfg = FcmConfig {
        endpoint: fcm.url(),
        project_id: "demo".into(),
        auth: FcmAuth::AccessToken("token".into()),
        extra_root_pem: Some(fcm.cert_pem.clone()),
    };
    let ts = TestServer::start_with(move |c| {
        c.push.apns = Some(apns_cfg);
        c.push.fcm = Some(fcm_cfg);
    })
    .await;
    ts.user("alice", SignInMethod::Approve).await;
    for (platform, token) in [("ios", "abcdef0123456789"), ("android", "fcm:dead")] {
        let invite = ts.invite("alice").await;
        let mut phone = Device::new();
        phone.platform = platform.into();
        phone.push_token = Some(token.into());
        phone.pair_with_token(&ts, &invite.token).await.unwrap();
    }
    ts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_the_services_call_dead_are_cleared() {
    // APNs 410 Unregistered (app deleted); FCM UNREGISTERED.
    let mut apns = Receiver::start(StatusCode::GONE, json!({"reason": "Unregistered"})).await;
    let unregistered = json!({"error": {"code": 404, "status": "NOT_FOUND", "details": [
        {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}
    ]}});
    let mut fcm = Receiver::start(StatusCode::NOT_FOUND, unregistered).await;
    let ts = server_with_push_answers(&apns, &fcm).await;
    // Pairing the Android phone was announced to the iPhone (a notice
    // wake-up): APNs calls that token dead, so it goes first. (Waiting for
    // it makes the order fixed; before, the test raced that notice.)
    let notice = apns.next().await;
    assert!(
        notice.path.ends_with("/abcdef0123456789"),
        "{}",
        notice.path
    );
    // [android, ios]
    assert_eq!(push_tokens_become(&ts, &[true, false]).await, [true, false]);
    // A sign-in wakes the phone that still has a token: FCM calls it dead.
    ts.start_signin("alice", None).await.unwrap();
    fcm.next().await;
    assert_eq!(
        push_tokens_become(&ts, &[false, false]).await,
        [false, false]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_never_wipe_tokens() {
    // APNs: a token for the other environment; FCM: a wrong project (plain
    // NOT_FOUND without the UNREGISTERED code).
    let mut apns =
        Receiver::start(StatusCode::BAD_REQUEST, json!({"reason": "BadDeviceToken"})).await;
    let not_found = json!({"error": {"code": 404, "status": "NOT_FOUND"}});
    let mut fcm = Receiver::start(StatusCode::NOT_FOUND, not_found).await;
    let ts = server_with_push_answers(&apns, &fcm).await;
    ts.start_signin("alice", None).await.unwrap();
    apns.next().await;
    fcm.next().await;
    // Give the background tasks time to (not) act, then check.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(push_tokens_become(&ts, &[true, true]).await, [true, true]);
}

/// The test service account: a committed 2048-bit RSA key made for these
/// tests only (testdata/fcm-test-service-account.pem), as Firebase's JSON.
fn service_account_json(token_uri: &str) -> Vec<u8> {
    let key = include_str!("testdata/fcm-test-service-account.pem");
    serde_json::to_vec(&json!({
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": "0123",
        "private_key": key,
        "client_email": "push@demo-project.iam.gserviceaccount.com",
        "token_uri": token_uri,
    }))
    .unwrap()
}

/// An FCM sender to `fcm` whose tokens come from `account` at `google`'s
/// token endpoint (both receivers' certificates trusted).
fn sender_via(
    google: &Receiver,
    fcm: &Receiver,
    account: ServiceAccount,
    clock: Arc<ManualClock>,
) -> Result<FcmSender, PushError> {
    FcmSender::new(
        FcmConfig {
            endpoint: fcm.url(),
            project_id: "demo-project".into(),
            auth: FcmAuth::ServiceAccount(account),
            extra_root_pem: Some(format!("{}{}", google.cert_pem, fcm.cert_pem)),
        },
        None,
        clock,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_tokens_come_from_the_service_account_and_are_refreshed() {
    let mut google = Receiver::start(
        StatusCode::OK,
        json!({"access_token": "ya29.minted", "expires_in": 3600, "token_type": "Bearer"}),
    )
    .await;
    let mut fcm =
        Receiver::start(StatusCode::OK, json!({"name": "projects/demo/messages/1"})).await;
    let token_uri = format!("{}/token", google.url());
    let (account, project) = ServiceAccount::from_json(&service_account_json(&token_uri)).unwrap();
    assert_eq!(project.as_deref(), Some("demo-project"));
    assert!(!format!("{account:?}").contains("PRIVATE KEY"));
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let sender = sender_via(&google, &fcm, account, clock.clone()).unwrap();
    let rid = "0123456789abcdef0123456789abcdef";
    sender.wake("fcm:one", rid).await.unwrap();

    // The token request: an RS256 assertion signed by the account's key.
    let asked = google.next().await;
    assert_eq!(
        (asked.method.as_str(), asked.path.as_str()),
        ("POST", "/token")
    );
    let form: Vec<(String, String)> = url_form(&asked.body);
    assert_eq!(
        form[0],
        (
            "grant_type".into(),
            "urn:ietf:params:oauth:grant-type:jwt-bearer".into()
        )
    );
    let assertion = &form[1].1;
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&unb64(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&unb64(parts[1]).unwrap()).unwrap();
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
    assert_eq!(
        claims,
        json!({
            "iss": "push@demo-project.iam.gserviceaccount.com",
            "scope": "https://www.googleapis.com/auth/firebase.messaging",
            "aud": token_uri,
            "iat": 1_700_000_000,
            "exp": 1_700_003_600,
        })
    );
    use rustls::pki_types::pem::PemObject as _;
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from_pem_slice(include_bytes!(
        "testdata/fcm-test-service-account.pem"
    ))
    .unwrap();
    let key = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
    UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        key.public().as_ref(),
    )
    .verify(
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &unb64(parts[2]).unwrap(),
    )
    .expect("the assertion is signed with the service account's key");
    // The push carries the minted token.
    let push = fcm.next().await;
    assert_eq!(push.headers["authorization"], "Bearer ya29.minted");

    // Within its life the token is reused; five minutes before it ends it is
    // replaced.
    clock.advance(3000);
    sender.wake("fcm:two", rid).await.unwrap();
    assert_eq!(
        fcm.next().await.headers["authorization"],
        "Bearer ya29.minted"
    );
    assert!(google.rx.try_recv().is_err(), "no second token request yet");
    clock.advance(400);
    sender.wake("fcm:three", rid).await.unwrap();
    let again = google.next().await;
    let form = url_form(&again.body);
    let claims: Value =
        serde_json::from_slice(&unb64(form[1].1.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["iat"], 1_700_003_400);
    fcm.next().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_request_is_a_push_error_and_bad_key_files_are_refused() {
    let google = Receiver::start(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"})).await;
    let fcm = Receiver::start(StatusCode::OK, json!({})).await;
    let token_uri = format!("{}/token", google.url());
    let (account, _) = ServiceAccount::from_json(&service_account_json(&token_uri)).unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let sender = sender_via(&google, &fcm, account, clock).unwrap();
    let e = sender
        .wake("fcm:x", "0123456789abcdef0123456789abcdef")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("invalid_grant"), "{e}");
    assert!(!e.token_is_dead());
    // Not a service account file; a key ring cannot use.
    assert!(ServiceAccount::from_json(b"{}").is_err());
    let mut wrong_type: Value = serde_json::from_slice(&service_account_json(&token_uri)).unwrap();
    wrong_type["type"] = "authorized_user".into();
    assert!(ServiceAccount::from_json(&serde_json::to_vec(&wrong_type).unwrap()).is_err());
    let mut not_rsa: Value = serde_json::from_slice(&service_account_json(&token_uri)).unwrap();
    not_rsa["private_key"] = p8_key().0.into();
    let (account, _) = ServiceAccount::from_json(&serde_json::to_vec(&not_rsa).unwrap()).unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let e = sender_via(&google, &fcm, account, clock).err().unwrap();
    assert!(e.to_string().contains("not an RSA key"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_fcm_refuses_is_not_used_again() {
    let mut google = Receiver::start(
        StatusCode::OK,
        json!({"access_token": "ya29.revoked", "expires_in": 3600}),
    )
    .await;
    let mut fcm = Receiver::start(
        StatusCode::UNAUTHORIZED,
        json!({"error": {"status": "UNAUTHENTICATED"}}),
    )
    .await;
    let token_uri = format!("{}/token", google.url());
    let (account, _) = ServiceAccount::from_json(&service_account_json(&token_uri)).unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let sender = sender_via(&google, &fcm, account, clock).unwrap();
    let rid = "0123456789abcdef0123456789abcdef";
    for _ in 0..2 {
        let e = sender.wake("fcm:x", rid).await.unwrap_err();
        assert!(matches!(e, PushError::Rejected { status: 401, .. }), "{e}");
        // Each attempt asked for a fresh token: the refused one was dropped
        // although it had not expired.
        google.next().await;
        fcm.next().await;
    }
}

/// `application/x-www-form-urlencoded` pairs, decoded.
fn url_form(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap()
}
