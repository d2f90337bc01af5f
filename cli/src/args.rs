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
    /// Import another authenticator's export: a text file of otpauth:// and
    /// otpauth-migration:// URIs, Aegis, 2FAS, andOTP, Bitwarden, FreeOTP+,
    /// Ente Auth (plain text or encrypted), Raivo (password-protected ZIP) or
    /// a Countersign backup. Encrypted exports ask for their password.
    Import {
        /// The file.
        file: PathBuf,
        /// Source format (default: detected from the content).
        #[arg(long, default_value = "auto", value_parser = ["auto", "otpauth", "google", "aegis", "2fas", "andotp", "bitwarden", "freeotp-plus", "ente", "raivo", "countersign"])]
        format: String,
        /// Read the export's password from stdin (after the passcode line, if any).
        #[arg(long)]
        password_stdin: bool,
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
    /// Export every profile (contains secrets): otpauth:// URIs, Google
    /// Authenticator migration QR codes, or an encrypted backup file.
    Export(ExportArgs),
    /// Show a profile's QR code in the terminal (contains its secret).
    Qr {
        /// Profile id (or a unique prefix).
        id: String,
    },
    /// Live view of all codes with a countdown; q quits.
    Watch,
    /// Pair with a sign-in server for Approve sign-in: from an invitation
    /// (`countersign://pair?…`, the text of the server's QR code) or by
    /// address, username and password.
    Pair(PairArgs),
    /// Show or change the vault's settings.
    Settings {
        /// Require user presence (biometrics / screen lock) before an
        /// Approve is sent: on or off. The desktop has no screen lock, so
        /// approving from the CLI needs this off.
        #[arg(long, value_parser = ["on", "off"])]
        screen_lock_after_approve: Option<String>,
        /// Lock after this many seconds in the background (0: at once).
        #[arg(long)]
        reauth_timeout: Option<u32>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List Approve sign-in pairings.
    Pairings {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show sign-in requests waiting for an answer.
    Requests {
        /// Wait up to this many seconds (≤ 25) for one to arrive.
        #[arg(long, default_value_t = 0)]
        wait: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve, deny or report a sign-in request.
    Answer {
        /// Request id (or a unique prefix).
        request_id: String,
        /// approve, deny or report.
        #[arg(value_enum)]
        decision: DecisionArg,
        /// The two-digit number the sign-in screen (or the new device)
        /// shows: type it (required to approve; a wrong one is refused and
        /// counted, three deny the request).
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=99))]
        number: Option<u8>,
    },
    /// Remove a pairing (tells the server when reachable).
    Unpair {
        /// Pairing id (or a unique prefix).
        id: String,
    },
    /// Walk through Approve sign-in end to end against a temporary local server.
    Demo,
    /// Encrypted backup files: create one, or merge one into the vault.
    Backup {
        /// create or restore.
        #[command(subcommand)]
        action: crate::backup_cmd::BackupAction,
    },
    /// End-to-end encrypted sync with your other devices through a
    /// Countersign server (enable, join, now, status, qr, delete, leave).
    Sync {
        /// What to do.
        #[command(subcommand)]
        action: crate::sync_cmd::SyncAction,
    },
}

/// `pair` arguments.
#[derive(Args, Debug)]
pub struct PairArgs {
    /// The invitation text from the server's QR code.
    #[arg(required_unless_present = "url", conflicts_with = "url")]
    pub invite: Option<String>,
    /// Server address (https://host:port) for pairing by password.
    #[arg(long, requires = "username")]
    pub url: Option<String>,
    /// Username for pairing by password.
    #[arg(long)]
    pub username: Option<String>,
    /// The server key fingerprint (SHA-256 hex) you compared; without it the
    /// fingerprint is shown and you are asked to confirm.
    #[arg(long)]
    pub fingerprint: Option<String>,
    /// Read the server password from stdin (after the passcode line, if any).
    #[arg(long)]
    pub password_stdin: bool,
    /// The current code of the account's authenticator app, when the
    /// account has one (its second step; asked for on a terminal otherwise).
    #[arg(long, value_name = "CODE")]
    pub otp_code: Option<String>,
    /// Device name shown on the server.
    #[arg(long, default_value = "countersign CLI")]
    pub name: String,
}

/// Answers to a sign-in request.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum DecisionArg {
    /// Let the sign-in proceed.
    Approve,
    /// Refuse it.
    Deny,
    /// Refuse and report it as not me.
    Report,
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

/// `export` arguments.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Otpauth)]
    pub format: ExportFormat,
    /// google-qr: directory for the image files (default: show the QR codes
    /// in the terminal); backup: the backup file (required).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// google-qr with --out: image file type.
    #[arg(long, value_enum, default_value_t = QrImageFormat::Png)]
    pub image: QrImageFormat,
    /// backup: read the backup password from stdin (after the passcode line, if any).
    #[arg(long)]
    pub password_stdin: bool,
}

/// Export formats.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// otpauth:// URIs, one per line.
    Otpauth,
    /// Google Authenticator migration QR codes (otpauth-migration://, ten
    /// accounts per code); accounts the format cannot carry are listed.
    GoogleQr,
    /// Our encrypted backup file (as `backup create`).
    Backup,
}

/// Image file types for `export --format google-qr --out DIR`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum QrImageFormat {
    /// PNG images.
    Png,
    /// SVG images.
    Svg,
}

impl QrImageFormat {
    /// File extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            QrImageFormat::Png => "png",
            QrImageFormat::Svg => "svg",
        }
    }
}
