//! `Authenticator`: the one long-lived object a shell holds per vault.
//!
//! It wraps the core façade (`countersign_core::Authenticator`: vault,
//! approve client, automatic backups, sync and their upkeep after every
//! change) and the shell's clock. Fast operations (listing, codes, edits)
//! are synchronous; anything that calls the keystore — and so may show a
//! biometric prompt — is `async` and runs on the bindings' runtime, off the
//! caller's (UI) thread. Shells never schedule backups or sync: the core's
//! upkeep does, and reports through [`UpkeepListener`].

use crate::clock::Clock;
use crate::error::AuthError;
use crate::guard::{guard, panic_text};
use crate::keystore::{KeystoreProtector, PlatformKeystore};
use crate::listener::CodeListener;
use crate::records::{
    AddReport, AutoBackupInfo, LockoutStatus, OtpCode, Profile, ProfileChange, ProfileDraft,
    UnlockMethods, VaultSettings,
};
use crate::runtime::runtime;
use crate::task::TaskHandle;
use countersign_core::{NewProfile, OtpParams, Vault};
use std::sync::Arc;
use std::time::Duration;

/// An unlocked-or-locked authenticator vault.
#[derive(uniffi::Object)]
pub struct Authenticator {
    /// The core façade everything delegates to.
    pub(crate) core: Arc<countersign_core::Authenticator>,
    pub(crate) vault: Arc<Vault>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Approve client keeping one pinned connection per pairing.
    pub(crate) approver: Arc<countersign_core::approve::Approver>,
    /// The vault file (automatic backups keep their state beside it).
    pub(crate) path: std::path::PathBuf,
    /// The shell's keystore, as the core sees it.
    pub(crate) protector: Arc<KeystoreProtector>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

/// Runs blocking vault work on the runtime's blocking pool and awaits it.
pub(crate) async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
) -> Result<T, AuthError> {
    let rt = runtime().ok_or_else(|| AuthError::Internal {
        reason: "async runtime unavailable".into(),
    })?;
    match rt.spawn_blocking(move || guard(f)).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => Err(AuthError::Internal {
            reason: panic_text(e.into_panic().as_ref()),
        }),
        Err(e) => Err(AuthError::Internal {
            reason: e.to_string(),
        }),
    }
}

impl Authenticator {
    /// The shell's clock; if it throws (it must not), the system clock.
    pub(crate) fn now(&self) -> i64 {
        now_from(self.clock.as_ref())
    }

    /// The shell's clock as the core's.
    pub(crate) fn core_clock(&self) -> Arc<dyn countersign_core::Clock> {
        Arc::new(ShellClock(self.clock.clone()))
    }
}

/// The shell's clock as the core's.
struct ShellClock(Arc<dyn Clock>);

impl countersign_core::Clock for ShellClock {
    fn now_unix_s(&self) -> i64 {
        now_from(self.0.as_ref())
    }
}

/// Reads a foreign clock without letting a thrown exception become a crash.
pub(crate) fn now_from(clock: &dyn Clock) -> i64 {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| clock.now_unix_s()))
        .unwrap_or_else(|_| crate::clock::SystemClock.now_unix_s())
}

