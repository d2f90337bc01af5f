//! Ente Auth exports.
//!
//! The plain text export ("Export → Plain text") is one `otpauth://` URI per
//! line (with Ente's extra `codeDisplay` parameter), read by
//! [`super::otpauth_list`]. The encrypted export (a JSON object with
//! `kdfParams`, `encryptedData`, `encryptionNonce`: Argon2id + libsodium
//! secretstream XChaCha20-Poly1305) is recognised but not supported yet; the
//! error asks for a plain text export.

use super::invalid;
use crate::error::AuthenticatorError;
use crate::profile::NewProfile;

/// Parses an Ente Auth plain text export.
///
/// # Errors
///
/// `InvalidInput` for an encrypted export (not supported yet) or a file with
/// no URI.
pub fn parse(
    bytes: &[u8],
) -> Result<Vec<Result<NewProfile, AuthenticatorError>>, AuthenticatorError> {
    let trimmed = bytes.trim_ascii_start();
    if trimmed.first() == Some(&b'{') {
        return Err(invalid(
            "encrypted Ente Auth exports are not supported yet; export as plain text from Ente Auth",
        ));
    }
    super::otpauth_list::parse(bytes)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{detect, parse as import, ImportFormat};

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
    fn encrypted_is_refused_clearly() {
        let bytes = br#"{"version":1,"kdfParams":{"memLimit":67108864,"opsLimit":2,"salt":"c2FsdHNhbHRzYWx0c2FsdA=="},"encryptedData":"AAAA","encryptionNonce":"AAAA"}"#;
        assert_eq!(detect(bytes), ImportFormat::EnteEncrypted);
        let e = import(bytes, ImportFormat::Auto, None).unwrap_err();
        assert!(e.to_string().contains("not supported yet"), "{e}");
    }
}
