//! The upkeep worker: automatic backup and sync after changes, decided here
//! and nowhere else.
//!
//! One thread per façade. The vault announces every commit and unlock
//! ([`VaultEvent`]); the worker marks itself due, waits until no new event
//! came for the quiet period (a burst of edits gives one backup and one sync
//! round), then, if the vault is unlocked:
//!
//! 1. writes the automatic backup if they are on and the generation moved
//!    (`backup::auto::run` decides "moved");
//! 2. runs one sync round if sync is on.
//!
//! While the vault is locked the work stays due and runs after the next
//! unlock. The sync round's own merges commit too; those generations are
//! remembered and do not start another round (no feedback loop), and a
//! merge that changed profiles is followed by another backup. Each
//! outcome is stored in [`UpkeepStatus`] and given to the listener, called
//! on this thread with no lock held. The thread ends when the façade drops.

use crate::backup::auto;
use crate::clock::Clock;
use crate::error::AuthenticatorError;
use crate::sync::device::{self, SyncReport};
use crate::vault::{KeyProtector, Vault, VaultEvent};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Result<T, E = AuthenticatorError> = std::result::Result<T, E>;

/// What the upkeep worker did.
#[derive(Clone, Debug)]
pub enum UpkeepEvent {
    /// An automatic backup was written (and verified).
    BackupWritten {
        /// The new file.
        path: PathBuf,
    },
    /// Writing the automatic backup failed (the vault is unchanged; it is
    /// tried again after the next change).
    BackupFailed {
        /// Why.
        error: AuthenticatorError,
    },
    /// A sync round finished.
    Synced {
        /// What it moved.
        report: SyncReport,
    },
    /// A sync round failed (nothing changed; tried again after the next
    /// change or unlock).
    SyncFailed {
        /// Why.
        error: AuthenticatorError,
    },
}

/// Receives upkeep outcomes. Called on the upkeep thread with no lock held;
/// must return quickly (hand the event to the UI thread).
pub trait UpkeepListener: Send + Sync {
    /// One outcome.
    fn on_upkeep(&self, event: UpkeepEvent);
}

/// The last outcomes, kept whether or not a listener is set.
#[derive(Clone, Debug, Default)]
pub struct UpkeepStatus {
    /// Newest automatic backup written by the worker.
    pub last_backup: Option<PathBuf>,
    /// The last backup failure, cleared by the next success.
    pub backup_error: Option<AuthenticatorError>,
    /// The last sync round's report.
    pub last_sync: Option<SyncReport>,
    /// The last sync failure, cleared by the next success.
    pub sync_error: Option<AuthenticatorError>,
    /// Work is waiting (for the quiet period, or for an unlock).
    pub due: bool,
}

enum Msg {
    Vault(VaultEvent),
    Flush(mpsc::Sender<()>),
    Stop,
}

struct Shared {
    listener: Mutex<Option<Arc<dyn UpkeepListener>>>,
    status: Mutex<UpkeepStatus>,
    /// The generation a sync merge (the worker's or the app's "sync now")
    /// left the vault at: commit events up to it are sync's own, not the
    /// user's, and start no round.
    merged_generation: AtomicU64,
    /// One sync round at a time (the worker's and the app's "sync now"):
    /// rounds read and write the same sync state.
    sync_gate: tokio::sync::Mutex<()>,
}

/// The façade's handle: stops and joins the thread on drop.
pub(super) struct Handle {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Handle {
    pub(super) fn set_listener(&self, listener: Option<Arc<dyn UpkeepListener>>) {
        if let Ok(mut l) = self.shared.listener.lock() {
            *l = listener;
        }
    }

