//! The OTP engine: HOTP (RFC 4226), TOTP (RFC 6238) and Steam Guard codes.
//!
//! Everything here is pure: a [`Generator`] is built once from a seed and
//! [`OtpParams`] (this precomputes the keyed HMAC state, so the hot path per
//! code is two compression rounds of the hash, not four), and
//! [`Generator::code_at`] maps a Unix time to a code. The caller supplies the
//! time (with the vault's clock offset already applied), never `now()`.

mod engine;
mod params;
mod text;

pub use engine::{Code, Generator};
pub use params::{
    validate_secret_len, Algorithm, OtpParams, OtpType, ParamError, MAX_DIGITS, MAX_PERIOD_S,
    MAX_SECRET_BYTES, MIN_DIGITS, MIN_SECRET_BYTES, STEAM_DIGITS,
};
pub use text::CodeText;
