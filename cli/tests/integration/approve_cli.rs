//! The CLI's Approve sign-in commands against a real server on loopback,
//! and the narrated demo.

use countersign_core::approve::pinning::{self, Pin};
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_countersign");

fn run(vault: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let o = Command::new(BIN)
        .arg("--vault")
        .arg(vault)
        .args(args)
        .env_remove("COUNTERSIGN_PASSCODE")
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_requests_answer_unpair() {
    let dir = tempfile::tempdir().unwrap();
    let config = countersign_server::ServerConfig::new(
        dir.path().join("srv"),
        "127.0.0.1:0".parse().unwrap(),
        "CLI NAS",
    );
    let server = countersign_server::start(config).await.unwrap();
    let base = server.base_url().to_owned();
    let admin = server.create_admin_token("cli-test").await.unwrap();
    let (http, _) =
        pinning::client(Pin::Key(server.spki_sha256()), Duration::from_secs(30)).unwrap();
    let post = |path: &str, body: Value, bearer: Option<&str>| {
        let mut r = http.post(format!("{base}{path}")).json(&body);
        if let Some(b) = bearer {
            r = r.bearer_auth(b);
        }
        r.send()
    };
    let r = post(
        "/v1/admin/users",
        json!({"username": "dana", "password": "Correct-Horse-42", "method": "password_approve"}),
        Some(&admin),
    )
    .await
    .unwrap();
    assert!(r.status().is_success());
    let inv: Value = post("/v1/admin/users/dana/pairing", json!({}), Some(&admin))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let vault = dir.path().join("v.db");
    let invite = inv["uri"].as_str().unwrap().to_owned();

    let v = vault.clone();
    let (ok, out, err) =
        tokio::task::spawn_blocking(move || run(&v, &["pair", &invite, "--name", "test cli"]))
            .await
            .unwrap();
    assert!(ok, "{err}");
    assert!(out.contains("paired") && out.contains("CLI NAS"), "{out}");
    let (ok, out, _) = run(&vault, &["pairings", "--json"]);
    assert!(ok);
    let pairings: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(pairings[0]["account"], "dana");
    // The default vault setting requires a screen lock to approve; the CLI has none.
    let s = countersign_core::Settings {
        require_screen_lock_after_approve: false,
        ..Default::default()
    };
    {
        let prot = std::sync::Arc::new(countersign_core::SoftwareKeyProtector::beside(&vault));
        let vv = countersign_core::Vault::open(&vault, prot).unwrap();
        vv.unlock(None, 0).unwrap();
        vv.update_settings(s).unwrap();
    }

    let started: Value = post(
        "/v1/signin/start",
        json!({"username": "dana", "password": "Correct-Horse-42"}),
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let number = started["number"].as_u64().unwrap();
    let v = vault.clone();
    let (ok, out, err) = tokio::task::spawn_blocking(move || run(&v, &["requests", "--json"]))
        .await
        .unwrap();
    assert!(ok, "{err}");
    let reqs: Value = serde_json::from_str(&out).unwrap();
    let id = reqs[0]["request_id"].as_str().unwrap().to_owned();
    // The number is not shown on the phone: the user types it.
    assert_eq!(reqs[0]["action"], "sign_in");
    assert_eq!(reqs[0]["tries_left"], 3);
    assert!(!out.contains(&format!(":{number}")), "{out}");

    // Approving without the number is refused before anything is sent.
    let v = vault.clone();
    let id2 = id.clone();
    let (ok, _, err) =
        tokio::task::spawn_blocking(move || run(&v, &["answer", &id2[..8], "approve"]))
            .await
            .unwrap();
    assert!(!ok);
    assert!(err.contains("--number"), "{err}");
    // A mistyped number is refused and exits non-zero; the request waits.
    let v = vault.clone();
    let id2 = id.clone();
    let typo = (if number == 99 { 98 } else { number + 1 }).to_string();
    let (ok, _, err) = tokio::task::spawn_blocking(move || {
        run(&v, &["answer", &id2[..8], "approve", "--number", &typo])
    })
    .await
    .unwrap();
    assert!(!ok);
    assert!(
        err.contains("not the number") && err.contains("2 tries left"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let v = vault.clone();
    let n = number.to_string();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        run(&v, &["answer", &id[..8], "approve", "--number", &n])
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "approved");

    // The server is unreachable: `requests` says so and exits non-zero
    // (it used to print [] and exit 0).
    let addr = server.addr();
    server.shutdown().await.unwrap();
    let v = vault.clone();
    let (ok, out, err) = tokio::task::spawn_blocking(move || run(&v, &["requests", "--json"]))
        .await
        .unwrap();
    assert!(!ok, "{out}");
    assert!(err.contains("could not check CLI NAS (dana)"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // Back on the same data directory and port.
    let mut config = countersign_server::ServerConfig::new(dir.path().join("srv"), addr, "CLI NAS");
    config.log_to_stderr = false;
    let server = countersign_server::start(config).await.unwrap();
    let pid = pairings[0]["id"].as_str().unwrap().to_owned();
    let v = vault.clone();
    let (ok, out, err) = tokio::task::spawn_blocking(move || run(&v, &["unpair", &pid[..8]]))
        .await
        .unwrap();
    assert!(ok, "{err}");
    assert!(out.contains("unpaired"), "{out}");
    let (_, out, _) = run(&vault, &["pairings", "--json"]);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), json!([]));
    let _ = server.shutdown().await;
}

#[test]
fn demo_runs_end_to_end() {
    let o = Command::new(BIN).arg("demo").output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for want in [
        "Start a sign-in server",
        "phone paired with \"Demo NAS\" as alice",
        "type this number",
        "refused, 2 tries left",
        "browser: signed in as alice",
        "browser: denied",
        "already_answered",
        "Done:",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}
