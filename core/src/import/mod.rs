//! Importers of other authenticators' export files (issue 6), and the one
//! router every file goes through ([`route`]: backup, URI list or export).
//!
//! One file per source app, each turning that app's export into
//! [`NewProfile`]s: [`otpauth_list`] (plain `otpauth://` and Google
//! `otpauth-migration://` lines, also Ente Auth's plain text export),
//! [`aegis`], [`twofas`], [`andotp`], [`bitwarden`], [`freeotp_plus`],
//! [`ente`] (plain and Argon2id + secretstream encrypted) and [`raivo`]
//! (AES-encrypted ZIP). Fixtures built from each format's documented
//! structure live in `testdata/`.
//!
//! Invariants:
//!
//! - **Two levels of failure.** A file that cannot be read at all (too
//!   large, corrupted, wrong password, password missing) is an `Err` of
//!   [`parse`]; one entry that cannot be represented (MD5, Yandex, mOTP, a
//!   bad secret) is an `Err` *inside* [`ImportResult::entries`], so the rest
//!   still imports and [`crate::Vault::add_results`] reports it as skipped.
//! - **Never panic, bounded work.** Input is capped at [`MAX_IMPORT_BYTES`];
//!   key-derivation parameters read from a file are capped before use; the
//!   parsers walk `serde_json::Value`s and never index or unwrap.
//! - **No secrets in errors.** Messages name the entry by position, never by
//!   its seed (nor by its account name). Decrypted plaintext is held in
//!   [`Zeroizing`] buffers.

pub mod aegis;
pub mod andotp;
pub mod bitwarden;
pub mod ente;
pub mod freeotp_plus;
pub mod otpauth_list;
pub mod raivo;
pub mod route;
pub mod twofas;

use crate::error::AuthenticatorError;
use crate::otp::{Algorithm, OtpParams, OtpType};
use crate::profile::NewProfile;
use crate::secret::SecretBytes;
use serde_json::Value;
use zeroize::Zeroizing;

/// Largest export file accepted, in bytes (real exports are kilobytes).
pub const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;

/// Most entries read from one file (far above any real vault).
pub const MAX_IMPORT_ENTRIES: usize = 10_000;

/// Which app (and, where it matters, which variant) an export comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImportFormat {
    /// Detect from the content ([`detect`]). As a result of [`detect`] it
    /// means "not recognised".
    Auto,
    /// Text with one `otpauth://` or `otpauth-migration://` URI per line.
    OtpauthList,
    /// A Google Authenticator export: `otpauth-migration://` lines only.
    GoogleMigration,
    /// Aegis vault JSON, unencrypted.
    AegisPlain,
    /// Aegis vault JSON with password slots.
    AegisEncrypted,
    /// 2FAS `.2fas` backup, unencrypted.
    TwoFas,
    /// 2FAS `.2fas` backup with `servicesEncrypted`.
    TwoFasEncrypted,
    /// andOTP plain JSON array.
    AndOtp,
    /// andOTP `.json.aes` (PBKDF2 + AES-GCM).
    AndOtpEncrypted,
    /// Bitwarden unencrypted JSON or CSV export (`login.totp`).
    Bitwarden,
    /// FreeOTP+ JSON backup.
    FreeOtpPlus,
    /// Ente Auth plain text export (`otpauth://` lines).
    Ente,
    /// Ente Auth encrypted export (Argon2id + libsodium secretstream).
    EnteEncrypted,
    /// Raivo OTP export: a password-protected (WinZip AES) ZIP archive.
    Raivo,
}

