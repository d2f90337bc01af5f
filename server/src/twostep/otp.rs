//! TOTP as a second step: enrollment (a fresh seed shown as a QR code and as
//! text, confirmed with a code before it takes effect) and checking.
//!
//! Codes are computed with the same engine the phone uses
//! (`countersign_core::Generator`: SHA-1, 6 digits, 30 s — what every
//! authenticator understands). A code is accepted for the current step and
//! one step either side; the three candidates are compared in constant time
//! and all three are always computed. Replay is refused in the store: a
//! step is accepted only if it is newer than every step accepted before
//! (`Store::use_otp_step`, atomic across nodes), so neither the same code
//! twice nor an older code after a newer one gets in.

use countersign_core::uri::write_otpauth;
use countersign_core::{Generator, OtpParams, SecretBytes};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::random_bytes;
use crate::error::ServerError;
use crate::store::OtpSecret;

/// Seed length (RFC 4226 recommends 160 bits for SHA-1).
pub(crate) const SECRET_BYTES: usize = 20;

/// Steps either side of now that are accepted.
pub(crate) const WINDOW_STEPS: i64 = 1;

/// A fresh random seed.
pub(crate) fn new_secret() -> Result<OtpSecret, ServerError> {
    Ok(OtpSecret::new(random_bytes::<SECRET_BYTES>()?.to_vec()))
}

fn generator(secret: &OtpSecret) -> Result<Generator, ServerError> {
    Generator::new(&SecretBytes::from_slice(secret.expose()), OtpParams::totp())
        .map_err(|_| ServerError::Internal("stored TOTP seed is unusable".into()))
}

/// The `otpauth://` URI an authenticator scans.
pub(crate) fn enrollment_uri(issuer: &str, account: &str, secret: &OtpSecret) -> Zeroizing<String> {
    write_otpauth(
        issuer,
        account,
        &SecretBytes::from_slice(secret.expose()),
        &OtpParams::totp(),
    )
}

/// The seed as Base32 in groups of four, for typing by hand.
pub(crate) fn secret_for_display(secret: &OtpSecret) -> Zeroizing<String> {
    let plain = SecretBytes::from_slice(secret.expose()).to_base32();
    let mut out = Zeroizing::new(String::with_capacity(plain.len() + plain.len() / 4));
    for (i, c) in plain.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// An SVG QR code of `data` (medium error correction, quiet zone included).
pub(crate) fn qr_svg(data: &str) -> Result<String, ServerError> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|_| ServerError::Internal("QR code too large".into()))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(220, 220)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// The time step whose code equals `code`, among now ± [`WINDOW_STEPS`]
/// (constant time over the candidates). `None`: no match or not 6 digits.
pub(crate) fn matching_step(
    secret: &OtpSecret,
    code: &str,
    now: i64,
) -> Result<Option<i64>, ServerError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let generator = generator(secret)?;
    let period = i64::from(OtpParams::totp().period);
    let mut found = None;
    for offset in -WINDOW_STEPS..=WINDOW_STEPS {
        let t = now + offset * period;
        if t < 0 {
            continue;
        }
        let candidate = generator.code_at(t);
        let equal: bool = candidate.code.as_bytes().ct_eq(code.as_bytes()).into();
        if equal && found.is_none() {
            found = i64::try_from(candidate.counter).ok();
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_and_format() {
        // RFC 6238 SHA-1 seed; at t = 59 the 8-digit code is 94287082, so
        // the 6-digit one is 287082 (step 1).
        let secret = OtpSecret::new(b"12345678901234567890".to_vec());
        assert_eq!(matching_step(&secret, "287082", 59).unwrap(), Some(1));
        assert_eq!(matching_step(&secret, "287 082", 59 + 30).unwrap(), Some(1));
        assert_eq!(matching_step(&secret, "287082", 59 + 29).unwrap(), Some(1));
        assert_eq!(matching_step(&secret, "287082", 59 + 61).unwrap(), None);
        assert_eq!(matching_step(&secret, "28708", 59).unwrap(), None);
        assert_eq!(matching_step(&secret, "28708x", 59).unwrap(), None);
        let uri = enrollment_uri("Home NAS", "alice", &secret);
        assert!(uri.starts_with(
            "otpauth://totp/Home%20NAS:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        ));
        assert_eq!(&secret_for_display(&secret)[..9], "GEZD GNBV");
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
    }
}
