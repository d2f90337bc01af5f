//! Automatic local backups: after every change, a fresh encrypted backup in
//! a folder the user chose, keeping the newest N — so a bad edit, a bad
//! import or a bad update can be undone by restoring an older file.
//!
//! Argon2id (64 MiB) per change would make every edit take a third of a
//! second, so the expensive part is done once, when auto-backup is turned
//! on: a random content key is made and wrapped (a) in an ordinary password
//! slot (Argon2id, as in any backup) and (b) by the platform key (Keychain /
//! Keystore via [`KeyProtector`], alias [`KEY_ALIAS`]). Both go into a small
//! state file beside the vault (`<vault>.autobackup`, JSON). Each automatic
//! backup is then a normal backup file — same format, same password slot,
//! fresh nonce — sealed with the content key unwrapped from (b); it opens
//! with the backup password like any other (`backup restore`).
//!
//! A backup is written only when the vault's generation moved since the
//! last one; each is written atomically and verified by decrypting it before
//! older ones are pruned. Files that do not look like ours are never touched.
//! A damaged state file is reported, never replaced silently.

use super::error::BackupError;
use super::format::{self, Slot, KEY_LEN, SLOT_PASSWORD};
use super::kdf::KdfParams;
use super::{payload, MIN_PASSWORD_CHARS};
use crate::error::AuthenticatorError;
use crate::vault::{KeyProtector, Vault};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

type Result<T, E = AuthenticatorError> = std::result::Result<T, E>;

/// Platform key alias that wraps the automatic backups' content key.
pub const KEY_ALIAS: &str = "countersign.autobackup";

/// File name prefix of automatic backups (`countersign-auto-<time>-g<gen>.csbk`).
pub const FILE_PREFIX: &str = "countersign-auto-";

/// Default number of automatic backups kept.
pub const DEFAULT_KEEP: u32 = 10;

/// Most automatic backups kept.
pub const MAX_KEEP: u32 = 100;

/// The state file, beside the vault.
#[derive(Serialize, Deserialize)]
struct State {
    /// Folder the backups go to.
    dir: PathBuf,
    /// How many to keep.
    keep: u32,
    /// The password slot copied into every backup.
    slot: Slot,
    /// The content key wrapped by the platform key (Base64).
    wrapped_key: String,
    /// Vault generation of the newest backup.
    last_generation: Option<u64>,
}

/// What [`status`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoBackupStatus {
    /// Folder the backups go to.
    pub dir: PathBuf,
    /// How many are kept.
    pub keep: u32,
    /// Existing automatic backups, newest first.
    pub files: Vec<PathBuf>,
}

fn state_path(vault_path: &Path) -> PathBuf {
    let mut name = vault_path.as_os_str().to_owned();
    name.push(".autobackup");
    PathBuf::from(name)
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(s: &str) -> Result<Vec<u8>, BackupError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| BackupError::Malformed("auto-backup state: key is not base64"))
}

fn read_state(vault_path: &Path) -> Result<Option<State>, BackupError> {
    let path = state_path(vault_path);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|_| {
        BackupError::Malformed(
            "auto-backup state file is damaged; turn auto-backup off and on again",
        )
    })
}

fn write_state(vault_path: &Path, state: &State) -> Result<(), BackupError> {
    let json = serde_json::to_vec_pretty(state)
        .map_err(|_| BackupError::Crypto("auto-backup state encoding"))?;
    super::file::write_atomic(&state_path(vault_path), &json)
}

/// Turns automatic backups on: into `dir` (created if missing), keeping the
/// newest `keep` (1..=100), opened later with `password`. Runs the one
/// Argon2id derivation and writes the first backup at once. Replaces any
/// previous auto-backup configuration of this vault (old files stay).
pub fn enable(
    vault: &Vault,
    vault_path: &Path,
    protector: &dyn KeyProtector,
    dir: &Path,
    password: &str,
    keep: u32,
    now: i64,
) -> Result<PathBuf> {
    enable_with_kdf(
        vault,
        vault_path,
        protector,
        dir,
        password,
        keep,
        now,
        KdfParams::DEFAULT,
    )
}

