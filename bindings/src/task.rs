//! Handles for background work started by the bindings.

use std::sync::Mutex;
use tokio::task::JoinHandle;

/// A running background task (e.g. the code ticker). Cancel it when the
/// screen goes away; dropping the handle also cancels it.
#[derive(uniffi::Object, Debug)]
pub struct TaskHandle {
    inner: Mutex<Option<JoinHandle<()>>>,
}

impl TaskHandle {
    pub(crate) fn new(h: JoinHandle<()>) -> Self {
        Self {
            inner: Mutex::new(Some(h)),
        }
    }
}

#[uniffi::export]
impl TaskHandle {
    /// Stops the task. Idempotent.
    pub fn cancel(&self) {
        if let Ok(mut g) = self.inner.lock() {
            if let Some(h) = g.take() {
                h.abort();
            }
        }
    }

    /// True once cancelled or finished.
    pub fn is_finished(&self) -> bool {
        self.inner
            .lock()
            .map(|g| g.as_ref().is_none_or(|h| h.is_finished()))
            .unwrap_or(true)
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}
