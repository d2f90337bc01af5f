//! Approve sign-in pairings stored in the vault.
//!
//! A pairing is what the phone knows about one server account: where the
//! server is, the pinned fingerprint of its TLS key, the device id it gave
//! us and the alias of our signing key in the platform keystore. Rows are
//! sealed like profiles (purpose `pairing`) and covered by the manifest.

use super::crypto::{aad, ct_eq, Purpose};
use super::{RowTable, Unlocked, Vault};
use crate::error::{AuthenticatorError, VaultError};
use serde::{Deserialize, Serialize};

type Result<T, E = AuthenticatorError> = std::result::Result<T, E>;

/// Most approve pairings one device holds.
pub const MAX_PAIRINGS: usize = 20;

/// One pairing with a sign-in server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pairing {
    /// Local id (32 hex characters).
    pub id: String,
    /// The server's id.
    pub server_id: String,
    /// The server's name.
    pub server_name: String,
    /// Base URLs to try, in order.
    pub urls: Vec<String>,
    /// Pinned SHA-256 of the server's TLS SubjectPublicKeyInfo, hex.
    pub spki_sha256_hex: String,
    /// Account on the server.
    pub account: String,
    /// Device id the server assigned.
    pub device_id: String,
    /// Alias of our signing key in the platform keystore.
    pub key_alias: String,
    /// When paired, Unix seconds.
    pub created_at: i64,
    /// Server time minus device time at the last answer, seconds.
    #[serde(default)]
    pub clock_offset_s: i64,
    /// Push token registered with the server ("" for none).
    #[serde(default)]
    pub push_token: String,
    /// Id of the last notice received from the server (a new pairing, a
    /// changed backup email, …); the next fetch asks for newer ones.
    #[serde(default)]
    pub notices_seen: i64,
}

impl Pairing {
    /// The pinned fingerprint as bytes.
    pub fn spki_sha256(&self) -> Option<[u8; 32]> {
        super::crypto::unhex(&self.spki_sha256_hex)?.try_into().ok()
    }
}

pub(super) fn decode(id: &str, plain: &[u8]) -> Result<Pairing, VaultError> {
    let p: Pairing = serde_json::from_slice(plain)
        .map_err(|_| VaultError::Corrupt("malformed pairing record".into()))?;
    if p.id != id {
        return Err(VaultError::Corrupt("pairing record id mismatch".into()));
    }
    Ok(p)
}

impl Unlocked {
    fn write_pairings(
        &mut self,
        conn: &rusqlite::Connection,
        vault_id: &[u8; 16],
        changed: Vec<Pairing>,
        removed: &[String],
    ) -> Result<(), VaultError> {
        let mut rows = Vec::with_capacity(changed.len());
        for p in &changed {
            let json = zeroize::Zeroizing::new(
                serde_json::to_vec(p).map_err(|e| VaultError::Invalid(e.to_string()))?,
            );
            rows.push((
                p.id.as_str(),
                self.key
                    .seal(&aad(Purpose::Pairing, &p.id, vault_id), &json)?,
            ));
        }
        self.commit_rows(conn, RowTable::Pairings, &rows, removed)?;
        self.pairings.retain(|p| !removed.contains(&p.id));
        for p in changed {
            match self.pairings.iter_mut().find(|q| q.id == p.id) {
                Some(slot) => *slot = p,
                None => self.pairings.push(p),
            }
        }
        self.pairings
            .sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(())
    }
}

impl Vault {
    /// All pairings, oldest first.
    pub fn pairings(&self) -> Result<Vec<Pairing>> {
        self.with_unlocked(|u, _, _| Ok(u.pairings.clone()))
    }

    /// One pairing.
    pub fn pairing(&self, id: &str) -> Result<Pairing> {
        self.with_unlocked(|u, _, _| {
            u.pairings
                .iter()
                .find(|p| p.id == id)
                .cloned()
                .ok_or(VaultError::NotFound)
        })
    }

