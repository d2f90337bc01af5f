//! The clock the shells provide (tests inject a fixed one).

/// Wall-clock time source.
#[uniffi::export(with_foreign)]
pub trait Clock: Send + Sync {
    /// Current Unix time in seconds.
    fn now_unix_s(&self) -> i64;
}

/// The operating system's clock.
#[derive(uniffi::Object, Debug, Default)]
pub struct SystemClock;

#[uniffi::export]
impl SystemClock {
    /// The system clock.
    #[uniffi::constructor]
    pub fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self)
    }
}

impl Clock for SystemClock {
    fn now_unix_s(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}
