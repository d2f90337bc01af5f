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
//! The same file keys the MACs of device cookies (known browsers) and the
//! digests of emailed emergency codes (8 digits, so a
//! plain hash of one could be found by trying them all).
//!
//! Stored form: `CSS1` ‖ 12-byte nonce ‖ ciphertext ‖ 16-byte tag. Seeds
//! stored before sealing existed (plain bytes) still open as they are; the
//! chance that a plain seed starts with `CSS1` and is as long as a sealed
//! one is 2^-32 per seed, and it would show as an error, never a wrong code.

use std::fs;
use std::path::Path;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::{hkdf, hmac};
use zeroize::Zeroizing;

use crate::crypto::random_bytes;
use crate::error::ServerError;
use crate::store::OtpSecret;

const MAGIC: &[u8; 4] = b"CSS1";
const TAG_LEN: usize = 16;
/// File name of the key in the data directory.
pub(crate) const FILE: &str = "seed.key";

/// The key that seals TOTP seeds, and the one that keys emergency codes'
/// digests, both derived (HKDF-SHA256, distinct labels) from `seed.key`.
pub(crate) struct SeedKey {
    seeds: LessSafeKey,
    codes: hmac::Key,
    browsers: hmac::Key,
}

/// An HKDF output length for ring.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

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
        let fail = |_| ServerError::Internal("deriving the seed keys".into());
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"countersign-server seed.key").extract(bytes);
        let mut seeds = Zeroizing::new([0u8; 32]);
        prk.expand(&[b"totp seeds v1"], Len(32))
            .and_then(|okm| okm.fill(seeds.as_mut_slice()))
            .map_err(fail)?;
        let mut codes = Zeroizing::new([0u8; 32]);
        prk.expand(&[b"emergency codes v1"], Len(32))
            .and_then(|okm| okm.fill(codes.as_mut_slice()))
            .map_err(fail)?;
        let mut browsers = Zeroizing::new([0u8; 32]);
        prk.expand(&[b"device cookies v1"], Len(32))
            .and_then(|okm| okm.fill(browsers.as_mut_slice()))
            .map_err(fail)?;
        let seeds = UnboundKey::new(&AES_256_GCM, seeds.as_slice()).map_err(fail)?;
        Ok(Self {
            seeds: LessSafeKey::new(seeds),
            codes: hmac::Key::new(hmac::HMAC_SHA256, codes.as_slice()),
            browsers: hmac::Key::new(hmac::HMAC_SHA256, browsers.as_slice()),
        })
    }

    /// What the database keeps of an emergency code: HMAC-SHA256 under a key
    /// outside the database, so a copy of the database cannot be searched
    /// for the 10^8 possible codes offline. Bound to the account.
    pub(crate) fn emergency_code_digest(&self, account: &str, code: &str) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.codes);
        ctx.update(account.as_bytes());
        ctx.update(&[0]);
        ctx.update(code.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// The MAC of a browser id in its device cookie (every node derives the
    /// same key from the shared `seed.key`, so any node accepts the cookie).
    pub(crate) fn browser_mac(&self, browser_id: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.browsers);
        ctx.update(b"countersign device cookie v1\0");
        ctx.update(browser_id);
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
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
            .seeds
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
            .seeds
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
    fn emergency_code_digests_are_keyed_and_bound_to_the_account() {
        let dir = tempfile::tempdir().unwrap();
        let key = SeedKey::load_or_create(dir.path()).unwrap();
        let d = key.emergency_code_digest("alice", "12345678");
        assert_eq!(d, key.emergency_code_digest("alice", "12345678"));
        assert_ne!(d, key.emergency_code_digest("bob", "12345678"));
        assert_ne!(d, key.emergency_code_digest("alice", "12345679"));
        assert_ne!(d, crate::crypto::sha256(b"12345678"));
        let other = SeedKey::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
        assert_ne!(d, other.emergency_code_digest("alice", "12345678"));
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
