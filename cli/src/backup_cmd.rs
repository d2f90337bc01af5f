//! `countersign backup create|restore`: encrypted backup files, through the
//! core's public backup API only.
//!
//! Secrets on stdin (`--password-stdin`): with `--passcode-stdin` the vault
//! passcode is the first line and the backup password the next; without it
//! the backup password is the first line. Leading and trailing whitespace
//! of a password is ignored, however it is entered.

use crate::session::{now, PasscodeSource};
use crate::Failure;
use clap::Subcommand;
use countersign_core::backup;
use countersign_core::Vault;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Backup actions.
#[derive(Subcommand, Debug)]
pub enum BackupAction {
    /// Write an encrypted backup of every profile and the settings to FILE
    /// (replaced atomically; verified by reading it back).
    Create {
        /// The backup file.
        file: PathBuf,
        /// Read the backup password from stdin (after the passcode line, if any).
        #[arg(long)]
        password_stdin: bool,
        /// Also create a recovery code that opens the backup (shown once).
        #[arg(long)]
        recovery_code: bool,
        /// Include Approve pairings' server names, addresses, fingerprints
        /// and accounts (never keys) as a reminder of what to pair again.
        #[arg(long)]
        include_pairings: bool,
    },
    /// Merge an encrypted backup into the vault: accounts already present are
    /// skipped; settings are restored only into a vault with no accounts.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Read the backup password (or recovery code) from stdin (after the
        /// passcode line, if any).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Automatic backups after every change, keeping the newest N.
    #[command(subcommand)]
    Auto(AutoAction),
}

/// `backup auto` actions.
#[derive(Subcommand, Debug)]
pub enum AutoAction {
    /// Turn automatic backups on: after every change a new encrypted backup
    /// goes to DIR (opened with the backup password); the oldest beyond
    /// --keep are deleted. Writes the first one now.
    Enable {
        /// Folder for the backups (created if missing).
        dir: PathBuf,
        /// How many to keep (1–100).
        #[arg(long, default_value_t = backup::auto::DEFAULT_KEEP)]
        keep: u32,
        /// Read the backup password from stdin (after the passcode line, if any).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Show where automatic backups go and which exist.
    Status,
    /// Turn automatic backups off (existing files stay).
    Disable,
}

/// Runs one backup action on an unlocked vault stored at `path`.
pub fn run(
    vault: &Vault,
    path: &Path,
    action: BackupAction,
    src: &mut PasscodeSource,
    out: &mut impl Write,
) -> Result<(), Failure> {
    match action {
        BackupAction::Create {
            file,
            password_stdin,
            recovery_code,
            include_pairings,
        } => create_file(
            vault,
            &file,
            password_stdin,
            recovery_code,
            include_pairings,
            src,
            out,
        ),
        BackupAction::Restore {
            file,
            password_stdin,
        } => {
            let secret = if password_stdin {
                stdin_secret(src)?
            } else {
                prompt("Backup password or recovery code")?
            };
            restore(vault, &file, &secret, out)
        }
        BackupAction::Auto(AutoAction::Enable {
            dir,
            keep,
            password_stdin,
        }) => {
            let password = if password_stdin {
                stdin_secret(src)?
            } else {
                let first = prompt("Backup password")?;
                let again = prompt("Repeat the backup password")?;
                if *first != *again {
                    return Err(Failure::new("the passwords do not match; nothing changed"));
                }
                first
            };
            let protector = countersign_core::SoftwareKeyProtector::beside(path);
            let first =
                backup::auto::enable(vault, path, &protector, &dir, &password, keep, now())?;
            writeln!(
                out,
                "automatic backups on: {} (keeping {keep}); first one written and verified: {}",
                dir.display(),
                first.display()
            )?;
            Ok(())
        }
        BackupAction::Auto(AutoAction::Status) => match backup::auto::status(path)? {
            None => {
                writeln!(out, "automatic backups are off")?;
                Ok(())
            }
            Some(s) => {
                writeln!(
                    out,
                    "automatic backups on: {} (keeping {}), {} file(s):",
                    s.dir.display(),
                    s.keep,
                    s.files.len()
                )?;
                for f in &s.files {
                    writeln!(out, "  {}", f.display())?;
                }
                Ok(())
            }
        },
        BackupAction::Auto(AutoAction::Disable) => {
            let was = backup::auto::disable(path)?;
            writeln!(
                out,
                "{}",
                if was {
                    "automatic backups off (existing files kept)"
                } else {
                    "automatic backups were already off"
                }
            )?;
            Ok(())
        }
    }
}

/// `backup create` (also `export --format backup`): asks for the password
/// (twice on a terminal), writes and verifies the file.
pub fn create_file(
    vault: &Vault,
    file: &Path,
    password_stdin: bool,
    recovery_code: bool,
    include_pairings: bool,
    src: &mut PasscodeSource,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let password = if password_stdin {
        stdin_secret(src)?
    } else {
        let first = prompt("Backup password")?;
        let again = prompt("Repeat the backup password")?;
        if *first != *again {
            return Err(Failure::new("the passwords do not match; nothing written"));
        }
        first
    };
    create(vault, file, &password, recovery_code, include_pairings, out)
}

fn create(
    vault: &Vault,
    file: &Path,
    password: &str,
    recovery_code: bool,
    include_pairings: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let (bytes, code) =
        backup::create_backup(vault, password, recovery_code, include_pairings, now())?;
    backup::write_backup_file(file, &bytes, password)?;
    let count = vault.count()?;
    writeln!(
        out,
        "backup of {count} profile(s) written to {} and verified",
        file.display()
    )?;
    if let Some(code) = code {
        let code = Zeroizing::new(code);
        writeln!(
            out,
            "recovery code (shown only this once; keep it apart from the password):\n{}",
            &*code
        )?;
    }
    Ok(())
}

fn restore(vault: &Vault, file: &Path, secret: &str, out: &mut impl Write) -> Result<(), Failure> {
    use countersign_core::import::route::{import_bytes, Requested};
    let bytes = std::fs::read(file)
        .map_err(|e| Failure::new(format!("cannot read {}: {e}", file.display())))?;
    let report = import_bytes(vault, &bytes, Requested::Countersign, Some(secret), now())
        .map_err(|e| Failure::new(format!("{}: {e}", file.display())))?;
    crate::commands::print_import(&report, out)
}

/// The backup password from stdin: the next line after the passcode when
/// stdin was read for `--passcode-stdin`, else the first line.
fn stdin_secret(src: &mut PasscodeSource) -> Result<Zeroizing<String>, Failure> {
    match src.next_stdin_line() {
        Some(p) => Ok(p),
        None if src.uses_stdin() => Err(Failure::new(
            "--password-stdin: missing backup password line",
        )),
        None => {
            let mut line = Zeroizing::new(String::new());
            std::io::stdin().lock().read_line(&mut line)?;
            Ok(Zeroizing::new(line.trim().to_owned()))
        }
    }
}

fn prompt(what: &str) -> Result<Zeroizing<String>, Failure> {
    rpassword::prompt_password(format!("{what}: "))
        .map(|p| Zeroizing::new(p.trim().to_owned()))
        .map_err(|e| {
            Failure::new(format!(
                "cannot read the backup password ({e}); use --password-stdin"
            ))
        })
}
