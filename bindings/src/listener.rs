//! Listeners the shells implement to be told about changes.

use crate::records::OtpCode;

/// Receives the code list once per second while a code screen is visible.
///
/// Called on a background thread with no Rust lock held; hop to the main
/// thread before touching UI. Calling back into the `Authenticator` from
/// here is allowed.
#[uniffi::export(with_foreign)]
pub trait CodeListener: Send + Sync {
    /// The current codes, in display order.
    fn on_codes(&self, codes: Vec<OtpCode>);
    /// The vault locked (timeout or `lock()`); the ticking stops.
    fn on_locked(&self);
}
