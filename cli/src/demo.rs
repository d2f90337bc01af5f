//! `countersign demo`: Approve sign-in end to end, narrated.
//!
//! Starts the reference server on loopback with a temporary database,
//! creates a user, pairs a temporary vault through the invitation QR
//! payload, signs in "as a browser would", approves on the "phone", shows
//! the session working, then a denied attempt and a replayed approval being
//! refused. Everything is real: HTTPS with a pinned self-signed key, P-256
//! signatures, SQLite on both sides.

use crate::approve_cmd::{describe, group_hex};
use crate::Failure;
use countersign_core::approve::pinning::{self, Pin};
use countersign_core::approve::protocol::{RequestState, SignInStarted, SignInStatus};
use countersign_core::approve::{self, Decision, DeviceInfo};
use countersign_core::{AuthenticatorError, SoftwareKeyProtector, Vault};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn now() -> i64 {
    crate::session::now()
}

fn step(n: u32, text: &str) {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        println!("\n\x1b[1m{n}. {text}\x1b[0m");
    } else {
        println!("\n{n}. {text}");
    }
}

fn fail(e: impl std::fmt::Display) -> Failure {
    Failure::new(format!("demo failed: {e}"))
}

/// Runs the demo; exits 0 when every step behaved as expected.
pub fn run() -> Result<(), Failure> {
    let rt = crate::approve_cmd::rt()?;
    rt.block_on(demo())
}

struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
        bearer: Option<&str>,
    ) -> Result<(u16, serde_json::Value), Failure> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0 (countersign demo browser)",
            )
            .json(&body);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let resp = req.send().await.map_err(fail)?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.map_err(fail)?))
    }

    async fn get(
        &self,
        path: &str,
        bearer: Option<&str>,
    ) -> Result<(u16, serde_json::Value), Failure> {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let resp = req.send().await.map_err(fail)?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.map_err(fail)?))
    }

    async fn start_sign_in(&self) -> Result<SignInStarted, Failure> {
        let (status, body) = self
            .post(
                "/v1/signin/start",
                json!({"username": "alice", "password": "Correct-Horse-42"}),
                None,
            )
            .await?;
        if status != 200 {
            return Err(fail(format!("sign-in start answered {status}: {body}")));
        }
        serde_json::from_value(body).map_err(fail)
    }

    async fn wait(&self, started: &SignInStarted) -> Result<SignInStatus, Failure> {
        let id = started.request_id.as_deref().unwrap_or_default();
        let poll = started.poll_token.as_deref().unwrap_or_default();
        let (status, body) = self
            .get(&format!("/v1/signin/{id}?poll_token={poll}&wait=20"), None)
            .await?;
        if status != 200 {
            return Err(fail(format!("sign-in status answered {status}: {body}")));
        }
        serde_json::from_value(body).map_err(fail)
    }
}

