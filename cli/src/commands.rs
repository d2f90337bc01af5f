//! One function per subcommand, each using only the core's public API.

use crate::args::{Cli, Command, PasscodeAction};
use crate::session::{self, now, PasscodeSource};
use crate::Failure;
use countersign_core::vault::ProfileUpdate;
use countersign_core::{Profile, Vault};
use serde_json::json;
use std::io::{BufRead, Write};

/// Runs the parsed command.
/// How long the CLI waits at exit for the backup and sync round a change
/// started (a sync round has its own network timeouts, well below this).
const UPKEEP_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

pub fn run(cli: Cli) -> Result<(), Failure> {
    let path = session::vault_path(cli.vault)?;
    let reads_stdin = matches!(&cli.command, Command::Add(a) if a.uri.as_deref() == Some("-"));
    if reads_stdin && cli.passcode_stdin {
        return Err(Failure::new(
            "add - reads URIs from stdin; give the passcode in $COUNTERSIGN_PASSCODE instead of --passcode-stdin",
        ));
    }
    if matches!(cli.command, Command::Demo) {
        #[cfg(feature = "demo")]
        return crate::demo::run();
        #[cfg(not(feature = "demo"))]
        return Err(Failure::new(
            "this build has no demo (built with --no-default-features); the full build has it",
        ));
    }
    let mut passcodes = PasscodeSource::new(cli.passcode_stdin)?;
    let app = session::open(&path)?;
    let vault = app.vault().clone();
    if let Command::Passcode { action } = &cli.command {
        return passcode(&vault, action, &mut passcodes);
    }
    session::unlock(&vault, &mut passcodes)?;
    let mut out = std::io::stdout().lock();
    // Commands that can change the profiles: the core's upkeep backs up and
    // syncs after them by itself; the CLI only waits for it before exiting.
    let changed = matches!(
        cli.command,
        Command::Add(_)
            | Command::Import { .. }
            | Command::Next { .. }
            | Command::Rename { .. }
            | Command::Remove { .. }
            | Command::Backup { .. }
    );
    let result = match cli.command {
        Command::Add(a) => {
            if let Some(img) = a.qr {
                let uris = decode_qr(&img)?;
                add_texts(&vault, uris.iter().map(String::as_str), &mut out)
            } else if a.uri.as_deref() == Some("-") {
                let lines: Vec<String> =
                    std::io::stdin().lock().lines().collect::<Result<_, _>>()?;
                add_texts(&vault, lines.iter().map(String::as_str), &mut out)
            } else {
                add_texts(&vault, a.uri.as_deref().into_iter(), &mut out)
            }
        }
        Command::Import {
            file,
            format,
            password_stdin,
        } => import_file(
            &vault,
            &file,
            &format,
            password_stdin,
            &mut passcodes,
            &mut out,
        ),
        Command::Codes { query, at, json } => codes(
            &vault,
            query.as_deref(),
            at.unwrap_or_else(now),
            json,
            &mut out,
        ),
        Command::Next { id } => {
            let p = resolve(&vault, &id)?;
            let code = vault.hotp_advance(&p.id, now())?;
            writeln!(out, "{}", code.code)?;
            Ok(())
        }
        Command::List { json } => list(&vault, json, &mut out),
        Command::Rename {
            id,
            issuer,
            account,
        } => {
            if issuer.is_none() && account.is_none() {
                return Err(Failure::new("rename needs --issuer and/or --account"));
            }
            let p = resolve(&vault, &id)?;
            let p = vault.update(
                &p.id,
                ProfileUpdate {
                    issuer,
                    account,
                    ..ProfileUpdate::default()
                },
                now(),
            )?;
            writeln!(out, "renamed {} to {}", short(&p.id), p.display_name())?;
            Ok(())
        }
        Command::Remove { id } => {
            let p = resolve(&vault, &id)?;
            vault.remove(&p.id)?;
            writeln!(out, "removed {} {}", short(&p.id), p.display_name())?;
            Ok(())
        }
        Command::Export(a) => crate::export_cmd::run(&vault, a, &mut passcodes, &mut out),
        Command::Qr { id } => {
            let p = resolve(&vault, &id)?;
            let uri = vault.export_uri(&p.id)?;
            let art = crate::export_cmd::terminal_qr(uri.as_bytes())?;
            writeln!(out, "{art}\n{}", p.display_name())?;
            Ok(())
        }
        Command::Watch => {
            // The full-screen view owns the terminal: upkeep outcomes are
            // kept in the façade's status instead of printed over it.
            app.set_upkeep_listener(None);
            crate::watch::run(&vault)
        }
        Command::Pair(a) => crate::approve_cmd::pair(&vault, a, &mut passcodes, &mut out),
        Command::Settings {
            screen_lock_after_approve,
            reauth_timeout,
            json,
        } => {
            let mut s = vault.settings()?;
            if let Some(v) = screen_lock_after_approve {
                s.require_screen_lock_after_approve = v == "on";
            }
            if let Some(t) = reauth_timeout {
                s.reauth_timeout_s = t;
            }
            vault.update_settings(s)?;
            let onoff = |b: bool| if b { "on" } else { "off" };
            if json {
                print_json(
                    &mut out,
                    &[serde_json::json!({
                        "screen_lock_after_approve": s.require_screen_lock_after_approve,
                        "reauth_timeout_s": s.reauth_timeout_s,
                        "always_show_otp": s.always_show_otp,
                        "clock_offset_s": s.clock_offset_s,
                    })],
                )
            } else {
                writeln!(
                    out,
                    "screen lock after approve: {}\nre-auth timeout: {} s\nclock offset: {} s",
                    onoff(s.require_screen_lock_after_approve),
                    s.reauth_timeout_s,
                    s.clock_offset_s
                )?;
                Ok(())
            }
        }
        Command::Pairings { json } => crate::approve_cmd::pairings(&vault, json, &mut out),
        Command::Requests { wait, json } => {
            crate::approve_cmd::requests(&vault, wait, json, &mut out)
        }
        Command::Answer {
            request_id,
            decision,
            number,
        } => crate::approve_cmd::answer(&vault, &request_id, decision, number, &mut out),
        Command::Unpair { id } => crate::approve_cmd::unpair(&vault, &id, &mut out),
        Command::Backup { action } => {
            crate::backup_cmd::run(&vault, &path, action, &mut passcodes, &mut out)
        }
        Command::Sync { action } => crate::sync_cmd::run(&vault, &path, action, &mut out),
        Command::Demo => Ok(()),
        Command::Passcode { .. } => Ok(()),
    };
    if result.is_ok() && changed && !app.flush_upkeep(UPKEEP_WAIT) {
        eprintln!("warning: automatic backup or sync still running; it continues next time");
    }
    result
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// Prints a JSON array, pretty-printed, as the `--json` options do.
pub fn print_json(out: &mut impl Write, items: &[serde_json::Value]) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(items).map_err(|e| Failure::new(e.to_string()))?;
    writeln!(out, "{text}")?;
    Ok(())
}

