//! `otpauth://` Key URIs and Google Authenticator `otpauth-migration://`
//! exports: how accounts get into and out of Countersign by QR code.
//!
//! Everything a user scans passes through here, so this module is where
//! untrusted text meets the vault. It is written to three rules:
//!
//! - **Parse leniently, write strictly.** Real QR codes deviate from the
//!   Key URI format in many small, unambiguous ways; we accept those and
//!   emit one canonical form ([`write_otpauth`]) that round-trips exactly.
//! - **Fail precisely, never panic.** Every rejection is a [`UriError`]
//!   variant; inputs are length-capped before any work ([`MAX_URI_LEN`],
//!   [`MAX_MIGRATION_URI_LEN`]) and the code never indexes or unwraps.
//! - **Never leak the seed.** Errors carry no secret text; decoded seeds are
//!   [`SecretBytes`](crate::SecretBytes); written URIs are
//!   [`zeroize::Zeroizing`].
//!
//! The accepted forms, precedence rules and canonical output are specified
//! in `docs/otpauth.md`. Fuzz targets live in `core/fuzz`.

mod codec;
mod error;
pub mod migration;
pub mod otpauth;

pub use error::UriError;
pub use migration::{parse_migration, write_migration, MigrationBatch, ACCOUNTS_PER_URI};
pub use otpauth::{parse_otpauth, write_otpauth};

use crate::profile::NewProfile;

/// Longest `otpauth://` URI accepted, in bytes (far above any real QR code,
/// which holds at most ~3 KB).
pub const MAX_URI_LEN: usize = 4096;

/// Longest `otpauth-migration://` URI accepted, in bytes (ten accounts with
/// maximal names and seeds stay well below it).
pub const MAX_MIGRATION_URI_LEN: usize = 65536;

/// What a scanned or pasted URI turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParsedUri {
    /// One `otpauth://` account.
    Single(NewProfile),
    /// One QR code of a Google Authenticator export.
    Migration(MigrationBatch),
}