    pub(super) fn status(&self) -> UpkeepStatus {
        self.shared
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// One sync round for the app's "sync now" (see [`sync_round`]).
    pub(super) async fn sync_round(
        &self,
        vault: &Vault,
        path: &Path,
        protector: &dyn KeyProtector,
        now: i64,
    ) -> Result<(SyncReport, bool)> {
        sync_round(&self.shared, vault, path, protector, now).await
    }

    pub(super) fn flush(&self, timeout: Duration) -> bool {
        let (done_tx, done_rx) = mpsc::channel();
        if self.tx.send(Msg::Flush(done_tx)).is_err() {
            return false;
        }
        done_rx.recv_timeout(timeout).is_ok()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            // The worker finishes the step it is in (a backup or a sync round
            // with its own timeouts) and ends. A façade dropped from inside
            // a listener (on the worker itself) just lets it end.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

/// One sync round, alone (the gate), with its merge remembered so the
/// commits it made start no further round. Answers the report and whether
/// the merge changed profiles here.
async fn sync_round(
    shared: &Shared,
    vault: &Vault,
    path: &Path,
    protector: &dyn KeyProtector,
    now: i64,
) -> Result<(SyncReport, bool)> {
    let _one_round = shared.sync_gate.lock().await;
    let report = device::sync_now(vault, path, protector, now).await?;
    let merged = report.added + report.updated + report.removed > 0;
    if merged {
        if let Ok(g) = vault.generation() {
            shared.merged_generation.fetch_max(g, Ordering::AcqRel);
        }
    }
    Ok((report, merged))
}

/// What the worker works on (the façade's own parts).
pub(super) struct Parts {
    pub vault: Arc<Vault>,
    pub path: PathBuf,
    pub protector: Arc<dyn KeyProtector>,
    pub clock: Arc<dyn Clock>,
}

/// Starts the worker.
pub(super) fn start(parts: Parts, quiet: Duration) -> Result<Handle> {
    let Parts {
        vault,
        path,
        protector,
        clock,
    } = parts;
    let (tx, rx) = mpsc::channel::<Msg>();
    let events = tx.clone();
    vault.watch(Arc::new(move |e| {
        let _ = events.send(Msg::Vault(e));
    }));
    let shared = Arc::new(Shared {
        listener: Mutex::new(None),
        status: Mutex::new(UpkeepStatus::default()),
        merged_generation: AtomicU64::new(0),
        sync_gate: tokio::sync::Mutex::new(()),
    });
    let worker = Worker {
        vault,
        path,
        protector,
        clock,
        shared: shared.clone(),
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| AuthenticatorError::Internal {
                reason: format!("cannot start the sync runtime: {e}"),
            })?,
    };
    let thread = std::thread::Builder::new()
        .name("countersign-upkeep".into())
        .spawn(move || worker.run(rx, quiet))
        .map_err(|e| AuthenticatorError::Internal {
            reason: format!("cannot start the upkeep thread: {e}"),
        })?;
    Ok(Handle {
        tx,
        shared,
        thread: Some(thread),
    })
}

struct Worker {
    vault: Arc<Vault>,
    path: PathBuf,
    protector: Arc<dyn KeyProtector>,
    clock: Arc<dyn Clock>,
    shared: Arc<Shared>,
    /// For the sync round's network calls (this thread's own).
    runtime: tokio::runtime::Runtime,
}

impl Worker {
    fn run(self, rx: mpsc::Receiver<Msg>, quiet: Duration) {
        let mut due_since: Option<Instant> = None;
        // A backup is checked whenever work runs (it is skipped when the
        // generation did not move); a sync round only after a change of the
        // user's or an unlock, not after sync's own merges.
        let mut sync_due = false;
        loop {
            // Due work waits for a quiet period; otherwise sleep until told.
            let msg = match due_since {
                Some(since) => {
                    let left = quiet.saturating_sub(since.elapsed());
                    match rx.recv_timeout(left) {
                        Ok(m) => Some(m),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                None => match rx.recv() {
                    Ok(m) => Some(m),
                    Err(_) => return,
                },
            };
            match msg {
                Some(Msg::Stop) => return,
                Some(Msg::Vault(event)) => {
                    let merge = matches!(event, VaultEvent::Committed(g)
                        if g <= self.shared.merged_generation.load(Ordering::Acquire));
                    sync_due |= !merge;
                    // Each new event restarts the quiet period.
                    due_since = Some(Instant::now());
                    self.set_due(true);
                }
                Some(Msg::Flush(done)) => {
                    if due_since.take().is_some() {
                        self.work(&mut sync_due);
                    }
                    let _ = done.send(());
                }
                None => {
                    due_since = None;
                    self.work(&mut sync_due);
                }
            }
        }
    }

    /// Runs the due work if the vault is unlocked. Locked, it stays due
    /// (`UpkeepStatus::due`) and the unlock's own event starts it again.
    fn work(&self, sync_due: &mut bool) {
        if self.vault.is_locked() {
            return;
        }
        self.backup();
        if std::mem::take(sync_due) {
            self.sync();
        }
        self.set_due(false);
    }

    fn backup(&self) {
        match auto::run(
            &self.vault,
            &self.path,
            self.protector.as_ref(),
            self.clock.now_unix_s(),
        ) {
            Ok(None) => {}
            Ok(Some(path)) => {
                self.record(|s| {
                    s.last_backup = Some(path.clone());
                    s.backup_error = None;
                });
                self.tell(UpkeepEvent::BackupWritten { path });
            }
            Err(error) => {
                self.record(|s| s.backup_error = Some(error.clone()));
                self.tell(UpkeepEvent::BackupFailed { error });
            }
        }
    }

    fn sync(&self) {
        match device::status(&self.path, self.protector.as_ref()) {
            Ok(Some(status)) if status.stopped.is_none() => {}
            Ok(_) => return,
            Err(error) => return self.sync_failed(error),
        }
        let outcome = self.runtime.block_on(sync_round(
            &self.shared,
            &self.vault,
            &self.path,
            self.protector.as_ref(),
            self.clock.now_unix_s(),
        ));
        match outcome {
            Ok((report, merged)) => {
                // (A user edit made during this very round is synced with
                // the next change or unlock: delayed, never lost — its entry
                // stays dirty until pushed.)
                if merged {
                    // What came from other devices goes into the backup too.
                    self.backup();
                }
                self.record(|s| {
                    s.last_sync = Some(report.clone());
                    s.sync_error = None;
                });
                self.tell(UpkeepEvent::Synced { report });
            }
            Err(error) => self.sync_failed(error),
        }
    }

    fn sync_failed(&self, error: AuthenticatorError) {
        self.record(|s| s.sync_error = Some(error.clone()));
        self.tell(UpkeepEvent::SyncFailed { error });
    }

    fn set_due(&self, due: bool) {
        self.record(|s| s.due = due);
    }

    fn record(&self, f: impl FnOnce(&mut UpkeepStatus)) {
        if let Ok(mut s) = self.shared.status.lock() {
            f(&mut s);
        }
    }

    /// Gives `event` to the listener, with no lock held during the call.
    fn tell(&self, event: UpkeepEvent) {
        let listener = self.shared.listener.lock().ok().and_then(|l| l.clone());
        if let Some(l) = listener {
            // A panicking listener must not end the worker.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| l.on_upkeep(event)));
        }
    }
}
