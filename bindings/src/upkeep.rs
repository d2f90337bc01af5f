//! What the core's upkeep (automatic backup and sync after every change,
//! decided in the core) tells the shell: each outcome through an
//! [`UpkeepListener`], the last ones in [`UpkeepInfo`]. Shells show them;
//! they never schedule backups or sync themselves.

use crate::authenticator::Authenticator;
use crate::error::AuthError;
use crate::sync::SyncReport;
use countersign_core::authenticator::{UpkeepEvent, UpkeepStatus};
use std::sync::Arc;

/// Which upkeep step an [`UpkeepNotice`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum UpkeepKind {
    /// An automatic backup was written and verified.
    BackupWritten,
    /// Writing the automatic backup failed (retried after the next change).
    BackupFailed,
    /// A sync round finished.
    Synced,
    /// A sync round failed (retried after the next change or unlock).
    SyncFailed,
}

/// One upkeep outcome.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UpkeepNotice {
    /// What happened.
    pub kind: UpkeepKind,
    /// The backup file, for `BackupWritten`.
    pub backup_path: Option<String>,
    /// The round's report, for `Synced`.
    pub sync_report: Option<SyncReport>,
    /// Why, for the failures (safe to show).
    pub error: Option<String>,
}

impl From<UpkeepEvent> for UpkeepNotice {
    fn from(e: UpkeepEvent) -> Self {
        let blank = |kind| Self {
            kind,
            backup_path: None,
            sync_report: None,
            error: None,
        };
        match e {
            UpkeepEvent::BackupWritten { path } => Self {
                backup_path: Some(path.to_string_lossy().into_owned()),
                ..blank(UpkeepKind::BackupWritten)
            },
            UpkeepEvent::BackupFailed { error } => Self {
                error: Some(AuthError::from(error).to_string()),
                ..blank(UpkeepKind::BackupFailed)
            },
            UpkeepEvent::Synced { report } => Self {
                sync_report: Some(report.into()),
                ..blank(UpkeepKind::Synced)
            },
            UpkeepEvent::SyncFailed { error } => Self {
                error: Some(AuthError::from(error).to_string()),
                ..blank(UpkeepKind::SyncFailed)
            },
        }
    }
}

/// The last upkeep outcomes.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UpkeepInfo {
    /// Newest automatic backup the core wrote.
    pub last_backup: Option<String>,
    /// The last backup failure (cleared by the next success).
    pub backup_error: Option<String>,
    /// The last sync round's report.
    pub last_sync: Option<SyncReport>,
    /// The last sync failure (cleared by the next success).
    pub sync_error: Option<String>,
    /// Work is waiting (a quiet moment, or the next unlock).
    pub due: bool,
}

impl From<UpkeepStatus> for UpkeepInfo {
    fn from(s: UpkeepStatus) -> Self {
        Self {
            last_backup: s.last_backup.map(|p| p.to_string_lossy().into_owned()),
            backup_error: s.backup_error.map(|e| AuthError::from(e).to_string()),
            last_sync: s.last_sync.map(Into::into),
            sync_error: s.sync_error.map(|e| AuthError::from(e).to_string()),
            due: s.due,
        }
    }
}

/// Receives upkeep outcomes. Called on the core's upkeep thread with no
/// Rust lock held; hop to the main thread before touching UI.
#[uniffi::export(with_foreign)]
pub trait UpkeepListener: Send + Sync {
    /// One outcome.
    fn on_upkeep(&self, notice: UpkeepNotice);
}

/// The foreign listener as the core's.
struct Forward(Arc<dyn UpkeepListener>);

impl countersign_core::authenticator::UpkeepListener for Forward {
    fn on_upkeep(&self, event: UpkeepEvent) {
        self.0.on_upkeep(event.into());
    }
}

#[uniffi::export]
impl Authenticator {
    /// Where the core reports automatic-backup and sync outcomes (`None`
    /// stops). Replaces any earlier listener.
    pub fn set_upkeep_listener(&self, listener: Option<Arc<dyn UpkeepListener>>) {
        self.core.set_upkeep_listener(listener.map(|l| {
            Arc::new(Forward(l)) as Arc<dyn countersign_core::authenticator::UpkeepListener>
        }));
    }

    /// The last upkeep outcomes (kept also without a listener).
    pub fn upkeep_status(&self) -> UpkeepInfo {
        self.core.upkeep_status().into()
    }
}
