//! Approve sign-in through the exported API, against the real server.

use countersign_core::approve::pinning::{self, Pin};
use countersign_ffi::{
    AuthError, Authenticator, Clock, Decision, DeviceRegistration, PasswordPairingOutcome,
    RequestAction, RequestGone, RequestState, ServerNotice, SignInListener, SignInRequest,
    SoftwareKeystore,
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
    changed: Mutex<Vec<SignInRequest>>,
    gone: Mutex<Vec<(String, RequestGone, Option<RequestState>)>>,
    notices: Mutex<Vec<ServerNotice>>,
    errors: Mutex<Vec<AuthError>>,
}

impl SignInListener for Requests {
    fn on_request(&self, request: SignInRequest) {
        self.got.lock().unwrap().push(request);
    }
    fn on_request_changed(&self, request: SignInRequest) {
        self.changed.lock().unwrap().push(request);
    }
    fn on_request_gone(&self, request_id: String, why: RequestGone, state: Option<RequestState>) {
        self.gone.lock().unwrap().push((request_id, why, state));
    }
    fn on_notice(&self, notice: ServerNotice) {
        self.notices.lock().unwrap().push(notice);
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
    let admin = server.create_admin_token("ffi-test").await.unwrap();
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
    assert_eq!(req.shown.action, RequestAction::SignIn);
    assert_eq!(req.tries_left, 3);
    // The core keeps it in the waiting list; the phone answers it by id.
    assert_eq!(auth.waiting_requests(), vec![req.clone()]);
    // A mistyped number is refused and counted; the request stays, changed.
    let typo = if number == 99 { 98 } else { number + 1 };
    assert!(matches!(
        auth.answer_request(req.request_id.clone(), Decision::Approve, u16::from(typo))
            .await,
        Err(AuthError::WrongNumber { tries_left: 2 })
    ));
    assert_eq!(auth.waiting_requests()[0].tries_left, 2);
    assert_eq!(listener.changed.lock().unwrap()[0].tries_left, 2);
    assert!(matches!(
        auth.answer_request(req.request_id.clone(), Decision::Approve, 100)
            .await,
        Err(AuthError::InvalidInput { .. })
    ));
    let state = auth
        .answer_request(req.request_id.clone(), Decision::Approve, u16::from(number))
        .await
        .unwrap();
    assert_eq!(state, RequestState::Approved);
    // Answered: gone from the list, the listener told how it ended.
    assert!(auth.waiting_requests().is_empty());
    assert_eq!(
        listener.gone.lock().unwrap().first().cloned(),
        Some((
            req.request_id.clone(),
            RequestGone::Answered,
            Some(RequestState::Approved)
        ))
    );
    assert!(matches!(
        auth.answer_request(req.request_id.clone(), Decision::Approve, u16::from(number))
            .await,
        Err(AuthError::NotFound)
    ));

    // A second phone pairs by password: erin has a phone, so it waits for
    // her to type its number there (the watcher delivers the request).
    let second = Authenticator::open(
        dir.path().join("v2.db").to_string_lossy().into_owned(),
        SoftwareKeystore::new(dir.path().join("keys2").to_string_lossy().into_owned()).unwrap(),
        Arc::new(SysClock),
    )
    .unwrap();
    second.unlock(None).await.unwrap();
    let outcome = second
        .pair_with_password(
            base.clone(),
            identity.fingerprint.clone(),
            "erin".into(),
            "Correct-Horse-42".into(),
            None,
            DeviceRegistration {
                name: "Second phone".into(),
                platform: "android".into(),
                push_token: None,
            },
        )
        .await
        .unwrap();
    let PasswordPairingOutcome::AwaitingApproval { pending } = outcome else {
        panic!("erin has a phone: the pairing must wait for approval");
    };
    assert!(second
        .finish_password_pairing(pending.clone(), 0)
        .await
        .unwrap()
        .is_none());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let pair_req = loop {
        let found = listener
            .got
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.shown.action == RequestAction::PairDevice)
            .cloned();
        if let Some(r) = found {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "no pairing request");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(pair_req.shown.client.contains("Second phone"));
    auth.answer_request(
        pair_req.request_id.clone(),
        Decision::Approve,
        pending.number(),
    )
    .await
    .unwrap();
    let paired = second
        .finish_password_pairing(pending, 5)
        .await
        .unwrap()
        .expect("paired once approved");
    assert_eq!(paired.account, "erin");
    // The first phone is told.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while listener.notices.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let notices = listener.notices.lock().unwrap().clone();
    assert!(
        notices
            .iter()
            .any(|n| n.kind == "device_paired" && n.text.contains("Second phone")),
        "{notices:?}"
    );
    handle.cancel();
    assert!(auth.check_pending().await.unwrap().requests.is_empty());
    auth.update_push_token(pairing.id.clone(), "apns-token-456".into())
        .await
        .unwrap();
    assert!(auth.unpair(pairing.id).await.unwrap());
    assert!(auth.pairings().unwrap().is_empty());
    let _ = server.shutdown().await;
}
