//! The CLI contract (README "CLI"): run the real binary on real vault files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common;
use common::BIN;

/// RFC 6238 SHA1 seed "12345678901234567890" in base32.
const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

struct Env {
    _dir: tempfile::TempDir,
    vault: PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.db");
    Env { _dir: dir, vault }
}

fn run_in(vault: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    common::run(vault, args, stdin.unwrap_or(""))
}

impl Env {
    fn run(&self, args: &[&str]) -> Output {
        run_in(&self.vault, args, None)
    }
    fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        run_in(&self.vault, args, Some(stdin))
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
    fn codes_json(&self, at: i64) -> Vec<serde_json::Value> {
        let s = self.ok(&["codes", "--at", &at.to_string(), "--json"]);
        serde_json::from_str::<serde_json::Value>(&s)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
    fn vault_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.vault).unwrap()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn add_and_codes_match_rfc6238() {
    let e = env();
    e.ok(&[
        "add",
        &format!("otpauth://totp/ACME:alice@example.com?secret={RFC_SECRET}&issuer=ACME&digits=8"),
    ]);
    let rows = e.codes_json(59);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["code"], "94287082");
    assert_eq!(r["issuer"], "ACME");
    assert_eq!(r["account"], "alice@example.com");
    assert_eq!(r["type"], "totp");
    assert_eq!(r["algorithm"], "sha1");
    assert_eq!(r["digits"], 8);
    assert_eq!(r["period"], 30);
    assert_eq!(r["valid_for_s"], 1);
    assert!(r["id"].as_str().unwrap().len() >= 8);
    assert_eq!(e.codes_json(1111111109)[0]["code"], "07081804");
}

#[test]
fn hotp_counter_and_next() {
    let e = env();
    e.ok(&[
        "add",
        &format!("otpauth://hotp/H:h?secret={RFC_SECRET}&counter=5"),
    ]);
    let rows = e.codes_json(0);
    assert_eq!(rows[0]["type"], "hotp");
    assert_eq!(rows[0]["counter"], 5);
    assert_eq!(rows[0]["code"], "254676");
    let id = rows[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(e.ok(&["next", &id]).trim(), "287922");
    assert_eq!(e.codes_json(0)[0]["code"], "287922");
    assert_eq!(e.ok(&["next", &id[..6]]).trim(), "162583");
}

#[test]
fn steam_codes() {
    let e = env();
    e.ok(&[
        "add",
        &format!("otpauth://totp/Steam:gamer?secret={RFC_SECRET}&encoder=steam"),
    ]);
    let r = &e.codes_json(59)[0];
    assert_eq!(r["type"], "steam");
    let code = r["code"].as_str().unwrap();
    assert_eq!(code.len(), 5);
    assert!(code
        .chars()
        .all(|c| "23456789BCDFGHJKMNPQRTVWXY".contains(c)));
}

#[test]
fn stdin_import_query_list_rename_remove_export() {
    let e = env();
    let uris = format!(
        "otpauth://totp/GitHub:octo?secret={RFC_SECRET}\n\n# comment\notpauth://totp/Mail:me?secret=JBSWY3DPEHPK3PXP&period=60\n"
    );
    e.run_stdin(&["add", "-"], &uris);
    assert_eq!(e.codes_json(0).len(), 2);
    let only = e.ok(&["codes", "git", "--json"]);
    let only: Vec<serde_json::Value> = serde_json::from_str(&only).unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["issuer"], "GitHub");
    let list: Vec<serde_json::Value> = serde_json::from_str(&e.ok(&["list", "--json"])).unwrap();
    assert_eq!(list.len(), 2);
    let id = list[1]["id"].as_str().unwrap().to_owned();
    assert_eq!(list[1]["period"], 60);
    e.ok(&["rename", &id, "--issuer", "Post", "--account", "me@post"]);
    let list: Vec<serde_json::Value> = serde_json::from_str(&e.ok(&["list", "--json"])).unwrap();
    assert_eq!(list[1]["issuer"], "Post");

    let exported = e.ok(&["export", "--format", "otpauth"]);
    let lines: Vec<&str> = exported.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l.starts_with("otpauth://totp/")));
    // The export re-imports into a fresh vault with identical codes.
    let f = env();
    let o = f.run_stdin(&["add", "-"], &exported);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        f.codes_json(1234)
            .iter()
            .map(|r| r["code"].clone())
            .collect::<Vec<_>>(),
        e.codes_json(1234)
            .iter()
            .map(|r| r["code"].clone())
            .collect::<Vec<_>>()
    );

    e.ok(&["remove", &id]);
    assert_eq!(e.codes_json(0).len(), 1);
}

