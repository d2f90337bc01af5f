//! Byte-level helpers shared by both URI formats: scheme splitting, query
//! splitting, percent decoding/encoding and lenient Base32.
//!
//! Hand-written rather than borrowed from a URL crate because the rules are
//! specific (form decoding for `otpauth` values, *no* `+` → space for
//! migration data, case-insensitive names, first duplicate wins), because
//! every step must be panic-free on arbitrary input (only `get`, iterators
//! and slice patterns, no indexing), and because buffers that may hold a
//! secret are allocated once at their final capacity (so no reallocation
//! leaves a copy behind) and are zeroized on drop.

use super::error::UriError;
use zeroize::Zeroizing;

/// Splits `scheme:rest` and checks the scheme case-insensitively.
pub(super) fn strip_scheme<'a>(uri: &'a str, scheme: &str) -> Result<&'a str, UriError> {
    match uri.split_once(':') {
        Some((s, rest)) if s.eq_ignore_ascii_case(scheme) => Ok(rest),
        _ => Err(UriError::Scheme),
    }
}

/// The `name=value` pairs of a query string, in order, still encoded.
pub(super) struct Query<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Query<'a> {
    /// Splits on `&`; a pair without `=` has an empty value; empty pairs
    /// (`&&`) are skipped.
    pub(super) fn parse(query: &'a str) -> Self {
        let pairs = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .collect();
        Self { pairs }
    }

    /// The raw (still percent-encoded) value of the first parameter whose
    /// name matches `name` ASCII-case-insensitively. Later duplicates are
    /// ignored.
    pub(super) fn raw(&self, name: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, v)| v)
    }

    /// The form-decoded (`+` is a space), trimmed text value of the first
    /// `name` parameter; `None` when absent or empty after trimming.
    pub(super) fn text(&self, name: &'static str) -> Result<Option<String>, UriError> {
        let Some(raw) = self.raw(name) else {
            return Ok(None);
        };
        let decoded = decode_utf8(raw, true, name)?;
        let trimmed = decoded.trim();
        Ok(if trimmed.is_empty() {
            None
        } else {
            Some(trimmed.to_owned())
        })
    }
}

/// Value of an ASCII hex digit.
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `s`. A `%` not followed by two hex digits is kept
/// literally (lenient). With `plus_as_space`, `+` decodes to a space (HTML
/// form encoding, used by `otpauth` query values); without it `+` is kept
/// (paths, and migration data where `+` is a Base64 character).
///
/// The output never exceeds the input length, so it is allocated once.
pub(super) fn percent_decode(s: &str, plus_as_space: bool) -> Zeroizing<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        match b {
            b'%' => {
                let hi = bytes.get(i).copied().and_then(hex_value);
                let lo = bytes.get(i + 1).copied().and_then(hex_value);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push((hi << 4) | lo);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b'+' if plus_as_space => out.push(b' '),
            _ => out.push(b),
        }
    }
    out
}

/// Percent-decodes non-secret text and requires UTF-8.
pub(super) fn decode_utf8(s: &str, plus_as_space: bool, what: &str) -> Result<String, UriError> {
    let mut bytes = percent_decode(s, plus_as_space);
    String::from_utf8(std::mem::take(&mut *bytes))
        .map_err(|_| UriError::Malformed(format!("{what} is not valid UTF-8 once percent-decoded")))
}

/// RFC 3986 unreserved characters, the only ones written unescaped.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Length of `s` once [`push_encoded`] has escaped it.
pub(super) fn encoded_len(s: &[u8]) -> usize {
    s.iter()
        .map(|&b| if is_unreserved(b) { 1 } else { 3 })
        .sum()
}

/// Appends `s` percent-encoded: everything but RFC 3986 unreserved
/// characters becomes `%XX` (upper-case hex), so `:` is `%3A`, space is
/// `%20`, `+` is `%2B` and non-ASCII is its UTF-8 bytes escaped.
pub(super) fn push_encoded(out: &mut String, s: &[u8]) {
    for &b in s {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            for nibble in [b >> 4, b & 0x0f] {
                if let Some(&h) = HEX_UPPER.get(usize::from(nibble)) {
                    out.push(char::from(h));
                }
            }
        }
    }
}

