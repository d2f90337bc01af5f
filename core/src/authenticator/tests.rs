//! The façade decides when to back up: nobody calls `auto::run` here.

use super::*;
use crate::backup::KdfParams;
use crate::clock::Clock;
use crate::uri::parse_any;
use crate::vault::SoftwareKeyProtector;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc;

struct TestClock(AtomicI64);
impl Clock for TestClock {
    fn now_unix_s(&self) -> i64 {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

struct Events(Mutex<mpsc::Sender<UpkeepEvent>>);
impl UpkeepListener for Events {
    fn on_upkeep(&self, event: UpkeepEvent) {
        if let Ok(tx) = self.0.lock() {
            let _ = tx.send(event);
        }
    }
}
use std::sync::Mutex;

struct Fixture {
    dir: tempfile::TempDir,
    app: Authenticator,
    events: mpsc::Receiver<UpkeepEvent>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let protector: Arc<dyn KeyProtector> = Arc::new(SoftwareKeyProtector::beside(&path));
    let clock = Arc::new(TestClock(AtomicI64::new(1_800_000_000)));
    let app = Authenticator::open_with_quiet(&path, protector, clock, Duration::from_millis(150))
        .unwrap();
    let (tx, events) = mpsc::channel();
    app.set_upkeep_listener(Some(Arc::new(Events(Mutex::new(tx)))));
    app.vault().unlock(None, app.now()).unwrap();
    Fixture { dir, app, events }
}

fn add(app: &Authenticator, n: usize) {
    let uri = format!(
        "otpauth://totp/Svc{n}:u{n}?secret=JBSWY3DPEHPK3PX{}",
        (b'A' + (n % 26) as u8) as char
    );
    let crate::uri::ParsedUri::Single(p) = parse_any(&uri).unwrap() else {
        panic!("single URI");
    };
    app.vault().add(p, app.now()).unwrap();
}

fn next(events: &mpsc::Receiver<UpkeepEvent>) -> UpkeepEvent {
    events
        .recv_timeout(Duration::from_secs(20))
        .expect("no upkeep event")
}

fn backups(f: &Fixture) -> usize {
    f.app.auto_backup_status().unwrap().unwrap().files.len()
}

#[test]
fn a_change_is_backed_up_by_the_facade_itself_once_per_burst() {
    let f = fixture();
    let dir = f.dir.path().join("auto");
    f.app
        .enable_auto_backup_with_kdf(&dir, "backup-password", 10, KdfParams::insecure_for_tests())
        .unwrap();
    assert_eq!(backups(&f), 1);
    // Twenty edits in a burst: one more backup, not twenty.
    for n in 0..20 {
        add(&f.app, n);
    }
    let UpkeepEvent::BackupWritten { path } = next(&f.events) else {
        panic!("expected a backup");
    };
    assert!(path.starts_with(&dir));
    assert!(f.app.flush_upkeep(Duration::from_secs(20)));
    assert_eq!(backups(&f), 2);
    let contents =
        crate::backup::read_backup(&std::fs::read(&path).unwrap(), "backup-password").unwrap();
    assert_eq!(contents.profiles.len(), 20);
    let status = f.app.upkeep_status();
    assert_eq!(status.last_backup.as_deref(), Some(path.as_path()));
    assert!(status.backup_error.is_none() && !status.due);
}

#[test]
fn a_change_made_just_before_locking_is_backed_up_after_the_next_unlock() {
    let f = fixture();
    let dir = f.dir.path().join("auto");
    f.app
        .enable_auto_backup_with_kdf(&dir, "backup-password", 10, KdfParams::insecure_for_tests())
        .unwrap();
    add(&f.app, 1);
    f.app.vault().lock();
    std::thread::sleep(Duration::from_millis(400));
    assert!(f.app.flush_upkeep(Duration::from_secs(20)));
    assert_eq!(backups(&f), 1, "nothing can be sealed while locked");
    f.app.vault().unlock(None, f.app.now()).unwrap();
    assert!(matches!(next(&f.events), UpkeepEvent::BackupWritten { .. }));
    assert_eq!(backups(&f), 2);
}

#[test]
fn a_failed_backup_is_reported_and_kept_in_the_status() {
    let f = fixture();
    let dir = f.dir.path().join("auto");
    f.app
        .enable_auto_backup_with_kdf(&dir, "backup-password", 10, KdfParams::insecure_for_tests())
        .unwrap();
    // The folder is replaced by a file: the next backup cannot be written.
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, b"not a folder").unwrap();
    add(&f.app, 1);
    let UpkeepEvent::BackupFailed { error } = next(&f.events) else {
        panic!("expected a failure");
    };
    assert!(matches!(
        f.app.upkeep_status().backup_error,
        Some(ref e) if *e == error
    ));
    // Fixed: the next change writes it and clears the error.
    std::fs::remove_file(&dir).unwrap();
    add(&f.app, 2);
    assert!(matches!(next(&f.events), UpkeepEvent::BackupWritten { .. }));
    assert!(f.app.upkeep_status().backup_error.is_none());
}

#[test]
fn flush_runs_due_work_at_once_and_dropping_the_facade_ends_the_worker() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let protector: Arc<dyn KeyProtector> = Arc::new(SoftwareKeyProtector::beside(&path));
    let clock = Arc::new(TestClock(AtomicI64::new(1_800_000_000)));
    // A quiet period far longer than the test: only flush can run it.
    let app =
        Authenticator::open_with_quiet(&path, protector, clock, Duration::from_secs(3600)).unwrap();
    app.vault().unlock(None, app.now()).unwrap();
    app.enable_auto_backup_with_kdf(
        &dir.path().join("auto"),
        "backup-password",
        10,
        KdfParams::insecure_for_tests(),
    )
    .unwrap();
    add(&app, 1);
    assert!(
        app.upkeep_status().due || {
            // The event may still be on its way to the worker.
            std::thread::sleep(Duration::from_millis(100));
            app.upkeep_status().due
        }
    );
    assert!(app.flush_upkeep(Duration::from_secs(20)));
    assert_eq!(app.auto_backup_status().unwrap().unwrap().files.len(), 2);
    assert!(!app.upkeep_status().due);
    let started = std::time::Instant::now();
    drop(app);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the worker ends with the façade"
    );
}
