//! andOTP backups: the plain JSON array and the encrypted `.json.aes`.
//!
//! Plain: `[{secret, issuer, label, digits, type, algorithm, period,
//! counter, tags}]` with `secret` in Base32 and `type` one of `TOTP`, `HOTP`,
//! `STEAM` (imported) or `MOTP` (a per-entry error).
//!
//! Encrypted (andOTP ≥ 0.6): `iterations` (4 bytes, big endian) ‖ `salt`
//! (12) ‖ `nonce` (12) ‖ AES-256-GCM ciphertext with the tag appended; the key
//! is PBKDF2-HMAC-SHA1(password, salt, iterations, 32 bytes). The plaintext
//! is the plain JSON array. AES-GCM cannot tell a wrong password from a
//! damaged file, so the error says both. The older format (SHA-256 of the
//! password as key, no header) is not supported.

use super::{
    aes_gcm_open, algorithm, base32_secret, corrupted, invalid, json, map_entries, otp_type,
    password_required, str_field, uint_field, Entry,
};
use crate::error::AuthenticatorError;
use crate::profile::NewProfile;
use serde_json::Value;
use std::num::NonZeroU32;
use zeroize::Zeroizing;

const WHAT: &str = "andOTP backup";

/// Most PBKDF2 iterations accepted from a file (andOTP uses 140 000–160 000).
pub const MAX_ITERATIONS: u32 = 5_000_000;

const HEADER: usize = 4 + 12 + 12;
const TAG: usize = 16;

/// True when `bytes` has the shape of an encrypted andOTP backup (a
/// plausible iteration count and room for salt, nonce and tag).
pub fn looks_encrypted(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER + TAG
        && iterations(bytes).is_some_and(|n| (1000..=MAX_ITERATIONS).contains(&n))
}

fn iterations(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?))
}

/// Parses an andOTP backup; `password` is needed when it is encrypted.
///
/// # Errors
///
/// `InvalidInput`: not an andOTP backup, corrupted, encrypted with no
/// password given, or wrong password.
pub fn parse(
    bytes: &[u8],
    password: Option<&str>,
) -> Result<Vec<Result<NewProfile, AuthenticatorError>>, AuthenticatorError> {
    let trimmed = bytes.trim_ascii_start();
    let is_plain = trimmed.first() == Some(&b'[') || trimmed.starts_with("\u{feff}".as_bytes());
    let v = if is_plain {
        json(bytes, WHAT)?
    } else {
        let password = password.ok_or_else(|| password_required(WHAT))?;
        let plain = decrypt(bytes, password)?;
        json(&plain, WHAT)?
    };
    let entries = v
        .as_array()
        .ok_or_else(|| corrupted(WHAT, "not a list of entries"))?;
    map_entries(entries, entry)
}

fn decrypt(bytes: &[u8], password: &str) -> Result<Zeroizing<Vec<u8>>, AuthenticatorError> {
    if bytes.len() < HEADER + TAG {
        return Err(corrupted(WHAT, "too short"));
    }
    let n = iterations(bytes)
        .filter(|n| *n <= MAX_ITERATIONS)
        .and_then(NonZeroU32::new)
        .ok_or_else(|| corrupted(WHAT, "implausible iteration count"))?;
    let salt = bytes
        .get(4..16)
        .ok_or_else(|| corrupted(WHAT, "too short"))?;
    let nonce = bytes
        .get(16..28)
        .ok_or_else(|| corrupted(WHAT, "too short"))?;
    let ct = bytes
        .get(28..)
        .ok_or_else(|| corrupted(WHAT, "too short"))?;
    let key = derive(password, salt, n);
    aes_gcm_open(&*key, nonce, ct.to_vec())
        .ok_or_else(|| invalid("wrong password for this andOTP backup (or the file is damaged)"))
}

fn derive(password: &str, salt: &[u8], iterations: NonZeroU32) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA1,
        iterations,
        salt,
        password.as_bytes(),
        &mut *key,
    );
    key
}

