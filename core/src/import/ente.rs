//! Ente Auth exports, plain and encrypted.
//!
//! The plain text export ("Export → Plain text") is one `otpauth://` URI per
//! line (with Ente's extra `codeDisplay` parameter), read by
//! [`super::otpauth_list`].
//!
//! The encrypted export is a JSON object:
//!
//! ```json
//! {"version": 1,
//!  "kdfParams": {"memLimit": 1073741824, "opsLimit": 4, "salt": "<Base64, 16 bytes>"},
//!  "encryptedData": "<Base64>",
//!  "encryptionNonce": "<Base64, 24 bytes>"}
//! ```
//!
//! The key is libsodium's `crypto_pwhash` with `ALG_ARGON2ID13`: Argon2id
//! v1.3, `t_cost = opsLimit`, `m_cost = memLimit / 1024` KiB, one lane, a
//! 32-byte output. The data is one message of libsodium's
//! `crypto_secretstream_xchacha20poly1305` (tag `FINAL`): `encryptionNonce`
//! is the stream *header*, `encryptedData` the message with its 17 bytes of
//! overhead. The plaintext is the plain text export above.
//!
//! The Argon2 cost read from the file is bounded before anything is
//! allocated: at most [`MAX_MEM_LIMIT`] bytes, [`MAX_OPS_LIMIT`] passes, and
//! at most [`MAX_WORK`] (memory × passes, libsodium's "sensitive" cost, the
//! most Ente Auth uses).

use super::{base64_decode, corrupted, invalid, json, password_required};
use crate::error::AuthenticatorError;
use crate::profile::NewProfile;
use dryoc::classic::crypto_secretstream_xchacha20poly1305::{
    crypto_secretstream_xchacha20poly1305_init_pull, crypto_secretstream_xchacha20poly1305_pull,
    Header, Key, State,
};
use dryoc::constants::{
    CRYPTO_SECRETSTREAM_XCHACHA20POLY1305_ABYTES, CRYPTO_SECRETSTREAM_XCHACHA20POLY1305_TAG_FINAL,
};
use serde_json::Value;
use zeroize::Zeroizing;

const WHAT: &str = "Ente Auth export";

/// Largest Argon2 memory (`kdfParams.memLimit`, bytes) accepted: 1 GiB,
/// libsodium's `MEMLIMIT_SENSITIVE`.
pub const MAX_MEM_LIMIT: u64 = 1 << 30;

/// Smallest Argon2 memory accepted: libsodium's `MEMLIMIT_MIN` (8 KiB).
pub const MIN_MEM_LIMIT: u64 = 8192;

/// Most Argon2 passes (`kdfParams.opsLimit`) accepted. Ente Auth trades
/// memory for passes on devices that cannot allocate 1 GiB, so this is above
/// libsodium's `OPSLIMIT_SENSITIVE` (4); [`MAX_WORK`] still bounds the total.
pub const MAX_OPS_LIMIT: u64 = 64;

/// Most Argon2 work accepted, as `memLimit × opsLimit` (byte-passes):
/// 1 GiB × 4, libsodium's "sensitive" cost.
pub const MAX_WORK: u64 = MAX_MEM_LIMIT * 4;

/// Length of `kdfParams.salt` (libsodium's `crypto_pwhash_SALTBYTES`).
const SALT_LEN: usize = 16;

/// Parses an Ente Auth export: plain text, or the encrypted JSON export
/// (which needs `password`).
///
/// # Errors
///
/// `InvalidInput`: no URI in a plain export; for an encrypted one, a
/// corrupted file, Argon2 parameters out of bounds, no password given, or a
/// wrong password.
pub fn parse(
    bytes: &[u8],
    password: Option<&str>,
) -> Result<Vec<Result<NewProfile, AuthenticatorError>>, AuthenticatorError> {
    let trimmed = bytes
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or(bytes)
        .trim_ascii_start();
    if trimmed.first() == Some(&b'{') {
        let plain = decrypt(bytes, password)?;
        return super::otpauth_list::parse(&plain);
    }
    super::otpauth_list::parse(bytes)
}

/// The Argon2 cost of an encrypted export, checked against the bounds.
struct Kdf {
    mem_limit: u64,
    ops_limit: u64,
    salt: Vec<u8>,
}