/// Why [`find_by_id`] found nothing.
pub enum Lookup {
    /// No item has that id or prefix.
    Missing,
    /// The prefix matches several items.
    Ambiguous,
}

/// The item whose id is `id`, or whose id starts with `id` when `id` has at
/// least 4 characters and only one item matches (the README's rule for
/// every id the CLI takes).
pub fn find_by_id<T>(items: Vec<T>, id: &str, id_of: impl Fn(&T) -> &str) -> Result<T, Lookup> {
    let mut prefixed = Vec::new();
    for item in items {
        if id_of(&item) == id {
            return Ok(item);
        }
        if id.len() >= 4 && id_of(&item).starts_with(id) {
            prefixed.push(item);
        }
    }
    match prefixed.len() {
        0 => Err(Lookup::Missing),
        1 => prefixed.pop().ok_or(Lookup::Missing),
        _ => Err(Lookup::Ambiguous),
    }
}

/// Finds a profile by full id or unique prefix (at least 4 characters).
fn resolve(vault: &Vault, id: &str) -> Result<Profile, Failure> {
    find_by_id(vault.list()?, id, |p| &p.id).map_err(|e| match e {
        Lookup::Missing => Failure::new(format!("no profile with id {id}")),
        Lookup::Ambiguous => Failure::new(format!("id prefix {id} is ambiguous")),
    })
}

