//! Pairing, device authentication, revocation and admin endpoints over real
//! HTTPS on loopback.

use crate::common;

use common::*;
use countersign_core::approve::protocol::{b64, PairingInvite, PushTokenUpdate};
use countersign_server::SignInMethod;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_and_invitation_carry_the_server_identity() {
    let ts = TestServer::start().await;
    let (status, info) = json_of(ts.http.get(ts.url("/v1/info")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["server_id"], ts.server.server_id());
    assert_eq!(info["server_name"], "Test NAS");
    assert_eq!(info["protocol"], 2);
    assert_eq!(info["server_time"], ts.now());

    ts.user("alice", SignInMethod::PasswordApprove).await;
    let invite: PairingInvite = ts.invite("alice").await;
    assert_eq!(invite.server_id, ts.server.server_id());
    assert_eq!(invite.server_name, "Test NAS");
    assert_eq!(invite.urls, vec![ts.server.base_url().to_string()]);
    assert_eq!(invite.account, "alice");
    assert_eq!(invite.spki_sha256, ts.server.spki_sha256());
    // The pinned fingerprint is the SHA-256 of the SPKI inside the served certificate.
    let der = rustls_pki_types_der(ts.server.cert_pem());
    let prefix = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    let at = der
        .windows(prefix.len())
        .position(|w| w == prefix)
        .expect("P-256 SPKI in certificate");
    let spki = &der[at..at + 91];
    assert_eq!(
        ring::digest::digest(&ring::digest::SHA256, spki).as_ref(),
        ts.server.spki_sha256()
    );

    // Same identity after a restart on the same data directory.
    let data = ts.dir.path().join("data");
    let (id, fp, admin) = (
        ts.server.server_id().to_string(),
        ts.server.spki_sha256(),
        ts.admin_token.clone(),
    );
    let config = ts.same_data_config();
    ts.server.shutdown().await.unwrap();
    let again = countersign_server::start(config).await.unwrap();
    assert_eq!((again.server_id(), again.spki_sha256()), (id.as_str(), fp));
    // The admin token (stored as a digest in the database) still works.
    let http = client_for(again.cert_pem());
    let r = http
        .get(format!("{}/v1/admin/users", again.base_url()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!data.join("admin.token").exists(), "no token file is made");
    let secrets: &[&str] = if ts.pg.is_some() {
        &["key.pem", "seed.key"]
    } else {
        &["key.pem", "seed.key", "server.db", "server.db-wal"]
    };
    for secret in secrets {
        let meta = std::fs::metadata(data.join(secret)).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
            0o600,
            "{secret}"
        );
    }
    again.shutdown().await.unwrap();
}

fn rustls_pki_types_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_pairing_is_single_use() {
    let ts = TestServer::start().await;
    ts.user("alice", SignInMethod::PasswordApprove).await;
    let invite = ts.invite("alice").await;
    let phone = Device::new()
        .pair_with_token(&ts, &invite.token)
        .await
        .unwrap();
    assert_eq!(phone.account, "alice");
    assert_err(
        Device::new()
            .pair_with_token(&ts, &invite.token)
            .await
            .map(|d| d.id),
        401,
        "invalid_token",
    );
    assert_err(
        Device::new()
            .pair_with_token(&ts, "made-up-token")
            .await
            .map(|d| d.id),
        401,
        "invalid_token",
    );
    // The paired phone can authenticate.
    assert!(phone.pending(&ts, 0).await.unwrap().requests.is_empty());
    let events = ts.server.events().await.unwrap();
    assert!(events
        .iter()
        .any(|e| e.kind == "device_paired" && e.device_id.as_deref() == Some(phone.id.as_str())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_is_refused() {
    let ts = TestServer::start().await;
    ts.user("alice", SignInMethod::PasswordApprove).await;
    let invite = ts.invite("alice").await;
    ts.clock.advance(601);
    assert_err(
        Device::new()
            .pair_with_token(&ts, &invite.token)
            .await
            .map(|d| d.id),
        401,
        "invalid_token",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_proof_is_refused_and_keeps_the_token() {
    let ts = TestServer::start().await;
    ts.user("alice", SignInMethod::PasswordApprove).await;
    let invite = ts.invite("alice").await;
    let phone = Device::new();
    let sid = ts.server_id();

    // Signed over another credential.
    let mut body = phone.pair_body(&sid, "other-token", ts.now());
    body.token = Some(invite.token.clone());
    assert_err(
        Device::new().send_pair(&ts, &body).await.map(|d| d.id),
        401,
        "bad_proof",
    );
    // Signed by another key.
    let other = Device::new();
    let mut body = phone.pair_body(&sid, &invite.token, ts.now());
    body.token = Some(invite.token.clone());
    body.public_key = b64(&other.public_key());
    assert_err(
        Device::new().send_pair(&ts, &body).await.map(|d| d.id),
        401,
        "bad_proof",
    );
    // For another server.
    let mut body = phone.pair_body("0123456789abcdef0123456789abcdef", &invite.token, ts.now());
    body.token = Some(invite.token.clone());
    assert_err(
        Device::new().send_pair(&ts, &body).await.map(|d| d.id),
        401,
        "bad_proof",
    );
    // Too old.
    let mut body = phone.pair_body(&sid, &invite.token, ts.now() - 301);
    body.token = Some(invite.token.clone());
    assert_err(
        Device::new().send_pair(&ts, &body).await.map(|d| d.id),
        401,
        "clock_skew",
    );
    // Bad key encodings.
    let mut body = phone.pair_body(&sid, &invite.token, ts.now());
    body.token = Some(invite.token.clone());
    body.public_key = b64(&[4u8; 64]);
    assert_err(
        Device::new().send_pair(&ts, &body).await.map(|d| d.id),
        400,
        "bad_request",
    );
    // None of that used the token up.
    phone.pair_with_token(&ts, &invite.token).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_pairing() {
    let ts = TestServer::start().await;
    ts.user("alice", SignInMethod::PasswordApprove).await;
    let phone = Device::new()
        .pair_with_password(&ts, "alice", PASSWORD)
        .await
        .unwrap();
    assert_eq!(phone.account, "alice");
    let wrong = assert_err(
        Device::new()
            .pair_with_password(&ts, "alice", "wrong password")
            .await
            .map(|d| d.id),
        401,
        "invalid_credentials",
    );
    let unknown = assert_err(
        Device::new()
            .pair_with_password(&ts, "nobody", PASSWORD)
            .await
            .map(|d| d.id),
        401,
        "invalid_credentials",
    );
    assert_eq!(wrong.message, unknown.message);
    assert!(!wrong.message.contains("wrong password"));
    // A proof over the wrong username fails before the password is checked.
    let d = Device::new();
    let mut body = d.pair_body(&ts.server_id(), "mallory", ts.now());
    body.username = Some("alice".into());
    body.password = Some(PASSWORD.into());
    assert_err(
        d.send_pair(&ts, &body).await.map(|d| d.id),
        401,
        "bad_proof",
    );
    // Token and password together is malformed.
    let d = Device::new();
    let mut body = d.pair_body(&ts.server_id(), "alice", ts.now());
    body.username = Some("alice".into());
    body.password = Some(PASSWORD.into());
    body.token = Some("x".into());
    assert_err(
        d.send_pair(&ts, &body).await.map(|d| d.id),
        400,
        "bad_request",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_rate_limited() {
    let ts = TestServer::start_with(|c| c.limits.password_failures_per_user = 3).await;
    ts.user("alice", SignInMethod::PasswordApprove).await;
    for _ in 0..3 {
        assert_err(
            Device::new()
                .pair_with_password(&ts, "alice", "guess guess")
                .await
                .map(|d| d.id),
            401,
            "invalid_credentials",
        );
    }
    // Even the right password is refused while limited; sign-in shares the limit.
    assert_err(
        Device::new()
            .pair_with_password(&ts, "alice", PASSWORD)
            .await
            .map(|d| d.id),
        429,
        "rate_limited",
    );
    assert_err(
        ts.start_signin("alice", Some(PASSWORD)).await,
        429,
        "rate_limited",
    );
    ts.clock.advance(901);
    Device::new()
        .pair_with_password(&ts, "alice", PASSWORD)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_limits_live_in_the_database_not_the_process() {
    // What one node (or a server before a restart) counted holds for the
    // next: the counts are in the shared database.
    let ts = TestServer::start_with(|c| c.limits.password_failures_per_user = 3).await;
    ts.user("alice", SignInMethod::Password).await;
    for _ in 0..3 {
        assert_err(
            ts.start_signin("alice", Some("Wrong-password-1")).await,
            401,
            "invalid_credentials",
        );
    }
    let mut config = ts.same_data_config();
    config.limits.password_failures_per_user = 3;
    ts.server.shutdown().await.unwrap();
    let other = countersign_server::start(config).await.unwrap();
    let http = client_for(other.cert_pem());
    let sign_in = || {
        http.post(format!("{}/v1/signin/start", other.base_url()))
            .json(&serde_json::json!({"username": "alice", "password": PASSWORD}))
            .send()
    };
    let resp = sign_in().await.unwrap();
    let retry: i64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(retry, 900, "the window runs from the first failure");
    assert_err(typed::<serde_json::Value>(resp).await, 429, "rate_limited");
    ts.clock.advance(901);
    assert_eq!(sign_in().await.unwrap().status(), 200);
    other.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_devices_per_account() {
    let ts = TestServer::start().await;
    ts.user("alice", SignInMethod::PasswordApprove).await;
    let mut phones = Vec::new();
    for _ in 0..20 {
        phones.push(ts.paired_device("alice").await);
    }
    let invite = ts.invite("alice").await;
    assert_err(
        Device::new()
            .pair_with_token(&ts, &invite.token)
            .await
            .map(|d| d.id),
        409,
        "pairing_limit",
    );
    assert_err(
        Device::new()
            .pair_with_password(&ts, "alice", PASSWORD)
            .await
            .map(|d| d.id),
        409,
        "pairing_limit",
    );
    // Revoking one makes room, and the refused invitation is still usable.
    let (status, _) = ts
        .admin(
            Method::DELETE,
            &format!("/v1/admin/devices/{}", phones[0].id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    Device::new()
        .pair_with_token(&ts, &invite.token)
        .await
        .unwrap();
    let (_, list) = ts
        .admin(Method::GET, "/v1/admin/users/alice/devices", None)
        .await;
    assert_eq!(list["devices"].as_array().unwrap().len(), 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_devices_get_pairing_revoked() {
    let ts = TestServer::start().await;
    let phone = ts.user_with_device("alice").await;
    let started = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    let req = phone.the_request(&ts).await;
    let (status, body) = ts
        .admin(
            Method::DELETE,
            &format!("/v1/admin/devices/{}", phone.id),
            None,
        )
        .await;
    assert_eq!(
        (status, body["device_id"].as_str()),
        (StatusCode::OK, Some(phone.id.as_str()))
    );
    assert_err(phone.pending(&ts, 0).await, 410, "pairing_revoked");
    assert_err(
        phone
            .answer(
                &ts,
                &req,
                countersign_core::approve::protocol::Decision::Approve,
                started.number.unwrap(),
            )
            .await,
        410,
        "pairing_revoked",
    );
    assert_eq!(
        ts.signin_status(&started, 0).await.unwrap().state.as_str(),
        "pending"
    );
    let (_, list) = ts
        .admin(Method::GET, "/v1/admin/users/alice/devices", None)
        .await;
    assert!(list["devices"][0]["revoked_at"].is_i64());
    let (status, _) = ts
        .admin(
            Method::DELETE,
            "/v1/admin/devices/0123456789abcdef0123456789abcdef",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(ts
        .server
        .events()
        .await
        .unwrap()
        .iter()
        .any(|e| e.kind == "device_revoked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_can_unpair_and_update_its_push_token() {
    let ts = TestServer::start().await;
    let phone = ts.user_with_device("alice").await;
    let body = serde_json::to_vec(&PushTokenUpdate {
        push_token: "fcm:token_1".into(),
    })
    .unwrap();
    let (status, _) = json_of(
        phone
            .signed(&ts, Method::PUT, "/v1/device/push-token", &body)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = ts
        .admin(Method::GET, "/v1/admin/users/alice/devices", None)
        .await;
    assert_eq!(list["devices"][0]["has_push_token"], true);
    // The signature covers the body: a different body with the same headers fails.
    let mut req = ts
        .http
        .put(ts.url("/v1/device/push-token"))
        .body(r#"{"push_token":"evil"}"#);
    for (k, v) in phone.auth_headers(&ts, "PUT", "/v1/device/push-token", &body) {
        req = req.header(k, v);
    }
    let (status, err) = json_of(req.send().await.unwrap()).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    // Bad token shape.
    let bad = serde_json::to_vec(&json!({"push_token": "a/b"})).unwrap();
    let (status, _) = json_of(
        phone
            .signed(&ts, Method::PUT, "/v1/device/push-token", &bad)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, _) = json_of(phone.signed(&ts, Method::DELETE, "/v1/device", b"").await).await;
    assert_eq!(status, StatusCode::OK);
    assert_err(phone.pending(&ts, 0).await, 410, "pairing_revoked");
    assert!(ts
        .server
        .events()
        .await
        .unwrap()
        .iter()
        .any(|e| e.kind == "device_unpaired"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_authentication_is_checked() {
    let ts = TestServer::start().await;
    let phone = ts.user_with_device("alice").await;
    // Signed by another key.
    let mut impostor = Device::new();
    impostor.id = phone.id.clone();
    assert_err(impostor.pending(&ts, 0).await, 401, "unauthorized");
    // Unknown device.
    let mut stranger = Device::new();
    stranger.id = "0123456789abcdef0123456789abcdef".into();
    assert_err(stranger.pending(&ts, 0).await, 401, "unauthorized");
    // Signed for another path (the query is covered).
    let mut req = ts.http.get(ts.url("/v1/device/requests?wait=1"));
    for (k, v) in phone.auth_headers(&ts, "GET", "/v1/device/requests?wait=0", b"") {
        req = req.header(k, v);
    }
    assert_err(
        typed::<serde_json::Value>(req.send().await.unwrap()).await,
        401,
        "unauthorized",
    );
    // Clock too far off.
    let headers = phone.auth_headers(&ts, "GET", "/v1/device/requests", b"");
    ts.clock.advance(301);
    let mut req = ts.http.get(ts.url("/v1/device/requests"));
    for (k, v) in headers {
        req = req.header(k, v);
    }
    assert_err(
        typed::<serde_json::Value>(req.send().await.unwrap()).await,
        401,
        "clock_skew",
    );
    ts.clock.advance(-301);
    // Missing headers.
    let (status, _) = json_of(
        ts.http
            .get(ts.url("/v1/device/requests"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_need_the_token() {
    let ts = TestServer::start().await;
    for (method, path) in [
        (Method::POST, "/v1/admin/users"),
        (Method::POST, "/v1/admin/users/alice/pairing"),
        (Method::GET, "/v1/admin/users/alice/devices"),
        (
            Method::DELETE,
            "/v1/admin/devices/0123456789abcdef0123456789abcdef",
        ),
        (Method::GET, "/v1/admin/events"),
    ] {
        let (status, body) = json_of(
            ts.http
                .request(method.clone(), ts.url(path))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{path}"
        );
        let (status, _) = json_of(
            ts.http
                .request(method, ts.url(path))
                .bearer_auth("not-the-token")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    // Create users over HTTP.
    let (status, body) = ts
        .admin(
            Method::POST,
            "/v1/admin/users",
            Some(json!({"username": "bob", "password": "Bob-passw0rd", "method": "password"})),
        )
        .await;
    assert_eq!(
        (status, body["username"].as_str()),
        (StatusCode::CREATED, Some("bob"))
    );
    let (status, body) = ts
        .admin(
            Method::POST,
            "/v1/admin/users",
            Some(json!({"username": "bob", "password": "Bob-passw0rd", "method": "password"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("user_exists"))
    );
    let (status, body) = ts
        .admin(
            Method::POST,
            "/v1/admin/users",
            Some(json!({"username": "carol", "password": "short", "method": "password"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("weak_password"))
    );
    let (status, body) = ts
        .admin(
            Method::POST,
            "/v1/admin/users",
            Some(json!({"username": "carol", "method": "password_approve"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("weak_password"))
    );
    let (status, _) = ts
        .admin(
            Method::POST,
            "/v1/admin/users",
            Some(json!({"username": "dave", "method": "approve"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = ts
        .admin(
            Method::POST,
            "/v1/admin/users",
            Some(json!({"username": "x".repeat(65), "method": "approve"})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let (status, body) = ts
        .admin(Method::POST, "/v1/admin/users/bob/pairing", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(PairingInvite::parse(body["uri"].as_str().unwrap()).is_ok());
    assert_eq!(body["expires_at"], ts.now() + 600);
    let (status, _) = ts
        .admin(Method::POST, "/v1/admin/users/nobody/pairing", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ts
        .admin(Method::GET, "/v1/admin/users/nobody/devices", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = ts
        .admin(Method::GET, "/v1/admin/events?limit=2", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["events"].as_array().unwrap().len(), 2);
}
