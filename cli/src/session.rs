//! Opening and unlocking the vault for one command.

use crate::Failure;
use countersign_core::authenticator::{UpkeepEvent, UpkeepListener};
use countersign_core::{Authenticator, AuthenticatorError, SoftwareKeyProtector, Vault};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

/// The current Unix time from the system clock (the CLI is the shell here).
pub fn now() -> i64 {
    use countersign_core::Clock as _;
    countersign_core::SystemClock.now_unix_s()
}

/// Where the vault is: `--vault`, `$COUNTERSIGN_VAULT`, or the data directory.
pub fn vault_path(flag: Option<PathBuf>) -> Result<PathBuf, Failure> {
    if let Some(p) = flag {
        return Ok(p);
    }
    let dir = dirs::data_dir()
        .ok_or_else(|| Failure::new("no data directory; pass --vault PATH"))?
        .join("countersign");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::new(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir.join("vault.db"))
}

/// Where passcodes come from.
pub struct PasscodeSource {
    stdin_lines: Option<Vec<Zeroizing<String>>>,
    next: usize,
}

impl PasscodeSource {
    /// Reads all of stdin now if `from_stdin`.
    pub fn new(from_stdin: bool) -> Result<Self, Failure> {
        let stdin_lines = if from_stdin {
            let mut lines = Vec::new();
            for line in std::io::stdin().lock().lines() {
                lines.push(Zeroizing::new(line?.trim().to_owned()));
            }
            Some(lines)
        } else {
            None
        };
        Ok(Self {
            stdin_lines,
            next: 0,
        })
    }

    /// The next stdin line, if passcodes come from stdin.
    pub fn next_stdin_line(&mut self) -> Option<Zeroizing<String>> {
        let lines = self.stdin_lines.as_ref()?;
        let line = lines.get(self.next).cloned();
        self.next += 1;
        line
    }

    /// True when stdin was consumed for passcodes.
    pub fn uses_stdin(&self) -> bool {
        self.stdin_lines.is_some()
    }

    /// The next passcode: a stdin line, `$COUNTERSIGN_PASSCODE` (for the
    /// unlock passcode only), or a prompt on the terminal.
    pub fn next(&mut self, prompt: &str, allow_env: bool) -> Result<Zeroizing<String>, Failure> {
        if let Some(lines) = &self.stdin_lines {
            let line = lines.get(self.next).cloned().ok_or_else(|| {
                Failure::new(format!("--passcode-stdin: missing line for \"{prompt}\""))
            })?;
            self.next += 1;
            return Ok(line);
        }
        if allow_env {
            if let Ok(p) = std::env::var("COUNTERSIGN_PASSCODE") {
                return Ok(Zeroizing::new(p));
            }
        }
        rpassword::prompt_password(format!("{prompt}: "))
            .map(|p| Zeroizing::new(p.trim().to_owned()))
            .map_err(|e| {
                Failure::new(format!(
                    "cannot read the passcode ({e}); use --passcode-stdin"
                ))
            })
    }
}

/// Opens (creating on first use) the vault at `path`, behind the core's
/// façade: it backs up and syncs after changes by itself; what it did is
/// printed on stderr (failures as warnings: the change itself is saved).
pub fn open(path: &Path) -> Result<Authenticator, Failure> {
    let protector = Arc::new(SoftwareKeyProtector::beside(path));
    let app = Authenticator::open(path, protector, Arc::new(countersign_core::SystemClock))
        .map_err(|e| match e {
            AuthenticatorError::VaultUnreadable { reason } => Failure::new(format!(
                "the vault at {} cannot be read ({reason}); it was left untouched",
                path.display()
            )),
            other => other.into(),
        })?;
    app.set_upkeep_listener(Some(Arc::new(StderrUpkeep)));
    Ok(app)
}

/// Prints upkeep outcomes as the CLI always worded them.
struct StderrUpkeep;

impl UpkeepListener for StderrUpkeep {
    fn on_upkeep(&self, event: UpkeepEvent) {
        match event {
            UpkeepEvent::BackupWritten { path } => {
                eprintln!("automatic backup: {}", path.display())
            }
            UpkeepEvent::BackupFailed { error } => {
                eprintln!("warning: automatic backup failed: {error}")
            }
            UpkeepEvent::Synced { report } => {
                eprintln!(
                    "synced ({} sent, {} received)",
                    report.pushed, report.pulled
                )
            }
            UpkeepEvent::SyncFailed { error } => eprintln!(
                "warning: not synced now ({error}); the change is saved and will sync later"
            ),
        }
    }
}

/// Unlocks, asking for the passcode if one is set.
pub fn unlock(vault: &Vault, passcodes: &mut PasscodeSource) -> Result<(), Failure> {
    if vault.unlock_methods()?.passcode {
        let p = passcodes.next("Passcode", true)?;
        vault.unlock(Some(&p), now())?;
    } else {
        vault.unlock(None, now())?;
    }
    Ok(())
}
