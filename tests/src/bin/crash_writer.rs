//! A vault writer for the crash test: performs writes and prints `ack ...`
//! after each one returned (i.e. committed), so the test knows which writes
//! were acknowledged before it sent SIGKILL.
//!
//! Usage: `crash_writer VAULT START COUNT`

use countersign_core::{NewProfile, OtpParams, SecretBytes, SoftwareKeyProtector, Vault};
use std::io::Write;
use std::sync::Arc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: crash_writer VAULT START COUNT");
        std::process::exit(2);
    }
    let path = std::path::PathBuf::from(&args[1]);
    let (Ok(start), Ok(count)) = (args[2].parse::<u32>(), args[3].parse::<u32>()) else {
        eprintln!("START and COUNT must be numbers");
        std::process::exit(2);
    };
    let prot = Arc::new(SoftwareKeyProtector::beside(&path));
    let vault = match Vault::open_or_create(&path, prot, 1) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("open failed: {e}");
            std::process::exit(3);
        }
    };
    if let Err(e) = vault.unlock(None, 1) {
        eprintln!("unlock failed: {e}");
        std::process::exit(3);
    }
    let hotp_id = vault
        .list()
        .ok()
        .and_then(|l| l.into_iter().find(|p| p.issuer == "counter").map(|p| p.id));
    let mut out = std::io::stdout().lock();
    for i in start..start + count {
        let p = NewProfile::new(
            &format!("issuer-{i}"),
            "acct",
            SecretBytes::new(format!("crash-seed-{i:010}").into_bytes()),
            OtpParams::totp(),
        );
        match vault.add(p, i64::from(i)) {
            Ok(_) => {
                let _ = writeln!(out, "ack add {i}");
            }
            // Full vault: a clean stop (the test clears it between trials).
            Err(countersign_core::AuthenticatorError::LimitReached { .. }) => {
                let _ = writeln!(out, "full");
                let _ = out.flush();
                std::process::exit(0);
            }
            Err(e) => {
                eprintln!("add {i} failed: {e}");
                std::process::exit(4);
            }
        }
        if let Some(id) = &hotp_id {
            match vault.hotp_advance(id, 1) {
                Ok(c) => {
                    let _ = writeln!(out, "ack counter {}", c.counter);
                }
                Err(e) => {
                    eprintln!("advance failed: {e}");
                    std::process::exit(4);
                }
            }
        }
        let _ = out.flush();
    }
}
