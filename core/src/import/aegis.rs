//! Aegis Authenticator vault exports (`aegis-export-*.json`), plain and
//! encrypted, as specified in Aegis' `docs/vault.md`.
//!
//! The file is `{"version":1,"header":{"slots":…,"params":…},"db":…}`.
//! Unencrypted, `db` is the database object and `slots`/`params` are null.
//! Encrypted, `db` is Base64 of the AES-256-GCM ciphertext of that object
//! under a random master key, with the nonce and tag in `header.params`.
//! Each password slot (`type` 1) holds the master key encrypted with
//! AES-256-GCM under `scrypt(password, salt, n, r, p)` (nonce and tag in
//! `key_params`). We try every password slot (at most [`MAX_SLOTS`]); if none
//! opens, the password is wrong.
//!
//! Database versions 1–3 are read: v1/v2 carry a `group` name per entry,
//! v3 a list of `groups` uuids resolved through `db.groups`. Types `totp`,
//! `hotp` and `steam` import; `yandex` and `motp` are per-entry errors.

use super::{
    aes_gcm_open, algorithm, base32_secret, base64_decode, corrupted, invalid, json, map_entries,
    otp_type, password_required, str_field, uint_field, wrong_password, Entry,
};
use crate::error::AuthenticatorError;
use crate::profile::NewProfile;
use serde_json::Value;
use std::collections::HashMap;
use zeroize::Zeroizing;

const WHAT: &str = "Aegis vault";

/// Most password slots tried (each costs one scrypt).
pub const MAX_SLOTS: usize = 8;

/// Largest scrypt memory (128·n·r bytes) accepted from a file: 256 MiB.
const MAX_SCRYPT_BYTES: u64 = 256 * 1024 * 1024;

/// Parses an Aegis export; `password` is needed when it is encrypted.
///
/// # Errors
///
/// `InvalidInput`: not an Aegis vault, corrupted, encrypted with no password
/// given, or wrong password.
pub fn parse(
    bytes: &[u8],
    password: Option<&str>,
) -> Result<Vec<Result<NewProfile, AuthenticatorError>>, AuthenticatorError> {
    let v = json(bytes, WHAT)?;
    let header = v
        .get("header")
        .ok_or_else(|| corrupted(WHAT, "no header"))?;
    match v.get("db") {
        Some(Value::String(ct)) => {
            let password = password.ok_or_else(|| password_required(WHAT))?;
            let master = unwrap_master_key(header, password)?;
            let params = header
                .get("params")
                .ok_or_else(|| corrupted(WHAT, "no header.params"))?;
            let (nonce, tag) =
                nonce_tag(params).ok_or_else(|| corrupted(WHAT, "bad header.params"))?;
            let mut data = base64_decode(ct).ok_or_else(|| corrupted(WHAT, "db is not Base64"))?;
            data.extend_from_slice(&tag);
            let plain = aes_gcm_open(&master, &nonce, data)
                .ok_or_else(|| corrupted(WHAT, "the database does not decrypt"))?;
            let db = json(&plain, WHAT)?;
            parse_db(&db)
        }
        Some(db @ Value::Object(_)) => parse_db(db),
        _ => Err(corrupted(WHAT, "no db")),
    }
}

fn nonce_tag(params: &Value) -> Option<(Vec<u8>, Vec<u8>)> {
    let nonce = crate::vault::unhex(params.get("nonce")?.as_str()?)?;
    let tag = crate::vault::unhex(params.get("tag")?.as_str()?)?;
    (nonce.len() == 12 && tag.len() == 16).then_some((nonce, tag))
}

fn unwrap_master_key(
    header: &Value,
    password: &str,
) -> Result<Zeroizing<Vec<u8>>, AuthenticatorError> {
    let slots = header
        .get("slots")
        .and_then(Value::as_array)
        .ok_or_else(|| corrupted(WHAT, "no key slots"))?;
    let mut tried = 0;
    for slot in slots
        .iter()
        .filter(|s| s.get("type").and_then(Value::as_u64) == Some(1))
        .take(MAX_SLOTS)
    {
        tried += 1;
        let Some(key) = slot_key(slot, password) else {
            continue;
        };
        return Ok(key);
    }
    if tried == 0 {
        return Err(invalid(
            "this Aegis vault has no password slot (only biometric or raw keys)",
        ));
    }
    Err(wrong_password(WHAT))
}

