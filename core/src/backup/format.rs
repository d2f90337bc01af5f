//! The container: magic, version, header JSON, sealed payload.
//!
//! ```text
//! "CSBK" | version:u8 | header_len:u32be | header (JSON) | ciphertext ‖ tag(16)
//! ```
//!
//! The payload is sealed with a random content key under AES-256-GCM; the
//! AAD is every byte before the ciphertext, so changing the magic, the
//! version, the header length or any header byte (KDF parameters, slots,
//! nonce, time) makes decryption fail. Key slots wrap the content key; a slot
//! is opened with a key derived from a password or recovery code.

use super::error::BackupError;
use super::kdf::{KdfParams, SALT_LEN};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// First four bytes of every backup file.
pub const MAGIC: &[u8; 4] = b"CSBK";
/// The format version this build writes and the newest it reads.
pub const VERSION: u8 = 1;
/// Bytes before the header: magic, version, header length.
pub const PREFIX_LEN: usize = 4 + 1 + 4;
/// Largest header a reader accepts.
pub const MAX_HEADER_LEN: usize = 64 * 1024;
/// Largest backup file a reader accepts (16 MiB; 500 profiles need far less).
pub const MAX_FILE_LEN: usize = 16 * 1024 * 1024;
/// GCM tag length.
const TAG_LEN: usize = 16;
/// Content key length.
pub(crate) const KEY_LEN: usize = 32;

/// Slot kind: derived from the backup password.
pub const SLOT_PASSWORD: &str = "password";
/// Slot kind: derived from the recovery code.
pub const SLOT_RECOVERY: &str = "recovery_code";
/// Cipher name in the header.
const CIPHER: &str = "aes-256-gcm";
/// KDF name in the header.
const KDF_NAME: &str = "argon2id";
/// Argon2 version 1.3.
const ARGON2_VERSION: u32 = 0x13;

/// The header JSON.
#[derive(Serialize, Deserialize)]
pub(crate) struct Header {
    /// Always `"aes-256-gcm"`.
    pub cipher: String,
    /// Payload nonce, 12 bytes, Base64.
    pub nonce: String,
    /// When the backup was made, Unix seconds (informational).
    pub created_at: i64,
    /// Key slots, each wrapping the content key.
    pub slots: Vec<Slot>,
}

/// One way to open the backup.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Slot {
    /// `"password"` or `"recovery_code"`; readers skip unknown kinds.
    pub kind: String,
    /// How the slot key is derived.
    pub kdf: KdfHeader,
    /// Nonce of the wrapped key, 12 bytes, Base64.
    pub nonce: String,
    /// The content key sealed with the slot key: 32 + 16 bytes, Base64.
    pub wrapped_key: String,
}

/// Argon2id parameters as stored.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct KdfHeader {
    /// Always `"argon2id"`.
    pub name: String,
    /// Argon2 version, 19 (0x13).
    pub version: u32,
    /// Memory, KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
    /// 16-byte salt, Base64.
    pub salt: String,
}

fn random(out: &mut [u8]) -> Result<(), BackupError> {
    SystemRandom::new()
        .fill(out)
        .map_err(|_| BackupError::Crypto("system randomness unavailable"))
}

fn aead_key(raw: &[u8]) -> Result<LessSafeKey, BackupError> {
    UnboundKey::new(&AES_256_GCM, raw)
        .map(LessSafeKey::new)
        .map_err(|_| BackupError::Crypto("bad key length"))
}

/// AAD of a slot's wrapped key: binds it to its kind.
fn slot_aad(kind: &str) -> Vec<u8> {
    let mut a = b"CSBK1 slot ".to_vec();
    a.extend_from_slice(kind.as_bytes());
    a
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn unb64(s: &str, what: &'static str) -> Result<Vec<u8>, BackupError> {
    B64.decode(s).map_err(|_| BackupError::Malformed(what))
}

/// Builds a slot wrapping `content_key` under a key derived from `secret`.
pub(crate) fn make_slot(
    kind: &str,
    secret: &[u8],
    kdf: KdfParams,
    content_key: &[u8; KEY_LEN],
) -> Result<Slot, BackupError> {
    let mut salt = [0u8; SALT_LEN];
    random(&mut salt)?;
    let kek = kdf.derive(secret, &salt)?;
    let mut nonce = [0u8; NONCE_LEN];
    random(&mut nonce)?;
    let mut buf = content_key.to_vec();
    aead_key(&kek[..])?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(slot_aad(kind)),
            &mut buf,
        )
        .map_err(|_| BackupError::Crypto("seal failed"))?;
    Ok(Slot {
        kind: kind.to_owned(),
        kdf: KdfHeader {
            name: KDF_NAME.to_owned(),
            version: ARGON2_VERSION,
            m_kib: kdf.m_kib,
            t: kdf.t,
            p: kdf.p,
            salt: b64(&salt),
        },
        nonce: b64(&nonce),
        wrapped_key: b64(&buf),
    })
}

