//! The encrypted vault: one long-lived object per vault file.
//!
//! [`Vault`] owns the SQLite connection and, while unlocked, the data key and
//! the decrypted profiles with their keyed code generators. `lock()` drops
//! (and zeroizes) all of it. Every user action is one SQLite transaction that
//! also rewrites the authenticated manifest, so a crash leaves either the old
//! or the new state, and rows changed behind our back are detected.
//!
//! Concurrency: all state sits behind one mutex. The [`KeyProtector`] (which
//! may show a biometric prompt, or be Swift/Kotlin code) is only ever called
//! with that mutex released: the rollback counter is stored by the state
//! guard's `Drop`, after the mutex is unlocked. The on-disk format is in
//! `docs/vault-format.md`.

mod crypto;
mod manifest;
mod pairings;
mod passcode;
mod profiles;
mod protector;
mod record;
mod schema;
mod settings;

pub use pairings::{Pairing, MAX_PAIRINGS};
pub use passcode::{wait_after, FREE_ATTEMPTS, MAX_WAIT_S};
pub use profiles::{AddReport, ProfileCode, ProfileUpdate, Skipped, MAX_PROFILES};
pub use protector::{KeyProtector, ProtectorError, SoftwareKeyProtector};
pub use schema::SCHEMA_VERSION;

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    crypto::hex(bytes)
}

/// Hex (either case) to bytes; `None` when malformed.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    crypto::unhex(s)
}

/// A fresh random id (32 hex characters) from the OS random source.
pub fn random_hex_id() -> Result<String, AuthenticatorError> {
    crypto::random_id().map_err(Into::into)
}
pub use settings::{Settings, MAX_CLOCK_OFFSET_S, MAX_REAUTH_TIMEOUT_S};

use crate::error::{AuthenticatorError, VaultError};
use crypto::{aad, Purpose, SealKey, VAULT_ID_LEN};
use manifest::{Digests, MANIFEST_INFO};
use passcode::{Lockout, Verifier, VERIFIER_INFO};
use profiles::Entry;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use zeroize::Zeroizing;

type Result<T, E = AuthenticatorError> = std::result::Result<T, E>;

/// Failed-attempt state, readable while locked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockoutStatus {
    /// Wrong passcodes since the last successful unlock.
    pub failed_attempts: u32,
    /// Seconds until a passcode attempt is accepted (0: now).
    pub retry_after_s: u64,
}

/// How a vault can be unlocked, readable while locked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnlockMethods {
    /// A passcode is set and required.
    pub passcode: bool,
    /// A biometric slot exists.
    pub biometrics: bool,
}

/// An encrypted authenticator vault.
pub struct Vault {
    path: PathBuf,
    protector: Arc<dyn KeyProtector>,
    state: Mutex<State>,
    /// Name of this vault's rollback counter in the protector.
    counter_alias: String,
    /// The highest generation stored in that counter by this object.
    counter_stored: AtomicU64,
    /// Who hears about commits and unlocks (the façade's upkeep). Called
    /// after every lock is released; core closures only, never foreign code.
    watchers: Mutex<Vec<VaultWatcher>>,
    /// The highest generation announced as [`VaultEvent::Committed`].
    announced: AtomicU64,
}

/// A function told about [`VaultEvent`]s ([`Vault::watch`]).
pub type VaultWatcher = Arc<dyn Fn(VaultEvent) + Send + Sync>;

/// What a vault tells its watchers ([`Vault::watch`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VaultEvent {
    /// A write committed; the vault is now at this generation.
    Committed(u64),
    /// The vault was unlocked (at this generation).
    Unlocked(u64),
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

struct State {
    conn: Connection,
    vault_id: [u8; VAULT_ID_LEN],
    unlocked: Option<Unlocked>,
    backgrounded_at: Option<i64>,
    /// The highest manifest generation this object committed or verified
    /// (besides `unlocked.generation`): what the rollback counter is due.
    committed: u64,
}

impl State {
    /// The generation the rollback counter should hold now.
    fn counter_due(&self) -> u64 {
        self.unlocked
            .as_ref()
            .map_or(self.committed, |u| u.generation.max(self.committed))
    }
}

