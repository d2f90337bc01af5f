//! Plain text with one URI per line: `otpauth://` Key URIs and Google
//! Authenticator `otpauth-migration://` export lines (all batches).
//!
//! Parsing is delegated to [`crate::uri::parse_any`]. Blank lines and lines
//! starting with `#` are ignored; a line that is not a valid URI becomes a
//! per-entry error, as does each account of a migration batch that cannot be
//! represented (MD5, unknown type).

use super::{entry_error, invalid, MAX_IMPORT_ENTRIES};
use crate::error::AuthenticatorError;
use crate::profile::NewProfile;
use crate::uri::{parse_any, ParsedUri};

/// Parses a URI list.
///
/// # Errors
///
/// `InvalidInput` when the file is not UTF-8, has no URI at all, or has
/// more than [`MAX_IMPORT_ENTRIES`] entries.
pub fn parse(
    bytes: &[u8],
) -> Result<Vec<Result<NewProfile, AuthenticatorError>>, AuthenticatorError> {
    Ok(parse_numbered(bytes)?.into_iter().map(|(_, e)| e).collect())
}

/// One entry of a URI list and the (1-based) line it came from.
pub type NumberedEntry = (usize, Result<NewProfile, AuthenticatorError>);

/// [`parse`], each entry with the line it came from, so a report can say
/// which line was skipped. Same errors.
pub fn parse_numbered(bytes: &[u8]) -> Result<Vec<NumberedEntry>, AuthenticatorError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| invalid("the URI list is not UTF-8 text"))?
        .trim_start_matches('\u{feff}');
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if out.len() > MAX_IMPORT_ENTRIES {
            return Err(invalid(format!(
                "the file has more than {MAX_IMPORT_ENTRIES} entries"
            )));
        }
        match parse_any(line) {
            Ok(ParsedUri::Single(p)) => out.push((n + 1, Ok(p))),
            Ok(ParsedUri::Migration(m)) => out.extend(
                m.entries
                    .into_iter()
                    .map(|e| (n + 1, e.map_err(AuthenticatorError::from))),
            ),
            Err(e) => out.push((n + 1, Err(entry_error(e)))),
        }
    }
    if out.is_empty() {
        return Err(invalid("the file holds no otpauth:// URI"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{detect, parse as import, ImportFormat};
    use crate::otp::OtpType;
    use proptest::prelude::*;

    #[test]
    fn uri_list_fixture() {
        let bytes = fixture("otpauth_list.txt");
        assert_eq!(detect(&bytes), ImportFormat::OtpauthList);
        let r = import(&bytes, ImportFormat::Auto, None).unwrap();
        assert_eq!(r.format, ImportFormat::OtpauthList);
        let ok = oks(&r);
        assert_eq!(ok.len(), 3, "{:?}", r.entries);
        assert_eq!(ok[0].issuer, "GitHub");
        assert_eq!(ok[0].secret.expose(), RFC_SEED);
        assert_eq!(ok[1].params.otp_type, OtpType::Hotp);
        assert_eq!(ok[1].params.counter, 7);
        assert_eq!(ok[2].params.otp_type, OtpType::Steam);
        // The bad line is one per-entry error, not a whole-file failure.
        assert_eq!(r.entries.len(), 4);
        let err = r.entries[3].as_ref().unwrap_err().to_string();
        assert!(err.contains("Base32"), "{err}");
    }

    #[test]
    fn google_migration_fixture() {
        let bytes = fixture("google_migration.txt");
        assert_eq!(detect(&bytes), ImportFormat::GoogleMigration);
        let r = import(&bytes, ImportFormat::Auto, None).unwrap();
        let ok = oks(&r);
        assert_eq!(ok.len(), 2, "{:?}", r.entries);
        assert_eq!(ok[0].issuer, "Example");
        assert_eq!(ok[0].account, "alice@example.com");
        assert_eq!(ok[0].secret.expose(), RFC_SEED);
        assert_eq!(ok[1].params.otp_type, OtpType::Hotp);
    }

    #[test]
    fn empty_list_is_an_error() {
        assert!(import(b"# nothing\n\n", ImportFormat::OtpauthList, None).is_err());
        assert!(import(&[0xff, 0xfe], ImportFormat::OtpauthList, None).is_err());
    }

    proptest! {
        #[test]
        fn mutated_fixture_never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
            no_panic_on_mutations(&fixture("otpauth_list.txt"), ImportFormat::OtpauthList, None, &flips, cut);
            no_panic_on_mutations(&fixture("google_migration.txt"), ImportFormat::GoogleMigration, None, &flips, cut);
        }
    }
}
