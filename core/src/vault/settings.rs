//! User settings stored (sealed) in the vault.

use serde::{Deserialize, Serialize};

/// Longest re-authentication timeout we accept (one day).
pub const MAX_REAUTH_TIMEOUT_S: u32 = 86_400;
/// Largest clock offset we accept (one day either way); anything larger is a
/// misconfigured clock, not a correction.
pub const MAX_CLOCK_OFFSET_S: i64 = 86_400;

/// Settings that travel with the vault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Show codes in the list without tapping (default on).
    pub always_show_otp: bool,
    /// Require biometrics / device credential to send an Approve (default on).
    pub require_screen_lock_after_approve: bool,
    /// Lock when the app has been in the background this long, seconds
    /// (0: lock as soon as it goes to the background). Default 60.
    pub reauth_timeout_s: u32,
    /// Seconds added to the device clock before computing codes (positive:
    /// the device is behind). Default 0.
    pub clock_offset_s: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            always_show_otp: true,
            require_screen_lock_after_approve: true,
            reauth_timeout_s: 60,
            clock_offset_s: 0,
        }
    }
}

impl Settings {
    /// Checks ranges.
    pub fn validate(&self) -> Result<(), String> {
        if self.reauth_timeout_s > MAX_REAUTH_TIMEOUT_S {
            return Err(format!(
                "re-auth timeout must be at most {MAX_REAUTH_TIMEOUT_S} s"
            ));
        }
        if self.clock_offset_s.abs() > MAX_CLOCK_OFFSET_S {
            return Err(format!(
                "clock offset must be within ±{MAX_CLOCK_OFFSET_S} s"
            ));
        }
        Ok(())
    }
}