/// The state lock. Dropping it unlocks the mutex first and then, if a commit
/// moved the generation past the stored rollback counter, stores the counter
/// (a protector call, so never under the lock). A failed store is not an
/// error: the counter lags (detection is weaker, nothing is lost).
struct StateGuard<'a> {
    vault: &'a Vault,
    guard: Option<MutexGuard<'a, State>>,
}

impl std::ops::Deref for StateGuard<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        self.guard.as_deref().expect("guard present until drop")
    }
}

impl std::ops::DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.guard.as_deref_mut().expect("guard present until drop")
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        let Some(guard) = self.guard.take() else {
            return;
        };
        let due = guard.counter_due();
        let was_unlocked = guard.unlocked.is_some();
        drop(guard);
        if due > self.vault.counter_stored.load(Ordering::Acquire)
            && self
                .vault
                .protector
                .store_counter(&self.vault.counter_alias, due)
                .is_ok()
        {
            self.vault.counter_stored.fetch_max(due, Ordering::AcqRel);
        }
        // The first sight of a generation (a commit, or the one found at
        // unlock) is announced once. Watchers skip what they already know.
        if was_unlocked && due > self.vault.announced.fetch_max(due, Ordering::AcqRel) {
            self.vault.announce(VaultEvent::Committed(due));
        }
    }
}

/// Everything that exists only while unlocked.
struct Unlocked {
    key: SealKey,
    manifest_key: Zeroizing<[u8; 32]>,
    verifier_key: Zeroizing<[u8; 32]>,
    generation: u64,
    digests: Digests,
    settings: Settings,
    entries: Vec<Entry>,
    pairings: Vec<pairings::Pairing>,
}

const META_VAULT_ID: &str = "vault_id";
const META_MANIFEST: &str = "manifest";
const META_SETTINGS: &str = "settings";
const META_PASSCODE: &str = "passcode";
const META_LOCKOUT: &str = "lockout";
const SLOT_PLATFORM: &str = "platform";
const SLOT_BIOMETRIC: &str = "biometric";
/// Alias kind of the rollback counter.
const COUNTER_GENERATION: &str = "generation";

fn slot_alias(vault_id: &[u8; VAULT_ID_LEN], kind: &str) -> String {
    format!("countersign.vault.{}.{}", hex(vault_id), kind)
}

impl Vault {
    /// Creates a new vault at `path` (which must not exist), with its data key
    /// wrapped by `protector`. The file appears atomically: either a complete
    /// vault is at `path` or nothing is.
    pub fn create(path: &Path, protector: Arc<dyn KeyProtector>, now: i64) -> Result<Self> {
        Self::create_inner(path, protector, now).map_err(Into::into)
    }

