//! One function per subcommand, each using only the core's public API.

use crate::args::{Cli, Command, PasscodeAction};
use crate::session::{self, now, PasscodeSource};
use crate::Failure;
use countersign_core::vault::{AddReport, ProfileUpdate};
use countersign_core::{AuthenticatorError, Profile, Vault};
use serde_json::json;
use std::io::{BufRead, Write};

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let path = session::vault_path(cli.vault)?;
    let reads_stdin = matches!(&cli.command, Command::Add(a) if a.uri.as_deref() == Some("-"));
    if reads_stdin && cli.passcode_stdin {
        return Err(Failure::new(
            "add - reads URIs from stdin; give the passcode in $COUNTERSIGN_PASSCODE instead of --passcode-stdin",
        ));
    }
    if matches!(cli.command, Command::Demo) {
        return crate::demo::run();
    }
    let mut passcodes = PasscodeSource::new(cli.passcode_stdin)?;
    let vault = std::sync::Arc::new(session::open(&path)?);
    if let Command::Passcode { action } = &cli.command {
        return passcode(&vault, action, &mut passcodes);
    }
    session::unlock(&vault, &mut passcodes)?;
    let mut out = std::io::stdout().lock();
    // Commands that can change the profiles: after them, the automatic
    // backup and a sync round run (when on).
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
        Command::Watch => crate::watch::run(&vault),
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
    if result.is_ok() && changed {
        crate::backup_cmd::after_change(&vault, &path);
        crate::sync_cmd::after_change(&vault, &path);
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

/// `import FILE`: detects (or takes) the format, asks for the export's
/// password when it is encrypted, and adds everything in one transaction.
/// Plain URI lists keep the `add` behaviour (unparseable lines are skipped).
fn import_file(
    vault: &Vault,
    file: &std::path::Path,
    format: &str,
    password_stdin: bool,
    passcodes: &mut PasscodeSource,
    out: &mut impl Write,
) -> Result<(), Failure> {
    use countersign_core::import::{self, ImportFormat, MAX_IMPORT_BYTES};
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
    // Our own encrypted backup: the same merge as `backup restore`.
    if bytes.starts_with(countersign_core::backup::MAGIC)
        && matches!(format, "auto" | "countersign")
    {
        return crate::backup_cmd::restore_file(vault, file, password_stdin, passcodes, out);
    }
    if format == "countersign" {
        return Err(Failure::new(format!(
            "{} is not a Countersign backup file",
            file.display()
        )));
    }
    let requested = ImportFormat::from_name(format)
        .ok_or_else(|| Failure::new(format!("unknown import format {format}")))?;
    let fmt = ImportFormat::resolve(requested, &bytes);
    let text_list = matches!(
        fmt,
        ImportFormat::Auto | ImportFormat::OtpauthList | ImportFormat::GoogleMigration
    ) && matches!(requested, ImportFormat::Auto | ImportFormat::OtpauthList);
    if text_list {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let t = text.trim_start();
            if !t.starts_with('{') && !t.starts_with('[') {
                return add_texts(vault, text.lines(), out);
            }
        }
    }
    // An empty stdin gives no password, so the core says one is required.
    let password = if !fmt.is_encrypted() {
        None
    } else if password_stdin {
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
        Some(zeroize::Zeroizing::new(
            rpassword::prompt_password(format!("Password for the {} export: ", fmt.description()))
                .map_err(|e| {
                    Failure::new(format!(
                        "cannot read the password ({e}); use --password-stdin"
                    ))
                })?,
        ))
    };
    let result = import::parse(&bytes, fmt, password.as_deref().map(String::as_str))?;
    let from = result.format.description();
    let total = result.entries.len();
    let AddReport { added, skipped } = vault.add_results(result.entries, now())?;
    for p in &added {
        writeln!(out, "added {} {}", short(&p.id), p.display_name())?;
    }
    for s in &skipped {
        eprintln!("countersign: skipped entry {}: {}", s.index + 1, s.error);
    }
    if added.is_empty() && total > 0 {
        let all_dupes = skipped
            .iter()
            .all(|s| matches!(s.error, AuthenticatorError::Duplicate { .. }));
        return Err(Failure::new(if all_dupes {
            format!("nothing added from {from}: all {total} entries are already in the vault")
        } else {
            format!(
                "nothing added from {from}: {} entries skipped",
                skipped.len()
            )
        }));
    }
    writeln!(out, "imported {} from {from}", added.len())?;
    if !skipped.is_empty() {
        writeln!(out, "skipped {}", skipped.len())?;
    }
    Ok(())
}

/// Adds every URI in `texts` (blank lines and `#` comments skipped) in one
/// transaction. Fails (exit 1) when nothing was added and something was
/// skipped; otherwise reports skips as warnings.
fn add_texts<'a>(
    vault: &Vault,
    texts: impl Iterator<Item = &'a str>,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let mut inputs = Vec::new();
    let mut origin = Vec::new();
    for (n, line) in texts.enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match countersign_core::uri::parse_any(line) {
            Ok(countersign_core::uri::ParsedUri::Single(p)) => {
                inputs.push(Ok(p));
                origin.push(n + 1);
            }
            Ok(countersign_core::uri::ParsedUri::Migration(m)) => {
                for e in m.entries {
                    inputs.push(e.map_err(AuthenticatorError::from));
                    origin.push(n + 1);
                }
            }
            Err(e) => {
                inputs.push(Err(AuthenticatorError::from(e)));
                origin.push(n + 1);
            }
        }
    }
    if inputs.is_empty() {
        return Err(Failure::new("no URI given"));
    }
    let single = inputs.len() == 1;
    let AddReport { added, skipped } = vault.add_results(inputs, now())?;
    for p in &added {
        writeln!(out, "added {} {}", short(&p.id), p.display_name())?;
    }
    if added.is_empty() && single {
        if let Some(s) = skipped.first() {
            return Err(Failure::new(s.error.to_string()));
        }
    }
    for s in &skipped {
        eprintln!(
            "countersign: skipped entry {} (line {}): {}",
            s.index + 1,
            origin.get(s.index).copied().unwrap_or(0),
            s.error
        );
    }
    if added.is_empty() && !skipped.is_empty() {
        let all_dupes = skipped
            .iter()
            .all(|s| matches!(s.error, AuthenticatorError::Duplicate { .. }));
        return Err(Failure::new(if all_dupes {
            format!(
                "nothing added: all {} entries are already in the vault",
                skipped.len()
            )
        } else {
            format!("nothing added: {} entries skipped", skipped.len())
        }));
    }
    if !skipped.is_empty() {
        writeln!(out, "added {}, skipped {}", added.len(), skipped.len())?;
    }
    Ok(())
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
        .map(|pc| (pc.id, pc.code))
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
