//! Vault behaviour on real SQLite files.

use super::*;
use crate::otp::OtpParams;
use crate::profile::NewProfile;
use crate::secret::SecretBytes;
use std::sync::atomic::{AtomicUsize, Ordering};

const T0: i64 = 1_700_000_000;

fn fixture() -> (tempfile::TempDir, PathBuf, Arc<dyn KeyProtector>) {
    // /dev/shm when present: these tests fsync a lot and test logic, not disks.
    let dir = if Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm").unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let path = dir.path().join("vault.db");
    let prot: Arc<dyn KeyProtector> = Arc::new(SoftwareKeyProtector::beside(&path));
    (dir, path, prot)
}

fn new_vault() -> (tempfile::TempDir, Vault) {
    let (dir, path, prot) = fixture();
    let v = Vault::create(&path, prot, T0).unwrap();
    v.unlock(None, T0).unwrap();
    (dir, v)
}

fn profile(n: u32) -> NewProfile {
    NewProfile::new(
        &format!("Issuer{n}"),
        &format!("user{n}@example.com"),
        SecretBytes::new(format!("seed-number-{n:08}").into_bytes()),
        OtpParams::totp(),
    )
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn create_add_reopen_codes() {
    let (_d, path, prot) = fixture();
    let v = Vault::create(&path, prot.clone(), T0).unwrap();
    assert!(v.is_locked());
    assert!(matches!(v.list(), Err(AuthenticatorError::VaultLocked)));
    v.unlock(None, T0).unwrap();
    let p = v.add(profile(1), T0).unwrap();
    let code = v.code_at(&p.id, T0).unwrap();
    drop(v);

    let v = Vault::open(&path, prot).unwrap();
    assert!(v.is_locked());
    v.unlock(None, T0).unwrap();
    let list = v.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].issuer, "Issuer1");
    assert_eq!(
        list[0].secret,
        SecretBytes::new(b"seed-number-00000001".to_vec())
    );
    assert_eq!(v.code_at(&p.id, T0).unwrap(), code);
    assert!(matches!(
        Vault::create(&path, Arc::new(SoftwareKeyProtector::beside(&path)), T0),
        Err(AuthenticatorError::InvalidInput { .. })
    ));
}

#[test]
fn file_holds_no_plaintext() {
    let (_d, path, prot) = fixture();
    let v = Vault::create(&path, prot, T0).unwrap();
    v.unlock(None, T0).unwrap();
    v.add(profile(7), T0).unwrap();
    drop(v);
    let bytes = std::fs::read(&path).unwrap();
    let hay = String::from_utf8_lossy(&bytes);
    assert!(!hay.contains("Issuer7"));
    assert!(!hay.contains("seed-number"));
    assert!(!hay.contains("user7"));
}

#[test]
fn duplicates_and_limit() {
    let (_d, v) = new_vault();
    let a = v.add(profile(1), T0).unwrap();
    let mut same = profile(1);
    same.issuer = "Renamed".into();
    assert_eq!(
        v.add(same, T0),
        Err(AuthenticatorError::Duplicate {
            existing_id: a.id.clone()
        })
    );
    // Same seed with other digits is a different account.
    let mut eight = profile(1);
    eight.params.digits = 8;
    v.add(eight, T0).unwrap();

    let batch: Vec<_> = (2..600).map(profile).collect();
    let report = v.add_many(batch, T0).unwrap();
    assert_eq!(v.count().unwrap(), MAX_PROFILES);
    assert_eq!(report.added.len(), MAX_PROFILES - 2);
    assert!(report
        .skipped
        .iter()
        .all(|s| matches!(s.error, AuthenticatorError::LimitReached { limit: 500, .. })));
    assert_eq!(
        v.add(profile(1000), T0).unwrap_err(),
        AuthenticatorError::LimitReached {
            limit: 500,
            what: "OTP profiles".into()
        }
    );
}