/// The master key from one password slot, or `None` when the slot does not
/// open (wrong password) or is malformed.
fn slot_key(slot: &Value, password: &str) -> Option<Zeroizing<Vec<u8>>> {
    let n = slot.get("n")?.as_u64()?;
    let r = u32::try_from(slot.get("r")?.as_u64()?).ok()?;
    let p = u32::try_from(slot.get("p")?.as_u64()?).ok()?;
    if !n.is_power_of_two()
        || n < 2
        || !(1..=32).contains(&r)
        || !(1..=16).contains(&p)
        || 128u64.checked_mul(n)?.checked_mul(u64::from(r))? > MAX_SCRYPT_BYTES
    {
        return None;
    }
    let log_n = u8::try_from(n.trailing_zeros()).ok()?;
    let salt = crate::vault::unhex(slot.get("salt")?.as_str()?)?;
    let mut wrapped = crate::vault::unhex(slot.get("key")?.as_str()?)?;
    let (nonce, tag) = nonce_tag(slot.get("key_params")?)?;
    let params = scrypt::Params::new(log_n, r, p, 32).ok()?;
    let mut kek = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(password.as_bytes(), &salt, &params, &mut *kek).ok()?;
    wrapped.extend_from_slice(&tag);
    let key = aes_gcm_open(&*kek, &nonce, wrapped)?;
    (key.len() == 32).then_some(key)
}

fn parse_db(db: &Value) -> Result<Vec<Result<NewProfile, AuthenticatorError>>, AuthenticatorError> {
    let version = db.get("version").and_then(Value::as_u64).unwrap_or(1);
    if version > 3 {
        return Err(invalid(format!(
            "Aegis database version {version} is newer than supported (3)"
        )));
    }
    let groups: HashMap<&str, &str> = db
        .get("groups")
        .and_then(Value::as_array)
        .map(|g| {
            g.iter()
                .map(|g| (str_field(g, "uuid"), str_field(g, "name")))
                .collect()
        })
        .unwrap_or_default();
    let entries = db
        .get("entries")
        .and_then(Value::as_array)
        .ok_or_else(|| corrupted(WHAT, "no entries"))?;
    map_entries(entries, |e| entry(e, &groups))
}

