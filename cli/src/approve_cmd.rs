//! Approve sign-in commands: pair, pairings, requests, answer, unpair.
//!
//! Thin: each command calls one `countersign_core::approve` flow on a
//! current-thread tokio runtime and prints the result.

use crate::args::{DecisionArg, PairArgs};
use crate::commands::{find_by_id, print_json, Lookup};
use crate::session::{now, PasscodeSource};
use crate::Failure;
use countersign_core::approve::{
    self, Action, Decision, DeviceInfo, PairingNotice, PasswordPairing, SignInRequest,
};
use countersign_core::AuthenticatorError;
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
        let mut otp_code = a.otp_code.clone();
        loop {
            let r = rt.block_on(approve::pair_with_password(
                vault,
                &url,
                &fingerprint,
                &username,
                &password,
                otp_code.as_deref(),
                &device(&a.name),
                now(),
            ));
            match r {
                Ok(PasswordPairing::Paired(p)) => break p,
                Ok(PasswordPairing::AwaitingApproval(pending)) => {
                    break wait_for_approval(vault, &rt, &pending)?
                }
                Err(AuthenticatorError::Rejected { code, .. })
                    if code == "second_step_required" && otp_code.is_none() =>
                {
                    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                        return Err(Failure::new(
                            "this account has an authenticator app: give its current code with --otp-code CODE",
                        ));
                    }
                    eprint!("Code from the account's authenticator app: ");
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    otp_code = Some(line.trim().to_owned());
                }
                Err(e) => return Err(e.into()),
            }
        }
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

/// Shows the number for a pairing waiting for approval and waits for it.
fn wait_for_approval(
    vault: &Arc<Vault>,
    rt: &tokio::runtime::Runtime,
    pending: &approve::PendingPairing,
) -> Result<countersign_core::vault::Pairing, Failure> {
    eprintln!(
        "{} ({}) already has a paired phone: open Countersign there and type this number to approve this pairing:",
        pending.account, pending.server_name
    );
    eprintln!("\n    {:02}\n", pending.number);
    loop {
        if let Some(p) = rt.block_on(approve::finish_password_pairing(vault, pending, 25, now()))? {
            return Ok(p);
        }
        if now() > pending.expires_at + 5 {
            return Err(Failure::new(
                "nobody approved the pairing in time; run the command again",
            ));
        }
    }
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

/// Requests and notices of every pairing, and the pairings that could not
/// be asked (with why).
struct Fetched {
    requests: Vec<SignInRequest>,
    notices: Vec<PairingNotice>,
    failures: Vec<(String, AuthenticatorError)>,
}

fn fetch(vault: &Arc<Vault>, rt: &tokio::runtime::Runtime, wait: u64) -> Result<Fetched, Failure> {
    let pairings = vault.pairings()?;
    if pairings.is_empty() {
        return Err(Failure::new(
            "no pairings: pair with `countersign pair INVITATION` first",
        ));
    }
    if wait > 0 && pairings.len() == 1 {
        let p = rt.block_on(approve::pending(vault, &pairings[0].id, wait, now()))?;
        return Ok(Fetched {
            requests: p.requests,
            notices: p.notices,
            failures: Vec::new(),
        });
    }
    let check = rt.block_on(approve::check_all_pending(vault, now()))?;
    Ok(Fetched {
        requests: check.requests,
        notices: check.notices,
        failures: check.failures,
    })
}

/// A check that could not reach every pairing fails (after showing what it
/// could): a pin mismatch or a network error is never "nothing waiting".
fn failed(vault: &Arc<Vault>, failures: &[(String, AuthenticatorError)]) -> Result<(), Failure> {
    let Some((id, e)) = failures.first() else {
        return Ok(());
    };
    let name = vault
        .pairing(id)
        .map(|p| format!("{} ({})", p.server_name, p.account))
        .unwrap_or_else(|_| id.chars().take(8).collect());
    let more = match failures.len() {
        1 => String::new(),
        n => format!(" (and {} more pairings)", n - 1),
    };
    Err(Failure::new(format!("could not check {name}: {e}{more}")))
}

/// `requests`.
pub fn requests(
    vault: &Arc<Vault>,
    wait: u64,
    as_json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let rt = rt()?;
    let fetched = fetch(vault, &rt, wait)?;
    for n in &fetched.notices {
        eprintln!("notice from {}: {}", n.server_name, n.text);
    }
    if as_json {
        let arr: Vec<_> = fetched
            .requests
            .iter()
            .map(|r| {
                let shown = r.shown();
                json!({"request_id": r.request_id, "pairing_id": r.pairing_id, "server_name": r.server_name,
                       "account": r.account, "action": shown.action.as_str(), "service": shown.service,
                       "client_ip": shown.client_ip, "client": shown.client, "location": shown.location,
                       "created_at": r.context.created_at, "expires_at": r.context.expires_at,
                       "tries_left": r.tries_left})
            })
            .collect();
        print_json(out, &arr)?;
        return failed(vault, &fetched.failures);
    }
    if fetched.requests.is_empty() && fetched.failures.is_empty() {
        writeln!(out, "no sign-in requests waiting")?;
    }
    for r in &fetched.requests {
        writeln!(out, "{}", describe(r))?;
    }
    failed(vault, &fetched.failures)
}

/// Multi-line description of a request, as the phone shows it.
pub fn describe(r: &SignInRequest) -> String {
    let c = r.shown();
    let what = match c.action {
        Action::SignIn => format!("{} wants to sign in to {}", r.account, c.service),
        Action::PairDevice => format!(
            "a new device wants to be paired with {} on {}",
            r.account, c.service
        ),
    };
    let screen = match c.action {
        Action::SignIn => "the sign-in screen",
        Action::PairDevice => "the new device",
    };
    format!(
        "request {}  {what}\n  from {}  {}{}\n  type the number {screen} shows: countersign answer {} approve --number NN",
        &r.request_id[..r.request_id.len().min(8)],
        c.client_ip,
        c.client,
        if c.location.is_empty() { String::new() } else { format!("  near {}", c.location) },
        &r.request_id[..r.request_id.len().min(8)],
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
    let fetched = fetch(vault, &rt, 0)?;
    let found = find_by_id(fetched.requests, request_id, |r| &r.request_id);
    let req = match found {
        Ok(r) => r,
        Err(Lookup::Ambiguous) => return Err(Failure::new("request id prefix is ambiguous")),
        Err(Lookup::Missing) => {
            failed(vault, &fetched.failures)?;
            return Err(Failure::new(format!(
                "no pending request {request_id} (answered or expired?)"
            )));
        }
    };
    let (d, n) = match decision {
        DecisionArg::Approve => (
            Decision::Approve,
            number.ok_or_else(|| {
                Failure::new("approve needs --number NN: type the number the sign-in screen shows")
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