impl ImportFormat {
    /// Short family name as the CLI's `--format` spells it (`aegis` for both
    /// Aegis variants, …).
    pub fn name(self) -> &'static str {
        match self {
            ImportFormat::Auto => "auto",
            ImportFormat::OtpauthList | ImportFormat::GoogleMigration => "otpauth",
            ImportFormat::AegisPlain | ImportFormat::AegisEncrypted => "aegis",
            ImportFormat::TwoFas | ImportFormat::TwoFasEncrypted => "2fas",
            ImportFormat::AndOtp | ImportFormat::AndOtpEncrypted => "andotp",
            ImportFormat::Bitwarden => "bitwarden",
            ImportFormat::FreeOtpPlus => "freeotp-plus",
            ImportFormat::Ente | ImportFormat::EnteEncrypted => "ente",
            ImportFormat::Raivo => "raivo",
        }
    }

    /// Human-readable description ("Aegis (encrypted)").
    pub fn description(self) -> &'static str {
        match self {
            ImportFormat::Auto => "unknown format",
            ImportFormat::OtpauthList => "otpauth URI list",
            ImportFormat::GoogleMigration => "Google Authenticator export",
            ImportFormat::AegisPlain => "Aegis",
            ImportFormat::AegisEncrypted => "Aegis (encrypted)",
            ImportFormat::TwoFas => "2FAS",
            ImportFormat::TwoFasEncrypted => "2FAS (encrypted)",
            ImportFormat::AndOtp => "andOTP",
            ImportFormat::AndOtpEncrypted => "andOTP (encrypted)",
            ImportFormat::Bitwarden => "Bitwarden",
            ImportFormat::FreeOtpPlus => "FreeOTP+",
            ImportFormat::Ente => "Ente Auth",
            ImportFormat::EnteEncrypted => "Ente Auth (encrypted)",
            ImportFormat::Raivo => "Raivo",
        }
    }

    /// The plain variant of a family name (as [`ImportFormat::name`] gives
    /// it); `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "auto" => ImportFormat::Auto,
            "otpauth" => ImportFormat::OtpauthList,
            "google" => ImportFormat::GoogleMigration,
            "aegis" => ImportFormat::AegisPlain,
            "2fas" => ImportFormat::TwoFas,
            "andotp" => ImportFormat::AndOtp,
            "bitwarden" => ImportFormat::Bitwarden,
            "freeotp-plus" | "freeotp+" => ImportFormat::FreeOtpPlus,
            "ente" => ImportFormat::Ente,
            "raivo" => ImportFormat::Raivo,
            _ => return None,
        })
    }

    /// True when [`parse`] needs a password for this format.
    pub fn is_encrypted(self) -> bool {
        matches!(
            self,
            ImportFormat::AegisEncrypted
                | ImportFormat::TwoFasEncrypted
                | ImportFormat::AndOtpEncrypted
                | ImportFormat::EnteEncrypted
                | ImportFormat::Raivo
        )
    }

    /// The format to parse `bytes` as when the user asked for `requested`:
    /// the detected variant when it belongs to the requested family (so
    /// `aegis` finds out whether the vault is encrypted), else `requested`.
    pub fn resolve(requested: ImportFormat, bytes: &[u8]) -> ImportFormat {
        let detected = detect(bytes);
        if requested == ImportFormat::Auto || detected.name() == requested.name() {
            detected
        } else {
            requested
        }
    }
}

/// What an export file held.
#[derive(Debug)]
pub struct ImportResult {
    /// The format it was parsed as (the detected one for [`ImportFormat::Auto`]).
    pub format: ImportFormat,
    /// One item per account in file order; an `Err` is an entry that cannot
    /// be imported (unsupported type, bad secret), with a reason safe to show.
    pub entries: Vec<Result<NewProfile, AuthenticatorError>>,
}

/// Guesses the format from the content. Returns [`ImportFormat::Auto`] when
/// nothing matches.
pub fn detect(bytes: &[u8]) -> ImportFormat {
    if bytes.len() > MAX_IMPORT_BYTES {
        return ImportFormat::Auto;
    }
    // A ZIP archive: the only one among the supported formats is Raivo's.
    if raivo::looks_like_zip(bytes) {
        return ImportFormat::Raivo;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.trim_start_matches('\u{feff}').trim(),
        Err(_) => {
            return if andotp::looks_encrypted(bytes) {
                ImportFormat::AndOtpEncrypted
            } else {
                ImportFormat::Auto
            }
        }
    };
    if text.starts_with('{') || text.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            return detect_json(&v);
        }
        return ImportFormat::Auto;
    }
    if bitwarden::looks_like_csv(text) {
        return ImportFormat::Bitwarden;
    }
    let mut uris = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .peekable();
    if uris.peek().is_none() {
        return if andotp::looks_encrypted(bytes) {
            ImportFormat::AndOtpEncrypted
        } else {
            ImportFormat::Auto
        };
    }
    let mut all_migration = true;
    for l in uris {
        let lower = l.get(..18).unwrap_or(l).to_ascii_lowercase();
        if lower.starts_with("otpauth-migration:") {
            continue;
        }
        all_migration = false;
        if !lower.starts_with("otpauth:") {
            return if andotp::looks_encrypted(bytes) {
                ImportFormat::AndOtpEncrypted
            } else {
                ImportFormat::Auto
            };
        }
    }
    if all_migration {
        ImportFormat::GoogleMigration
    } else {
        ImportFormat::OtpauthList
    }
}

