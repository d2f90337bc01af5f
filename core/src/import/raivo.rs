//! Raivo OTP exports (iOS, "Export → ZIP archive").
//!
//! The export is a ZIP archive protected by the password the user chose,
//! with WinZip AES-256 encryption ("AE-2": PBKDF2-HMAC-SHA1 1 000 iterations
//! over a per-file salt, AES-256-CTR, HMAC-SHA1-80 authentication; deflate or
//! stored). It holds [`JSON_NAME`], a JSON array of objects:
//!
//! ```json
//! {"issuer": "GitHub", "account": "alice", "secret": "BASE32", "algorithm": "SHA1",
//!  "digits": "6", "kind": "TOTP", "timer": "30", "counter": "0",
//!  "pinned": "false", "iconType": "", "iconValue": ""}
//! ```
//!
//! Numbers and booleans are strings in real exports; plain JSON numbers and
//! booleans are accepted too. `kind` is `TOTP` or `HOTP`, `timer` the period,
//! `pinned` becomes the favourite flag; the icon is not imported. Other
//! files in the archive (Raivo adds none we need) are ignored.
//!
//! AE-2 checks a 2-byte password verifier before decrypting and the HMAC
//! after: a wrong password is almost always caught by the first, and the
//! rare one that slips through (or a damaged file) fails the second.

use super::{
    algorithm, base32_secret, corrupted, invalid, json, map_entries, otp_type, password_required,
    str_field, uint_field, wrong_password, Entry, MAX_IMPORT_BYTES,
};
use crate::error::AuthenticatorError;
use crate::profile::NewProfile;
use serde_json::Value;
use std::io::{Cursor, Read};
use zeroize::Zeroizing;
use zip::result::ZipError;

const WHAT: &str = "Raivo export";

/// The file inside the archive that holds the accounts.
pub const JSON_NAME: &str = "raivo-otp-export.json";

/// True for bytes that start like a ZIP archive (a local file header).
pub(crate) fn looks_like_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Parses a Raivo OTP export; `password` is needed when (as always with
/// Raivo) the JSON inside is encrypted.
///
/// # Errors
///
/// `InvalidInput`: not a ZIP archive, no [`JSON_NAME`] inside, corrupted,
/// encrypted with no password given, or wrong password.
pub fn parse(
    bytes: &[u8],
    password: Option<&str>,
) -> Result<Vec<Result<NewProfile, AuthenticatorError>>, AuthenticatorError> {
    let json_bytes = read_json(bytes, password)?;
    let v = json(&json_bytes, WHAT)?;
    let items = v
        .as_array()
        .ok_or_else(|| corrupted(WHAT, "the accounts are not a JSON list"))?;
    map_entries(items, entry)
}

/// The decrypted, decompressed bytes of [`JSON_NAME`].
fn read_json(
    bytes: &[u8],
    password: Option<&str>,
) -> Result<Zeroizing<Vec<u8>>, AuthenticatorError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| corrupted(WHAT, "not a readable ZIP archive"))?;
    let index = find_json(&archive).ok_or_else(|| {
        invalid(format!(
            "this ZIP archive holds no {JSON_NAME}: not a Raivo OTP export"
        ))
    })?;
    let file = match password {
        Some(p) => archive.by_index_decrypt(index, p.as_bytes()),
        None => archive.by_index(index),
    };
    let mut file = file.map_err(|e| match e {
        ZipError::InvalidPassword => wrong_password(WHAT),
        ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED) => password_required(WHAT),
        ZipError::UnsupportedArchive(_) | ZipError::CompressionMethodNotSupported(_) => invalid(
            "this Raivo export uses a ZIP feature Countersign does not read \
             (only AES or no encryption, deflate or no compression)",
        ),
        _ => corrupted(WHAT, &format!("cannot open {JSON_NAME}")),
    })?;
    let too_large = || {
        invalid(format!(
            "{JSON_NAME} is larger than the import limit ({MAX_IMPORT_BYTES} bytes)"
        ))
    };
    if file.size() > MAX_IMPORT_BYTES as u64 {
        return Err(too_large());
    }
    let encrypted = file.encrypted();
    let mut out = Zeroizing::new(Vec::new());
    // The declared size may lie: never read past the limit.
    (&mut file)
        .take(MAX_IMPORT_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| {
            if encrypted {
                invalid("wrong password for this Raivo export (or the file is damaged)")
            } else {
                corrupted(WHAT, &format!("{JSON_NAME} does not decompress"))
            }
        })?;
    if out.len() > MAX_IMPORT_BYTES {
        return Err(too_large());
    }
    Ok(out)
}

/// Index of [`JSON_NAME`]: at the top level, else in any folder (an archive
/// re-zipped by hand); names compare without regard to case.
fn find_json<R: Read + std::io::Seek>(archive: &zip::ZipArchive<R>) -> Option<usize> {
    archive.index_for_name(JSON_NAME).or_else(|| {
        (0..archive.len()).find(|&i| {
            archive
                .name_for_index(i)
                .and_then(Result::ok)
                .and_then(|n| n.rsplit(['/', '\\']).next().map(str::to_ascii_lowercase))
                .is_some_and(|n| n == JSON_NAME)
        })
    })
}