#[test]
fn import_file_with_migration_batches() {
    let e = env();
    // Two Google Authenticator export QR payloads (batch 0 and 1 of 2) plus a plain URI.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("uris.txt");
    std::fs::write(
        &file,
        format!(
            "{}\n{}\notpauth://totp/Plain:p?secret=JBSWY3DPEHPK3PXP\n",
            migration_fixture(0),
            migration_fixture(1)
        ),
    )
    .unwrap();
    let o = e.run(&["import", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = e.codes_json(59);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().any(|r| r["issuer"] == "Plain"));
    // Importing again adds nothing and says so.
    let o = e.run(&["import", file.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("already"), "{}", stderr(&o));
    assert_eq!(e.codes_json(59).len(), 3);
}

/// A real `otpauth-migration` payload made from the published protobuf
/// layout: one TOTP entry per batch (batch_size 2).
fn migration_fixture(index: u8) -> String {
    // OtpParameters { secret, name, issuer, algorithm=SHA1, digits=SIX, type=TOTP }
    let secret: Vec<u8> = format!("migration-seed-{index}").into_bytes();
    let name = format!("user{index}@example.com");
    let issuer = format!("Batch{index}");
    let mut otp = Vec::new();
    otp.push(0x0a);
    otp.push(secret.len() as u8);
    otp.extend_from_slice(&secret);
    otp.push(0x12);
    otp.push(name.len() as u8);
    otp.extend_from_slice(name.as_bytes());
    otp.push(0x1a);
    otp.push(issuer.len() as u8);
    otp.extend_from_slice(issuer.as_bytes());
    otp.extend_from_slice(&[0x20, 1, 0x28, 1, 0x30, 2]);
    let mut payload = vec![0x0a, otp.len() as u8];
    payload.extend_from_slice(&otp);
    payload.extend_from_slice(&[0x10, 1, 0x18, 2, 0x20, index, 0x28, 7]);
    let b64 = base64_std(&payload);
    let enc: String = b64
        .chars()
        .map(|c| match c {
            '+' => "%2B".to_owned(),
            '/' => "%2F".to_owned(),
            '=' => "%3D".to_owned(),
            c => c.to_string(),
        })
        .collect();
    format!("otpauth-migration://offline?data={enc}")
}

fn base64_std(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[test]
fn bad_input_fails_cleanly_and_changes_nothing() {
    let e = env();
    e.ok(&["add", &format!("otpauth://totp/A:a?secret={RFC_SECRET}")]);
    let before = e.vault_bytes();
    let cases: &[&[&str]] = &[
        &["add", "https://example.com/not-otpauth"],
        &["add", "otpauth://totp/A:b?secret=!!!notbase32"],
        &["add", "otpauth://totp/A:b?issuer=x"],
        &["add", "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&digits=4"],
        &["add", "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&period=0"],
        &[
            "add",
            "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
        ],
        &["add", "otpauth://yotp/A:b?secret=JBSWY3DPEHPK3PXP"],
        &["add", &format!("otpauth://totp/A:a?secret={RFC_SECRET}")], // duplicate
        &["next", "nosuchid"],
        &["remove", "nosuchid"],
        &["rename", "nosuchid", "--issuer", "x"],
        &["qr", "nosuchid"],
        &["add", "--qr", "/nonexistent.png"],
        &["import", "/nonexistent.txt"],
    ];
    for args in cases {
        let o = e.run(args);
        assert!(!o.status.success(), "{args:?} should fail");
        let err = stderr(&o);
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: one line expected, got {err:?}"
        );
        assert!(err.starts_with("countersign: "), "{err}");
        assert!(!err.contains(RFC_SECRET), "secret leaked: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let huge = format!("otpauth://totp/A:b?secret={}", "A".repeat(100_000));
    let o = e.run(&["add", &huge]);
    assert!(!o.status.success());
    assert_eq!(e.vault_bytes(), before, "vault changed by bad input");
    assert_eq!(e.codes_json(0).len(), 1);
}

#[test]
fn passcode_lifecycle_with_stdin() {
    let e = env();
    e.ok(&["add", &format!("otpauth://totp/A:a?secret={RFC_SECRET}")]);
    let o = e.run_stdin(&["passcode", "set", "--passcode-stdin"], "1234\n");
    assert!(o.status.success(), "{}", stderr(&o));
    // Now every command needs it.
    let o = e.run_stdin(&["--passcode-stdin", "codes", "--json"], "9999\n");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("wrong passcode"), "{}", stderr(&o));
    let o = e.run_stdin(
        &["--passcode-stdin", "codes", "--json", "--at", "59"],
        "1234\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("287082"));
    let o = e.run_stdin(
        &["passcode", "change", "--passcode-stdin"],
        "1234\n567890\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = e.run_stdin(&["passcode", "remove", "--passcode-stdin"], "1234\n");
    assert!(!o.status.success());
    let o = e.run_stdin(&["passcode", "remove", "--passcode-stdin"], "567890\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(e.codes_json(59)[0]["code"], "287082");
    let o = e.run_stdin(&["passcode", "set", "--passcode-stdin"], "12\n");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("4 to 8 digits"), "{}", stderr(&o));
}

#[test]
fn qr_renders_and_decodes_back() {
    let e = env();
    e.ok(&["add", &format!("otpauth://totp/QR:q?secret={RFC_SECRET}")]);
    let id = e.codes_json(0)[0]["id"].as_str().unwrap().to_owned();
    let art = e.ok(&["qr", &id]);
    assert!(
        art.contains('█') || art.contains('▀') || art.contains('▄'),
        "{art}"
    );
    // Render the same URI to a PNG, then add it with --qr into a new vault.
    let uri = e.ok(&["export", "--format", "otpauth"]).trim().to_owned();
    let code = qrcode::QrCode::new(uri.as_bytes()).unwrap();
    let img = code
        .render::<image::Luma<u8>>()
        .min_dimensions(300, 300)
        .build();
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("qr.png");
    img.save(&png).unwrap();
    let f = env();
    let o = f.run(&["add", "--qr", png.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(f.codes_json(59)[0]["code"], "287082");
    // An image with no QR code is a clear error.
    let blank = image::GrayImage::from_pixel(64, 64, image::Luma([255u8]));
    let blank_path = dir.path().join("blank.png");
    blank.save(&blank_path).unwrap();
    let o = f.run(&["add", "--qr", blank_path.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no readable QR code"));
}

#[test]
fn unreadable_vault_is_reported_and_kept() {
    let e = env();
    std::fs::write(&e.vault, b"garbage garbage garbage").unwrap();
    let o = e.run(&["list"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("cannot be read"), "{}", stderr(&o));
    assert_eq!(e.vault_bytes(), b"garbage garbage garbage");
}

#[test]
fn vault_from_environment() {
    let e = env();
    let o = Command::new(BIN)
        .env("COUNTERSIGN_VAULT", &e.vault)
        .args(["add", &format!("otpauth://totp/Env:e?secret={RFC_SECRET}")])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(e.codes_json(59)[0]["issuer"], "Env");
}