async fn demo() -> Result<(), Failure> {
    println!("Countersign demo: Approve sign-in, end to end, on this machine only.");
    let tmp = tempfile::tempdir().map_err(fail)?;

    step(
        1,
        "Start a sign-in server (a \"home NAS\") on loopback with a temporary database",
    );
    let config = countersign_server::ServerConfig::new(
        tmp.path().join("server"),
        "127.0.0.1:0".parse().map_err(fail)?,
        "Demo NAS",
    );
    let server = countersign_server::start(config).await.map_err(fail)?;
    let base = server.base_url().to_owned();
    let spki = server.spki_sha256();
    println!("   listening on {base} (HTTPS, self-signed certificate generated on first start)");
    println!(
        "   TLS key fingerprint: {}",
        group_hex(&countersign_core::vault::hex(&spki))
    );

    // Admin and browser talk to the server over the same pinned TLS.
    let (http, _) = pinning::client(Pin::Key(spki), Duration::from_secs(30)).map_err(fail)?;
    let browser = Browser {
        http,
        base: base.clone(),
    };
    let admin = server.create_admin_token("demo").await.map_err(fail)?;

    step(
        2,
        "Create user alice (sign-in method: password, then Approve on the phone)",
    );
    let (status, body) = browser
        .post(
            "/v1/admin/users",
            json!({"username": "alice", "password": "Correct-Horse-42", "method": "password_approve"}),
            Some(&admin),
        )
        .await?;
    if status != 200 && status != 201 {
        return Err(fail(format!("creating the user answered {status}: {body}")));
    }
    println!("   created alice (password stored as an Argon2id hash)");

    step(3, "The server shows a pairing QR code; the phone scans it");
    let (status, body) = browser
        .post("/v1/admin/users/alice/pairing", json!({}), Some(&admin))
        .await?;
    let invite = body.get("uri").and_then(|v| v.as_str()).map(str::to_owned);
    let invite = match (status, invite) {
        (200 | 201, Some(u)) => u,
        _ => {
            return Err(fail(format!(
                "pairing invitation answered {status}: {body}"
            )))
        }
    };
    if let Ok(qr) = qrcode::QrCode::new(invite.as_bytes()) {
        let art = qr
            .render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .build();
        println!("{art}");
    }
    println!(
        "   QR payload: {}…  (one-time token, expires in minutes)",
        &invite[..invite.len().min(60)]
    );

    let vault_path = tmp.path().join("phone-vault.db");
    let vault = Arc::new(
        Vault::create(
            &vault_path,
            Arc::new(SoftwareKeyProtector::beside(&vault_path)),
            now(),
        )
        .map_err(fail)?,
    );
    vault.unlock(None, now()).map_err(fail)?;
    // "Require screen lock after Approve" is on by default; on a phone this is
    // Face ID / BiometricPrompt. The desktop software keystore stands in for it.
    vault.enable_biometrics(now()).map_err(fail)?;
    let device = DeviceInfo {
        name: "Alice's phone (demo)".into(),
        platform: "desktop".into(),
        push_token: None,
    };
    let pairing = approve::pair_with_invite(&vault, &invite, &device, now())
        .await
        .map_err(fail)?;
    println!(
        "   phone paired with \"{}\" as {} — device key: ECDSA P-256 in the keystore; server key pinned",
        pairing.server_name, pairing.account
    );

    step(4, "Someone signs in as alice in a browser");
    let started = browser.start_sign_in().await?;
    let number = started
        .number
        .ok_or_else(|| fail("no number in the sign-in answer"))?;
    println!(
        "   browser shows: \"Open Countersign on your phone and type this number: {number:02}\""
    );

    step(
        5,
        "The phone receives the request (long-poll; a push would only wake it)",
    );
    let reqs = approve::pending_requests(&vault, &pairing.id, 20, now())
        .await
        .map_err(fail)?;
    let req = reqs
        .into_iter()
        .next()
        .ok_or_else(|| fail("the phone saw no request"))?;
    for line in describe(&req).lines() {
        println!("   {line}");
    }

    step(
        6,
        "The user types the number (typed, not picked: a blind tap cannot approve)",
    );
    let typo = if number == 99 { 98 } else { number + 1 };
    match approve::answer(&vault, &req, Decision::Approve, typo, now()).await {
        Err(AuthenticatorError::WrongNumber { tries_left }) => println!(
            "   typed {typo:02} by mistake: refused, {tries_left} tries left (three wrong numbers deny) ✔"
        ),
        Ok(s) => return Err(fail(format!("a wrong number was accepted ({})", s.as_str()))),
        Err(e) => return Err(fail(format!("unexpected answer to a wrong number: {e}"))),
    }
    println!("   typed {number:02} and tapped Approve (screen lock confirmed, answer signed)");
    let signed = approve::sign_answer(&vault, &req, Decision::Approve, number, now())
        .await
        .map_err(fail)?;
    let state = approve::send_answer(&vault, &signed, now())
        .await
        .map_err(fail)?;
    println!("   server says: {}", state.as_str());
    let status = browser.wait(&started).await?;
    let session = match (status.state, status.session_token) {
        (RequestState::Approved, Some(s)) => s,
        (s, _) => {
            return Err(fail(format!(
                "browser saw {} instead of approved",
                s.as_str()
            )))
        }
    };
    let (code, who) = browser.get("/v1/session", Some(&session)).await?;
    if code != 200 {
        return Err(fail(format!("session check answered {code}: {who}")));
    }
    println!(
        "   browser: signed in as {} ✔",
        who.get("account").and_then(|v| v.as_str()).unwrap_or("?")
    );

    step(7, "Another sign-in attempt; this time the user taps Deny");
    let started = browser.start_sign_in().await?;
    println!("   browser shows: type {:02}", started.number.unwrap_or(0));
    let req = approve::pending_requests(&vault, &pairing.id, 20, now())
        .await
        .map_err(fail)?
        .into_iter()
        .next()
        .ok_or_else(|| fail("the phone saw no request"))?;
    let state = approve::answer(&vault, &req, Decision::Deny, 0, now())
        .await
        .map_err(fail)?;
    let status = browser.wait(&started).await?;
    println!(
        "   phone: {}; browser: {} — refused ✔",
        state.as_str(),
        status.state.as_str()
    );
    if status.state != RequestState::Denied || status.session_token.is_some() {
        return Err(fail("the denied sign-in was not refused"));
    }

    step(
        8,
        "An attacker replays the first signed approval, byte for byte",
    );
    match approve::send_answer(&vault, &signed, now()).await {
        Err(AuthenticatorError::Rejected { code, message }) => {
            println!("   server refuses: {message} ({code}) ✔");
        }
        Ok(s) => return Err(fail(format!("the replay was accepted ({})", s.as_str()))),
        Err(e) => return Err(fail(format!("unexpected answer to the replay: {e}"))),
    }

    let _ = server.shutdown().await;
    println!("\nDone: paired, approved, denied and a replay refused — all over pinned HTTPS with signed answers.");
    Ok(())
}