#[uniffi::export]
impl Authenticator {
    /// Opens the vault at `path`, creating it (with a new key wrapped by
    /// `keystore`) if no file is there. The vault starts locked. A file that
    /// is not a readable vault gives `VaultUnreadable` and is left untouched.
    #[uniffi::constructor]
    pub fn open(
        path: String,
        keystore: Arc<dyn PlatformKeystore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, AuthError> {
        guard(|| {
            if path.is_empty() || path.len() > 4096 {
                return Err(AuthError::InvalidInput {
                    reason: "vault path must be 1-4096 bytes".into(),
                });
            }
            let protector = Arc::new(KeystoreProtector(keystore));
            let core = Arc::new(countersign_core::Authenticator::open(
                std::path::Path::new(&path),
                protector.clone(),
                Arc::new(ShellClock(clock.clone())),
            )?);
            Ok(Arc::new(Self {
                approver: core.approver().clone(),
                vault: core.vault().clone(),
                core,
                clock,
                path: std::path::PathBuf::from(path),
                protector,
            }))
        })
    }

    /// True while locked.
    pub fn is_locked(&self) -> bool {
        self.vault.is_locked()
    }

    /// Drops all keys and decrypted data from memory (and open server connections).
    pub fn lock(&self) {
        self.vault.lock();
        self.approver.forget_connections();
    }

    /// Which unlock methods are set up (works while locked).
    pub fn unlock_methods(&self) -> Result<UnlockMethods, AuthError> {
        guard(|| {
            let m = self.vault.unlock_methods()?;
            Ok(UnlockMethods {
                passcode: m.passcode,
                biometrics: m.biometrics,
            })
        })
    }

    /// Failed attempts and current wait (works while locked).
    pub fn lockout_status(&self) -> Result<LockoutStatus, AuthError> {
        guard(|| {
            let s = self.vault.lockout_status(self.now())?;
            Ok(LockoutStatus {
                failed_attempts: s.failed_attempts,
                retry_after_s: s.retry_after_s,
            })
        })
    }

    /// The app went to the background.
    pub fn on_background(&self) {
        let now = self.now();
        self.vault.on_background(now);
    }

    /// The app came back; returns true if it locked (re-auth timeout passed).
    pub fn on_foreground(&self) -> bool {
        let now = self.now();
        self.vault.on_foreground(now)
    }

    /// Sets the first passcode (4–8 digits). Needs the vault unlocked.
    pub fn set_passcode(&self, passcode: String) -> Result<(), AuthError> {
        guard(|| Ok(self.vault.set_passcode(&passcode, self.now())?))
    }

    /// Changes the passcode; the old one counts as an attempt.
    pub fn change_passcode(&self, old: String, new: String) -> Result<(), AuthError> {
        guard(|| Ok(self.vault.change_passcode(&old, &new, self.now())?))
    }

    /// Removes the passcode after checking it.
    pub fn remove_passcode(&self, current: String) -> Result<(), AuthError> {
        guard(|| Ok(self.vault.remove_passcode(&current, self.now())?))
    }

    /// All profiles in display order.
    pub fn profiles(&self) -> Result<Vec<Profile>, AuthError> {
        guard(|| Ok(self.vault.list()?.iter().map(Profile::from).collect()))
    }

    /// Profiles matching `query` (issuer, account, group, note; any case).
    pub fn search(&self, query: String) -> Result<Vec<Profile>, AuthError> {
        guard(|| {
            Ok(self
                .vault
                .search(&query)?
                .iter()
                .map(Profile::from)
                .collect())
        })
    }

    /// Adds what an `otpauth://` or `otpauth-migration://` URI (a scanned QR
    /// code) holds. Duplicates and unsupported entries are reported, not added.
    pub fn add_uri(&self, uri: String) -> Result<AddReport, AuthError> {
        guard(|| Ok(self.vault.add_uri(&uri, self.now())?.into()))
    }

    /// Adds a profile typed in by the user.
    pub fn add_profile(&self, draft: ProfileDraft) -> Result<Profile, AuthError> {
        guard(|| {
            let secret = countersign_core::uri::decode_secret(&draft.secret_base32)
                .map_err(countersign_core::AuthenticatorError::from)?;
            let params = OtpParams {
                otp_type: draft.otp_type.into(),
                algorithm: draft.algorithm.into(),
                digits: draft.digits,
                period: draft.period,
                counter: draft.counter,
            };
            let p = NewProfile::new(&draft.issuer, &draft.account, secret, params);
            Ok(Profile::from(&self.vault.add(p, self.now())?))
        })
    }

    /// Changes a profile's name, note, group or favorite flag.
    pub fn update_profile(&self, id: String, change: ProfileChange) -> Result<Profile, AuthError> {
        guard(|| {
            Ok(Profile::from(&self.vault.update(
                &id,
                change.into(),
                self.now(),
            )?))
        })
    }

    /// Puts profiles in this order (every id exactly once).
    pub fn reorder(&self, ids: Vec<String>) -> Result<(), AuthError> {
        guard(|| Ok(self.vault.reorder(&ids, self.now())?))
    }

    /// Deletes a profile.
    pub fn remove_profile(&self, id: String) -> Result<(), AuthError> {
        guard(|| Ok(self.vault.remove(&id)?))
    }

    /// Where automatic backups go and which exist (newest first), or `None`
    /// when they are off.
    pub fn auto_backup_status(&self) -> Result<Option<AutoBackupInfo>, AuthError> {
        guard(|| {
            Ok(
                countersign_core::backup::auto::status(&self.path)?.map(|s| AutoBackupInfo {
                    dir: s.dir.to_string_lossy().into_owned(),
                    keep: s.keep,
                    files: s
                        .files
                        .iter()
                        .map(|f| f.to_string_lossy().into_owned())
                        .collect(),
                }),
            )
        })
    }

    /// Turns automatic backups off (the files stay); `false` if they were off.
    pub fn disable_auto_backup(&self) -> Result<bool, AuthError> {
        guard(|| Ok(countersign_core::backup::auto::disable(&self.path)?))
    }

    /// HOTP: advances the counter and returns the new code.
    pub fn next_hotp(&self, id: String) -> Result<OtpCode, AuthError> {
        guard(|| {
            let now = self.now();
            let c = self.vault.hotp_advance(&id, now)?;
            Ok(OtpCode::new(id, c, 0))
        })
    }

    /// Every profile's current code (by the shell's clock plus the vault's offset).
    pub fn codes(&self) -> Result<Vec<OtpCode>, AuthError> {
        self.codes_at(self.now())
    }

    /// Every profile's code at Unix time `unix_s`.
    pub fn codes_at(&self, unix_s: i64) -> Result<Vec<OtpCode>, AuthError> {
        guard(|| {
            Ok(self
                .vault
                .codes_at(unix_s)?
                .into_iter()
                .map(|pc| OtpCode::new(String::from(&*pc.id), pc.code, pc.period))
                .collect())
        })
    }

    /// The next window's code of one profile (preview).
    pub fn next_code(&self, id: String) -> Result<OtpCode, AuthError> {
        guard(|| {
            let p = self.vault.get(&id)?.params;
            let period = if p.otp_type == countersign_core::OtpType::Hotp {
                0
            } else {
                p.period
            };
            let c = self.vault.next_code_at(&id, self.now())?;
            Ok(OtpCode::new(id, c, period))
        })
    }

    /// The settings.
    pub fn settings(&self) -> Result<VaultSettings, AuthError> {
        guard(|| Ok(self.vault.settings()?.into()))
    }

    /// Replaces the settings.
    pub fn update_settings(&self, settings: VaultSettings) -> Result<(), AuthError> {
        guard(|| Ok(self.vault.update_settings(settings.into())?))
    }

    /// The profile's `otpauth://` URI, to show as a QR code for moving it to
    /// another app. Contains the secret.
    pub fn export_uri(&self, id: String) -> Result<String, AuthError> {
        guard(|| Ok(self.vault.export_uri(&id)?.to_string()))
    }

    /// Starts calling `listener.on_codes` once per second (at each second
    /// boundary) until the handle is cancelled or dropped, or the vault locks
    /// (then `on_locked` is called once and the ticking stops).
    pub fn watch_codes(
        self: Arc<Self>,
        listener: Arc<dyn CodeListener>,
    ) -> Result<Arc<TaskHandle>, AuthError> {
        let rt = runtime().ok_or_else(|| AuthError::Internal {
            reason: "async runtime unavailable".into(),
        })?;
        let me = self.clone();
        let handle = rt.spawn(async move {
            loop {
                let codes = me.codes();
                let l = listener.clone();
                // The listener runs with no lock held; a throwing listener
                // must not kill the runtime thread.
                let keep_going =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match codes {
                        Ok(c) => {
                            l.on_codes(c);
                            true
                        }
                        Err(AuthError::VaultLocked) => {
                            l.on_locked();
                            false
                        }
                        Err(_) => true,
                    }))
                    .unwrap_or(true);
                if !keep_going {
                    break;
                }
                let ms = 1000
                    - std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| u64::from(d.subsec_millis()))
                        .unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms.max(1))).await;
            }
        });
        Ok(Arc::new(TaskHandle::new(handle)))
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Authenticator {
    /// Unlocks with the device key and, if one is set, the passcode.
    /// Wrong passcodes are counted and answered with `WrongPasscode`; while a
    /// wait is in force every attempt gets `LockedOut`.
    pub async fn unlock(&self, passcode: Option<String>) -> Result<(), AuthError> {
        let vault = self.vault.clone();
        let now = self.now();
        off_thread(move || Ok(vault.unlock(passcode.as_deref(), now)?)).await
    }

    /// Unlocks through the biometric slot (the keystore shows the prompt).
    pub async fn unlock_with_biometrics(&self) -> Result<(), AuthError> {
        let vault = self.vault.clone();
        let now = self.now();
        off_thread(move || Ok(vault.unlock_with_biometrics(now)?)).await
    }

    /// Adds biometric unlock (needs the vault unlocked).
    pub async fn enable_biometrics(&self) -> Result<(), AuthError> {
        let vault = self.vault.clone();
        let now = self.now();
        off_thread(move || Ok(vault.enable_biometrics(now)?)).await
    }

    /// Removes biometric unlock and deletes its platform key.
    pub async fn disable_biometrics(&self) -> Result<(), AuthError> {
        let vault = self.vault.clone();
        off_thread(move || Ok(vault.disable_biometrics()?)).await
    }

    /// Turns automatic local backups on: from now on the core writes a new
    /// encrypted backup to the folder `dir` after changes (debounced, on its
    /// own thread), opened with `password` (at least 8 characters), keeping
    /// the newest `keep` (1–100). Writes the first one now and returns its
    /// path. Slow (one Argon2id derivation).
    pub async fn enable_auto_backup(
        &self,
        dir: String,
        password: String,
        keep: u32,
    ) -> Result<String, AuthError> {
        let core = self.core.clone();
        off_thread(move || {
            let password = zeroize::Zeroizing::new(password);
            let file = core.enable_auto_backup(std::path::Path::new(&dir), &password, keep)?;
            Ok(file.to_string_lossy().into_owned())
        })
        .await
    }

    /// "Back up now": writes an automatic backup if they are on and the
    /// vault changed since the last one; returns the new file's path. The
    /// core does this by itself after every change; shells need not call it.
    pub async fn run_auto_backup(&self) -> Result<Option<String>, AuthError> {
        let core = self.core.clone();
        off_thread(move || {
            Ok(core
                .back_up_now()?
                .map(|p| p.to_string_lossy().into_owned()))
        })
        .await
    }

    /// Runs due backup/sync upkeep now and waits for it (at most
    /// `timeout_ms`); `false` if it did not finish in time. For "the app is
    /// going to the background".
    pub async fn flush_upkeep(&self, timeout_ms: u64) -> Result<bool, AuthError> {
        let core = self.core.clone();
        off_thread(move || Ok(core.flush_upkeep(Duration::from_millis(timeout_ms)))).await
    }
}

/// Diagnostics: panics inside the panic guard and returns the result, so a
/// shell (and our tests) can check that a Rust panic arrives as
/// `AuthError.Internal` instead of crashing the app.
#[uniffi::export]
pub fn ffi_panic_probe() -> Result<(), AuthError> {
    guard(|| {
        let v: Vec<u8> = Vec::new();
        // An out-of-bounds index: a real panic, as a bug would cause.
        let i = v.len() + std::hint::black_box(1);
        let _byte = v[i];
        Ok(())
    })
}