/// `import FILE`: the core's router says what the file is (our backup, a
/// URI list or another app's export); the password is asked for only when
/// it needs one; everything is added in one transaction.
fn import_file(
    vault: &Vault,
    file: &std::path::Path,
    format: &str,
    password_stdin: bool,
    passcodes: &mut PasscodeSource,
    out: &mut impl Write,
) -> Result<(), Failure> {
    use countersign_core::import::route::{self, Requested, Source};
    use countersign_core::import::MAX_IMPORT_BYTES;
    let cannot_read =
        |e: std::io::Error| Failure::new(format!("cannot read {}: {e}", file.display()));
    let len = std::fs::metadata(file).map_err(cannot_read)?.len();
    if len > MAX_IMPORT_BYTES as u64 {
        return Err(Failure::new(format!(
            "{} is too large to be an export ({len} bytes; the limit is {MAX_IMPORT_BYTES})",
            file.display()
        )));
    }
    let bytes = std::fs::read(file).map_err(cannot_read)?;
    let requested = Requested::from_name(format)
        .ok_or_else(|| Failure::new(format!("unknown import format {format}")))?;
    let source = route::inspect(&bytes, requested)
        .map_err(|e| Failure::new(format!("{}: {e}", file.display())))?;
    let password = if !source.needs_password() {
        None
    } else if password_stdin {
        // An empty stdin gives no password, so the core says one is required.
        match passcodes.next_stdin_line() {
            Some(p) => Some(p),
            None if passcodes.uses_stdin() => None,
            None => {
                let mut line = zeroize::Zeroizing::new(String::new());
                let n = std::io::stdin().lock().read_line(&mut line)?;
                (n > 0).then(|| {
                    zeroize::Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned())
                })
            }
        }
    } else {
        let what = match source {
            Source::Backup => "Backup password or recovery code: ".to_owned(),
            other => format!("Password for the {} export: ", other.description()),
        };
        Some(zeroize::Zeroizing::new(
            rpassword::prompt_password(what).map_err(|e| {
                Failure::new(format!(
                    "cannot read the password ({e}); use --password-stdin"
                ))
            })?,
        ))
    };
    let report = route::import_bytes(
        vault,
        &bytes,
        requested,
        password.as_deref().map(String::as_str),
        now(),
    )?;
    print_import(&report, out)
}

/// `add URI…` / `add -`: the URIs as a list, through the same router.
fn add_texts<'a>(
    vault: &Vault,
    texts: impl Iterator<Item = &'a str>,
    out: &mut impl Write,
) -> Result<(), Failure> {
    use countersign_core::import::route::{self, Requested};
    use countersign_core::import::ImportFormat;
    let text: String = texts.flat_map(|t| [t, "\n"]).collect();
    if text.trim().is_empty() {
        return Err(Failure::new("no URI given"));
    }
    let report = route::import_bytes(
        vault,
        text.as_bytes(),
        Requested::Format(ImportFormat::OtpauthList),
        None,
        now(),
    )?;
    print_import(&report, out)
}

/// Prints what an import did, in the words each source always used, and
/// fails (exit 1) with the core's sentence when nothing was added.
pub(crate) fn print_import(
    r: &countersign_core::import::route::FileImport,
    out: &mut impl Write,
) -> Result<(), Failure> {
    use countersign_core::import::route::Source;
    match r.source {
        Source::Backup => {
            writeln!(
                out,
                "restored {} profile(s), skipped {}",
                r.added.len(),
                r.skipped.len()
            )?;
            for s in &r.skipped {
                writeln!(out, "  skipped #{}: {}", s.index + 1, s.error)?;
            }
            if !r.pairings.is_empty() {
                writeln!(
                    out,
                    "the backup lists {} Approve pairing(s); pair again with `countersign pair`:",
                    r.pairings.len()
                )?;
                for p in &r.pairings {
                    writeln!(
                        out,
                        "  {} ({}) account {} fingerprint {}",
                        p.server_name,
                        p.urls.join(", "),
                        p.account,
                        p.spki_sha256_hex
                    )?;
                }
            }
            // Restoring the same backup twice adds nothing and is fine.
            return Ok(());
        }
        Source::UriList | Source::Export(_) => {}
    }
    for p in &r.added {
        writeln!(out, "added {} {}", short(&p.id), p.display_name())?;
    }
    let nothing = r.nothing_added();
    // A lone entry's failure is the error itself; otherwise each skip is listed.
    if nothing.is_none() || r.total > 1 {
        for s in &r.skipped {
            eprintln!(
                "countersign: skipped entry {}{}: {}",
                s.index + 1,
                line_of(s),
                s.error
            );
        }
    }
    if let Some(why) = nothing {
        return Err(Failure::new(why));
    }
    match r.source {
        Source::Export(f) => {
            writeln!(out, "imported {} from {}", r.added.len(), f.description())?;
            if !r.skipped.is_empty() {
                writeln!(out, "skipped {}", r.skipped.len())?;
            }
        }
        _ if !r.skipped.is_empty() => {
            writeln!(out, "added {}, skipped {}", r.added.len(), r.skipped.len())?;
        }
        _ => {}
    }
    Ok(())
}