impl Kdf {
    fn read(v: &Value) -> Result<Kdf, AuthenticatorError> {
        let kdf = v
            .get("kdfParams")
            .filter(|k| k.is_object())
            .ok_or_else(|| corrupted(WHAT, "no kdfParams"))?;
        let number = |key: &str| {
            kdf.get(key)
                .and_then(Value::as_u64)
                .ok_or_else(|| corrupted(WHAT, &format!("kdfParams.{key} is not a number")))
        };
        let mem_limit = number("memLimit")?;
        let ops_limit = number("opsLimit")?;
        if !(MIN_MEM_LIMIT..=MAX_MEM_LIMIT).contains(&mem_limit)
            || !(1..=MAX_OPS_LIMIT).contains(&ops_limit)
            || mem_limit.saturating_mul(ops_limit) > MAX_WORK
        {
            return Err(invalid(format!(
                "this Ente Auth export asks for Argon2 memory {mem_limit} bytes and {ops_limit} \
                 passes; Countersign accepts at most {MAX_MEM_LIMIT} bytes, {MAX_OPS_LIMIT} \
                 passes and 4 GiB-passes in all"
            )));
        }
        let salt = kdf
            .get("salt")
            .and_then(Value::as_str)
            .and_then(base64_decode)
            .filter(|s| s.len() == SALT_LEN)
            .ok_or_else(|| corrupted(WHAT, "kdfParams.salt is not 16 bytes of Base64"))?;
        Ok(Kdf {
            mem_limit,
            ops_limit,
            salt,
        })
    }

    /// libsodium's `crypto_pwhash(…, ALG_ARGON2ID13)` with these limits.
    fn derive(&self, password: &str) -> Result<Zeroizing<Key>, AuthenticatorError> {
        let bad = || invalid("cannot derive the Ente Auth export key with these parameters");
        let m_kib = u32::try_from(self.mem_limit / 1024).map_err(|_| bad())?;
        let t = u32::try_from(self.ops_limit).map_err(|_| bad())?;
        let params = argon2::Params::new(m_kib, t, 1, Some(32)).map_err(|_| bad())?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = Zeroizing::new(Key::default());
        argon
            .hash_password_into(password.as_bytes(), &self.salt, &mut *key)
            .map_err(|_| bad())?;
        Ok(key)
    }
}

