//! `otpauth://` Key URIs: parse leniently, write strictly.
//!
//! QR codes in the wild deviate from Google's Key URI format in many small
//! ways (lower-case secrets, padding, `%3A` separators, `HmacSHA1`, Steam's
//! `encoder=steam`…); refusing them only sends users to a less careful app,
//! so the parser accepts every unambiguous variant and rejects the rest with
//! a precise [`UriError`]. The writer emits one canonical form that every
//! mainstream app reads and that this parser maps back to the same profile.
//! The rules are documented in `docs/otpauth.md`.

use super::codec::{
    decode_base32_lenient, decode_utf8, encoded_len, percent_decode, push_encoded, strip_scheme,
    Query,
};
use super::error::{preview, UriError};
use super::MAX_URI_LEN;
use crate::otp::{
    validate_secret_len, Algorithm, OtpParams, OtpType, MAX_DIGITS, MAX_PERIOD_S, MIN_DIGITS,
};
use crate::profile::{NewProfile, MAX_TEXT_BYTES};
use crate::secret::SecretBytes;
use zeroize::Zeroizing;

/// Parses an `otpauth://TYPE/LABEL?PARAMS` URI into a profile.
///
/// Surrounding whitespace is ignored. The length is checked against
/// [`MAX_URI_LEN`] before anything else. See the module docs and
/// `docs/otpauth.md` for every accepted variant; notably the `issuer`
/// parameter wins over the label prefix, and the first of duplicate
/// parameters wins. The returned profile has an empty note and group and is
/// not a favorite.
///
/// # Errors
///
/// Every rejection is a [`UriError`] variant; see `docs/otpauth.md`,
/// "Errors". No error contains the secret.
pub fn parse_otpauth(uri: &str) -> Result<NewProfile, UriError> {
    if uri.len() > MAX_URI_LEN {
        return Err(UriError::TooLong {
            len: uri.len(),
            max: MAX_URI_LEN,
        });
    }
    let uri = uri.trim();
    let rest = strip_scheme(uri, "otpauth")?;
    let rest = rest
        .strip_prefix("//")
        .ok_or_else(|| UriError::Malformed("expected '//' after 'otpauth:'".into()))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (type_name, raw_label) = path.split_once('/').unwrap_or((path, ""));
    let path_type = parse_type(type_name)?;
    let query = Query::parse(query);

    // Secret first: it is the one thing we cannot default.
    let secret = parse_secret(&query)?;

    let otp_type = resolve_encoder(path_type, &query)?;
    let params = parse_params(otp_type, &query)?;

    let issuer_param = query.text("issuer")?;
    let (issuer, account) = split_label(raw_label, issuer_param)?;
    check_text("issuer", &issuer)?;
    check_text("account", &account)?;

    Ok(NewProfile::new(&issuer, &account, secret, params))
}

/// `totp`, `hotp` or `steam`, any case.
fn parse_type(name: &str) -> Result<OtpType, UriError> {
    if name.is_empty() {
        return Err(UriError::Malformed(
            "missing OTP type after 'otpauth://'".into(),
        ));
    }
    if name.eq_ignore_ascii_case("totp") {
        Ok(OtpType::Totp)
    } else if name.eq_ignore_ascii_case("hotp") {
        Ok(OtpType::Hotp)
    } else if name.eq_ignore_ascii_case("steam") {
        Ok(OtpType::Steam)
    } else {
        Err(UriError::UnknownType(preview(name)))
    }
}

/// The decoded, length-checked seed. `+` in the value is a (form-encoded)
/// space and therefore ignored like any separator; a literal `+` (`%2B`) is
/// not Base32 and is rejected.
fn parse_secret(query: &Query<'_>) -> Result<SecretBytes, UriError> {
    let raw = query.raw("secret").ok_or(UriError::MissingSecret)?;
    let text = percent_decode(raw, true);
    let mut bytes = decode_base32_lenient(&text)?;
    validate_secret_len(bytes.len())?;
    Ok(SecretBytes::new(std::mem::take(&mut *bytes)))
}

/// Applies `encoder=steam` (case-insensitive) to a time-based path type.
fn resolve_encoder(path_type: OtpType, query: &Query<'_>) -> Result<OtpType, UriError> {
    let Some(encoder) = query.text("encoder")? else {
        return Ok(path_type);
    };
    if !encoder.eq_ignore_ascii_case("steam") {
        return Err(UriError::InvalidParam {
            name: "encoder",
            reason: format!("unsupported encoder {:?}", preview(&encoder)),
        });
    }
    match path_type {
        OtpType::Totp | OtpType::Steam => Ok(OtpType::Steam),
        OtpType::Hotp => Err(UriError::InvalidParam {
            name: "encoder",
            reason: "the steam encoder needs a time-based (totp) URI".into(),
        }),
    }
}

