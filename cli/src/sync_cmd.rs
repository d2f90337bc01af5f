//! `countersign sync …`: end-to-end encrypted sync of this vault with the
//! user's other devices through a Countersign server, via the core's
//! `sync::device` API only.
//!
//! The server is named like an Approve pairing's: either `--pairing ID`
//! (reuse a paired server's addresses and pinned key) or `--url` +
//! `--fingerprint` (the SHA-256 the server prints at start-up). After every
//! changing command the CLI runs a round when sync is on ("syncs when it
//! can"); a failed round is a warning, never an error of the command.

use crate::approve_cmd::rt;
use crate::commands::{find_by_id, Lookup};
use crate::session::now;
use crate::Failure;
use clap::Subcommand;
use countersign_core::sync::device::{self, SyncReport};
use countersign_core::{SoftwareKeyProtector, Vault};
use std::io::Write;
use std::path::Path;

/// Sync actions.
#[derive(Subcommand, Debug)]
pub enum SyncAction {
    /// Start syncing this vault: makes a sync space on the server and shows
    /// the sync code (once) to join other devices with.
    Enable {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Join the sync space of your other device: the text of its sync QR
    /// (`countersign://sync?…`), or --url/--fingerprint/--pairing with --code.
    Join {
        /// The join text from `countersign sync qr` on the other device.
        uri: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
        /// The sync code (24 characters) shown when sync was enabled.
        #[arg(long)]
        code: Option<String>,
    },
    /// Sync now.
    Now,
    /// Show whether sync is on and when it last ran.
    Status,
    /// Show the join QR code (contains the sync code: only on your screen).
    Qr,
    /// List profiles deleted on any device in the last 30 days (recoverable).
    Deleted,
    /// Bring a recently deleted profile back (on every device at the next
    /// round). ID: from `sync deleted` (or a unique prefix).
    Restore {
        /// The deleted entry's id.
        id: String,
    },
    /// Delete the server copy: sync stops on every device (local data stays).
    Delete,
    /// Stop syncing on this device only.
    Leave,
}

/// Which server to sync through.
#[derive(clap::Args, Debug)]
pub struct ServerArgs {
    /// Reuse the server of this Approve pairing (id or unique prefix).
    #[arg(long, conflicts_with_all = ["url", "fingerprint"])]
    pairing: Option<String>,
    /// Server address (https://host:port).
    #[arg(long, requires = "fingerprint")]
    url: Option<String>,
    /// The server's key fingerprint (SHA-256, hex, colons allowed).
    #[arg(long, requires = "url")]
    fingerprint: Option<String>,
}

fn server_of(vault: &Vault, args: &ServerArgs) -> Result<(Vec<String>, String), Failure> {
    if let Some(id) = &args.pairing {
        let pairings = vault.pairings()?;
        let p = match find_by_id(pairings, id, |p| p.id.as_str()) {
            Ok(p) => p,
            Err(Lookup::Missing) => return Err(Failure::new(format!("no pairing {id}"))),
            Err(Lookup::Ambiguous) => {
                return Err(Failure::new(format!("{id} matches several pairings")))
            }
        };
        return Ok((p.urls, p.spki_sha256_hex));
    }
    match (&args.url, &args.fingerprint) {
        (Some(url), Some(fp)) => Ok((vec![url.clone()], fp.replace(':', "").to_ascii_lowercase())),
        _ => Err(Failure::new(
            "name the server: --pairing ID, or --url and --fingerprint",
        )),
    }
}

fn print_report(out: &mut impl Write, r: &SyncReport) -> Result<(), Failure> {
    writeln!(
        out,
        "synced: {} received, {} sent; {} added, {} updated, {} removed here{}",
        r.pulled,
        r.pushed,
        r.added,
        r.updated,
        r.removed,
        if r.conflicts > 0 {
            format!("; {} with concurrent edits (newest shown)", r.conflicts)
        } else {
            String::new()
        }
    )?;
    Ok(())
}

/// Runs one sync action on an unlocked vault stored at `path`.
pub fn run(
    vault: &Vault,
    path: &Path,
    action: SyncAction,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let prot = SoftwareKeyProtector::beside(path);
    let rt = rt()?;
    match action {
        SyncAction::Enable { server } => {
            let (urls, fp) = server_of(vault, &server)?;
            let (code, report) =
                rt.block_on(device::enable(vault, path, &prot, urls, &fp, now()))?;
            print_report(out, &report)?;
            writeln!(
                out,
                "sync is on. Sync code (shown only now; it opens your synced data — keep it safe):\n{}",
                code.as_str()
            )?;
            writeln!(out, "join another device with `countersign sync join` and this code, or scan `countersign sync qr`")?;
        }
        SyncAction::Join { uri, server, code } => {
            let (urls, fp, code) = match uri {
                Some(text) => {
                    let info = device::parse_join_uri(&text)?;
                    (info.urls, info.spki_hex, info.code)
                }
                None => {
                    let (urls, fp) = server_of(vault, &server)?;
                    let code = code.ok_or_else(|| {
                        Failure::new("give the join text, or --code with the server")
                    })?;
                    (urls, fp, zeroize::Zeroizing::new(code))
                }
            };
            let report = rt.block_on(device::join(vault, path, &prot, urls, &fp, &code, now()))?;
            print_report(out, &report)?;
            writeln!(out, "joined: this vault now syncs with your other devices")?;
        }
        SyncAction::Now => {
            let report = rt.block_on(device::sync_now(vault, path, &prot, now()))?;
            print_report(out, &report)?;
        }
        SyncAction::Status => match device::status(path, &prot)? {
            None => writeln!(out, "sync is off")?,
            Some(s) => {
                writeln!(
                    out,
                    "sync is {}",
                    if s.stopped.is_some() { "stopped" } else { "on" }
                )?;
                writeln!(out, "server: {}", s.urls.join(", "))?;
                writeln!(out, "space: {}  entries: {}", s.space_id, s.entries)?;
                match s.last_sync {
                    Some(t) => writeln!(out, "last sync: {} s ago", (now() - t).max(0))?,
                    None => writeln!(out, "last sync: never")?,
                }
                if let Some(why) = s.stopped {
                    writeln!(out, "stopped: {why}")?;
                }
            }
        },
        SyncAction::Qr => {
            let uri = device::join_uri(path, &prot)?;
            let art = crate::export_cmd::terminal_qr(uri.as_bytes())?;
            writeln!(
                out,
                "{art}\nscan with Countersign on your other device (Settings → Sync → Join)"
            )?;
        }
        SyncAction::Deleted => {
            let list = device::recently_deleted(path, &prot)?;
            if list.is_empty() {
                writeln!(out, "nothing was deleted recently")?;
            }
            for d in list {
                writeln!(
                    out,
                    "{}  {} ({})  deleted {} s ago",
                    &d.sync_id[..d.sync_id.len().min(8)],
                    d.issuer,
                    d.account,
                    (now() - d.deleted_at).max(0)
                )?;
            }
        }
        SyncAction::Restore { id } => {
            let list = device::recently_deleted(path, &prot)?;
            let item = match find_by_id(list, &id, |d| d.sync_id.as_str()) {
                Ok(d) => d,
                Err(Lookup::Missing) => {
                    return Err(Failure::new(format!("no recently deleted profile {id}")))
                }
                Err(Lookup::Ambiguous) => {
                    return Err(Failure::new(format!(
                        "{id} matches several deleted profiles"
                    )))
                }
            };
            device::restore_deleted(vault, path, &prot, &item.sync_id, now())?;
            writeln!(out, "restored {} ({})", item.issuer, item.account)?;
            match rt.block_on(device::sync_now(vault, path, &prot, now())) {
                Ok(r) => print_report(out, &r)?,
                Err(e) => eprintln!(
                    "warning: not synced now ({e}); the restore is saved and will sync later"
                ),
            }
        }
        SyncAction::Delete => {
            rt.block_on(device::delete_everywhere(vault, path, &prot, now()))?;
            writeln!(out, "the server copy is deleted; every device stops syncing at its next attempt (local data stays)")?;
        }
        SyncAction::Leave => {
            let was = device::leave(path)?;
            writeln!(
                out,
                "{}",
                if was {
                    "sync is off on this device"
                } else {
                    "sync was already off"
                }
            )?;
        }
    }
    Ok(())
}