/// `true`/`false` given as a JSON boolean or a string (any case).
fn bool_field(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true") || s.trim() == "1",
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        _ => false,
    }
}

fn entry(e: &Value) -> Result<NewProfile, String> {
    if !e.is_object() {
        return Err("not an account object".to_owned());
    }
    let fields = Entry {
        issuer: str_field(e, "issuer").to_owned(),
        account: str_field(e, "account").to_owned(),
        favorite: bool_field(e, "pinned"),
        otp_type: Some(otp_type(str_field(e, "kind"))?),
        algorithm: Some(algorithm(str_field(e, "algorithm"))?),
        digits: uint_field(e, "digits")?,
        period: uint_field(e, "timer")?,
        counter: uint_field(e, "counter")?,
        ..Entry::default()
    };
    fields.build(base32_secret(str_field(e, "secret"))?)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{detect, parse as import, ImportFormat};
    use super::*;
    use crate::otp::{Algorithm, OtpType};
    use proptest::prelude::*;
    use std::io::Write;

    /// Password of `testdata/raivo.zip`.
    const PASSWORD: &str = "raivo-fixture-password";

    /// The accounts inside the fixture, as Raivo writes them (numbers and
    /// booleans as strings), plus one with plain JSON numbers and one MD5
    /// account that must be skipped.
    const ACCOUNTS: &str = r#"[
  {"issuer": "GitHub", "account": "alice@example.com", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
   "algorithm": "SHA1", "digits": "6", "kind": "TOTP", "timer": "30", "counter": "0",
   "pinned": "true", "iconType": "raivo_repository", "iconValue": "github/github.png"},
  {"issuer": "Example", "account": "bob", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
   "algorithm": "SHA256", "digits": "8", "kind": "HOTP", "timer": "30", "counter": "7",
   "pinned": "false", "iconType": "", "iconValue": ""},
  {"issuer": "Slow Bank", "account": "carol", "secret": "JBSWY3DPEHPK3PXP",
   "algorithm": "SHA512", "digits": 7, "kind": "TOTP", "timer": 60, "counter": 0,
   "pinned": false, "iconType": "", "iconValue": ""},
  {"issuer": "Legacy", "account": "dave", "secret": "JBSWY3DPEHPK3PXP",
   "algorithm": "MD5", "digits": "6", "kind": "TOTP", "timer": "30", "counter": "0",
   "pinned": "false", "iconType": "", "iconValue": ""}
]"#;

    /// A ZIP holding `files`, each AES-256 encrypted with `password` (or not
    /// at all) and deflated, as Raivo writes it. The AES salts are random.
    fn zip_of(files: &[(&str, &[u8])], password: Option<&str>) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in files {
            let mut o = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            if let Some(p) = password {
                o = o.with_aes_encryption(zip::AesMode::Aes256, p);
            }
            w.start_file(*name, o).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    #[ignore = "regenerates testdata/raivo.zip"]
    fn generate_fixture() {
        write_fixture(
            "raivo.zip",
            &zip_of(&[(JSON_NAME, ACCOUNTS.as_bytes())], Some(PASSWORD)),
        );
    }

    fn check(r: &super::super::ImportResult) {
        assert_eq!(r.entries.len(), 4, "{:?}", r.entries);
        let ok = oks(r);
        assert_eq!(ok.len(), 3, "{:?}", r.entries);
        assert_eq!(ok[0].issuer, "GitHub");
        assert_eq!(ok[0].account, "alice@example.com");
        assert_eq!(ok[0].secret.expose(), RFC_SEED);
        assert_eq!(ok[0].params.otp_type, OtpType::Totp);
        assert_eq!(ok[0].params.algorithm, Algorithm::Sha1);
        assert_eq!(ok[0].params.digits, 6);
        assert_eq!(ok[0].params.period, 30);
        assert!(ok[0].favorite);
        assert_eq!(ok[1].issuer, "Example");
        assert_eq!(ok[1].account, "bob");
        assert_eq!(ok[1].secret.expose(), RFC_SEED);
        assert_eq!(ok[1].params.otp_type, OtpType::Hotp);
        assert_eq!(ok[1].params.algorithm, Algorithm::Sha256);
        assert_eq!(ok[1].params.digits, 8);
        assert_eq!(ok[1].params.counter, 7);
        assert!(!ok[1].favorite);
        assert_eq!(ok[2].issuer, "Slow Bank");
        assert_eq!(ok[2].account, "carol");
        assert_eq!(ok[2].secret.expose(), b"Hello!\xde\xad\xbe\xef");
        assert_eq!(ok[2].params.algorithm, Algorithm::Sha512);
        assert_eq!(ok[2].params.digits, 7);
        assert_eq!(ok[2].params.period, 60);
        assert!(!ok[2].favorite);
        let md5 = r.entries[3].as_ref().unwrap_err().to_string();
        assert!(md5.contains("MD5"), "{md5}");
    }

    #[test]
    fn encrypted_fixture() {
        let bytes = fixture("raivo.zip");
        assert_eq!(detect(&bytes), ImportFormat::Raivo);
        assert!(ImportFormat::Raivo.is_encrypted());
        let r = import(&bytes, ImportFormat::Auto, Some(PASSWORD)).unwrap();
        assert_eq!(r.format, ImportFormat::Raivo);
        check(&r);
        check(&import(&bytes, ImportFormat::Raivo, Some(PASSWORD)).unwrap());
    }

    #[test]
    fn wrong_or_missing_password() {
        let bytes = fixture("raivo.zip");
        let e = import(&bytes, ImportFormat::Auto, Some("not it")).unwrap_err();
        assert!(
            e.to_string()
                .contains("wrong password for this Raivo export"),
            "{e}"
        );
        let e = import(&bytes, ImportFormat::Auto, None).unwrap_err();
        assert!(e.to_string().contains("password is required"), "{e}");
    }

    #[test]
    fn unencrypted_archive_and_nested_name() {
        let bytes = zip_of(&[(JSON_NAME, ACCOUNTS.as_bytes())], None);
        check(&import(&bytes, ImportFormat::Auto, None).unwrap());
        check(&import(&bytes, ImportFormat::Auto, Some("ignored")).unwrap());
        let bytes = zip_of(
            &[
                ("readme.txt", b"hi".as_slice()),
                ("export/Raivo-OTP-Export.json", ACCOUNTS.as_bytes()),
            ],
            Some(PASSWORD),
        );
        check(&import(&bytes, ImportFormat::Raivo, Some(PASSWORD)).unwrap());
    }

    #[test]
    fn zip_without_the_json_or_with_bad_json() {
        let bytes = zip_of(&[("notes.txt", b"nothing here".as_slice())], Some(PASSWORD));
        assert_eq!(detect(&bytes), ImportFormat::Raivo);
        let e = import(&bytes, ImportFormat::Auto, Some(PASSWORD)).unwrap_err();
        assert!(
            e.to_string().contains("holds no raivo-otp-export.json"),
            "{e}"
        );
        let bytes = zip_of(&[(JSON_NAME, b"{\"not\": \"a list\"}".as_slice())], None);
        let e = import(&bytes, ImportFormat::Auto, None).unwrap_err();
        assert!(e.to_string().contains("not a JSON list"), "{e}");
        let bytes = zip_of(&[(JSON_NAME, b"[{\"secret\": ".as_slice())], Some(PASSWORD));
        let e = import(&bytes, ImportFormat::Auto, Some(PASSWORD)).unwrap_err();
        assert!(e.to_string().contains("corrupted"), "{e}");
    }

    #[test]
    fn corrupted_files_fail_cleanly() {
        let bytes = fixture("raivo.zip");
        // Truncated: the central directory at the end is gone.
        for cut in [bytes.len() / 2, bytes.len() - 1, 10] {
            let e = import(&bytes[..cut], ImportFormat::Raivo, Some(PASSWORD)).unwrap_err();
            assert!(e.to_string().contains("corrupted"), "cut {cut}: {e}");
        }
        // A flipped byte in the encrypted data fails the HMAC. The data
        // starts after the 30-byte local header, the name, the extra field
        // and the 18 bytes of salt and password verifier.
        let name_len = usize::from(u16::from_le_bytes([bytes[26], bytes[27]]));
        let extra_len = usize::from(u16::from_le_bytes([bytes[28], bytes[29]]));
        let data = 30 + name_len + extra_len + 16 + 2;
        let mut flipped = bytes.clone();
        flipped[data + 3] ^= 0x01;
        let e = import(&flipped, ImportFormat::Raivo, Some(PASSWORD)).unwrap_err();
        assert!(e.to_string().contains("damaged"), "{e}");
        // Not a ZIP at all, forced as Raivo.
        let e = import(b"hello", ImportFormat::Raivo, Some(PASSWORD)).unwrap_err();
        assert!(e.to_string().contains("corrupted"), "{e}");
    }

    #[test]
    fn strings_and_json_values_both_read() {
        let e: Value = serde_json::json!({"pinned": "TRUE"});
        assert!(bool_field(&e, "pinned"));
        assert!(bool_field(&serde_json::json!({"pinned": true}), "pinned"));
        assert!(!bool_field(
            &serde_json::json!({"pinned": "false"}),
            "pinned"
        ));
        assert!(!bool_field(&serde_json::json!({}), "pinned"));
        let err =
            entry(&serde_json::json!({"secret": "JBSWY3DPEHPK3PXP", "kind": "MOTP"})).unwrap_err();
        assert!(err.contains("unsupported OTP type"), "{err}");
        assert!(entry(&serde_json::json!("x")).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn mutated_fixture_never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
            no_panic_on_mutations(&fixture("raivo.zip"), ImportFormat::Raivo, Some(PASSWORD), &flips, cut);
        }
    }
}
