//! The APNs provider token: an ES256 JSON Web Token signed with ring.
//!
//! `base64url(header) . base64url(claims) . base64url(r ‖ s)` with header
//! `{"alg":"ES256","kid":KEY_ID}` and claims `{"iss":TEAM_ID,"iat":NOW}`.
//! The key is the PKCS#8 P-256 key of Apple's `.p8` file (PEM), which
//! includes the public key as ring requires. APNs refuses tokens older than
//! an hour and throttles refreshing more often than every 20 minutes, so a
//! token is reused for 50 minutes.

use std::sync::Mutex;

use countersign_core::approve::protocol::b64;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivatePkcs8KeyDer;

use super::PushError;

/// Reuse a token for this long, seconds.
const TOKEN_REUSE_S: i64 = 50 * 60;

/// Signs and caches APNs provider tokens.
pub(crate) struct ApnsJwt {
    key: EcdsaKeyPair,
    key_id: String,
    team_id: String,
    cached: Mutex<Option<(i64, String)>>,
}

impl ApnsJwt {
    /// Loads the `.p8` PEM key.
    pub fn new(key_pem: &str, key_id: &str, team_id: &str) -> Result<Self, PushError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|_| PushError::Config("APNs key is not a PKCS#8 PEM (.p8) key".into()))?;
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            der.secret_pkcs8_der(),
            &SystemRandom::new(),
        )
        .map_err(|_| {
            PushError::Config("APNs key is not a P-256 PKCS#8 key with its public key".into())
        })?;
        let ok = |s: &str| {
            !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric())
        };
        if !ok(key_id) || !ok(team_id) {
            return Err(PushError::Config(
                "APNs key id and team id must be short alphanumeric strings".into(),
            ));
        }
        Ok(Self {
            key,
            key_id: key_id.to_owned(),
            team_id: team_id.to_owned(),
            cached: Mutex::new(None),
        })
    }

    /// A token valid at `now` (reused while younger than 50 minutes).
    pub fn token(&self, now: i64) -> Result<String, PushError> {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((iat, token)) = cached.as_ref() {
            if now >= *iat && now - iat < TOKEN_REUSE_S {
                return Ok(token.clone());
            }
        }
        let header = serde_json::json!({ "alg": "ES256", "kid": self.key_id });
        let claims = serde_json::json!({ "iss": self.team_id, "iat": now });
        let signing_input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self
            .key
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .map_err(|_| PushError::Config("signing the APNs token failed".into()))?;
        let token = format!("{signing_input}.{}", b64(signature.as_ref()));
        *cached = Some((now, token.clone()));
        Ok(token)
    }
}
