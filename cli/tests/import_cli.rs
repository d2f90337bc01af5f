//! `countersign import` with other authenticators' exports: run the real
//! binary on the core's fixtures (`core/src/import/testdata/`).

use std::path::{Path, PathBuf};

mod common;
use common::{err, out, run};

/// Password of the encrypted fixtures' Aegis vault.
const AEGIS_PASSWORD: &str = "correct horse battery staple";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/src/import/testdata")
        .join(name)
}

fn count(vault: &Path, passcode: &str) -> usize {
    let o = run(vault, &["--passcode-stdin", "list", "--json"], passcode);
    assert!(o.status.success(), "{}", err(&o));
    serde_json::from_str::<serde_json::Value>(&out(&o))
        .unwrap()
        .as_array()
        .unwrap()
        .len()
}

fn aegis_encrypted() -> String {
    fixture("aegis_encrypted.json").to_str().unwrap().to_owned()
}

#[test]
fn aegis_encrypted_with_password_stdin_then_reimport_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.db");
    let file = aegis_encrypted();
    let o = run(
        &vault,
        &["import", &file, "--password-stdin"],
        &format!("{AEGIS_PASSWORD}\n"),
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains("imported 3 from Aegis (encrypted)"),
        "{}",
        out(&o)
    );
    // The Yandex and MD5 entries are listed as skipped, with reasons.
    assert!(
        err(&o).contains("skipped entry 4") && err(&o).contains("yandex"),
        "{}",
        err(&o)
    );
    assert!(
        err(&o).contains("skipped entry 5") && err(&o).contains("MD5"),
        "{}",
        err(&o)
    );
    assert_eq!(count(&vault, ""), 3);

    // Again: duplicates are skipped, not doubled.
    let o = run(
        &vault,
        &["import", &file, "--format", "aegis", "--password-stdin"],
        &format!("{AEGIS_PASSWORD}\n"),
    );
    assert!(!o.status.success());
    assert!(err(&o).contains("already in the vault"), "{}", err(&o));
    assert_eq!(count(&vault, ""), 3);
}

#[test]
fn wrong_password_fails_and_leaves_the_vault_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.db");
    let plain = fixture("2fas_plain.2fas");
    let o = run(&vault, &["import", plain.to_str().unwrap()], "");
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("imported 3 from 2FAS"), "{}", out(&o));
    assert_eq!(count(&vault, ""), 3);

    let o = run(
        &vault,
        &["import", &aegis_encrypted(), "--password-stdin"],
        "not the password\n",
    );
    assert!(!o.status.success());
    let e = err(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(e.contains("wrong password for this Aegis vault"), "{e}");
    assert_eq!(count(&vault, ""), 3);

    // No password line at all: a distinct message.
    let o = run(
        &vault,
        &["import", &aegis_encrypted(), "--password-stdin"],
        "",
    );
    assert!(!o.status.success());
    assert!(err(&o).contains("password is required"), "{}", err(&o));
}

#[test]
fn passcode_first_then_export_password() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.db");
    let o = run(&vault, &["passcode", "set", "--passcode-stdin"], "1234\n");
    assert!(o.status.success(), "{}", err(&o));
    let o = run(
        &vault,
        &[
            "--passcode-stdin",
            "import",
            &aegis_encrypted(),
            "--password-stdin",
        ],
        &format!("1234\n{AEGIS_PASSWORD}\n"),
    );
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(count(&vault, "1234\n"), 3);
}

#[test]
fn every_plain_fixture_imports() {
    for (name, format, want) in [
        ("otpauth_list.txt", "auto", 3),
        ("google_migration.txt", "otpauth", 2),
        ("aegis_plain_v1.json", "auto", 2),
        ("andotp_plain.json", "andotp", 3),
        ("bitwarden.json", "auto", 3),
        ("bitwarden.csv", "bitwarden", 3),
        ("freeotp_plus.json", "freeotp-plus", 2),
        ("ente_plain.txt", "ente", 2),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("v.db");
        let f = fixture(name);
        let o = run(
            &vault,
            &["import", f.to_str().unwrap(), "--format", format],
            "",
        );
        assert!(o.status.success(), "{name}: {}", err(&o));
        assert_eq!(count(&vault, ""), want, "{name}");
    }
}

#[test]
fn wrong_format_and_garbage_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.db");
    let f = fixture("freeotp_plus.json");
    let o = run(
        &vault,
        &["import", f.to_str().unwrap(), "--format", "aegis"],
        "",
    );
    assert!(!o.status.success());
    assert_eq!(err(&o).trim_end().lines().count(), 1, "{}", err(&o));
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, [0u8, 159, 146, 150, 1, 2, 3]).unwrap();
    let o = run(&vault, &["import", junk.to_str().unwrap()], "");
    assert!(!o.status.success());
    assert_eq!(err(&o).trim_end().lines().count(), 1, "{}", err(&o));
}