fn line_of(s: &countersign_core::import::route::SkippedEntry) -> String {
    s.line.map(|l| format!(" (line {l})")).unwrap_or_default()
}

fn decode_qr(path: &std::path::Path) -> Result<Vec<String>, Failure> {
    let img = image::open(path)
        .map_err(|e| Failure::new(format!("cannot read image {}: {e}", path.display())))?
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let mut found = Vec::new();
    for grid in prepared.detect_grids() {
        if let Ok((_, content)) = grid.decode() {
            found.push(content);
        }
    }
    if found.is_empty() {
        return Err(Failure::new(format!(
            "no readable QR code in {}",
            path.display()
        )));
    }
    Ok(found)
}

fn profile_json(p: &Profile) -> serde_json::Value {
    json!({
        "id": p.id,
        "issuer": p.issuer,
        "account": p.account,
        "type": p.params.otp_type.as_str(),
        "algorithm": p.params.algorithm.as_str(),
        "digits": p.params.digits,
        "period": p.params.period,
        "counter": p.params.counter,
        "group": p.group,
        "favorite": p.favorite,
        "note": p.note,
    })
}

fn codes(
    vault: &Vault,
    query: Option<&str>,
    at: i64,
    as_json: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let profiles = match query {
        Some(q) => vault.search(q)?,
        None => vault.list()?,
    };
    let mut all: std::collections::HashMap<String, countersign_core::Code> = vault
        .codes_at(at)?
        .into_iter()
        .map(|pc| (pc.id.to_string(), pc.code))
        .collect();
    let rows: Vec<(Profile, countersign_core::Code)> = profiles
        .into_iter()
        .filter_map(|p| all.remove(&p.id).map(|c| (p, c)))
        .collect();
    if as_json {
        let arr: Vec<_> = rows
            .iter()
            .map(|(p, c)| {
                let mut v = profile_json(p);
                v["code"] = json!(c.code);
                v["valid_for_s"] = json!(c.valid_for_s);
                v
            })
            .collect();
        print_json(out, &arr)?;
        return Ok(());
    }
    if rows.is_empty() {
        writeln!(
            out,
            "no profiles{}",
            if query.is_some() {
                " match"
            } else {
                " yet: add one with `countersign add URI`"
            }
        )?;
        return Ok(());
    }
    let width = rows
        .iter()
        .map(|(p, _)| p.display_name().chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    for (p, c) in rows {
        let left = if p.params.otp_type.is_time_based() {
            format!("{:>3}s", c.valid_for_s)
        } else {
            format!("#{}", c.counter)
        };
        writeln!(
            out,
            "{}  {:<width$}  {:>10}  {}",
            short(&p.id),
            p.display_name(),
            c.code,
            left
        )?;
    }
    Ok(())
}

fn list(vault: &Vault, as_json: bool, out: &mut impl Write) -> Result<(), Failure> {
    let profiles = vault.list()?;
    if as_json {
        let arr: Vec<_> = profiles.iter().map(profile_json).collect();
        print_json(out, &arr)?;
        return Ok(());
    }
    for p in profiles {
        writeln!(
            out,
            "{}  {}  {} {} {}d",
            short(&p.id),
            p.display_name(),
            p.params.otp_type.as_str(),
            p.params.algorithm.as_str(),
            p.params.digits
        )?;
    }
    Ok(())
}

fn passcode(
    vault: &Vault,
    action: &PasscodeAction,
    src: &mut PasscodeSource,
) -> Result<(), Failure> {
    let t = now();
    let has = vault.unlock_methods()?.passcode;
    match action {
        PasscodeAction::Set => {
            if has {
                return Err(Failure::new(
                    "a passcode is already set; use `passcode change`",
                ));
            }
            vault.unlock(None, t)?;
            let new = src.next("New passcode (4-8 digits)", false)?;
            vault.set_passcode(&new, t)?;
            println!("passcode set");
        }
        PasscodeAction::Change => {
            if !has {
                return Err(Failure::new("no passcode is set; use `passcode set`"));
            }
            let old = src.next("Current passcode", false)?;
            vault.unlock(Some(&old), t)?;
            let new = src.next("New passcode (4-8 digits)", false)?;
            vault.change_passcode(&old, &new, t)?;
            println!("passcode changed");
        }
        PasscodeAction::Remove => {
            if !has {
                return Err(Failure::new("no passcode is set"));
            }
            let cur = src.next("Current passcode", false)?;
            vault.unlock(Some(&cur), t)?;
            vault.remove_passcode(&cur, t)?;
            println!("passcode removed");
        }
    }
    Ok(())
}