#[test]
fn add_many_skips_inner_duplicates_and_invalid() {
    let (_d, v) = new_vault();
    let mut bad = profile(3);
    bad.params.digits = 4;
    let report = v
        .add_many(vec![profile(1), profile(1), bad, profile(2)], T0)
        .unwrap();
    assert_eq!(report.added.len(), 2);
    assert_eq!(report.skipped.len(), 2);
    assert!(matches!(
        report.skipped[0].error,
        AuthenticatorError::Duplicate { .. }
    ));
    assert!(matches!(
        report.skipped[1].error,
        AuthenticatorError::InvalidInput { .. }
    ));
}

#[test]
fn rename_reorder_remove_search() {
    let (_d, v) = new_vault();
    let ids: Vec<String> = (0..3).map(|n| v.add(profile(n), T0).unwrap().id).collect();
    v.rename(&ids[1], "GitHub", "octo", T0 + 1).unwrap();
    assert_eq!(v.search("github").unwrap().len(), 1);
    assert_eq!(v.search("ISSUER").unwrap().len(), 2);
    let rev: Vec<String> = ids.iter().rev().cloned().collect();
    v.reorder(&rev, T0 + 2).unwrap();
    let order: Vec<String> = v.list().unwrap().into_iter().map(|p| p.id).collect();
    assert_eq!(order, rev);
    assert!(v.reorder(&ids[..2], T0).is_err());
    assert!(v
        .reorder(&[ids[0].clone(), ids[0].clone(), ids[1].clone()], T0)
        .is_err());
    v.remove(&ids[0]).unwrap();
    assert_eq!(v.remove(&ids[0]), Err(AuthenticatorError::NotFound));
    assert_eq!(v.count().unwrap(), 2);
    assert!(matches!(
        v.rename(&ids[1], "x\u{7}", "", T0),
        Err(AuthenticatorError::InvalidInput { .. })
    ));
    // Order and names survive reopening.
    let path = v.path().to_owned();
    drop(v);
    let v = Vault::open(&path, Arc::new(SoftwareKeyProtector::beside(&path))).unwrap();
    v.unlock(None, T0).unwrap();
    let names: Vec<String> = v.list().unwrap().into_iter().map(|p| p.issuer).collect();
    assert_eq!(names, ["Issuer2", "GitHub"]);
}

#[test]
fn hotp_advance_persists() {
    let (_d, v) = new_vault();
    let mut p = NewProfile::new(
        "H",
        "h",
        SecretBytes::from_slice(b"12345678901234567890"),
        OtpParams::hotp(),
    );
    p.params.counter = 5;
    let id = v.add(p, T0).unwrap().id;
    assert_eq!(v.code_at(&id, T0).unwrap().code, "254676");
    assert_eq!(v.next_code_at(&id, T0).unwrap().code, "287922");
    assert_eq!(v.hotp_advance(&id, T0).unwrap().code, "287922");
    let path = v.path().to_owned();
    drop(v);
    let v = Vault::open(&path, Arc::new(SoftwareKeyProtector::beside(&path))).unwrap();
    v.unlock(None, T0).unwrap();
    assert_eq!(v.code_at(&id, T0).unwrap().code, "287922");
    assert_eq!(v.get(&id).unwrap().params.counter, 6);
    let totp = v.add(profile(1), T0).unwrap().id;
    assert!(v.hotp_advance(&totp, T0).is_err());
    // Raising (sync): only forward, only HOTP, and the code follows.
    assert!(!v.hotp_raise_counter(&id, 6, T0).unwrap());
    assert!(!v.hotp_raise_counter(&id, 2, T0).unwrap());
    assert_eq!(v.get(&id).unwrap().params.counter, 6);
    assert!(v.hotp_raise_counter(&id, 8, T0).unwrap());
    assert_eq!(v.get(&id).unwrap().params.counter, 8);
    assert_eq!(v.code_at(&id, T0).unwrap().code, "399871"); // RFC 4226, count 8
    assert!(v.hotp_raise_counter(&totp, 9, T0).is_err());
}