/// Parses either kind of URI, dispatching on the (case-insensitive) scheme.
///
/// Inputs longer than [`MAX_MIGRATION_URI_LEN`] are rejected before
/// anything else; surrounding whitespace is trimmed; then `otpauth:` goes to
/// [`parse_otpauth`] (which applies [`MAX_URI_LEN`]) and
/// `otpauth-migration:` to [`parse_migration`]. Anything else is
/// [`UriError::Scheme`].
///
/// # Errors
///
/// [`UriError::TooLong`], [`UriError::Scheme`], or whatever the dispatched
/// parser returns.
pub fn parse_any(uri: &str) -> Result<ParsedUri, UriError> {
    if uri.len() > MAX_MIGRATION_URI_LEN {
        return Err(UriError::TooLong {
            len: uri.len(),
            max: MAX_MIGRATION_URI_LEN,
        });
    }
    let uri = uri.trim();
    let scheme = uri
        .split_once(':')
        .map(|(s, _)| s)
        .ok_or(UriError::Scheme)?;
    if scheme.eq_ignore_ascii_case("otpauth") {
        parse_otpauth(uri).map(ParsedUri::Single)
    } else if scheme.eq_ignore_ascii_case("otpauth-migration") {
        parse_migration(uri).map(ParsedUri::Migration)
    } else {
        Err(UriError::Scheme)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOTP: &str = "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example";

    #[test]
    fn dispatches_on_scheme() {
        match parse_any(TOTP) {
            Ok(ParsedUri::Single(p)) => assert_eq!(p.account, "alice"),
            other => panic!("{other:?}"),
        }
        match parse_any(&format!("\t {}\r\n", TOTP.to_uppercase())) {
            Ok(ParsedUri::Single(p)) => assert_eq!(p.account, "ALICE"),
            other => panic!("{other:?}"),
        }
        // A migration URI with no accounts ("EAE=" is the bytes 10 01:
        // version 1 and nothing else).
        match parse_any("  OTPAUTH-MIGRATION://offline?data=EAE%3D ") {
            Ok(ParsedUri::Migration(b)) => {
                assert_eq!(b.version, 1);
                assert!(b.entries.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_other_schemes() {
        for uri in [
            "",
            "   ",
            "JBSWY3DPEHPK3PXP",
            "http://example.com/?secret=JBSWY3DPEHPK3PXP",
            "otpauthx://totp/x?secret=JBSWY3DPEHPK3PXP",
            "otp auth://totp/x?secret=JBSWY3DPEHPK3PXP",
            "mailto:alice@example.com",
        ] {
            assert_eq!(parse_any(uri), Err(UriError::Scheme), "{uri:?}");
        }
    }

    #[test]
    fn length_caps() {
        let huge = " ".repeat(MAX_MIGRATION_URI_LEN + 1);
        assert_eq!(
            parse_any(&huge),
            Err(UriError::TooLong {
                len: MAX_MIGRATION_URI_LEN + 1,
                max: MAX_MIGRATION_URI_LEN
            })
        );
        // An otpauth URI between the two caps gets the otpauth cap.
        let long = format!("{TOTP}&x={}", "a".repeat(MAX_URI_LEN));
        assert_eq!(
            parse_any(&long),
            Err(UriError::TooLong {
                len: long.len(),
                max: MAX_URI_LEN
            })
        );
    }

    #[test]
    fn write_parse_any_round_trip() {
        let p = NewProfile::new(
            "Iss",
            "acc",
            crate::SecretBytes::from_slice(b"0123456789"),
            crate::OtpParams::totp(),
        );
        let uri = write_otpauth(&p.issuer, &p.account, &p.secret, &p.params);
        assert_eq!(parse_any(&uri), Ok(ParsedUri::Single(p.clone())));
        let uris = write_migration(&[&p], 3).unwrap_or_default();
        match uris.first().map(|u| parse_any(u)) {
            Some(Ok(ParsedUri::Migration(b))) => assert_eq!(b.entries, vec![Ok(p)]),
            other => panic!("{other:?}"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            let _ = parse_any(&s);
        }

        #[test]
        fn arbitrary_uri_shaped_strings_never_panic(
            prefix in prop_oneof![
                Just("otpauth://"),
                Just("OTPAUTH://totp/"),
                Just("otpauth://hotp/"),
                Just("otpauth://steam/"),
                Just("otpauth-migration://offline?data="),
                Just("otpauth-migration://"),
            ],
            rest in "[\\PC%:/?&=+#a-zA-Z0-9]{0,300}",
        ) {
            let _ = parse_any(&format!("{prefix}{rest}"));
        }

        /// Whatever the lenient parser accepts, the strict writer
        /// reproduces: parse → write → parse is the identity.
        #[test]
        fn accepted_uris_are_stable_through_the_writer(
            scheme in prop_oneof![Just("otpauth://totp/"), Just("otpauth://hotp/"), Just("OTPAUTH://STEAM/")],
            label in "[\\PC%:+ ]{0,24}",
            params in prop::collection::vec(
                (
                    prop_oneof![
                        Just("issuer"), Just("ISSUER"), Just("algorithm"), Just("digits"),
                        Just("period"), Just("counter"), Just("encoder"), Just("image"),
                    ],
                    prop_oneof![
                        "[\\PC%:+ ]{0,12}",
                        "[0-9]{1,3}",
                        Just("steam".to_owned()),
                        Just("sha256".to_owned()),
                    ],
                ),
                0..6,
            ),
        ) {
            let mut uri = format!("{scheme}{label}?secret=JBSWY3DPEHPK3PXP");
            for (k, v) in &params {
                uri.push_str(&format!("&{k}={v}"));
            }
            if let Ok(ParsedUri::Single(p)) = parse_any(&uri) {
                let again = write_otpauth(&p.issuer, &p.account, &p.secret, &p.params);
                prop_assert_eq!(parse_otpauth(&again), Ok(p), "{} -> {}", uri, &*again);
            }
        }
    }
}

/// Decodes a secret key typed in by the user (Base32 as services show it:
/// any case, spaces and dashes between groups, optional `=` padding).
pub fn decode_secret(text: &str) -> Result<crate::secret::SecretBytes, UriError> {
    if text.len() > MAX_URI_LEN {
        return Err(UriError::TooLong {
            len: text.len(),
            max: MAX_URI_LEN,
        });
    }
    let mut bytes = codec::decode_base32_lenient(text.as_bytes())?;
    crate::otp::validate_secret_len(bytes.len())?;
    Ok(crate::secret::SecretBytes::new(std::mem::take(&mut *bytes)))
}

#[cfg(test)]
mod decode_secret_tests {
    use super::*;

    #[test]
    fn typed_secrets() {
        let want = b"12345678901234567890";
        for s in [
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
            "GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ====",
        ] {
            assert_eq!(decode_secret(s).unwrap().expose(), want, "{s}");
        }
        assert_eq!(decode_secret(""), Err(UriError::MissingSecret));
        assert_eq!(decode_secret("GEZ1"), Err(UriError::InvalidSecret));
        assert!(matches!(decode_secret("M"), Err(UriError::Params(_))));
        assert!(matches!(
            decode_secret(&"A".repeat(5000)),
            Err(UriError::TooLong { .. })
        ));
    }
}
