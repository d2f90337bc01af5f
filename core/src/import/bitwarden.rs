//! Bitwarden password manager exports: unencrypted JSON and CSV.
//!
//! JSON: `{"encrypted": false, "folders": [{id, name}], "items": [{name,
//! notes, favorite, folderId, login: {username, totp}}]}`. CSV: a header
//! row with `folder, favorite, type, name, notes, …, login_username, …,
//! login_totp`. Only items with a non-empty `totp` are accounts; the others
//! are ignored. `totp` holds an `otpauth://` URI, `steam://SECRET`, or a bare
//! Base32 secret (TOTP, SHA1, 6 digits, 30 s; the item name becomes the
//! issuer and the username the account). Encrypted ("password protected"
//! or account-restricted) exports are refused with a clear message.

use super::{
    base32_secret, corrupted, invalid, json, map_entries, str_field, Entry, MAX_IMPORT_ENTRIES,
};
use crate::error::AuthenticatorError;
use crate::otp::OtpType;
use crate::profile::NewProfile;
use serde_json::Value;
use std::collections::HashMap;

const WHAT: &str = "Bitwarden export";

/// True when the first line is a Bitwarden CSV header.
pub fn looks_like_csv(text: &str) -> bool {
    text.lines()
        .next()
        .is_some_and(|l| l.split(',').any(|c| c.trim() == "login_totp"))
}

/// Parses a Bitwarden JSON or CSV export.
///
/// # Errors
///
/// `InvalidInput`: encrypted, not a Bitwarden export, or corrupted.
pub fn parse(
    bytes: &[u8],
) -> Result<Vec<Result<NewProfile, AuthenticatorError>>, AuthenticatorError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| corrupted(WHAT, "not UTF-8 text"))?
        .trim_start_matches('\u{feff}');
    if looks_like_csv(text) {
        return parse_csv(text);
    }
    let v = json(bytes, WHAT)?;
    if v.get("encrypted").and_then(Value::as_bool) == Some(true) {
        return Err(invalid(
            "this Bitwarden export is encrypted; export it from Bitwarden as unencrypted .json or .csv",
        ));
    }
    let folders: HashMap<&str, &str> = v
        .get("folders")
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .map(|f| (str_field(f, "id"), str_field(f, "name")))
                .collect()
        })
        .unwrap_or_default();
    let items = v
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| corrupted(WHAT, "no items"))?;
    let with_totp: Vec<Value> = items
        .iter()
        .filter(|i| {
            i.get("login")
                .is_some_and(|l| !str_field(l, "totp").trim().is_empty())
        })
        .cloned()
        .collect();
    map_entries(&with_totp, |i| {
        let login = i.get("login").cloned().unwrap_or(Value::Null);
        item(
            str_field(&login, "totp"),
            str_field(i, "name"),
            str_field(&login, "username"),
            str_field(i, "notes"),
            folders.get(str_field(i, "folderId")).copied().unwrap_or(""),
            i.get("favorite").and_then(Value::as_bool).unwrap_or(false),
        )
    })
}

fn parse_csv(
    text: &str,
) -> Result<Vec<Result<NewProfile, AuthenticatorError>>, AuthenticatorError> {
    let mut rd = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = rd
        .headers()
        .map_err(|_| corrupted(WHAT, "unreadable CSV header"))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let totp = col("login_totp").ok_or_else(|| corrupted(WHAT, "no login_totp column"))?;
    let (name, user, notes, folder, fav) = (
        col("name"),
        col("login_username"),
        col("notes"),
        col("folder"),
        col("favorite"),
    );
    let mut out = Vec::new();
    for (row, rec) in rd.records().enumerate() {
        let rec = rec.map_err(|_| corrupted(WHAT, &format!("unreadable CSV row {}", row + 2)))?;
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("");
        let uri = rec.get(totp).unwrap_or("");
        if uri.trim().is_empty() {
            continue;
        }
        if out.len() >= MAX_IMPORT_ENTRIES {
            return Err(invalid(format!(
                "the file has more than {MAX_IMPORT_ENTRIES} entries"
            )));
        }
        out.push(
            item(
                uri,
                get(name),
                get(user),
                get(notes),
                get(folder),
                get(fav) == "1" || get(fav).eq_ignore_ascii_case("true"),
            )
            .map_err(super::entry_error),
        );
    }
    Ok(out)
}

fn item(
    totp: &str,
    name: &str,
    username: &str,
    notes: &str,
    folder: &str,
    favorite: bool,
) -> Result<NewProfile, String> {
    let totp = totp.trim();
    let lower = totp.get(..10).unwrap_or(totp).to_ascii_lowercase();
    let mut p = if lower.starts_with("otpauth:") {
        crate::uri::parse_otpauth(totp).map_err(|e| e.to_string())?
    } else if let Some(secret) = lower
        .strip_prefix("steam://")
        .map(|_| totp.get(8..).unwrap_or(""))
    {
        Entry {
            otp_type: Some(OtpType::Steam),
            ..Entry::default()
        }
        .build(base32_secret(secret)?)?
    } else {
        Entry::default().build(base32_secret(totp)?)?
    };
    if p.issuer.is_empty() {
        name.trim().clone_into(&mut p.issuer);
    }
    if p.account.is_empty() {
        username.trim().clone_into(&mut p.account);
    }
    notes.clone_into(&mut p.note);
    folder.clone_into(&mut p.group);
    p.favorite = favorite;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{detect, parse as import, ImportFormat};
    use crate::otp::OtpType;
    use proptest::prelude::*;

    fn check(r: &super::super::ImportResult) {
        let ok = oks(r);
        assert_eq!(r.entries.len(), 4, "{:?}", r.entries);
        assert_eq!(ok.len(), 3, "{:?}", r.entries);
        assert_eq!(ok[0].issuer, "GitHub");
        assert_eq!(ok[0].account, "alice@example.com");
        assert_eq!(ok[0].secret.expose(), RFC_SEED);
        assert_eq!(ok[0].group, "Work");
        assert_eq!(ok[1].issuer, "Example");
        assert_eq!(ok[1].account, "bob");
        assert_eq!(ok[1].params.period, 30);
        assert_eq!(ok[1].note, "old account");
        assert!(ok[1].favorite);
        assert_eq!(ok[2].params.otp_type, OtpType::Steam);
        let err = r.entries[3].as_ref().unwrap_err().to_string();
        assert!(err.contains("Base32"), "{err}");
    }

    #[test]
    fn json_fixture() {
        let bytes = fixture("bitwarden.json");
        assert_eq!(detect(&bytes), ImportFormat::Bitwarden);
        check(&import(&bytes, ImportFormat::Auto, None).unwrap());
    }

    #[test]
    fn csv_fixture() {
        let bytes = fixture("bitwarden.csv");
        assert_eq!(detect(&bytes), ImportFormat::Bitwarden);
        check(&import(&bytes, ImportFormat::Auto, None).unwrap());
    }

    #[test]
    fn encrypted_json_is_refused() {
        let e = import(
            br#"{"encrypted":true,"passwordProtected":true,"salt":"x","kdfType":0,"kdfIterations":600000,"encKeyValidation_DO_NOT_EDIT":"x","data":"x"}"#,
            ImportFormat::Bitwarden,
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("encrypted"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn mutated_fixtures_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
            no_panic_on_mutations(&fixture("bitwarden.json"), ImportFormat::Bitwarden, None, &flips, cut);
            no_panic_on_mutations(&fixture("bitwarden.csv"), ImportFormat::Bitwarden, None, &flips, cut);
        }
    }
}
