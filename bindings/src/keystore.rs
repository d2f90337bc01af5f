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

    /// Reads rollback counter `alias`: a number kept outside the vault file
    /// (iOS: a Keychain item, `ThisDeviceOnly`; Android: app-private
    /// storage outside the vault file), `None` when none is stored yet. The
    /// core refuses a vault file whose generation is below it — the whole
    /// file was put back from an earlier copy. A platform that cannot keep
    /// one answers `None` always (no rollback detection; docs/vault-format.md).
    fn read_counter(&self, alias: String) -> Result<Option<u64>, KeystoreError>;

    /// Stores rollback counter `alias`. Called after commits, never with a
    /// smaller value than the core read or stored before; a failure only
    /// weakens detection.
    fn store_counter(&self, alias: String, value: u64) -> Result<(), KeystoreError>;
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

    fn create_signing_key(
        &self,
        alias: &str,
        require_user_auth: bool,
    ) -> Result<Vec<u8>, ProtectorError> {
        let public = self
            .0
            .create_signing_key(alias.to_owned(), require_user_auth)?;
        if public.len() != 65 || public[0] != 4 {
            return Err(ProtectorError::Platform(format!(
                "keystore returned a {}-byte public key, expected a 65-byte uncompressed P-256 point",
                public.len()
            )));
        }
        Ok(public)
    }

    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, ProtectorError> {
        let sig = self.0.sign(alias.to_owned(), message.to_vec())?;
        // DER ECDSA P-256 signatures are 8-72 bytes.
        if !(8..=72).contains(&sig.len()) {
            return Err(ProtectorError::Platform(format!(
                "keystore returned a {}-byte signature",
                sig.len()
            )));
        }
        Ok(sig)
    }

    fn delete_signing_key(&self, alias: &str) -> Result<(), ProtectorError> {
        Ok(self.0.delete_key(alias.to_owned())?)
    }

    fn read_counter(&self, alias: &str) -> Result<Option<u64>, ProtectorError> {
        Ok(self.0.read_counter(alias.to_owned())?)
    }

    fn store_counter(&self, alias: &str, value: u64) -> Result<(), ProtectorError> {
        Ok(self.0.store_counter(alias.to_owned(), value)?)
    }
}

/// A software keystore for desktop and tests: the wrapping key in a 0600
/// file, signing keys sealed under it beside it (the core's
/// `SoftwareKeyProtector`). Offers no hardware protection and cannot
/// enforce user authentication. Shells get it as a `PlatformKeystore`
/// from [`software_keystore`].
pub struct SoftwareKeystore {
    inner: SoftwareKeyProtector,
}

/// A software `PlatformKeystore` keeping its files in directory `dir`
/// (created if missing). For desktop builds and tests only: no hardware
/// protection, and user authentication cannot be enforced.
#[uniffi::export]
pub fn software_keystore(dir: String) -> Result<Arc<dyn PlatformKeystore>, KeystoreError> {
    Ok(SoftwareKeystore::new(dir)?)
}

impl SoftwareKeystore {
    /// A keystore keeping its files in directory `dir` (created if missing).
    pub fn new(dir: String) -> Result<Arc<Self>, KeystoreError> {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).map_err(|e| KeystoreError::Unavailable {
            reason: e.to_string(),
        })?;
        Ok(Arc::new(Self {
            inner: SoftwareKeyProtector::new(dir.join("wrapping.key")),
        }))
    }
}

impl PlatformKeystore for SoftwareKeystore {
    fn wrap_key(
        &self,
        alias: String,
        key: Vec<u8>,
        require_user_auth: bool,
    ) -> Result<Vec<u8>, KeystoreError> {
        Ok(self.inner.wrap(&alias, &key, require_user_auth)?)
    }

    fn unwrap_key(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        Ok(self.inner.unwrap(&alias, &wrapped)?.expose().to_vec())
    }

    fn create_signing_key(
        &self,
        alias: String,
        require_user_auth: bool,
    ) -> Result<Vec<u8>, KeystoreError> {
        Ok(self.inner.create_signing_key(&alias, require_user_auth)?)
    }

    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        Ok(self.inner.sign(&alias, &message)?)
    }

    /// Deletes signing key `alias`. Wrapping keys are one file shared by
    /// every alias and are kept.
    fn delete_key(&self, alias: String) -> Result<(), KeystoreError> {
        Ok(self.inner.delete_signing_key(&alias)?)
    }

    /// A file beside the wrapping key: detects a vault file put back alone,
    /// not a copy of the whole directory.
    fn read_counter(&self, alias: String) -> Result<Option<u64>, KeystoreError> {
        Ok(self.inner.read_counter(&alias)?)
    }

    fn store_counter(&self, alias: String, value: u64) -> Result<(), KeystoreError> {
        Ok(self.inner.store_counter(&alias, value)?)
    }
}
