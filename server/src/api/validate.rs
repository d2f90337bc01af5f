//! Length and shape checks for device-supplied fields.
//!
//! Limits (see `docs/protocol.md`): device names ≤ 64 characters, platform
//! ≤ 16 of `[a-z0-9_-]`, push tokens ≤ 512 of `[A-Za-z0-9:_.-]`, public keys
//! exactly 65 bytes (uncompressed SEC1 P-256, first byte 0x04).

use countersign_core::approve::protocol::unb64;

use super::error::ApiError;

/// Longest device name (characters).
pub(crate) const MAX_DEVICE_NAME_CHARS: usize = 64;
/// Longest platform name (bytes).
pub(crate) const MAX_PLATFORM_BYTES: usize = 16;
/// Longest push token (bytes).
pub(crate) const MAX_PUSH_TOKEN_BYTES: usize = 512;
/// Longest pairing token accepted (bytes; real ones are 43).
pub(crate) const MAX_PAIR_TOKEN_BYTES: usize = 128;

pub(crate) fn device_name(name: &str) -> Result<(), ApiError> {
    let n = name.chars().count();
    if n == 0 || n > MAX_DEVICE_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "device_name must be 1 to {MAX_DEVICE_NAME_CHARS} characters without control characters"
        )));
    }
    Ok(())
}

pub(crate) fn platform(platform: &str) -> Result<(), ApiError> {
    let ok = !platform.is_empty()
        && platform.len() <= MAX_PLATFORM_BYTES
        && platform
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok {
        return Err(ApiError::bad_request(format!(
            "platform must be 1 to {MAX_PLATFORM_BYTES} of a-z, 0-9, _ and - (ios, android, desktop)"
        )));
    }
    Ok(())
}

/// Checks a push token; empty means "none".
pub(crate) fn push_token(token: &str) -> Result<Option<String>, ApiError> {
    if token.is_empty() {
        return Ok(None);
    }
    let ok = token.len() <= MAX_PUSH_TOKEN_BYTES
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'.' | b'-'));
    if !ok {
        return Err(ApiError::bad_request(format!(
            "push_token must be at most {MAX_PUSH_TOKEN_BYTES} of A-Z, a-z, 0-9, ':', '_', '.', '-'"
        )));
    }
    Ok(Some(token.to_owned()))
}

/// Decodes a device public key (base64url, 65 bytes, uncompressed).
pub(crate) fn public_key(b64: &str) -> Result<Vec<u8>, ApiError> {
    match unb64(b64) {
        Some(k) if k.len() == 65 && k[0] == 4 => Ok(k),
        _ => Err(ApiError::bad_request(
            "public_key must be an uncompressed P-256 point (65 bytes starting with 0x04), base64url without padding",
        )),
    }
}

/// Decodes a DER signature field.
pub(crate) fn signature(field: &str, b64: &str) -> Result<Vec<u8>, ApiError> {
    match unb64(b64) {
        Some(s) if !s.is_empty() && s.len() <= 80 => Ok(s),
        _ => Err(ApiError::bad_request(format!(
            "{field} must be a DER ECDSA signature, base64url without padding"
        ))),
    }
}