    fn create_inner(
        path: &Path,
        protector: Arc<dyn KeyProtector>,
        now: i64,
    ) -> Result<Self, VaultError> {
        if path.exists() {
            return Err(VaultError::AlreadyExists);
        }
        let mut vault_id = [0u8; VAULT_ID_LEN];
        crypto::random_bytes(&mut vault_id)?;
        let dek = crypto::random_key()?;
        let key = SealKey::new(&dek[..])?;
        let alias = slot_alias(&vault_id, SLOT_PLATFORM);
        let wrapped = protector.wrap(&alias, &dek[..], false)?;

        let mut staging = path.as_os_str().to_owned();
        staging.push(format!(".creating-{}", hex(&vault_id[..4])));
        let staging = PathBuf::from(staging);
        let built = (|| -> Result<(), VaultError> {
            let conn = schema::create(&staging)?;
            let manifest_key = key.subkey(MANIFEST_INFO, &vault_id)?;
            let settings_blob = key.seal(
                &aad(Purpose::Settings, "", &vault_id),
                &serde_json::to_vec(&Settings::default())
                    .map_err(|e| VaultError::Invalid(e.to_string()))?,
            )?;
            let digests = Digests {
                settings: Digests::of(&settings_blob),
                ..Digests::default()
            };
            let tx = conn.unchecked_transaction()?;
            put_meta(&tx, META_VAULT_ID, &vault_id)?;
            put_meta(&tx, META_SETTINGS, &settings_blob)?;
            put_meta(&tx, META_MANIFEST, &digests.encode(&manifest_key[..], 1))?;
            tx.execute(
                "INSERT INTO key_slots (id, kind, alias, wrapped, created_at) VALUES (?1, ?1, ?2, ?3, ?4)",
                params![SLOT_PLATFORM, alias, wrapped, now],
            )?;
            tx.commit()?;
            // Closing checkpoints the WAL into the main file.
            conn.close().map_err(|(_, e)| VaultError::Sqlite(e))?;
            sync_file(&staging)?;
            // hard_link refuses to replace: a vault created concurrently wins.
            std::fs::hard_link(&staging, path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    VaultError::AlreadyExists
                } else {
                    VaultError::Io(e)
                }
            })?;
            sync_dir(path);
            Ok(())
        })();
        // The staging file never held anything but this new, empty vault.
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = staging.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
        built?;
        Self::open_inner(path, protector)
    }

    /// Opens an existing vault, locked. A file that is not a readable vault is
    /// reported as [`AuthenticatorError::VaultUnreadable`] and left untouched.
    pub fn open(path: &Path, protector: Arc<dyn KeyProtector>) -> Result<Self> {
        Self::open_inner(path, protector).map_err(Into::into)
    }

    fn open_inner(path: &Path, protector: Arc<dyn KeyProtector>) -> Result<Self, VaultError> {
        let conn = schema::open(path)?;
        let id = get_meta(&conn, META_VAULT_ID)?
            .ok_or_else(|| VaultError::Corrupt("vault id missing".into()))?;
        let vault_id: [u8; VAULT_ID_LEN] = id
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Corrupt("vault id malformed".into()))?;
        Ok(Self {
            path: path.to_owned(),
            protector,
            state: Mutex::new(State {
                conn,
                vault_id,
                unlocked: None,
                backgrounded_at: None,
                committed: 0,
            }),
            counter_alias: slot_alias(&vault_id, COUNTER_GENERATION),
            counter_stored: AtomicU64::new(0),
            watchers: Mutex::new(Vec::new()),
            announced: AtomicU64::new(0),
        })
    }

    /// Opens the vault at `path`, creating it first if no file exists there.
    pub fn open_or_create(path: &Path, protector: Arc<dyn KeyProtector>, now: i64) -> Result<Self> {
        if path.exists() {
            Self::open(path, protector)
        } else {
            match Self::create(path, protector.clone(), now) {
                // Lost a creation race: open the winner's vault.
                Err(AuthenticatorError::InvalidInput { .. }) if path.exists() => {
                    Self::open(path, protector)
                }
                other => other,
            }
        }
    }

    /// The vault file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn state(&self) -> Result<StateGuard<'_>, VaultError> {
        let guard = self.state.lock().map_err(|_| VaultError::Poisoned)?;
        Ok(StateGuard {
            vault: self,
            guard: Some(guard),
        })
    }

    /// Calls `f` after every committed write and every unlock, on the
    /// thread that made it, after the vault's locks are released. `f` must
    /// be quick (send on a channel); it must not call back into the vault
    /// synchronously. There is no unsubscribe: watchers live as long as the
    /// vault (the façade owns both).
    pub fn watch(&self, f: VaultWatcher) {
        if let Ok(mut w) = self.watchers.lock() {
            w.push(f);
        }
    }

    fn announce(&self, event: VaultEvent) {
        let watchers: Vec<_> = match self.watchers.lock() {
            Ok(w) => w.clone(),
            Err(_) => return,
        };
        for w in watchers {
            w(event);
        }
    }

    /// True while locked (no keys in memory).
    pub fn is_locked(&self) -> bool {
        self.state
            .lock()
            .map(|s| s.unlocked.is_none())
            .unwrap_or(true)
    }

    /// Drops all keys and decrypted data.
    pub fn lock(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.unlocked = None;
        }
    }

    /// What unlocking needs (readable while locked).
    pub fn unlock_methods(&self) -> Result<UnlockMethods> {
        let s = self.state()?;
        let passcode = get_meta(&s.conn, META_PASSCODE)
            .map_err(AuthenticatorError::from)?
            .is_some();
        let biometrics = slot(&s.conn, SLOT_BIOMETRIC)
            .map_err(AuthenticatorError::from)?
            .is_some();
        Ok(UnlockMethods {
            passcode,
            biometrics,
        })
    }

    /// Failed attempts and the current wait (readable while locked). While
    /// locked the record is shown as stored; it is checked against the
    /// manifest (and a clock that went backwards re-anchored for good) at
    /// the next unlock attempt.
    pub fn lockout_status(&self, now: i64) -> Result<LockoutStatus> {
        let s = self.state()?;
        let mut l = read_lockout(&s.conn)?;
        l.reanchor(now);
        Ok(LockoutStatus {
            failed_attempts: l.failed,
            retry_after_s: l.retry_after(now),
        })
    }

    /// Unlocks with the platform slot and, if one is set, the passcode.
    ///
    /// A wrong passcode is counted (persistently) and answered with
    /// [`AuthenticatorError::WrongPasscode`]; while a wait is in force every
    /// attempt gets [`AuthenticatorError::LockedOut`] without being checked.
    pub fn unlock(&self, passcode: Option<&str>, now: i64) -> Result<()> {
        self.unlock_inner(passcode, now).map_err(Into::into)
    }

    fn unlock_inner(&self, passcode: Option<&str>, now: i64) -> Result<(), VaultError> {
        if let Some(p) = passcode {
            passcode::check_format(p)?;
        }
        let (alias, wrapped) = {
            let s = self.state()?;
            if s.unlocked.is_some() && passcode.is_none() {
                return Ok(());
            }
            // A cheap early refusal from the unverified record (it can only
            // refuse; the verified check below is the one that counts).
            if passcode.is_some() {
                unverified_wait(&s.conn, now)?;
            }
            slot(&s.conn, SLOT_PLATFORM)?
                .ok_or_else(|| VaultError::Corrupt("platform key slot missing".into()))?
        };
        // Never call the protector with the state lock held.
        let floor = self.read_counter()?;
        let dek = self.protector.unwrap(&alias, &wrapped)?;
        let mut s = self.state()?;
        let mut unlocked = load_unlocked(&s.conn, &s.vault_id, dek.expose())?;
        check_not_rolled_back(unlocked.generation, floor)?;
        let verifier = read_verifier(&s.conn, &s.vault_id, &unlocked)?;
        let outcome = match (verifier, passcode) {
            (None, None) => Ok(()),
            (None, Some(_)) => Err(VaultError::PasscodeNotSet),
            (Some(_), None) => Err(VaultError::PasscodeRequired),
            (Some(v), Some(p)) => {
                // Checked under the same lock that records the result, so
                // parallel attempts cannot slip past the backoff.
                check_passcode(&s.conn, &mut unlocked, &v, p, now)
            }
        };
        s.committed = s.committed.max(unlocked.generation);
        outcome?;
        let generation = unlocked.generation;
        s.unlocked = Some(unlocked);
        s.backgrounded_at = None;
        drop(s);
        self.announce(VaultEvent::Unlocked(generation));
        Ok(())
    }

    /// The rollback counter, read outside the state lock.
    fn read_counter(&self) -> Result<Option<u64>, VaultError> {
        let floor = self.protector.read_counter(&self.counter_alias)?;
        if let Some(f) = floor {
            self.counter_stored.fetch_max(f, Ordering::AcqRel);
        }
        Ok(floor)
    }

    /// Unlocks through the biometric slot (the protector shows the prompt).
    /// Success also clears the failed-passcode counter.
    pub fn unlock_with_biometrics(&self, now: i64) -> Result<()> {
        let _ = now;
        let run = || -> Result<(), VaultError> {
            let (alias, wrapped) = {
                let s = self.state()?;
                slot(&s.conn, SLOT_BIOMETRIC)?
                    .ok_or_else(|| VaultError::Invalid("biometric unlock is not enabled".into()))?
            };
            let floor = self.read_counter()?;
            let dek = self.protector.unwrap(&alias, &wrapped)?;
            let mut s = self.state()?;
            let mut unlocked = load_unlocked(&s.conn, &s.vault_id, dek.expose())?;
            check_not_rolled_back(unlocked.generation, floor)?;
            set_lockout(&s.conn, &mut unlocked, Lockout::default())?;
            let generation = unlocked.generation;
            s.unlocked = Some(unlocked);
            s.backgrounded_at = None;
            drop(s);
            self.announce(VaultEvent::Unlocked(generation));
            Ok(())
        };
        run().map_err(Into::into)
    }

    /// Adds a biometric slot: the data key wrapped by a platform key that
    /// requires user authentication. Needs the vault unlocked.
    pub fn enable_biometrics(&self, now: i64) -> Result<()> {
        let run = || -> Result<(), VaultError> {
            let (alias, dek) = {
                let s = self.state()?;
                let u = s.unlocked.as_ref().ok_or(VaultError::Locked)?;
                (
                    slot_alias(&s.vault_id, SLOT_BIOMETRIC),
                    Zeroizing::new(*u.key.raw()),
                )
            };
            let wrapped = self.protector.wrap(&alias, &dek[..], true)?;
            let s = self.state()?;
            s.conn.execute(
                "INSERT OR REPLACE INTO key_slots (id, kind, alias, wrapped, created_at) VALUES (?1, ?1, ?2, ?3, ?4)",
                params![SLOT_BIOMETRIC, alias, wrapped, now],
            )?;
            Ok(())
        };
        run().map_err(Into::into)
    }

    /// Removes the biometric slot and deletes its platform key.
    pub fn disable_biometrics(&self) -> Result<()> {
        let run = || -> Result<(), VaultError> {
            let alias = {
                let s = self.state()?;
                let alias = slot(&s.conn, SLOT_BIOMETRIC)?.map(|(a, _)| a);
                s.conn.execute(
                    "DELETE FROM key_slots WHERE id = ?1",
                    params![SLOT_BIOMETRIC],
                )?;
                alias
            };
            if let Some(a) = alias {
                self.protector.delete(&a)?;
            }
            Ok(())
        };
        run().map_err(Into::into)
    }

    /// The app went to the background at `now`.
    pub fn on_background(&self, now: i64) {
        if let Ok(mut s) = self.state.lock() {
            s.backgrounded_at = Some(now);
            let immediate = s
                .unlocked
                .as_ref()
                .is_some_and(|u| u.settings.reauth_timeout_s == 0);
            if immediate {
                s.unlocked = None;
            }
        }
    }

    /// The app came back at `now`. Locks (and returns true) if it was away
    /// for at least the re-authentication timeout.
    pub fn on_foreground(&self, now: i64) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return true;
        };
        let away = s.backgrounded_at.take().map(|t| now.saturating_sub(t));
        if let (Some(away), Some(u)) = (away, s.unlocked.as_ref()) {
            // A clock that jumped backwards also locks.
            if away < 0 || away >= i64::from(u.settings.reauth_timeout_s) {
                s.unlocked = None;
            }
        }
        s.unlocked.is_none()
    }

    /// Sets the first passcode. Needs the vault unlocked and no passcode set.
    pub fn set_passcode(&self, new: &str, now: i64) -> Result<()> {
        let _ = now;
        let run = || -> Result<(), VaultError> {
            passcode::check_format(new)?;
            let mut s = self.state()?;
            if get_meta(&s.conn, META_PASSCODE)?.is_some() {
                return Err(VaultError::PasscodeAlreadySet);
            }
            write_verifier(&mut s, Some(new))
        };
        run().map_err(Into::into)
    }

    /// Changes the passcode. The old one is checked (and counted) like an unlock.
    pub fn change_passcode(&self, old: &str, new: &str, now: i64) -> Result<()> {
        let run = || -> Result<(), VaultError> {
            passcode::check_format(old)?;
            passcode::check_format(new)?;
            let mut s = self.state()?;
            verify_current(&mut s, old, now)?;
            write_verifier(&mut s, Some(new))
        };
        run().map_err(Into::into)
    }

    /// Removes the passcode after checking it.
    pub fn remove_passcode(&self, current: &str, now: i64) -> Result<()> {
        let run = || -> Result<(), VaultError> {
            passcode::check_format(current)?;
            let mut s = self.state()?;
            verify_current(&mut s, current, now)?;
            write_verifier(&mut s, None)
        };
        run().map_err(Into::into)
    }

    /// Checks the passcode of an unlocked vault (e.g. before showing a
    /// secret), with the same counting and backoff as unlocking.
    pub fn verify_passcode(&self, passcode: &str, now: i64) -> Result<()> {
        let run = || -> Result<(), VaultError> {
            passcode::check_format(passcode)?;
            let mut s = self.state()?;
            verify_current(&mut s, passcode, now)
        };
        run().map_err(Into::into)
    }

    /// The current settings. Needs the vault unlocked.
    pub fn settings(&self) -> Result<Settings> {
        let s = self.state()?;
        Ok(s.unlocked.as_ref().ok_or(VaultError::Locked)?.settings)
    }

    /// Replaces the settings (validated; one transaction).
    pub fn update_settings(&self, new: Settings) -> Result<()> {
        let run = || -> Result<(), VaultError> {
            new.validate().map_err(VaultError::Invalid)?;
            let mut s = self.state()?;
            let vault_id = s.vault_id;
            let State { conn, unlocked, .. } = &mut *s;
            let u = unlocked.as_mut().ok_or(VaultError::Locked)?;
            let json = serde_json::to_vec(&new).map_err(|e| VaultError::Invalid(e.to_string()))?;
            let blob = u.key.seal(&aad(Purpose::Settings, "", &vault_id), &json)?;
            let old = u.digests.settings;
            u.digests.settings = Digests::of(&blob);
            let res = commit_with_manifest(conn, u, |tx| put_meta(tx, META_SETTINGS, &blob));
            match res {
                Ok(()) => {
                    u.settings = new;
                    Ok(())
                }
                Err(e) => {
                    u.digests.settings = old;
                    Err(e)
                }
            }
        };
        run().map_err(Into::into)
    }

    /// Sets the clock offset applied to every code (seconds).
    pub fn set_clock_offset(&self, offset_s: i64) -> Result<()> {
        let mut s = self.settings()?;
        s.clock_offset_s = offset_s;
        self.update_settings(s)
    }

    /// The manifest generation (increments with every write). The vault
    /// mirrors it in the protector's rollback counter itself.
    pub fn generation(&self) -> Result<u64> {
        let s = self.state()?;
        Ok(s.unlocked.as_ref().ok_or(VaultError::Locked)?.generation)
    }
}

