//! Google Authenticator's `otpauth-migration://offline?data=…` export QR
//! codes: import and export.
//!
//! This is how users leave Google Authenticator, so import must get every
//! account it can across and say precisely which ones it could not (an MD5
//! account must not sink the other nine in its QR code). The payload is a
//! small protobuf; the message types are declared by hand with `prost`
//! derives so the crate needs no `protoc` or build script. Export produces
//! the same format, ten accounts per QR code as Google does.

use super::codec::{percent_decode, strip_scheme, Query};
use super::error::UriError;
use super::MAX_MIGRATION_URI_LEN;
use crate::otp::{validate_secret_len, Algorithm, OtpParams, OtpType};
use crate::profile::{NewProfile, MAX_TEXT_BYTES};
use crate::secret::SecretBytes;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use prost::Message as _;
use zeroize::{Zeroize, Zeroizing};

/// Accounts per exported URI; Google Authenticator's own limit, which keeps
/// each QR code scannable.
pub const ACCOUNTS_PER_URI: usize = 10;

/// Payload `version` written on export.
const PAYLOAD_VERSION: i32 = 1;

/// One decoded `otpauth-migration://` URI (one QR code of a possibly
/// multi-code export).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationBatch {
    /// Payload format version (Google writes 1).
    pub version: i32,
    /// Number of QR codes in the export.
    pub batch_size: i32,
    /// Zero-based position of this QR code in the export.
    pub batch_index: i32,
    /// Random id shared by all QR codes of one export.
    pub batch_id: i32,
    /// The accounts in payload order; accounts that cannot be represented
    /// are [`UriError::UnsupportedEntry`] with their index, the rest import.
    pub entries: Vec<Result<NewProfile, UriError>>,
}

// ---- protobuf messages (Google Authenticator's MigrationPayload) ----------
//
// Enum fields are declared as int32: identical on the wire, and unknown
// values reach the converter instead of being silently mapped.

/// `MigrationPayload.Algorithm`
mod proto_algorithm {
    pub const UNSPECIFIED: i32 = 0;
    pub const SHA1: i32 = 1;
    pub const SHA256: i32 = 2;
    pub const SHA512: i32 = 3;
    pub const MD5: i32 = 4;
}

/// `MigrationPayload.DigitCount`
mod proto_digits {
    pub const UNSPECIFIED: i32 = 0;
    pub const SIX: i32 = 1;
    pub const EIGHT: i32 = 2;
}

/// `MigrationPayload.OtpType`
mod proto_type {
    pub const UNSPECIFIED: i32 = 0;
    pub const HOTP: i32 = 1;
    pub const TOTP: i32 = 2;
}

/// `MigrationPayload`.
#[derive(Clone, PartialEq, prost::Message)]
struct MigrationPayload {
    #[prost(message, repeated, tag = "1")]
    otp_parameters: Vec<OtpParameters>,
    #[prost(int32, tag = "2")]
    version: i32,
    #[prost(int32, tag = "3")]
    batch_size: i32,
    #[prost(int32, tag = "4")]
    batch_index: i32,
    #[prost(int32, tag = "5")]
    batch_id: i32,
}

/// `MigrationPayload.OtpParameters`. Holds a seed: redacted `Debug`,
/// zeroized on drop.
#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
struct OtpParameters {
    #[prost(bytes = "vec", tag = "1")]
    secret: Vec<u8>,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(string, tag = "3")]
    issuer: String,
    #[prost(int32, tag = "4")]
    algorithm: i32,
    #[prost(int32, tag = "5")]
    digits: i32,
    #[prost(int32, tag = "6")]
    r#type: i32,
    #[prost(int64, tag = "7")]
    counter: i64,
}

impl Drop for OtpParameters {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl std::fmt::Debug for OtpParameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtpParameters")
            .field(
                "secret",
                &format_args!("<redacted {} bytes>", self.secret.len()),
            )
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("type", &self.r#type)
            .field("counter", &self.counter)
            .finish()
    }
}

// ---- import ---------------------------------------------------------------

