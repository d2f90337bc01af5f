//! Approve sign-in commands: pair, pairings, requests, answer, unpair.
//!
//! Thin: each command calls one `countersign_core::approve` flow on a
//! current-thread tokio runtime and prints the result.

use crate::args::{DecisionArg, PairArgs};
use crate::commands::{find_by_id, print_json, Lookup};
use crate::session::{now, PasscodeSource};
use crate::Failure;
use countersign_core::approve::{self, Decision, DeviceInfo, SignInRequest};
use countersign_core::Vault;
use serde_json::json;
use std::io::{BufRead, Write};
use std::sync::Arc;

/// A runtime for one command.
pub fn rt() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))
}

fn device(name: &str) -> DeviceInfo {
    DeviceInfo {
        name: name.to_owned(),
        platform: "desktop".into(),
        push_token: None,
    }
}

/// A hex fingerprint as people compare it (docs/protocol.md §3): `3A:F1:…`.
pub fn group_hex(h: &str) -> String {
    h.to_ascii_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

/// `pair`.
pub fn pair(
    vault: &Arc<Vault>,
    a: PairArgs,
    src: &mut PasscodeSource,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let rt = rt()?;
    let pairing = if let Some(invite) = a.invite {
        rt.block_on(approve::pair_with_invite(
            vault,
            &invite,
            &device(&a.name),
            now(),
        ))?
    } else {
        let url = a
            .url
            .ok_or_else(|| Failure::new("give an invitation or --url"))?;
        let username = a
            .username
            .ok_or_else(|| Failure::new("--url needs --username"))?;
        let fingerprint = match a.fingerprint {
            Some(f) => f,
            None => {
                let id = rt.block_on(approve::fetch_server_identity(&url))?;
                eprintln!("Server \"{}\" presents key fingerprint:", id.server_name);
                eprintln!("  {}", group_hex(&id.spki_sha256_hex));
                eprint!("Does it match what the server's admin page shows? [y/N] ");
                let mut answer = String::new();
                std::io::stdin().lock().read_line(&mut answer)?;
                if !answer.trim().eq_ignore_ascii_case("y") {
                    return Err(Failure::new("not paired: fingerprint not confirmed"));
                }
                id.spki_sha256_hex
            }
        };
        let password = if a.password_stdin {
            match src.next_stdin_line() {
                Some(p) => p,
                None if src.uses_stdin() => {
                    return Err(Failure::new("--password-stdin: missing line"))
                }
                None => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    zeroize::Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned())
                }
            }
        } else {
            zeroize::Zeroizing::new(
                rpassword::prompt_password("Server password: ")
                    .map_err(|e| Failure::new(e.to_string()))?,
            )
        };
        rt.block_on(approve::pair_with_password(
            vault,
            &url,
            &fingerprint,
            &username,
            &password,
            &device(&a.name),
            now(),
        ))?
    };
    writeln!(
        out,
        "paired {} with {} as {} (key {})",
        &pairing.id[..8],
        pairing.server_name,
        pairing.account,
        group_hex(&pairing.spki_sha256_hex[..16])
    )?;
    Ok(())
}

/// `pairings`.
pub fn pairings(vault: &Arc<Vault>, as_json: bool, out: &mut impl Write) -> Result<(), Failure> {
    let list = vault.pairings()?;
    if as_json {
        let arr: Vec<_> = list
            .iter()
            .map(|p| {
                json!({"id": p.id, "server_id": p.server_id, "server_name": p.server_name, "account": p.account,
                       "urls": p.urls, "fingerprint": p.spki_sha256_hex, "created_at": p.created_at,
                       "clock_offset_s": p.clock_offset_s})
            })
            .collect();
        print_json(out, &arr)?;
        return Ok(());
    }
    if list.is_empty() {
        writeln!(out, "no pairings: pair with `countersign pair INVITATION`")?;
    }
    for p in list {
        writeln!(
            out,
            "{}  {}  {}  {}",
            &p.id[..8],
            p.server_name,
            p.account,
            p.urls.join(" ")
        )?;
    }
    Ok(())
}

