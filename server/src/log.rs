//! One-line operational log to stderr.
//!
//! Callers pass only ids, kinds and counts: never tokens, passwords, nonces,
//! session tokens, push tokens or signatures. Disabled by default in the
//! library (tests stay quiet); the binary turns it on.

use std::fmt::Arguments;

/// Writes log lines when enabled.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Logger {
    enabled: bool,
}

impl Logger {
    pub(crate) fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    /// Logs one line, prefixed with the Unix time.
    pub(crate) fn info(&self, now: i64, line: Arguments<'_>) {
        if self.enabled {
            eprintln!("[{now}] {line}");
        }
    }
}