fn sync_file(path: &Path) -> Result<(), VaultError> {
    std::fs::File::open(path)?.sync_all()?;
    Ok(())
}

fn sync_dir(path: &Path) {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn put_meta(conn: &Connection, key: &str, value: &[u8]) -> Result<(), VaultError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

fn get_meta(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>, VaultError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
            r.get(0)
        })
        .optional()?)
}

fn slot(conn: &Connection, kind: &str) -> Result<Option<(String, Vec<u8>)>, VaultError> {
    Ok(conn
        .query_row(
            "SELECT alias, wrapped FROM key_slots WHERE id = ?1",
            params![kind],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

fn read_lockout(conn: &Connection) -> Result<Lockout, VaultError> {
    match get_meta(conn, META_LOCKOUT)? {
        None => Ok(Lockout::default()),
        Some(b) => serde_json::from_slice(&b)
            .map_err(|_| VaultError::Corrupt("lockout record malformed".into())),
    }
}

/// The wait the stored (not yet verified) record imposes, to refuse early
/// without unwrapping the key. It can only refuse; a wait longer than the
/// record's own (the clock went backwards) is left to the verified check,
/// which re-anchors it and stores that.
fn unverified_wait(conn: &Connection, now: i64) -> Result<(), VaultError> {
    let l = read_lockout(conn)?;
    match l.retry_after(now) {
        0 => Ok(()),
        w if w > passcode::wait_after(l.failed) => Ok(()),
        retry_after_s => Err(VaultError::LockedOut { retry_after_s }),
    }
}

/// Replaces the lockout record, covered by the manifest, in one transaction
/// (an all-zero record is stored as no row and no manifest section).
fn set_lockout(conn: &Connection, u: &mut Unlocked, l: Lockout) -> Result<(), VaultError> {
    let json = if l == Lockout::default() {
        None
    } else {
        Some(serde_json::to_vec(&l).map_err(|e| VaultError::Invalid(e.to_string()))?)
    };
    let digest = json.as_deref().map(Digests::of);
    if digest == u.digests.lockout {
        return Ok(());
    }
    let old = u.digests.lockout;
    u.digests.lockout = digest;
    let res = commit_with_manifest(conn, u, |tx| write_lockout_row(tx, json.as_deref()));
    if res.is_err() {
        u.digests.lockout = old;
    }
    res
}

fn write_lockout_row(conn: &Connection, json: Option<&[u8]>) -> Result<(), VaultError> {
    match json {
        Some(j) => put_meta(conn, META_LOCKOUT, j),
        None => {
            conn.execute("DELETE FROM meta WHERE key = ?1", params![META_LOCKOUT])?;
            Ok(())
        }
    }
}

/// Checks `passcode` against the verifier with the manifest-checked lockout
/// record: refuses while a wait is in force, counts a wrong one, clears the
/// count on a right one.
fn check_passcode(
    conn: &Connection,
    u: &mut Unlocked,
    v: &Verifier,
    passcode: &str,
    now: i64,
) -> Result<(), VaultError> {
    let mut l = read_lockout(conn)?;
    if l.reanchor(now) {
        set_lockout(conn, u, l)?;
    }
    if let retry_after_s @ 1.. = l.retry_after(now) {
        return Err(VaultError::LockedOut { retry_after_s });
    }
    if v.matches(&u.verifier_key[..], passcode) {
        set_lockout(conn, u, Lockout::default())
    } else {
        l.record_failure(now);
        set_lockout(conn, u, l)?;
        Err(VaultError::WrongPasscode {
            retry_after_s: l.retry_after(now),
        })
    }
}

/// Refuses a vault file older than the generation the platform counter
/// remembers: the whole file was replaced by an earlier copy.
fn check_not_rolled_back(generation: u64, floor: Option<u64>) -> Result<(), VaultError> {
    match floor {
        Some(f) if f > generation => Err(VaultError::Tampered(format!(
            "the vault file is older than the last one this device wrote (generation {generation} < {f}): it was replaced by an earlier copy"
        ))),
        _ => Ok(()),
    }
}

fn read_verifier(
    conn: &Connection,
    vault_id: &[u8; VAULT_ID_LEN],
    u: &Unlocked,
) -> Result<Option<Verifier>, VaultError> {
    match get_meta(conn, META_PASSCODE)? {
        None => Ok(None),
        Some(blob) => {
            let plain = u.key.open(
                &aad(Purpose::Passcode, "", vault_id),
                &blob,
                "passcode verifier",
            )?;
            Verifier::from_bytes(&plain).map(Some)
        }
    }
}

fn verify_current(s: &mut State, passcode: &str, now: i64) -> Result<(), VaultError> {
    let vault_id = s.vault_id;
    let State { conn, unlocked, .. } = s;
    let u = unlocked.as_mut().ok_or(VaultError::Locked)?;
    let v = read_verifier(conn, &vault_id, u)?.ok_or(VaultError::PasscodeNotSet)?;
    check_passcode(conn, u, &v, passcode, now)
}

fn write_verifier(s: &mut State, new: Option<&str>) -> Result<(), VaultError> {
    let vault_id = s.vault_id;
    let State { conn, unlocked, .. } = s;
    let u = unlocked.as_mut().ok_or(VaultError::Locked)?;
    let blob = match new {
        Some(p) => {
            let v = Verifier::new(&u.verifier_key[..], p)?;
            Some(
                u.key
                    .seal(&aad(Purpose::Passcode, "", &vault_id), &v.to_bytes())?,
            )
        }
        None => None,
    };
    let old = (u.digests.passcode, u.digests.lockout);
    u.digests.passcode = blob.as_deref().map(Digests::of);
    u.digests.lockout = None;
    let res = commit_with_manifest(conn, u, |tx| {
        match &blob {
            Some(b) => put_meta(tx, META_PASSCODE, b)?,
            None => {
                tx.execute("DELETE FROM meta WHERE key = ?1", params![META_PASSCODE])?;
            }
        }
        write_lockout_row(tx, None)
    });
    if res.is_err() {
        (u.digests.passcode, u.digests.lockout) = old;
    }
    res
}

/// A table of sealed `(id, payload)` rows covered by the manifest.
#[derive(Clone, Copy)]
enum RowTable {
    Profiles,
    Pairings,
}

impl Unlocked {
    /// Upserts sealed rows and deletes `removed` ids of `table` in one
    /// transaction with the manifest. The in-memory digests describe the new
    /// rows only if it commits; callers update their own caches afterwards.
    fn commit_rows(
        &mut self,
        conn: &Connection,
        table: RowTable,
        rows: &[(&str, Vec<u8>)],
        removed: &[String],
    ) -> Result<(), VaultError> {
        let (name, digests) = match table {
            RowTable::Profiles => ("profiles", &mut self.digests.profiles),
            RowTable::Pairings => ("pairings", &mut self.digests.pairings),
        };
        let saved = digests.clone();
        for (id, blob) in rows {
            digests.insert((*id).to_owned(), Digests::of(blob));
        }
        for id in removed {
            digests.remove(id);
        }
        let res = commit_with_manifest(conn, self, |tx| {
            let mut up = tx.prepare_cached(&format!(
                "INSERT INTO {name} (id, payload) VALUES (?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET payload = excluded.payload"
            ))?;
            for (id, blob) in rows {
                up.execute(params![id, blob])?;
            }
            let mut del = tx.prepare_cached(&format!("DELETE FROM {name} WHERE id = ?1"))?;
            for id in removed {
                del.execute(params![id])?;
            }
            Ok(())
        });
        if res.is_err() {
            match table {
                RowTable::Profiles => self.digests.profiles = saved,
                RowTable::Pairings => self.digests.pairings = saved,
            }
        }
        res
    }
}

/// Runs `f` and the manifest update in one transaction, bumping the
/// generation only if it commits. `u.digests` must already describe the
/// state after `f`.
fn commit_with_manifest(
    conn: &Connection,
    u: &mut Unlocked,
    f: impl FnOnce(&Connection) -> Result<(), VaultError>,
) -> Result<(), VaultError> {
    let generation = u.generation + 1;
    let tx = conn.unchecked_transaction()?;
    f(&tx)?;
    put_meta(
        &tx,
        META_MANIFEST,
        &u.digests.encode(&u.manifest_key[..], generation),
    )?;
    tx.commit()?;
    u.generation = generation;
    Ok(())
}

/// Decrypts everything with the data key and checks the manifest.
fn load_unlocked(
    conn: &Connection,
    vault_id: &[u8; VAULT_ID_LEN],
    dek: &[u8],
) -> Result<Unlocked, VaultError> {
    let key = SealKey::new(dek)?;
    let manifest_key = key.subkey(MANIFEST_INFO, vault_id)?;
    let verifier_key = key.subkey(VERIFIER_INFO, vault_id)?;
    let settings_blob = get_meta(conn, META_SETTINGS)?
        .ok_or_else(|| VaultError::Tampered("settings missing".into()))?;
    let settings_plain = key.open(
        &aad(Purpose::Settings, "", vault_id),
        &settings_blob,
        "settings",
    )?;
    let settings: Settings = serde_json::from_slice(&settings_plain)
        .map_err(|_| VaultError::Corrupt("settings malformed".into()))?;
    let passcode_blob = get_meta(conn, META_PASSCODE)?;
    // An all-zero record counts as none (older versions wrote one).
    let lockout = get_meta(conn, META_LOCKOUT)?
        .filter(|_| read_lockout(conn).map_or(true, |l| l != Lockout::default()));
    let mut digests = Digests {
        settings: Digests::of(&settings_blob),
        passcode: passcode_blob.as_deref().map(Digests::of),
        lockout: lockout.as_deref().map(Digests::of),
        ..Digests::default()
    };
    let mut entries = Vec::new();
    let mut stmt = conn.prepare_cached("SELECT id, payload FROM profiles")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let payload: Vec<u8> = row.get(1)?;
        let plain = key.open(&aad(Purpose::Profile, &id, vault_id), &payload, "profile")?;
        let profile = record::decode(&id, &plain)?;
        digests.profiles.insert(id, Digests::of(&payload));
        entries.push(Entry::new(profile)?);
    }
    let mut pairing_list = Vec::new();
    let mut stmt = conn.prepare_cached("SELECT id, payload FROM pairings")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let payload: Vec<u8> = row.get(1)?;
        let plain = key.open(&aad(Purpose::Pairing, &id, vault_id), &payload, "pairing")?;
        pairing_list.push(pairings::decode(&id, &plain)?);
        digests.pairings.insert(id, Digests::of(&payload));
    }
    pairing_list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let stored = get_meta(conn, META_MANIFEST)?
        .ok_or_else(|| VaultError::Tampered("manifest missing".into()))?;
    let (generation, legacy) = digests.verify_allowing_legacy(&manifest_key[..], &stored)?;
    profiles::sort_entries(&mut entries);
    let mut unlocked = Unlocked {
        key,
        manifest_key,
        verifier_key,
        generation,
        digests,
        settings,
        entries,
        pairings: pairing_list,
    };
    if legacy {
        // Written before the manifest covered the lockout record: cover it now.
        commit_with_manifest(conn, &mut unlocked, |_| Ok(()))?;
    }
    Ok(unlocked)
}

#[cfg(test)]
mod tests;
