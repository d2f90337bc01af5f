//! Secret bytes that never leak.
//!
//! OTP seeds and keys live in [`SecretBytes`]: zeroized on drop, redacted in
//! `Debug`, and compared in constant time. Nothing in the crate formats a
//! secret except the explicit exporters (`otpauth://` writer, migration
//! export), which the user asks for by name.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A byte string holding secret material (an OTP seed or a key).
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps bytes; the caller's buffer moves in and is zeroized with it.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Copies a slice into a new secret.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// The secret bytes. Callers must not copy them into unprotected buffers.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Base32 (RFC 4648, upper case, no padding), as `otpauth://` URIs carry it.
    pub fn to_base32(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(base32::encode(
            base32::Alphabet::Rfc4648 { padding: false },
            &self.0,
        ))
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        // Length is not secret; contents are compared in constant time.
        self.0.len() == other.0.len() && bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for SecretBytes {}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes(<redacted {} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretBytes::from_slice(b"12345678901234567890");
        let shown = format!("{s:?}");
        assert!(!shown.contains("1234"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn equality_is_by_content() {
        assert_eq!(
            SecretBytes::from_slice(b"abc"),
            SecretBytes::from_slice(b"abc")
        );
        assert_ne!(
            SecretBytes::from_slice(b"abc"),
            SecretBytes::from_slice(b"abd")
        );
        assert_ne!(
            SecretBytes::from_slice(b"abc"),
            SecretBytes::from_slice(b"abcd")
        );
    }

    #[test]
    fn base32_has_no_padding() {
        let s = SecretBytes::from_slice(b"12345678901234567890");
        assert_eq!(&*s.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(&*SecretBytes::from_slice(b"ab").to_base32(), "MFRA");
    }
}