/// [`enable`] with explicit KDF parameters (tests pass
/// [`KdfParams::insecure_for_tests`]).
#[allow(clippy::too_many_arguments)]
pub fn enable_with_kdf(
    vault: &Vault,
    vault_path: &Path,
    protector: &dyn KeyProtector,
    dir: &Path,
    password: &str,
    keep: u32,
    now: i64,
    kdf: KdfParams,
) -> Result<PathBuf> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(
            BackupError::Invalid("the backup password must have at least 8 characters").into(),
        );
    }
    if keep == 0 || keep > MAX_KEEP {
        return Err(BackupError::Invalid("keep between 1 and 100 automatic backups").into());
    }
    kdf.check()?;
    vault.generation()?; // unlocked?
    std::fs::create_dir_all(dir).map_err(BackupError::from)?;
    let mut content_key = Zeroizing::new([0u8; KEY_LEN]);
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut content_key[..])
        .map_err(|_| BackupError::Crypto("system randomness unavailable"))?;
    let slot = format::make_slot(SLOT_PASSWORD, password.as_bytes(), kdf, &content_key)?;
    let wrapped = protector
        .wrap(KEY_ALIAS, &content_key[..], false)
        .map_err(crate::error::VaultError::from)?;
    let mut state = State {
        dir: dir.to_path_buf(),
        keep,
        slot,
        wrapped_key: b64(&wrapped),
        last_generation: None,
    };
    let path = write_one(vault, &mut state, &content_key, now)?;
    write_state(vault_path, &state)?;
    Ok(path)
}

/// Turns automatic backups off (the files already written stay).
pub fn disable(vault_path: &Path) -> Result<bool> {
    match std::fs::remove_file(state_path(vault_path)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(BackupError::from(e).into()),
    }
}

/// The configuration and the existing files, or `None` when off.
pub fn status(vault_path: &Path) -> Result<Option<AutoBackupStatus>> {
    let Some(state) = read_state(vault_path)? else {
        return Ok(None);
    };
    Ok(Some(AutoBackupStatus {
        files: list(&state.dir)?,
        dir: state.dir,
        keep: state.keep,
    }))
}

/// Writes a backup if auto-backup is on and the vault changed since the
/// last one; returns the new file. Call after every change (the CLI and the
/// app shell do). Never touches files that are not automatic backups.
pub fn run(
    vault: &Vault,
    vault_path: &Path,
    protector: &dyn KeyProtector,
    now: i64,
) -> Result<Option<PathBuf>> {
    let Some(mut state) = read_state(vault_path)? else {
        return Ok(None);
    };
    if state.last_generation == Some(vault.generation()?) {
        return Ok(None);
    }
    let wrapped = unb64(&state.wrapped_key)?;
    let key = protector
        .unwrap(KEY_ALIAS, &wrapped)
        .map_err(crate::error::VaultError::from)?;
    let content_key: Zeroizing<[u8; KEY_LEN]> = Zeroizing::new(
        key.expose()
            .try_into()
            .map_err(|_| BackupError::Malformed("auto-backup key has the wrong length"))?,
    );
    let path = write_one(vault, &mut state, &content_key, now)?;
    write_state(vault_path, &state)?;
    Ok(Some(path))
}

/// Seals the vault into a new file in `state.dir`, verifies it, prunes.
fn write_one(
    vault: &Vault,
    state: &mut State,
    content_key: &[u8; KEY_LEN],
    now: i64,
) -> Result<PathBuf> {
    let generation = vault.generation()?;
    let profiles = vault.list()?;
    let plain = payload::encode(&profiles, vault.settings()?, None)?;
    drop(profiles);
    let bytes = format::seal_file(now, vec![state.slot.clone()], content_key, &plain)?;
    // A folder removed since auto-backup was turned on is made again.
    std::fs::create_dir_all(&state.dir).map_err(BackupError::from)?;
    let path = state
        .dir
        .join(format!("{FILE_PREFIX}{}-g{generation}.csbk", stamp(now)));
    super::file::write_atomic(&path, &bytes)?;
    // Verify: what is on disk decrypts with the content key and decodes.
    let back = std::fs::read(&path).map_err(BackupError::from)?;
    let parsed = format::parse(&back)?;
    let plain_back = parsed.open_payload(content_key)?;
    payload::decode(&plain_back, parsed.header.created_at)?;
    state.last_generation = Some(generation);
    prune(&state.dir, state.keep)?;
    Ok(path)
}

/// `YYYYMMDD-HHMMSS` (UTC) of `t`, so names sort by time.
pub(crate) fn stamp(t: i64) -> String {
    let u = crate::civil::utc(t);
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        u.year, u.month, u.day, u.hour, u.minute, u.second
    )
}

/// Automatic backups in `dir`, newest first (by name: time, then generation).
fn list(dir: &Path) -> Result<Vec<PathBuf>, BackupError> {
    let mut files: Vec<(String, u64, PathBuf)> = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name
            .strip_prefix(FILE_PREFIX)
            .and_then(|r| r.strip_suffix(".csbk"))
        else {
            continue;
        };
        let Some((time, generation)) = rest.rsplit_once("-g") else {
            continue;
        };
        let Ok(generation) = generation.parse::<u64>() else {
            continue;
        };
        files.push((time.to_owned(), generation, entry.path()));
    }
    files.sort_by(|a, b| (&b.0, b.1).cmp(&(&a.0, a.1)));
    Ok(files.into_iter().map(|(_, _, p)| p).collect())
}

