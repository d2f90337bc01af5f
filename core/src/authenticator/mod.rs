//! The façade: one object per vault that owns everything the app needs —
//! the vault, the approve client, automatic backups and sync — so the phone
//! shells and the CLI do the whole job through it and never decide *when*
//! to back up or sync.
//!
//! After every committed change (and on every unlock) the vault tells the
//! façade's upkeep worker ([`upkeep`]), which waits for a quiet moment
//! (debounced), then writes the automatic backup if one is due and runs a
//! sync round if sync is on — on its own thread, never the caller's.
//! Outcomes and errors go to the [`UpkeepListener`] and are kept in
//! [`UpkeepStatus`], so none is lost silently.
//!
//! Automatic backup and sync state still live in files beside the vault
//! (`<vault>.autobackup`, `<vault>.sync`), sealed by the platform key; they
//! move into the vault as manifest-covered rows in a later step (issue 11).

#[cfg(test)]
mod tests;
mod upkeep;

pub use upkeep::{UpkeepEvent, UpkeepListener, UpkeepStatus};

use crate::approve::Approver;
use crate::backup::auto::{self, AutoBackupStatus};
use crate::clock::Clock;
use crate::error::AuthenticatorError;
use crate::sync::device::{self, SyncReport, SyncStatus};
use crate::vault::{KeyProtector, Vault};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

type Result<T, E = AuthenticatorError> = std::result::Result<T, E>;

/// How long the upkeep worker waits for more changes before it backs up
/// and syncs (a burst of edits gives one backup and one round).
pub const DEFAULT_QUIET: Duration = Duration::from_millis(1500);

/// Everything one vault's app needs, behind one object.
pub struct Authenticator {
    vault: Arc<Vault>,
    approver: Arc<Approver>,
    path: PathBuf,
    protector: Arc<dyn KeyProtector>,
    clock: Arc<dyn Clock>,
    upkeep: upkeep::Handle,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Opens the vault at `path` (creating it, with a new key wrapped by
    /// `protector`, when no file is there) and starts its upkeep worker.
    /// The vault starts locked. A file that is not a readable vault is an
    /// error and is left untouched.
    pub fn open(
        path: &Path,
        protector: Arc<dyn KeyProtector>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        Self::open_with_quiet(path, protector, clock, DEFAULT_QUIET)
    }

    /// [`Authenticator::open`] with the upkeep's quiet period given (tests
    /// use a short one).
    pub fn open_with_quiet(
        path: &Path,
        protector: Arc<dyn KeyProtector>,
        clock: Arc<dyn Clock>,
        quiet: Duration,
    ) -> Result<Self> {
        let now = clock.now_unix_s();
        let vault = Arc::new(Vault::open_or_create(path, protector.clone(), now)?);
        let upkeep = upkeep::start(
            upkeep::Parts {
                vault: vault.clone(),
                path: path.to_owned(),
                protector: protector.clone(),
                clock: clock.clone(),
            },
            quiet,
        )?;
        Ok(Self {
            approver: Arc::new(Approver::new(vault.clone())),
            vault,
            path: path.to_owned(),
            protector,
            clock,
            upkeep,
        })
    }

    /// The vault (profiles, codes, settings, passcode, pairings).
    pub fn vault(&self) -> &Arc<Vault> {
        &self.vault
    }

    /// The approve client (pairing, requests, answers).
    pub fn approver(&self) -> &Arc<Approver> {
        &self.approver
    }

    /// The vault file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The platform key protector.
    pub fn protector(&self) -> &Arc<dyn KeyProtector> {
        &self.protector
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> i64 {
        self.clock.now_unix_s()
    }

    /// Where upkeep outcomes go (replacing any earlier listener; `None` to
    /// stop). Called on the upkeep thread, with no lock held.
    pub fn set_upkeep_listener(&self, listener: Option<Arc<dyn UpkeepListener>>) {
        self.upkeep.set_listener(listener);
    }

    /// The last upkeep outcomes (also kept when no listener is set).
    pub fn upkeep_status(&self) -> UpkeepStatus {
        self.upkeep.status()
    }

    /// Runs due upkeep now instead of after the quiet period, and waits for
    /// it (at most `timeout`); `false` if it did not finish in time. The CLI
    /// calls this before it exits.
    pub fn flush_upkeep(&self, timeout: Duration) -> bool {
        self.upkeep.flush(timeout)
    }

    // --- automatic backups ---

    /// Turns automatic backups on (see [`auto::enable`]); writes the first
    /// one now. From then on the upkeep worker writes one after changes.
    pub fn enable_auto_backup(&self, dir: &Path, password: &str, keep: u32) -> Result<PathBuf> {
        self.enable_auto_backup_with_kdf(dir, password, keep, crate::backup::KdfParams::DEFAULT)
    }

    /// [`Authenticator::enable_auto_backup`] with explicit KDF parameters (tests).
    pub fn enable_auto_backup_with_kdf(
        &self,
        dir: &Path,
        password: &str,
        keep: u32,
        kdf: crate::backup::KdfParams,
    ) -> Result<PathBuf> {
        auto::enable_with_kdf(
            &self.vault,
            &self.path,
            self.protector.as_ref(),
            dir,
            password,
            keep,
            self.now(),
            kdf,
        )
    }

    /// Where automatic backups go, or `None` when they are off.
    pub fn auto_backup_status(&self) -> Result<Option<AutoBackupStatus>> {
        auto::status(&self.path)
    }

    /// Turns automatic backups off (existing files kept); `false` if already off.
    pub fn disable_auto_backup(&self) -> Result<bool> {
        auto::disable(&self.path)
    }

    /// Writes an automatic backup now if one is due (the upkeep worker
    /// does this by itself; this is the "back up now" button).
    pub fn back_up_now(&self) -> Result<Option<PathBuf>> {
        auto::run(&self.vault, &self.path, self.protector.as_ref(), self.now())
    }

    // --- sync ---

    /// Where sync stands, or `None` when it is off.
    pub fn sync_status(&self) -> Result<Option<SyncStatus>> {
        device::status(&self.path, self.protector.as_ref())
    }

    /// One sync round now (the upkeep worker runs them by itself after
    /// changes and on unlock).
    pub async fn sync_now(&self) -> Result<SyncReport> {
        // Alone, and its merge is not a user change: it starts no
        // automatic round, only the automatic backup of what came in.
        let (report, _) = self
            .upkeep
            .sync_round(&self.vault, &self.path, self.protector.as_ref(), self.now())
            .await?;
        Ok(report)
    }
}
