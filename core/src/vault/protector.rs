//! The platform key slot: wrapping the vault's data key with a key the
//! operating system guards.
//!
//! On phones the shells implement [`KeyProtector`] with the iOS Keychain /
//! Secure Enclave or the Android Keystore / StrongBox, optionally requiring
//! user authentication (biometrics or device credential) per use. On desktop
//! and in tests [`SoftwareKeyProtector`] keeps a random key in a `0600` file
//! beside the vault.
//!
//! Threading rule: the vault never calls a protector while holding its own
//! lock, so an implementation may block (e.g. on a biometric prompt) or call
//! back into the vault without deadlocking.

use super::crypto::{aad, random_key, Purpose, SealKey, KEY_LEN};
use crate::secret::SecretBytes;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a protector could not wrap or unwrap.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtectorError {
    /// The user dismissed the authentication prompt.
    #[error("authentication was cancelled")]
    UserCancelled,
    /// Authentication failed (wrong biometric, too many attempts).
    #[error("authentication failed")]
    AuthFailed,
    /// The key no longer exists or was invalidated (e.g. new biometric
    /// enrollment). The slot cannot be used again; fall back to another one.
    #[error("the key was invalidated or deleted")]
    KeyInvalidated,
    /// The wrapped blob is not one this key made.
    #[error("the wrapped key could not be unwrapped")]
    BadBlob,
    /// Any other platform failure, described.
    #[error("{0}")]
    Platform(String),
}

/// Wraps and unwraps the vault's data key under a platform-held key.
///
/// Implementations must be `Send + Sync`; calls may come from any thread and
/// are never made while the vault holds an internal lock.
pub trait KeyProtector: Send + Sync {
    /// Wraps `key` under the platform key named `alias`, creating that key if
    /// needed. With `require_user_auth`, later unwraps must need biometrics or
    /// the device credential.
    fn wrap(
        &self,
        alias: &str,
        key: &[u8],
        require_user_auth: bool,
    ) -> Result<Vec<u8>, ProtectorError>;
    /// Unwraps a blob made by [`KeyProtector::wrap`] with the same alias.
    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<SecretBytes, ProtectorError>;
    /// Deletes the platform key `alias` (idempotent).
    fn delete(&self, alias: &str) -> Result<(), ProtectorError>;

    /// Creates (or replaces) an ECDSA P-256 signing key `alias` held by the
    /// platform and returns its public key as an uncompressed SEC1 point
    /// (65 bytes). On phones the private key never leaves secure hardware.
    fn create_signing_key(
        &self,
        alias: &str,
        require_user_auth: bool,
    ) -> Result<Vec<u8>, ProtectorError>;

    /// Signs `message` with key `alias` (ECDSA P-256, SHA-256, DER signature).
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, ProtectorError>;

    /// Deletes signing key `alias` (idempotent).
    fn delete_signing_key(&self, alias: &str) -> Result<(), ProtectorError>;

    /// The rollback counter `alias` kept outside the vault file (the iOS
    /// Keychain, a file beside the desktop key, …): the highest vault
    /// generation this device has committed, or `None` when none is stored
    /// yet. The default keeps no counter, so a whole-file rollback cannot be
    /// detected (`docs/vault-format.md` says where that is the case).
    fn read_counter(&self, alias: &str) -> Result<Option<u64>, ProtectorError> {
        let _ = alias;
        Ok(None)
    }

    /// Stores `value` as rollback counter `alias`. The vault calls it after
    /// a commit, with its lock released, and never with a smaller value
    /// than it read or stored before. The default does nothing.
    fn store_counter(&self, alias: &str, value: u64) -> Result<(), ProtectorError> {
        let _ = (alias, value);
        Ok(())
    }
}

/// A software key protector for desktop and tests.
///
/// Its key lives in a file with mode `0600`. Anyone who can read that file
/// and the vault can decrypt the vault, exactly as with an unencrypted
/// desktop keyring; phones use hardware-backed protectors instead.
/// `require_user_auth` is recorded but cannot be enforced in software.
#[derive(Debug)]
pub struct SoftwareKeyProtector {
    key_path: PathBuf,
}

impl SoftwareKeyProtector {
    /// A protector whose key file is `key_path`.
    pub fn new(key_path: impl Into<PathBuf>) -> Self {
        Self {
            key_path: key_path.into(),
        }
    }

    /// The conventional key file beside a vault: `<vault>.key`.
    pub fn beside(vault_path: &Path) -> Self {
        let mut p = vault_path.as_os_str().to_owned();
        p.push(".key");
        Self::new(PathBuf::from(p))
    }

