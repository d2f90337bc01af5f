//! Randomness, hashing and constant-time comparison, in one place.
//!
//! All randomness comes from the OS through `ring::rand::SystemRandom`.
//! Secrets the server hands out (pairing tokens, poll tokens, session
//! tokens, the admin token) are 32 random bytes in base64url; only their
//! SHA-256 is stored, and lookups compare digests in constant time.
//! Passwords use Argon2id with the crate's default parameters.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use countersign_core::approve::protocol::b64;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

use crate::error::ServerError;

/// Minimum password length (characters).
pub(crate) const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (bytes), so hashing cost stays bounded.
pub(crate) const MAX_PASSWORD_BYTES: usize = 1024;

fn rng_error() -> ServerError {
    ServerError::Internal("the system random generator failed".into())
}

/// `N` random bytes.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], ServerError> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| rng_error())?;
    Ok(out)
}

/// Lowercase hex (the core's encoder).
pub(crate) use countersign_core::vault::hex;

/// A random id: 16 bytes as 32 lowercase hex characters.
pub(crate) fn random_id() -> Result<String, ServerError> {
    Ok(hex(&random_bytes::<16>()?))
}

/// Whether `s` looks like an id made by [`random_id`].
pub(crate) fn is_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A random secret token: 32 bytes, base64url.
pub(crate) fn random_token() -> Result<String, ServerError> {
    Ok(b64(&random_bytes::<32>()?))
}

/// SHA-256.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

/// Constant-time equality of two digests.
pub(crate) fn digest_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// A uniformly random number in 10..=99.
pub(crate) fn random_number() -> Result<u8, ServerError> {
    loop {
        let [b] = random_bytes::<1>()?;
        // 180 = 2 × 90: reject 180..=255 so every number is equally likely.
        if b < 180 {
            return Ok(10 + b % 90);
        }
    }
}

/// The rules of the password policy a password breaks, as short
/// instructions ("add a digit"); empty when it passes. The policy is the
/// portal's: at least [`MIN_PASSWORD_CHARS`] characters with an upper-case
/// letter, a lower-case letter and a digit, and at most
/// [`MAX_PASSWORD_BYTES`] bytes.
pub(crate) fn password_policy_problems(password: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if password.chars().count() < MIN_PASSWORD_CHARS {
        problems.push(format!("use at least {MIN_PASSWORD_CHARS} characters"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        problems.push(format!("use at most {MAX_PASSWORD_BYTES} bytes"));
    }
    if !password.chars().any(char::is_uppercase) {
        problems.push("add an upper-case letter".to_owned());
    }
    if !password.chars().any(char::is_lowercase) {
        problems.push("add a lower-case letter".to_owned());
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        problems.push("add a digit".to_owned());
    }
    problems
}

/// Checks the password policy ([`password_policy_problems`]); the error
/// lists every unmet rule.
pub(crate) fn check_password_policy(password: &str) -> Result<(), ServerError> {
    let problems = password_policy_problems(password);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ServerError::WeakPassword {
            reason: problems.join("; "),
        })
    }
}

/// Argon2id PHC string of `password` (blocking: call off the async threads).
pub(crate) fn hash_password(password: &str) -> Result<String, ServerError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|_| ServerError::Internal("salt encoding failed".into()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| ServerError::Internal("password hashing failed".into()))
}

/// Whether `password` matches the PHC string (blocking).
pub(crate) fn verify_password(password: &str, phc: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_two_digits_and_spread() {
        let mut seen = [0u32; 100];
        for _ in 0..9000 {
            let n = random_number().unwrap();
            assert!((10..=99).contains(&n));
            seen[usize::from(n)] += 1;
        }
        // 100 expected per number; a fair generator is never this far off.
        assert!(seen[10..].iter().all(|&n| n > 40), "{seen:?}");
    }

    #[test]
    fn ids_and_passwords() {
        let id = random_id().unwrap();
        assert!(is_id(&id));
        assert!(!is_id("ABCDEF0123456789abcdef0123456789"));
        assert_eq!(hex(&[0, 255, 16]), "00ff10");
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_eq!(
            password_policy_problems("short"),
            [
                "use at least 8 characters",
                "add an upper-case letter",
                "add a digit"
            ]
        );
        assert_eq!(
            password_policy_problems("long enough"),
            ["add an upper-case letter", "add a digit"]
        );
        assert_eq!(
            password_policy_problems("ABCDEFG1"),
            ["add a lower-case letter"]
        );
        assert!(password_policy_problems("Long-enough-1").is_empty());
        assert!(
            password_policy_problems(&format!("Aa1{}", "x".repeat(MAX_PASSWORD_BYTES))).len() == 1
        );
        assert!(check_password_policy("Ünïcode-Pass9").is_ok());
    }
}