/// Algorithm, digits, period and counter for `otp_type`. Parameters that do
/// not apply to the type are ignored without being looked at: `digits` for
/// Steam (always 5), `period` for HOTP, `counter` for TOTP/Steam.
fn parse_params(otp_type: OtpType, query: &Query<'_>) -> Result<OtpParams, UriError> {
    let mut params = match otp_type {
        OtpType::Totp => OtpParams::totp(),
        OtpType::Hotp => OtpParams::hotp(),
        OtpType::Steam => OtpParams::steam(),
    };
    if let Some(a) = query.text("algorithm")? {
        params.algorithm = parse_algorithm(&a)?;
    }
    if otp_type != OtpType::Steam {
        if let Some(d) = query.text("digits")? {
            let n = parse_uint("digits", &d)?;
            params.digits = u8::try_from(n)
                .ok()
                .filter(|d| (MIN_DIGITS..=MAX_DIGITS).contains(d))
                .ok_or_else(|| UriError::InvalidParam {
                    name: "digits",
                    reason: format!("must be between {MIN_DIGITS} and {MAX_DIGITS}, got {n}"),
                })?;
        }
    }
    if otp_type.is_time_based() {
        if let Some(p) = query.text("period")? {
            let n = parse_uint("period", &p)?;
            params.period = u32::try_from(n)
                .ok()
                .filter(|p| (1..=MAX_PERIOD_S).contains(p))
                .ok_or_else(|| UriError::InvalidParam {
                    name: "period",
                    reason: format!("must be between 1 and {MAX_PERIOD_S} seconds, got {n}"),
                })?;
        }
    } else if let Some(c) = query.text("counter")? {
        params.counter = parse_uint("counter", &c)?;
    }
    params.validate()?;
    Ok(params)
}

/// `SHA1`/`SHA256`/`SHA512` in any case, with or without a `-`, `_` or
/// space (`SHA-256`) and with or without an `Hmac` prefix (`HmacSHA1`,
/// `HMAC-SHA512`).
fn parse_algorithm(value: &str) -> Result<Algorithm, UriError> {
    let normalized: String = value
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let name = normalized.strip_prefix("HMAC").unwrap_or(&normalized);
    match name {
        "SHA1" => Ok(Algorithm::Sha1),
        "SHA256" => Ok(Algorithm::Sha256),
        "SHA512" => Ok(Algorithm::Sha512),
        _ => Err(UriError::InvalidParam {
            name: "algorithm",
            reason: format!("unsupported algorithm {:?}", preview(value)),
        }),
    }
}

/// A non-negative decimal integer (ASCII digits only; no sign, no spaces
/// inside) that fits in a `u64`.
fn parse_uint(name: &'static str, value: &str) -> Result<u64, UriError> {
    let invalid = |reason: String| UriError::InvalidParam { name, reason };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!(
            "{:?} is not a non-negative integer",
            preview(value)
        )));
    }
    value
        .parse::<u64>()
        .map_err(|_| invalid(format!("{:?} is too large", preview(value))))
}

/// Issuer and account from the (still encoded) label and the `issuer`
/// parameter. See `docs/otpauth.md`, "Label and issuer".
///
/// 1. With a non-empty `issuer` parameter `P`, if the decoded label starts
///    with `P:`, the account is the rest.
/// 2. Otherwise the label is split at the first literal `:`, or failing that
///    at the first `%3A`; without either, the whole label is the account.
/// 3. The issuer is `P` when present, else the label prefix.
///
/// Both are trimmed. Splitting at a *literal* colon first means a colon
/// inside an issuer or account, which the writer escapes as `%3A`, survives
/// a round trip.
fn split_label(raw: &str, issuer_param: Option<String>) -> Result<(String, String), UriError> {
    if let Some(p) = issuer_param.as_deref() {
        let decoded = decode_utf8(raw, false, "label")?;
        if let Some(rest) = decoded.strip_prefix(p).and_then(|r| r.strip_prefix(':')) {
            return Ok((p.to_owned(), rest.trim().to_owned()));
        }
    }
    let split = match raw.split_once(':') {
        Some(parts) => Some(parts),
        None => raw
            .as_bytes()
            .windows(3)
            .position(|w| matches!(w, [b'%', b'3', b'a' | b'A']))
            .and_then(|i| Some((raw.get(..i)?, raw.get(i + 3..)?))),
    };
    let (prefix, account) = match split {
        Some((prefix, account)) => (
            decode_utf8(prefix, false, "label")?,
            decode_utf8(account, false, "label")?,
        ),
        None => (String::new(), decode_utf8(raw, false, "label")?),
    };
    let issuer = issuer_param.unwrap_or_else(|| prefix.trim().to_owned());
    Ok((issuer, account.trim().to_owned()))
}

