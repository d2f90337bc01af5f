//! `countersign backup create|restore` on the real binary and real files.
//! These use the real (64 MiB) KDF, so each command takes a moment.

use std::path::Path;

use crate::common;
use common::{err, out, run};

const PW: &str = "a long backup password";

fn ok(vault: &Path, args: &[&str], stdin: &str) -> String {
    let o = run(vault, args, stdin);
    assert!(
        o.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn list(vault: &Path, passcode: Option<&str>) -> serde_json::Value {
    let out = match passcode {
        Some(p) => ok(
            vault,
            &["--passcode-stdin", "list", "--json"],
            &format!("{p}\n"),
        ),
        None => ok(vault, &["list", "--json"], ""),
    };
    serde_json::from_str(&out).unwrap()
}

fn seed(vault: &Path, n: usize) {
    let uris: String = (0..n)
        .map(|i| {
            format!(
                "otpauth://totp/Issuer{i}:user{i}@example.com?secret=JBSWY3DPEHPK3PX{}&issuer=Issuer{i}\n",
                ['A', 'B', 'C', 'D', 'E', 'F', 'G'][i]
            )
        })
        .collect();
    ok(vault, &["add", "-"], &uris);
}

#[test]
fn create_restore_merge_and_recovery_code() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    let file = dir.path().join("backup.csbk");
    let f = file.to_str().unwrap();
    seed(&a, 3);

    let out = ok(
        &a,
        &["backup", "create", f, "--password-stdin", "--recovery-code"],
        &format!("{PW}\n"),
    );
    assert!(out.contains("verified"), "{out}");
    let code = out
        .lines()
        .find(|l| l.len() == 29 && l.matches('-').count() == 5)
        .unwrap_or_else(|| panic!("no recovery code in {out}"))
        .to_owned();
    assert_eq!(&std::fs::read(&file).unwrap()[..4], b"CSBK");

    let out = ok(
        &b,
        &["backup", "restore", f, "--password-stdin"],
        &format!("{PW}\n"),
    );
    assert!(out.contains("restored 3 profile(s), skipped 0"), "{out}");
    assert_eq!(list(&a, None), strip_ids(list(&b, None), &list(&a, None)));

    // Again, with the recovery code: everything is already there.
    let out = ok(
        &b,
        &["backup", "restore", f, "--password-stdin"],
        &format!("{}\n", code.to_lowercase()),
    );
    assert!(out.contains("restored 0 profile(s), skipped 3"), "{out}");
    assert_eq!(list(&b, None).as_array().unwrap().len(), 3);
}

/// `b`'s list with `a`'s ids and timestamps, for comparing content.
fn strip_ids(mut b: serde_json::Value, a: &serde_json::Value) -> serde_json::Value {
    for (pb, pa) in b
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(a.as_array().unwrap())
    {
        for k in ["id", "created_at", "updated_at"] {
            if let Some(v) = pa.get(k) {
                pb[k] = v.clone();
            }
        }
    }
    b
}

#[test]
fn wrong_password_fails_cleanly_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    let file = dir.path().join("backup.csbk");
    let f = file.to_str().unwrap();
    seed(&a, 2);
    ok(
        &a,
        &["backup", "create", f, "--password-stdin"],
        &format!("{PW}\n"),
    );
    seed(&b, 1);
    let before = list(&b, None);
    let o = run(
        &b,
        &["backup", "restore", f, "--password-stdin"],
        "not the password\n",
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("wrong backup password"), "{err}");
    assert_eq!(list(&b, None), before);

    // Not a backup at all.
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"hello, world").unwrap();
    let o = run(
        &b,
        &[
            "backup",
            "restore",
            junk.to_str().unwrap(),
            "--password-stdin",
        ],
        &format!("{PW}\n"),
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a Countersign backup"));
    assert_eq!(list(&b, None), before);
}

#[test]
fn passcode_line_comes_before_password_line() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    let file = dir.path().join("backup.csbk");
    let f = file.to_str().unwrap();
    seed(&a, 2);
    ok(&a, &["passcode", "set", "--passcode-stdin"], "1234\n");
    ok(
        &a,
        &[
            "--passcode-stdin",
            "backup",
            "create",
            f,
            "--password-stdin",
        ],
        &format!("1234\n{PW}\n"),
    );
    ok(&b, &["passcode", "set", "--passcode-stdin"], "5678\n");
    let out = ok(
        &b,
        &[
            "--passcode-stdin",
            "backup",
            "restore",
            f,
            "--password-stdin",
        ],
        &format!("5678\n{PW}\n"),
    );
    assert!(out.contains("restored 2 profile(s)"), "{out}");
    assert_eq!(list(&b, Some("5678")).as_array().unwrap().len(), 2);
    // A missing password line is an error, not a prompt.
    let o = run(
        &b,
        &[
            "--passcode-stdin",
            "backup",
            "restore",
            f,
            "--password-stdin",
        ],
        "5678\n",
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing backup password"));
}

