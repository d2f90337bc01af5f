//! `countersign sync …` on the real binary: two vaults sync through a real
//! server on loopback; changes sync after each changing command; deleting
//! the server copy stops the other device without touching its data.

use crate::common;
use common::{err, out, run};

async fn blocking(vault: std::path::PathBuf, args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&vault, &a, "")
    })
    .await
    .unwrap()
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_vaults_sync_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let config = countersign_server::ServerConfig::new(
        dir.path().join("srv"),
        "127.0.0.1:0".parse().unwrap(),
        "Sync NAS",
    );
    let server = countersign_server::start(config).await.unwrap();
    let url = server.base_url().to_owned();
    let fp = countersign_core::vault::hex(&server.spki_sha256());
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    let o = blocking(
        a.clone(),
        args(&[
            "add",
            "otpauth://totp/Alpha:me?secret=JBSWY3DPEHPK3PXP&issuer=Alpha",
        ]),
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    let o = blocking(a.clone(), args(&["sync", "status"])).await;
    assert_eq!(out(&o).trim(), "sync is off");
    // The server takes sync writes only from devices paired with it.
    let o = blocking(
        a.clone(),
        args(&["sync", "enable", "--url", &url, "--fingerprint", &fp]),
    )
    .await;
    assert!(!o.status.success());
    assert!(err(&o).contains("pair first"), "{}", err(&o));
    server
        .create_user(
            "sam",
            Some("Correct-Horse-42"),
            countersign_server::SignInMethod::PasswordApprove,
        )
        .await
        .unwrap();
    for v in [&a, &b] {
        let invite = server.pairing_invite("sam").await.unwrap();
        let o = blocking(v.clone(), args(&["pair", &invite])).await;
        assert!(o.status.success(), "{}", err(&o));
    }
    let o = blocking(
        a.clone(),
        args(&["sync", "enable", "--url", &url, "--fingerprint", &fp]),
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    assert!(text.contains("1 sent"), "{text}");
    let code = text
        .lines()
        .find(|l| l.len() == 29 && l.chars().filter(|c| *c == '-').count() == 5)
        .unwrap_or_else(|| panic!("no code in {text}"))
        .to_owned();
    // Join by code; the QR text works too (checked on the parse side in core).
    let o = blocking(
        b.clone(),
        args(&[
            "sync",
            "join",
            "--url",
            &url,
            "--fingerprint",
            &fp,
            "--code",
            &code,
        ]),
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("1 added,"), "{}", out(&o));
    let o = blocking(b.clone(), args(&["list", "--json"])).await;
    assert!(out(&o).contains("\"Alpha\""), "{}", out(&o));
    // A change on B syncs right after the command; A picks it up.
    let o = blocking(
        b.clone(),
        args(&[
            "add",
            "otpauth://totp/Beta:me?secret=GEZDGNBVGY3TQOJQ&issuer=Beta",
        ]),
    )
    .await;
    assert!(err(&o).contains("synced (1 sent"), "{}", err(&o));
    let o = blocking(a.clone(), args(&["sync", "now"])).await;
    assert!(out(&o).contains("1 added,"), "{}", out(&o));
    // Delete on A, restore from the recently deleted list on B.
    let o = blocking(a.clone(), args(&["list", "--json"])).await;
    let list: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let beta = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["issuer"] == "Beta")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = blocking(a.clone(), args(&["remove", &beta])).await;
    assert!(err(&o).contains("synced (1 sent"), "{}", err(&o));
    let o = blocking(b.clone(), args(&["sync", "now"])).await;
    assert!(out(&o).contains("1 removed here"), "{}", out(&o));
    let o = blocking(b.clone(), args(&["sync", "deleted"])).await;
    let line = out(&o);
    assert!(line.contains("Beta (me)"), "{line}");
    let id = line.split_whitespace().next().unwrap().to_owned();
    let o = blocking(b.clone(), args(&["sync", "restore", &id])).await;
    assert!(
        out(&o).contains("restored Beta (me)") && out(&o).contains("1 sent"),
        "{}{}",
        out(&o),
        err(&o)
    );
    let o = blocking(a.clone(), args(&["sync", "now"])).await;
    assert!(out(&o).contains("1 added,"), "{}", out(&o));
    let o = blocking(a.clone(), args(&["sync", "qr"])).await;
    assert!(out(&o).contains("scan with Countersign"), "{}", out(&o));
    let o = blocking(a.clone(), args(&["sync", "status"])).await;
    assert!(
        out(&o).contains("sync is on") && out(&o).contains("entries: 2"),
        "{}",
        out(&o)
    );
    // Delete everywhere from A: B keeps its data and stops.
    let o = blocking(a.clone(), args(&["sync", "delete"])).await;
    assert!(o.status.success(), "{}", err(&o));
    let o = blocking(
        b.clone(),
        args(&[
            "add",
            "otpauth://totp/Gamma:me?secret=MFRGGZDFMZTWQ2LK&issuer=Gamma",
        ]),
    )
    .await;
    assert!(
        o.status.success(),
        "the change itself succeeds: {}",
        err(&o)
    );
    assert!(err(&o).contains("warning: not synced now"), "{}", err(&o));
    let o = blocking(b.clone(), args(&["sync", "status"])).await;
    assert!(
        out(&o).contains("sync is stopped") && out(&o).contains("deleted from another device"),
        "{}",
        out(&o)
    );
    let o = blocking(b.clone(), args(&["list", "--json"])).await;
    let list: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    let o = blocking(b.clone(), args(&["sync", "leave"])).await;
    assert!(out(&o).contains("sync is off on this device"));
    let _ = server.shutdown().await;
}
