//! The passcode gate and its brute-force backoff.
//!
//! A 4–8 digit passcode has at most 10⁸ values, so it cannot be what protects
//! the data: the platform key is. The passcode is a *gate*: it is checked
//! against a keyed verifier, `HMAC-SHA256(K_pc, salt || passcode)` where
//! `K_pc = HKDF(data key, "countersign passcode verifier v1")`, stored sealed
//! under the data key. Knowing the passcode without the platform key opens
//! nothing; guessing it needs the platform key and goes through the backoff.
//!
//! Backoff: the first [`FREE_ATTEMPTS`] wrong passcodes cost nothing; after
//! that each wrong one imposes a wait of `30 s · 2^(n − 5)` capped at one hour,
//! so 10⁴ guesses take more than 400 days. The counters are stored in the
//! vault file and survive restarts. If the clock goes backwards the wait is
//! re-anchored at the new time (it cannot be skipped that way and does not
//! become endless either).

use super::crypto::{ct_eq, hmac_sha256, random_bytes};
use crate::error::VaultError;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Wrong attempts allowed before waits begin.
pub const FREE_ATTEMPTS: u32 = 5;
/// First wait, seconds.
pub const BASE_WAIT_S: u64 = 30;
/// Longest single wait, seconds.
pub const MAX_WAIT_S: u64 = 3600;
/// HKDF info for the verifier key.
pub const VERIFIER_INFO: &[u8] = b"countersign passcode verifier v1";

/// Checks the passcode format: 4–8 ASCII digits.
pub fn check_format(passcode: &str) -> Result<(), VaultError> {
    let ok = (4..=8).contains(&passcode.len()) && passcode.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(VaultError::PasscodeFormat)
    }
}

/// The stored verifier (sealed under the data key).
#[derive(Serialize, Deserialize)]
pub struct Verifier {
    salt: [u8; 16],
    mac: [u8; 32],
}

impl Verifier {
    /// A verifier for `passcode` under `key` with a fresh salt.
    pub fn new(key: &[u8], passcode: &str) -> Result<Self, VaultError> {
        check_format(passcode)?;
        let mut salt = [0u8; 16];
        random_bytes(&mut salt)?;
        let mac = hmac_sha256(key, &[&salt, passcode.as_bytes()]);
        Ok(Self { salt, mac })
    }

    /// Constant-time check.
    pub fn matches(&self, key: &[u8], passcode: &str) -> bool {
        let candidate = Zeroizing::new(hmac_sha256(key, &[&self.salt, passcode.as_bytes()]));
        ct_eq(&candidate[..], &self.mac)
    }

    /// Serialized form.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut v = Vec::with_capacity(48);
        v.extend_from_slice(&self.salt);
        v.extend_from_slice(&self.mac);
        Zeroizing::new(v)
    }

    /// Parses [`Verifier::to_bytes`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, VaultError> {
        if b.len() != 48 {
            return Err(VaultError::Corrupt(
                "passcode verifier has the wrong length".into(),
            ));
        }
        let mut salt = [0u8; 16];
        let mut mac = [0u8; 32];
        salt.copy_from_slice(&b[..16]);
        mac.copy_from_slice(&b[16..]);
        Ok(Self { salt, mac })
    }
}

/// Failed-attempt bookkeeping, stored in plain text in the vault's `meta`
/// table (it must be readable before unlocking).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockout {
    /// Wrong attempts since the last success.
    pub failed: u32,
    /// Time of the last wrong attempt (or re-anchoring), Unix seconds.
    pub last_failure_at: i64,
    /// No attempt is accepted before this time, Unix seconds.
    pub locked_until: i64,
}

/// Wait imposed after the `failed`-th wrong attempt.
pub fn wait_after(failed: u32) -> u64 {
    if failed < FREE_ATTEMPTS {
        0
    } else {
        let exp = failed - FREE_ATTEMPTS;
        if exp >= 20 {
            MAX_WAIT_S
        } else {
            (BASE_WAIT_S << exp).min(MAX_WAIT_S)
        }
    }
}

impl Lockout {
    /// Adjusts for a clock that went backwards. Returns true if changed
    /// (the caller persists it).
    pub fn reanchor(&mut self, now: i64) -> bool {
        if self.failed > 0 && now < self.last_failure_at {
            self.last_failure_at = now;
            self.locked_until = now.saturating_add(wait_after(self.failed) as i64);
            true
        } else {
            false
        }
    }

    /// Seconds until the next attempt is accepted.
    pub fn retry_after(&self, now: i64) -> u64 {
        if now >= self.locked_until {
            0
        } else {
            (self.locked_until - now) as u64
        }
    }

    /// Records a wrong attempt at `now`.
    pub fn record_failure(&mut self, now: i64) {
        self.failed = self.failed.saturating_add(1);
        self.last_failure_at = now;
        self.locked_until = now.saturating_add(wait_after(self.failed) as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format() {
        for ok in ["0000", "12345678", "987654"] {
            check_format(ok).unwrap();
        }
        for bad in ["123", "123456789", "12a4", "", "１２３４", " 1234"] {
            assert!(check_format(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn verifier_is_keyed_and_salted() {
        let v = Verifier::new(&[1u8; 32], "1234").unwrap();
        assert!(v.matches(&[1u8; 32], "1234"));
        assert!(!v.matches(&[1u8; 32], "1235"));
        assert!(!v.matches(&[2u8; 32], "1234"));
        let w = Verifier::from_bytes(&v.to_bytes()).unwrap();
        assert!(w.matches(&[1u8; 32], "1234"));
        let v2 = Verifier::new(&[1u8; 32], "1234").unwrap();
        assert_ne!(v.to_bytes()[..], v2.to_bytes()[..]);
        assert!(Verifier::from_bytes(&[0u8; 3]).is_err());
    }

    #[test]
    fn schedule() {
        assert_eq!((0..5).map(wait_after).sum::<u64>(), 0);
        assert_eq!(wait_after(5), 30);
        assert_eq!(wait_after(6), 60);
        assert_eq!(wait_after(12), 3600);
        assert_eq!(wait_after(u32::MAX), 3600);
    }

    #[test]
    fn clock_going_back_reanchors() {
        let mut l = Lockout::default();
        for _ in 0..6 {
            l.record_failure(1000);
        }
        assert_eq!(l.retry_after(1000), 60);
        // Clock set back a day: the full wait applies from the new time.
        assert!(l.reanchor(1000 - 86_400));
        assert_eq!(l.retry_after(1000 - 86_400), 60);
        assert!(!l.reanchor(1000 - 86_400 + 10));
    }
}
