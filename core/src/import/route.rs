//! One way in for every file a user hands the app: our own encrypted
//! backup, a list of `otpauth://` / `otpauth-migration://` URIs, or another
//! authenticator's export — the phone and the CLI import through here, so
//! a file is recognised, asked a password for and reported the same way.
//!
//! Two calls: [`inspect`] says what a file is and whether it needs a
//! password (so a shell asks only when it must), [`import_bytes`] adds
//! everything it holds to the vault in one transaction and returns a
//! [`FileImport`] report (added, skipped with the reason, pairings a backup
//! lists). The whole-file failures are one [`AuthenticatorError`] each and
//! change nothing.

use super::{parse, ImportFormat, MAX_IMPORT_BYTES};
use crate::backup::{self, PairingInfo};
use crate::error::AuthenticatorError;
use crate::profile::Profile;
use crate::vault::{AddReport, Vault};

type Result<T, E = AuthenticatorError> = std::result::Result<T, E>;

/// What the user asked the file to be read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requested {
    /// Work it out from the content.
    Auto,
    /// Our own encrypted backup only.
    Countersign,
    /// One app's export (its variants detected: `Aegis` finds out whether
    /// the vault is encrypted).
    Format(ImportFormat),
}

impl Requested {
    /// From a format name: `auto`, `countersign`, or an
    /// [`ImportFormat::from_name`] name. `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "auto" => Some(Requested::Auto),
            "countersign" => Some(Requested::Countersign),
            other => ImportFormat::from_name(other).map(|f| match f {
                ImportFormat::Auto => Requested::Auto,
                f => Requested::Format(f),
            }),
        }
    }
}

/// What a file turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A Countersign backup (`CSBK`): opens with its password or recovery code.
    Backup,
    /// Text with one URI per line (blank lines and `#` comments skipped).
    UriList,
    /// Another app's export, parsed as this format.
    Export(ImportFormat),
}

impl Source {
    /// Shown to the user ("Aegis (encrypted)", "Countersign backup", …).
    pub fn description(self) -> &'static str {
        match self {
            Source::Backup => "Countersign backup",
            Source::UriList => "otpauth URI list",
            Source::Export(f) => f.description(),
        }
    }

    /// True when reading it needs a password (or, for a backup, the
    /// recovery code).
    pub fn needs_password(self) -> bool {
        match self {
            Source::Backup => true,
            Source::UriList => false,
            Source::Export(f) => f.is_encrypted(),
        }
    }
}

/// One entry that was not added.
#[derive(Clone, Debug)]
pub struct SkippedEntry {
    /// Position among the file's entries (0-based).
    pub index: usize,
    /// For URI lists, the line it came from (1-based).
    pub line: Option<usize>,
    /// Why (duplicate, limit, unsupported type, bad secret). Never holds a
    /// secret.
    pub error: AuthenticatorError,
}

/// What [`import_bytes`] did.
#[derive(Clone, Debug)]
pub struct FileImport {
    /// What the file was.
    pub source: Source,
    /// Entries the file held.
    pub total: usize,
    /// Profiles added, in file order.
    pub added: Vec<Profile>,
    /// Entries not added.
    pub skipped: Vec<SkippedEntry>,
    /// Approve pairings a backup lists (never restored: pair again).
    pub pairings: Vec<PairingInfo>,
}

impl FileImport {
    /// When nothing was added although the file held entries, the one
    /// sentence to show (the CLI fails with it); `None` otherwise.
    pub fn nothing_added(&self) -> Option<String> {
        if !self.added.is_empty() || self.skipped.is_empty() {
            return None;
        }
        if self.total == 1 {
            return self.skipped.first().map(|s| s.error.to_string());
        }
        let from = self.source.description();
        let all_duplicates = self
            .skipped
            .iter()
            .all(|s| matches!(s.error, AuthenticatorError::Duplicate { .. }));
        Some(if all_duplicates {
            format!(
                "nothing added from {from}: all {} entries are already in the vault",
                self.total
            )
        } else {
            format!(
                "nothing added from {from}: {} entries skipped",
                self.skipped.len()
            )
        })
    }
}

fn invalid(reason: impl Into<String>) -> AuthenticatorError {
    AuthenticatorError::InvalidInput {
        reason: reason.into(),
    }
}

