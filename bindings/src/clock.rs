//! The clock the shells provide (tests inject a fixed one).

/// Wall-clock time source. Must not throw; if it does, the core falls back
/// to the system clock.
#[uniffi::export(with_foreign)]
pub trait Clock: Send + Sync {
    /// Current Unix time in seconds.
    fn now_unix_s(&self) -> i64;
}

/// The operating system's clock.
#[derive(Debug, Default)]
pub struct SystemClock;

/// The operating system's wall clock as a `Clock`.
#[uniffi::export]
pub fn system_clock() -> std::sync::Arc<dyn Clock> {
    std::sync::Arc::new(SystemClock)
}

impl Clock for SystemClock {
    fn now_unix_s(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}
