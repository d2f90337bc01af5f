//! `countersign`: the desktop authenticator, a consumer of the core's public API.
//!
//! Flow: parse (clap), open the vault (creating it on first use), unlock
//! (asking for the passcode if one is set), run one command, exit. Errors are
//! one line on stderr and a non-zero exit; a closed stdout (`| head`) is a
//! normal end.

mod approve_cmd;
mod args;
mod backup_cmd;
mod commands;
#[cfg(feature = "demo")]
mod demo;
mod export_cmd;
mod session;
mod sync_cmd;
mod watch;

use clap::Parser;
use std::process::ExitCode;

/// A failure to report: message and exit code.
#[derive(Debug)]
pub struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    /// Exit 1 with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
        }
    }
}

impl From<countersign_core::AuthenticatorError> for Failure {
    fn from(e: countersign_core::AuthenticatorError) -> Self {
        Self::new(e.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Self::new(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.message.is_empty() => ExitCode::from(f.code),
        Err(f) => {
            // Broken pipe on stdout: the reader went away, which is fine.
            if f.message.contains("Broken pipe") {
                return ExitCode::SUCCESS;
            }
            eprintln!("countersign: {}", f.message.replace('\n', " "));
            ExitCode::from(f.code)
        }
    }
}
