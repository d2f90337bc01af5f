//! The authenticated manifest: detects deleted, added, swapped or rolled-back rows.
//!
//! Every write transaction stores, in `meta.manifest`,
//! `generation:u64be || HMAC-SHA256(K_man, body)` with
//! `K_man = HKDF(data key, "countersign manifest v1")` and
//! `body = "CSM1" || generation || count:u32be || for each profile id in
//! byte order: len:u16be || id || SHA-256(payload) || SHA-256(settings blob)
//! || SHA-256(passcode blob or empty) [|| "PAIR" || count:u32be || for each
//! pairing id in byte order: len:u16be || id || SHA-256(payload)]
//! [|| "LOCK" || SHA-256(lockout row)]`, each bracketed section only while
//! it has something to cover (so older vaults keep their MAC). On unlock it
//! is recomputed from the rows and compared in constant time; a mismatch
//! makes the vault unreadable (it is never repaired or deleted
//! automatically).
//!
//! This catches any change to individual rows made without the data key,
//! including restoring one row from an older copy, deleting the passcode
//! verifier or resetting the failed-passcode record. Rolling back the whole
//! file to an older consistent copy is not detectable from the file alone;
//! the vault checks the generation against the protector's rollback counter
//! for that (`docs/vault-format.md`, "Rollback").

use super::crypto::{ct_eq, hmac_sha256, sha256};
use crate::error::VaultError;
use std::collections::BTreeMap;

/// HKDF info of the manifest key.
pub const MANIFEST_INFO: &[u8] = b"countersign manifest v1";

/// Hashes of everything the manifest covers.
#[derive(Clone, Debug, Default)]
pub struct Digests {
    /// Profile id → SHA-256 of its sealed payload.
    pub profiles: BTreeMap<String, [u8; 32]>,
    /// SHA-256 of the sealed settings blob.
    pub settings: [u8; 32],
    /// SHA-256 of the sealed passcode verifier, if one is set.
    pub passcode: Option<[u8; 32]>,
    /// Pairing id → SHA-256 of its sealed payload.
    pub pairings: BTreeMap<String, [u8; 32]>,
    /// SHA-256 of the failed-passcode record, while one is counted.
    pub lockout: Option<[u8; 32]>,
}

impl Digests {
    /// Digest of a blob.
    pub fn of(blob: &[u8]) -> [u8; 32] {
        sha256(blob)
    }

    /// The MAC for `generation`.
    pub fn mac(&self, key: &[u8], generation: u64) -> [u8; 32] {
        let mut body = Vec::with_capacity(16 + self.profiles.len() * 70 + 64);
        body.extend_from_slice(b"CSM1");
        body.extend_from_slice(&generation.to_be_bytes());
        body.extend_from_slice(&(self.profiles.len() as u32).to_be_bytes());
        for (id, d) in &self.profiles {
            body.extend_from_slice(&(id.len() as u16).to_be_bytes());
            body.extend_from_slice(id.as_bytes());
            body.extend_from_slice(d);
        }
        body.extend_from_slice(&self.settings);
        body.extend_from_slice(&self.passcode.unwrap_or_else(|| sha256(b"")));
        // Present only when there are pairings, so a vault migrated from
        // schema 1 keeps its MAC.
        if !self.pairings.is_empty() {
            body.extend_from_slice(b"PAIR");
            body.extend_from_slice(&(self.pairings.len() as u32).to_be_bytes());
            for (id, d) in &self.pairings {
                body.extend_from_slice(&(id.len() as u16).to_be_bytes());
                body.extend_from_slice(id.as_bytes());
                body.extend_from_slice(d);
            }
        }
        // Present only while wrong passcodes are counted, so vaults written
        // before this section existed keep their MAC.
        if let Some(d) = &self.lockout {
            body.extend_from_slice(b"LOCK");
            body.extend_from_slice(d);
        }
        hmac_sha256(key, &[&body])
    }

    /// Serialized manifest value.
    pub fn encode(&self, key: &[u8], generation: u64) -> Vec<u8> {
        let mut v = generation.to_be_bytes().to_vec();
        v.extend_from_slice(&self.mac(key, generation));
        v
    }

    /// Checks a stored manifest that may predate the lockout section: when
    /// the rows only match without it, answers `(generation, true)` — the
    /// caller rewrites the manifest at once. Only a manifest written without
    /// a counted lockout matches that way, so deleting or resetting a covered
    /// record still fails.
    pub fn verify_allowing_legacy(
        &self,
        key: &[u8],
        stored: &[u8],
    ) -> Result<(u64, bool), VaultError> {
        match self.verify(key, stored) {
            Ok(g) => Ok((g, false)),
            Err(e) if self.lockout.is_some() => {
                let legacy = Digests {
                    lockout: None,
                    ..self.clone()
                };
                legacy.verify(key, stored).map(|g| (g, true)).map_err(|_| e)
            }
            Err(e) => Err(e),
        }
    }

    /// Checks a stored manifest; returns its generation.
    pub fn verify(&self, key: &[u8], stored: &[u8]) -> Result<u64, VaultError> {
        if stored.len() != 40 {
            return Err(VaultError::Tampered("manifest has the wrong length".into()));
        }
        let mut g = [0u8; 8];
        g.copy_from_slice(&stored[..8]);
        let generation = u64::from_be_bytes(g);
        if ct_eq(&self.mac(key, generation), &stored[8..]) {
            Ok(generation)
        } else {
            Err(VaultError::Tampered(
                "rows were added, removed or replaced outside the app".into(),
            ))
        }
    }
}