/// Decodes a Base32 secret leniently: either case; spaces, tabs, newlines
/// and `-` anywhere are ignored; any amount of trailing `=` is accepted
/// (but nothing except separators may follow a `=`); any length is accepted
/// and leftover bits that do not fill a byte are dropped.
///
/// The leniency is a normalisation pass; the decoding itself is the
/// `base32` crate's (RFC 4648 alphabet, unpadded).
///
/// Errors: [`UriError::MissingSecret`] when no symbol remains,
/// [`UriError::InvalidSecret`] for anything else that is not Base32. The
/// length is checked by the caller.
pub(super) fn decode_base32_lenient(input: &[u8]) -> Result<Zeroizing<Vec<u8>>, UriError> {
    let mut symbols = Zeroizing::new(String::with_capacity(input.len()));
    let mut padding = false;
    for &b in input {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' | b'-' => {}
            b'=' => padding = true,
            b'A'..=b'Z' | b'2'..=b'7' if !padding => symbols.push(char::from(b)),
            b'a'..=b'z' if !padding => symbols.push(char::from(b.to_ascii_uppercase())),
            _ => return Err(UriError::InvalidSecret),
        }
    }
    if symbols.is_empty() {
        return Err(UriError::MissingSecret);
    }
    base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &symbols)
        .map(Zeroizing::new)
        .ok_or(UriError::InvalidSecret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(&**percent_decode("a%3Ab%3ac", false), b"a:b:c");
        assert_eq!(&**percent_decode("a+b", false), b"a+b");
        assert_eq!(&**percent_decode("a+b", true), b"a b");
        assert_eq!(&**percent_decode("%2B", true), b"+");
        // Broken escapes are kept literally.
        assert_eq!(&**percent_decode("%", true), b"%");
        assert_eq!(&**percent_decode("%4", true), b"%4");
        assert_eq!(&**percent_decode("%zz%41", true), b"%zzA");
        assert_eq!(&**percent_decode("%E4%B8%AD", true), "中".as_bytes());
    }

    #[test]
    fn percent_encoding_is_strict() {
        let mut s = String::new();
        push_encoded(&mut s, "a b:c+d&e=f%g/h?中~._-".as_bytes());
        assert_eq!(s, "a%20b%3Ac%2Bd%26e%3Df%25g%2Fh%3F%E4%B8%AD~._-");
        assert_eq!(encoded_len("a b:c+d&e=f%g/h?中~._-".as_bytes()), s.len());
    }

    #[test]
    fn query_first_wins_and_names_ignore_case() {
        let q = Query::parse("Secret=A&&secret=B&lock&digits=8");
        assert_eq!(q.raw("secret"), Some("A"));
        assert_eq!(q.raw("LOCK"), Some(""));
        assert_eq!(q.raw("period"), None);
        assert_eq!(q.text("lock"), Ok(None));
        assert_eq!(q.text("digits"), Ok(Some("8".into())));
    }

    #[test]
    fn base32_leniency() {
        let rfc = b"12345678901234567890";
        for s in [
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            "gezdgnbvgy3tqojqgezdgnbvgy3tqojq",
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ",
            "GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ========",
        ] {
            assert_eq!(&**decode_base32_lenient(s.as_bytes()).unwrap(), rfc, "{s}");
        }
        // Unpadded partial blocks.
        assert_eq!(&**decode_base32_lenient(b"MFRA").unwrap(), b"ab");
        assert_eq!(&**decode_base32_lenient(b"ME").unwrap(), b"a");
        assert_eq!(&**decode_base32_lenient(b"ME======").unwrap(), b"a");
        // One symbol is 5 bits: no byte.
        assert!(decode_base32_lenient(b"M").unwrap().is_empty());
    }

    #[test]
    fn base32_rejections() {
        assert_eq!(decode_base32_lenient(b""), Err(UriError::MissingSecret));
        assert_eq!(decode_base32_lenient(b" - ="), Err(UriError::MissingSecret));
        for bad in ["ABC1", "AB8C", "AB+C", "AB=C", "ÄBC", "AB%C"] {
            assert_eq!(
                decode_base32_lenient(bad.as_bytes()),
                Err(UriError::InvalidSecret),
                "{bad}"
            );
        }
    }
}
