//! HTTPS: the server's self-signed certificate and its rustls configuration.
//!
//! Phones never trust this certificate through a CA: they pin the SHA-256 of
//! its SubjectPublicKeyInfo, learned from the invitation QR (or compared by
//! the user when pairing by typed address). So what matters is that the key
//! stays the same across restarts; the certificate around it may be
//! re-issued. rustls uses the ring provider, installed explicitly (never the
//! process default, never aws-lc).

pub(crate) mod cert;

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub(crate) use cert::{load_or_create, TlsMaterial};

use crate::error::ServerError;

/// The rustls server configuration (ring provider; ALPN h2 and http/1.1).
pub(crate) fn server_config(
    material: &TlsMaterial,
) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(material.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(material.key_pkcs8_der.clone())),
        )
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