/// Says what `bytes` are when read as `requested`, without a password and
/// without touching any vault.
///
/// # Errors
///
/// `InvalidInput` when the file is too large, is not a backup although
/// `Countersign` was asked for, or is not recognised at all.
pub fn inspect(bytes: &[u8], requested: Requested) -> Result<Source> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(invalid(format!(
            "the file is too large to be an export ({} bytes; the limit is {MAX_IMPORT_BYTES})",
            bytes.len()
        )));
    }
    let is_backup = bytes.starts_with(backup::MAGIC);
    match requested {
        Requested::Countersign if is_backup => return Ok(Source::Backup),
        Requested::Countersign => return Err(invalid("the file is not a Countersign backup")),
        Requested::Auto if is_backup => return Ok(Source::Backup),
        _ => {}
    }
    let asked = match requested {
        Requested::Format(f) => f,
        _ => ImportFormat::Auto,
    };
    let format = ImportFormat::resolve(asked, bytes);
    let text_list = matches!(
        format,
        ImportFormat::Auto | ImportFormat::OtpauthList | ImportFormat::GoogleMigration
    ) && matches!(asked, ImportFormat::Auto | ImportFormat::OtpauthList);
    if text_list {
        if let Ok(text) = std::str::from_utf8(bytes) {
            let t = text.trim_start_matches('\u{feff}').trim_start();
            if !t.starts_with('{') && !t.starts_with('[') {
                return Ok(Source::UriList);
            }
        }
    }
    if format == ImportFormat::Auto {
        return Err(invalid(
            "the file is not an export this app can read (Aegis, 2FAS, andOTP, Bitwarden, \
             FreeOTP+, Ente Auth, Raivo, Google Authenticator, otpauth URIs or a Countersign backup)",
        ));
    }
    Ok(Source::Export(format))
}

/// Adds everything `bytes` hold to the (unlocked) vault in one transaction.
/// `password` opens encrypted exports, and backups (password or recovery
/// code); it is ignored for plain files.
///
/// # Errors
///
/// As [`inspect`]; `InvalidInput` for a password that is missing or wrong,
/// a corrupted file, or a URI list without any URI; `VaultLocked`. Nothing
/// is added then.
pub fn import_bytes(
    vault: &Vault,
    bytes: &[u8],
    requested: Requested,
    password: Option<&str>,
    now: i64,
) -> Result<FileImport> {
    let source = inspect(bytes, requested)?;
    let password = password.filter(|p| !p.is_empty());
    match source {
        Source::Backup => {
            let secret = password.ok_or_else(|| {
                invalid("this backup is encrypted: its password or recovery code is required")
            })?;
            let contents = backup::read_backup(bytes, secret)?;
            let pairings = contents.pairings.clone();
            let total = contents.profiles.len();
            let report = backup::restore_into(vault, contents, now)?;
            Ok(finish(source, total, report, &[], pairings))
        }
        Source::UriList => {
            let (lines, inputs): (Vec<usize>, Vec<_>) = super::otpauth_list::parse_numbered(bytes)?
                .into_iter()
                .unzip();
            let total = inputs.len();
            let report = vault.add_results(inputs, now)?;
            Ok(finish(source, total, report, &lines, Vec::new()))
        }
        Source::Export(format) => {
            let result = parse(bytes, format, password)?;
            let total = result.entries.len();
            let report = vault.add_results(result.entries, now)?;
            Ok(finish(
                Source::Export(result.format),
                total,
                report,
                &[],
                Vec::new(),
            ))
        }
    }
}