    /// Where the key file is.
    pub fn key_path(&self) -> &Path {
        &self.key_path
    }

    fn load(&self) -> Result<SealKey, ProtectorError> {
        let bytes = zeroize::Zeroizing::new(std::fs::read(&self.key_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ProtectorError::KeyInvalidated
            } else {
                ProtectorError::Platform(format!("cannot read key file: {e}"))
            }
        })?);
        SealKey::new(&bytes).map_err(|_| ProtectorError::Platform("key file is malformed".into()))
    }

    fn load_or_create(&self) -> Result<SealKey, ProtectorError> {
        match self.load() {
            Err(ProtectorError::KeyInvalidated) => {}
            other => return other,
        }
        let key = random_key().map_err(|e| ProtectorError::Platform(e.to_string()))?;
        match write_private(&self.key_path, &key[..]) {
            Ok(()) => SealKey::new(&key[..]).map_err(|e| ProtectorError::Platform(e.to_string())),
            // Another thread or process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self.load(),
            Err(e) => Err(ProtectorError::Platform(format!(
                "cannot write key file: {e}"
            ))),
        }
    }
}

fn alias_aad(alias: &str) -> Vec<u8> {
    aad(Purpose::SoftwareSlot, alias, &[0u8; 16])
}

impl KeyProtector for SoftwareKeyProtector {
    fn wrap(
        &self,
        alias: &str,
        key: &[u8],
        _require_user_auth: bool,
    ) -> Result<Vec<u8>, ProtectorError> {
        if key.len() != KEY_LEN {
            return Err(ProtectorError::Platform(format!(
                "key must be {KEY_LEN} bytes"
            )));
        }
        self.load_or_create()?
            .seal(&alias_aad(alias), key)
            .map_err(|e| ProtectorError::Platform(e.to_string()))
    }

    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<SecretBytes, ProtectorError> {
        let key = self.load()?;
        let plain = key
            .open(&alias_aad(alias), wrapped, "slot")
            .map_err(|_| ProtectorError::BadBlob)?;
        Ok(SecretBytes::from_slice(&plain))
    }

    fn delete(&self, _alias: &str) -> Result<(), ProtectorError> {
        // One file serves every alias; deleting it would orphan the other
        // slots, so software deletion is a no-op. Phones delete per alias.
        Ok(())
    }

    fn create_signing_key(
        &self,
        alias: &str,
        _require_user_auth: bool,
    ) -> Result<Vec<u8>, ProtectorError> {
        use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
        let path = self.signing_path(alias)?;
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| ProtectorError::Platform("cannot generate a P-256 key".into()))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| ProtectorError::Platform("cannot load the new P-256 key".into()))?;
        // Sealed under the protector key, like the vault key.
        let sealed = self
            .load_or_create()?
            .seal(&alias_aad(alias), pkcs8.as_ref())
            .map_err(|e| ProtectorError::Platform(e.to_string()))?;
        let _ = std::fs::remove_file(&path);
        write_private(&path, &sealed)
            .map_err(|e| ProtectorError::Platform(format!("cannot write signing key: {e}")))?;
        Ok(pair.public_key().as_ref().to_vec())
    }

    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, ProtectorError> {
        use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
        let path = self.signing_path(alias)?;
        let sealed = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ProtectorError::KeyInvalidated
            } else {
                ProtectorError::Platform(format!("cannot read signing key: {e}"))
            }
        })?;
        let pkcs8 = self
            .load()?
            .open(&alias_aad(alias), &sealed, "signing key")
            .map_err(|_| ProtectorError::BadBlob)?;
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &rng)
            .map_err(|_| ProtectorError::BadBlob)?;
        let sig = pair
            .sign(&rng, message)
            .map_err(|_| ProtectorError::Platform("signing failed".into()))?;
        Ok(sig.as_ref().to_vec())
    }

    fn read_counter(&self, alias: &str) -> Result<Option<u64>, ProtectorError> {
        let path = self.side_path("counter", alias)?;
        match std::fs::read_to_string(&path) {
            // A torn or garbled file counts as no counter (the next commit
            // rewrites it): whoever can garble it can delete it too, and the
            // owner must not be locked out by a crash.
            Ok(text) => Ok(text.trim().parse::<u64>().ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ProtectorError::Platform(format!(
                "cannot read the rollback counter: {e}"
            ))),
        }
    }

    fn store_counter(&self, alias: &str, value: u64) -> Result<(), ProtectorError> {
        let path = self.side_path("counter", alias)?;
        write_private_replacing(&path, value.to_string().as_bytes()).map_err(|e| {
            ProtectorError::Platform(format!("cannot write the rollback counter: {e}"))
        })
    }

    fn delete_signing_key(&self, alias: &str) -> Result<(), ProtectorError> {
        match std::fs::remove_file(self.signing_path(alias)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ProtectorError::Platform(format!(
                "cannot delete signing key: {e}"
            ))),
        }
    }
}

