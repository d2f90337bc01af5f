//! Writing a backup file so that "done" means "restorable".
//!
//! The bytes go to a fresh temporary file in the target's directory, are
//! `fsync`ed, renamed over the target and the directory is synced; then the
//! file is read back, compared byte for byte and decrypted with the password.
//! Only then is success reported. A failure before the rename leaves any
//! previous file at the target untouched.

use super::error::BackupError;
use std::io::Write;
use std::path::{Path, PathBuf};

fn temp_path(path: &Path) -> Result<PathBuf, BackupError> {
    let mut tag = [0u8; 6];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut tag)
        .map_err(|_| BackupError::Crypto("system randomness unavailable"))?;
    let mut name = path
        .file_name()
        .ok_or(BackupError::Invalid("the backup path has no file name"))?
        .to_owned();
    name.push(format!(".tmp-{}", crate::vault::hex(&tag)));
    Ok(path.with_file_name(name))
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

/// Atomically replaces `path` with `bytes`, then verifies.
pub(crate) fn write_verified(path: &Path, bytes: &[u8], password: &str) -> Result<(), BackupError> {
    write_atomic(path, bytes)?;
    let back = std::fs::read(path)?;
    if back != bytes {
        return Err(BackupError::Verify(
            "the file on disk differs from what was written".into(),
        ));
    }
    super::open(&back, password)
        .map_err(|e| BackupError::Verify(e.to_string()))
        .map(|_| ())
}

/// Atomically replaces `path` with `bytes` (temporary file in the same
/// directory, `fsync`, rename, directory `fsync`).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let tmp = temp_path(path)?;
    let written = (|| -> Result<(), BackupError> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    sync_dir(path);
    Ok(())
}
