//! Files in and out, for the phone: import any export's bytes (format
//! detected by the core's router, password only when it needs one), restore
//! our backup, create a backup, export the otpauth list or Google QR
//! payloads (the shell renders the codes). Everything is a delegation to
//! `countersign_core::import::route`, `countersign_core::export` and
//! `countersign_core::backup`; the CLI makes the same calls.
//!
//! Imports and backups run off the caller's thread (Argon2id and SQLite
//! work); the exports are quick reads of the unlocked vault.

use crate::authenticator::{off_thread, Authenticator};
use crate::error::AuthError;
use crate::guard::guard;
use crate::records::Profile;
use countersign_core::import::route::{self, Requested, Source};

/// What an import file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ImportKind {
    /// A Countersign backup (password or recovery code).
    Backup,
    /// A list of `otpauth://` / `otpauth-migration://` URIs.
    UriList,
    /// Another authenticator's export.
    Export,
}

/// What [`Authenticator::inspect_import`] found.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImportSource {
    /// Backup, URI list or export.
    pub kind: ImportKind,
    /// Shown to the user: "Aegis (encrypted)", "Countersign backup", …
    pub description: String,
    /// True when the shell must ask for a password (for a backup: the
    /// password or the recovery code).
    pub needs_password: bool,
}

impl From<Source> for ImportSource {
    fn from(s: Source) -> Self {
        Self {
            kind: match s {
                Source::Backup => ImportKind::Backup,
                Source::UriList => ImportKind::UriList,
                Source::Export(_) => ImportKind::Export,
            },
            description: s.description().to_owned(),
            needs_password: s.needs_password(),
        }
    }
}

/// One entry of a file that was not added.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImportSkip {
    /// Position among the file's entries (0-based).
    pub index: u32,
    /// For URI lists, the line (1-based).
    pub line: Option<u32>,
    /// Why, safe to show.
    pub reason: String,
    /// When it was a duplicate: the existing profile's id.
    pub duplicate_of: Option<String>,
}

/// An Approve pairing a backup lists (pair again: keys are never in backups).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ListedPairing {
    /// The server's name.
    pub server_name: String,
    /// Its URLs.
    pub urls: Vec<String>,
    /// The account on it.
    pub account: String,
    /// The pinned SPKI SHA-256, hex.
    pub spki_sha256_hex: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImportReport {
    /// What the file was.
    pub source: ImportSource,
    /// Entries the file held.
    pub total: u32,
    /// Profiles added, in file order.
    pub added: Vec<Profile>,
    /// Entries not added, with the reason.
    pub skipped: Vec<ImportSkip>,
    /// Pairings a backup lists.
    pub listed_pairings: Vec<ListedPairing>,
    /// When nothing was added although the file held entries: the sentence
    /// to show.
    pub nothing_added: Option<String>,
}

impl From<route::FileImport> for ImportReport {
    fn from(r: route::FileImport) -> Self {
        let nothing_added = r.nothing_added();
        Self {
            source: r.source.into(),
            total: u32::try_from(r.total).unwrap_or(u32::MAX),
            added: r.added.iter().map(Profile::from).collect(),
            skipped: r
                .skipped
                .into_iter()
                .map(|s| ImportSkip {
                    index: u32::try_from(s.index).unwrap_or(u32::MAX),
                    line: s.line.and_then(|l| u32::try_from(l).ok()),
                    duplicate_of: crate::records::duplicate_of(&s.error),
                    reason: s.error.to_string(),
                })
                .collect(),
            listed_pairings: r
                .pairings
                .into_iter()
                .map(|p| ListedPairing {
                    server_name: p.server_name,
                    urls: p.urls,
                    account: p.account,
                    spki_sha256_hex: p.spki_sha256_hex,
                })
                .collect(),
            nothing_added,
        }
    }
}

/// A backup made by [`Authenticator::create_backup`].
#[derive(uniffi::Record)]
pub struct BackupFile {
    /// The file's bytes (encrypted; safe to store anywhere).
    pub bytes: Vec<u8>,
    /// A suggested file name (`countersign-backup-YYYYMMDD-HHMMSS.csbk`).
    pub file_name: String,
    /// The recovery code to show once, when one was asked for.
    pub recovery_code: Option<String>,
}

