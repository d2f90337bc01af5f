//! The attacks of the security review, each as a test that sends it for
//! real: guesses fired concurrently (every limit must hold however many
//! arrive at once), on SQLite and — with `COUNTERSIGN_TEST_PG_URL` — on
//! PostgreSQL (the two-node variants are in `two_nodes.rs`).
//!
//! A guess refused before it is checked gets 429 (or 403 once the address
//! is blocked); a checked wrong guess gets 401. A limit holds when at most
//! `limit` wrong guesses were checked. (A right guess gives its reserved
//! slot back — a successful sign-in is not a failure — so the one right
//! guess, if it came among the first `limit`, succeeds.)

use crate::common;

use std::sync::Arc;

use common::web::{browser, password_signin, post, totp_at};
use common::{TestServer, PASSWORD};
use countersign_core::approve::protocol::{Action, Decision, PairState};
use countersign_server::SignInMethod;
use reqwest::StatusCode;

/// Fires `n` requests at once (each made by `make(i)`), returns the statuses.
async fn burst<F, Fut>(n: usize, make: F) -> Vec<StatusCode>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = StatusCode> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let fut = make(i);
        let b = barrier.clone();
        tasks.push(tokio::spawn(async move {
            b.wait().await;
            fut.await
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn count(statuses: &[StatusCode], wanted: &[StatusCode]) -> usize {
    statuses.iter().filter(|s| wanted.contains(s)).count()
}

/// 60 wrong passwords and the right one, all at once, against one account
/// whose limit is 10: at most 10 are checked, so the right one gets through
/// only if it happened to be among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_password_guesses_evaluate_at_most_the_limit() {
    let ts = TestServer::start_with(|c| {
        c.ip_block.max_failures = 10_000;
        c.limits.password_failures_per_ip = 10_000;
    })
    .await;
    ts.user("pat", SignInMethod::Password).await;
    let url = ts.url("/v1/signin/start");
    let http = ts.http.clone();
    let statuses = burst(61, |i| {
        let (http, url) = (http.clone(), url.clone());
        let password = if i == 60 {
            PASSWORD.to_string()
        } else {
            format!("wrong-{i}")
        };
        async move {
            http.post(url)
                .json(&serde_json::json!({"username": "pat", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        }
    })
    .await;
    let wrong = count(&statuses, &[StatusCode::UNAUTHORIZED]);
    let right = count(&statuses, &[StatusCode::OK]);
    let refused = count(&statuses, &[StatusCode::TOO_MANY_REQUESTS]);
    assert!(wrong <= 10, "{wrong} wrong guesses checked: {statuses:?}");
    assert_eq!(wrong + right + refused, 61, "{statuses:?}");
}

/// Wrong passwords for many accounts from one address at once: the
/// auto-block (10 failures) holds — no more than 10 are checked — and the
/// address ends up blocked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_from_one_address_stop_at_the_block() {
    let ts = TestServer::start().await;
    for i in 0..40 {
        ts.user(&format!("u{i}"), SignInMethod::Password).await;
    }
    let url = ts.url("/v1/signin/start");
    let http = ts.http.clone();
    let statuses = burst(40, |i| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            http.post(url)
                .json(&serde_json::json!({"username": format!("u{i}"), "password": "nope-nope"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    })
    .await;
    let evaluated = count(&statuses, &[StatusCode::UNAUTHORIZED, StatusCode::OK]);
    assert!(
        evaluated <= 10,
        "{evaluated} guesses evaluated: {statuses:?}"
    );
    // Blocked now, even with the right password of an existing account.
    let r = ts.start_signin("u0", Some(PASSWORD)).await;
    common::assert_err(r, 403, "ip_blocked");
}

/// Signs `user` in with the password, enrolls an authenticator app and
/// makes it the second step; returns the Base32 seed.
async fn otp_user(ts: &TestServer, user: &str) -> String {
    ts.user(user, SignInMethod::Password).await;
    let c = browser(ts);
    let (path, _, _) = password_signin(&c, ts, user).await;
    assert_eq!(path, "/account");
    let secret = common::web::enroll_otp_quietly(&c, ts).await;
    ts.clock.advance(30);
    let (path, _, _) = post(&c, ts, "/account/method", &[("method", "otp")]).await;
    assert_eq!(path, "/signin?m=two_step_changed");
    secret
}

/// A browser past the password of `user`, at the second step.
async fn at_second_step(ts: &TestServer, user: &str) -> reqwest::Client {
    let c = browser(ts);
    let (path, status, _) = password_signin(&c, ts, user).await;
    assert!(path.starts_with("/signin/verify"), "{path} {status}");
    c
}

/// 30 wrong TOTP codes at once against a limit of 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_totp_guesses_evaluate_at_most_the_limit() {
    let ts = TestServer::start_with(|c| c.ip_block.max_failures = 10_000).await;
    let secret = otp_user(&ts, "tess").await;
    ts.clock.advance(90);
    let c = at_second_step(&ts, "tess").await;
    let right = totp_at(&secret, ts.now());
    let url = ts.url("/signin/otp");
    let statuses = burst(30, |i| {
        let (c, url) = (c.clone(), url.clone());
        // Wrong codes that are surely not in the ±1 step window.
        let code = if i == 29 {
            right.clone()
        } else {
            let n: u32 = right.parse::<u32>().unwrap();
            format!("{:06}", (n + 1 + i as u32 * 7919) % 1_000_000)
        };
        async move {
            let r = c.post(url).form(&[("code", code)]).send().await.unwrap();
            // A right code ends at /account; once it has, the flow is spent
            // and later guesses end at /signin?m=expired (not checked).
            match (r.status(), r.url().path()) {
                (StatusCode::OK, "/account") => StatusCode::CREATED,
                (StatusCode::OK, _) => StatusCode::GONE,
                (s, _) => s,
            }
        }
    })
    .await;
    let wrong = count(&statuses, &[StatusCode::UNAUTHORIZED]);
    assert!(wrong <= 5, "{wrong} wrong codes checked: {statuses:?}");
    assert!(
        count(&statuses, &[StatusCode::CREATED]) <= 1,
        "{statuses:?}"
    );
}

/// 30 wrong emergency codes at once against a limit of 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_email_code_guesses_evaluate_at_most_the_limit() {
    let ts = TestServer::start_with(|c| {
        c.ip_block.max_failures = 10_000;
        c.smtp = Some(common::unused_smtp());
    })
    .await;
    let _ = otp_user(&ts, "emil").await;
    ts.set_verified_email("emil", "emil@example.com").await;
    let c = at_second_step(&ts, "emil").await;
    let url = ts.url("/signin/email");
    let statuses = burst(30, |i| {
        let (c, url) = (c.clone(), url.clone());
        async move {
            let r = c
                .post(url)
                .form(&[("code", format!("{:08}", 10_000_000 + i))])
                .send()
                .await
                .unwrap();
            match (r.status(), r.url().path()) {
                (StatusCode::OK, "/account") => StatusCode::OK,
                (StatusCode::OK, _) => StatusCode::GONE,
                (s, _) => s,
            }
        }
    })
    .await;
    let wrong = count(&statuses, &[StatusCode::UNAUTHORIZED]);
    assert!(wrong <= 5, "{wrong} wrong codes checked: {statuses:?}");
    assert_eq!(count(&statuses, &[StatusCode::OK]), 0, "{statuses:?}");
}

/// The critical finding: with only alice's password an attacker paired his
/// own phone (`POST /v1/pair` with username + password). Now, when alice
/// has a phone, the new one waits until someone types its number on hers;
/// alice's phone is told either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_alone_cannot_pair_a_phone_to_an_account_that_has_one() {
    let sink = common::web::Sink::start();
    let smtp = sink.as_ref().map(common::web::Sink::config);
    let ts = TestServer::start_with(move |c| c.smtp = smtp).await;
    let alices = ts.user_with_device("alice").await;
    if sink.is_some() {
        ts.set_verified_email("alice", "alice@example.com").await;
    }
    let attacker = common::Device::new();
    let (status, started) = attacker
        .start_password_pairing(&ts, "alice", PASSWORD, None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(started.state, PairState::Pending);
    assert!(started.device_id.is_none());
    let number = started.number.unwrap();
    // Not paired: nothing the attacker's key signs is accepted.
    let (status, _) = common::Device::poll_pairing(&ts, &started, 0)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::ACCEPTED);
    // Alice's phone shows a pairing request, with the new device's name.
    let req = alices.the_request(&ts).await;
    assert_eq!(req.context.action, Action::PairDevice);
    assert!(
        req.context.user_agent.contains("Test phone"),
        "{:?}",
        req.context
    );
    // Alice did not ask for it: she denies (or it expires).
    alices.answer(&ts, &req, Decision::Deny, 0).await.unwrap();
    common::assert_err(
        common::Device::poll_pairing(&ts, &started, 0).await,
        403,
        "pair_denied",
    );
    let devices = ts.server_devices("alice").await;
    assert_eq!(devices, 1, "the attacker's phone was never added");

    // A blind guess of the number (three tries) never approves either.
    let (_, started) = attacker
        .start_password_pairing(&ts, "alice", PASSWORD, None)
        .await
        .unwrap();
    let req = alices.the_request(&ts).await;
    let n = started.number.unwrap();
    for guess in (10u8..=99).filter(|g| *g != n).take(3) {
        let r = alices.answer(&ts, &req, Decision::Approve, guess).await;
        common::assert_err(r, 403, "wrong_number");
    }
    common::assert_err(
        common::Device::poll_pairing(&ts, &started, 0).await,
        403,
        "pair_denied",
    );

    // When alice herself pairs a new phone by password, she types the
    // number it shows on her old phone, and the new one is added.
    ts.clock.advance(601);
    let new_phone = common::Device::new();
    let (_, started) = new_phone
        .start_password_pairing(&ts, "alice", PASSWORD, None)
        .await
        .unwrap();
    let req = alices.the_request(&ts).await;
    alices
        .answer(&ts, &req, Decision::Approve, started.number.unwrap())
        .await
        .unwrap();
    // An approved pairing is no sign-in: its poll token gets no session
    // from the sign-in status endpoint (and does not use the approval up).
    let as_signin = ts
        .http
        .get(ts.url(&format!(
            "/v1/signin/{}",
            started.request_id.as_ref().unwrap()
        )))
        .query(&[
            ("poll_token", started.poll_token.clone().unwrap()),
            ("wait", "0".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(as_signin.status(), StatusCode::NOT_FOUND);
    let (status, paired) = common::Device::poll_pairing(&ts, &started, 0)
        .await
        .unwrap();
    assert_eq!((status, paired.state), (StatusCode::OK, PairState::Paired));
    let id = paired.device_id.clone().unwrap();
    // Once only: polling again answers with the same device, adds nothing.
    let (_, again) = common::Device::poll_pairing(&ts, &started, 0)
        .await
        .unwrap();
    assert_eq!(again.device_id.as_deref(), Some(id.as_str()));
    assert_eq!(ts.server_devices("alice").await, 2);
    let _ = number;

    // The old phone was told (a notice, not a request); the new one is not
    // told about itself.
    let list = alices.pending(&ts, 0).await.unwrap();
    assert!(list.requests.is_empty());
    let notice = list
        .notices
        .iter()
        .find(|n| n.kind == "device_paired")
        .expect("a notice for the paired phone");
    assert!(notice.text.contains("Test phone"), "{}", notice.text);
    // A client that does not ask for notices is not answered with them (it
    // would never get a long-poll otherwise).
    let old_client = alices.pending_without_notices(&ts, 0).await.unwrap();
    assert!(old_client.notices.is_empty(), "{old_client:?}");
    if let Some(sink) = &sink {
        let mail = common::web::body_of(&sink.mail(1));
        assert!(mail.contains("alice@example.com"), "{mail}");
        assert!(mail.contains("was paired with your account"), "{mail}");
    }
}

/// An account with an authenticator app (and no phone): password pairing
/// needs its current code, checked like a sign-in code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_pairing_of_an_account_with_an_authenticator_needs_its_code() {
    let ts = TestServer::start().await;
    let secret = otp_user(&ts, "tina").await;
    ts.clock.advance(60);
    let phone = common::Device::new();
    let e = common::assert_err(
        phone
            .start_password_pairing(&ts, "tina", PASSWORD, None)
            .await,
        401,
        "second_step_required",
    );
    assert_eq!(e.second_step.as_deref(), Some("otp"));
    common::assert_err(
        phone
            .start_password_pairing(&ts, "tina", PASSWORD, Some("000000"))
            .await,
        401,
        "wrong_code",
    );
    let code = totp_at(&secret, ts.now());
    let (status, paired) = phone
        .start_password_pairing(&ts, "tina", PASSWORD, Some(&code))
        .await
        .unwrap();
    assert_eq!((status, paired.state), (StatusCode::OK, PairState::Paired));
    // The same code again (replay) is refused.
    common::assert_err(
        common::Device::new()
            .start_password_pairing(&ts, "tina", PASSWORD, Some(&code))
            .await,
        401,
        "wrong_code",
    );
    // Now tina has a phone too: pairing asks for approval (or a fresh code).
    ts.clock.advance(30);
    let (status, _) = common::Device::new()
        .start_password_pairing(&ts, "tina", PASSWORD, None)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::ACCEPTED);
}

/// First enrollment: an account with no second step pairs with the password
/// alone; the pairing is recorded as such and shown on the account page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_enrollment_pairs_with_the_password_and_is_recorded() {
    let ts = TestServer::start().await;
    ts.user("fay", SignInMethod::PasswordApprove).await;
    let phone = common::Device::new()
        .pair_with_password(&ts, "fay", PASSWORD)
        .await
        .unwrap();
    let events = ts.server.events().await.unwrap();
    let paired = events.iter().find(|e| e.kind == "device_paired").unwrap();
    assert!(paired.detail.contains("via=password"), "{}", paired.detail);
    assert_eq!(paired.device_id.as_deref(), Some(phone.id.as_str()));
    // Fay signs in (approving on that phone) and sees it marked.
    let c = browser(&ts);
    let (_, _, page) = password_signin(&c, &ts, "fay").await;
    let number: u8 = common::web::text_of(&page, "number")
        .unwrap()
        .parse()
        .unwrap();
    let req = phone.the_request(&ts).await;
    phone
        .answer(&ts, &req, Decision::Approve, number)
        .await
        .unwrap();
    let (path, _, page) = post(&c, &ts, "/signin/finish", &[]).await;
    assert_eq!(path, "/account");
    assert!(page.contains("paired with the password alone"), "{page}");
}

/// `--pairing invitation-only`: no password pairing at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_only_refuses_password_pairing() {
    let ts =
        TestServer::start_with(|c| c.pairing = countersign_server::PairingPolicy::InvitationOnly)
            .await;
    ts.user("ivy", SignInMethod::PasswordApprove).await;
    common::assert_err(
        common::Device::new()
            .start_password_pairing(&ts, "ivy", PASSWORD, None)
            .await,
        403,
        "invitation_only",
    );
    // Invitations still work.
    ts.paired_device("ivy").await;
}

/// A passwordless account used to fall to its backup email alone
/// (username → "Email me a code" → session). Email is never offered or
/// accepted without the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passwordless_account_never_signs_in_by_email_alone() {
    let ts = TestServer::start_with(|c| c.smtp = Some(common::unused_smtp())).await;
    ts.user("pam", SignInMethod::Approve).await;
    ts.paired_device("pam").await;
    ts.set_verified_email("pam", "pam@example.com").await;
    let c = browser(&ts);
    let (path, _, page) = post(&c, &ts, "/signin", &[("username", "pam")]).await;
    assert!(path.starts_with("/signin/verify"), "{path}");
    assert!(!page.contains("method-email"), "email offered: {page}");
    let (path, _, page) = common::web::get(&c, &ts, "/signin/verify?method=email").await;
    assert!(path.starts_with("/signin/verify"));
    assert!(!page.contains("send-code"), "{page}");
    // Posting codes directly: not even checked.
    let (path, _, _) = post(&c, &ts, "/signin/email/send", &[]).await;
    assert!(path.starts_with("/signin/verify"), "{path}");
    let (path, _, _) = post(&c, &ts, "/signin/email", &[("code", "12345678")]).await;
    assert!(path.starts_with("/signin/verify"), "{path}");
    assert_eq!(common::web::get(&c, &ts, "/account").await.0, "/signin");
}

/// Knowing only a username, strangers used to lock the owner out: ten wrong
/// passwords from anywhere refused the right one for 15 minutes, and the
/// Approve request limits filled up. A browser that signed in before (the
/// device cookie) keeps its own budgets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_cannot_lock_out_the_owners_browser() {
    let ts = TestServer::start_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let phone = ts.user_with_device("olive").await;
    let owner = browser(&ts);
    let sign_in = |c: reqwest::Client, forwarded: &'static str| {
        let ts = &ts;
        async move {
            c.post(ts.url("/signin/password"))
                .header("x-forwarded-for", forwarded)
                .form(&[("username", "olive"), ("password", PASSWORD)])
                .send()
                .await
                .unwrap()
        }
    };
    // The owner signs in once from her browser (it becomes known).
    let page = sign_in(owner.clone(), "198.51.100.1")
        .await
        .text()
        .await
        .unwrap();
    let number: u8 = common::web::text_of(&page, "number")
        .unwrap()
        .parse()
        .unwrap();
    let req = phone.the_request(&ts).await;
    phone
        .answer(&ts, &req, Decision::Approve, number)
        .await
        .unwrap();
    assert_eq!(post(&owner, &ts, "/signin/finish", &[]).await.0, "/account");
    post(&owner, &ts, "/signout", &[]).await;

    // Strangers from many addresses: wrong passwords, then Approve floods.
    for i in 0..12 {
        let stranger = browser(&ts);
        let ip: &'static str = Box::leak(format!("203.0.113.{i}").into_boxed_str());
        let _ = stranger
            .post(ts.url("/signin/password"))
            .header("x-forwarded-for", ip)
            .form(&[("username", "olive"), ("password", "not-her-password")])
            .send()
            .await
            .unwrap();
    }
    // Unknown browsers are locked out now — even with the right password.
    let r = sign_in(browser(&ts), "192.0.2.77").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // The owner's browser is not.
    let r = sign_in(owner.clone(), "198.51.100.1").await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"number\""), "{page}");
    // Flooding Approve requests from the owner's own flow replaces, never
    // piles up: each reload of the page reuses or replaces its one request.
    for _ in 0..3 {
        common::web::get(&owner, &ts, "/signin/verify").await;
    }
    assert_eq!(phone.pending(&ts, 0).await.unwrap().requests.len(), 1);
}

