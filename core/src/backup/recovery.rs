//! Recovery codes: a second, random secret that opens the same backup.
//!
//! 15 random bytes (120 bits) are written as 24 Base32 characters in six
//! groups of four (`ABCD-EFGH-…`). Readers accept any case, spaces and dashes;
//! the KDF input is the 24 upper-case characters without separators.

use super::error::BackupError;
use zeroize::Zeroizing;

/// Random bytes in a recovery code.
const CODE_BYTES: usize = 15;
/// Base32 characters in a recovery code.
pub const CODE_CHARS: usize = 24;

/// A fresh recovery code, grouped for display.
pub(crate) fn generate() -> Result<Zeroizing<String>, BackupError> {
    let mut raw = Zeroizing::new([0u8; CODE_BYTES]);
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw[..])
        .map_err(|_| BackupError::Crypto("system randomness unavailable"))?;
    let plain = Zeroizing::new(base32::encode(
        base32::Alphabet::Rfc4648 { padding: false },
        &raw[..],
    ));
    let mut grouped = Zeroizing::new(String::with_capacity(CODE_CHARS + 5));
    for (i, c) in plain.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            grouped.push('-');
        }
        grouped.push(c);
    }
    Ok(grouped)
}

/// The canonical form of something typed as a recovery code, or `None` when
/// it cannot be one (then only password slots are tried).
pub(crate) fn normalize(input: &str) -> Option<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::with_capacity(CODE_CHARS));
    for c in input.chars() {
        match c {
            '-' | ' ' => {}
            'a'..='z' | 'A'..='Z' | '2'..='7' => {
                if out.len() == CODE_CHARS {
                    return None;
                }
                out.push(c.to_ascii_uppercase());
            }
            _ => return None,
        }
    }
    (out.len() == CODE_CHARS).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_normalize_and_differ() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(*a, *b);
        assert_eq!(a.len(), CODE_CHARS + 5);
        assert_eq!(a.matches('-').count(), 5);
        let n = normalize(&a).unwrap();
        assert_eq!(n.len(), CODE_CHARS);
        assert_eq!(*normalize(&a.to_lowercase().replace('-', " ")).unwrap(), *n);
    }

    #[test]
    fn passwords_are_not_codes() {
        assert!(normalize("correct horse battery staple").is_none());
        assert!(normalize("ABCD-EFGH").is_none());
        assert!(normalize("ABCD-EFGH-IJKL-MNOP-QRST-UVWX-Y").is_none());
        assert!(normalize("ABCD-EFGH-IJKL-MNOP-QRST-UVW1").is_none());
        assert!(normalize("").is_none());
    }
}