/// Enforces [`MAX_TEXT_BYTES`] so a parsed profile can always be stored.
fn check_text(field: &'static str, text: &str) -> Result<(), UriError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(UriError::TextTooLong {
            field,
            len: text.len(),
            max: MAX_TEXT_BYTES,
        });
    }
    Ok(())
}

/// Writes the canonical `otpauth://` URI for a profile.
///
/// ```text
/// otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
/// otpauth://hotp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&counter=0
/// otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=5&period=30&encoder=steam
/// ```
///
/// Parameters are always written, in this order. The secret is upper-case
/// Base32 without padding. Issuer and account are percent-encoded keeping
/// only RFC 3986 unreserved characters (`:` → `%3A`, space → `%20`). With an
/// empty issuer the `ISSUER:` prefix and `issuer=` are omitted, except that
/// an account containing `:` is written as `:ACCOUNT` so it does not read
/// back as `issuer:account`. Steam is written as `totp` with
/// `encoder=steam`, which Steam-aware apps understand and others at least
/// import as a TOTP.
///
/// The inputs are not validated: write only profiles that passed
/// [`OtpParams::validate`]. Leading/trailing whitespace in issuer or account
/// is not preserved by [`parse_otpauth`], nor is an HOTP profile's `period`.
/// The result holds the secret and is zeroized on drop; it is allocated
/// once at its final size.
#[must_use]
pub fn write_otpauth(
    issuer: &str,
    account: &str,
    secret: &SecretBytes,
    params: &OtpParams,
) -> Zeroizing<String> {
    let mut head = String::with_capacity(
        32 + encoded_len(issuer.as_bytes()) + encoded_len(account.as_bytes()),
    );
    head.push_str(match params.otp_type {
        OtpType::Hotp => "otpauth://hotp/",
        OtpType::Totp | OtpType::Steam => "otpauth://totp/",
    });
    if !issuer.is_empty() {
        push_encoded(&mut head, issuer.as_bytes());
        head.push(':');
    } else if account.contains(':') {
        head.push(':');
    }
    push_encoded(&mut head, account.as_bytes());
    head.push_str("?secret=");

    let mut tail = String::with_capacity(96 + encoded_len(issuer.as_bytes()));
    if !issuer.is_empty() {
        tail.push_str("&issuer=");
        push_encoded(&mut tail, issuer.as_bytes());
    }
    tail.push_str("&algorithm=");
    tail.push_str(params.algorithm.uri_name());
    tail.push_str("&digits=");
    tail.push_str(&params.digits.to_string());
    match params.otp_type {
        OtpType::Hotp => {
            tail.push_str("&counter=");
            tail.push_str(&params.counter.to_string());
        }
        OtpType::Totp | OtpType::Steam => {
            tail.push_str("&period=");
            tail.push_str(&params.period.to_string());
        }
    }
    if params.otp_type == OtpType::Steam {
        tail.push_str("&encoder=steam");
    }

    let b32 = secret.to_base32();
    let mut out = Zeroizing::new(String::with_capacity(head.len() + b32.len() + tail.len()));
    out.push_str(&head);
    out.push_str(&b32);
    out.push_str(&tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::{ParamError, MAX_SECRET_BYTES};
    use proptest::prelude::*;

    /// RFC 4226/6238 seed "12345678901234567890".
    const RFC_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    const RFC_SEED: &[u8] = b"12345678901234567890";

    fn parse(uri: &str) -> NewProfile {
        match parse_otpauth(uri) {
            Ok(p) => p,
            Err(e) => panic!("{uri}: {e}"),
        }
    }

    fn err(uri: &str) -> UriError {
        match parse_otpauth(uri) {
            Ok(p) => panic!("{uri} parsed as {p:?}"),
            Err(e) => e,
        }
    }

    fn param_err(uri: &str) -> &'static str {
        match err(uri) {
            UriError::InvalidParam { name, .. } => name,
            e => panic!("{uri}: expected InvalidParam, got {e:?}"),
        }
    }

    // ---- basic and canonical -------------------------------------------

    #[test]
    fn google_example() {
        let p =
            parse("otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example");
        assert_eq!(p.issuer, "Example");
        assert_eq!(p.account, "alice@google.com");
        assert_eq!(p.secret.expose(), b"Hello!\xde\xad\xbe\xef");
        assert_eq!(p.params, OtpParams::totp());
        assert_eq!(p.note, "");
        assert_eq!(p.group, "");
        assert!(!p.favorite);
    }

    #[test]
    fn all_params() {
        let p = parse(&format!(
            "otpauth://totp/ACME%20Co:john.doe@email.com?secret={RFC_B32}&issuer=ACME%20Co&algorithm=SHA512&digits=8&period=60"
        ));
        assert_eq!(p.issuer, "ACME Co");
        assert_eq!(p.account, "john.doe@email.com");
        assert_eq!(p.secret.expose(), RFC_SEED);
        assert_eq!(p.params.algorithm, Algorithm::Sha512);
        assert_eq!(p.params.digits, 8);
        assert_eq!(p.params.period, 60);
    }

    #[test]
    fn canonical_output_is_exact() {
        let s = SecretBytes::from_slice(RFC_SEED);
        assert_eq!(
            &*write_otpauth("ACME Co", "john:doe", &s, &OtpParams::totp()),
            &format!("otpauth://totp/ACME%20Co:john%3Adoe?secret={RFC_B32}&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30")
        );
        let mut h = OtpParams::hotp();
        h.counter = 42;
        h.algorithm = Algorithm::Sha256;
        h.digits = 8;
        assert_eq!(
            &*write_otpauth("", "bob", &s, &h),
            &format!("otpauth://hotp/bob?secret={RFC_B32}&algorithm=SHA256&digits=8&counter=42")
        );
        assert_eq!(
            &*write_otpauth("Steam", "gaben", &s, &OtpParams::steam()),
            &format!("otpauth://totp/Steam:gaben?secret={RFC_B32}&issuer=Steam&algorithm=SHA1&digits=5&period=30&encoder=steam")
        );
        assert_eq!(
            &*write_otpauth("", "a:b", &s, &OtpParams::totp()),
            &format!("otpauth://totp/:a%3Ab?secret={RFC_B32}&algorithm=SHA1&digits=6&period=30")
        );
        assert_eq!(
            &*write_otpauth("", "", &s, &OtpParams::totp()),
            &format!("otpauth://totp/?secret={RFC_B32}&algorithm=SHA1&digits=6&period=30")
        );
    }

    #[test]
    fn writer_escapes_everything_reserved() {
        let s = SecretBytes::from_slice(b"k");
        let uri = write_otpauth("A&B=C+D%E?F#G/H", "中 文", &s, &OtpParams::totp());
        assert!(uri.starts_with(
            "otpauth://totp/A%26B%3DC%2BD%25E%3FF%23G%2FH:%E4%B8%AD%20%E6%96%87?secret="
        ));
        let p = parse(&uri);
        assert_eq!(p.issuer, "A&B=C+D%E?F#G/H");
        assert_eq!(p.account, "中 文");
    }

    // ---- leniency ------------------------------------------------------

    #[test]
    fn scheme_and_type_ignore_case() {
        for uri in [
            format!("OTPAUTH://TOTP/x?secret={RFC_B32}"),
            format!("OtpAuth://Totp/x?SECRET={RFC_B32}"),
            format!("  otpauth://totp/x?secret={RFC_B32}\n"),
        ] {
            let p = parse(&uri);
            assert_eq!(p.params.otp_type, OtpType::Totp);
            assert_eq!(p.secret.expose(), RFC_SEED);
        }
        assert_eq!(
            parse(&format!("otpauth://HOTP/x?secret={RFC_B32}"))
                .params
                .otp_type,
            OtpType::Hotp
        );
    }

    #[test]
    fn secret_forms() {
        for secret in [
            "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
            "GEZD%20GNBV%20GY3T%20QOJQ%20GEZD%20GNBV%20GY3T%20QOJQ",
            "GEZD+GNBV+GY3T+QOJQ+GEZD+GNBV+GY3T+QOJQ",
            "GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ=",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ========",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ%3D%3D",
        ] {
            let p = parse(&format!("otpauth://totp/x?secret={secret}"));
            assert_eq!(p.secret.expose(), RFC_SEED, "{secret}");
        }
    }

    #[test]
    fn short_and_unpadded_secrets() {
        // 80-bit seed, 16 symbols, no padding needed.
        let p = parse("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP");
        assert_eq!(p.secret.len(), 10);
        // 2 bytes, unpadded (canonical would be MFRA====).
        assert_eq!(parse("otpauth://totp/x?secret=MFRA").secret.expose(), b"ab");
        // 1 byte, the minimum.
        assert_eq!(parse("otpauth://totp/x?secret=ME").secret.expose(), b"a");
        assert_eq!(
            parse("otpauth://totp/x?secret=me======").secret.expose(),
            b"a"
        );
    }

    #[test]
    fn max_secret_length() {
        let max = SecretBytes::new(vec![7u8; MAX_SECRET_BYTES]);
        let uri = format!("otpauth://totp/x?secret={}", &*max.to_base32());
        assert_eq!(parse(&uri).secret, max);
        let over = SecretBytes::new(vec![7u8; MAX_SECRET_BYTES + 1]);
        let uri = format!("otpauth://totp/x?secret={}", &*over.to_base32());
        assert_eq!(
            err(&uri),
            UriError::Params(ParamError::SecretLength(MAX_SECRET_BYTES + 1))
        );
    }

    #[test]
    fn label_forms() {
        let cases = [
            ("Example:alice", None, "Example", "alice"),
            ("Example:%20alice", None, "Example", "alice"),
            ("Example: alice", None, "Example", "alice"),
            ("Example%20:%20%20alice%20", None, "Example", "alice"),
            ("Example%3Aalice", None, "Example", "alice"),
            ("Example%3aalice", None, "Example", "alice"),
            ("alice", None, "", "alice"),
            ("alice%40example.com", None, "", "alice@example.com"),
            ("", None, "", ""),
            ("a+b:c+d", None, "a+b", "c+d"),
            ("Example/alice", None, "", "Example/alice"),
            // Issuer parameter wins over the label prefix.
            ("Example:alice", Some("Example"), "Example", "alice"),
            ("Old%20Name:alice", Some("New%20Name"), "New Name", "alice"),
            ("alice", Some("Example"), "Example", "alice"),
            ("", Some("Example"), "Example", ""),
            // Prefix equal to the issuer: the account is the rest, even if
            // the issuer contains a colon written as %3A.
            ("a%3Ab%3Ac", Some("a%3Ab"), "a:b", "c"),
            ("a%3Ab:c", Some("a%3Ab"), "a:b", "c"),
            // Empty issuer parameter falls back to the prefix.
            ("Example:alice", Some(""), "Example", "alice"),
            // Empty prefix.
            (":alice", None, "", "alice"),
            ("Example:", None, "Example", ""),
        ];
        for (label, issuer, want_issuer, want_account) in cases {
            let issuer_param = issuer.map(|i| format!("&issuer={i}")).unwrap_or_default();
            let uri = format!("otpauth://totp/{label}?secret={RFC_B32}{issuer_param}");
            let p = parse(&uri);
            assert_eq!(
                (p.issuer.as_str(), p.account.as_str()),
                (want_issuer, want_account),
                "{uri}"
            );
        }
    }

    #[test]
    fn unicode_labels() {
        let p = parse(&format!(
            "otpauth://totp/%E4%B8%AD%E6%96%87:j%C3%BCrgen?secret={RFC_B32}"
        ));
        assert_eq!(p.issuer, "中文");
        assert_eq!(p.account, "jürgen");
        // Raw (unencoded) UTF-8 as some generators write it.
        let p = parse(&format!(
            "otpauth://totp/中文:jürgen?secret={RFC_B32}&issuer=中文"
        ));
        assert_eq!((p.issuer.as_str(), p.account.as_str()), ("中文", "jürgen"));
        // Issuer parameter with + as space and Unicode.
        let p = parse(&format!(
            "otpauth://totp/x?secret={RFC_B32}&issuer=Caf%C3%A9+Bar"
        ));
        assert_eq!(p.issuer, "Café Bar");
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        for uri in [
            format!("otpauth://totp/%FF%FE:bob?secret={RFC_B32}"),
            format!("otpauth://totp/bob?secret={RFC_B32}&issuer=%C3"),
        ] {
            assert!(matches!(err(&uri), UriError::Malformed(_)), "{uri}");
        }
    }

    #[test]
    fn unknown_and_duplicate_params() {
        let p = parse(&format!(
            "otpauth://totp/x?image=https%3A%2F%2Fx%2Fa.png&secret={RFC_B32}&color=ff0000&icon=x&lock&digits=8&digits=7&secret=ME&issuer=First&issuer=Second"
        ));
        assert_eq!(p.params.digits, 8);
        assert_eq!(p.secret.expose(), RFC_SEED);
        assert_eq!(p.issuer, "First");
    }

    #[test]
    fn param_names_ignore_case_and_order() {
        let p = parse(&format!(
            "otpauth://totp/x?PERIOD=45&Digits=7&ALGORITHM=sha256&Secret={RFC_B32}"
        ));
        assert_eq!(p.params.period, 45);
        assert_eq!(p.params.digits, 7);
        assert_eq!(p.params.algorithm, Algorithm::Sha256);
    }

    #[test]
    fn algorithm_spellings() {
        for (name, want) in [
            ("SHA1", Algorithm::Sha1),
            ("sha1", Algorithm::Sha1),
            ("SHA-1", Algorithm::Sha1),
            ("HmacSHA1", Algorithm::Sha1),
            ("HMAC-SHA1", Algorithm::Sha1),
            ("sha256", Algorithm::Sha256),
            ("SHA-256", Algorithm::Sha256),
            ("SHA_256", Algorithm::Sha256),
            ("HmacSHA256", Algorithm::Sha256),
            ("sha512", Algorithm::Sha512),
            ("SHA-512", Algorithm::Sha512),
            ("hmac_sha512", Algorithm::Sha512),
            ("", Algorithm::Sha1),
        ] {
            let p = parse(&format!(
                "otpauth://totp/x?secret={RFC_B32}&algorithm={name}"
            ));
            assert_eq!(p.params.algorithm, want, "{name}");
        }
        for bad in ["MD5", "SHA384", "SHA3-256", "HMAC", "SHA", "sha-1-x"] {
            assert_eq!(
                param_err(&format!(
                    "otpauth://totp/x?secret={RFC_B32}&algorithm={bad}"
                )),
                "algorithm",
                "{bad}"
            );
        }
    }

    #[test]
    fn steam_forms() {
        for uri in [
            format!("otpauth://totp/Steam:gaben?secret={RFC_B32}&issuer=Steam&encoder=steam"),
            format!("otpauth://totp/Steam:gaben?secret={RFC_B32}&issuer=Steam&encoder=Steam"),
            format!("otpauth://steam/Steam:gaben?secret={RFC_B32}&issuer=Steam"),
            format!("otpauth://STEAM/Steam:gaben?secret={RFC_B32}&digits=5&issuer=Steam"),
            // Digits are ignored for Steam (always 5).
            format!("otpauth://totp/Steam:gaben?secret={RFC_B32}&digits=6&encoder=steam"),
            format!("otpauth://steam/Steam:gaben?secret={RFC_B32}&digits=abc"),
        ] {
            let p = parse(&uri);
            assert_eq!(p.params, OtpParams::steam(), "{uri}");
            assert_eq!((p.issuer.as_str(), p.account.as_str()), ("Steam", "gaben"));
        }
        let p = parse(&format!(
            "otpauth://totp/Steam:gaben?secret={RFC_B32}&period=60&encoder=steam"
        ));
        assert_eq!(p.params.period, 60);
        assert_eq!(p.params.otp_type, OtpType::Steam);
    }

    #[test]
    fn hotp_counter_and_ignored_params() {
        let p = parse(&format!("otpauth://hotp/x?secret={RFC_B32}&counter=42"));
        assert_eq!(p.params.otp_type, OtpType::Hotp);
        assert_eq!(p.params.counter, 42);
        // Missing counter defaults to 0.
        assert_eq!(
            parse(&format!("otpauth://hotp/x?secret={RFC_B32}"))
                .params
                .counter,
            0
        );
        let max = parse(&format!(
            "otpauth://hotp/x?secret={RFC_B32}&counter=18446744073709551615"
        ));
        assert_eq!(max.params.counter, u64::MAX);
        // Period is ignored for HOTP, counter for TOTP, even when invalid.
        let p = parse(&format!("otpauth://hotp/x?secret={RFC_B32}&period=0"));
        assert_eq!(p.params.period, 30);
        let p = parse(&format!("otpauth://totp/x?secret={RFC_B32}&counter=5"));
        assert_eq!(p.params, OtpParams::totp());
        let p = parse(&format!("otpauth://totp/x?secret={RFC_B32}&counter=-1"));
        assert_eq!(p.params, OtpParams::totp());
    }

    #[test]
    fn digits_and_period_bounds() {
        for d in 5..=10 {
            let p = parse(&format!("otpauth://totp/x?secret={RFC_B32}&digits={d}"));
            assert_eq!(p.params.digits, d);
        }
        let p = parse(&format!("otpauth://totp/x?secret={RFC_B32}&digits=06"));
        assert_eq!(p.params.digits, 6);
        for ok in [1, 30, 86_400] {
            let p = parse(&format!("otpauth://totp/x?secret={RFC_B32}&period={ok}"));
            assert_eq!(p.params.period, ok);
        }
        // Empty values mean "absent".
        let p = parse(&format!(
            "otpauth://totp/x?secret={RFC_B32}&digits=&period="
        ));
        assert_eq!(p.params, OtpParams::totp());
    }

    // ---- rejections ----------------------------------------------------

    #[test]
    fn rejects_bad_digits() {
        for d in [
            "4",
            "11",
            "0",
            "abc",
            "6.0",
            "-6",
            "%2B6",
            "1e1",
            "999999999999999999999999",
        ] {
            let uri = format!("otpauth://totp/x?secret={RFC_B32}&digits={d}");
            assert_eq!(param_err(&uri), "digits", "{d}");
        }
        let uri = format!("otpauth://hotp/x?secret={RFC_B32}&digits=4");
        assert_eq!(param_err(&uri), "digits");
    }

    #[test]
    fn rejects_bad_period() {
        for p in ["0", "86401", "abc", "-30", "30s", "99999999999999999999999"] {
            let uri = format!("otpauth://totp/x?secret={RFC_B32}&period={p}");
            assert_eq!(param_err(&uri), "period", "{p}");
        }
        let uri = format!("otpauth://steam/x?secret={RFC_B32}&period=0");
        assert_eq!(param_err(&uri), "period");
    }

    #[test]
    fn rejects_bad_counter() {
        for c in ["-1", "abc", "1.5", "18446744073709551616"] {
            let uri = format!("otpauth://hotp/x?secret={RFC_B32}&counter={c}");
            assert_eq!(param_err(&uri), "counter", "{c}");
        }
    }

    #[test]
    fn rejects_bad_encoder() {
        assert_eq!(
            param_err(&format!("otpauth://totp/x?secret={RFC_B32}&encoder=yandex")),
            "encoder"
        );
        assert_eq!(
            param_err(&format!("otpauth://hotp/x?secret={RFC_B32}&encoder=steam")),
            "encoder"
        );
    }

    #[test]
    fn rejects_missing_secret() {
        for uri in [
            "otpauth://totp/x",
            "otpauth://totp/x?",
            "otpauth://totp/x?issuer=X",
            "otpauth://totp/x?secret",
            "otpauth://totp/x?secret=",
            "otpauth://totp/x?secret=%20",
            "otpauth://totp/x?secret====",
            "otpauth://totp/x?secret=+-+",
            "otpauth://totp/x?secrets=JBSWY3DPEHPK3PXP",
        ] {
            assert_eq!(err(uri), UriError::MissingSecret, "{uri}");
        }
    }

    #[test]
    fn rejects_invalid_secret() {
        for s in [
            "JBSWY3DPEHPK3PX1",
            "JBSWY3DPEHPK3PX8",
            "JBSWY3DPEHPK3PX0",
            "JBSWY3DP%2BEHPK3PXP",
            "JBSW=Y3DPEHPK3PXP",
            "JBSWY3DP.EHPK3PXP",
            "JBSWY3DP%C3%A9HPK",
            "Ä",
        ] {
            let e = err(&format!("otpauth://totp/x?secret={s}"));
            assert_eq!(e, UriError::InvalidSecret, "{s}");
            // Never echo the secret.
            assert!(!format!("{e} {e:?}").contains("JBSW"));
        }
        // One symbol is 5 bits and decodes to nothing.
        assert_eq!(
            err("otpauth://totp/x?secret=M"),
            UriError::Params(ParamError::SecretLength(0))
        );
    }

    #[test]
    fn rejects_unknown_type_and_scheme() {
        assert_eq!(
            err(&format!("otpauth://motp/x?secret={RFC_B32}")),
            UriError::UnknownType("motp".into())
        );
        assert_eq!(
            err(&format!("otpauth://TOTPX?secret={RFC_B32}")),
            UriError::UnknownType("TOTPX".into())
        );
        assert!(matches!(
            err(&format!("otpauth:///x?secret={RFC_B32}")),
            UriError::Malformed(_)
        ));
        assert!(matches!(
            err(&format!("otpauth:totp/x?secret={RFC_B32}")),
            UriError::Malformed(_)
        ));
        for uri in [
            format!("http://totp/x?secret={RFC_B32}"),
            format!("https://example.com/?secret={RFC_B32}"),
            format!("otpauth-migration://totp/x?secret={RFC_B32}"),
            "JBSWY3DPEHPK3PXP".to_owned(),
            "just some text".to_owned(),
            String::new(),
        ] {
            assert_eq!(err(&uri), UriError::Scheme, "{uri}");
        }
        // A huge type name is shortened in the error.
        let e = err(&format!(
            "otpauth://{}/x?secret={RFC_B32}",
            "y".repeat(1000)
        ));
        assert!(
            matches!(&e, UriError::UnknownType(t) if t.chars().count() <= 25),
            "{e:?}"
        );
    }

    #[test]
    fn type_without_label() {
        let p = parse(&format!("otpauth://totp?secret={RFC_B32}&issuer=X"));
        assert_eq!((p.issuer.as_str(), p.account.as_str()), ("X", ""));
    }

    #[test]
    fn rejects_too_long_first() {
        // Over the cap even though it is otherwise garbage: length wins.
        let uri = "x".repeat(MAX_URI_LEN + 1);
        assert_eq!(
            err(&uri),
            UriError::TooLong {
                len: MAX_URI_LEN + 1,
                max: MAX_URI_LEN
            }
        );
        let pad = "a".repeat(MAX_URI_LEN);
        let uri = format!("otpauth://totp/{pad}?secret={RFC_B32}");
        assert!(matches!(err(&uri), UriError::TooLong { .. }));
        // Exactly at the cap is fine.
        let head = format!("otpauth://totp/?secret={RFC_B32}&x=");
        let uri = format!("{head}{}", "a".repeat(MAX_URI_LEN - head.len()));
        assert_eq!(uri.len(), MAX_URI_LEN);
        parse(&uri);
    }

    #[test]
    fn rejects_over_long_text() {
        let long = "a".repeat(MAX_TEXT_BYTES + 1);
        assert_eq!(
            err(&format!("otpauth://totp/{long}:bob?secret={RFC_B32}")),
            UriError::TextTooLong {
                field: "issuer",
                len: MAX_TEXT_BYTES + 1,
                max: MAX_TEXT_BYTES
            }
        );
        assert_eq!(
            err(&format!("otpauth://totp/Bob:{long}?secret={RFC_B32}")),
            UriError::TextTooLong {
                field: "account",
                len: MAX_TEXT_BYTES + 1,
                max: MAX_TEXT_BYTES
            }
        );
    }

    #[test]
    fn errors_never_contain_the_secret() {
        let secret = "ZZZZYYYYXXXXWWWW";
        for uri in [
            format!("otpauth://totp/x?secret={secret}&digits=4"),
            format!("otpauth://foo/x?secret={secret}"),
            format!("otpauth://totp/%FF?secret={secret}"),
            format!("otpauth://totp/x?secret={secret}1"),
        ] {
            let e = err(&uri);
            assert!(!format!("{e}{e:?}").contains("ZZZZ"), "{e:?}");
        }
        let p = parse(&format!("otpauth://totp/x?secret={secret}"));
        assert!(!format!("{p:?}").contains("ZZZZ"));
    }

    // ---- properties ----------------------------------------------------

    /// Issuer/account text: URI-hostile ASCII or arbitrary printable
    /// Unicode, trimmed (the parser trims, see the writer's docs).
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9 :&=+%#?/@._~;,'\"-]{0,24}",
            "\\PC{0,16}",
            Just(String::new()),
        ]
        .prop_map(|s| s.trim().to_owned())
    }

    fn valid_params() -> impl Strategy<Value = OtpParams> {
        (
            0u8..3,
            prop_oneof![
                Just(Algorithm::Sha1),
                Just(Algorithm::Sha256),
                Just(Algorithm::Sha512)
            ],
            MIN_DIGITS..=MAX_DIGITS,
            1..=MAX_PERIOD_S,
            any::<u64>(),
        )
            .prop_map(|(kind, algorithm, digits, period, counter)| match kind {
                0 => OtpParams {
                    otp_type: OtpType::Totp,
                    algorithm,
                    digits,
                    period,
                    counter: 0,
                },
                1 => OtpParams {
                    otp_type: OtpType::Hotp,
                    algorithm,
                    digits,
                    period: 30,
                    counter,
                },
                _ => OtpParams {
                    otp_type: OtpType::Steam,
                    algorithm,
                    digits: 5,
                    period,
                    counter: 0,
                },
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn round_trip(
            issuer in text(),
            account in text(),
            secret in prop::collection::vec(any::<u8>(), 1..=64),
            params in valid_params(),
        ) {
            let secret = SecretBytes::new(secret);
            prop_assert!(params.validate().is_ok());
            let uri = write_otpauth(&issuer, &account, &secret, &params);
            prop_assert!(uri.len() <= MAX_URI_LEN);
            let parsed = parse_otpauth(&uri);
            prop_assert_eq!(parsed, Ok(NewProfile::new(&issuer, &account, secret, params)), "{}", &*uri);
        }

        #[test]
        fn arbitrary_query_never_panics(query in "\\PC{0,200}", label in "\\PC{0,40}") {
            let _ = parse_otpauth(&format!("otpauth://totp/{label}?{query}"));
            let _ = parse_otpauth(&format!("otpauth://hotp/{label}?secret=JBSW&{query}"));
        }
    }
}
