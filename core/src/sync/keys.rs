//! The sync secret and everything derived from it.
//!
//! A user's devices share one random *sync code* (24 Base32 characters,
//! 120 bits, the same shape as a backup recovery code; shown as text and in
//! the join QR). Every key is derived from it with HMAC-SHA256 under a
//! distinct label, so the server, which only ever sees derived values, can
//! neither read entries nor link them to profiles:
//!
//! - `space_id` (32 hex): names the space on the server;
//! - `token`: the bearer token for the space (the server stores its SHA-256);
//! - `enc`: the AES-256-GCM key for entries;
//! - `entry`: keyed hash from a sync id to the opaque entry id.
//!
//! An entry blob is `nonce (12) ‖ AES-256-GCM(enc, nonce, aad = "countersign-
//! sync-v1" ‖ space_id ‖ entry_id, encoded SyncEntry)`, so a blob cannot be
//! replayed under another entry id or into another space.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hmac;
use zeroize::Zeroizing;

use crate::backup::recovery;
use crate::error::AuthenticatorError;

const LABEL: &[u8] = b"countersign-sync-v1";

/// Keys derived from a sync code. Zeroized on drop; `Debug` shows only the
/// space id.
pub struct SyncKeys {
    code: Zeroizing<String>,
    space_id: String,
    token: Zeroizing<String>,
    enc: Zeroizing<[u8; 32]>,
    entry: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for SyncKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncKeys")
            .field("space_id", &self.space_id)
            .finish_non_exhaustive()
    }
}

fn derive(code: &str, label: &str) -> Zeroizing<[u8; 32]> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, code.as_bytes());
    let mut msg = LABEL.to_vec();
    msg.push(b'/');
    msg.extend_from_slice(label.as_bytes());
    let tag = hmac::sign(&key, &msg);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(tag.as_ref());
    out
}

fn invalid(reason: &str) -> AuthenticatorError {
    AuthenticatorError::InvalidInput {
        reason: reason.to_owned(),
    }
}

impl SyncKeys {
    /// A fresh random sync code and its keys.
    pub fn generate() -> Result<Self, AuthenticatorError> {
        let code = recovery::generate().map_err(AuthenticatorError::from)?;
        Self::from_code(&code)
    }

    /// Keys for a typed or scanned sync code (spaces, dashes and case are
    /// ignored). A code of the wrong shape is `InvalidInput`.
    pub fn from_code(code: &str) -> Result<Self, AuthenticatorError> {
        let canonical = recovery::normalize(code)
            .ok_or_else(|| invalid("a sync code is 24 letters and digits (A–Z, 2–7)"))?;
        let space = derive(&canonical, "space");
        let token = derive(&canonical, "token");
        Ok(Self {
            space_id: crate::vault::hex(&space[..16]),
            token: Zeroizing::new(crate::vault::hex(&token[..])),
            enc: derive(&canonical, "enc"),
            entry: derive(&canonical, "entry"),
            code: canonical,
        })
    }

    /// The code in groups of four, for showing once and for the join QR.
    pub fn display_code(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(30));
        for (i, c) in self.code.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }

    /// The canonical code (24 characters).
    pub(crate) fn code(&self) -> &str {
        &self.code
    }

    /// The space's name on the server.
    pub fn space_id(&self) -> &str {
        &self.space_id
    }

    /// The bearer token for the space.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// The opaque entry id of a sync id.
    pub fn entry_id(&self, sync_id: &str) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.entry[..]);
        crate::vault::hex(&hmac::sign(&key, sync_id.as_bytes()).as_ref()[..16])
    }

    fn aad(&self, entry_id: &str) -> Vec<u8> {
        let mut aad = LABEL.to_vec();
        aad.extend_from_slice(self.space_id.as_bytes());
        aad.extend_from_slice(entry_id.as_bytes());
        aad
    }

    fn cipher(&self) -> Result<LessSafeKey, AuthenticatorError> {
        Ok(LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &self.enc[..]).map_err(|_| {
                AuthenticatorError::Internal {
                    reason: "sync key".into(),
                }
            })?,
        ))
    }

    /// Encrypts an encoded entry for `entry_id`.
    pub fn seal(&self, entry_id: &str, plain: &[u8]) -> Result<Vec<u8>, AuthenticatorError> {
        let mut nonce = [0u8; NONCE_LEN];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce).map_err(
            |_| AuthenticatorError::Internal {
                reason: "system randomness unavailable".into(),
            },
        )?;
        let mut buf = plain.to_vec();
        self.cipher()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad(entry_id)),
                &mut buf,
            )
            .map_err(|_| AuthenticatorError::Internal {
                reason: "sync seal".into(),
            })?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Decrypts a blob for `entry_id`; a blob from another key, space or
    /// entry, or a damaged one, is `VaultUnreadable`.
    pub fn open(
        &self,
        entry_id: &str,
        blob: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, AuthenticatorError> {
        let bad = || AuthenticatorError::VaultUnreadable {
            reason: "a sync entry does not decrypt with this sync code".into(),
        };
        if blob.len() < NONCE_LEN + 16 {
            return Err(bad());
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| bad())?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let len = self
            .cipher()?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad(entry_id)),
                &mut buf[..],
            )
            .map_err(|_| bad())?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_is_stable_and_blobs_are_bound() {
        let a = SyncKeys::from_code("ABCD EFGH IJKL MNOP QRST UVWX").unwrap();
        let b = SyncKeys::from_code("abcd-efgh-ijkl-mnop-qrst-uvwx").unwrap();
        assert_eq!(a.space_id(), b.space_id());
        assert_eq!(a.space_id().len(), 32);
        assert_eq!(&*a.display_code(), "ABCD-EFGH-IJKL-MNOP-QRST-UVWX");
        assert_ne!(a.token(), a.space_id());
        let id = a.entry_id("profile-1");
        assert_eq!(id, b.entry_id("profile-1"));
        assert_ne!(id, a.entry_id("profile-2"));
        let blob = a.seal(&id, b"hello").unwrap();
        assert_eq!(&b.open(&id, &blob).unwrap()[..], b"hello");
        assert!(
            a.open(&a.entry_id("profile-2"), &blob).is_err(),
            "moved to another entry"
        );
        let other = SyncKeys::generate().unwrap();
        assert!(other.open(&id, &blob).is_err(), "another key");
        let mut flipped = blob.clone();
        flipped[20] ^= 1;
        assert!(a.open(&id, &flipped).is_err());
        assert!(a.open(&id, &blob[..10]).is_err());
        assert!(SyncKeys::from_code("too short").is_err());
    }
}
