//! The server's notion of "now", as an input.
//!
//! Every timestamp the server writes or compares (request expiry, signed
//! times, pairing-token expiry, rate-limit windows, pauses) comes from one
//! [`Clock`] handed in through [`crate::ServerConfig`]. Production uses
//! [`SystemClock`]; tests use [`ManualClock`] and move time forward instead
//! of sleeping. Long-poll waits still use real (monotonic) time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Source of the current Unix time in seconds.
pub trait Clock: Send + Sync + 'static {
    /// Current Unix time, seconds.
    fn now(&self) -> i64;
}

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            // A clock before 1970 is broken; report the epoch rather than panic.
            Err(_) => 0,
        }
    }
}

/// A clock that only moves when told to (tests, benchmarks, demos).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: i64) -> Self {
        Self(AtomicI64::new(start))
    }

    /// A clock reading the current system time.
    pub fn at_system_time() -> Self {
        Self::new(SystemClock.now())
    }

    /// Sets the time.
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Moves the time forward (or back, with a negative value).
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