fn prune(dir: &Path, keep: u32) -> Result<(), BackupError> {
    for old in list(dir)?.into_iter().skip(keep as usize) {
        std::fs::remove_file(old)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::{read_backup, restore_into};
    use crate::vault::SoftwareKeyProtector;
    use std::sync::Arc;

    const URI: &str = "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example";
    const URI2: &str = "otpauth://totp/Other:bob?secret=GEZDGNBVGY3TQOJQ&issuer=Other";

    fn vault(dir: &Path) -> (Vault, PathBuf, Arc<SoftwareKeyProtector>) {
        let path = dir.join("v.db");
        let prot = Arc::new(SoftwareKeyProtector::beside(&path));
        let v = Vault::create(&path, prot.clone(), 1_000).unwrap();
        v.unlock(None, 1_000).unwrap();
        (v, path, prot)
    }

    #[test]
    fn writes_on_change_keeps_last_n_and_restores_an_older_state() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, path, prot) = vault(tmp.path());
        let dir = tmp.path().join("auto");
        v.add_uri(URI, 1_000).unwrap();
        assert!(
            run(&v, &path, prot.as_ref(), 1_000).unwrap().is_none(),
            "off: nothing"
        );
        let first = enable_with_kdf(
            &v,
            &path,
            prot.as_ref(),
            &dir,
            "backup-password",
            3,
            1_001,
            KdfParams::insecure_for_tests(),
        )
        .unwrap();
        assert!(first.starts_with(&dir));
        // No change: no new file.
        assert!(run(&v, &path, prot.as_ref(), 1_002).unwrap().is_none());
        // A bad edit: the profile is deleted.
        let id = v.list().unwrap()[0].id.clone();
        v.remove(&id).unwrap();
        let second = run(&v, &path, prot.as_ref(), 1_003).unwrap().unwrap();
        assert_ne!(first, second);
        // Undo it: restore the first automatic backup with the password.
        let contents = read_backup(&std::fs::read(&first).unwrap(), "backup-password").unwrap();
        restore_into(&v, contents, 1_004).unwrap();
        assert_eq!(v.list().unwrap().len(), 1);
        // Keep the newest 3; files that are not ours are never touched.
        std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
        for t in 0..4 {
            v.add_uri(if t % 2 == 0 { URI2 } else { URI }, 1_010 + t)
                .ok();
            let id = v.list().unwrap().last().unwrap().id.clone();
            if t % 2 == 1 {
                v.remove(&id).unwrap();
            }
            run(&v, &path, prot.as_ref(), 1_010 + t).unwrap();
        }
        let st = status(&path).unwrap().unwrap();
        assert_eq!((st.keep, st.files.len()), (3, 3));
        assert!(dir.join("notes.txt").exists());
        // Newest first, and the newest holds the vault as it is now.
        let newest = read_backup(&std::fs::read(&st.files[0]).unwrap(), "backup-password").unwrap();
        assert_eq!(newest.profiles.len(), v.list().unwrap().len());
        assert!(read_backup(&std::fs::read(&st.files[0]).unwrap(), "wrong-password").is_err());
        // Off: nothing more is written; the files stay.
        assert!(disable(&path).unwrap());
        v.add_uri(URI2, 2_000).ok();
        assert!(run(&v, &path, prot.as_ref(), 2_000).unwrap().is_none());
        assert_eq!(list(&dir).unwrap().len(), 3);
    }

    #[test]
    fn bad_input_and_damaged_state_are_errors_that_change_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, path, prot) = vault(tmp.path());
        let dir = tmp.path().join("auto");
        let kdf = KdfParams::insecure_for_tests();
        assert!(enable_with_kdf(&v, &path, prot.as_ref(), &dir, "short", 3, 1, kdf).is_err());
        assert!(enable_with_kdf(&v, &path, prot.as_ref(), &dir, "long-enough", 0, 1, kdf).is_err());
        assert!(
            enable_with_kdf(&v, &path, prot.as_ref(), &dir, "long-enough", 101, 1, kdf).is_err()
        );
        assert!(status(&path).unwrap().is_none());
        enable_with_kdf(&v, &path, prot.as_ref(), &dir, "long-enough", 2, 1, kdf).unwrap();
        std::fs::write(state_path(&path), b"{not json").unwrap();
        v.add_uri(URI, 2).unwrap();
        let e = run(&v, &path, prot.as_ref(), 2).unwrap_err();
        assert!(
            matches!(e, AuthenticatorError::VaultUnreadable { .. }),
            "{e:?}"
        );
        assert_eq!(list(&dir).unwrap().len(), 1, "the existing backup is kept");
        // Locked vault: refused.
        v.lock();
        assert!(run(&v, &path, prot.as_ref(), 3).is_err());
    }

    #[test]
    fn stamps_sort_by_time() {
        assert_eq!(stamp(0), "19700101-000000");
        assert_eq!(stamp(1_795_000_000), "20261118-110640");
    }
}
