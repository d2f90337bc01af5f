//! `countersign export`: run the real binary; Google Authenticator QR codes
//! are decoded from the written images and re-imported into a fresh vault.

use countersign_core::uri::parse_migration;
use countersign_core::SecretBytes;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common;
use common::{err, run};

/// A fixed time for comparing codes between vaults.
const AT: &str = "1700000000";

fn ok(vault: &Path, args: &[&str], stdin: &str) -> Output {
    let o = run(vault, args, stdin);
    assert!(o.status.success(), "{args:?} failed: {}", err(&o));
    o
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// `n` distinct TOTP/HOTP/8-digit accounts as otpauth:// lines.
fn uris(n: usize) -> String {
    (0..n)
        .map(|i| {
            let secret = SecretBytes::new(format!("seed-{i:04}-abcdefghij").into_bytes());
            let b32 = secret.to_base32();
            let base = format!(
                "Issuer{i}:user{i}@example.com?secret={}&issuer=Issuer{i}",
                &*b32
            );
            match i % 3 {
                0 => format!("otpauth://totp/{base}\n"),
                1 => format!("otpauth://hotp/{base}&counter={}\n", i * 10),
                _ => format!("otpauth://totp/{base}&digits=8&algorithm=SHA256\n"),
            }
        })
        .collect()
}

/// issuer:account → code at [`AT`].
fn codes(vault: &Path) -> BTreeMap<String, String> {
    let o = ok(vault, &["codes", "--at", AT, "--json"], "");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!("{}:{}", p["issuer"], p["account"]),
                p["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn decode_png(path: &Path) -> String {
    let img = image::open(path).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "{}", path.display());
    grids[0].decode().unwrap().1
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn google_qr_png_round_trip_skips_steam() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let steam = SecretBytes::new(b"steam-seed-0123456789".to_vec()).to_base32();
    let input = format!(
        "{}otpauth://totp/Steam:gamer?secret={}&issuer=Steam&encoder=steam\n",
        uris(4),
        &*steam
    );
    ok(&a, &["add", "-"], &input);
    let qr_dir = dir.path().join("qr");
    let o = ok(
        &a,
        &[
            "export",
            "--format",
            "google-qr",
            "--out",
            qr_dir.to_str().unwrap(),
        ],
        "",
    );
    let png = qr_dir.join("countersign-export-1.png");
    assert_eq!(files(&qr_dir), std::slice::from_ref(&png));
    assert!(stdout(&o).contains(png.to_str().unwrap()), "{}", stdout(&o));
    assert!(
        err(&o).contains("skipped Steam (gamer)") && err(&o).contains("Steam accounts"),
        "{}",
        err(&o)
    );

    let uri = decode_png(&png);
    assert!(uri.starts_with("otpauth-migration://offline?data="));
    let b = dir.path().join("b.db");
    ok(&b, &["add", "-"], &format!("{uri}\n"));
    let mut want = codes(&a);
    assert!(want.remove("\"Steam\":\"gamer\"").is_some(), "{want:?}");
    assert_eq!(codes(&b), want);
    assert_eq!(want.len(), 4);
}

#[test]
fn twenty_five_profiles_make_three_batches() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    ok(&a, &["add", "-"], &uris(25));
    let qr_dir = dir.path().join("qr");
    let o = ok(
        &a,
        &[
            "export",
            "--format",
            "google-qr",
            "--out",
            qr_dir.to_str().unwrap(),
        ],
        "",
    );
    assert!(err(&o).is_empty(), "{}", err(&o));
    let pngs = files(&qr_dir);
    assert_eq!(pngs.len(), 3, "{pngs:?}");
    let decoded: Vec<String> = pngs.iter().map(|p| decode_png(p)).collect();
    let mut batch_id = None;
    for (i, uri) in decoded.iter().enumerate() {
        let b = parse_migration(uri).unwrap();
        assert_eq!(
            (b.version, b.batch_size, b.batch_index),
            (1, 3, i as i32),
            "{}",
            pngs[i].display()
        );
        assert_eq!(*batch_id.get_or_insert(b.batch_id), b.batch_id);
        assert_eq!(b.entries.len(), if i < 2 { 10 } else { 5 });
        assert!(b.entries.iter().all(Result::is_ok));
    }
    let b = dir.path().join("b.db");
    ok(&b, &["add", "-"], &(decoded.join("\n") + "\n"));
    assert_eq!(codes(&b), codes(&a));
}

#[test]
fn google_qr_in_terminal_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    ok(&a, &["add", "-"], &uris(12));
    let o = ok(&a, &["export", "--format", "google-qr"], "");
    let text = stdout(&o);
    assert!(
        text.contains("QR 1 of 2") && text.contains("QR 2 of 2"),
        "{text}"
    );
    assert!(text.contains('█') || text.contains('▀'), "{text}");

    let svg_dir = dir.path().join("svg");
    ok(
        &a,
        &[
            "export",
            "--format",
            "google-qr",
            "--image",
            "svg",
            "--out",
            svg_dir.to_str().unwrap(),
        ],
        "",
    );
    let svgs = files(&svg_dir);
    assert_eq!(
        svgs,
        [
            svg_dir.join("countersign-export-1.svg"),
            svg_dir.join("countersign-export-2.svg")
        ]
    );
    for f in &svgs {
        let s = std::fs::read_to_string(f).unwrap();
        let s = s.trim_start();
        assert!(s.starts_with("<?xml") || s.starts_with("<svg"), "{s:.80}");
        assert!(s.trim_end().ends_with("</svg>"));
    }
}

#[test]
fn nothing_exportable_fails() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let o = run(&a, &["export", "--format", "google-qr"], "");
    assert!(!o.status.success());
    assert!(err(&o).contains("no profiles to export"), "{}", err(&o));
    ok(
        &a,
        &[
            "add",
            "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&period=60",
        ],
        "",
    );
    let o = run(&a, &["export", "--format", "google-qr"], "");
    assert!(!o.status.success());
    assert!(err(&o).contains("period 60"), "{}", err(&o));
}

#[test]
fn backup_format_round_trips_and_options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    ok(&a, &["add", "-"], &uris(3));
    let file = dir.path().join("export.countersign");
    let f = file.to_str().unwrap();
    ok(
        &a,
        &[
            "export",
            "--format",
            "backup",
            "--out",
            f,
            "--password-stdin",
        ],
        "a long backup password\n",
    );
    let b = dir.path().join("b.db");
    ok(
        &b,
        &["backup", "restore", f, "--password-stdin"],
        "a long backup password\n",
    );
    assert_eq!(codes(&b), codes(&a));

    for args in [
        &["export", "--format", "backup"][..],
        &["export", "--format", "otpauth", "--out", f],
        &["export", "--format", "otpauth", "--image", "svg"],
        &["export", "--format", "google-qr", "--password-stdin"],
        &["export", "--format", "google-qr", "--image", "svg"],
    ] {
        let o = run(&a, args, "");
        assert!(!o.status.success(), "{args:?}");
        assert!(!err(&o).is_empty(), "{args:?}");
    }
}
