//! `countersign import` with other authenticators' exports: run the real
//! binary on the core's fixtures (`core/src/import/testdata/`).

use std::path::{Path, PathBuf};

use crate::common;
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

/// Password of the Ente Auth encrypted fixture (`core/src/import/ente.rs`).
const ENTE_PASSWORD: &str = "ente-fixture-password";

/// Password of the Raivo fixture (`core/src/import/raivo.rs`).
const RAIVO_PASSWORD: &str = "raivo-fixture-password";

#[test]
fn ente_encrypted_and_raivo_import_with_their_passwords() {
    for (name, format, password, from) in [
        (
            "ente_encrypted.json",
            "auto",
            ENTE_PASSWORD,
            "Ente Auth (encrypted)",
        ),
        (
            "ente_encrypted.json",
            "ente",
            ENTE_PASSWORD,
            "Ente Auth (encrypted)",
        ),
        ("raivo.zip", "auto", RAIVO_PASSWORD, "Raivo"),
        ("raivo.zip", "raivo", RAIVO_PASSWORD, "Raivo"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("v.db");
        let f = fixture(name);
        let o = run(
            &vault,
            &[
                "import",
                f.to_str().unwrap(),
                "--format",
                format,
                "--password-stdin",
            ],
            &format!("{password}\n"),
        );
        assert!(o.status.success(), "{name}: {}", err(&o));
        assert!(
            out(&o).contains(&format!("imported 3 from {from}")),
            "{name}: {}",
            out(&o)
        );
        // The MD5 account is skipped with its reason.
        assert!(
            err(&o).contains("skipped entry 4") && err(&o).contains("MD5"),
            "{name}: {}",
            err(&o)
        );
        assert_eq!(count(&vault, ""), 3, "{name}");
    }
}

#[test]
fn ente_and_raivo_errors_leave_the_vault_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.db");
    let plain = fixture("2fas_plain.2fas");
    let o = run(&vault, &["import", plain.to_str().unwrap()], "");
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(count(&vault, ""), 3);
    let before = out(&run(&vault, &["list", "--json"], ""));

    let raivo = std::fs::read(fixture("raivo.zip")).unwrap();
    let mut truncated_raivo = raivo.clone();
    truncated_raivo.truncate(raivo.len() / 2);
    let ente = std::fs::read(fixture("ente_encrypted.json")).unwrap();
    let mut flipped_ente: serde_json::Value = serde_json::from_slice(&ente).unwrap();
    let data = flipped_ente["encryptedData"].as_str().unwrap().to_owned();
    let first = if data.starts_with('A') { "B" } else { "A" };
    flipped_ente["encryptedData"] = format!("{first}{}", &data[1..]).into();
    let flipped_ente = serde_json::to_vec(&flipped_ente).unwrap();

    for (label, bytes, password, want) in [
        (
            "ente wrong password",
            ente.clone(),
            "not it",
            "wrong password for this Ente Auth export",
        ),
        ("ente no password", ente, "", "password is required"),
        (
            "ente flipped ciphertext",
            flipped_ente,
            ENTE_PASSWORD,
            "damaged",
        ),
        (
            "raivo wrong password",
            raivo.clone(),
            "not it",
            "wrong password for this Raivo export",
        ),
        ("raivo no password", raivo, "", "password is required"),
        (
            "raivo truncated",
            truncated_raivo,
            RAIVO_PASSWORD,
            "corrupted Raivo export",
        ),
    ] {
        let f = dir.path().join("export.bin");
        std::fs::write(&f, &bytes).unwrap();
        let stdin = if password.is_empty() {
            String::new()
        } else {
            format!("{password}\n")
        };
        let o = run(
            &vault,
            &["import", f.to_str().unwrap(), "--password-stdin"],
            &stdin,
        );
        assert!(!o.status.success(), "{label}");
        let e = err(&o);
        assert_eq!(e.trim_end().lines().count(), 1, "{label}: {e}");
        assert!(e.contains(want), "{label}: {e}");
        assert_eq!(
            out(&run(&vault, &["list", "--json"], "")),
            before,
            "{label}"
        );
    }

    // A ZIP that is not a Raivo export.
    let not_raivo = dir.path().join("other.zip");
    std::fs::write(&not_raivo, raivo_like_zip_without_json()).unwrap();
    let o = run(
        &vault,
        &["import", not_raivo.to_str().unwrap(), "--password-stdin"],
        "pw\n",
    );
    assert!(!o.status.success());
    assert!(
        err(&o).contains("holds no raivo-otp-export.json"),
        "{}",
        err(&o)
    );
    assert_eq!(out(&run(&vault, &["list", "--json"], "")), before);
}

/// A minimal stored (uncompressed, unencrypted) ZIP holding `notes.txt`.
fn raivo_like_zip_without_json() -> Vec<u8> {
    let name = b"notes.txt";
    let data = b"hello";
    let crc = crc32(data);
    let mut z = Vec::new();
    // Local file header.
    z.extend_from_slice(b"PK\x03\x04");
    z.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    z.extend_from_slice(&crc.to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&[0, 0]);
    z.extend_from_slice(name);
    z.extend_from_slice(data);
    let cd = z.len() as u32;
    // Central directory header.
    z.extend_from_slice(b"PK\x01\x02");
    z.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    z.extend_from_slice(&crc.to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(data.len() as u32).to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&[0; 12]);
    z.extend_from_slice(&0u32.to_le_bytes());
    z.extend_from_slice(name);
    let cd_len = z.len() as u32 - cd;
    // End of central directory.
    z.extend_from_slice(b"PK\x05\x06");
    z.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    z.extend_from_slice(&cd_len.to_le_bytes());
    z.extend_from_slice(&cd.to_le_bytes());
    z.extend_from_slice(&[0, 0]);
    z
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
