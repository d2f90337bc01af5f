//! The bindings as a shell uses them: foreign-trait implementations written
//! in Rust, called from many threads, with re-entrant callbacks.

use countersign_ffi::{
    ffi_panic_probe, AuthError, Authenticator, Clock, CodeListener, KeystoreError, OtpAlgorithm,
    OtpCode, OtpType, PlatformKeystore, ProfileDraft, SoftwareKeystore, UpkeepKind, UpkeepListener,
    UpkeepNotice,
};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

struct Notices(Mutex<std::sync::mpsc::Sender<UpkeepNotice>>);
impl UpkeepListener for Notices {
    fn on_upkeep(&self, notice: UpkeepNotice) {
        let _ = self.0.lock().unwrap().send(notice);
    }
}

struct FixedClock(AtomicI64);
impl Clock for FixedClock {
    fn now_unix_s(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A keystore that, like a careless shell, calls back into the
/// authenticator from inside every keystore call (a deadlock if the core held
/// a lock), can be told to fail, and counts calls.
struct TestKeystore {
    inner: Arc<SoftwareKeystore>,
    auth: OnceLock<Weak<Authenticator>>,
    calls: AtomicUsize,
    cancel: AtomicBool,
    short_key: AtomicBool,
}

impl TestKeystore {
    fn reenter(&self) {
        if let Some(a) = self.auth.get().and_then(Weak::upgrade) {
            let _ = a.is_locked();
            let _ = a.unlock_methods();
            let _ = a.lockout_status();
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl PlatformKeystore for TestKeystore {
    fn wrap_key(&self, alias: String, key: Vec<u8>, auth: bool) -> Result<Vec<u8>, KeystoreError> {
        self.reenter();
        self.inner.wrap_key(alias, key, auth)
    }
    fn unwrap_key(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.reenter();
        if self.cancel.load(Ordering::SeqCst) {
            return Err(KeystoreError::UserCancelled);
        }
        let mut k = self.inner.unwrap_key(alias, wrapped)?;
        if self.short_key.load(Ordering::SeqCst) {
            k.truncate(7);
        }
        Ok(k)
    }
    fn create_signing_key(&self, alias: String, auth: bool) -> Result<Vec<u8>, KeystoreError> {
        self.inner.create_signing_key(alias, auth)
    }
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.inner.sign(alias, message)
    }
    fn delete_key(&self, alias: String) -> Result<(), KeystoreError> {
        self.inner.delete_key(alias)
    }
    fn read_counter(&self, alias: String) -> Result<Option<u64>, KeystoreError> {
        // Re-enters like the key calls (a deadlock if called under the
        // vault's lock), without counting as a key use.
        if let Some(a) = self.auth.get().and_then(Weak::upgrade) {
            let _ = a.is_locked();
        }
        self.inner.read_counter(alias)
    }
    fn store_counter(&self, alias: String, value: u64) -> Result<(), KeystoreError> {
        if let Some(a) = self.auth.get().and_then(Weak::upgrade) {
            let _ = a.is_locked();
        }
        self.inner.store_counter(alias, value)
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    auth: Arc<Authenticator>,
    keystore: Arc<TestKeystore>,
    clock: Arc<FixedClock>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let keystore = Arc::new(TestKeystore {
        inner: SoftwareKeystore::new(dir.path().join("keys").to_string_lossy().into_owned())
            .unwrap(),
        auth: OnceLock::new(),
        calls: AtomicUsize::new(0),
        cancel: AtomicBool::new(false),
        short_key: AtomicBool::new(false),
    });
    let clock = Arc::new(FixedClock(AtomicI64::new(59)));
    let path = dir.path().join("vault.db").to_string_lossy().into_owned();
    let auth = Authenticator::open(path, keystore.clone(), clock.clone()).unwrap();
    keystore.auth.set(Arc::downgrade(&auth)).ok();
    Fixture {
        _dir: dir,
        auth,
        keystore,
        clock,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn add_and_read_codes() {
    let f = fixture();
    rt().block_on(f.auth.unlock(None)).unwrap();
    let r = f
        .auth
        .add_uri(format!(
            "otpauth://totp/ACME:a?secret={RFC_SECRET}&digits=8"
        ))
        .unwrap();
    assert_eq!(r.added.len(), 1);
    let codes = f.auth.codes().unwrap();
    assert_eq!(codes[0].code, "94287082");
    assert_eq!(codes[0].valid_for_s, 1);
    assert_eq!(codes[0].period, 30);
    let again = f
        .auth
        .add_uri(format!(
            "otpauth://totp/ACME:a?secret={RFC_SECRET}&digits=8"
        ))
        .unwrap();
    assert_eq!(
        again.skipped[0].duplicate_of.as_deref(),
        Some(r.added[0].id.as_str())
    );
    let typed = f
        .auth
        .add_profile(ProfileDraft {
            issuer: "Typed".into(),
            account: "me".into(),
            secret_base32: "gezd gnbv gy3t qojq gezd gnbv gy3t qojq".into(),
            otp_type: OtpType::Totp,
            algorithm: OtpAlgorithm::Sha1,
            digits: 6,
            period: 30,
            counter: 0,
        })
        .unwrap();
    assert_eq!(f.auth.codes().unwrap()[1].code, "287082");
    assert_eq!(typed.issuer, "Typed");
    assert!(matches!(
        f.auth.add_uri("mailto:x".into()),
        Err(AuthError::InvalidInput { .. })
    ));
}

#[test]
fn panic_becomes_an_error() {
    match ffi_panic_probe() {
        Err(AuthError::Internal { reason }) => assert!(reason.contains("panic"), "{reason}"),
        other => panic!("expected Internal, got {other:?}"),
    }
}

#[test]
fn bad_host_keys_are_errors_not_panics() {
    let f = fixture();
    f.keystore.short_key.store(true, Ordering::SeqCst);
    let e = rt().block_on(f.auth.unlock(None)).unwrap_err();
    assert!(
        matches!(e, AuthError::KeyUnavailable { ref reason } if reason.contains("7-byte")),
        "{e:?}"
    );
    f.keystore.short_key.store(false, Ordering::SeqCst);
    f.keystore.cancel.store(true, Ordering::SeqCst);
    let e = rt().block_on(f.auth.unlock(None)).unwrap_err();
    assert!(matches!(e, AuthError::KeyUnavailable { .. }), "{e:?}");
    assert!(f.auth.is_locked());
    assert!(matches!(
        Authenticator::open(String::new(), f.keystore.clone(), f.clock.clone()),
        Err(AuthError::InvalidInput { .. })
    ));
}

#[test]
fn passcode_backoff_through_the_clock() {
    let f = fixture();
    let rt = rt();
    rt.block_on(f.auth.unlock(None)).unwrap();
    f.auth.set_passcode("1357".into()).unwrap();
    f.auth.lock();
    for _ in 0..4 {
        assert_eq!(
            rt.block_on(f.auth.unlock(Some("0000".into()))),
            Err(AuthError::WrongPasscode { retry_after_s: 0 })
        );
    }
    assert_eq!(
        rt.block_on(f.auth.unlock(Some("0000".into()))),
        Err(AuthError::WrongPasscode { retry_after_s: 30 })
    );
    assert_eq!(
        rt.block_on(f.auth.unlock(Some("1357".into()))),
        Err(AuthError::LockedOut { retry_after_s: 30 })
    );
    assert_eq!(f.auth.lockout_status().unwrap().retry_after_s, 30);
    f.clock.0.fetch_add(30, Ordering::SeqCst);
    rt.block_on(f.auth.unlock(Some("1357".into()))).unwrap();
    assert!(!f.auth.is_locked());
}

/// Many threads use one authenticator while the keystore re-enters it.
#[test]
fn many_threads_with_reentrant_foreign_calls() {
    let f = fixture();
    let rt = Arc::new(rt());
    rt.block_on(f.auth.unlock(None)).unwrap();
    f.auth
        .add_uri(format!("otpauth://totp/A:a?secret={RFC_SECRET}"))
        .unwrap();
    rt.block_on(f.auth.enable_biometrics()).unwrap();
    f.auth.set_passcode("2468".into()).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let auth = f.auth.clone();
            let rt = rt.clone();
            std::thread::spawn(move || {
                for n in 0..25 {
                    match (i + n) % 4 {
                        0 => rt.block_on(auth.unlock(Some("2468".into()))).unwrap(),
                        1 => rt.block_on(auth.unlock_with_biometrics()).unwrap(),
                        2 => auth.lock(),
                        _ => match auth.codes() {
                            Ok(c) => assert_eq!(c[0].code, "287082"),
                            Err(AuthError::VaultLocked) => {}
                            Err(e) => panic!("{e:?}"),
                        },
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(f.keystore.calls.load(Ordering::SeqCst) >= 100);
}

struct Collect {
    ticks: Mutex<Vec<Vec<OtpCode>>>,
    locked: AtomicUsize,
    auth: OnceLock<Weak<Authenticator>>,
}

impl CodeListener for Collect {
    fn on_codes(&self, codes: Vec<OtpCode>) {
        // Re-entering from the callback must not deadlock.
        if let Some(a) = self.auth.get().and_then(Weak::upgrade) {
            let _ = a.profiles();
        }
        if let Ok(mut t) = self.ticks.lock() {
            t.push(codes);
        }
    }
    fn on_locked(&self) {
        self.locked.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn code_listener_ticks_cancels_and_reports_lock() {
    let f = fixture();
    rt().block_on(f.auth.unlock(None)).unwrap();
    f.auth
        .add_uri(format!("otpauth://totp/A:a?secret={RFC_SECRET}"))
        .unwrap();
    let l = Arc::new(Collect {
        ticks: Mutex::new(Vec::new()),
        locked: AtomicUsize::new(0),
        auth: OnceLock::new(),
    });
    l.auth.set(Arc::downgrade(&f.auth)).ok();
    let handle = f.auth.clone().watch_codes(l.clone()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while l.ticks.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(l.ticks.lock().unwrap().len() >= 2);
    assert_eq!(l.ticks.lock().unwrap()[0][0].code, "287082");
    handle.cancel();
    std::thread::sleep(Duration::from_millis(100));
    assert!(handle.is_finished());
    let n = l.ticks.lock().unwrap().len();
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(l.ticks.lock().unwrap().len(), n, "ticks after cancel");

    let h2 = f.auth.clone().watch_codes(l.clone()).unwrap();
    f.auth.lock();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while l.locked.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(l.locked.load(Ordering::SeqCst), 1);
    std::thread::sleep(Duration::from_millis(100));
    assert!(h2.is_finished());
}

#[test]
fn software_keystore_signs_p256() {
    let dir = tempfile::tempdir().unwrap();
    let ks = SoftwareKeystore::new(dir.path().to_string_lossy().into_owned()).unwrap();
    let public = ks.create_signing_key("device.1".into(), true).unwrap();
    assert_eq!(public.len(), 65);
    assert_eq!(public[0], 4);
    let sig = ks.sign("device.1".into(), b"hello".to_vec()).unwrap();
    let key =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, &public);
    key.verify(b"hello", &sig).unwrap();
    assert!(key.verify(b"hellO", &sig).is_err());
    ks.delete_key("device.1".into()).unwrap();
    assert_eq!(
        ks.sign("device.1".into(), b"x".to_vec()),
        Err(KeystoreError::KeyInvalidated)
    );
    assert!(ks.sign("../etc/passwd".into(), b"x".to_vec()).is_err());
}

#[test]
fn automatic_backups_through_the_bindings() {
    let f = fixture();
    let rt = rt();
    rt.block_on(f.auth.unlock(None)).unwrap();
    assert_eq!(f.auth.auto_backup_status().unwrap(), None);
    let dir = f._dir.path().join("auto").to_string_lossy().into_owned();
    // Bad input is a typed error and turns nothing on.
    assert!(matches!(
        rt.block_on(f.auth.enable_auto_backup(dir.clone(), "short".into(), 3)),
        Err(AuthError::InvalidInput { .. })
    ));
    assert_eq!(f.auth.auto_backup_status().unwrap(), None);
    let first = rt
        .block_on(
            f.auth
                .enable_auto_backup(dir.clone(), "backup-password".into(), 2),
        )
        .unwrap();
    assert!(first.starts_with(&dir));
    // Nothing changed: nothing written.
    assert_eq!(rt.block_on(f.auth.run_auto_backup()).unwrap(), None);
    // A change: the core writes one more file by itself (nobody calls
    // run_auto_backup) and says so through the listener.
    let (tx, notices) = std::sync::mpsc::channel();
    f.auth
        .set_upkeep_listener(Some(Arc::new(Notices(Mutex::new(tx)))));
    f.auth
        .add_uri(format!("otpauth://totp/ACME:a?secret={RFC_SECRET}"))
        .unwrap();
    let notice = notices
        .recv_timeout(Duration::from_secs(20))
        .expect("the core backs up after a change");
    assert_eq!(notice.kind, UpkeepKind::BackupWritten);
    let second = notice.backup_path.unwrap();
    assert_eq!(
        f.auth.upkeep_status().last_backup.as_deref(),
        Some(second.as_str())
    );
    let status = f.auth.auto_backup_status().unwrap().unwrap();
    assert_eq!(
        (status.keep, status.files.clone()),
        (2, vec![second.clone(), first])
    );
    // The newest opens with the password and holds the profile.
    let contents =
        countersign_core::backup::read_backup(&std::fs::read(&second).unwrap(), "backup-password")
            .unwrap();
    assert_eq!(contents.profiles.len(), 1);
    assert!(f.auth.disable_auto_backup().unwrap());
    assert!(!f.auth.disable_auto_backup().unwrap());
}

#[test]
fn import_backup_and_export_through_the_bindings() {
    use countersign_ffi::ImportKind;
    let f = fixture();
    let rt = rt();
    rt.block_on(f.auth.unlock(None)).unwrap();
    let list = format!(
        "# from another phone\notpauth://totp/ACME:a?secret={RFC_SECRET}\nnot a uri\n\
         otpauth://totp/Slow:b?secret={RFC_SECRET}&period=60\n"
    );
    let source = f
        .auth
        .inspect_import(list.clone().into_bytes(), None)
        .unwrap();
    assert_eq!(
        (source.kind, source.needs_password),
        (ImportKind::UriList, false)
    );
    let report = rt
        .block_on(f.auth.import_file(list.clone().into_bytes(), None, None))
        .unwrap();
    assert_eq!((report.total, report.added.len()), (3, 2));
    assert_eq!(report.skipped[0].line, Some(3));
    assert_eq!(report.nothing_added, None);
    // Again: all skipped, the duplicates name what they duplicate.
    let again = rt
        .block_on(
            f.auth
                .import_file(list.into_bytes(), Some("otpauth".into()), None),
        )
        .unwrap();
    assert!(again.added.is_empty());
    assert_eq!(
        again
            .skipped
            .iter()
            .filter(|s| s.duplicate_of.is_some())
            .count(),
        2
    );
    assert!(again.nothing_added.is_some());
    assert!(matches!(
        f.auth.inspect_import(b"{\"x\":1}".to_vec(), None),
        Err(AuthError::InvalidInput { .. })
    ));
    assert!(matches!(
        f.auth.inspect_import(vec![1, 2, 3], Some("nope".into())),
        Err(AuthError::InvalidInput { .. })
    ));

    // Google QR payloads: the 60 s profile is left out with the reason.
    let qr = f.auth.export_google_qr().unwrap();
    assert_eq!((qr.payloads.len(), qr.exported), (1, 1));
    assert_eq!(qr.left_out.len(), 1);
    assert!(qr.left_out[0].reason.contains("period"));
    assert!(qr.payloads[0].starts_with("otpauth-migration://offline?data="));
    assert!(
        !format!("{qr:?}").contains("otpauth-migration"),
        "payloads redacted in Debug"
    );
    assert_eq!(f.auth.export_otpauth_uris().unwrap().len(), 2);

    // A backup with a recovery code, restored into a second vault by code.
    assert!(matches!(
        rt.block_on(f.auth.create_backup("short".into(), false, false)),
        Err(AuthError::InvalidInput { .. })
    ));
    let backup = rt
        .block_on(f.auth.create_backup("backup-password".into(), true, false))
        .unwrap();
    assert!(
        backup.file_name.starts_with("countersign-backup-") && backup.file_name.ends_with(".csbk")
    );
    let code = backup.recovery_code.clone().unwrap();
    assert!(
        !format!("{backup:?}").contains(&code),
        "recovery code redacted in Debug"
    );
    let g = fixture();
    rt.block_on(g.auth.unlock(None)).unwrap();
    let source = g.auth.inspect_import(backup.bytes.clone(), None).unwrap();
    assert_eq!(
        (source.kind, source.needs_password),
        (ImportKind::Backup, true)
    );
    for wrong in [None, Some("wrong-password".to_owned())] {
        assert!(matches!(
            rt.block_on(g.auth.import_file(backup.bytes.clone(), None, wrong)),
            Err(AuthError::InvalidInput { .. })
        ));
    }
    assert!(
        g.auth.profiles().unwrap().is_empty(),
        "a failed restore changes nothing"
    );
    let restored = rt
        .block_on(g.auth.restore_backup(backup.bytes.clone(), code))
        .unwrap();
    assert_eq!(restored.added.len(), 2);
    let names: Vec<String> = g
        .auth
        .profiles()
        .unwrap()
        .into_iter()
        .map(|p| p.issuer)
        .collect();
    assert_eq!(names, ["ACME", "Slow"]);
    // A backup is not a URI list: asking for one format refuses the other.
    assert!(matches!(
        rt.block_on(
            g.auth
                .restore_backup(b"otpauth://totp/x?secret=AA".to_vec(), "x".into())
        ),
        Err(AuthError::InvalidInput { .. })
    ));
}