fn detect_json(v: &Value) -> ImportFormat {
    match v {
        Value::Object(o) => {
            if o.contains_key("header") && o.contains_key("db") {
                if o.get("db").is_some_and(Value::is_string) {
                    ImportFormat::AegisEncrypted
                } else {
                    ImportFormat::AegisPlain
                }
            } else if o
                .get("servicesEncrypted")
                .is_some_and(|s| s.as_str().is_some_and(|s| !s.is_empty()))
            {
                ImportFormat::TwoFasEncrypted
            } else if o.contains_key("services") {
                ImportFormat::TwoFas
            } else if o.contains_key("items") && o.contains_key("encrypted") {
                ImportFormat::Bitwarden
            } else if o.contains_key("tokens") {
                ImportFormat::FreeOtpPlus
            } else if o.contains_key("kdfParams") && o.contains_key("encryptedData") {
                ImportFormat::EnteEncrypted
            } else if o.contains_key("items") {
                ImportFormat::Bitwarden
            } else {
                ImportFormat::Auto
            }
        }
        Value::Array(a) => {
            if a.iter().all(|e| e.get("secret").is_some()) {
                ImportFormat::AndOtp
            } else {
                ImportFormat::Auto
            }
        }
        _ => ImportFormat::Auto,
    }
}

/// Parses an export. `format` may be [`ImportFormat::Auto`]; `password` is
/// used only by encrypted formats.
///
/// # Errors
///
/// [`AuthenticatorError::InvalidInput`] when the whole file cannot be
/// imported: too large, not recognised, corrupted, encrypted without a
/// password, wrong password, or key-derivation parameters out of bounds.
pub fn parse(
    bytes: &[u8],
    format: ImportFormat,
    password: Option<&str>,
) -> Result<ImportResult, AuthenticatorError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(invalid(format!(
            "the file is {} bytes; the import limit is {MAX_IMPORT_BYTES}",
            bytes.len()
        )));
    }
    let format = if format == ImportFormat::Auto {
        detect(bytes)
    } else {
        format
    };
    let entries = match format {
        ImportFormat::Auto => {
            let trimmed = bytes.trim_ascii_start();
            if matches!(trimmed.first(), Some(b'{' | b'[')) {
                json(bytes, "JSON export")?;
            }
            return Err(invalid(
                "unrecognised file: not an export format Countersign can import",
            ));
        }
        ImportFormat::OtpauthList | ImportFormat::GoogleMigration => otpauth_list::parse(bytes)?,
        ImportFormat::AegisPlain | ImportFormat::AegisEncrypted => aegis::parse(bytes, password)?,
        ImportFormat::TwoFas | ImportFormat::TwoFasEncrypted => twofas::parse(bytes, password)?,
        ImportFormat::AndOtp | ImportFormat::AndOtpEncrypted => andotp::parse(bytes, password)?,
        ImportFormat::Bitwarden => bitwarden::parse(bytes)?,
        ImportFormat::FreeOtpPlus => freeotp_plus::parse(bytes)?,
        ImportFormat::Ente | ImportFormat::EnteEncrypted => ente::parse(bytes, password)?,
        ImportFormat::Raivo => raivo::parse(bytes, password)?,
    };
    Ok(ImportResult { format, entries })
}

// ----- helpers shared by the format files -----

/// An `InvalidInput` error with a reason safe to show.
pub(crate) fn invalid(reason: impl Into<String>) -> AuthenticatorError {
    AuthenticatorError::InvalidInput {
        reason: reason.into(),
    }
}

/// A per-entry error. The entry is identified by its position in
/// [`ImportResult::entries`] (and [`crate::vault::Skipped::index`]), so the
/// reason does not repeat it.
pub(crate) fn entry_error(reason: impl std::fmt::Display) -> AuthenticatorError {
    invalid(reason.to_string())
}

/// The error for an encrypted file given no password.
pub(crate) fn password_required(what: &str) -> AuthenticatorError {
    invalid(format!("this {what} is encrypted: a password is required"))
}

/// The error for a password that does not open the file.
pub(crate) fn wrong_password(what: &str) -> AuthenticatorError {
    invalid(format!("wrong password for this {what}"))
}

/// The error for a file that is not valid for its format.
pub(crate) fn corrupted(what: &str, detail: &str) -> AuthenticatorError {
    invalid(format!("corrupted {what}: {detail}"))
}