fn fetch(
    vault: &Arc<Vault>,
    rt: &tokio::runtime::Runtime,
    wait: u64,
) -> Result<Vec<SignInRequest>, Failure> {
    let pairings = vault.pairings()?;
    if pairings.is_empty() {
        return Err(Failure::new(
            "no pairings: pair with `countersign pair INVITATION` first",
        ));
    }
    let mut all = Vec::new();
    if wait > 0 && pairings.len() == 1 {
        return Ok(rt.block_on(approve::pending_requests(
            vault,
            &pairings[0].id,
            wait,
            now(),
        ))?);
    }
    let check = rt.block_on(approve::check_all_pending(vault, now()))?;
    for (id, e) in &check.failures {
        eprintln!("countersign: pairing {}: {e}", &id[..id.len().min(8)]);
    }
    all.extend(check.requests);
    Ok(all)
}

/// `requests`.
pub fn requests(
    vault: &Arc<Vault>,
    wait: u64,
    as_json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let rt = rt()?;
    let list = fetch(vault, &rt, wait)?;
    if as_json {
        let arr: Vec<_> = list
            .iter()
            .map(|r| {
                json!({"request_id": r.request_id, "pairing_id": r.pairing_id, "server_name": r.server_name,
                       "account": r.account, "service": r.context.service, "client_ip": r.context.client_ip,
                       "user_agent": r.context.user_agent, "location": r.context.location,
                       "created_at": r.context.created_at, "expires_at": r.context.expires_at,
                       "choices": r.choices})
            })
            .collect();
        print_json(out, &arr)?;
        return Ok(());
    }
    if list.is_empty() {
        writeln!(out, "no sign-in requests waiting")?;
    }
    for r in list {
        writeln!(out, "{}", describe(&r))?;
    }
    Ok(())
}

/// Multi-line description of a request, as the phone shows it.
pub fn describe(r: &SignInRequest) -> String {
    let c = &r.context;
    format!(
        "request {}  {} wants to sign in to {} ({})\n  from {}  browser: {}{}\n  pick the number shown on the sign-in screen: {}",
        &r.request_id[..r.request_id.len().min(8)],
        r.account,
        c.service,
        r.server_name,
        c.client_ip,
        c.user_agent,
        if c.location.is_empty() { String::new() } else { format!("  near {}", c.location) },
        r.choices.iter().map(|n| format!("{n:02}")).collect::<Vec<_>>().join("  ")
    )
}

/// `answer`.
pub fn answer(
    vault: &Arc<Vault>,
    request_id: &str,
    decision: DecisionArg,
    number: Option<u8>,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let rt = rt()?;
    let list = fetch(vault, &rt, 0)?;
    let req = find_by_id(list, request_id, |r| &r.request_id).map_err(|e| match e {
        Lookup::Missing => Failure::new(format!(
            "no pending request {request_id} (answered or expired?)"
        )),
        Lookup::Ambiguous => Failure::new("request id prefix is ambiguous"),
    })?;
    let (d, n) = match decision {
        DecisionArg::Approve => (
            Decision::Approve,
            number.ok_or_else(|| {
                Failure::new("approve needs --number (the number shown on the sign-in screen)")
            })?,
        ),
        DecisionArg::Deny => (Decision::Deny, number.unwrap_or(0)),
        DecisionArg::Report => (Decision::Report, number.unwrap_or(0)),
    };
    let state = rt.block_on(approve::answer(vault, &req, d, n, now()))?;
    writeln!(out, "{}", state.as_str())?;
    Ok(())
}

/// `unpair`.
pub fn unpair(vault: &Arc<Vault>, id: &str, out: &mut impl Write) -> Result<(), Failure> {
    let p = find_by_id(vault.pairings()?, id, |p| &p.id).map_err(|e| match e {
        Lookup::Missing => Failure::new(format!("no pairing {id}")),
        Lookup::Ambiguous => Failure::new("pairing id prefix is ambiguous"),
    })?;
    let told = rt()?.block_on(approve::unpair(vault, &p.id, now()))?;
    writeln!(
        out,
        "unpaired {} ({}){}",
        p.server_name,
        p.account,
        if told {
            ""
        } else {
            "; the server could not be told — ask its admin to revoke this device"
        }
    )?;
    Ok(())
}