impl Slot {
    /// The content key, or `None` when `secret` does not open this slot
    /// (wrong secret, or slot bytes altered). Malformed slots are errors.
    pub(crate) fn open(
        &self,
        secret: &[u8],
    ) -> Result<Option<Zeroizing<[u8; KEY_LEN]>>, BackupError> {
        if self.kdf.name != KDF_NAME || self.kdf.version != ARGON2_VERSION {
            return Err(BackupError::Malformed("unsupported kdf"));
        }
        let salt = unb64(&self.kdf.salt, "slot salt is not base64")?;
        if salt.len() != SALT_LEN {
            return Err(BackupError::Malformed("slot salt has the wrong length"));
        }
        let nonce: [u8; NONCE_LEN] = unb64(&self.nonce, "slot nonce is not base64")?
            .try_into()
            .map_err(|_| BackupError::Malformed("slot nonce has the wrong length"))?;
        let mut wrapped = Zeroizing::new(unb64(&self.wrapped_key, "wrapped key is not base64")?);
        if wrapped.len() != KEY_LEN + TAG_LEN {
            return Err(BackupError::Malformed("wrapped key has the wrong length"));
        }
        let kdf = KdfParams {
            m_kib: self.kdf.m_kib,
            t: self.kdf.t,
            p: self.kdf.p,
        };
        let kek = kdf.derive(secret, &salt)?;
        let opened = aead_key(&kek[..])?.open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(slot_aad(&self.kind)),
            &mut wrapped[..],
        );
        match opened {
            Ok(plain) => {
                let mut key = Zeroizing::new([0u8; KEY_LEN]);
                key.copy_from_slice(plain);
                Ok(Some(key))
            }
            Err(_) => Ok(None),
        }
    }
}

/// Assembles a file: seals `plain` under `content_key` with a fresh nonce.
pub(crate) fn seal_file(
    created_at: i64,
    slots: Vec<Slot>,
    content_key: &[u8; KEY_LEN],
    plain: &[u8],
) -> Result<Vec<u8>, BackupError> {
    let mut nonce = [0u8; NONCE_LEN];
    random(&mut nonce)?;
    let header = Header {
        cipher: CIPHER.to_owned(),
        nonce: b64(&nonce),
        created_at,
        slots,
    };
    let json = serde_json::to_vec(&header).map_err(|_| BackupError::Crypto("header encoding"))?;
    if json.len() > MAX_HEADER_LEN {
        return Err(BackupError::Invalid("backup header too large"));
    }
    let mut out = Vec::with_capacity(PREFIX_LEN + json.len() + plain.len() + TAG_LEN);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(&json);
    let aad_len = out.len();
    let mut buf = Zeroizing::new(plain.to_vec());
    let tag = aead_key(content_key)?
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&out[..aad_len]),
            &mut buf[..],
        )
        .map_err(|_| BackupError::Crypto("seal failed"))?;
    out.extend_from_slice(&buf);
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// A parsed (not yet decrypted) file.
pub(crate) struct Parsed<'a> {
    /// The header.
    pub header: Header,
    /// Bytes authenticated as AAD (everything before the ciphertext).
    pub aad: &'a [u8],
    /// Ciphertext ‖ tag.
    pub sealed: &'a [u8],
}

/// Splits a file and parses its header; checks structure only.
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed<'_>, BackupError> {
    if bytes.len() < MAGIC.len() {
        return Err(if MAGIC.starts_with(bytes) {
            BackupError::Truncated
        } else {
            BackupError::BadMagic
        });
    }
    if &bytes[..4] != MAGIC {
        return Err(BackupError::BadMagic);
    }
    if bytes.len() > MAX_FILE_LEN {
        return Err(BackupError::Malformed("file too large"));
    }
    let version = *bytes.get(4).ok_or(BackupError::Truncated)?;
    if version > VERSION {
        return Err(BackupError::NewerVersion {
            found: version,
            supported: VERSION,
        });
    }
    if version == 0 {
        return Err(BackupError::Malformed("version 0"));
    }
    let len_bytes: [u8; 4] = bytes
        .get(5..PREFIX_LEN)
        .ok_or(BackupError::Truncated)?
        .try_into()
        .map_err(|_| BackupError::Truncated)?;
    let header_len = u32::from_be_bytes(len_bytes) as usize;
    if header_len > MAX_HEADER_LEN {
        return Err(BackupError::Malformed("header too large"));
    }
    let end = PREFIX_LEN + header_len;
    let header_bytes = bytes.get(PREFIX_LEN..end).ok_or(BackupError::Truncated)?;
    let sealed = &bytes[end..];
    if sealed.len() < TAG_LEN {
        return Err(BackupError::Truncated);
    }
    let header: Header = serde_json::from_slice(header_bytes)
        .map_err(|_| BackupError::Malformed("header is not valid JSON"))?;
    if header.cipher != CIPHER {
        return Err(BackupError::Malformed("unsupported cipher"));
    }
    Ok(Parsed {
        header,
        aad: &bytes[..end],
        sealed,
    })
}

impl Parsed<'_> {
    /// Decrypts the payload with a content key from a slot.
    pub(crate) fn open_payload(
        &self,
        content_key: &[u8; KEY_LEN],
    ) -> Result<Zeroizing<Vec<u8>>, BackupError> {
        let nonce: [u8; NONCE_LEN] = unb64(&self.header.nonce, "payload nonce is not base64")?
            .try_into()
            .map_err(|_| BackupError::Malformed("payload nonce has the wrong length"))?;
        let mut buf = Zeroizing::new(self.sealed.to_vec());
        let len = aead_key(content_key)?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad),
                &mut buf[..],
            )
            .map_err(|_| BackupError::Tampered)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}