/// Parses UTF-8 JSON (a leading BOM is allowed).
pub(crate) fn json(bytes: &[u8], what: &str) -> Result<Value, AuthenticatorError> {
    let text = std::str::from_utf8(bytes).map_err(|_| corrupted(what, "not UTF-8 text"))?;
    serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| corrupted(what, &format!("not valid JSON ({})", e.classify_name())))
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// AES-256-GCM open of `ciphertext || tag`; `None` on any failure (bad key
/// or nonce length, authentication failure).
pub(crate) fn aes_gcm_open(
    key: &[u8],
    nonce: &[u8],
    mut ciphertext_and_tag: Vec<u8>,
) -> Option<Zeroizing<Vec<u8>>> {
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let len = key
        .open_in_place(nonce, Aad::empty(), &mut ciphertext_and_tag)
        .ok()?
        .len();
    ciphertext_and_tag.truncate(len);
    Some(Zeroizing::new(ciphertext_and_tag))
}

/// AES-256-GCM seal, returning `ciphertext || tag` (fixture generation).
#[cfg(test)]
pub(crate) fn aes_gcm_seal(key: &[u8], nonce: &[u8], plain: &[u8]) -> Vec<u8> {
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).unwrap());
    let nonce = Nonce::try_assume_unique_for_key(nonce).unwrap();
    let mut buf = plain.to_vec();
    key.seal_in_place_append_tag(nonce, Aad::empty(), &mut buf)
        .unwrap();
    buf
}

/// Standard Base64 (padding optional) to bytes.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    use base64::Engine;
    let s = s.trim();
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .ok()
}

/// A string field (missing or not a string: empty).
pub(crate) fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A non-negative integer field given as a number or a numeric string.
/// `Ok(None)` when absent or null; `Err` when present but not a number.
pub(crate) fn uint_field(v: &Value, key: &str) -> Result<Option<u64>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{key} is not a non-negative integer")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{key} is not a number")),
        Some(_) => Err(format!("{key} is not a number")),
    }
}

/// `SHA1`, `sha256`, `HmacSHA512`, … to an [`Algorithm`]; empty means SHA1.
pub(crate) fn algorithm(name: &str) -> Result<Algorithm, String> {
    let n = name.trim().to_ascii_uppercase();
    let n = n.strip_prefix("HMAC").unwrap_or(&n);
    match n.trim_start_matches(['-', '_']) {
        "" | "SHA1" | "SHA-1" => Ok(Algorithm::Sha1),
        "SHA256" | "SHA-256" => Ok(Algorithm::Sha256),
        "SHA512" | "SHA-512" => Ok(Algorithm::Sha512),
        other => Err(format!(
            "unsupported algorithm {}",
            other.chars().take(16).collect::<String>()
        )),
    }
}

/// `totp`/`hotp`/`steam` (any case) to an [`OtpType`]; others are errors
/// naming the type (types are not secret).
pub(crate) fn otp_type(name: &str) -> Result<OtpType, String> {
    match name.trim().to_ascii_lowercase().as_str() {
        "" | "totp" => Ok(OtpType::Totp),
        "hotp" => Ok(OtpType::Hotp),
        "steam" => Ok(OtpType::Steam),
        other => Err(format!(
            "unsupported OTP type {}",
            other.chars().take(16).collect::<String>()
        )),
    }
}

/// The fields every importer extracts, turned into a validated profile.
#[derive(Default)]
pub(crate) struct Entry {
    pub issuer: String,
    pub account: String,
    pub note: String,
    pub group: String,
    pub favorite: bool,
    pub otp_type: Option<OtpType>,
    pub algorithm: Option<Algorithm>,
    pub digits: Option<u64>,
    pub period: Option<u64>,
    pub counter: Option<u64>,
}

impl Entry {
    /// Builds and validates the profile (type defaults, Steam forces its
    /// parameters, counters are dropped for time-based kinds).
    pub fn build(self, secret: SecretBytes) -> Result<NewProfile, String> {
        let otp_type = self.otp_type.unwrap_or(OtpType::Totp);
        let mut params = match otp_type {
            OtpType::Totp => OtpParams::totp(),
            OtpType::Hotp => OtpParams::hotp(),
            OtpType::Steam => OtpParams::steam(),
        };
        if otp_type != OtpType::Steam {
            if let Some(a) = self.algorithm {
                params.algorithm = a;
            }
            if let Some(d) = self.digits {
                params.digits = u8::try_from(d).map_err(|_| format!("invalid digits {d}"))?;
            }
        }
        if otp_type != OtpType::Hotp {
            if let Some(p) = self.period.filter(|p| *p != 0) {
                params.period = u32::try_from(p).map_err(|_| format!("invalid period {p}"))?;
            }
        } else {
            params.counter = self.counter.unwrap_or(0);
        }
        params.validate().map_err(|e| e.to_string())?;
        crate::otp::validate_secret_len(secret.len()).map_err(|e| e.to_string())?;
        Ok(NewProfile {
            issuer: self.issuer.trim().to_owned(),
            account: self.account.trim().to_owned(),
            secret,
            params,
            note: self.note,
            group: self.group,
            favorite: self.favorite,
        })
    }
}