#[test]
fn clock_offset_applies_to_codes() {
    let (_d, v) = new_vault();
    let id = v
        .add(
            NewProfile::new(
                "A",
                "a",
                SecretBytes::from_slice(b"12345678901234567890"),
                OtpParams::totp(),
            ),
            T0,
        )
        .unwrap()
        .id;
    let at_59 = v.code_at(&id, 59).unwrap();
    assert_eq!(at_59.code, "287082");
    v.set_clock_offset(30).unwrap();
    assert_eq!(v.code_at(&id, 29).unwrap().code, "287082");
    assert_eq!(v.codes_at(29).unwrap()[0].code.code, "287082");
    assert!(v.set_clock_offset(10_000_000).is_err());
    assert_eq!(v.settings().unwrap().clock_offset_s, 30);
}

#[test]
fn settings_defaults_and_persist() {
    let (_d, v) = new_vault();
    let s = v.settings().unwrap();
    assert!(s.always_show_otp);
    assert!(s.require_screen_lock_after_approve);
    let mut t = s;
    t.always_show_otp = false;
    t.reauth_timeout_s = 300;
    v.update_settings(t).unwrap();
    let path = v.path().to_owned();
    drop(v);
    let v = Vault::open(&path, Arc::new(SoftwareKeyProtector::beside(&path))).unwrap();
    v.unlock(None, T0).unwrap();
    assert_eq!(v.settings().unwrap(), t);
}

#[test]
fn passcode_gate() {
    let (_d, v) = new_vault();
    v.add(profile(1), T0).unwrap();
    assert!(matches!(
        v.set_passcode("12", T0),
        Err(AuthenticatorError::InvalidInput { .. })
    ));
    v.set_passcode("2468", T0).unwrap();
    assert!(matches!(
        v.set_passcode("1111", T0),
        Err(AuthenticatorError::InvalidInput { .. })
    ));
    assert_eq!(
        v.unlock_methods().unwrap(),
        UnlockMethods {
            passcode: true,
            biometrics: false
        }
    );
    v.lock();
    assert!(matches!(
        v.unlock(None, T0),
        Err(AuthenticatorError::InvalidInput { .. })
    ));
    assert!(v.is_locked());
    assert_eq!(
        v.unlock(Some("1111"), T0),
        Err(AuthenticatorError::WrongPasscode { retry_after_s: 0 })
    );
    assert!(v.is_locked());
    v.unlock(Some("2468"), T0).unwrap();
    assert_eq!(v.count().unwrap(), 1);
    assert_eq!(v.lockout_status(T0).unwrap().failed_attempts, 0);

    assert!(matches!(
        v.change_passcode("0000", "1357", T0),
        Err(AuthenticatorError::WrongPasscode { .. })
    ));
    v.change_passcode("2468", "13579", T0).unwrap();
    v.lock();
    assert!(v.unlock(Some("2468"), T0).is_err());
    v.unlock(Some("13579"), T0).unwrap();
    v.remove_passcode("13579", T0).unwrap();
    v.lock();
    v.unlock(None, T0).unwrap();
    assert!(matches!(
        v.remove_passcode("13579", T0),
        Err(AuthenticatorError::InvalidInput { .. })
    ));
}

#[test]
fn backoff_survives_restart_and_clock_changes() {
    let (_d, path, prot) = fixture();
    let v = Vault::create(&path, prot.clone(), T0).unwrap();
    v.unlock(None, T0).unwrap();
    v.set_passcode("8080", T0).unwrap();
    v.lock();
    for i in 1..=5 {
        let e = v.unlock(Some("0000"), T0).unwrap_err();
        let want = if i == 5 { 30 } else { 0 };
        assert_eq!(
            e,
            AuthenticatorError::WrongPasscode {
                retry_after_s: want
            },
            "attempt {i}"
        );
    }
    // Even the right passcode is refused while the wait is in force.
    assert_eq!(
        v.unlock(Some("8080"), T0 + 10),
        Err(AuthenticatorError::LockedOut { retry_after_s: 20 })
    );
    drop(v);
    // Restart: the wait is still there.
    let v = Vault::open(&path, prot.clone()).unwrap();
    assert_eq!(
        v.lockout_status(T0 + 10).unwrap(),
        LockoutStatus {
            failed_attempts: 5,
            retry_after_s: 20
        }
    );
    // Clock set back a year: the full wait, not a year. The first attempt
    // at the new time re-anchors it there for good.
    assert_eq!(v.lockout_status(T0 - 31_536_000).unwrap().retry_after_s, 30);
    assert_eq!(
        v.unlock(Some("8080"), T0 - 31_536_000),
        Err(AuthenticatorError::LockedOut { retry_after_s: 30 })
    );
    assert_eq!(
        v.unlock(Some("8080"), T0 - 31_536_000 + 29),
        Err(AuthenticatorError::LockedOut { retry_after_s: 1 })
    );
    v.unlock(Some("8080"), T0 - 31_536_000 + 30).unwrap();
    assert_eq!(v.lockout_status(T0).unwrap().failed_attempts, 0);
}