fn entry(e: &Value) -> Result<NewProfile, String> {
    let group = e
        .get("tags")
        .and_then(Value::as_array)
        .and_then(|t| t.iter().find_map(Value::as_str))
        .unwrap_or("")
        .to_owned();
    let fields = Entry {
        issuer: str_field(e, "issuer").to_owned(),
        account: str_field(e, "label").to_owned(),
        group,
        otp_type: Some(otp_type(str_field(e, "type"))?),
        algorithm: Some(algorithm(str_field(e, "algorithm"))?),
        digits: uint_field(e, "digits")?,
        period: uint_field(e, "period")?,
        counter: uint_field(e, "counter")?,
        ..Entry::default()
    };
    fields.build(base32_secret(str_field(e, "secret"))?)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{aes_gcm_seal, detect, parse as import, ImportFormat};
    use super::derive;
    use crate::otp::{Algorithm, OtpType};
    use proptest::prelude::*;
    use std::num::NonZeroU32;

    const PASSWORD: &str = "andotp-fixture-password";

    /// Encrypts the way andOTP does, with a fixed salt and nonce.
    fn encrypt(plain: &[u8], password: &str) -> Vec<u8> {
        let iterations = 140_000u32;
        let (salt, nonce) = ([0x11u8; 12], [0x22u8; 12]);
        let key = derive(password, &salt, NonZeroU32::new(iterations).unwrap());
        let mut out = iterations.to_be_bytes().to_vec();
        out.extend_from_slice(&salt);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&aes_gcm_seal(&*key, &nonce, plain));
        out
    }

    #[test]
    #[ignore = "regenerates testdata/andotp_encrypted.json.aes"]
    fn generate_encrypted_fixture() {
        write_fixture(
            "andotp_encrypted.json.aes",
            &encrypt(&fixture("andotp_plain.json"), PASSWORD),
        );
    }

    fn check(r: &super::super::ImportResult) {
        let ok = oks(r);
        assert_eq!(r.entries.len(), 4, "{:?}", r.entries);
        assert_eq!(ok.len(), 3, "{:?}", r.entries);
        assert_eq!(ok[0].issuer, "GitHub");
        assert_eq!(ok[0].account, "alice@example.com");
        assert_eq!(ok[0].secret.expose(), RFC_SEED);
        assert_eq!(ok[0].group, "work");
        assert_eq!(ok[1].params.otp_type, OtpType::Hotp);
        assert_eq!(ok[1].params.counter, 9);
        assert_eq!(ok[1].params.algorithm, Algorithm::Sha256);
        assert_eq!(ok[2].params.otp_type, OtpType::Steam);
        let err = r.entries[3].as_ref().unwrap_err().to_string();
        assert!(err.contains("motp"), "{err}");
    }

    #[test]
    fn plain_fixture() {
        let bytes = fixture("andotp_plain.json");
        assert_eq!(detect(&bytes), ImportFormat::AndOtp);
        check(&import(&bytes, ImportFormat::Auto, None).unwrap());
    }

    #[test]
    fn encrypted_fixture() {
        let bytes = fixture("andotp_encrypted.json.aes");
        assert_eq!(detect(&bytes), ImportFormat::AndOtpEncrypted);
        let r = import(&bytes, ImportFormat::Auto, Some(PASSWORD)).unwrap();
        assert_eq!(r.format, ImportFormat::AndOtpEncrypted);
        check(&r);
        let e = import(&bytes, ImportFormat::Auto, Some("nope")).unwrap_err();
        assert!(
            e.to_string()
                .contains("wrong password for this andOTP backup"),
            "{e}"
        );
        let e = import(&bytes, ImportFormat::Auto, None).unwrap_err();
        assert!(e.to_string().contains("password is required"), "{e}");
        let e = import(&bytes[..20], ImportFormat::AndOtpEncrypted, Some(PASSWORD)).unwrap_err();
        assert!(e.to_string().contains("corrupted"), "{e}");
        let mut huge = bytes.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        let e = import(&huge, ImportFormat::AndOtpEncrypted, Some(PASSWORD)).unwrap_err();
        assert!(e.to_string().contains("iteration"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn mutated_fixtures_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
            no_panic_on_mutations(&fixture("andotp_plain.json"), ImportFormat::AndOtp, None, &flips, cut);
            no_panic_on_mutations(&fixture("andotp_encrypted.json.aes"), ImportFormat::AndOtpEncrypted, Some(PASSWORD), &flips, cut);
        }
    }
}