/// Opens an encrypted export to its plain text.
fn decrypt(bytes: &[u8], password: Option<&str>) -> Result<Zeroizing<Vec<u8>>, AuthenticatorError> {
    let v = json(bytes, WHAT)?;
    if !v.is_object() {
        return Err(corrupted(WHAT, "not a JSON object"));
    }
    match v.get("version").map(Value::as_u64) {
        None | Some(Some(1)) => {}
        Some(Some(n)) => {
            return Err(invalid(format!(
                "Ente Auth export version {n} is newer than supported (1)"
            )))
        }
        Some(None) => return Err(corrupted(WHAT, "version is not a number")),
    }
    let kdf = Kdf::read(&v)?;
    let header: Header = v
        .get("encryptionNonce")
        .and_then(Value::as_str)
        .and_then(base64_decode)
        .and_then(|h| Header::try_from(h.as_slice()).ok())
        .ok_or_else(|| corrupted(WHAT, "encryptionNonce is not 24 bytes of Base64"))?;
    let data = v
        .get("encryptedData")
        .and_then(Value::as_str)
        .and_then(base64_decode)
        .ok_or_else(|| corrupted(WHAT, "encryptedData is not Base64"))?;
    let len = data
        .len()
        .checked_sub(CRYPTO_SECRETSTREAM_XCHACHA20POLY1305_ABYTES)
        .ok_or_else(|| corrupted(WHAT, "encryptedData is too short"))?;
    let password = password.ok_or_else(|| password_required(WHAT))?;
    let key = kdf.derive(password)?;
    let mut state = State::new();
    crypto_secretstream_xchacha20poly1305_init_pull(&mut state, &header, &key);
    let mut plain = Zeroizing::new(vec![0u8; len]);
    let mut tag = 0u8;
    // One authenticator covers the whole message: a wrong key and a damaged
    // ciphertext fail the same way.
    let n =
        crypto_secretstream_xchacha20poly1305_pull(&mut state, &mut plain, &mut tag, &data, None)
            .map_err(|_| {
            invalid("wrong password for this Ente Auth export (or the file is damaged)")
        })?;
    if tag != CRYPTO_SECRETSTREAM_XCHACHA20POLY1305_TAG_FINAL {
        return Err(corrupted(WHAT, "the data is not one final message"));
    }
    plain.truncate(n);
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{detect, parse as import, ImportFormat};
    use super::*;
    use crate::otp::{Algorithm, OtpType};
    use base64::Engine;
    use dryoc::classic::crypto_pwhash::{crypto_pwhash, PasswordHashAlgorithm};
    use dryoc::classic::crypto_secretstream_xchacha20poly1305::{
        crypto_secretstream_xchacha20poly1305_init_push, crypto_secretstream_xchacha20poly1305_push,
    };
    use proptest::prelude::*;

    /// Password of `testdata/ente_encrypted.json`.
    const PASSWORD: &str = "ente-fixture-password";

    /// Argon2 cost of the fixture: far below Ente Auth's (1 GiB, 4 passes)
    /// to keep the tests fast; the code path is the same.
    const FIXTURE_MEM: u64 = 1 << 20;
    const FIXTURE_OPS: u64 = 2;

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    /// Encrypts a plain text export the way Ente Auth does: the key from
    /// libsodium-compatible `crypto_pwhash` (dryoc's Argon2id, independent of
    /// the `argon2` crate the importer uses), one secretstream message with
    /// tag FINAL. Salt is fixed; the stream header is random.
    fn encrypt(plain: &[u8], password: &str, mem: u64, ops: u64) -> Vec<u8> {
        let salt = [0x5eu8; SALT_LEN];
        let mut key = Key::default();
        crypto_pwhash(
            &mut key,
            password.as_bytes(),
            &salt,
            ops,
            usize::try_from(mem).unwrap(),
            PasswordHashAlgorithm::Argon2id13,
        )
        .unwrap();
        let mut state = State::new();
        let mut header = Header::default();
        crypto_secretstream_xchacha20poly1305_init_push(&mut state, &mut header, &key);
        let mut ct = vec![0u8; plain.len() + CRYPTO_SECRETSTREAM_XCHACHA20POLY1305_ABYTES];
        crypto_secretstream_xchacha20poly1305_push(
            &mut state,
            &mut ct,
            plain,
            None,
            CRYPTO_SECRETSTREAM_XCHACHA20POLY1305_TAG_FINAL,
        )
        .unwrap();
        let out = serde_json::json!({
            "version": 1,
            "kdfParams": {"memLimit": mem, "opsLimit": ops, "salt": b64(&salt)},
            "encryptedData": b64(&ct),
            "encryptionNonce": b64(&header),
        });
        serde_json::to_vec_pretty(&out).unwrap()
    }

    /// The plain text inside the encrypted fixture: four URIs, the last one
    /// (MD5) unsupported.
    const ENCRYPTED_PLAIN: &str = "\
otpauth://totp/GitHub:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=GitHub&codeDisplay=%7B%22pinned%22%3Afalse%2C%22trashed%22%3Afalse%7D
otpauth://hotp/Example:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example&counter=5&digits=8&algorithm=SHA256
otpauth://totp/Slow%20Bank:carol?secret=JBSWY3DPEHPK3PXP&issuer=Slow%20Bank&period=60&algorithm=SHA512
otpauth://totp/Legacy:dave?secret=JBSWY3DPEHPK3PXP&issuer=Legacy&algorithm=MD5
";

    #[test]
    #[ignore = "regenerates testdata/ente_encrypted.json"]
    fn generate_encrypted_fixture() {
        write_fixture(
            "ente_encrypted.json",
            &encrypt(
                ENCRYPTED_PLAIN.as_bytes(),
                PASSWORD,
                FIXTURE_MEM,
                FIXTURE_OPS,
            ),
        );
    }

    #[test]
    fn plain_text_fixture() {
        let bytes = fixture("ente_plain.txt");
        assert_eq!(detect(&bytes), ImportFormat::OtpauthList);
        let r = import(&bytes, ImportFormat::Ente, None).unwrap();
        let ok = oks(&r);
        assert_eq!(ok.len(), 2, "{:?}", r.entries);
        assert_eq!(ok[0].issuer, "GitHub");
        assert_eq!(ok[0].secret.expose(), RFC_SEED);
        assert_eq!(ok[1].params.digits, 8);
    }

    #[test]
    fn encrypted_fixture() {
        let bytes = fixture("ente_encrypted.json");
        assert_eq!(detect(&bytes), ImportFormat::EnteEncrypted);
        assert!(ImportFormat::EnteEncrypted.is_encrypted());
        assert_eq!(
            ImportFormat::resolve(ImportFormat::Ente, &bytes),
            ImportFormat::EnteEncrypted
        );
        let r = import(&bytes, ImportFormat::Auto, Some(PASSWORD)).unwrap();
        assert_eq!(r.format, ImportFormat::EnteEncrypted);
        assert_eq!(r.entries.len(), 4, "{:?}", r.entries);
        let ok = oks(&r);
        assert_eq!(ok.len(), 3, "{:?}", r.entries);
        assert_eq!(ok[0].issuer, "GitHub");
        assert_eq!(ok[0].account, "alice@example.com");
        assert_eq!(ok[0].secret.expose(), RFC_SEED);
        assert_eq!(ok[0].params.otp_type, OtpType::Totp);
        assert_eq!(ok[0].params.period, 30);
        assert_eq!(ok[0].params.digits, 6);
        assert_eq!(ok[1].issuer, "Example");
        assert_eq!(ok[1].account, "bob");
        assert_eq!(ok[1].params.otp_type, OtpType::Hotp);
        assert_eq!(ok[1].params.counter, 5);
        assert_eq!(ok[1].params.digits, 8);
        assert_eq!(ok[1].params.algorithm, Algorithm::Sha256);
        assert_eq!(ok[2].issuer, "Slow Bank");
        assert_eq!(ok[2].account, "carol");
        assert_eq!(ok[2].secret.expose(), b"Hello!\xde\xad\xbe\xef");
        assert_eq!(ok[2].params.period, 60);
        assert_eq!(ok[2].params.algorithm, Algorithm::Sha512);
        let md5 = r.entries[3].as_ref().unwrap_err().to_string();
        assert!(md5.contains("MD5"), "{md5}");
        // Forcing the family name finds the encrypted variant too.
        let r = import(&bytes, ImportFormat::EnteEncrypted, Some(PASSWORD)).unwrap();
        assert_eq!(oks(&r).len(), 3);
    }

    /// The importer's Argon2 (the `argon2` crate) derives the key libsodium's
    /// `crypto_pwhash` does (dryoc), memLimit in bytes and all.
    #[test]
    fn argon2_matches_libsodium_pwhash() {
        for (mem, ops) in [(8192u64, 1u64), (1 << 20, 2), (3 * 1024 * 1024 + 512, 3)] {
            let kdf = Kdf {
                mem_limit: mem,
                ops_limit: ops,
                salt: vec![7u8; SALT_LEN],
            };
            let mut want = Key::default();
            crypto_pwhash(
                &mut want,
                b"pw",
                &kdf.salt,
                ops,
                usize::try_from(mem).unwrap(),
                PasswordHashAlgorithm::Argon2id13,
            )
            .unwrap();
            assert_eq!(*kdf.derive("pw").unwrap(), want, "mem {mem} ops {ops}");
        }
    }

    #[test]
    fn wrong_or_missing_password() {
        let bytes = fixture("ente_encrypted.json");
        let e = import(&bytes, ImportFormat::Auto, Some("not it")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid input: wrong password for this Ente Auth export (or the file is damaged)"
        );
        let e = import(&bytes, ImportFormat::Auto, None).unwrap_err();
        assert!(e.to_string().contains("password is required"), "{e}");
    }

    fn with(bytes: &[u8], f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn corrupted_files_fail_cleanly() {
        let bytes = fixture("ente_encrypted.json");
        // A flipped byte in the ciphertext fails authentication.
        let flipped = with(&bytes, |v| {
            let mut ct = base64_decode(v["encryptedData"].as_str().unwrap()).unwrap();
            ct[20] ^= 1;
            v["encryptedData"] = b64(&ct).into();
        });
        let e = import(&flipped, ImportFormat::Auto, Some(PASSWORD)).unwrap_err();
        assert!(e.to_string().contains("damaged"), "{e}");
        // So does a flipped byte in the stream header.
        let flipped = with(&bytes, |v| {
            let mut h = base64_decode(v["encryptionNonce"].as_str().unwrap()).unwrap();
            h[0] ^= 0x80;
            v["encryptionNonce"] = b64(&h).into();
        });
        let e = import(&flipped, ImportFormat::Auto, Some(PASSWORD)).unwrap_err();
        assert!(e.to_string().contains("damaged"), "{e}");
        // A truncated file is not JSON any more.
        let e = import(
            &bytes[..bytes.len() / 2],
            ImportFormat::EnteEncrypted,
            Some(PASSWORD),
        )
        .unwrap_err();
        assert!(e.to_string().contains("corrupted"), "{e}");
        // Truncated ciphertext, short header, bad salt, missing fields.
        for (field, value) in [
            ("encryptedData", serde_json::json!("AAAA")),
            ("encryptionNonce", serde_json::json!("AAAA")),
            ("encryptedData", serde_json::json!("not base64!")),
            ("kdfParams", serde_json::json!(null)),
        ] {
            let bad = with(&bytes, |v| v[field] = value.clone());
            let e = import(&bad, ImportFormat::EnteEncrypted, Some(PASSWORD)).unwrap_err();
            assert!(e.to_string().contains("corrupted"), "{field}: {e}");
        }
        let bad = with(&bytes, |v| v["kdfParams"]["salt"] = "AAAA".into());
        let e = import(&bad, ImportFormat::EnteEncrypted, Some(PASSWORD)).unwrap_err();
        assert!(e.to_string().contains("salt"), "{e}");
        let bad = with(&bytes, |v| v["version"] = 2.into());
        let e = import(&bad, ImportFormat::EnteEncrypted, Some(PASSWORD)).unwrap_err();
        assert!(e.to_string().contains("version 2"), "{e}");
    }

    #[test]
    fn absurd_kdf_parameters_are_refused_before_deriving() {
        let bytes = fixture("ente_encrypted.json");
        for (mem, ops) in [
            (MAX_MEM_LIMIT + 1, 1),
            (u64::MAX, 1),
            (1 << 20, MAX_OPS_LIMIT + 1),
            (1 << 20, 0),
            (1024, 2),
            (MAX_MEM_LIMIT, 5),
        ] {
            let bad = with(&bytes, |v| {
                v["kdfParams"]["memLimit"] = mem.into();
                v["kdfParams"]["opsLimit"] = ops.into();
            });
            let e = import(&bad, ImportFormat::Auto, Some(PASSWORD)).unwrap_err();
            assert!(e.to_string().contains("Argon2"), "{mem} {ops}: {e}");
        }
        // Legal but different parameters: the key differs, so it does not open.
        let other = with(&bytes, |v| v["kdfParams"]["opsLimit"] = 3.into());
        let e = import(&other, ImportFormat::Auto, Some(PASSWORD)).unwrap_err();
        assert!(e.to_string().contains("wrong password"), "{e}");
    }

    #[test]
    fn a_message_not_tagged_final_is_refused() {
        let salt = [1u8; SALT_LEN];
        let kdf = Kdf {
            mem_limit: 8192,
            ops_limit: 1,
            salt: salt.to_vec(),
        };
        let key = kdf.derive("pw").unwrap();
        let mut state = State::new();
        let mut header = Header::default();
        crypto_secretstream_xchacha20poly1305_init_push(&mut state, &mut header, &key);
        let plain = b"otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP";
        let mut ct = vec![0u8; plain.len() + CRYPTO_SECRETSTREAM_XCHACHA20POLY1305_ABYTES];
        crypto_secretstream_xchacha20poly1305_push(&mut state, &mut ct, plain, None, 0).unwrap();
        let file = serde_json::json!({
            "version": 1,
            "kdfParams": {"memLimit": 8192, "opsLimit": 1, "salt": b64(&salt)},
            "encryptedData": b64(&ct),
            "encryptionNonce": b64(&header),
        });
        let e = import(
            &serde_json::to_vec(&file).unwrap(),
            ImportFormat::Auto,
            Some("pw"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("final"), "{e}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn mutated_fixtures_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
            no_panic_on_mutations(&fixture("ente_plain.txt"), ImportFormat::Ente, None, &flips, cut);
            no_panic_on_mutations(&fixture("ente_encrypted.json"), ImportFormat::EnteEncrypted, Some(PASSWORD), &flips, cut);
        }
    }
}
