//! The web pages over real HTTPS with a cookie-keeping client (no
//! JavaScript; the browser tests in tests/browser cover the script): TOTP
//! enrollment, sign-in and replay, approve via the page, the failed-sign-in
//! auto-block, enforced setup, backup email codes through a real SMTP sink,
//! the admin page, and the cross-site post check. Runs on SQLite, and on
//! PostgreSQL when `COUNTERSIGN_TEST_PG_URL` is set (see common/mod.rs).

use crate::common;

use std::time::Duration;

use common::web::{body_of, browser, get, password_signin, post, send, text_of, totp_at, Sink};
use common::{TestServer, PASSWORD};
use countersign_core::approve::protocol::Decision;
use countersign_server::SignInMethod;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Signs in (password only) and enrolls an authenticator app; returns the
/// Base32 seed.
async fn enroll_otp(c: &reqwest::Client, ts: &TestServer, home: &str) -> String {
    let (path, _, page) = post(c, ts, "/account/otp/start", &[]).await;
    assert_eq!(path, home);
    assert!(page.contains("id=\"otp-qr\"") && page.contains("data:image/svg+xml;base64,"));
    let secret: String = text_of(&page, "otp-secret")
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(secret.len(), 32, "{secret}");
    // A wrong code does not enroll.
    let (_, status, page) = post(c, ts, "/account/otp/confirm", &[("code", "000000")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text_of(&page, "error").unwrap().contains("does not match"));
    let code = totp_at(&secret, ts.now());
    let (path, status, _) = post(c, ts, "/account/otp/confirm", &[("code", &code)]).await;
    assert_eq!(
        (path.as_str(), status),
        (format!("{home}?m=otp_on").as_str(), StatusCode::OK)
    );
    secret
}

#[tokio::test]
async fn otp_enroll_sign_in_replay_and_guess_limit() {
    let ts = TestServer::start_with(|c| c.ip_block.max_failures = 100).await;
    ts.user("olga", SignInMethod::Password).await;
    let c = browser(&ts);
    let (path, status, page) = password_signin(&c, &ts, "olga").await;
    assert_eq!((path.as_str(), status), ("/account", StatusCode::OK));
    assert_eq!(
        text_of(&page, "two-step-status").as_deref(),
        Some("disabled")
    );
    // OTP cannot be chosen before it is set up.
    let (_, status, _) = post(&c, &ts, "/account/method", &[("method", "otp")]).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let secret = enroll_otp(&c, &ts, "/account").await;
    // The database holds the seed sealed (seed.key is outside it).
    let raw = ts.raw_otp_seed("olga").await.unwrap();
    let plain = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &secret).unwrap();
    assert_eq!(raw.len(), 4 + 12 + plain.len() + 16);
    assert!(raw.starts_with(b"CSS1"));
    assert!(!raw.windows(plain.len()).any(|w| w == plain.as_slice()));
    // The enrollment code's step counts as used: a sign-in needs a newer one.
    ts.clock.advance(30);
    let (path, _, _) = post(&c, &ts, "/account/method", &[("method", "otp")]).await;
    assert_eq!(path, "/signin?m=two_step_changed");
    // Changing the method signed this browser out.
    let (path, _, _) = get(&c, &ts, "/account").await;
    assert_eq!(path, "/signin");

    let (path, _, page) = password_signin(&c, &ts, "olga").await;
    assert_eq!(path, "/signin/verify");
    assert!(page.contains("id=\"code\""));
    let (_, status, page) = post(&c, &ts, "/signin/otp", &[("code", "123456")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(text_of(&page, "error").unwrap().contains("Wrong code"));
    let code = totp_at(&secret, ts.now());
    let (path, _, page) = post(&c, &ts, "/signin/otp", &[("code", &code)]).await;
    assert_eq!(path, "/account");
    assert_eq!(
        text_of(&page, "two-step-status").as_deref(),
        Some("enabled")
    );

    // The same code again (same step) is refused, even in a new sign-in.
    let (path, _, _) = post(&c, &ts, "/signout", &[]).await;
    assert_eq!(path, "/signin?m=signed_out");
    password_signin(&c, &ts, "olga").await;
    let (_, status, page) = post(&c, &ts, "/signin/otp", &[("code", &code)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(text_of(&page, "error").unwrap().contains("already used"));
    // The next step's code works; then the previous step's (still inside
    // the ±1 window) is refused as older.
    ts.clock.advance(30);
    let previous = totp_at(&secret, ts.now() - 30);
    let (path, _, _) = post(
        &c,
        &ts,
        "/signin/otp",
        &[("code", &totp_at(&secret, ts.now()))],
    )
    .await;
    assert_eq!(path, "/account");
    post(&c, &ts, "/signout", &[]).await;
    password_signin(&c, &ts, "olga").await;
    let (_, status, _) = post(&c, &ts, "/signin/otp", &[("code", &previous)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Guessing: after 5 failures in the window, even a right code is refused.
    for _ in 0..4 {
        post(&c, &ts, "/signin/otp", &[("code", "000000")]).await;
    }
    ts.clock.advance(30);
    let (_, status, page) = post(
        &c,
        &ts,
        "/signin/otp",
        &[("code", &totp_at(&secret, ts.now()))],
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(text_of(&page, "error")
        .unwrap()
        .contains("Too many wrong codes"));
    // The window passes; the right code works again.
    ts.clock.advance(901);
    let (path, _, _) = post(
        &c,
        &ts,
        "/signin/otp",
        &[("code", &totp_at(&secret, ts.now()))],
    )
    .await;
    assert_eq!(
        path, "/signin?m=expired",
        "the 5-minute login flow expired meanwhile"
    );
    password_signin(&c, &ts, "olga").await;
    let (path, _, _) = post(
        &c,
        &ts,
        "/signin/otp",
        &[("code", &totp_at(&secret, ts.now()))],
    )
    .await;
    assert_eq!(path, "/account");
}

#[tokio::test]
async fn approve_on_the_web_page() {
    let ts = TestServer::start().await;
    let device = ts.user_with_device("paul").await;
    let c = browser(&ts);
    let (path, _, page) = password_signin(&c, &ts, "paul").await;
    assert_eq!(path, "/signin/verify");
    let number: u8 = text_of(&page, "number").unwrap().parse().unwrap();
    // A reload shows the same request, not a second one.
    let (_, _, again) = get(&c, &ts, "/signin/verify").await;
    assert_eq!(
        text_of(&again, "number").unwrap().parse::<u8>().unwrap(),
        number
    );
    let (_, _, status) = get(&c, &ts, "/signin/status").await;
    assert_eq!(
        serde_json::from_str::<Value>(&status).unwrap()["state"],
        "pending"
    );
    // Continue before the phone answered: back to the number.
    let (path, _, _) = post(&c, &ts, "/signin/finish", &[]).await;
    assert_eq!(path, "/signin/verify?method=approve");

    let req = device.the_request(&ts).await;
    assert_eq!(req.tries_left, 3, "the number is typed, not picked");
    // The page's long-poll is woken by the answer.
    let c2 = c.clone();
    let url = ts.url("/signin/status?wait=20");
    let waiter =
        tokio::spawn(async move { c2.get(url).send().await.unwrap().text().await.unwrap() });
    tokio::time::sleep(Duration::from_millis(200)).await;
    device
        .answer(&ts, &req, Decision::Approve, number)
        .await
        .unwrap();
    let woke = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&woke).unwrap()["state"],
        "approved"
    );
    let (path, _, page) = post(&c, &ts, "/signin/finish", &[]).await;
    assert_eq!(path, "/account");
    assert_eq!(
        text_of(&page, "two-step-status").as_deref(),
        Some("enabled")
    );
    // The flow is spent.
    let (path, _, _) = post(&c, &ts, "/signin/finish", &[]).await;
    assert_eq!(path, "/signin?m=expired");

    // Denied: the page says so and offers a new request.
    post(&c, &ts, "/signout", &[]).await;
    password_signin(&c, &ts, "paul").await;
    let req = device.the_request(&ts).await;
    device.answer(&ts, &req, Decision::Deny, 0).await.unwrap();
    let (_, status, page) = post(&c, &ts, "/signin/finish", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(text_of(&page, "error").unwrap().contains("denied"));
}

#[tokio::test]
async fn failed_sign_ins_block_the_address_until_unblocked_or_expired() {
    let ts = TestServer::start_with(|c| {
        c.ip_block.max_failures = 3;
        c.ip_block.block_s = Some(3600);
    })
    .await;
    ts.user("quinn", SignInMethod::Password).await;
    ts.user("rita", SignInMethod::Password).await;
    for i in 0..3 {
        let e = ts
            .start_signin("quinn", Some("Wrong-password-1"))
            .await
            .unwrap_err();
        let want = if i < 2 {
            "invalid_credentials"
        } else {
            "ip_blocked"
        };
        assert_eq!(e.1.error, want, "attempt {i}");
    }
    // Blocked: same answer for a right password, another user, no such user.
    for (user, pw) in [
        ("quinn", PASSWORD),
        ("rita", PASSWORD),
        ("nobody", PASSWORD),
    ] {
        let e = ts.start_signin(user, Some(pw)).await.unwrap_err();
        assert_eq!(
            (e.0, e.1.error.as_str()),
            (StatusCode::FORBIDDEN, "ip_blocked"),
            "{user}"
        );
    }
    let c = browser(&ts);
    let (_, status, known) = post(&c, &ts, "/signin", &[("username", "rita")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, _, unknown) = post(&c, &ts, "/signin", &[("username", "nobody")]).await;
    assert_eq!(known, unknown);
    let (_, status, _) = password_signin(&c, &ts, "rita").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, list) = ts.admin(Method::GET, "/v1/admin/blocks", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["blocks"][0]["ip"], "127.0.0.1");
    assert_eq!(list["blocks"][0]["failures"], 3);
    assert_eq!(list["blocks"][0]["until"], ts.now() + 3600);
    let (status, _) = ts
        .admin(Method::DELETE, "/v1/admin/blocks/127.0.0.1", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = ts
        .admin(Method::DELETE, "/v1/admin/blocks/127.0.0.1", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (path, _, _) = password_signin(&c, &ts, "rita").await;
    assert_eq!(path, "/account");

    // Failures counted afresh after the unblock; a timed block ends by itself.
    for _ in 0..3 {
        let _ = ts.start_signin("quinn", Some("Wrong-password-1")).await;
    }
    assert_eq!(
        ts.start_signin("quinn", Some(PASSWORD))
            .await
            .unwrap_err()
            .1
            .error,
        "ip_blocked"
    );
    ts.clock.advance(3601);
    assert!(ts.start_signin("quinn", Some(PASSWORD)).await.is_ok());
    let (_, list) = ts.admin(Method::GET, "/v1/admin/blocks", None).await;
    assert_eq!(list["blocks"].as_array().unwrap().len(), 0);
}

/// A failed password sign-in sent as if through a proxy that forwarded for
/// `forwarded_for`; returns the error code.
async fn failed_signin_via(ts: &TestServer, forwarded_for: &str) -> String {
    let resp = ts
        .http
        .post(ts.url("/v1/signin/start"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"username": "sam", "password": "Wrong-password-1"}))
        .send()
        .await
        .unwrap();
    common::json_of(resp).await.1["error"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_blocked_not_the_proxy() {
    let ts = TestServer::start_with(|c| {
        c.ip_block.max_failures = 2;
        c.trusted_proxies = vec![countersign_server::parse_trusted_proxy("127.0.0.0/8").unwrap()];
    })
    .await;
    ts.user("sam", SignInMethod::Password).await;
    // The client wrote a fake address; the proxy appended the real one.
    assert_eq!(
        failed_signin_via(&ts, "10.9.9.9, 203.0.113.7").await,
        "invalid_credentials"
    );
    assert_eq!(failed_signin_via(&ts, "203.0.113.7").await, "ip_blocked");
    // Another client behind the same proxy is not blocked.
    assert_eq!(
        failed_signin_via(&ts, "203.0.113.8").await,
        "invalid_credentials"
    );
    let (_, list) = ts.admin(Method::GET, "/v1/admin/blocks", None).await;
    let blocked: Vec<&str> = list["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["ip"].as_str().unwrap())
        .collect();
    assert_eq!(blocked, ["203.0.113.7"]);
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_header_is_ignored() {
    let ts = TestServer::start_with(|c| c.ip_block.max_failures = 2).await;
    ts.user("sam", SignInMethod::Password).await;
    assert_eq!(
        failed_signin_via(&ts, "203.0.113.7").await,
        "invalid_credentials"
    );
    // A different claimed address does not escape the count.
    assert_eq!(failed_signin_via(&ts, "203.0.113.8").await, "ip_blocked");
    let (_, list) = ts.admin(Method::GET, "/v1/admin/blocks", None).await;
    assert_eq!(list["blocks"][0]["ip"], "127.0.0.1");
    assert_eq!(list["blocks"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn enforced_user_must_finish_setup_first() {
    let ts = TestServer::start().await;
    let (status, _) = ts
        .admin(
            Method::POST,
            "/v1/admin/users",
            Some(json!({"username": "erin", "password": PASSWORD, "method": "password", "enforce_2sv": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let status_of = |list: &Value, name: &str| {
        list["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .unwrap()["two_step"]
            .clone()
    };
    let (_, list) = ts.admin(Method::GET, "/v1/admin/users", None).await;
    assert_eq!(status_of(&list, "erin"), "incomplete");
    // The JSON API refuses a session too.
    let e = ts.start_signin("erin", Some(PASSWORD)).await.unwrap_err();
    assert_eq!(
        (e.0, e.1.error.as_str()),
        (StatusCode::FORBIDDEN, "setup_required")
    );

    let c = browser(&ts);
    let (path, _, page) = password_signin(&c, &ts, "erin").await;
    assert_eq!(path, "/setup");
    assert!(page.contains("id=\"setup-finish\" disabled"));
    for p in ["/account", "/admin", "/"] {
        assert_eq!(get(&c, &ts, p).await.0, "/setup", "{p}");
    }
    let (_, status, _) = post(&c, &ts, "/account/method", &[("method", "off")]).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a setup session cannot change the method: redirected to /setup"
    );
    assert_eq!(get(&c, &ts, "/account").await.0, "/setup");
    let secret = enroll_otp(&c, &ts, "/setup").await;
    ts.clock.advance(30);
    let (path, _, page) = post(&c, &ts, "/setup/finish", &[]).await;
    assert_eq!(path, "/signin?m=setup_done");
    assert!(page.contains("2-step verification is on"));
    let (path, _, _) = password_signin(&c, &ts, "erin").await;
    assert_eq!(path, "/signin/verify");
    let (path, _, _) = post(
        &c,
        &ts,
        "/signin/otp",
        &[("code", &totp_at(&secret, ts.now()))],
    )
    .await;
    assert_eq!(path, "/account");
    let (_, list) = ts.admin(Method::GET, "/v1/admin/users", None).await;
    assert_eq!(status_of(&list, "erin"), "enabled");
    // Enforced: turning it off is refused.
    let (_, status, page) = post(&c, &ts, "/account/method", &[("method", "off")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(text_of(&page, "error").unwrap().contains("requires"));
}

#[tokio::test]
async fn admin_page_policy_groups_and_sign_out_everywhere() {
    let ts = TestServer::start().await;
    ts.admin(
        Method::POST,
        "/v1/admin/users",
        Some(
            json!({"username": "root", "password": PASSWORD, "method": "password", "admin": true}),
        ),
    )
    .await;
    let (status, body) = ts
        .admin(
            Method::POST,
            "/v1/admin/users",
            Some(json!({"username": "sam", "password": "weak", "method": "password"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "password too weak: use at least 8 characters; add an upper-case letter; add a digit"
    );
    // An admin without 2-step verification only gets to set it up.
    let (admin, _) = common::web::signed_in_with_otp(&ts, "root").await;
    let (path, status, page) = get(&admin, &ts, "/admin").await;
    assert_eq!((path.as_str(), status), ("/admin", StatusCode::OK));
    assert!(page.contains("id=\"user-root\""));
    // Weak password in the form: every unmet rule is listed.
    let (_, status, page) = post(
        &admin,
        &ts,
        "/admin/users",
        &[
            ("username", "sam"),
            ("password", "alllowercase"),
            ("groups", "staff"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("<li>add an upper-case letter</li><li>add a digit</li>"),
        "{page}"
    );
    let (_, status, page) = post(
        &admin,
        &ts,
        "/admin/users",
        &[
            ("username", "sam"),
            ("password", PASSWORD),
            ("groups", "staff, ops"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(page.contains("User sam added."));
    let (_, list) = ts.admin(Method::GET, "/v1/admin/users", None).await;
    let sam = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "sam")
        .unwrap()
        .clone();
    assert_eq!(
        (sam["groups"].clone(), sam["two_step"].clone()),
        (json!(["staff", "ops"]), json!("disabled"))
    );
    // Enforce for the group: sam becomes incomplete.
    let (path, _, _) = post(
        &admin,
        &ts,
        "/admin/groups",
        &[("group", "staff"), ("enforce", "on")],
    )
    .await;
    assert_eq!(path, "/admin?m=done");
    let (_, list) = ts.admin(Method::GET, "/v1/admin/users", None).await;
    assert_eq!(list["enforced_groups"], json!(["staff"]));
    let sam = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "sam")
        .unwrap()
        .clone();
    assert_eq!(sam["two_step"], "incomplete");

    // A user with 2-step on is signed in on two browsers; the admin
    // disables it: both are signed out, and the next sign-in is password only.
    let device = ts.user_with_device("tom").await;
    let mut browsers = Vec::new();
    for _ in 0..2 {
        let b = browser(&ts);
        let (_, _, page) = password_signin(&b, &ts, "tom").await;
        let number: u8 = text_of(&page, "number").unwrap().parse().unwrap();
        let req = device.the_request(&ts).await;
        device
            .answer(&ts, &req, Decision::Approve, number)
            .await
            .unwrap();
        assert_eq!(post(&b, &ts, "/signin/finish", &[]).await.0, "/account");
        browsers.push(b);
    }
    let (_, _, page) = post(
        &admin,
        &ts,
        "/admin/users/action",
        &[("username", "tom"), ("action", "disable_2sv")],
    )
    .await;
    assert!(page.contains("2-step verification disabled for tom"));
    for b in &browsers {
        assert_eq!(get(b, &ts, "/account").await.0, "/signin");
    }
    assert_eq!(
        password_signin(&browsers[0], &ts, "tom").await.0,
        "/account"
    );
    let (_, _, page) = post(
        &admin,
        &ts,
        "/admin/users/action",
        &[("username", "tom"), ("action", "revoke_devices")],
    )
    .await;
    assert!(page.contains("Revoked 1 phone(s) of tom."));

    // Not an admin: refused.
    let (_, status, _) = get(&browsers[0], &ts, "/admin").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let ts = TestServer::start().await;
    ts.user("uma", SignInMethod::Password).await;
    let c = browser(&ts);
    password_signin(&c, &ts, "uma").await;
    let (_, status, _) = send(
        c.post(ts.url("/signout"))
            .header("origin", "https://evil.example"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, status, _) = send(
        c.post(ts.url("/signout"))
            .header("sec-fetch-site", "cross-site"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&c, &ts, "/account").await.0,
        "/account",
        "still signed in"
    );
    let origin = ts.server.base_url().to_owned();
    let (path, _, _) = send(c.post(ts.url("/signout")).header("origin", origin)).await;
    assert_eq!(path, "/signin?m=signed_out");
}

#[tokio::test]
async fn backup_email_verify_and_emergency_codes() {
    let Some(sink) = Sink::start() else {
        eprintln!("SKIPPED: COUNTERSIGN_TEST_PYTHON (python with aiosmtpd) not set; tools/test.sh sets it");
        return;
    };
    let port = sink.port;
    let ts = TestServer::start_with(|c| {
        c.smtp = Some(countersign_server::SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            security: countersign_server::SmtpSecurity::None,
            username: None,
            password: None,
            from: "Test NAS <nas@example.com>".into(),
        });
        c.ip_block.max_failures = 100;
    })
    .await;
    let device = ts.user_with_device("vera").await;
    let c = browser(&ts);
    // Sign in with the phone first (Approve), then set the address.
    let (_, _, page) = password_signin(&c, &ts, "vera").await;
    let number: u8 = text_of(&page, "number").unwrap().parse().unwrap();
    let req = device.the_request(&ts).await;
    device
        .answer(&ts, &req, Decision::Approve, number)
        .await
        .unwrap();
    post(&c, &ts, "/signin/finish", &[]).await;
    let (_, status, page) = post(&c, &ts, "/account/email", &[("email", "not an address")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text_of(&page, "error").is_some());
    let (path, _, page) = post(&c, &ts, "/account/email", &[("email", "vera@example.com")]).await;
    assert_eq!(path, "/account?m=email_sent");
    assert!(text_of(&page, "email-state")
        .unwrap()
        .contains("Waiting for verification"));
    let mail = body_of(&sink.mail(1));
    assert!(mail.contains("To: vera@example.com"), "{mail}");
    let link = mail
        .lines()
        .find(|l| l.contains("/account/email/verify?token="))
        .unwrap()
        .trim()
        .to_owned();
    let token = link.split("token=").nth(1).unwrap();
    // The link's page only shows a button; posting it verifies (once).
    let (_, _, page) = get(&c, &ts, &format!("/account/email/verify?token={token}")).await;
    assert!(page.contains("id=\"verify-email\""));
    let (_, status, _) = post(&c, &ts, "/account/email/verify", &[("token", token)]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, status, _) = post(&c, &ts, "/account/email/verify", &[("token", token)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, _, page) = get(&c, &ts, "/account").await;
    assert!(text_of(&page, "email-state")
        .unwrap()
        .starts_with("Verified"));

    // Phone lost: sign in with an emailed code.
    post(&c, &ts, "/signout", &[]).await;
    password_signin(&c, &ts, "vera").await;
    device.the_request(&ts).await; // the approve request was started (left pending)
    let (_, _, page) = get(&c, &ts, "/signin/verify?method=email").await;
    assert!(page.contains("v***@example.com"));
    let (_, _, page) = post(&c, &ts, "/signin/email/send", &[]).await;
    assert!(text_of(&page, "info").unwrap().contains("We sent a code"));
    let mail = body_of(&sink.mail(2));
    let code: String = mail
        .lines()
        .find_map(|l| l.strip_prefix("Your one-time code: "))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(code.len(), 8);
    let (_, status, _) = post(&c, &ts, "/signin/email", &[("code", "00000000")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (path, _, _) = post(&c, &ts, "/signin/email", &[("code", &code)]).await;
    assert_eq!(path, "/account");
    // Single use.
    post(&c, &ts, "/signout", &[]).await;
    password_signin(&c, &ts, "vera").await;
    let (_, status, _) = post(&c, &ts, "/signin/email", &[("code", &code)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // At most 3 codes an hour (one was sent above).
    for _ in 0..2 {
        let (_, _, page) = post(&c, &ts, "/signin/email/send", &[]).await;
        assert!(text_of(&page, "info").is_some());
    }
    let (_, _, page) = post(&c, &ts, "/signin/email/send", &[]).await;
    assert!(text_of(&page, "error").unwrap().contains("several codes"));
    // Expired after 10 minutes.
    let latest = body_of(&sink.mail(4));
    let code: String = latest
        .lines()
        .find_map(|l| l.strip_prefix("Your one-time code: "))
        .unwrap()
        .trim()
        .to_owned();
    ts.clock.advance(601);
    password_signin(&c, &ts, "vera").await;
    let (_, status, _) = post(&c, &ts, "/signin/email", &[("code", &code)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, list) = ts.admin(Method::GET, "/v1/admin/users", None).await;
    assert_eq!(list["users"][0]["backup_email_verified"], true);
}