    /// Stores a new pairing. At most [`MAX_PAIRINGS`]; one per server account.
    pub fn add_pairing(&self, p: Pairing) -> Result<()> {
        self.with_unlocked(|u, conn, vid| {
            if let Some(q) = u
                .pairings
                .iter()
                .find(|q| q.server_id == p.server_id && q.account == p.account)
            {
                return Err(VaultError::Duplicate(q.id.clone()));
            }
            if u.pairings.len() >= MAX_PAIRINGS {
                return Err(VaultError::Limit {
                    limit: MAX_PAIRINGS as u32,
                    what: "approve pairings",
                });
            }
            if p.spki_sha256().is_none() {
                return Err(VaultError::Invalid(
                    "pairing fingerprint must be 64 hex characters".into(),
                ));
            }
            u.write_pairings(conn, vid, vec![p], &[])
        })
    }

    /// Room for another pairing? (Checked before creating keys on the server.)
    pub fn can_add_pairing(&self, server_id: &str, account: &str) -> Result<()> {
        self.with_unlocked(|u, _, _| {
            if let Some(q) = u
                .pairings
                .iter()
                .find(|q| q.server_id == server_id && q.account == account)
            {
                return Err(VaultError::Duplicate(q.id.clone()));
            }
            if u.pairings.len() >= MAX_PAIRINGS {
                return Err(VaultError::Limit {
                    limit: MAX_PAIRINGS as u32,
                    what: "approve pairings",
                });
            }
            Ok(())
        })
    }

    /// Replaces a stored pairing (same id).
    pub fn update_pairing(&self, p: Pairing) -> Result<()> {
        self.with_unlocked(|u, conn, vid| {
            if !u.pairings.iter().any(|q| q.id == p.id) {
                return Err(VaultError::NotFound);
            }
            u.write_pairings(conn, vid, vec![p], &[])
        })
    }

    /// Deletes a pairing (its signing key is deleted by the caller).
    pub fn remove_pairing(&self, id: &str) -> Result<()> {
        self.with_unlocked(|u, conn, vid| {
            if !u.pairings.iter().any(|q| q.id == id) {
                return Err(VaultError::NotFound);
            }
            u.write_pairings(conn, vid, Vec::new(), &[id.to_owned()])
        })
    }

    /// Creates a device signing key in the platform keystore (no vault
    /// lock held during the call).
    pub fn create_device_key(&self, alias: &str, require_user_auth: bool) -> Result<Vec<u8>> {
        let public = self
            .protector
            .create_signing_key(alias, require_user_auth)
            .map_err(VaultError::from)?;
        if public.len() != 65 || public[0] != 4 {
            return Err(VaultError::Protector(super::ProtectorError::Platform(
                "signing key is not an uncompressed P-256 point".into(),
            ))
            .into());
        }
        Ok(public)
    }

    /// Signs with a device key (no vault lock held during the call).
    pub fn sign_with_device_key(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>> {
        if self.is_locked() {
            return Err(AuthenticatorError::VaultLocked);
        }
        Ok(self
            .protector
            .sign(alias, message)
            .map_err(VaultError::from)?)
    }

    /// Deletes a device signing key.
    pub fn delete_device_key(&self, alias: &str) -> Result<()> {
        Ok(self
            .protector
            .delete_signing_key(alias)
            .map_err(VaultError::from)?)
    }

    /// Requires the user to authenticate to the platform now (biometrics or
    /// device credential), by unwrapping the biometric slot and checking it
    /// yields this vault's key. Used before sending an Approve when "require
    /// screen lock after Approve" is on.
    pub fn confirm_user_presence(&self) -> Result<()> {
        let run = || -> Result<(), VaultError> {
            let (alias, wrapped) = {
                let s = self.state()?;
                if s.unlocked.is_none() {
                    return Err(VaultError::Locked);
                }
                super::slot(&s.conn, super::SLOT_BIOMETRIC)?.ok_or_else(|| {
                    VaultError::Protector(super::ProtectorError::Platform(
                        "screen lock is required to approve: enable biometric unlock, or turn off \
                         \"require screen lock after Approve\""
                            .into(),
                    ))
                })?
            };
            let dek = self.protector.unwrap(&alias, &wrapped)?;
            let s = self.state()?;
            let u = s.unlocked.as_ref().ok_or(VaultError::Locked)?;
            if ct_eq(dek.expose(), &u.key.raw()[..]) {
                Ok(())
            } else {
                Err(VaultError::Protector(super::ProtectorError::BadBlob))
            }
        };
        run().map_err(Into::into)
    }
}
