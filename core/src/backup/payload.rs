//! The decrypted payload: profiles with their seeds, settings and, if asked
//! for, what the user needs to know to pair approve servers again.

use super::error::BackupError;
use crate::otp::{Algorithm, OtpParams, OtpType};
use crate::profile::{NewProfile, Profile};
use crate::secret::SecretBytes;
use crate::vault::{Pairing, Settings};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Base32 seed text, wiped when dropped.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(transparent)]
struct Base32Secret(String);

/// One profile as stored in the payload.
#[derive(Serialize, Deserialize)]
struct ProfileRecord {
    issuer: String,
    account: String,
    secret: Base32Secret,
    #[serde(rename = "type")]
    otp_type: OtpType,
    algorithm: Algorithm,
    digits: u8,
    period: u32,
    counter: u64,
    #[serde(default)]
    note: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    favorite: bool,
    #[serde(default)]
    sort_order: i64,
}

/// What a backup holds about an approve pairing: enough to pair again, and
/// never a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingInfo {
    /// The server's id.
    pub server_id: String,
    /// The server's name.
    pub server_name: String,
    /// Base URLs, in order.
    pub urls: Vec<String>,
    /// Pinned SHA-256 of the server's TLS key, hex.
    pub spki_sha256_hex: String,
    /// Account on the server.
    pub account: String,
}

impl From<&Pairing> for PairingInfo {
    fn from(p: &Pairing) -> Self {
        Self {
            server_id: p.server_id.clone(),
            server_name: p.server_name.clone(),
            urls: p.urls.clone(),
            spki_sha256_hex: p.spki_sha256_hex.clone(),
            account: p.account.clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct PayloadJson {
    profiles: Vec<ProfileRecord>,
    settings: Settings,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pairings: Option<Vec<PairingInfo>>,
}

/// A profile read from a backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupProfile {
    /// The profile, ready for [`crate::Vault::add_many`].
    pub profile: NewProfile,
    /// Its position in the backed-up vault's list.
    pub sort_order: i64,
}

/// Everything a backup holds, decrypted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupContents {
    /// When the backup was made (from the authenticated header), Unix seconds.
    pub created_at: i64,
    /// Profiles in list order.
    pub profiles: Vec<BackupProfile>,
    /// The backed-up vault's settings.
    pub settings: Settings,
    /// Approve pairings' metadata, when the backup included it (else empty).
    pub pairings: Vec<PairingInfo>,
}

/// Encodes the payload JSON.
pub(crate) fn encode(
    profiles: &[Profile],
    settings: Settings,
    pairings: Option<Vec<PairingInfo>>,
) -> Result<Zeroizing<Vec<u8>>, BackupError> {
    let doc = PayloadJson {
        profiles: profiles
            .iter()
            .map(|p| ProfileRecord {
                issuer: p.issuer.clone(),
                account: p.account.clone(),
                secret: Base32Secret(p.secret.to_base32().to_string()),
                otp_type: p.params.otp_type,
                algorithm: p.params.algorithm,
                digits: p.params.digits,
                period: p.params.period,
                counter: p.params.counter,
                note: p.note.clone(),
                group: p.group.clone(),
                favorite: p.favorite,
                sort_order: p.sort_order,
            })
            .collect(),
        settings,
        pairings,
    };
    serde_json::to_vec(&doc)
        .map(Zeroizing::new)
        .map_err(|_| BackupError::Crypto("payload encoding"))
}

/// Decodes the payload JSON (already authenticated).
pub(crate) fn decode(plain: &[u8], created_at: i64) -> Result<BackupContents, BackupError> {
    let doc: PayloadJson = serde_json::from_slice(plain)
        .map_err(|_| BackupError::Malformed("payload is not valid JSON"))?;
    let mut profiles = Vec::with_capacity(doc.profiles.len());
    for r in &doc.profiles {
        let bytes = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &r.secret.0)
            .ok_or(BackupError::Malformed("a profile secret is not base32"))?;
        let mut p = NewProfile::new(
            &r.issuer,
            &r.account,
            SecretBytes::new(bytes),
            OtpParams {
                otp_type: r.otp_type,
                algorithm: r.algorithm,
                digits: r.digits,
                period: r.period,
                counter: r.counter,
            },
        );
        p.note = r.note.clone();
        p.group = r.group.clone();
        p.favorite = r.favorite;
        profiles.push(BackupProfile {
            profile: p,
            sort_order: r.sort_order,
        });
    }
    profiles.sort_by_key(|p| p.sort_order);
    Ok(BackupContents {
        created_at,
        profiles,
        settings: doc.settings,
        pairings: doc.pairings.unwrap_or_default(),
    })
}