/// Standard-alphabet Base64 that accepts input without padding (padding is
/// stripped before decoding) and ignores non-zero trailing bits.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// Parses one `otpauth-migration://offline?data=…` URI.
///
/// The length is checked against [`MAX_MIGRATION_URI_LEN`] first;
/// surrounding whitespace is ignored; scheme, host and parameter name are
/// case-insensitive. `data` is percent-decoded only (`+` stays a Base64
/// character); padding may be missing; a space (a `+` mangled by a form
/// decoder), line breaks and the URL-safe alphabet (`-`, `_`) are tolerated.
///
/// Whole-URI problems are `Err`: wrong scheme, missing `data`, bad Base64 or
/// protobuf. Per-account problems are `Err` entries in
/// [`MigrationBatch::entries`]. Defaults follow Google: unspecified
/// algorithm is SHA1, digits 6, type TOTP; the period is always 30 s.
///
/// # Errors
///
/// [`UriError::TooLong`], [`UriError::Scheme`], [`UriError::Malformed`]
/// (no `//`, host not `offline`, no `data`) and [`UriError::MigrationData`]
/// (bad Base64 or protobuf).
pub fn parse_migration(uri: &str) -> Result<MigrationBatch, UriError> {
    if uri.len() > MAX_MIGRATION_URI_LEN {
        return Err(UriError::TooLong {
            len: uri.len(),
            max: MAX_MIGRATION_URI_LEN,
        });
    }
    let uri = uri.trim();
    let rest = strip_scheme(uri, "otpauth-migration")?;
    let rest = rest
        .strip_prefix("//")
        .ok_or_else(|| UriError::Malformed("expected '//' after 'otpauth-migration:'".into()))?;
    let (host, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !host.trim_end_matches('/').eq_ignore_ascii_case("offline") {
        return Err(UriError::Malformed(
            "expected otpauth-migration://offline".into(),
        ));
    }
    let data = Query::parse(query)
        .raw("data")
        .filter(|d| !d.is_empty())
        .ok_or_else(|| UriError::Malformed("no data parameter".into()))?;
    let bytes = decode_data(data)?;
    let payload = MigrationPayload::decode(bytes.as_slice())
        .map_err(|e| UriError::MigrationData(format!("not a migration payload: {e}")))?;
    let entries = payload
        .otp_parameters
        .iter()
        .enumerate()
        .map(|(index, p)| {
            entry_to_profile(p).map_err(|reason| UriError::UnsupportedEntry { index, reason })
        })
        .collect();
    Ok(MigrationBatch {
        version: payload.version,
        batch_size: payload.batch_size,
        batch_index: payload.batch_index,
        batch_id: payload.batch_id,
        entries,
    })
}

/// Percent-decodes and Base64-decodes the `data` value into a zeroized
/// buffer.
fn decode_data(data: &str) -> Result<Zeroizing<Vec<u8>>, UriError> {
    let decoded = percent_decode(data, false);
    let mut clean = Zeroizing::new(Vec::with_capacity(decoded.len()));
    for &b in decoded.iter() {
        match b {
            b'\r' | b'\n' | b'\t' => {}
            b' ' | b'-' => clean.push(b'+'),
            b'_' => clean.push(b'/'),
            _ => clean.push(b),
        }
    }
    while clean.last() == Some(&b'=') {
        clean.pop();
    }
    let mut out = Zeroizing::new(Vec::with_capacity(base64::decoded_len_estimate(
        clean.len(),
    )));
    LENIENT_BASE64
        .decode_vec(clean.as_slice(), &mut out)
        .map_err(|e| {
            // Describe without echoing payload bytes.
            UriError::MigrationData(match e {
                base64::DecodeError::InvalidByte(offset, _) => {
                    format!("invalid Base64 character at offset {offset}")
                }
                base64::DecodeError::InvalidLength(_) => "truncated Base64".into(),
                base64::DecodeError::InvalidLastSymbol(offset, _) => {
                    format!("invalid final Base64 symbol at offset {offset}")
                }
                base64::DecodeError::InvalidPadding => "invalid Base64 padding".into(),
            })
        })?;
    Ok(out)
}

/// Converts one account, or says why it cannot be.
fn entry_to_profile(p: &OtpParameters) -> Result<NewProfile, String> {
    let algorithm = match p.algorithm {
        proto_algorithm::UNSPECIFIED | proto_algorithm::SHA1 => Algorithm::Sha1,
        proto_algorithm::SHA256 => Algorithm::Sha256,
        proto_algorithm::SHA512 => Algorithm::Sha512,
        proto_algorithm::MD5 => return Err("MD5 is not supported".into()),
        n => return Err(format!("unknown algorithm value {n}")),
    };
    let digits = match p.digits {
        proto_digits::UNSPECIFIED | proto_digits::SIX => 6,
        proto_digits::EIGHT => 8,
        n => return Err(format!("unknown digit count value {n}")),
    };
    let mut params = match p.r#type {
        proto_type::UNSPECIFIED | proto_type::TOTP => OtpParams::totp(),
        proto_type::HOTP => {
            let mut h = OtpParams::hotp();
            h.counter = u64::try_from(p.counter)
                .map_err(|_| format!("negative HOTP counter {}", p.counter))?;
            h
        }
        n => return Err(format!("unknown OTP type value {n}")),
    };
    params.algorithm = algorithm;
    params.digits = digits;
    params.validate().map_err(|e| e.to_string())?;
    validate_secret_len(p.secret.len()).map_err(|e| e.to_string())?;

    let (issuer, account) = split_name(&p.issuer, &p.name);
    for (field, text) in [("issuer", issuer), ("account", account)] {
        if text.len() > MAX_TEXT_BYTES {
            return Err(format!(
                "{field} is {} bytes long; the limit is {MAX_TEXT_BYTES}",
                text.len()
            ));
        }
    }
    Ok(NewProfile::new(
        issuer,
        account,
        SecretBytes::from_slice(&p.secret),
        params,
    ))
}

