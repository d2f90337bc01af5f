//! The platform keystore, implemented by the shells.
//!
//! iOS: Keychain items with `kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly`
//! and `.biometryCurrentSet` / `.userPresence` access control; the signing key
//! in the Secure Enclave. Android: Android Keystore (StrongBox when present),
//! `setUserAuthenticationParameters`, invalidated on biometric enrollment.
//! [`SoftwareKeystore`] is the desktop/test implementation.
//!
//! Threading rule: the core never calls these methods while holding a lock,
//! and calls them from a background thread for the async unlock functions,
//! so an implementation may block on a biometric prompt.

use crate::error::KeystoreError;
use countersign_core::{KeyProtector, ProtectorError, SecretBytes, SoftwareKeyProtector};
use std::sync::Arc;

/// Length of the vault key the keystore wraps.
pub const VAULT_KEY_LEN: usize = 32;

/// Key storage backed by the device's secure hardware.
#[uniffi::export(with_foreign)]
pub trait PlatformKeystore: Send + Sync {
    /// Encrypts `key` (the 32-byte vault key) under the platform key named
    /// `alias`, creating that key on first use. With `require_user_auth`
    /// the platform key must demand biometrics / the device credential for
    /// every later unwrap. Returns an opaque blob the core stores.
    fn wrap_key(
        &self,
        alias: String,
        key: Vec<u8>,
        require_user_auth: bool,
    ) -> Result<Vec<u8>, KeystoreError>;

    /// Decrypts a blob from [`PlatformKeystore::wrap_key`]; may prompt the user.
    fn unwrap_key(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeystoreError>;

    /// Creates an ECDSA P-256 signing key named `alias` in secure hardware
    /// (replacing any old one) and returns its public key as an uncompressed
    /// SEC1 point (65 bytes, `0x04 ‖ X ‖ Y`).
    fn create_signing_key(
        &self,
        alias: String,
        require_user_auth: bool,
    ) -> Result<Vec<u8>, KeystoreError>;

    /// Signs `message` with ECDSA P-256 / SHA-256 using key `alias`; returns the
    /// ASN.1 DER signature (what Android's `SHA256withECDSA` and iOS's
    /// `.ecdsaSignatureMessageX962SHA256` produce). May prompt the user.
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeystoreError>;

    /// Deletes key `alias` (no error if it does not exist).
    fn delete_key(&self, alias: String) -> Result<(), KeystoreError>;
}

/// Adapts a foreign keystore to the core's `KeyProtector`, validating what
/// the host returns.
pub(crate) struct KeystoreProtector(pub(crate) Arc<dyn PlatformKeystore>);

impl KeyProtector for KeystoreProtector {
    fn wrap(
        &self,
        alias: &str,
        key: &[u8],
        require_user_auth: bool,
    ) -> Result<Vec<u8>, ProtectorError> {
        let blob = self
            .0
            .wrap_key(alias.to_owned(), key.to_vec(), require_user_auth)?;
        if blob.is_empty() || blob.len() > 4096 {
            return Err(ProtectorError::Platform(format!(
                "keystore returned a wrapped key of {} bytes",
                blob.len()
            )));
        }
        Ok(blob)
    }

    fn unwrap(&self, alias: &str, wrapped: &[u8]) -> Result<SecretBytes, ProtectorError> {
        let key = SecretBytes::new(self.0.unwrap_key(alias.to_owned(), wrapped.to_vec())?);
        if key.len() != VAULT_KEY_LEN {
            return Err(ProtectorError::Platform(format!(
                "keystore returned a {}-byte key, expected {VAULT_KEY_LEN}",
                key.len()
            )));
        }
        Ok(key)
    }

    fn delete(&self, alias: &str) -> Result<(), ProtectorError> {
        Ok(self.0.delete_key(alias.to_owned())?)
    }
}

/// A software keystore for desktop and tests: the wrapping key in a 0600
/// file, signing keys as PKCS#8 files beside it. Offers no hardware
/// protection and cannot enforce user authentication.
#[derive(uniffi::Object)]
pub struct SoftwareKeystore {
    dir: std::path::PathBuf,
    wrapper: SoftwareKeyProtector,
}

#[uniffi::export]
impl SoftwareKeystore {
    /// A keystore keeping its files in directory `dir` (created if missing).
    #[uniffi::constructor]
    pub fn new(dir: String) -> Result<Arc<Self>, KeystoreError> {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).map_err(|e| KeystoreError::Unavailable {
            reason: e.to_string(),
        })?;
        let wrapper = SoftwareKeyProtector::new(dir.join("wrapping.key"));
        Ok(Arc::new(Self { dir, wrapper }))
    }
}

impl SoftwareKeystore {
    fn signing_path(&self, alias: &str) -> Result<std::path::PathBuf, KeystoreError> {
        if alias.is_empty()
            || alias.len() > 200
            || !alias
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(KeystoreError::Unavailable {
                reason: "alias must be 1-200 characters of [A-Za-z0-9._-]".into(),
            });
        }
        Ok(self.dir.join(format!("{alias}.p256.pk8")))
    }
}

fn unavailable(e: impl std::fmt::Display) -> KeystoreError {
    KeystoreError::Unavailable {
        reason: e.to_string(),
    }
}

impl PlatformKeystore for SoftwareKeystore {
    fn wrap_key(
        &self,
        alias: String,
        key: Vec<u8>,
        require_user_auth: bool,
    ) -> Result<Vec<u8>, KeystoreError> {
        Ok(self.wrapper.wrap(&alias, &key, require_user_auth)?)
    }

    fn unwrap_key(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        Ok(self.wrapper.unwrap(&alias, &wrapped)?.expose().to_vec())
    }

    fn create_signing_key(
        &self,
        alias: String,
        _require_user_auth: bool,
    ) -> Result<Vec<u8>, KeystoreError> {
        use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(unavailable)?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(unavailable)?;
        let path = self.signing_path(&alias)?;
        write_private(&path, pkcs8.as_ref()).map_err(unavailable)?;
        Ok(pair.public_key().as_ref().to_vec())
    }

    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
        let path = self.signing_path(&alias)?;
        let pkcs8 = zeroize::Zeroizing::new(std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                KeystoreError::KeyInvalidated
            } else {
                unavailable(e)
            }
        })?);
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &rng)
            .map_err(unavailable)?;
        Ok(pair
            .sign(&rng, &message)
            .map_err(unavailable)?
            .as_ref()
            .to_vec())
    }

    fn delete_key(&self, alias: String) -> Result<(), KeystoreError> {
        let path = self.signing_path(&alias)?;
        match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
