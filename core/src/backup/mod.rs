//! Encrypted backup files (issue 6): export a vault to one portable file,
//! read it back, merge it into a vault.
//!
//! A backup is `"CSBK" | version | header JSON | AES-256-GCM payload`. A
//! random content key encrypts the payload; key slots wrap that key, one per
//! way to open the file: the backup password and, optionally, a random
//! recovery code shown once. Slot keys come from Argon2id (64 MiB, 3 passes
//! by default; the parameters travel in the header). The header is the
//! payload's AAD, so any change to it is detected. The full format, precise
//! enough for a second implementation, is `docs/backup-format.md`.
//!
//! Invariants:
//! - Reading never panics on any input and never changes a vault; a wrong
//!   password is [`AuthenticatorError::InvalidInput`], a damaged, foreign
//!   or newer file is [`AuthenticatorError::VaultUnreadable`].
//! - Restoring merges: profiles the vault already has (same seed and code
//!   parameters) are skipped by the vault's own duplicate check; settings are
//!   applied only when the vault had no profiles. Pairings are never
//!   restored (their keys stay on the old device), only reported.
//! - [`write_backup_file`] reports success only after the file on disk has
//!   been read back and decrypted.
//! - Keys, passwords and the plaintext payload are zeroized after use.

pub mod auto;
mod error;
mod file;
mod format;
mod kdf;
mod payload;
pub(crate) mod recovery;

pub use format::{MAGIC, VERSION};
pub use kdf::KdfParams;
pub use payload::{BackupContents, BackupProfile, PairingInfo};
pub use recovery::CODE_CHARS as RECOVERY_CODE_CHARS;

use crate::error::AuthenticatorError;
use crate::vault::{AddReport, Vault};
use error::BackupError;
use std::path::Path;
use zeroize::Zeroizing;

type Result<T, E = AuthenticatorError> = std::result::Result<T, E>;

/// Shortest backup password accepted when creating a backup.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Creates a backup of an unlocked vault with the default (strong) KDF.
///
/// Returns the file bytes and, when `with_recovery_code`, the recovery code
/// (24 Base32 characters in groups of four) to show the user once. With
/// `include_pairings`, approve pairings' server name, URLs, fingerprint and
/// account are included — never their keys.
pub fn create_backup(
    vault: &Vault,
    password: &str,
    with_recovery_code: bool,
    include_pairings: bool,
    now: i64,
) -> Result<(Vec<u8>, Option<String>)> {
    create_backup_with_kdf(
        vault,
        password,
        with_recovery_code,
        include_pairings,
        now,
        KdfParams::DEFAULT,
    )
}

/// [`create_backup`] with explicit KDF parameters. Real backups use
/// [`KdfParams::DEFAULT`]; tests pass [`KdfParams::insecure_for_tests`].
pub fn create_backup_with_kdf(
    vault: &Vault,
    password: &str,
    with_recovery_code: bool,
    include_pairings: bool,
    now: i64,
    kdf: KdfParams,
) -> Result<(Vec<u8>, Option<String>)> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(
            BackupError::Invalid("the backup password must have at least 8 characters").into(),
        );
    }
    kdf.check()?;
    let profiles = vault.list()?;
    let settings = vault.settings()?;
    let pairings = if include_pairings {
        Some(vault.pairings()?.iter().map(PairingInfo::from).collect())
    } else {
        None
    };
    let plain = payload::encode(&profiles, settings, pairings)?;
    drop(profiles);

    let mut content_key = Zeroizing::new([0u8; 32]);
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut content_key[..])
        .map_err(|_| BackupError::Crypto("system randomness unavailable"))?;
    let mut slots = vec![format::make_slot(
        format::SLOT_PASSWORD,
        password.as_bytes(),
        kdf,
        &content_key,
    )?];
    let code = if with_recovery_code {
        let code = recovery::generate()?;
        let canonical =
            recovery::normalize(&code).ok_or(BackupError::Crypto("recovery code generation"))?;
        slots.push(format::make_slot(
            format::SLOT_RECOVERY,
            canonical.as_bytes(),
            kdf,
            &content_key,
        )?);
        Some(code.to_string())
    } else {
        None
    };
    let bytes = format::seal_file(now, slots, &content_key, &plain)?;
    Ok((bytes, code))
}

/// The file name suggested for a backup made at `now`:
/// `countersign-backup-YYYYMMDD-HHMMSS.csbk` (UTC, so names sort by time).
pub fn file_name(now: i64) -> String {
    format!("countersign-backup-{}.csbk", auto::stamp(now))
}

/// Decrypts a backup with its password or its recovery code.
pub fn read_backup(bytes: &[u8], secret: &str) -> Result<BackupContents> {
    open(bytes, secret).map_err(Into::into)
}

/// Tries the slots that `secret` could open: recovery-code slots first when
/// it has the shape of a recovery code, then password slots.
fn open(bytes: &[u8], secret: &str) -> std::result::Result<BackupContents, BackupError> {
    let parsed = format::parse(bytes)?;
    let code = recovery::normalize(secret);
    let mut attempts: Vec<(&str, &[u8])> = Vec::new();
    if let Some(c) = &code {
        attempts.push((format::SLOT_RECOVERY, c.as_bytes()));
    }
    attempts.push((format::SLOT_PASSWORD, secret.as_bytes()));
    for (kind, input) in attempts {
        for slot in parsed.header.slots.iter().filter(|s| s.kind == kind) {
            if let Some(key) = slot.open(input)? {
                let plain = parsed.open_payload(&key)?;
                return payload::decode(&plain, parsed.header.created_at);
            }
        }
    }
    Err(BackupError::WrongSecret)
}

/// Merges a backup into an unlocked vault (one transaction for the profiles).
///
/// Profiles already in the vault — same seed and code parameters, by the
/// vault's own duplicate detection — are skipped and reported, as are
/// invalid ones and those past the profile limit; restoring the same backup
/// twice adds nothing the second time. The backup's settings replace the
/// vault's only if the vault had no profiles before the restore. Pairings
/// are not restored.
pub fn restore_into(vault: &Vault, contents: BackupContents, now: i64) -> Result<AddReport> {
    let was_empty = vault.count()? == 0;
    let BackupContents {
        mut profiles,
        settings,
        ..
    } = contents;
    profiles.sort_by_key(|p| p.sort_order);
    let report = vault.add_many(profiles.into_iter().map(|p| p.profile).collect(), now)?;
    if was_empty && settings.validate().is_ok() && vault.settings()? != settings {
        vault.update_settings(settings)?;
    }
    Ok(report)
}

/// Replaces `path` with `bytes` atomically (temporary file, `fsync`,
/// rename, directory `fsync`); used for small state files too.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    file::write_atomic(path, bytes).map_err(Into::into)
}

/// Writes backup bytes to `path` atomically (temporary file, `fsync`,
/// rename) and verifies the result by reading it back and decrypting it
/// with `password`. Returns only when the file on disk is a good backup.
pub fn write_backup_file(path: &Path, bytes: &[u8], password: &str) -> Result<()> {
    file::write_verified(path, bytes, password).map_err(Into::into)
}

#[cfg(test)]
mod tests;