/// Issuer and account from the `issuer` and `name` fields: with an issuer,
/// a leading `issuer:` in the name is dropped; without one, a name
/// `prefix:account` provides both. Both are trimmed.
fn split_name<'a>(issuer: &'a str, name: &'a str) -> (&'a str, &'a str) {
    let issuer = issuer.trim();
    if issuer.is_empty() {
        match name.split_once(':') {
            Some((prefix, account)) => (prefix.trim(), account.trim()),
            None => ("", name.trim()),
        }
    } else {
        let account = name
            .strip_prefix(issuer)
            .and_then(|r| r.strip_prefix(':'))
            .unwrap_or(name);
        (issuer, account.trim())
    }
}

// ---- export ---------------------------------------------------------------

/// Writes profiles as Google Authenticator migration URIs (one per QR code).
///
/// At most [`ACCOUNTS_PER_URI`] accounts per URI; every URI has version 1,
/// the same `batch_id`, `batch_size` = number of URIs and `batch_index`
/// 0, 1, …. No profiles yields no URIs. The account `name` is written as
/// `issuer:account` (as Google does; `:account` when the issuer is empty and
/// the account contains a colon), the `issuer` field as the issuer.
///
/// The format has no period, no Steam type and only 6 or 8 digits, so the
/// whole call fails with [`UriError::UnsupportedEntry`] naming the first
/// profile (index into `profiles`) that is Steam, has other digits, is a
/// TOTP with a period other than 30 s, has an HOTP counter above
/// `i64::MAX` or an invalid seed length; callers filter and retry. Nothing
/// is partially exported.
///
/// The URIs hold secrets and are zeroized on drop.
///
/// # Errors
///
/// [`UriError::UnsupportedEntry`] for the first profile the format cannot
/// carry (see above).
pub fn write_migration(
    profiles: &[&NewProfile],
    batch_id: i32,
) -> Result<Vec<Zeroizing<String>>, UriError> {
    let entries = profiles
        .iter()
        .enumerate()
        .map(|(index, p)| {
            profile_to_entry(p).map_err(|reason| UriError::UnsupportedEntry { index, reason })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let chunks = entries.chunks(ACCOUNTS_PER_URI);
    let batch_size = i32::try_from(chunks.len())
        .map_err(|_| UriError::Malformed("too many profiles for one export".into()))?;
    let mut uris = Vec::with_capacity(chunks.len());
    for (batch_index, chunk) in (0..batch_size).zip(chunks) {
        let payload = MigrationPayload {
            otp_parameters: chunk.to_vec(),
            version: PAYLOAD_VERSION,
            batch_size,
            batch_index,
            batch_id,
        };
        uris.push(encode_uri(&payload));
    }
    Ok(uris)
}

/// Converts one profile, or says why the format cannot carry it.
fn profile_to_entry(p: &NewProfile) -> Result<OtpParameters, String> {
    let params = &p.params;
    let r#type = match params.otp_type {
        OtpType::Totp => {
            if params.period != 30 {
                return Err(format!(
                    "period {} s cannot be exported (the format only has 30 s)",
                    params.period
                ));
            }
            proto_type::TOTP
        }
        OtpType::Hotp => proto_type::HOTP,
        OtpType::Steam => return Err("Steam accounts cannot be exported to this format".into()),
    };
    let digits = match params.digits {
        6 => proto_digits::SIX,
        8 => proto_digits::EIGHT,
        d => return Err(format!("{d} digits cannot be exported (only 6 or 8)")),
    };
    let algorithm = match params.algorithm {
        Algorithm::Sha1 => proto_algorithm::SHA1,
        Algorithm::Sha256 => proto_algorithm::SHA256,
        Algorithm::Sha512 => proto_algorithm::SHA512,
    };
    let counter = match params.otp_type {
        OtpType::Hotp => i64::try_from(params.counter)
            .map_err(|_| format!("HOTP counter {} is too large", params.counter))?,
        OtpType::Totp | OtpType::Steam => 0,
    };
    validate_secret_len(p.secret.len()).map_err(|e| e.to_string())?;
    let name = if !p.issuer.is_empty() {
        format!("{}:{}", p.issuer, p.account)
    } else if p.account.contains(':') {
        format!(":{}", p.account)
    } else {
        p.account.clone()
    };
    Ok(OtpParameters {
        secret: p.secret.expose().to_vec(),
        name,
        issuer: p.issuer.clone(),
        algorithm,
        digits,
        r#type,
        counter,
    })
}

/// Protobuf → Base64 → percent-encoded URI, each buffer allocated once at
/// its final size and zeroized.
fn encode_uri(payload: &MigrationPayload) -> Zeroizing<String> {
    const PREFIX: &str = "otpauth-migration://offline?data=";
    let bytes = Zeroizing::new(payload.encode_to_vec());
    let mut b64 = Zeroizing::new(String::with_capacity(
        base64::encoded_len(bytes.len(), true).unwrap_or(0),
    ));
    base64::engine::general_purpose::STANDARD.encode_string(bytes.as_slice(), &mut b64);
    let escaped = b64
        .bytes()
        .filter(|b| matches!(b, b'+' | b'/' | b'='))
        .count();
    let mut uri = Zeroizing::new(String::with_capacity(
        PREFIX.len() + b64.len() + 2 * escaped,
    ));
    uri.push_str(PREFIX);
    for c in b64.chars() {
        match c {
            '+' => uri.push_str("%2B"),
            '/' => uri.push_str("%2F"),
            '=' => uri.push_str("%3D"),
            _ => uri.push(c),
        }
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::MAX_SECRET_BYTES;
    use proptest::prelude::*;

    /// A fixed export, hand-assembled from known bytes (see
    /// `fixed_fixture_bytes`): two accounts, batch id -1999999880, and Base64
    /// that contains `+`, `/` and `=` so every escape is exercised.
    const FIXTURE_URI: &str = "otpauth-migration://offline?data=CjUKCkhlbGxvId6tvu8SGEV4YW1wbGU6YWxpY2VAZ29vZ2xlLmNvbRoHRXhhbXBsZSABKAEwAgojChQxMjM0NTY3ODkwMTIzNDU2Nzg5MBIDYm9iIAIoAjABOAcQARgBIAAo%2BNipxvj%2F%2F%2F%2F%2FAQ%3D%3D";

    /// The protobuf bytes of [`FIXTURE_URI`], field by field.
    fn fixed_fixture_bytes() -> Vec<u8> {
        let mut e1 = vec![0x0a, 0x0a];
        e1.extend_from_slice(b"Hello!\xde\xad\xbe\xef"); // secret
        e1.extend_from_slice(&[0x12, 24]);
        e1.extend_from_slice(b"Example:alice@google.com"); // name
        e1.extend_from_slice(&[0x1a, 7]);
        e1.extend_from_slice(b"Example"); // issuer
        e1.extend_from_slice(&[0x20, 1, 0x28, 1, 0x30, 2]); // SHA1, SIX, TOTP
        let mut e2 = vec![0x0a, 20];
        e2.extend_from_slice(b"12345678901234567890");
        e2.extend_from_slice(&[0x12, 3]);
        e2.extend_from_slice(b"bob");
        e2.extend_from_slice(&[0x20, 2, 0x28, 2, 0x30, 1, 0x38, 7]); // SHA256, EIGHT, HOTP, counter 7
        let mut p = vec![0x0a, 53];
        p.extend_from_slice(&e1);
        p.extend_from_slice(&[0x0a, 35]);
        p.extend_from_slice(&e2);
        // version 1, batch_size 1, batch_index 0, batch_id -1999999880
        p.extend_from_slice(&[0x10, 1, 0x18, 1, 0x20, 0, 0x28]);
        p.extend_from_slice(&[0xf8, 0xd8, 0xa9, 0xc6, 0xf8, 0xff, 0xff, 0xff, 0xff, 0x01]);
        p
    }

    fn data_uri(bytes: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        let mut uri = String::from("otpauth-migration://offline?data=");
        super::super::codec::push_encoded(&mut uri, b64.as_bytes());
        uri
    }

    fn entry(
        secret: &[u8],
        name: &str,
        issuer: &str,
        algorithm: i32,
        digits: i32,
        t: i32,
    ) -> OtpParameters {
        OtpParameters {
            secret: secret.to_vec(),
            name: name.into(),
            issuer: issuer.into(),
            algorithm,
            digits,
            r#type: t,
            counter: 0,
        }
    }

    fn payload_uri(entries: Vec<OtpParameters>) -> String {
        let p = MigrationPayload {
            otp_parameters: entries,
            version: 1,
            batch_size: 1,
            batch_index: 0,
            batch_id: 42,
        };
        data_uri(&p.encode_to_vec())
    }

    fn ok(r: &Result<NewProfile, UriError>) -> &NewProfile {
        match r {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    fn parse(uri: &str) -> MigrationBatch {
        match parse_migration(uri) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn fixed_fixture() {
        let bytes = fixed_fixture_bytes();
        assert_eq!(data_uri(&bytes), FIXTURE_URI);
        let b = parse(FIXTURE_URI);
        assert_eq!(
            (b.version, b.batch_size, b.batch_index, b.batch_id),
            (1, 1, 0, -1_999_999_880)
        );
        assert_eq!(b.entries.len(), 2);
        let a = ok(&b.entries[0]);
        assert_eq!(
            (a.issuer.as_str(), a.account.as_str()),
            ("Example", "alice@google.com")
        );
        assert_eq!(a.secret.expose(), b"Hello!\xde\xad\xbe\xef");
        assert_eq!(a.params, OtpParams::totp());
        let h = ok(&b.entries[1]);
        assert_eq!((h.issuer.as_str(), h.account.as_str()), ("", "bob"));
        assert_eq!(h.secret.expose(), b"12345678901234567890");
        assert_eq!(h.params.otp_type, OtpType::Hotp);
        assert_eq!(h.params.algorithm, Algorithm::Sha256);
        assert_eq!(h.params.digits, 8);
        assert_eq!(h.params.counter, 7);
    }

    #[test]
    fn data_escapes_and_leniency() {
        let raw = FIXTURE_URI
            .replace("%2B", "+")
            .replace("%2F", "/")
            .replace("%3D", "=");
        let want = parse(FIXTURE_URI);
        // Unescaped + / =, as some generators write them: + is Base64 here.
        assert_eq!(parse(&raw), want);
        // Lower-case escapes.
        assert_eq!(
            parse(&FIXTURE_URI.replace("%2F", "%2f").replace("%2B", "%2b")),
            want
        );
        // Missing padding.
        assert_eq!(parse(FIXTURE_URI.trim_end_matches("%3D")), want);
        // A + turned into a space by a form decoder.
        assert_eq!(parse(&raw.replace('+', " ")), want);
        // URL-safe alphabet.
        let (head, data) = raw.split_once("data=").unwrap();
        let url_safe = format!("{head}data={}", data.replace('+', "-").replace('/', "_"));
        assert_eq!(parse(&url_safe), want);
        // Case-insensitive scheme/host/name, whitespace, line breaks.
        let shouty = format!(
            " \n{}\n",
            FIXTURE_URI
                .replace(
                    "otpauth-migration://offline?data=",
                    "OTPAUTH-MIGRATION://Offline/?DATA="
                )
                .replacen("SGEV", "SG\r\nEV", 1)
        );
        assert_eq!(parse(&shouty), want);
        // Unknown extra parameters; first data wins.
        assert_eq!(parse(&format!("{FIXTURE_URI}&data=AAAA&x=1")), want);
    }

    #[test]
    fn defaults_and_name_splitting() {
        let uri = payload_uri(vec![
            entry(b"k1", "Issuer:acct", "", 0, 0, 0),
            entry(b"k2", "Issuer: acct", "Issuer", 3, 2, 2),
            entry(b"k3", "Other:acct", "Issuer", 1, 1, 2),
            entry(b"k4", "plain", "", 1, 1, 2),
            entry(b"k5", "", "", 1, 1, 2),
        ]);
        let b = parse(&uri);
        let names: Vec<(&str, &str)> = b
            .entries
            .iter()
            .map(|e| {
                let p = ok(e);
                (p.issuer.as_str(), p.account.as_str())
            })
            .collect();
        assert_eq!(
            names,
            [
                ("Issuer", "acct"),
                ("Issuer", "acct"),
                ("Issuer", "Other:acct"),
                ("", "plain"),
                ("", "")
            ]
        );
        assert_eq!(ok(&b.entries[0]).params, OtpParams::totp());
        let p = ok(&b.entries[1]).params;
        assert_eq!(
            (p.algorithm, p.digits, p.period),
            (Algorithm::Sha512, 8, 30)
        );
    }

    #[test]
    fn unsupported_entries_do_not_sink_the_rest() {
        let mut neg = entry(b"k", "neg", "", 1, 1, 1);
        neg.counter = -5;
        let mut long = entry(b"k", "", "", 1, 1, 2);
        long.name = "n".repeat(MAX_TEXT_BYTES + 1);
        let uri = payload_uri(vec![
            entry(b"good0", "a", "", 1, 1, 2),
            entry(b"md5", "b", "", proto_algorithm::MD5, 1, 2),
            entry(b"k", "c", "", 9, 1, 2),
            entry(b"k", "d", "", 1, 7, 2),
            entry(b"k", "e", "", 1, 1, 5),
            entry(b"", "f", "", 1, 1, 2),
            entry(&[1; MAX_SECRET_BYTES + 1], "g", "", 1, 1, 2),
            neg,
            long,
            entry(b"good9", "z", "", 1, 1, 2),
        ]);
        let b = parse(&uri);
        assert_eq!(b.entries.len(), 10);
        assert_eq!(ok(&b.entries[0]).secret.expose(), b"good0");
        assert_eq!(ok(&b.entries[9]).secret.expose(), b"good9");
        for (i, e) in b.entries.iter().enumerate().take(9).skip(1) {
            match e {
                Err(UriError::UnsupportedEntry { index, .. }) => assert_eq!(*index, i),
                other => panic!("entry {i}: {other:?}"),
            }
        }
        assert_eq!(
            b.entries[1],
            Err(UriError::UnsupportedEntry {
                index: 1,
                reason: "MD5 is not supported".into()
            })
        );
    }

    #[test]
    fn empty_payload_is_an_empty_batch() {
        let b = parse(&payload_uri(vec![]));
        assert!(b.entries.is_empty());
        assert_eq!(b.batch_id, 42);
    }

    #[test]
    fn whole_uri_errors() {
        fn err(uri: &str) -> UriError {
            match parse_migration(uri) {
                Err(e) => e,
                Ok(b) => panic!("{uri} parsed: {b:?}"),
            }
        }
        for uri in [
            "otpauth://totp/x?data=AAAA",
            "https://offline?data=AAAA",
            "data=AAAA",
            "",
        ] {
            assert_eq!(err(uri), UriError::Scheme, "{uri}");
        }
        for uri in [
            "otpauth-migration:offline?data=AAAA",
            "otpauth-migration://online?data=AAAA",
            "otpauth-migration://offline",
            "otpauth-migration://offline?",
            "otpauth-migration://offline?data=",
            "otpauth-migration://offline?dat=CjUK",
        ] {
            assert!(matches!(err(uri), UriError::Malformed(_)), "{uri}");
        }
        let truncated = data_uri(fixed_fixture_bytes().get(..40).unwrap());
        for uri in [
            // Not Base64.
            "otpauth-migration://offline?data=Cj*K".to_owned(),
            "otpauth-migration://offline?data=C".to_owned(),
            "otpauth-migration://offline?data=AA%3DAA".to_owned(),
            "otpauth-migration://offline?data=%FF%FE".to_owned(),
            // Base64 of bytes that are not a MigrationPayload.
            data_uri(b"\xff\xff\xff\xff"),
            data_uri(&[0x0a, 0x50, 0x0a]),
            truncated,
        ] {
            assert!(matches!(err(&uri), UriError::MigrationData(_)), "{uri}");
        }
    }

    #[test]
    fn corrupted_payload_errors_do_not_leak() {
        let mut bytes = fixed_fixture_bytes();
        bytes.truncate(30);
        let e = parse_migration(&data_uri(&bytes)).unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("Hello"), "{shown}");
        let e = parse_migration("otpauth-migration://offline?data=SGVsbG8h3q2+7w*").unwrap_err();
        assert!(!format!("{e} {e:?}").contains("SGVs"));
    }

    #[test]
    fn over_length_rejected_first() {
        let uri = format!("{FIXTURE_URI}&pad={}", "a".repeat(MAX_MIGRATION_URI_LEN));
        assert_eq!(
            parse_migration(&uri),
            Err(UriError::TooLong {
                len: uri.len(),
                max: MAX_MIGRATION_URI_LEN
            })
        );
        let junk = "!".repeat(MAX_MIGRATION_URI_LEN + 1);
        assert!(matches!(
            parse_migration(&junk),
            Err(UriError::TooLong { .. })
        ));
    }

    fn profile(i: usize, params: OtpParams) -> NewProfile {
        NewProfile::new(
            &format!("Issuer {i}"),
            &format!("user{i}@example.com"),
            SecretBytes::new(format!("secret-{i}").into_bytes()),
            params,
        )
    }

    #[test]
    fn multi_batch_round_trip() {
        let profiles: Vec<NewProfile> = (0..25)
            .map(|i| {
                let mut p = match i % 3 {
                    0 => OtpParams::totp(),
                    1 => OtpParams::hotp(),
                    _ => OtpParams {
                        algorithm: Algorithm::Sha256,
                        digits: 8,
                        ..OtpParams::totp()
                    },
                };
                if p.otp_type == OtpType::Hotp {
                    p.counter = i as u64 * 1000;
                }
                profile(i, p)
            })
            .collect();
        let refs: Vec<&NewProfile> = profiles.iter().collect();
        let uris = write_migration(&refs, 77).unwrap();
        assert_eq!(uris.len(), 3);
        let mut back = Vec::new();
        for (i, uri) in uris.iter().enumerate() {
            assert!(uri.starts_with("otpauth-migration://offline?data="));
            let b = parse(uri);
            assert_eq!(
                (b.version, b.batch_size, b.batch_index, b.batch_id),
                (1, 3, i as i32, 77)
            );
            assert_eq!(b.entries.len(), if i < 2 { 10 } else { 5 });
            back.extend(b.entries.into_iter().map(|e| e.unwrap()));
        }
        assert_eq!(back, profiles);
        assert_eq!(back[4].params.counter, 4000);
    }

    #[test]
    fn exact_multiple_and_empty() {
        let profiles: Vec<NewProfile> = (0..20).map(|i| profile(i, OtpParams::totp())).collect();
        let refs: Vec<&NewProfile> = profiles.iter().collect();
        assert_eq!(write_migration(&refs, 1).unwrap().len(), 2);
        assert!(write_migration(&[], 1).unwrap().is_empty());
    }

    #[test]
    fn export_rejects_what_the_format_cannot_carry() {
        let good = profile(0, OtpParams::totp());
        let mut seven = OtpParams::totp();
        seven.digits = 7;
        let mut sixty = OtpParams::totp();
        sixty.period = 60;
        let mut huge = OtpParams::hotp();
        huge.counter = u64::MAX;
        let mut empty = profile(0, OtpParams::totp());
        empty.secret = SecretBytes::default();
        for bad in [
            profile(1, OtpParams::steam()),
            profile(1, seven),
            profile(1, sixty),
            profile(1, huge),
            empty,
        ] {
            match write_migration(&[&good, &bad], 1) {
                Err(UriError::UnsupportedEntry { index: 1, .. }) => {}
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        // HOTP with a non-default period is fine (HOTP has no period).
        let mut h = OtpParams::hotp();
        h.period = 60;
        assert!(write_migration(&[&profile(0, h)], 1).is_ok());
    }

    #[test]
    fn export_names_and_colons() {
        let ps = [
            NewProfile::new(
                "A:B",
                "c:d",
                SecretBytes::from_slice(b"k"),
                OtpParams::totp(),
            ),
            NewProfile::new("", "c:d", SecretBytes::from_slice(b"k"), OtpParams::totp()),
            NewProfile::new("Iss", "", SecretBytes::from_slice(b"k"), OtpParams::totp()),
        ];
        let refs: Vec<&NewProfile> = ps.iter().collect();
        let uris = write_migration(&refs, 5).unwrap();
        let b = parse(&uris[0]);
        let back: Vec<NewProfile> = b.entries.into_iter().map(|e| e.unwrap()).collect();
        assert_eq!(back, ps);
    }

    #[test]
    fn debug_is_redacted() {
        let e = entry(b"SUPERSECRET", "n", "i", 1, 1, 2);
        let shown = format!("{e:?}");
        assert!(!shown.contains("83, 85"), "{shown}");
        assert!(shown.contains("redacted 11 bytes"));
    }

    fn exportable_params() -> impl Strategy<Value = OtpParams> {
        (
            any::<bool>(),
            prop_oneof![
                Just(Algorithm::Sha1),
                Just(Algorithm::Sha256),
                Just(Algorithm::Sha512)
            ],
            prop_oneof![Just(6u8), Just(8u8)],
            0..=i64::MAX as u64,
        )
            .prop_map(|(hotp, algorithm, digits, counter)| OtpParams {
                otp_type: if hotp { OtpType::Hotp } else { OtpType::Totp },
                algorithm,
                digits,
                period: 30,
                counter: if hotp { counter } else { 0 },
            })
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof!["[a-zA-Z0-9 :&=+%/@._-]{0,16}", "\\PC{0,12}"].prop_map(|s| s.trim().to_owned())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn round_trip(
            accounts in prop::collection::vec(
                (text(), text(), prop::collection::vec(any::<u8>(), 1..=64), exportable_params()),
                0..24,
            ),
            batch_id in any::<i32>(),
        ) {
            let profiles: Vec<NewProfile> = accounts
                .into_iter()
                .map(|(i, a, s, p)| NewProfile::new(&i, &a, SecretBytes::new(s), p))
                .collect();
            let refs: Vec<&NewProfile> = profiles.iter().collect();
            let uris = write_migration(&refs, batch_id).unwrap();
            prop_assert_eq!(uris.len(), profiles.len().div_ceil(ACCOUNTS_PER_URI));
            let mut back = Vec::new();
            for (i, uri) in uris.iter().enumerate() {
                prop_assert!(uri.len() <= MAX_MIGRATION_URI_LEN);
                let b = parse_migration(uri).unwrap();
                prop_assert_eq!(b.batch_index, i as i32);
                prop_assert_eq!(b.batch_size as usize, uris.len());
                prop_assert_eq!(b.batch_id, batch_id);
                back.extend(b.entries.into_iter().map(|e| e.unwrap()));
            }
            prop_assert_eq!(back, profiles);
        }

        #[test]
        fn arbitrary_payload_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_migration(&data_uri(&bytes));
        }
    }
}