/// 10⁴ guesses, each made as soon as the vault allows, must cost at least 400
/// days of enforced waiting.
#[test]
fn ten_thousand_guesses_take_over_400_days() {
    let (_d, path, prot) = fixture();
    let v = Vault::create(&path, prot, T0).unwrap();
    v.unlock(None, T0).unwrap();
    v.set_passcode("9999", T0).unwrap();
    v.lock();
    let mut now = T0;
    let mut waited: u64 = 0;
    let mut found = None;
    for guess in 0..10_000u32 {
        let code = format!("{guess:04}");
        loop {
            match v.unlock(Some(&code), now) {
                Ok(()) => {
                    found = Some(code.clone());
                    break;
                }
                Err(AuthenticatorError::WrongPasscode { .. }) => break,
                Err(AuthenticatorError::LockedOut { retry_after_s }) => {
                    waited += retry_after_s;
                    now += retry_after_s as i64;
                }
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        if found.is_some() {
            break;
        }
    }
    assert_eq!(found.as_deref(), Some("9999"));
    let days = waited as f64 / 86_400.0;
    assert!(days >= 400.0, "only {days:.1} days of waiting");
}

#[test]
fn background_timeout_locks() {
    let (_d, v) = new_vault();
    let mut s = v.settings().unwrap();
    s.reauth_timeout_s = 60;
    v.update_settings(s).unwrap();
    v.on_background(T0);
    assert!(!v.on_foreground(T0 + 59));
    assert!(!v.is_locked());
    v.on_background(T0 + 100);
    assert!(v.on_foreground(T0 + 160));
    assert!(v.is_locked());
    v.unlock(None, T0).unwrap();
    s.reauth_timeout_s = 0;
    v.update_settings(s).unwrap();
    v.on_background(T0);
    assert!(v.is_locked());
}

#[test]
fn tampering_is_detected_and_file_left_alone() {
    // Deleting a row.
    let (_d, path, prot) = fixture();
    let v = Vault::create(&path, prot.clone(), T0).unwrap();
    v.unlock(None, T0).unwrap();
    let a = v.add(profile(1), T0).unwrap().id;
    let b = v.add(profile(2), T0).unwrap().id;
    drop(v);
    let backup: Vec<u8> = raw(&path)
        .query_row("SELECT payload FROM profiles WHERE id = ?1", [&a], |r| {
            r.get(0)
        })
        .unwrap();
    raw(&path)
        .execute("DELETE FROM profiles WHERE id = ?1", [&a])
        .unwrap();
    let v = Vault::open(&path, prot.clone()).unwrap();
    assert!(matches!(
        v.unlock(None, T0),
        Err(AuthenticatorError::VaultUnreadable { .. })
    ));
    drop(v);
    assert!(path.exists());
    // Putting it back restores the vault exactly.
    raw(&path)
        .execute(
            "INSERT INTO profiles (id, payload) VALUES (?1, ?2)",
            rusqlite::params![a, backup],
        )
        .unwrap();
    let v = Vault::open(&path, prot.clone()).unwrap();
    v.unlock(None, T0).unwrap();
    drop(v);
    // Moving a payload to another row: the AAD refuses it.
    raw(&path)
        .execute(
            "UPDATE profiles SET payload = ?1 WHERE id = ?2",
            rusqlite::params![backup, b],
        )
        .unwrap();
    let v = Vault::open(&path, prot.clone()).unwrap();
    assert!(matches!(
        v.unlock(None, T0),
        Err(AuthenticatorError::VaultUnreadable { .. })
    ));
}

#[test]
fn rollback_of_one_row_is_detected() {
    let (_d, path, prot) = fixture();
    let v = Vault::create(&path, prot.clone(), T0).unwrap();
    v.unlock(None, T0).unwrap();
    let mut h = NewProfile::new(
        "H",
        "h",
        SecretBytes::from_slice(b"abcdefghij"),
        OtpParams::hotp(),
    );
    h.params.counter = 1;
    let id = v.add(h, T0).unwrap().id;
    let old: Vec<u8> = raw(&path)
        .query_row("SELECT payload FROM profiles", [], |r| r.get(0))
        .unwrap();
    v.hotp_advance(&id, T0).unwrap();
    drop(v);
    raw(&path)
        .execute("UPDATE profiles SET payload = ?1", [old])
        .unwrap();
    let v = Vault::open(&path, prot).unwrap();
    assert!(matches!(
        v.unlock(None, T0),
        Err(AuthenticatorError::VaultUnreadable { .. })
    ));
}

#[test]
fn deleting_the_passcode_row_does_not_bypass_it() {
    let (_d, path, prot) = fixture();
    let v = Vault::create(&path, prot.clone(), T0).unwrap();
    v.unlock(None, T0).unwrap();
    v.set_passcode("4321", T0).unwrap();
    drop(v);
    raw(&path)
        .execute("DELETE FROM meta WHERE key = 'passcode'", [])
        .unwrap();
    let v = Vault::open(&path, prot).unwrap();
    assert!(matches!(
        v.unlock(None, T0),
        Err(AuthenticatorError::VaultUnreadable { .. })
    ));
    assert!(v.is_locked());
}

/// `n` wrong passcodes at T0 (the fifth since the last success starts a
/// 30 s wait); returns the lockout row as stored.
fn wrong_passcodes(v: &Vault, path: &Path, n: u32) -> Vec<u8> {
    for _ in 0..n {
        assert!(matches!(
            v.unlock(Some("0000"), T0),
            Err(AuthenticatorError::WrongPasscode { .. })
        ));
    }
    raw(path)
        .query_row("SELECT value FROM meta WHERE key = 'lockout'", [], |r| {
            r.get(0)
        })
        .unwrap()
}

#[test]
fn deleting_resetting_or_replaying_the_lockout_row_is_detected() {
    let zeros = serde_json::to_vec(&Lockout::default()).unwrap();
    // (what the attacker writes, described)
    let edits: [(&str, Option<Vec<u8>>); 3] = [
        ("deleted", None),
        ("reset to zeros", Some(zeros)),
        ("replaced by an older record", Some(Vec::new())),
    ];
    for (what, edit) in edits {
        let (_d, path, prot) = fixture();
        let v = Vault::create(&path, prot.clone(), T0).unwrap();
        v.unlock(None, T0).unwrap();
        v.set_passcode("4321", T0).unwrap();
        v.lock();
        assert!(v.unlock(Some("0000"), T0).is_err());
        let older: Vec<u8> = raw(&path)
            .query_row("SELECT value FROM meta WHERE key = 'lockout'", [], |r| {
                r.get(0)
            })
            .unwrap();
        let row = wrong_passcodes(&v, &path, 4);
        assert_ne!(row, older);
        drop(v);
        let conn = raw(&path);
        match edit {
            None => conn
                .execute("DELETE FROM meta WHERE key = 'lockout'", [])
                .unwrap(),
            Some(b) => {
                let value = if b.is_empty() { older.clone() } else { b };
                conn.execute("UPDATE meta SET value = ?1 WHERE key = 'lockout'", [value])
                    .unwrap()
            }
        };
        drop(conn);
        let before = std::fs::read(&path).unwrap();
        let v = Vault::open(&path, prot).unwrap();
        // The stored record no longer shows a wait, but no guess is
        // evaluated: the manifest catches the edit, even for the right code.
        assert_eq!(
            v.lockout_status(T0 + 60).unwrap().retry_after_s,
            0,
            "{what}"
        );
        for code in ["1111", "4321"] {
            assert!(
                matches!(
                    v.unlock(Some(code), T0 + 60),
                    Err(AuthenticatorError::VaultUnreadable { .. })
                ),
                "{what}: {code}"
            );
        }
        assert!(v.is_locked());
        drop(v);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "{what}: left untouched"
        );
    }
}

#[test]
fn a_lockout_row_from_before_the_manifest_covered_it_is_adopted() {
    let (_d, path, prot) = fixture();
    let v = Vault::create(&path, prot.clone(), T0).unwrap();
    v.unlock(None, T0).unwrap();
    v.set_passcode("4321", T0).unwrap();
    drop(v);
    // What earlier versions wrote: a plain record outside the manifest.
    let old = Lockout {
        failed: 2,
        last_failure_at: T0,
        locked_until: T0,
    };
    raw(&path)
        .execute(
            "INSERT INTO meta (key, value) VALUES ('lockout', ?1)",
            [serde_json::to_vec(&old).unwrap()],
        )
        .unwrap();
    let v = Vault::open(&path, prot.clone()).unwrap();
    assert_eq!(v.lockout_status(T0).unwrap().failed_attempts, 2);
    assert!(v.unlock(Some("0000"), T0).is_err());
    assert_eq!(v.lockout_status(T0).unwrap().failed_attempts, 3);
    drop(v);
    // From now on the manifest covers it: deleting it is caught.
    raw(&path)
        .execute("DELETE FROM meta WHERE key = 'lockout'", [])
        .unwrap();
    let v = Vault::open(&path, prot).unwrap();
    assert!(matches!(
        v.unlock(Some("4321"), T0),
        Err(AuthenticatorError::VaultUnreadable { .. })
    ));
}

#[test]
fn a_right_passcode_clears_the_covered_record() {
    let (_d, path, prot) = fixture();
    let v = Vault::create(&path, prot.clone(), T0).unwrap();
    v.unlock(None, T0).unwrap();
    v.set_passcode("4321", T0).unwrap();
    v.lock();
    wrong_passcodes(&v, &path, 5);
    v.unlock(Some("4321"), T0 + 30).unwrap();
    let left: Option<Vec<u8>> = raw(&path)
        .query_row("SELECT value FROM meta WHERE key = 'lockout'", [], |r| {
            r.get(0)
        })
        .optional()
        .unwrap();
    assert_eq!(left, None, "no record while nothing is counted");
    v.lock();
    drop(v);
    let v = Vault::open(&path, prot).unwrap();
    v.unlock(Some("4321"), T0 + 31).unwrap();
}

/// Copies the vault file (closed, so the WAL is checkpointed into it).
fn snapshot(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

fn restore(path: &Path, bytes: &[u8]) {
    for suffix in ["-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_whole_file_rollback_is_detected_through_the_platform_counter() {
    let (_d, path, prot) = fixture();
    let v = Vault::create(&path, prot.clone(), T0).unwrap();
    v.unlock(None, T0).unwrap();
    v.set_passcode("4321", T0).unwrap();
    v.add(profile(1), T0).unwrap();
    drop(v);
    let old = snapshot(&path);

    // Five wrong guesses later (a wait in force), the attacker puts the
    // older, self-consistent file back to get the free guesses again.
    let v = Vault::open(&path, prot.clone()).unwrap();
    wrong_passcodes(&v, &path, 5);
    drop(v);
    restore(&path, &old);
    let v = Vault::open(&path, prot.clone()).unwrap();
    match v.unlock(Some("4321"), T0 + 60) {
        Err(AuthenticatorError::VaultUnreadable { reason }) => {
            assert!(reason.contains("earlier copy"), "{reason}")
        }
        other => panic!("rollback not detected: {other:?}"),
    }
    assert!(v.is_locked());
    assert_eq!(std::fs::read(&path).unwrap(), old, "left as found");
}

#[test]
fn the_counter_follows_every_commit_and_never_refuses_the_real_file() {
    let (_d, path, prot) = fixture();
    let v = Arc::new(Vault::create(&path, prot.clone(), T0).unwrap());
    v.unlock(None, T0).unwrap();
    // Writers on several threads: the counter stays at or below the file.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let v = Arc::clone(&v);
            std::thread::spawn(move || {
                for n in 0..10 {
                    v.add(profile(t * 100 + n), T0).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let generation = v.generation().unwrap();
    let alias = v.counter_alias.clone();
    drop(v);
    assert_eq!(prot.read_counter(&alias).unwrap(), Some(generation));
    let v = Vault::open(&path, prot.clone()).unwrap();
    v.unlock(None, T0).unwrap();
    assert_eq!(v.count().unwrap(), 40);
    // One profile write back: refused.
    drop(v);
    let old = snapshot(&path);
    let v = Vault::open(&path, prot.clone()).unwrap();
    v.unlock(None, T0).unwrap();
    v.add(profile(999), T0).unwrap();
    drop(v);
    restore(&path, &old);
    let v = Vault::open(&path, prot).unwrap();
    assert!(matches!(
        v.unlock(None, T0),
        Err(AuthenticatorError::VaultUnreadable { .. })
    ));
}

#[test]
fn a_counter_file_torn_by_a_crash_does_not_lock_the_owner_out() {
    let (_d, path, prot) = fixture();
    let v = Vault::create(&path, prot.clone(), T0).unwrap();
    v.unlock(None, T0).unwrap();
    v.add(profile(1), T0).unwrap();
    let alias = v.counter_alias.clone();
    drop(v);
    let counter = {
        let mut p = path.as_os_str().to_owned();
        p.push(format!(".key.counter.{alias}"));
        std::path::PathBuf::from(p)
    };
    assert!(counter.exists(), "counter beside the key: {counter:?}");
    std::fs::write(&counter, b"").unwrap();
    let v = Vault::open(&path, prot.clone()).unwrap();
    v.unlock(None, T0).unwrap();
    assert_eq!(v.count().unwrap(), 1);
    // The next commit writes it again.
    v.add(profile(2), T0).unwrap();
    let generation = v.generation().unwrap();
    drop(v);
    assert_eq!(prot.read_counter(&alias).unwrap(), Some(generation));
    assert_eq!(
        std::fs::read_to_string(&counter).unwrap(),
        generation.to_string()
    );
}

#[test]
fn corrupt_or_foreign_files_are_refused_untouched() {
    let (_d, path, prot) = fixture();
    std::fs::write(&path, b"definitely not sqlite").unwrap();
    assert!(matches!(
        Vault::open(&path, prot.clone()),
        Err(AuthenticatorError::VaultUnreadable { .. })
    ));
    assert!(matches!(
        Vault::open_or_create(&path, prot.clone(), T0),
        Err(AuthenticatorError::VaultUnreadable { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), b"definitely not sqlite");
}

#[test]
fn missing_platform_key_is_key_unavailable() {
    let (_d, path, prot) = fixture();
    let v = Vault::create(&path, prot.clone(), T0).unwrap();
    drop(v);
    std::fs::remove_file(SoftwareKeyProtector::beside(&path).key_path()).unwrap();
    let v = Vault::open(&path, prot).unwrap();
    assert!(matches!(
        v.unlock(None, T0),
        Err(AuthenticatorError::KeyUnavailable { .. })
    ));
    assert!(path.exists());
}

/// A protector that calls back into the vault: would deadlock if the vault
/// held its lock while calling it.
struct Reentrant {
    inner: SoftwareKeyProtector,
    vault: std::sync::OnceLock<std::sync::Weak<Vault>>,
    calls: AtomicUsize,
    cancel: std::sync::atomic::AtomicBool,
}

impl KeyProtector for Reentrant {
    fn wrap(
        &self,
        alias: &str,
        key: &[u8],
        auth: bool,
    ) -> std::result::Result<Vec<u8>, ProtectorError> {
        if let Some(v) = self.vault.get().and_then(|w| w.upgrade()) {
            let _ = v.is_locked();
            let _ = v.unlock_methods();
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.wrap(alias, key, auth)
    }
    fn unwrap(
        &self,
        alias: &str,
        wrapped: &[u8],
    ) -> std::result::Result<SecretBytes, ProtectorError> {
        if let Some(v) = self.vault.get().and_then(|w| w.upgrade()) {
            let _ = v.is_locked();
            let _ = v.lockout_status(T0);
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.cancel.load(Ordering::SeqCst) {
            return Err(ProtectorError::UserCancelled);
        }
        self.inner.unwrap(alias, wrapped)
    }
    fn delete(&self, alias: &str) -> std::result::Result<(), ProtectorError> {
        self.inner.delete(alias)
    }
    fn create_signing_key(
        &self,
        alias: &str,
        auth: bool,
    ) -> std::result::Result<Vec<u8>, ProtectorError> {
        self.inner.create_signing_key(alias, auth)
    }
    fn sign(&self, alias: &str, message: &[u8]) -> std::result::Result<Vec<u8>, ProtectorError> {
        self.inner.sign(alias, message)
    }
    fn delete_signing_key(&self, alias: &str) -> std::result::Result<(), ProtectorError> {
        self.inner.delete_signing_key(alias)
    }
}

#[test]
fn protector_is_called_without_the_lock_and_biometrics_work() {
    let (_d, path, _) = fixture();
    let prot = Arc::new(Reentrant {
        inner: SoftwareKeyProtector::beside(&path),
        vault: std::sync::OnceLock::new(),
        calls: AtomicUsize::new(0),
        cancel: false.into(),
    });
    let v = Arc::new(Vault::create(&path, prot.clone(), T0).unwrap());
    prot.vault.set(Arc::downgrade(&v)).unwrap();
    v.unlock(None, T0).unwrap();
    v.set_passcode("1234", T0).unwrap();
    v.enable_biometrics(T0).unwrap();
    v.lock();
    assert_eq!(
        v.unlock_methods().unwrap(),
        UnlockMethods {
            passcode: true,
            biometrics: true
        }
    );
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let v = v.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    if i % 2 == 0 {
                        v.unlock_with_biometrics(T0).unwrap();
                    } else {
                        v.unlock(Some("1234"), T0).unwrap();
                    }
                    let _ = v.list();
                    v.lock();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(prot.calls.load(Ordering::SeqCst) >= 160);
    prot.cancel.store(true, Ordering::SeqCst);
    assert!(matches!(
        v.unlock_with_biometrics(T0),
        Err(AuthenticatorError::KeyUnavailable { .. })
    ));
    prot.cancel.store(false, Ordering::SeqCst);
    v.unlock_with_biometrics(T0).unwrap();
    v.disable_biometrics().unwrap();
    v.lock();
    assert!(matches!(
        v.unlock_with_biometrics(T0),
        Err(AuthenticatorError::InvalidInput { .. })
    ));
}

#[test]
fn add_uri_single_and_migration() {
    let (_d, v) = new_vault();
    let r = v
        .add_uri(
            "otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME",
            T0,
        )
        .unwrap();
    assert_eq!(r.added.len(), 1);
    assert_eq!(r.added[0].issuer, "ACME");
    let again = v
        .add_uri(
            "otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME",
            T0,
        )
        .unwrap();
    assert!(again.added.is_empty());
    assert!(matches!(
        again.skipped[0].error,
        AuthenticatorError::Duplicate { .. }
    ));
    assert!(matches!(
        v.add_uri("https://example.com", T0),
        Err(AuthenticatorError::InvalidInput { .. })
    ));
    let exported = v.export_uris().unwrap();
    assert!(exported[0].starts_with("otpauth://totp/"));
}