fn entry(e: &Value, groups: &HashMap<&str, &str>) -> Result<NewProfile, String> {
    let kind = str_field(e, "type");
    let otp_type = otp_type(kind)?;
    let info = e.get("info").ok_or("no info")?;
    let group = match e.get("groups").and_then(Value::as_array) {
        Some(ids) => ids
            .iter()
            .filter_map(Value::as_str)
            .find_map(|id| groups.get(id).copied())
            .unwrap_or("")
            .to_owned(),
        None => str_field(e, "group").to_owned(),
    };
    let fields = Entry {
        issuer: str_field(e, "issuer").to_owned(),
        account: str_field(e, "name").to_owned(),
        note: str_field(e, "note").to_owned(),
        group,
        favorite: e.get("favorite").and_then(Value::as_bool).unwrap_or(false),
        otp_type: Some(otp_type),
        algorithm: Some(algorithm(str_field(info, "algo"))?),
        digits: uint_field(info, "digits")?,
        period: uint_field(info, "period")?,
        counter: uint_field(info, "counter")?,
    };
    fields.build(base32_secret(str_field(info, "secret"))?)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{aes_gcm_seal, detect, parse as import, ImportFormat};
    use crate::otp::{Algorithm, OtpType};
    use proptest::prelude::*;

    pub const PASSWORD: &str = "correct horse battery staple";

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// Encrypts a plain Aegis export's `db` the way Aegis does (one password
    /// slot, scrypt n=32768 r=8 p=1), with fixed salt, key and nonces so the
    /// fixture is reproducible.
    fn encrypt(plain: &[u8], password: &str) -> Vec<u8> {
        use base64::Engine;
        let v: serde_json::Value = serde_json::from_slice(plain).unwrap();
        let db = serde_json::to_vec(&v["db"]).unwrap();
        let salt = [0x5au8; 32];
        let master = [0x42u8; 32];
        let (slot_nonce, db_nonce) = ([1u8; 12], [2u8; 12]);
        let params = scrypt::Params::new(15, 8, 1, 32).unwrap();
        let mut kek = [0u8; 32];
        scrypt::scrypt(password.as_bytes(), &salt, &params, &mut kek).unwrap();
        let wrapped = aes_gcm_seal(&kek, &slot_nonce, &master);
        let sealed = aes_gcm_seal(&master, &db_nonce, &db);
        let (ct, tag) = sealed.split_at(sealed.len() - 16);
        let out = serde_json::json!({
            "version": 1,
            "header": {
                "slots": [
                    {"type": 2, "uuid": "8a4d7c1e-0000-4000-8000-000000000001",
                     "key": hex(&[0u8; 32]), "key_params": {"nonce": hex(&[9u8; 12]), "tag": hex(&[9u8; 16])}},
                    {"type": 1, "uuid": "8a4d7c1e-0000-4000-8000-000000000002",
                     "key": hex(&wrapped[..32]),
                     "key_params": {"nonce": hex(&slot_nonce), "tag": hex(&wrapped[32..])},
                     "n": 32768, "r": 8, "p": 1, "salt": hex(&salt),
                     "repaired": true, "is_backup": false}
                ],
                "params": {"nonce": hex(&db_nonce), "tag": hex(tag)}
            },
            "db": base64::engine::general_purpose::STANDARD.encode(ct)
        });
        serde_json::to_vec_pretty(&out).unwrap()
    }

    #[test]
    #[ignore = "regenerates testdata/aegis_encrypted.json"]
    fn generate_encrypted_fixture() {
        write_fixture(
            "aegis_encrypted.json",
            &encrypt(&fixture("aegis_plain_v3.json"), PASSWORD),
        );
    }

    fn check_v3(r: &super::super::ImportResult) {
        let ok = oks(r);
        assert_eq!(r.entries.len(), 5, "{:?}", r.entries);
        assert_eq!(ok.len(), 3, "{:?}", r.entries);
        assert_eq!(ok[0].issuer, "GitHub");
        assert_eq!(ok[0].account, "alice@example.com");
        assert_eq!(ok[0].secret.expose(), RFC_SEED);
        assert_eq!(ok[0].group, "Work");
        assert_eq!(ok[0].note, "recovery codes in the safe");
        assert!(ok[0].favorite);
        assert_eq!(ok[1].params.otp_type, OtpType::Hotp);
        assert_eq!(ok[1].params.counter, 12);
        assert_eq!(ok[1].params.algorithm, Algorithm::Sha256);
        assert_eq!(ok[1].params.digits, 8);
        assert_eq!(ok[2].params.otp_type, OtpType::Steam);
        let yandex = r.entries[3].as_ref().unwrap_err().to_string();
        assert!(yandex.contains("yandex"), "{yandex}");
        let md5 = r.entries[4].as_ref().unwrap_err().to_string();
        assert!(md5.contains("MD5"), "{md5}");
    }

    #[test]
    fn plain_v3_fixture() {
        let bytes = fixture("aegis_plain_v3.json");
        assert_eq!(detect(&bytes), ImportFormat::AegisPlain);
        let r = import(&bytes, ImportFormat::Auto, None).unwrap();
        assert_eq!(r.format, ImportFormat::AegisPlain);
        check_v3(&r);
    }

    #[test]
    fn plain_v1_fixture() {
        let bytes = fixture("aegis_plain_v1.json");
        let r = import(&bytes, ImportFormat::Auto, None).unwrap();
        let ok = oks(&r);
        assert_eq!(ok.len(), 2, "{:?}", r.entries);
        assert_eq!(ok[0].group, "Personal");
        assert_eq!(ok[1].params.period, 60);
    }

    #[test]
    fn encrypted_fixture() {
        let bytes = fixture("aegis_encrypted.json");
        assert_eq!(detect(&bytes), ImportFormat::AegisEncrypted);
        assert!(ImportFormat::AegisEncrypted.is_encrypted());
        let r = import(&bytes, ImportFormat::Auto, Some(PASSWORD)).unwrap();
        assert_eq!(r.format, ImportFormat::AegisEncrypted);
        check_v3(&r);
    }

    #[test]
    fn encrypted_errors_are_clear() {
        let bytes = fixture("aegis_encrypted.json");
        let e = import(&bytes, ImportFormat::Auto, Some("wrong")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid input: wrong password for this Aegis vault"
        );
        let e = import(&bytes, ImportFormat::Auto, None).unwrap_err();
        assert!(e.to_string().contains("password is required"), "{e}");
        // A flipped bit in the database ciphertext: corrupted, not "wrong password".
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let db = v["db"].as_str().unwrap().to_owned();
        let flipped = format!(
            "{}{}",
            if db.starts_with('A') { "B" } else { "A" },
            &db[1..]
        );
        v["db"] = serde_json::Value::String(flipped);
        let e = import(
            &serde_json::to_vec(&v).unwrap(),
            ImportFormat::Auto,
            Some(PASSWORD),
        )
        .unwrap_err();
        assert!(e.to_string().contains("corrupted"), "{e}");
        // Truncated file.
        let e = import(
            &bytes[..bytes.len() / 2],
            ImportFormat::AegisEncrypted,
            Some(PASSWORD),
        )
        .unwrap_err();
        assert!(e.to_string().contains("corrupted"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn mutated_fixtures_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
            no_panic_on_mutations(&fixture("aegis_plain_v3.json"), ImportFormat::AegisPlain, None, &flips, cut);
            no_panic_on_mutations(&fixture("aegis_encrypted.json"), ImportFormat::AegisEncrypted, Some(PASSWORD), &flips, cut);
        }
    }
}
