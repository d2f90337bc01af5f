//! The `countersign-server user add` and `token` commands on a real data
//! directory, then a server started on it: flags set from the command line
//! show up in the admin API, the password policy applies, and admin tokens
//! made by the command work until the command revokes them (while the
//! server runs).

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{client_for, json_of};
use countersign_server::{start, ServerConfig};
use reqwest::StatusCode;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_countersign-server");

fn user_add(data: &std::path::Path, args: &[&str], password: &str) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(["user", "add", "--data-dir"])
        .arg(data)
        .args(args)
        .arg("--password-stdin")
        .env_remove("COUNTERSIGN_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

fn token(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("token")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("COUNTERSIGN_DATABASE_URL")
        .output()
        .unwrap()
}

#[tokio::test]
async fn user_add_sets_admin_groups_and_enforcement() {
    if common::pg_admin_url().is_some() {
        eprintln!("SKIPPED on PostgreSQL: this test is about the SQLite data directory");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let o = user_add(
        &data,
        &[
            "--username",
            "ada",
            "--method",
            "password",
            "--admin",
            "--group",
            "staff",
            "--group",
            "ops",
            "--enforce-2sv",
        ],
        "Correct-Horse-42",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = user_add(
        &data,
        &["--username", "bo", "--method", "password"],
        "weakpassword",
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("add an upper-case letter; add a digit"),
        "{err}"
    );
    let o = user_add(
        &data,
        &["--username", "cy", "--method", "password", "--group", "a,b"],
        "Correct-Horse-42",
    );
    assert!(!o.status.success(), "a comma in a group name is refused");

    let o = token(&data, &["create", "ops-script"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let admin_token = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert!(admin_token.starts_with("csadm_") && admin_token.len() > 40);
    let o = token(&data, &["create", "ops-script"]);
    assert!(!o.status.success(), "a name is used once");
    let server = start(ServerConfig::new(
        &data,
        "127.0.0.1:0".parse().unwrap(),
        "CLI NAS",
    ))
    .await
    .unwrap();
    let http = client_for(server.cert_pem());
    let (status, body) = json_of(
        http.get(format!("{}/v1/admin/users", server.base_url()))
            .bearer_auth(&admin_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let users = body["users"].as_array().unwrap();
    assert_eq!(users.len(), 1, "{body}");
    assert_eq!(users[0]["username"], "ada");
    assert_eq!(
        (
            users[0]["admin"].clone(),
            users[0]["groups"].clone(),
            users[0]["enforce_2sv"].clone(),
            users[0]["two_step"].clone()
        ),
        (
            json!(true),
            json!(["staff", "ops"]),
            json!(true),
            json!("incomplete")
        )
    );
    // The token is stored as a digest only.
    let db = rusqlite::Connection::open(data.join("server.db")).unwrap();
    let stored: Vec<u8> = db
        .query_row(
            "SELECT token_hash FROM admin_tokens WHERE name = 'ops-script'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert!(
        !String::from_utf8_lossy(&std::fs::read(data.join("server.db")).unwrap())
            .contains(&admin_token)
    );
    // Revoked while the server runs: refused from then on.
    let o = token(&data, &["revoke", "ops-script"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (status, _) = json_of(
        http.get(format!("{}/v1/admin/users", server.base_url()))
            .bearer_auth(&admin_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let o = token(&data, &["revoke", "ops-script"]);
    assert!(!o.status.success(), "already revoked");
    let o = token(&data, &["list"]);
    let listed = String::from_utf8_lossy(&o.stdout);
    assert!(
        listed.contains("ops-script") && listed.contains("revoked"),
        "{listed}"
    );
    assert!(!listed.contains(&admin_token));
    server.shutdown().await.unwrap();
}
