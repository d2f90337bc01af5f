//! The persisted self-signed certificate and key.
//!
//! First start: an ECDSA P-256 key (ring, through rcgen) and a self-signed
//! certificate for `localhost`, `127.0.0.1`, `::1` and the configured
//! hostnames, written as `cert.pem` (0644) and `key.pem` (0600) in the data
//! directory. Later starts reuse both. If only `cert.pem` is missing (delete
//! it to add hostnames), a new certificate is issued for the *same* key, so
//! the pinned fingerprint does not change. A `cert.pem` without `key.pem` is
//! an error: the key is the identity and is never silently replaced.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, PublicKeyData,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::crypto::sha256;
use crate::error::ServerError;

/// The certificate and key in use.
#[derive(Clone)]
pub(crate) struct TlsMaterial {
    /// `cert.pem` contents.
    pub cert_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The private key, PKCS#8 DER.
    pub key_pkcs8_der: Vec<u8>,
    /// SHA-256 of the key's SubjectPublicKeyInfo DER.
    pub spki_sha256: [u8; 32],
}

fn tls_err(what: &str, e: impl std::fmt::Display) -> ServerError {
    ServerError::Tls(format!("{what}: {e}"))
}

/// Writes `contents` to `path` atomically (temp file + rename) with `mode`.
pub(crate) fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), ServerError> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| ServerError::io("create file", &tmp, e))?;
    f.write_all(contents)
        .map_err(|e| ServerError::io("write file", &tmp, e))?;
    f.sync_all()
        .map_err(|e| ServerError::io("sync file", &tmp, e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| ServerError::io("rename file", path, e))
}

fn issue(key: &KeyPair, name: &str, hostnames: &[String]) -> Result<String, ServerError> {
    let mut sans = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    for h in hostnames {
        if !h.is_empty() && !sans.contains(h) {
            sans.push(h.clone());
        }
    }
    let mut params = CertificateParams::new(sans).map_err(|e| tls_err("certificate names", e))?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        if name.is_empty() {
            "Countersign server"
        } else {
            name
        },
    );
    params.distinguished_name = dn;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params
        .self_signed(key)
        .map_err(|e| tls_err("self-signing", e))?;
    Ok(cert.pem())
}

/// Loads `cert.pem`/`key.pem` from `dir`, making what is missing.
pub(crate) fn load_or_create(
    dir: &Path,
    name: &str,
    hostnames: &[String],
) -> Result<TlsMaterial, ServerError> {
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    let key = if key_path.exists() {
        let pem =
            fs::read_to_string(&key_path).map_err(|e| ServerError::io("read key", &key_path, e))?;
        KeyPair::from_pem(&pem).map_err(|e| tls_err("key.pem", e))?
    } else {
        if cert_path.exists() {
            return Err(ServerError::Tls(
                "cert.pem exists without key.pem; restore the key or remove both".into(),
            ));
        }
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| tls_err("key generation", e))?;
        write_file(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
        key
    };
    let cert_pem = if cert_path.exists() {
        fs::read_to_string(&cert_path)
            .map_err(|e| ServerError::io("read certificate", &cert_path, e))?
    } else {
        let pem = issue(&key, name, hostnames)?;
        write_file(&cert_path, pem.as_bytes(), 0o644)?;
        pem
    };
    let cert_der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|e| tls_err("cert.pem", e))?
        .to_vec();
    let spki = key.subject_public_key_info();
    Ok(TlsMaterial {
        cert_pem,
        cert_der,
        key_pkcs8_der: key.serialize_der(),
        spki_sha256: sha256(&spki),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_and_reuses_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(dir.path(), "NAS", &["nas.local".into()]).unwrap();
        let b = load_or_create(dir.path(), "NAS", &[]).unwrap();
        assert_eq!(a.spki_sha256, b.spki_sha256);
        assert_eq!(a.cert_der, b.cert_der);
        let mode = fs::metadata(dir.path().join("key.pem"))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        // Re-issuing the certificate keeps the fingerprint.
        fs::remove_file(dir.path().join("cert.pem")).unwrap();
        let c = load_or_create(dir.path(), "NAS", &[]).unwrap();
        assert_eq!(a.spki_sha256, c.spki_sha256);
        assert_ne!(a.cert_der, c.cert_der);
        // The SPKI is inside the certificate.
        let spki = KeyPair::from_pem(&fs::read_to_string(dir.path().join("key.pem")).unwrap())
            .unwrap()
            .subject_public_key_info();
        assert!(c.cert_der.windows(spki.len()).any(|w| w == spki.as_slice()));
        // A certificate without its key is refused.
        fs::remove_file(dir.path().join("key.pem")).unwrap();
        assert!(load_or_create(dir.path(), "NAS", &[]).is_err());
    }
}