#[test]
fn short_password_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let file = dir.path().join("backup.csbk");
    seed(&a, 1);
    let o = run(
        &a,
        &[
            "backup",
            "create",
            file.to_str().unwrap(),
            "--password-stdin",
        ],
        "short\n",
    );
    assert!(!o.status.success());
    assert!(!file.exists());
}

#[test]
fn automatic_backups_after_each_change_keep_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.db");
    let auto = dir.path().join("auto");
    let o = run(
        &vault,
        &["add", "otpauth://totp/A:a?secret=JBSWY3DPEHPK3PXP&issuer=A"],
        "",
    );
    assert!(o.status.success(), "{}", err(&o));
    let o = run(&vault, &["backup", "auto", "status"], "");
    assert_eq!(out(&o).trim(), "automatic backups are off");
    let o = run(
        &vault,
        &[
            "backup",
            "auto",
            "enable",
            auto.to_str().unwrap(),
            "--keep",
            "2",
            "--password-stdin",
        ],
        "auto-password\n",
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains("first one written and verified"),
        "{}",
        out(&o)
    );
    // Each change writes one; a read-only command writes none.
    let o = run(
        &vault,
        &["add", "otpauth://totp/B:b?secret=GEZDGNBVGY3TQOJQ&issuer=B"],
        "",
    );
    assert!(err(&o).contains("automatic backup: "), "{}", err(&o));
    let o = run(&vault, &["codes"], "");
    assert!(!err(&o).contains("automatic backup"), "{}", err(&o));
    let o = run(&vault, &["backup", "auto", "status"], "");
    assert!(out(&o).contains("(keeping 2), 2 file(s)"), "{}", out(&o));
    // The newest holds both profiles and opens with the password in a new vault.
    let newest = out(&o).lines().nth(1).unwrap().trim().to_owned();
    let other = dir.path().join("other.db");
    let o = run(
        &other,
        &["backup", "restore", &newest, "--password-stdin"],
        "auto-password\n",
    );
    assert!(
        out(&o).contains("restored 2 profile(s)"),
        "{}{}",
        out(&o),
        err(&o)
    );
    // A third change prunes the oldest; off keeps the files.
    let o = run(&vault, &["rename", &first_id(&vault), "--issuer", "A2"], "");
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(std::fs::read_dir(&auto).unwrap().count(), 2);
    let o = run(&vault, &["backup", "auto", "disable"], "");
    assert!(out(&o).contains("automatic backups off"));
    run(
        &vault,
        &["add", "otpauth://totp/C:c?secret=GEZDGNBVGY3TQOJR&issuer=C"],
        "",
    );
    assert_eq!(std::fs::read_dir(&auto).unwrap().count(), 2);
}

fn first_id(vault: &std::path::Path) -> String {
    let o = run(vault, &["list", "--json"], "");
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    v[0]["id"].as_str().unwrap().to_owned()
}

#[test]
fn settings_command_shows_and_changes() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.db");
    let o = run(&vault, &["settings", "--json"], "");
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v[0]["screen_lock_after_approve"], true);
    let o = run(
        &vault,
        &[
            "settings",
            "--screen-lock-after-approve",
            "off",
            "--reauth-timeout",
            "30",
        ],
        "",
    );
    assert!(
        out(&o).contains("screen lock after approve: off\nre-auth timeout: 30 s"),
        "{}",
        out(&o)
    );
    let o = run(&vault, &["settings", "--reauth-timeout", "99999999"], "");
    assert!(!o.status.success());
    let o = run(&vault, &["settings", "--json"], "");
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(
        (
            v[0]["screen_lock_after_approve"].clone(),
            v[0]["reauth_timeout_s"].clone()
        ),
        (serde_json::json!(false), serde_json::json!(30))
    );
}

#[test]
fn import_reads_our_own_backup_too() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.db");
    let file = dir.path().join("b.csbk");
    let o = run(
        &vault,
        &["add", "otpauth://totp/A:a?secret=JBSWY3DPEHPK3PXP&issuer=A"],
        "",
    );
    assert!(o.status.success(), "{}", err(&o));
    let o = run(
        &vault,
        &[
            "backup",
            "create",
            file.to_str().unwrap(),
            "--password-stdin",
        ],
        "import-password\n",
    );
    assert!(o.status.success(), "{}", err(&o));
    let other = dir.path().join("other.db");
    let o = run(
        &other,
        &["import", file.to_str().unwrap(), "--password-stdin"],
        "wrong-password\n",
    );
    assert!(!o.status.success());
    assert!(err(&o).contains("wrong backup password"), "{}", err(&o));
    let o = run(
        &other,
        &["import", file.to_str().unwrap(), "--password-stdin"],
        "import-password\n",
    );
    assert!(
        out(&o).contains("restored 1 profile(s)"),
        "{}{}",
        out(&o),
        err(&o)
    );
    let o = run(
        &other,
        &[
            "import",
            file.to_str().unwrap(),
            "--format",
            "countersign",
            "--password-stdin",
        ],
        "import-password\n",
    );
    assert!(
        out(&o).contains("restored 0 profile(s), skipped 1"),
        "{}",
        out(&o)
    );
}
