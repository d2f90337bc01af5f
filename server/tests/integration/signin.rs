//! Sign-in requests end to end: typed number matching, answers, the state
//! machine, expiry, push-bombing limits and concurrency, over real HTTPS.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use countersign_core::approve::protocol::{Action, Decision, RequestState, MAX_WRONG_NUMBERS};
use countersign_server::SignInMethod;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_gives_the_login_side_a_session() {
    let ts = TestServer::start().await;
    let phone = ts.user_with_device("alice").await;
    let started = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    assert_eq!(started.state, RequestState::Pending);
    let number = started.number.unwrap();
    assert!((10..=99).contains(&number));
    assert_eq!(started.expires_at, Some(ts.now() + 60));
    assert!(started.session_token.is_none());

    let req = phone.the_request(&ts).await;
    assert_eq!(Some(&req.request_id), started.request_id.as_ref());
    assert_eq!(req.account, "alice");
    // The phone is not told the number: the user types it.
    assert_eq!(req.tries_left, MAX_WRONG_NUMBERS);
    assert_eq!(req.context.action, Action::SignIn);
    assert_eq!(req.context.service, "Test NAS");
    assert_eq!(req.context.client_ip, "127.0.0.1");
    // The client in words, not the raw User-Agent.
    assert_eq!(req.context.user_agent, "TestBrowser");
    assert_eq!(req.context.location, "");
    assert_eq!(req.context.expires_at, req.context.created_at + 60);
    assert_eq!(
        countersign_core::approve::protocol::unb64(&req.nonce)
            .unwrap()
            .len(),
        32
    );
    // Every fetch shows the same request.
    assert_eq!(phone.the_request(&ts).await, req);

    assert_eq!(
        ts.signin_status(&started, 0).await.unwrap().state,
        RequestState::Pending
    );
    let answer = phone
        .answer(&ts, &req, Decision::Approve, number)
        .await
        .unwrap();
    assert_eq!(answer.state, RequestState::Approved);
    assert!(phone.pending(&ts, 0).await.unwrap().requests.is_empty());

    let status = ts.signin_status(&started, 0).await.unwrap();
    assert_eq!(status.state, RequestState::Approved);
    let session = status
        .session_token
        .expect("session token on first approved poll");
    assert_eq!(ts.session_account(&session).await.unwrap(), "alice");
    // Given once only.
    let again = ts.signin_status(&started, 0).await.unwrap();
    assert_eq!(
        (again.state, again.session_token),
        (RequestState::Approved, None)
    );
    assert_eq!(
        ts.session_account("not-a-session").await,
        Err(StatusCode::UNAUTHORIZED)
    );
    // The poll token is required.
    let mut wrong = started.clone();
    wrong.poll_token = Some("guess".into());
    assert_err(ts.signin_status(&wrong, 0).await, 404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_denies_and_wrong_numbers_are_refused_then_deny() {
    let ts = TestServer::start().await;
    let phone = ts.user_with_device("alice").await;

    let started = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    let req = phone.the_request(&ts).await;
    assert_eq!(
        phone
            .answer(&ts, &req, Decision::Deny, 0)
            .await
            .unwrap()
            .state,
        RequestState::Denied
    );
    let status = ts.signin_status(&started, 0).await.unwrap();
    assert_eq!(
        (status.state, status.session_token),
        (RequestState::Denied, None)
    );

    // A typed number that is not the one on the screen is refused and
    // counted; the request stays pending until the third.
    let started = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    let number = started.number.unwrap();
    let wrong = if number == 10 { 11 } else { 10 };
    let req = phone.the_request(&ts).await;
    for tries_left in (0..MAX_WRONG_NUMBERS).rev() {
        if tries_left > 0 {
            assert_eq!(phone.the_request(&ts).await.tries_left, tries_left + 1);
        }
        let e = assert_err(
            phone.answer(&ts, &req, Decision::Approve, wrong).await,
            403,
            "wrong_number",
        );
        assert_eq!(e.tries_left, Some(tries_left), "{}", e.message);
        let state = ts.signin_status(&started, 0).await.unwrap().state;
        let expected = if tries_left == 0 {
            RequestState::Denied
        } else {
            RequestState::Pending
        };
        assert_eq!(state, expected);
    }
    assert!(phone.pending(&ts, 0).await.unwrap().requests.is_empty());
    // Terminal: the right number afterwards changes nothing.
    assert_err(
        phone
            .answer(&ts, &req, Decision::Approve, started.number.unwrap())
            .await,
        409,
        "already_answered",
    );
    assert!(ts
        .server
        .events()
        .await
        .unwrap()
        .iter()
        .any(|e| e.kind == "wrong_number"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_pauses_the_account_and_is_recorded() {
    let ts = TestServer::start().await;
    let phone = ts.user_with_device("alice").await;
    let started = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    let req = phone.the_request(&ts).await;
    assert_eq!(
        phone
            .answer(&ts, &req, Decision::Report, 0)
            .await
            .unwrap()
            .state,
        RequestState::Reported
    );
    assert_eq!(
        ts.signin_status(&started, 0).await.unwrap().state,
        RequestState::Reported
    );

    let events = ts.server.events().await.unwrap();
    let report = events
        .iter()
        .find(|e| e.kind == "reported")
        .expect("report event");
    assert_eq!(report.account.as_deref(), Some("alice"));
    assert_eq!(report.request_id.as_ref(), started.request_id.as_ref());
    assert_eq!(report.device_id.as_deref(), Some(phone.id.as_str()));
    let (_, admin_events) = ts
        .admin(reqwest::Method::GET, "/v1/admin/events", None)
        .await;
    assert!(admin_events["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "reported"));

    assert_err(
        ts.start_signin("alice", Some(PASSWORD)).await,
        429,
        "paused",
    );
    ts.clock.advance(899);
    assert_err(
        ts.start_signin("alice", Some(PASSWORD)).await,
        429,
        "paused",
    );
    ts.clock.advance(2);
    ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_expire_on_the_injected_clock() {
    let ts = TestServer::start_with(|c| c.request_ttl_s = 30).await;
    let phone = ts.user_with_device("alice").await;
    let started = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    assert_eq!(started.expires_at, Some(ts.now() + 30));
    let req = phone.the_request(&ts).await;
    ts.clock.advance(30);
    assert_eq!(
        ts.signin_status(&started, 0).await.unwrap().state,
        RequestState::Expired
    );
    assert!(phone.pending(&ts, 0).await.unwrap().requests.is_empty());
    assert_err(
        phone
            .answer(&ts, &req, Decision::Approve, started.number.unwrap())
            .await,
        410,
        "expired",
    );
    // An expired request no longer blocks a new one.
    ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_wakes_the_device_and_the_login_side() {
    let ts = std::sync::Arc::new(TestServer::start().await);
    let phone = std::sync::Arc::new(ts.user_with_device("alice").await);

    let waiting = {
        let (ts, phone) = (ts.clone(), phone.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            let list = phone.pending(&ts, 20).await.unwrap();
            (list, t.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    let (list, took) = waiting.await.unwrap();
    assert_eq!(list.requests.len(), 1);
    assert_eq!(
        list.requests[0].request_id,
        started.request_id.clone().unwrap()
    );
    assert!(
        took < Duration::from_secs(10),
        "long-poll was not woken: {took:?}"
    );

    let login = {
        let (ts, started) = (ts.clone(), started.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            (ts.signin_status(&started, 20).await.unwrap(), t.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    phone
        .answer(
            &ts,
            &list.requests[0],
            Decision::Approve,
            started.number.unwrap(),
        )
        .await
        .unwrap();
    let (status, took) = login.await.unwrap();
    assert_eq!(status.state, RequestState::Approved);
    assert!(status.session_token.is_some());
    assert!(
        took < Duration::from_secs(10),
        "login poll was not woken: {took:?}"
    );

    // With nothing to report a long-poll times out with an empty list.
    let t = Instant::now();
    assert!(phone.pending(&ts, 1).await.unwrap().requests.is_empty());
    assert!(t.elapsed() >= Duration::from_millis(900));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_bound_to_device_account_and_context() {
    let ts = TestServer::start().await;
    let phone = ts.user_with_device("alice").await;
    let bobs_phone = ts.user_with_device("bob").await;
    let started = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    let number = started.number.unwrap();
    let req = phone.the_request(&ts).await;

    // Bob's phone, correctly signed by its own key, is for another account.
    let mut body = bobs_phone.answer_body(&ts, &req, &req.context, Decision::Approve, number);
    assert_err(
        Device::send_answer(&ts, &req.request_id, &body).await,
        403,
        "wrong_account",
    );
    // Alice's device id, signed by another key.
    let mut impostor = Device::new();
    impostor.id = phone.id.clone();
    body = impostor.answer_body(&ts, &req, &req.context, Decision::Approve, number);
    assert_err(
        Device::send_answer(&ts, &req.request_id, &body).await,
        403,
        "bad_signature",
    );
    // The phone was shown a tampered context (e.g. a proxy rewrote the IP).
    let mut shown = req.context.clone();
    shown.client_ip = "203.0.113.7".into();
    body = phone.answer_body(&ts, &req, &shown, Decision::Approve, number);
    assert_err(
        Device::send_answer(&ts, &req.request_id, &body).await,
        403,
        "bad_signature",
    );
    // A signature for "deny" replayed as "approve".
    let mut deny = phone.answer_body(&ts, &req, &req.context, Decision::Deny, number);
    deny.decision = Decision::Approve;
    assert_err(
        Device::send_answer(&ts, &req.request_id, &deny).await,
        403,
        "bad_signature",
    );
    // A signature for another number.
    let mut other = phone.answer_body(&ts, &req, &req.context, Decision::Approve, number);
    other.picked_number = number.wrapping_add(1);
    assert_err(
        Device::send_answer(&ts, &req.request_id, &other).await,
        403,
        "bad_signature",
    );
    // Signed too long ago.
    let old = phone.answer_body(&ts, &req, &req.context, Decision::Approve, number);
    ts.clock.advance(301);
    assert_err(
        Device::send_answer(&ts, &req.request_id, &old).await,
        401,
        "clock_skew",
    );
    ts.clock.advance(-301);
    // Unknown request and device.
    assert_err(
        Device::send_answer(&ts, "0123456789abcdef0123456789abcdef", &old).await,
        404,
        "not_found",
    );
    let mut unknown = old.clone();
    unknown.device_id = "fedcba9876543210fedcba9876543210".into();
    assert_err(
        Device::send_answer(&ts, &req.request_id, &unknown).await,
        401,
        "unauthorized",
    );
    // None of that changed the request; the real answer works once.
    assert_eq!(
        ts.signin_status(&started, 0).await.unwrap().state,
        RequestState::Pending
    );
    let good = phone.answer_body(&ts, &req, &req.context, Decision::Approve, number);
    assert_eq!(
        Device::send_answer(&ts, &req.request_id, &good)
            .await
            .unwrap()
            .state,
        RequestState::Approved
    );
    assert_err(
        Device::send_answer(&ts, &req.request_id, &good).await,
        409,
        "already_answered",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_parallel_identical_approvals_succeed_once() {
    let ts = std::sync::Arc::new(TestServer::start().await);
    let phone = ts.user_with_device("alice").await;
    let started = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    let req = phone.the_request(&ts).await;
    let body = std::sync::Arc::new(phone.answer_body(
        &ts,
        &req,
        &req.context,
        Decision::Approve,
        started.number.unwrap(),
    ));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (ts, body, id) = (ts.clone(), body.clone(), req.request_id.clone());
            tokio::spawn(async move {
                let resp = ts
                    .http
                    .post(ts.url(&format!("/v1/requests/{id}/answer")))
                    .json(&*body)
                    .send()
                    .await
                    .unwrap();
                let (status, v) = json_of(resp).await;
                (status, v["error"].as_str().map(String::from))
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            (StatusCode::OK, _) => ok += 1,
            (StatusCode::CONFLICT, Some(code)) => assert_eq!(code, "already_answered"),
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(ok, 1);
    let status = ts.signin_status(&started, 0).await.unwrap();
    assert!(status.session_token.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_bombing_limits() {
    let ts = TestServer::start_with(|c| {
        c.limits.requests_per_window = 3;
        c.limits.request_window_s = 600;
    })
    .await;
    let phone = ts.user_with_device("alice").await;
    // Several sign-ins may wait at once (two browsers); the phone sees each.
    let first = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    let second = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    let list = phone.pending(&ts, 0).await.unwrap();
    assert_eq!(list.requests.len(), 2);
    assert_ne!(first.number.is_some(), second.number.is_none());
    for r in &list.requests {
        phone.answer(&ts, r, Decision::Deny, 0).await.unwrap();
    }
    ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    // Fourth in the window, from the same (unknown) side.
    let resp = ts
        .http
        .post(ts.url("/v1/signin/start"))
        .json(&serde_json::json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let retry_after: i64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry_after));
    let e = assert_err(typed::<serde_json::Value>(resp).await, 429, "rate_limited");
    assert!(e.message.contains("minutes"), "{}", e.message);
    ts.clock.advance(601);
    ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_methods() {
    let ts = TestServer::start().await;
    // Password only: no phone, approved at once.
    ts.user("pat", SignInMethod::Password).await;
    let s = ts.start_signin("pat", Some(PASSWORD)).await.unwrap();
    assert_eq!(
        (s.state, s.request_id.as_ref()),
        (RequestState::Approved, None)
    );
    assert_eq!(
        ts.session_account(&s.session_token.unwrap()).await.unwrap(),
        "pat"
    );
    assert_err(
        ts.start_signin("pat", Some("wrong password")).await,
        401,
        "invalid_credentials",
    );
    assert_err(
        ts.start_signin("pat", None).await,
        401,
        "invalid_credentials",
    );

    // Password then approve: the password is required.
    let phone = ts.user_with_device("alice").await;
    let wrong = assert_err(
        ts.start_signin("alice", Some("wrong password")).await,
        401,
        "invalid_credentials",
    );
    let unknown = assert_err(
        ts.start_signin("nobody", Some(PASSWORD)).await,
        401,
        "invalid_credentials",
    );
    assert_eq!(wrong.message, unknown.message);
    assert_err(
        ts.start_signin("alice", None).await,
        401,
        "invalid_credentials",
    );
    assert!(phone.pending(&ts, 0).await.unwrap().requests.is_empty());

    // Approve only (passwordless).
    ts.user("ana", SignInMethod::Approve).await;
    assert_err(ts.start_signin("ana", None).await, 409, "no_device");
    let anas_phone = ts.paired_device("ana").await;
    let s = ts.start_signin("ana", None).await.unwrap();
    assert_eq!(s.state, RequestState::Pending);
    let req = anas_phone.the_request(&ts).await;
    anas_phone
        .answer(&ts, &req, Decision::Approve, s.number.unwrap())
        .await
        .unwrap();
    let token = ts
        .signin_status(&s, 0)
        .await
        .unwrap()
        .session_token
        .unwrap();
    assert_eq!(ts.session_account(&token).await.unwrap(), "ana");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_long_polls() {
    let ts = TestServer::start().await;
    let phone = ts.user_with_device("alice").await;
    let http = ts.http.clone();
    let url = ts.url("/v1/device/requests?wait=25");
    let headers = phone.auth_headers(&ts, "GET", "/v1/device/requests?wait=25", b"");
    let poll = tokio::spawn(async move {
        let mut req = http.get(url);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let t = Instant::now();
        let r = req.send().await.map(|r| r.status());
        (r, t.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    ts.server.shutdown().await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(6));
    let (r, took) = poll.await.unwrap();
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(r.unwrap(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_requests_and_events_are_pruned_recent_ones_kept() {
    let ts = TestServer::start().await;
    let phone = ts.user_with_device("alice").await;
    let old = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    let req = phone.the_request(&ts).await;
    phone.answer(&ts, &req, Decision::Deny, 0).await.unwrap();
    let day0_events = ts.server.events().await.unwrap().len();
    assert!(day0_events >= 2, "the user and the pairing are logged");
    // Nothing is old yet.
    let none = ts.server.prune_now().await.unwrap();
    assert_eq!((none.requests, none.events), (0, 0));

    // 31 days on: the first request (expired 31 days ago) goes; a new one
    // is untouched and still works.
    ts.clock.advance(31 * 86_400);
    let recent = ts.start_signin("alice", Some(PASSWORD)).await.unwrap();
    let pruned = ts.server.prune_now().await.unwrap();
    assert_eq!((pruned.requests, pruned.events), (1, 0));
    assert!(ts.signin_status(&old, 0).await.is_err());
    let req = phone.the_request(&ts).await;
    assert_eq!(Some(&req.request_id), recent.request_id.as_ref());
    let number = recent.number.unwrap();
    let answer = phone
        .answer(&ts, &req, Decision::Approve, number)
        .await
        .unwrap();
    assert_eq!(answer.state, RequestState::Approved);
    ts.user("bob", SignInMethod::Password).await; // an event on day 31
    let day31_events = ts.server.events().await.unwrap().len() - day0_events;
    assert_eq!(day31_events, 1);

    // A year after the start: day 0's events go, day 31's stay (335 days
    // old); the day-31 request expired more than 30 days ago and goes too.
    ts.clock.advance(335 * 86_400);
    let pruned = ts.server.prune_now().await.unwrap();
    assert_eq!(pruned.requests, 1);
    assert_eq!(pruned.events, day0_events as u64);
    assert_eq!(ts.server.events().await.unwrap().len(), day31_events);
    // Pruning again finds nothing more.
    let again = ts.server.prune_now().await.unwrap();
    assert_eq!((again.requests, again.events), (0, 0));
}
