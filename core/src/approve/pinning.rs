//! TLS with a pinned server key.
//!
//! Home servers use self-signed certificates, so the usual web PKI does not
//! apply. Instead the app pins the SHA-256 of the server's
//! SubjectPublicKeyInfo, learned from the pairing QR code (or compared by
//! the user, trust on first use). The verifier accepts a connection only if
//! the end-entity certificate carries exactly that key and the handshake is
//! signed by it; it never consults system roots and there is no "accept
//! anything" mode except [`Pin::Capture`], which only records the key for
//! the user to compare and is never used to send credentials.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, Mutex};

/// What the verifier enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pin {
    /// Only this SPKI SHA-256.
    Key([u8; 32]),
    /// Accept the key but record it (first contact; nothing secret is sent).
    Capture,
}

/// SHA-256 of a certificate's SubjectPublicKeyInfo (DER, with its SEQUENCE header).
pub fn spki_sha256(cert_der: &[u8]) -> Option<[u8; 32]> {
    let der = CertificateDer::from(cert_der);
    let cert = webpki::EndEntityCert::try_from(&der).ok()?;
    let spki = cert.subject_public_key_info();
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, spki.as_ref()).as_ref());
    Some(out)
}

/// The rustls verifier.
#[derive(Debug)]
pub struct PinVerifier {
    pin: Pin,
    provider: Arc<CryptoProvider>,
    /// Key seen in the last handshake.
    seen: Mutex<Option<[u8; 32]>>,
    /// Set when a handshake presented another key than the pin.
    mismatch: std::sync::atomic::AtomicBool,
}

impl PinVerifier {
    /// The key seen in the last handshake.
    pub fn seen(&self) -> Option<[u8; 32]> {
        self.seen.lock().ok().and_then(|g| *g)
    }

    /// True if a handshake was refused because of the pin.
    pub fn mismatched(&self) -> bool {
        self.mismatch.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = spki_sha256(end_entity.as_ref()).ok_or(rustls::Error::InvalidCertificate(
            rustls::CertificateError::BadEncoding,
        ))?;
        if let Ok(mut g) = self.seen.lock() {
            *g = Some(got);
        }
        match self.pin {
            Pin::Capture => Ok(ServerCertVerified::assertion()),
            Pin::Key(want) if bool::from(subtle::ConstantTimeEq::ct_eq(&want[..], &got[..])) => {
                Ok(ServerCertVerified::assertion())
            }
            Pin::Key(_) => {
                self.mismatch
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ApplicationVerificationFailure,
                ))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// An HTTPS client bound to one pin (ring provider, TLS 1.2/1.3, HTTP/1.1).
pub fn client(
    pin: Pin,
    timeout: std::time::Duration,
) -> Result<(reqwest::Client, Arc<PinVerifier>), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinVerifier {
        pin,
        provider: provider.clone(),
        seen: Mutex::new(None),
        mismatch: false.into(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    // HTTP/1.1 with keep-alive: small JSON calls gain nothing from HTTP/2,
    // and leaving h2 out keeps the phone library smaller.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(timeout)
        .pool_idle_timeout(std::time::Duration::from_secs(60))
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    Ok((client, verifier))
}