/// Typed number matching on the web: the page shows the number, the phone
/// must send exactly it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_request_from_a_flow_replaces_its_pending_one() {
    let ts = TestServer::start().await;
    let phone = ts.user_with_device("rex").await;
    let c = browser(&ts);
    password_signin(&c, &ts, "rex").await;
    let first = phone.the_request(&ts).await;
    // The first expires; asking again from the same flow replaces it.
    ts.clock.advance(61);
    let (_, _, page) = common::web::get(&c, &ts, "/signin/verify?method=approve").await;
    assert!(page.contains("id=\"number\""));
    let list = phone.pending(&ts, 0).await.unwrap();
    assert_eq!(list.requests.len(), 1);
    assert_ne!(list.requests[0].request_id, first.request_id);
}

async fn status_of(c: &reqwest::Client, ts: &TestServer, path: &str) -> (String, StatusCode) {
    let (p, s, _) = common::web::get(c, ts, path).await;
    (p, s)
}

/// Pairing a phone, changing the backup email or the sign-in method and
/// removing phones need a fresh confirmation (password and second step in
/// the last 5 minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_changes_need_recent_re_authentication() {
    let ts = TestServer::start_with(|c| c.smtp = Some(common::unused_smtp())).await;
    ts.user("sue", SignInMethod::Password).await;
    // Sue turns on an authenticator app (the password was her whole sign-in
    // a moment ago, so it counts as recent).
    let c = browser(&ts);
    password_signin(&c, &ts, "sue").await;
    let secret = common::web::enroll_otp_quietly(&c, &ts).await;
    ts.clock.advance(30);
    let (path, _, _) = post(&c, &ts, "/account/method", &[("method", "otp")]).await;
    assert_eq!(path, "/signin?m=two_step_changed");
    common::web::otp_signin(&c, &ts, "sue", &secret).await;
    // Fresh: pairing works.
    let (_, status, page) = post(&c, &ts, "/account/pair", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"pair-uri\""));
    // Six minutes later (a stolen session, a walk-away laptop): every
    // security change asks to confirm first, and changes nothing.
    ts.clock.advance(6 * 60);
    for (path, form) in [
        ("/account/pair", vec![]),
        ("/account/email", vec![("email", "eve@example.com")]),
        ("/account/method", vec![("method", "off")]),
        ("/account/otp/remove", vec![]),
        ("/account/otp/start", vec![]),
    ] {
        let (to, _, _) = post(&c, &ts, path, &form).await;
        assert!(to.starts_with("/account/reauth"), "{path} went to {to}");
    }
    let (_, _, page) = common::web::get(&c, &ts, "/account").await;
    assert!(page.contains("Password, then a code from my authenticator app"));
    assert!(!page.contains("eve@example.com"));
    // Confirming: the password, then the second step.
    let (path, _, _) = post(
        &c,
        &ts,
        "/account/reauth",
        &[("password", "wrong"), ("next", "/account")],
    )
    .await;
    assert!(path.starts_with("/account/reauth"), "{path}");
    let (path, _, _) = post(
        &c,
        &ts,
        "/account/reauth",
        &[("password", PASSWORD), ("next", "/account")],
    )
    .await;
    assert!(path.starts_with("/signin/verify"), "{path}");
    // Emailed codes never confirm.
    let (_, _, page) = common::web::get(&c, &ts, "/signin/verify").await;
    assert!(!page.contains("method-email"));
    ts.clock.advance(30);
    let code = totp_at(&secret, ts.now());
    let (path, _, _) = post(&c, &ts, "/signin/otp", &[("code", &code)]).await;
    assert_eq!(path, "/account?m=verified");
    let (_, status, page) = post(&c, &ts, "/account/pair", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"pair-uri\""));
    // Still the same session (not a new sign-in).
    assert_eq!(status_of(&c, &ts, "/account").await.0, "/account");
}

