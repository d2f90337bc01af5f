//! Limits on wrong passwords (password pairing and sign-in).
//!
//! A sliding window of failure times per key (`user:<name>` and `ip:<addr>`).
//! When a key has reached its limit, further password checks for it are
//! refused with `rate_limited` *before* hashing, until the oldest failure
//! leaves the window. In memory, per process (issue 5 may move it to the
//! database); a restart forgets it, which only ever makes it more lenient.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// The map is swept of stale keys when it grows past this many.
const SWEEP_AT: usize = 10_000;

/// Sliding-window failure counter.
pub(crate) struct FailureLimiter {
    window_s: i64,
    failures: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl FailureLimiter {
    pub fn new(window_s: i64) -> Self {
        Self {
            window_s: window_s.max(1),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after_s)` if any `(key, limit)` has `limit` failures in the window.
    pub fn check(&self, keys: &[(&str, u32)], now: i64) -> Result<(), i64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = 0;
        for (key, limit) in keys {
            if let Some(times) = map.get_mut(*key) {
                while times.front().is_some_and(|&t| t <= now - self.window_s) {
                    times.pop_front();
                }
                if times.len() >= *limit as usize {
                    let oldest = times.front().copied().unwrap_or(now);
                    wait = wait.max(oldest + self.window_s - now);
                }
            }
        }
        if wait > 0 {
            Err(wait)
        } else {
            Ok(())
        }
    }

    /// Records one failure for each key.
    pub fn record(&self, keys: &[(&str, u32)], now: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= SWEEP_AT {
            let horizon = now - self.window_s;
            map.retain(|_, times| times.back().is_some_and(|&t| t > horizon));
        }
        for (key, limit) in keys {
            let times = map.entry((*key).to_owned()).or_default();
            times.push_back(now);
            // Never keep more than the limit needs.
            while times.len() > (*limit as usize).max(1) {
                times.pop_front();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_forgets() {
        let l = FailureLimiter::new(100);
        let keys = [("user:a", 2u32)];
        assert!(l.check(&keys, 0).is_ok());
        l.record(&keys, 0);
        l.record(&keys, 10);
        assert_eq!(l.check(&keys, 20), Err(80));
        assert!(l.check(&[("user:b", 2)], 20).is_ok());
        assert!(l.check(&keys, 101).is_ok());
    }
}
