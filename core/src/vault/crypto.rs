//! Record encryption: AES-256-GCM with a per-purpose, per-record AAD.
//!
//! Every encrypted blob in the vault is `0x01 || nonce(12) || ciphertext || tag(16)`.
//! The AAD binds the blob to the vault it belongs to, what it is (its
//! purpose) and which record it is, so a blob cannot be moved to another row,
//! another vault, or reinterpreted as something else:
//! `"CSV1" || len(purpose):u8 || purpose || len(record):u16be || record || vault_id(16)`.
//! Subkeys (passcode verifier, manifest MAC) come from the data key by
//! HKDF-SHA256 with distinct `info` strings.

use crate::error::VaultError;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// Format byte of sealed blobs.
const SEAL_VERSION: u8 = 1;
/// Bytes added by sealing: version, nonce, tag.
pub const SEAL_OVERHEAD: usize = 1 + NONCE_LEN + 16;
/// Length of the data key.
pub const KEY_LEN: usize = 32;
/// Length of a vault id.
pub const VAULT_ID_LEN: usize = 16;

/// What a sealed blob is; part of its AAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A profile row.
    Profile,
    /// The settings record.
    Settings,
    /// The passcode verifier.
    Passcode,
    /// The data key wrapped by the software key protector.
    SoftwareSlot,
    /// An approve sign-in pairing row.
    Pairing,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Profile => b"profile",
            Purpose::Settings => b"settings",
            Purpose::Passcode => b"passcode",
            Purpose::SoftwareSlot => b"software-slot",
            Purpose::Pairing => b"pairing",
        }
    }
}

/// Fills a buffer from the OS random source.
pub fn random_bytes(out: &mut [u8]) -> Result<(), VaultError> {
    SystemRandom::new()
        .fill(out)
        .map_err(|_| VaultError::Crypto("system randomness unavailable"))
}

/// A fresh random 32-byte key.
pub fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>, VaultError> {
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    random_bytes(&mut k[..])?;
    Ok(k)
}

/// Random id as 32 lower-case hex characters.
pub fn random_id() -> Result<String, VaultError> {
    let mut b = [0u8; 16];
    random_bytes(&mut b)?;
    Ok(hex(&b))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(H[usize::from(b >> 4)]));
        s.push(char::from(H[usize::from(b & 15)]));
    }
    s
}

/// Hex (either case) to bytes; `None` on odd length or a non-hex character.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks(2)
        .map(|p| {
            let hi = (*p.first()? as char).to_digit(16)?;
            let lo = (*p.get(1)? as char).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

/// Builds the AAD for a blob.
pub fn aad(purpose: Purpose, record: &str, vault_id: &[u8; VAULT_ID_LEN]) -> Vec<u8> {
    let p = purpose.label();
    let r = record.as_bytes();
    let mut a = Vec::with_capacity(4 + 1 + p.len() + 2 + r.len() + VAULT_ID_LEN);
    a.extend_from_slice(b"CSV1");
    a.push(p.len() as u8);
    a.extend_from_slice(p);
    // Record ids are at most a few dozen bytes; truncating the length would
    // only make AADs collide for ids over 64 KiB, which we never create.
    a.extend_from_slice(&(r.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
    a.extend_from_slice(r);
    a.extend_from_slice(vault_id);
    a
}

/// An AES-256-GCM key held while the vault is unlocked.
///
/// The raw bytes are zeroized on drop; ring's expanded key schedule is not
/// (a ring limitation), and is dropped with this value.
pub struct SealKey {
    raw: Zeroizing<[u8; KEY_LEN]>,
    key: LessSafeKey,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

impl SealKey {
    /// Builds a key from 32 bytes.
    pub fn new(raw: &[u8]) -> Result<Self, VaultError> {
        let arr: [u8; KEY_LEN] = raw
            .try_into()
            .map_err(|_| VaultError::Corrupt(format!("key must be {KEY_LEN} bytes")))?;
        let raw = Zeroizing::new(arr);
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &raw[..]).map_err(|_| VaultError::Crypto("aes key"))?,
        );
        Ok(Self { raw, key })
    }

    /// The raw key bytes (for wrapping into slots and deriving subkeys).
    pub fn raw(&self) -> &[u8; KEY_LEN] {
        &self.raw
    }

    /// Encrypts `plaintext` with a random nonce.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        let mut out = Vec::with_capacity(plaintext.len() + SEAL_OVERHEAD);
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut out[1 + NONCE_LEN..],
            )
            .map_err(|_| VaultError::Crypto("seal"))?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Decrypts a blob made by [`SealKey::seal`] with the same AAD.
    pub fn open(
        &self,
        aad: &[u8],
        blob: &[u8],
        what: &'static str,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        if blob.len() < SEAL_OVERHEAD || blob[0] != SEAL_VERSION {
            return Err(VaultError::Decrypt(what));
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&blob[1..1 + NONCE_LEN]);
        let mut buf = Zeroizing::new(blob[1 + NONCE_LEN..].to_vec());
        let n = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut buf[..],
            )
            .map_err(|_| VaultError::Decrypt(what))?
            .len();
        buf.truncate(n);
        Ok(buf)
    }

    /// A 32-byte subkey for `info` (HKDF-SHA256, salt = vault id).
    pub fn subkey(
        &self,
        info: &'static [u8],
        vault_id: &[u8; VAULT_ID_LEN],
    ) -> Result<Zeroizing<[u8; 32]>, VaultError> {
        derive(&self.raw[..], vault_id, info)
    }
}

