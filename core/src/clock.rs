//! Time as a parameter. Everything in the core takes `now` from its caller;
//! the façade ([`crate::Authenticator`]) reads it from a [`Clock`] the app
//! injects (the phone's clock, a fixed one in tests). This module is the one
//! place the operating system's clock is read.

/// A wall-clock time source.
pub trait Clock: Send + Sync {
    /// Current Unix time, seconds.
    fn now_unix_s(&self) -> i64;
}

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_s(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}
