//! What defines an OTP: its type, hash, length and moving factor.
//!
//! These are plain data with validation in one place ([`OtpParams::validate`]),
//! used by the URI parser, the vault and the engine alike so that a profile
//! that exists can always produce a code.

use serde::{Deserialize, Serialize};

/// Smallest number of digits we generate.
pub const MIN_DIGITS: u8 = 5;
/// Largest number of digits we generate (a 31-bit truncated value has 10 digits).
pub const MAX_DIGITS: u8 = 10;
/// Longest TOTP period we accept, one day; real services use 30 or 60 s.
pub const MAX_PERIOD_S: u32 = 86_400;
/// Digits in a Steam Guard code.
pub const STEAM_DIGITS: u8 = 5;
/// Smallest seed we accept, in bytes (real services issue 80-bit and shorter
/// seeds; RFC 4226 asks for 128 bits but we must interoperate).
pub const MIN_SECRET_BYTES: usize = 1;
/// Largest seed we accept, in bytes (a SHA-512 block; nothing real is larger).
pub const MAX_SECRET_BYTES: usize = 128;

/// HMAC hash function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// HMAC-SHA1, the default and by far the most common.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl Algorithm {
    /// Name as written in `otpauth://` URIs (`SHA1`, `SHA256`, `SHA512`).
    pub fn uri_name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// Lower-case name, as the CLI's JSON prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }
}

/// Kind of one-time password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OtpType {
    /// Time-based (RFC 6238).
    Totp,
    /// Counter-based (RFC 4226).
    Hotp,
    /// Steam Guard: TOTP (SHA1, 30 s) rendered as 5 characters.
    Steam,
}

impl OtpType {
    /// Lower-case name (`totp`, `hotp`, `steam`).
    pub fn as_str(self) -> &'static str {
        match self {
            OtpType::Totp => "totp",
            OtpType::Hotp => "hotp",
            OtpType::Steam => "steam",
        }
    }

    /// True when the code depends on time (TOTP and Steam).
    pub fn is_time_based(self) -> bool {
        !matches!(self, OtpType::Hotp)
    }
}

/// Parameters of a profile's code generator (everything but the seed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OtpParams {
    /// TOTP, HOTP or Steam.
    pub otp_type: OtpType,
    /// Hash function.
    pub algorithm: Algorithm,
    /// Code length (5–10; Steam is always 5).
    pub digits: u8,
    /// Time step in seconds for TOTP/Steam (ignored for HOTP but kept valid).
    pub period: u32,
    /// Current counter for HOTP (0 for time-based kinds).
    pub counter: u64,
}

impl Default for OtpParams {
    fn default() -> Self {
        Self::totp()
    }
}

impl OtpParams {
    /// SHA1, 6 digits, 30 s: what an `otpauth://totp/...` URI with no options means.
    pub const fn totp() -> Self {
        Self {
            otp_type: OtpType::Totp,
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
            counter: 0,
        }
    }

    /// SHA1, 6 digits, counter 0.
    pub const fn hotp() -> Self {
        Self {
            otp_type: OtpType::Hotp,
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
            counter: 0,
        }
    }

    /// Steam Guard: SHA1, 5 characters, 30 s.
    pub const fn steam() -> Self {
        Self {
            otp_type: OtpType::Steam,
            algorithm: Algorithm::Sha1,
            digits: STEAM_DIGITS,
            period: 30,
            counter: 0,
        }
    }

    /// Checks that a generator can be built from these parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        if self.otp_type == OtpType::Steam {
            if self.digits != STEAM_DIGITS {
                return Err(ParamError::Digits(self.digits));
            }
        } else if !(MIN_DIGITS..=MAX_DIGITS).contains(&self.digits) {
            return Err(ParamError::Digits(self.digits));
        }
        if self.period == 0 || self.period > MAX_PERIOD_S {
            return Err(ParamError::Period(self.period));
        }
        if self.otp_type != OtpType::Hotp && self.counter != 0 {
            return Err(ParamError::CounterOnTimeBased);
        }
        Ok(())
    }
}

/// Why a set of parameters cannot produce codes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// Digits out of range.
    #[error("digits must be between {MIN_DIGITS} and {MAX_DIGITS} (Steam: 5), got {0}")]
    Digits(u8),
    /// Period out of range.
    #[error("period must be between 1 and {MAX_PERIOD_S} seconds, got {0}")]
    Period(u32),
    /// A counter was given for a time-based profile.
    #[error("a counter only applies to HOTP")]
    CounterOnTimeBased,
    /// Seed length out of range.
    #[error("secret must be {MIN_SECRET_BYTES}–{MAX_SECRET_BYTES} bytes, got {0}")]
    SecretLength(usize),
}

/// Checks a decoded seed's length.
pub fn validate_secret_len(len: usize) -> Result<(), ParamError> {
    if (MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&len) {
        Ok(())
    } else {
        Err(ParamError::SecretLength(len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        for p in [OtpParams::totp(), OtpParams::hotp(), OtpParams::steam()] {
            p.validate().unwrap();
        }
    }

    #[test]
    fn rejects_out_of_range() {
        let mut p = OtpParams::totp();
        p.digits = 4;
        assert_eq!(p.validate(), Err(ParamError::Digits(4)));
        p.digits = 11;
        assert_eq!(p.validate(), Err(ParamError::Digits(11)));
        p.digits = 6;
        p.period = 0;
        assert_eq!(p.validate(), Err(ParamError::Period(0)));
        let mut s = OtpParams::steam();
        s.digits = 6;
        assert!(s.validate().is_err());
        let mut t = OtpParams::totp();
        t.counter = 3;
        assert_eq!(t.validate(), Err(ParamError::CounterOnTimeBased));
        assert!(validate_secret_len(0).is_err());
        assert!(validate_secret_len(10).is_ok());
    }
}
