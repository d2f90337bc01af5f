//! 2FAS Authenticator backups (`.2fas`), plain and encrypted.
//!
//! The file is a JSON object with `services` (one per account: `name`,
//! `secret` in Base32, and `otp: {account, issuer, digits, period,
//! algorithm, tokenType, counter}`), `groups` (`{id, name}`, referenced by a
//! service's `groupId`) and `schemaVersion`. An encrypted backup has an empty
//! `services` and `servicesEncrypted` = `"<ciphertext>:<salt>:<iv>"`, each
//! part Base64; the key is PBKDF2-HMAC-SHA256(password, salt, 10 000, 32
//! bytes) and the cipher AES-256-GCM (tag appended to the ciphertext). The
//! plaintext is the JSON array that `services` would have held. An optional
//! `reference` field, encrypted the same way, tells a wrong password from a
//! damaged file.

use super::{
    aes_gcm_open, algorithm, base32_secret, base64_decode, corrupted, json, map_entries, otp_type,
    password_required, str_field, uint_field, wrong_password, Entry,
};
use crate::error::AuthenticatorError;
use crate::profile::NewProfile;
use serde_json::Value;
use std::collections::HashMap;
use std::num::NonZeroU32;
use zeroize::Zeroizing;

const WHAT: &str = "2FAS backup";

/// PBKDF2 iterations 2FAS uses.
pub const PBKDF2_ITERATIONS: u32 = 10_000;

/// Parses a 2FAS backup; `password` is needed when it is encrypted.
///
/// # Errors
///
/// `InvalidInput`: not a 2FAS backup, corrupted, encrypted with no password
/// given, or wrong password.
pub fn parse(
    bytes: &[u8],
    password: Option<&str>,
) -> Result<Vec<Result<NewProfile, AuthenticatorError>>, AuthenticatorError> {
    let v = json(bytes, WHAT)?;
    if !v.is_object() {
        return Err(corrupted(WHAT, "not a JSON object"));
    }
    let groups: HashMap<&str, &str> = v
        .get("groups")
        .and_then(Value::as_array)
        .map(|g| {
            g.iter()
                .map(|g| (str_field(g, "id"), str_field(g, "name")))
                .collect()
        })
        .unwrap_or_default();
    let encrypted = str_field(&v, "servicesEncrypted");
    if encrypted.is_empty() {
        let services = v
            .get("services")
            .and_then(Value::as_array)
            .ok_or_else(|| corrupted(WHAT, "no services"))?;
        return map_entries(services, |s| service(s, &groups));
    }
    let password = password.ok_or_else(|| password_required(WHAT))?;
    let (ct, salt, iv) =
        split(encrypted).ok_or_else(|| corrupted(WHAT, "bad servicesEncrypted"))?;
    let key = derive(password, &salt);
    let reference = str_field(&v, "reference");
    if !reference.is_empty() {
        let (rct, _, riv) = split(reference).ok_or_else(|| corrupted(WHAT, "bad reference"))?;
        if aes_gcm_open(&*key, &riv, rct).is_none() {
            return Err(wrong_password(WHAT));
        }
    }
    let plain = aes_gcm_open(&*key, &iv, ct).ok_or_else(|| {
        if reference.is_empty() {
            wrong_password(WHAT)
        } else {
            corrupted(WHAT, "the services do not decrypt")
        }
    })?;
    let services = json(&plain, WHAT)?;
    let services = services
        .as_array()
        .ok_or_else(|| corrupted(WHAT, "decrypted services are not a list"))?;
    map_entries(services, |s| service(s, &groups))
}

/// `"ct:salt:iv"` to its three decoded parts.
fn split(s: &str) -> Option<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let mut parts = s.split(':');
    let ct = base64_decode(parts.next()?)?;
    let salt = base64_decode(parts.next()?)?;
    let iv = base64_decode(parts.next()?)?;
    if parts.next().is_some() || iv.len() != 12 {
        return None;
    }
    Some((ct, salt, iv))
}

fn derive(password: &str, salt: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    let iterations = NonZeroU32::new(PBKDF2_ITERATIONS).unwrap_or(NonZeroU32::MIN);
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        password.as_bytes(),
        &mut *key,
    );
    key
}

