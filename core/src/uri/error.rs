//! The one error type of the URI parsers and writers.
//!
//! Kept apart so that every failure mode is a named variant a shell can map
//! to a precise message. No variant ever carries secret material: the seed,
//! the Base32 text or the migration payload never appear in `Display` or
//! `Debug`; values that are echoed back (an unknown type name, a bad `digits`
//! value) are not secret and are shortened with [`preview`].

use crate::otp::ParamError;

/// Why a URI could not be parsed or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The input is longer than the cap for its kind; checked before any
    /// other work.
    #[error("URI is {len} bytes long; the limit is {max}")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The cap that applied ([`super::MAX_URI_LEN`] or
        /// [`super::MAX_MIGRATION_URI_LEN`]).
        max: usize,
    },
    /// The scheme is neither `otpauth` nor `otpauth-migration` (or not the
    /// one the called parser handles), or the input has no scheme at all.
    #[error("not an otpauth:// or otpauth-migration:// URI")]
    Scheme,
    /// The OTP type in `otpauth://TYPE/` is not `totp`, `hotp` or `steam`.
    #[error("unknown OTP type {0:?} (expected totp, hotp or steam)")]
    UnknownType(String),
    /// No `secret` parameter, or one that is empty once separators and
    /// padding are removed.
    #[error("the URI has no secret")]
    MissingSecret,
    /// The secret is not Base32 (bad character, `=` before the end, or a
    /// percent escape that is not ASCII). The secret itself is never shown.
    #[error("the secret is not valid Base32")]
    InvalidSecret,
    /// A parameter has a value we cannot use (`digits`, `period`,
    /// `counter`, `algorithm`, `encoder`).
    #[error("invalid {name}: {reason}")]
    InvalidParam {
        /// Parameter name as written in URIs.
        name: &'static str,
        /// What is wrong with it (may quote a shortened, non-secret value).
        reason: String,
    },
    /// The decoded parameters fail [`crate::OtpParams::validate`] or the seed
    /// length check (for example a secret longer than
    /// [`crate::otp::MAX_SECRET_BYTES`] or one that decodes to 0 bytes).
    #[error(transparent)]
    Params(#[from] ParamError),
    /// The issuer or account name is longer than
    /// [`crate::profile::MAX_TEXT_BYTES`].
    #[error("{field} is {len} bytes long; the limit is {max}")]
    TextTooLong {
        /// `"issuer"` or `"account"`.
        field: &'static str,
        /// Length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A structural problem: no `//`, a missing `data` parameter, a label or
    /// value that is not UTF-8 once percent-decoded. Never contains secret
    /// content.
    #[error("malformed URI: {0}")]
    Malformed(String),
    /// The migration `data` parameter is not Base64 or not a valid
    /// `MigrationPayload` protobuf.
    #[error("invalid migration data: {0}")]
    MigrationData(String),
    /// One account of a migration batch cannot be represented (MD5, unknown
    /// enum value, empty secret, Steam on export, …). On import the other
    /// accounts are still returned.
    #[error("account #{index} cannot be converted: {reason}")]
    UnsupportedEntry {
        /// Zero-based position of the account in the payload (import) or
        /// in the slice passed to the writer (export).
        index: usize,
        /// Why.
        reason: String,
    },
}

/// Longest echo of a (non-secret) input value in an error message, in chars.
const PREVIEW_CHARS: usize = 24;

/// A value shortened for an error message (at most [`PREVIEW_CHARS`] chars,
/// cut on a char boundary, with `…` when cut).
pub(crate) fn preview(value: &str) -> String {
    let mut out: String = value.chars().take(PREVIEW_CHARS).collect();
    if value.chars().nth(PREVIEW_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_cuts_on_char_boundaries() {
        assert_eq!(preview("abc"), "abc");
        let long = "中".repeat(30);
        let p = preview(&long);
        assert_eq!(p.chars().count(), PREVIEW_CHARS + 1);
        assert!(p.ends_with('…'));
        assert_eq!(
            preview(&"x".repeat(PREVIEW_CHARS)),
            "x".repeat(PREVIEW_CHARS)
        );
    }

    #[test]
    fn messages_are_precise() {
        assert_eq!(
            UriError::TooLong {
                len: 5000,
                max: 4096
            }
            .to_string(),
            "URI is 5000 bytes long; the limit is 4096"
        );
        assert_eq!(
            UriError::InvalidParam {
                name: "digits",
                reason: "must be between 5 and 10, got 4".into()
            }
            .to_string(),
            "invalid digits: must be between 5 and 10, got 4"
        );
        assert_eq!(
            UriError::from(ParamError::SecretLength(0)).to_string(),
            ParamError::SecretLength(0).to_string()
        );
    }
}