impl std::fmt::Debug for BackupFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupFile")
            .field("bytes", &self.bytes.len())
            .field("file_name", &self.file_name)
            .field(
                "recovery_code",
                &self.recovery_code.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A profile an export could not carry.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LeftOutProfile {
    /// The profile's id.
    pub profile_id: String,
    /// Its display name.
    pub display_name: String,
    /// Why the format cannot carry it.
    pub reason: String,
}

/// Google Authenticator migration payloads for the shell to render as QR codes.
#[derive(uniffi::Record)]
pub struct GoogleQrExport {
    /// One `otpauth-migration://` URI per QR code, in order (hold secrets:
    /// render, never log).
    pub payloads: Vec<String>,
    /// Profiles exported.
    pub exported: u32,
    /// Profiles left out, with the reason.
    pub left_out: Vec<LeftOutProfile>,
    /// When no code could be made: the sentence to show.
    pub nothing_exported: Option<String>,
}

impl std::fmt::Debug for GoogleQrExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleQrExport")
            .field("payloads", &self.payloads.len())
            .field("exported", &self.exported)
            .field("left_out", &self.left_out)
            .finish()
    }
}

fn requested(format: Option<String>) -> Result<Requested, AuthError> {
    let name = format.unwrap_or_else(|| "auto".to_owned());
    Requested::from_name(&name).ok_or_else(|| AuthError::InvalidInput {
        reason: format!("unknown import format {name}"),
    })
}

#[uniffi::export(async_runtime = "tokio")]
impl Authenticator {
    /// Says what `bytes` are (read as `format`: `None` or "auto" to detect;
    /// "countersign", "aegis", "2fas", "andotp", "bitwarden", "freeotp-plus",
    /// "ente", "raivo", "google", "otpauth") and whether a password is needed.
    /// Touches nothing.
    pub fn inspect_import(
        &self,
        bytes: Vec<u8>,
        format: Option<String>,
    ) -> Result<ImportSource, AuthError> {
        guard(|| Ok(route::inspect(&bytes, requested(format)?)?.into()))
    }

    /// Adds everything an export file, URI list or Countersign backup holds,
    /// in one transaction (nothing on error). `password` opens encrypted
    /// files (a backup's password or recovery code); ignored otherwise.
    pub async fn import_file(
        &self,
        bytes: Vec<u8>,
        format: Option<String>,
        password: Option<String>,
    ) -> Result<ImportReport, AuthError> {
        let vault = self.vault.clone();
        let now = self.now();
        off_thread(move || {
            let password = password.map(zeroize::Zeroizing::new);
            let report = route::import_bytes(
                &vault,
                &bytes,
                requested(format)?,
                password.as_deref().map(String::as_str),
                now,
            )?;
            Ok(report.into())
        })
        .await
    }

    /// Restores a Countersign backup (merged: duplicates skipped; settings
    /// taken only into an empty vault) with its password or recovery code.
    pub async fn restore_backup(
        &self,
        bytes: Vec<u8>,
        secret: String,
    ) -> Result<ImportReport, AuthError> {
        self.import_file(bytes, Some("countersign".to_owned()), Some(secret))
            .await
    }

    /// An encrypted backup of every profile and the settings (password at
    /// least 8 characters; Argon2id, slow by design). With
    /// `with_recovery_code` a second slot opens it with a code shown once;
    /// with `include_pairings` the Approve pairings are listed (never their
    /// keys).
    pub async fn create_backup(
        &self,
        password: String,
        with_recovery_code: bool,
        include_pairings: bool,
    ) -> Result<BackupFile, AuthError> {
        let vault = self.vault.clone();
        let now = self.now();
        off_thread(move || {
            let password = zeroize::Zeroizing::new(password);
            let (bytes, recovery_code) = countersign_core::backup::create_backup(
                &vault,
                &password,
                with_recovery_code,
                include_pairings,
                now,
            )?;
            Ok(BackupFile {
                bytes,
                file_name: countersign_core::backup::file_name(now),
                recovery_code,
            })
        })
        .await
    }

    /// Every profile as an `otpauth://` URI (secrets: share only on purpose).
    pub fn export_otpauth_uris(&self) -> Result<Vec<String>, AuthError> {
        guard(|| {
            Ok(self
                .vault
                .export_uris()?
                .iter()
                .map(|u| (**u).clone())
                .collect())
        })
    }

    /// Every profile as Google Authenticator migration payloads (ten per
    /// QR code); profiles the format cannot carry are left out with the reason.
    pub fn export_google_qr(&self) -> Result<GoogleQrExport, AuthError> {
        guard(|| {
            let e = countersign_core::export::google_migration(&self.vault)?;
            Ok(GoogleQrExport {
                nothing_exported: e.nothing_exported(),
                payloads: e.uris.iter().map(|u| (**u).clone()).collect(),
                exported: u32::try_from(e.exported).unwrap_or(u32::MAX),
                left_out: e
                    .left_out
                    .into_iter()
                    .map(|l| LeftOutProfile {
                        profile_id: l.profile_id,
                        display_name: l.display_name,
                        reason: l.reason,
                    })
                    .collect(),
            })
        })
    }
}