/// HKDF-SHA256 extract+expand to 32 bytes.
pub fn derive(
    ikm: &[u8],
    salt: &[u8],
    info: &'static [u8],
) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    struct Len32;
    impl ring::hkdf::KeyType for Len32 {
        fn len(&self) -> usize {
            32
        }
    }
    let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, salt).extract(ikm);
    let infos = [info];
    let okm = prk
        .expand(&infos, Len32)
        .map_err(|_| VaultError::Crypto("hkdf"))?;
    let mut out = Zeroizing::new([0u8; 32]);
    okm.fill(&mut out[..])
        .map_err(|_| VaultError::Crypto("hkdf"))?;
    Ok(out)
}

/// HMAC-SHA256.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let mut ctx = ring::hmac::Context::with_key(&k);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
    out
}

/// Constant-time equality.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_aad_binding() {
        let k = SealKey::new(&[7u8; 32]).unwrap();
        let vid = [1u8; 16];
        let a = aad(Purpose::Profile, "abc", &vid);
        let blob = k.seal(&a, b"hello").unwrap();
        assert_eq!(blob.len(), 5 + SEAL_OVERHEAD);
        assert_eq!(&k.open(&a, &blob, "t").unwrap()[..], b"hello");
        // Another record, purpose or vault: refused.
        for other in [
            aad(Purpose::Profile, "abd", &vid),
            aad(Purpose::Settings, "abc", &vid),
            aad(Purpose::Profile, "abc", &[2u8; 16]),
        ] {
            assert!(k.open(&other, &blob, "t").is_err());
        }
        let mut bad = blob.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(k.open(&a, &bad, "t").is_err());
        assert!(k.open(&a, &blob[..10], "t").is_err());
        let k2 = SealKey::new(&[8u8; 32]).unwrap();
        assert!(k2.open(&a, &blob, "t").is_err());
    }

    #[test]
    fn aad_is_length_prefixed() {
        // "ab" + "c" vs "a" + "bc" style ambiguity cannot arise.
        assert_ne!(
            aad(Purpose::Profile, "", &[0; 16]),
            aad(Purpose::Settings, "", &[0; 16])
        );
        assert_ne!(
            aad(Purpose::Profile, "a", &[0; 16])[..],
            aad(Purpose::Profile, "", &[0; 16])[..]
        );
    }

    #[test]
    fn bad_key_length_is_an_error() {
        assert!(SealKey::new(&[0u8; 16]).is_err());
    }

    #[test]
    fn hkdf_subkeys_differ_by_info() {
        let k = SealKey::new(&[7u8; 32]).unwrap();
        let a = k.subkey(b"a", &[0; 16]).unwrap();
        let b = k.subkey(b"b", &[0; 16]).unwrap();
        assert_ne!(*a, *b);
        assert_eq!(hex(&[0xab, 0x01]), "ab01");
    }
}