fn finish(
    source: Source,
    total: usize,
    report: AddReport,
    lines: &[usize],
    pairings: Vec<PairingInfo>,
) -> FileImport {
    FileImport {
        source,
        total,
        added: report.added,
        skipped: report
            .skipped
            .into_iter()
            .map(|s| SkippedEntry {
                index: s.index,
                line: lines.get(s.index).copied(),
                error: s.error,
            })
            .collect(),
        pairings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::KdfParams;
    use crate::vault::SoftwareKeyProtector;
    use std::sync::Arc;

    const T0: i64 = 1_800_000_000;

    fn vault() -> (tempfile::TempDir, Vault) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        let v = Vault::create(&path, Arc::new(SoftwareKeyProtector::beside(&path)), T0).unwrap();
        v.unlock(None, T0).unwrap();
        (dir, v)
    }

    const URIS: &str = "# two accounts\n\
        otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example\n\
        \n\
        otpauth://totp/Broken?secret=not*base32\n\
        otpauth://totp/Other:bob?secret=KRSXG5CTMVRXEZLU&issuer=Other\n";

    #[test]
    fn a_uri_list_reports_lines_and_a_second_import_adds_nothing() {
        let (_d, v) = vault();
        assert_eq!(
            inspect(URIS.as_bytes(), Requested::Auto).unwrap(),
            Source::UriList
        );
        let r = import_bytes(&v, URIS.as_bytes(), Requested::Auto, None, T0).unwrap();
        assert_eq!((r.total, r.added.len(), r.skipped.len()), (3, 2, 1));
        assert_eq!(r.skipped[0].line, Some(4));
        assert!(r.nothing_added().is_none());
        let again = import_bytes(&v, URIS.as_bytes(), Requested::Auto, None, T0).unwrap();
        assert!(again.added.is_empty());
        assert!(again.nothing_added().unwrap().contains("3 entries skipped"));
        assert_eq!(v.count().unwrap(), 2);
    }

    #[test]
    fn our_backup_needs_its_password_and_a_wrong_one_changes_nothing() {
        let (_d, src) = vault();
        import_bytes(&src, URIS.as_bytes(), Requested::Auto, None, T0).unwrap();
        let (bytes, code) = backup::create_backup_with_kdf(
            &src,
            "correct horse",
            true,
            false,
            T0,
            KdfParams::insecure_for_tests(),
        )
        .unwrap();
        let (_d2, dst) = vault();
        let source = inspect(&bytes, Requested::Auto).unwrap();
        assert_eq!(source, Source::Backup);
        assert!(source.needs_password());
        for wrong in [None, Some(""), Some("wrong horse")] {
            let e = import_bytes(&dst, &bytes, Requested::Auto, wrong, T0).unwrap_err();
            assert!(
                matches!(e, AuthenticatorError::InvalidInput { .. }),
                "{e:?}"
            );
            assert_eq!(dst.count().unwrap(), 0);
        }
        let r = import_bytes(&dst, &bytes, Requested::Auto, code.as_deref(), T0).unwrap();
        assert_eq!((r.source, r.added.len()), (Source::Backup, 2));
        assert!(matches!(
            inspect(URIS.as_bytes(), Requested::Countersign),
            Err(AuthenticatorError::InvalidInput { .. })
        ));
    }

    #[test]
    fn unknown_or_oversized_files_are_one_clear_error() {
        let (_d, v) = vault();
        for bytes in [
            b"{\"hello\": 1}".to_vec(),
            vec![0xff, 0x00, 0x12],
            vec![b' '; MAX_IMPORT_BYTES + 1],
        ] {
            assert!(matches!(
                import_bytes(&v, &bytes, Requested::Auto, None, T0),
                Err(AuthenticatorError::InvalidInput { .. })
            ));
        }
        assert!(matches!(
            import_bytes(&v, b"# only a comment\n", Requested::Auto, None, T0),
            Err(AuthenticatorError::InvalidInput { .. })
        ));
        assert_eq!(v.count().unwrap(), 0);
        assert_eq!(
            Requested::from_name("AEGIS"),
            Some(Requested::Format(ImportFormat::AegisPlain))
        );
        assert_eq!(Requested::from_name("nope"), None);
    }

    #[test]
    fn every_fixture_export_imports_through_the_router() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/import/testdata");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let Ok(source) = inspect(&bytes, Requested::Auto) else {
                continue;
            };
            if source.needs_password() {
                continue;
            }
            let (_d, v) = vault();
            let r = import_bytes(&v, &bytes, Requested::Auto, None, T0)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!r.added.is_empty(), "{}", path.display());
            seen += 1;
        }
        assert!(seen >= 5, "only {seen} plain fixtures imported");
    }

    #[test]
    fn an_encrypted_export_says_so_first_and_opens_with_its_password() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/import/testdata/aegis_encrypted.json"
        );
        let bytes = std::fs::read(path).unwrap();
        let source = inspect(&bytes, Requested::Auto).unwrap();
        assert_eq!(source, Source::Export(ImportFormat::AegisEncrypted));
        assert!(source.needs_password());
        let (_d, v) = vault();
        assert!(import_bytes(&v, &bytes, Requested::Auto, None, T0).is_err());
        assert!(import_bytes(&v, &bytes, Requested::Auto, Some("wrong"), T0).is_err());
        assert_eq!(v.count().unwrap(), 0);
        let r = import_bytes(
            &v,
            &bytes,
            Requested::Format(ImportFormat::AegisPlain),
            Some("correct horse battery staple"),
            T0,
        )
        .unwrap();
        assert!(!r.added.is_empty());
        assert_eq!(r.source, Source::Export(ImportFormat::AegisEncrypted));
    }
}
