//! TOTP seeds at rest.
//!
//! A seed in the database is enough to make a user's codes, and databases
//! get copied (backups, replicas, a PostgreSQL on another host). So seeds
//! are stored sealed: AES-256-GCM under the server's seed key with the
//! account name as associated data (a sealed seed moved to another account
//! does not open). The key lives in `<data>/seed.key` (32 random bytes as
//! hex, mode 0600, made on first start), next to the TLS key and outside
//! the database; nodes sharing a PostgreSQL database share the data
//! directory and so the key. Losing `seed.key` means every user enrolls
//! their authenticator app again (their other methods still work).
//!
//! Stored form: `CSS1` ‖ 12-byte nonce ‖ ciphertext ‖ 16-byte tag. Seeds
//! stored before sealing existed (plain bytes) still open as they are; the
//! chance that a plain seed starts with `CSS1` and is as long as a sealed
//! one is 2^-32 per seed, and it would show as an error, never a wrong code.

use std::fs;
use std::path::Path;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use zeroize::Zeroizing;

use crate::crypto::random_bytes;
use crate::error::ServerError;
use crate::store::OtpSecret;

const MAGIC: &[u8; 4] = b"CSS1";
const TAG_LEN: usize = 16;
/// File name of the key in the data directory.
pub(crate) const FILE: &str = "seed.key";

/// The key that seals TOTP seeds.
pub(crate) struct SeedKey(LessSafeKey);

impl std::fmt::Debug for SeedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeedKey(<redacted>)")
    }
}

fn unusable() -> ServerError {
    ServerError::Internal("a stored TOTP seed cannot be opened (was seed.key replaced?)".into())
}

impl SeedKey {
    fn from_bytes(bytes: &[u8; 32]) -> Result<Self, ServerError> {
        UnboundKey::new(&AES_256_GCM, bytes)
            .map(|k| Self(LessSafeKey::new(k)))
            .map_err(|_| ServerError::Internal("seed key".into()))
    }

    /// Reads `<dir>/seed.key`, or makes one (mode 0600). Never replaces an
    /// existing file: two nodes starting at once on one data directory end
    /// up with the same key (the second one's link fails and it reads the
    /// first one's).
    pub(crate) fn load_or_create(dir: &Path) -> Result<Self, ServerError> {
        let path = dir.join(FILE);
        if !path.exists() {
            let key = Zeroizing::new(random_bytes::<32>()?);
            let text = Zeroizing::new(format!("{}\n", crate::crypto::hex(key.as_slice())));
            let tmp = dir.join(format!(
                "{FILE}.{}.tmp",
                crate::crypto::hex(&random_bytes::<8>()?)
            ));
            crate::tls::cert::write_file(&tmp, text.as_bytes(), 0o600)?;
            let linked = fs::hard_link(&tmp, &path);
            let _ = fs::remove_file(&tmp);
            match linked {
                Ok(()) => return Self::from_bytes(&key),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(ServerError::io("create seed key", &path, e)),
            }
        }
        let text = Zeroizing::new(
            fs::read_to_string(&path).map_err(|e| ServerError::io("read seed key", &path, e))?,
        );
        let bytes = countersign_core::vault::unhex(text.trim())
            .map(Zeroizing::new)
            .filter(|b| b.len() == 32)
            .ok_or_else(|| ServerError::invalid("seed.key is not 64 hex characters"))?;
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&bytes);
        Self::from_bytes(&key)
    }

    /// The stored form of `seed` for `account`.
    pub(crate) fn seal(&self, account: &str, seed: &OtpSecret) -> Result<OtpSecret, ServerError> {
        let nonce = random_bytes::<NONCE_LEN>()?;
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + seed.expose().len() + TAG_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(seed.expose());
        let start = MAGIC.len() + NONCE_LEN;
        let tag = self
            .0
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(account.as_bytes()),
                &mut out[start..],
            )
            .map_err(|_| ServerError::Internal("sealing a TOTP seed".into()))?;
        out.extend_from_slice(tag.as_ref());
        Ok(OtpSecret::new(out))
    }

    /// The seed from its stored form (plain seeds from before sealing are
    /// returned as they are).
    pub(crate) fn open(&self, account: &str, stored: &OtpSecret) -> Result<OtpSecret, ServerError> {
        let bytes = stored.expose();
        let Some(rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
            return Ok(stored.clone());
        };
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(unusable());
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| unusable())?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(account.as_bytes()), &mut buf)
            .map_err(|_| unusable())?;
        Ok(OtpSecret::new(plain.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_round_trip_and_are_bound_to_the_account() {
        let dir = tempfile::tempdir().unwrap();
        let key = SeedKey::load_or_create(dir.path()).unwrap();
        let seed = OtpSecret::new(b"12345678901234567890".to_vec());
        let stored = key.seal("alice", &seed).unwrap();
        assert!(!stored
            .expose()
            .windows(20)
            .any(|w| w == b"12345678901234567890"));
        assert_eq!(stored.expose().len(), 4 + 12 + 20 + 16);
        assert_eq!(key.open("alice", &stored).unwrap(), seed);
        assert!(key.open("bob", &stored).is_err());
        // Two seals of one seed differ (fresh nonce).
        assert_ne!(key.seal("alice", &seed).unwrap(), stored);
        // The same file gives the same key; another key cannot open it.
        let again = SeedKey::load_or_create(dir.path()).unwrap();
        assert_eq!(again.open("alice", &stored).unwrap(), seed);
        let other = SeedKey::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
        assert!(other.open("alice", &stored).is_err());
        // Tampering and truncation are errors, not wrong seeds.
        let mut bad = stored.expose().to_vec();
        bad[20] ^= 1;
        assert!(key.open("alice", &OtpSecret::new(bad)).is_err());
        assert!(key
            .open("alice", &OtpSecret::new(b"CSS1short".to_vec()))
            .is_err());
    }

    #[test]
    fn plain_seeds_from_before_sealing_still_open() {
        let dir = tempfile::tempdir().unwrap();
        let key = SeedKey::load_or_create(dir.path()).unwrap();
        let plain = OtpSecret::new(vec![7; 20]);
        assert_eq!(key.open("alice", &plain).unwrap(), plain);
    }

    #[test]
    fn a_damaged_key_file_is_an_error_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "not hex\n").unwrap();
        assert!(SeedKey::load_or_create(dir.path()).is_err());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(FILE)).unwrap(),
            "not hex\n"
        );
    }
}