fn service(s: &Value, groups: &HashMap<&str, &str>) -> Result<NewProfile, String> {
    let otp = s.get("otp").cloned().unwrap_or(Value::Null);
    let issuer = match str_field(&otp, "issuer") {
        "" => str_field(s, "name"),
        i => i,
    };
    let account = match str_field(&otp, "account") {
        "" => str_field(&otp, "label"),
        a => a,
    };
    let group = groups
        .get(str_field(s, "groupId"))
        .copied()
        .unwrap_or("")
        .to_owned();
    let fields = Entry {
        issuer: issuer.to_owned(),
        account: account.to_owned(),
        group,
        otp_type: Some(otp_type(str_field(&otp, "tokenType"))?),
        algorithm: Some(algorithm(str_field(&otp, "algorithm"))?),
        digits: uint_field(&otp, "digits")?,
        period: uint_field(&otp, "period")?,
        counter: uint_field(&otp, "counter")?,
        ..Entry::default()
    };
    fields.build(base32_secret(str_field(s, "secret"))?)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{aes_gcm_seal, detect, parse as import, ImportFormat};
    use super::derive;
    use crate::otp::{Algorithm, OtpType};
    use base64::Engine;
    use proptest::prelude::*;

    const PASSWORD: &str = "2fas-fixture-password";

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    /// Encrypts a plain backup the way 2FAS does, with a fixed salt and IVs.
    fn encrypt(plain: &[u8], password: &str) -> Vec<u8> {
        let mut v: serde_json::Value = serde_json::from_slice(plain).unwrap();
        let services = serde_json::to_vec(&v["services"]).unwrap();
        let salt = [0x33u8; 256];
        let key = derive(password, &salt);
        let (iv, riv) = ([7u8; 12], [8u8; 12]);
        let ct = aes_gcm_seal(&*key, &iv, &services);
        let rct = aes_gcm_seal(&*key, &riv, b"tRViSsLKzd8P4tUfbL0T4QNhWUvP4Csz8Vts6F8ufvBb");
        v["services"] = serde_json::json!([]);
        v["servicesEncrypted"] = format!("{}:{}:{}", b64(&ct), b64(&salt), b64(&iv)).into();
        v["reference"] = format!("{}:{}:{}", b64(&rct), b64(&salt), b64(&riv)).into();
        serde_json::to_vec_pretty(&v).unwrap()
    }

    #[test]
    #[ignore = "regenerates testdata/2fas_encrypted.2fas"]
    fn generate_encrypted_fixture() {
        write_fixture(
            "2fas_encrypted.2fas",
            &encrypt(&fixture("2fas_plain.2fas"), PASSWORD),
        );
    }

    fn check(r: &super::super::ImportResult) {
        let ok = oks(r);
        assert_eq!(r.entries.len(), 4, "{:?}", r.entries);
        assert_eq!(ok.len(), 3, "{:?}", r.entries);
        assert_eq!(ok[0].issuer, "GitHub");
        assert_eq!(ok[0].account, "alice@example.com");
        assert_eq!(ok[0].secret.expose(), RFC_SEED);
        assert_eq!(ok[0].group, "Work");
        assert_eq!(ok[1].params.otp_type, OtpType::Hotp);
        assert_eq!(ok[1].params.counter, 3);
        assert_eq!(ok[1].params.algorithm, Algorithm::Sha512);
        assert_eq!(ok[2].params.otp_type, OtpType::Steam);
        let err = r.entries[3].as_ref().unwrap_err().to_string();
        assert!(err.contains("MD5"), "{err}");
    }

    #[test]
    fn plain_fixture() {
        let bytes = fixture("2fas_plain.2fas");
        assert_eq!(detect(&bytes), ImportFormat::TwoFas);
        check(&import(&bytes, ImportFormat::Auto, None).unwrap());
    }

    #[test]
    fn encrypted_fixture() {
        let bytes = fixture("2fas_encrypted.2fas");
        assert_eq!(detect(&bytes), ImportFormat::TwoFasEncrypted);
        let r = import(&bytes, ImportFormat::Auto, Some(PASSWORD)).unwrap();
        assert_eq!(r.format, ImportFormat::TwoFasEncrypted);
        check(&r);
        let e = import(&bytes, ImportFormat::Auto, Some("nope")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid input: wrong password for this 2FAS backup"
        );
        let e = import(&bytes, ImportFormat::Auto, None).unwrap_err();
        assert!(e.to_string().contains("password is required"), "{e}");
        let e = import(
            &bytes[..bytes.len() - 40],
            ImportFormat::Auto,
            Some(PASSWORD),
        )
        .unwrap_err();
        assert!(e.to_string().contains("corrupted"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn mutated_fixtures_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
            no_panic_on_mutations(&fixture("2fas_plain.2fas"), ImportFormat::TwoFas, None, &flips, cut);
            no_panic_on_mutations(&fixture("2fas_encrypted.2fas"), ImportFormat::TwoFasEncrypted, Some(PASSWORD), &flips, cut);
        }
    }
}
