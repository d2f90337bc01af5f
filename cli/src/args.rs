//! Command-line grammar. This file is the CLI contract that acceptance
//! tests rely on; change it only together with README.md.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Countersign: an offline authenticator (TOTP, HOTP, Steam) with an encrypted vault.
#[derive(Parser, Debug)]
#[command(name = "countersign", version, about, propagate_version = true)]
pub struct Cli {
    /// Vault file (default: the user's data directory).
    #[arg(long, global = true, env = "COUNTERSIGN_VAULT", value_name = "PATH")]
    pub vault: Option<PathBuf>,

    /// Read the vault passcode from the first line of standard input.
    #[arg(long, global = true)]
    pub passcode_stdin: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Add accounts from an otpauth:// or otpauth-migration:// URI ("-": one URI per line from stdin).
    Add(AddArgs),
    /// Import a text file of URIs (one per line; otpauth:// and otpauth-migration://, all batches).
    Import {
        /// The file.
        file: PathBuf,
    },
    /// Show current codes.
    Codes {
        /// Only profiles whose issuer, account, group or note contains this.
        query: Option<String>,
        /// Compute codes at this Unix time instead of now.
        #[arg(long, value_name = "UNIX_SECONDS", allow_negative_numbers = true)]
        at: Option<i64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Advance a HOTP profile to its next counter and print the new code.
    Next {
        /// Profile id (or a unique prefix of it).
        id: String,
    },
    /// List profiles.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rename a profile.
    Rename {
        /// Profile id (or a unique prefix).
        id: String,
        /// New issuer.
        #[arg(long)]
        issuer: Option<String>,
        /// New account name.
        #[arg(long)]
        account: Option<String>,
    },
    /// Remove a profile.
    Remove {
        /// Profile id (or a unique prefix).
        id: String,
    },
    /// Set, change or remove the passcode.
    Passcode {
        /// set, change or remove.
        #[command(subcommand)]
        action: PasscodeAction,
    },
    /// Export every profile (contains secrets).
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Otpauth)]
        format: ExportFormat,
    },
    /// Show a profile's QR code in the terminal (contains its secret).
    Qr {
        /// Profile id (or a unique prefix).
        id: String,
    },
    /// Live view of all codes with a countdown; q quits.
    Watch,
}

/// `add` arguments.
#[derive(Args, Debug)]
pub struct AddArgs {
    /// The URI, or "-" to read URIs from stdin.
    #[arg(required_unless_present = "qr", conflicts_with = "qr")]
    pub uri: Option<String>,
    /// Decode QR codes from a PNG or JPEG image instead.
    #[arg(long, value_name = "IMAGE")]
    pub qr: Option<PathBuf>,
}

/// Passcode actions. With `--passcode-stdin`, stdin holds the needed
/// passcodes one per line: set: new; change: old, new; remove: current.
#[derive(Subcommand, Debug)]
pub enum PasscodeAction {
    /// Set a 4–8 digit passcode.
    Set,
    /// Change the passcode (asks for the old one).
    Change,
    /// Remove the passcode (asks for it).
    Remove,
}

/// Export formats.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ExportFormat {
    /// otpauth:// URIs, one per line.
    Otpauth,
}
