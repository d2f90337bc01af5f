//! Approve sign-in through the exported API, against the real server.

use countersign_core::approve::pinning::{self, Pin};
use countersign_ffi::{
    AuthError, Authenticator, Clock, Decision, DeviceRegistration, RequestState, SignInListener,
    SignInRequest, SoftwareKeystore,
};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct SysClock;
impl Clock for SysClock {
    fn now_unix_s(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }
}

#[derive(Default)]
struct Requests {
    got: Mutex<Vec<SignInRequest>>,
    errors: Mutex<Vec<AuthError>>,
}

impl SignInListener for Requests {
    fn on_request(&self, request: SignInRequest) {
        self.got.lock().unwrap().push(request);
    }
    fn on_error(&self, _pairing_id: String, error: AuthError) {
        self.errors.lock().unwrap().push(error);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_watch_approve_unpair_through_the_bindings() {
    let dir = tempfile::tempdir().unwrap();
    let config = countersign_server::ServerConfig::new(
        dir.path().join("srv"),
        "127.0.0.1:0".parse().unwrap(),
        "FFI NAS",
    );
    let server = countersign_server::start(config).await.unwrap();
    let base = server.base_url().to_owned();
    let admin = server.admin_token().to_owned();
    let (http, _) =
        pinning::client(Pin::Key(server.spki_sha256()), Duration::from_secs(30)).unwrap();
    let r = http
        .post(format!("{base}/v1/admin/users"))
        .bearer_auth(&admin)
        .json(&json!({"username": "erin", "password": "Correct-Horse-42", "method": "password_approve"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let inv: Value = http
        .post(format!("{base}/v1/admin/users/erin/pairing"))
        .bearer_auth(&admin)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let keystore =
        SoftwareKeystore::new(dir.path().join("keys").to_string_lossy().into_owned()).unwrap();
    let auth = Authenticator::open(
        dir.path().join("v.db").to_string_lossy().into_owned(),
        keystore,
        Arc::new(SysClock),
    )
    .unwrap();
    auth.unlock(None).await.unwrap();
    auth.enable_biometrics().await.unwrap();

    let identity = auth.fetch_server_identity(base.clone()).await.unwrap();
    assert_eq!(identity.server_name, "FFI NAS");
    let device = DeviceRegistration {
        name: "FFI phone".into(),
        platform: "ios".into(),
        push_token: Some("apns-token-123".into()),
    };
    let pairing = auth
        .pair_with_invite(inv["uri"].as_str().unwrap().to_owned(), device.clone())
        .await
        .unwrap();
    assert_eq!(pairing.fingerprint, identity.fingerprint);
    assert_eq!(auth.pairings().unwrap().len(), 1);
    assert!(matches!(
        auth.pair_with_invite("countersign://pair?v=9".into(), device)
            .await,
        Err(AuthError::InvalidInput { .. })
    ));

    let listener = Arc::new(Requests::default());
    let handle = auth
        .clone()
        .watch_sign_in_requests(listener.clone())
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started: Value = http
        .post(format!("{base}/v1/signin/start"))
        .json(&json!({"username": "erin", "password": "Correct-Horse-42"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let number = started["number"].as_u64().unwrap() as u8;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while listener.got.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let req = listener
        .got
        .lock()
        .unwrap()
        .first()
        .cloned()
        .expect("listener got the request");
    assert_eq!(req.context.service, "FFI NAS");
    let state = auth
        .answer(req.clone(), Decision::Approve, u16::from(number))
        .await
        .unwrap();
    assert_eq!(state, RequestState::Approved);
    assert!(matches!(
        auth.answer(req, Decision::Approve, u16::from(number)).await,
        Err(AuthError::Rejected { ref code, .. }) if code == "already_answered"
    ));
    handle.cancel();
    assert!(auth.check_pending().await.unwrap().requests.is_empty());
    auth.update_push_token(pairing.id.clone(), "apns-token-456".into())
        .await
        .unwrap();
    assert!(auth.unpair(pairing.id).await.unwrap());
    assert!(auth.pairings().unwrap().is_empty());
    let _ = server.shutdown().await;
}
