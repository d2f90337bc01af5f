//! Encoding of a profile row's plaintext before sealing.
//!
//! `0x01 || secret_len:u16be || secret || JSON(metadata)`. The seed is kept
//! out of the JSON so it is only ever copied into zeroizing buffers.

use crate::error::VaultError;
use crate::otp::OtpParams;
use crate::profile::Profile;
use crate::secret::SecretBytes;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const RECORD_VERSION: u8 = 1;

#[derive(Serialize, Deserialize)]
struct Meta<'a> {
    #[serde(borrow)]
    issuer: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    account: std::borrow::Cow<'a, str>,
    params: OtpParams,
    #[serde(borrow, default)]
    note: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    group: std::borrow::Cow<'a, str>,
    #[serde(default)]
    favorite: bool,
    sort_order: i64,
    created_at: i64,
    updated_at: i64,
}

/// Serializes a profile for sealing.
pub fn encode(p: &Profile) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let secret = p.secret.expose();
    let len =
        u16::try_from(secret.len()).map_err(|_| VaultError::Invalid("secret too long".into()))?;
    let meta = Meta {
        issuer: p.issuer.as_str().into(),
        account: p.account.as_str().into(),
        params: p.params,
        note: p.note.as_str().into(),
        group: p.group.as_str().into(),
        favorite: p.favorite,
        sort_order: p.sort_order,
        created_at: p.created_at,
        updated_at: p.updated_at,
    };
    let json = serde_json::to_vec(&meta).map_err(|e| VaultError::Invalid(e.to_string()))?;
    let mut out = Zeroizing::new(Vec::with_capacity(3 + secret.len() + json.len()));
    out.push(RECORD_VERSION);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(secret);
    out.extend_from_slice(&json);
    Ok(out)
}

/// Parses [`encode`]'s output.
pub fn decode(id: &str, plain: &[u8]) -> Result<Profile, VaultError> {
    let bad = || VaultError::Corrupt("malformed profile record".into());
    if plain.len() < 3 || plain[0] != RECORD_VERSION {
        return Err(bad());
    }
    let len = usize::from(u16::from_be_bytes([plain[1], plain[2]]));
    let rest = &plain[3..];
    if rest.len() < len {
        return Err(bad());
    }
    let (secret, json) = rest.split_at(len);
    let meta: Meta<'_> = serde_json::from_slice(json).map_err(|_| bad())?;
    meta.params.validate().map_err(|_| bad())?;
    Ok(Profile {
        id: id.to_owned(),
        issuer: meta.issuer.into_owned(),
        account: meta.account.into_owned(),
        params: meta.params,
        note: meta.note.into_owned(),
        group: meta.group.into_owned(),
        favorite: meta.favorite,
        sort_order: meta.sort_order,
        created_at: meta.created_at,
        updated_at: meta.updated_at,
        secret: SecretBytes::from_slice(secret),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = Profile {
            id: "x".into(),
            issuer: "Ex\"ample".into(),
            account: "ä@b".into(),
            params: OtpParams::hotp(),
            note: "n".into(),
            group: "g".into(),
            favorite: true,
            sort_order: -3,
            created_at: 5,
            updated_at: 6,
            secret: SecretBytes::from_slice(b"seed"),
        };
        let enc = encode(&p).unwrap();
        assert_eq!(decode("x", &enc).unwrap(), p);
        assert!(decode("x", &enc[..5]).is_err());
        assert!(decode("x", &[]).is_err());
        assert!(decode("x", &[1, 255, 255]).is_err());
    }
}