impl SoftwareKeyProtector {
    /// `<key file>.sign.<alias>`; aliases are restricted to a safe alphabet.
    fn signing_path(&self, alias: &str) -> Result<PathBuf, ProtectorError> {
        self.side_path("sign", alias)
    }

    /// `<key file>.<kind>.<alias>`; aliases are restricted to a safe alphabet.
    fn side_path(&self, kind: &str, alias: &str) -> Result<PathBuf, ProtectorError> {
        let ok = !alias.is_empty()
            && alias.len() <= 200
            && alias
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !ok {
            return Err(ProtectorError::Platform(
                "key alias must be 1-200 characters of [A-Za-z0-9._-]".into(),
            ));
        }
        let mut p = self.key_path.as_os_str().to_owned();
        p.push(format!(".{kind}.{alias}"));
        Ok(PathBuf::from(p))
    }
}

/// Replaces a small file atomically with mode 0600: a fresh temp file,
/// `fdatasync`, rename over the target. One data sync and no directory sync:
/// used for the rollback counter, where a rename lost in a crash only leaves
/// the previous (lower) value, which is safe.
fn write_private_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut suffix = [0u8; 8];
    super::crypto::random_bytes(&mut suffix).map_err(std::io::Error::other)?;
    let mut staging = path.as_os_str().to_owned();
    staging.push(format!(".{}.new", super::crypto::hex(&suffix)));
    let staging = PathBuf::from(staging);
    let written = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&staging)?;
        f.write_all(bytes)?;
        f.sync_data()?;
        std::fs::rename(&staging, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&staging);
    }
    written
}

/// Writes a file atomically (temp file, fsync, rename, fsync dir) with mode 0600.
/// Refuses to replace an existing file.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut suffix = [0u8; 8];
    super::crypto::random_bytes(&mut suffix).map_err(std::io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", super::crypto::hex(&suffix)));
    let tmp = PathBuf::from(tmp);
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    // hard_link fails if the target exists: never replace a key we may need.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    linked?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_and_file_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = SoftwareKeyProtector::new(dir.path().join("k"));
        let blob = p.wrap("a", &[9u8; 32], false).unwrap();
        assert_eq!(p.unwrap("a", &blob).unwrap().expose(), &[9u8; 32]);
        assert_eq!(p.unwrap("b", &blob), Err(ProtectorError::BadBlob));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(p.key_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A second wrap reuses the same file.
        let blob2 = p.wrap("a", &[1u8; 32], false).unwrap();
        assert_eq!(p.unwrap("a", &blob).unwrap().expose(), &[9u8; 32]);
        assert_eq!(p.unwrap("a", &blob2).unwrap().expose(), &[1u8; 32]);
    }

    #[test]
    fn missing_key_file_is_invalidated_not_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let p = SoftwareKeyProtector::new(dir.path().join("k"));
        let blob = p.wrap("a", &[9u8; 32], false).unwrap();
        std::fs::remove_file(p.key_path()).unwrap();
        assert_eq!(p.unwrap("a", &blob), Err(ProtectorError::KeyInvalidated));
        assert!(!p.key_path().exists());
        assert!(p.wrap("a", &[0u8; 5], false).is_err());
    }

    #[test]
    fn signing_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = SoftwareKeyProtector::new(dir.path().join("k"));
        let public = p.create_signing_key("dev.1", false).unwrap();
        assert_eq!(public.len(), 65);
        let sig = p.sign("dev.1", b"msg").unwrap();
        let key = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_ASN1,
            &public,
        );
        key.verify(b"msg", &sig).unwrap();
        assert!(key.verify(b"msh", &sig).is_err());
        // The key file on disk is sealed, not a plain PKCS#8 document.
        let raw = std::fs::read(dir.path().join("k.sign.dev.1")).unwrap();
        assert_eq!(raw[0], 1);
        p.delete_signing_key("dev.1").unwrap();
        assert_eq!(p.sign("dev.1", b"msg"), Err(ProtectorError::KeyInvalidated));
        assert!(p.sign("../x", b"msg").is_err());
    }
}