/// Decodes a Base32 seed as apps store it (lenient), with a reason safe to show.
pub(crate) fn base32_secret(text: &str) -> Result<SecretBytes, String> {
    if text.trim().is_empty() {
        return Err("no secret".to_owned());
    }
    crate::uri::decode_secret(text).map_err(|e| e.to_string())
}

/// Reads every entry of a JSON array with `f`, capped at
/// [`MAX_IMPORT_ENTRIES`]; `f`'s `Err` becomes a per-entry error.
pub(crate) fn map_entries(
    items: &[Value],
    mut f: impl FnMut(&Value) -> Result<NewProfile, String>,
) -> Result<Vec<Result<NewProfile, AuthenticatorError>>, AuthenticatorError> {
    if items.len() > MAX_IMPORT_ENTRIES {
        return Err(invalid(format!(
            "the file has {} entries; the import limit is {MAX_IMPORT_ENTRIES}",
            items.len()
        )));
    }
    Ok(items.iter().map(|v| f(v).map_err(entry_error)).collect())
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Shared checks for the per-format tests.
    use super::*;

    /// The RFC 6238 seed "12345678901234567890".
    pub const RFC_SEED: &[u8] = b"12345678901234567890";

    /// Reads a fixture from `core/src/import/testdata/`.
    pub fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/import/testdata")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Writes a fixture (used by the ignored generator tests).
    pub fn write_fixture(name: &str, bytes: &[u8]) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/import/testdata")
            .join(name);
        std::fs::write(path, bytes).unwrap();
    }

    /// Oks of a result.
    pub fn oks(r: &ImportResult) -> Vec<&NewProfile> {
        r.entries.iter().filter_map(|e| e.as_ref().ok()).collect()
    }

    /// Feeds random mutations of `bytes` to `parse` with `format` and the
    /// given password; only checks that nothing panics.
    pub fn no_panic_on_mutations(
        bytes: &[u8],
        format: ImportFormat,
        password: Option<&str>,
        flips: &[(usize, u8)],
        cut: usize,
    ) {
        let mut b = bytes.to_vec();
        for (pos, x) in flips {
            if !b.is_empty() {
                let i = pos % b.len();
                if let Some(byte) = b.get_mut(i) {
                    *byte ^= x;
                }
            }
        }
        b.truncate(cut.min(b.len()));
        let _ = parse(&b, format, password);
        let _ = parse(&b, ImportFormat::Auto, password);
        let _ = detect(&b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hex_and_algorithms() {
        assert_eq!(crate::vault::unhex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(crate::vault::unhex("0"), None);
        assert_eq!(crate::vault::unhex("zz"), None);
        assert_eq!(crate::vault::unhex("é1"), None);
        assert_eq!(algorithm("HmacSHA256"), Ok(Algorithm::Sha256));
        assert_eq!(algorithm("sha512"), Ok(Algorithm::Sha512));
        assert!(algorithm("MD5").is_err());
        assert!(otp_type("yandex").is_err());
    }

    #[test]
    fn too_large_and_unknown() {
        let big = vec![b' '; MAX_IMPORT_BYTES + 1];
        assert!(parse(&big, ImportFormat::Auto, None).is_err());
        assert_eq!(detect(b"hello world"), ImportFormat::Auto);
        assert_eq!(detect(b"{\"a\":1}"), ImportFormat::Auto);
        let e = parse(b"hello", ImportFormat::Auto, None).unwrap_err();
        assert!(e.to_string().contains("unrecognised"), "{e}");
    }

    #[test]
    fn names_round_trip() {
        for f in [
            ImportFormat::Auto,
            ImportFormat::OtpauthList,
            ImportFormat::AegisPlain,
            ImportFormat::TwoFas,
            ImportFormat::AndOtp,
            ImportFormat::Bitwarden,
            ImportFormat::FreeOtpPlus,
            ImportFormat::Ente,
            ImportFormat::Raivo,
        ] {
            assert_eq!(ImportFormat::from_name(f.name()), Some(f));
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = detect(&bytes);
            let _ = parse(&bytes, ImportFormat::Auto, Some("pw"));
        }
    }
}