/// An admin without 2-step verification gets only a setup session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_flag_needs_two_step_verification() {
    let ts = TestServer::start().await;
    let (status, _) = ts
        .admin(
            reqwest::Method::POST,
            "/v1/admin/users",
            Some(serde_json::json!({"username": "ada", "password": PASSWORD, "method": "password", "admin": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let c = browser(&ts);
    let (path, _, _) = password_signin(&c, &ts, "ada").await;
    assert_eq!(path, "/setup");
    assert_eq!(status_of(&c, &ts, "/admin").await.0, "/setup");
    common::assert_err(
        ts.start_signin("ada", Some(PASSWORD)).await,
        403,
        "setup_required",
    );
    let (admin, _) = common::web::signed_in_with_otp(&ts, "ada").await;
    assert_eq!(
        status_of(&admin, &ts, "/admin").await,
        ("/admin".into(), StatusCode::OK)
    );
}

/// Web hardening: HSTS, `__Host-` cookies, idle sessions end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_host_only_and_idle_sessions_end() {
    let ts = TestServer::start().await;
    ts.user("ida", SignInMethod::Password).await;
    let c = browser(&ts);
    let r = c
        .post(ts.url("/signin/password"))
        .form(&[("username", "ida"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    let no_redirects = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(ts.server.cert_pem().as_bytes()).unwrap(),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .post(ts.url("/signin/password"))
        .form(&[("username", "ida"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("__Host-cs_session=")),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("__Host-cs_device=")),
        "{cookies:?}"
    );
    for c in &cookies {
        assert!(
            c.contains("; Secure") && c.contains("Path=/") && !c.contains("Domain"),
            "{c}"
        );
    }
    // Idle for 31 minutes: signed out, although the 12 h lifetime is not over.
    assert_eq!(status_of(&c, &ts, "/account").await.0, "/account");
    ts.clock.advance(29 * 60);
    assert_eq!(status_of(&c, &ts, "/account").await.0, "/account");
    ts.clock.advance(29 * 60);
    assert_eq!(
        status_of(&c, &ts, "/account").await.0,
        "/account",
        "activity keeps it"
    );
    ts.clock.advance(31 * 60);
    assert_eq!(status_of(&c, &ts, "/account").await.0, "/signin");
}

/// "Alice" and "ALICE" are one account; a Cyrillic look-alike is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usernames_are_normalised_and_look_alikes_refused() {
    let ts = TestServer::start().await;
    ts.user("Alice", SignInMethod::Password).await;
    let r = ts.start_signin("ALICE", Some(PASSWORD)).await.unwrap();
    assert!(r.session_token.is_some());
    let r = ts.start_signin("ａｌｉｃｅ", Some(PASSWORD)).await.unwrap();
    assert!(r.session_token.is_some(), "full-width letters fold too");
    assert!(ts
        .server
        .create_user("alice", Some(PASSWORD), SignInMethod::Password)
        .await
        .is_err());
    // "аlice" with a Cyrillic а.
    let spoof = "\u{430}lice";
    assert!(ts
        .server
        .create_user(spoof, Some(PASSWORD), SignInMethod::Password)
        .await
        .is_err());
    assert!(ts
        .server
        .create_user("user\u{202e}nimda", Some(PASSWORD), SignInMethod::Password)
        .await
        .is_err());
    // Japanese mixes Han and kana: one script family, allowed.
    ts.server
        .create_user("山田たろう", Some(PASSWORD), SignInMethod::Password)
        .await
        .unwrap();
}

/// A connection that never finishes its TLS handshake, or never finishes
/// its headers, is closed within seconds (not kept forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ts = TestServer::start().await;
    let addr = ts.server.addr();
    // No handshake at all.
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(std::time::Duration::from_secs(20), raw.read(&mut buf))
        .await
        .expect("the server kept a silent connection open")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    // A handshake, then half a request line and nothing more.
    let connector = {
        let mut roots = rustls::RootCertStore::empty();
        let pem = ts.server.cert_pem().to_owned();
        for cert in rustls_pemfile_certs(&pem) {
            roots.add(cert).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
    };
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    tls.write_all(b"GET /v1/info HTTP/1.1\r\nHost: loc")
        .await
        .unwrap();
    // Closed (at most a 408 first); a timeout here means it waited forever.
    let mut answer = Vec::new();
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        tls.read_to_end(&mut answer),
    )
    .await
    .expect("the server waited forever for the headers");
    let text = String::from_utf8_lossy(&answer);
    assert!(
        r.is_err() || answer.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

fn rustls_pemfile_certs(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(Result::unwrap)
        .collect()
}
