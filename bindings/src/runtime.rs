//! The one tokio runtime of the bindings.
//!
//! Created on first use and never dropped (a `static`), so it is never torn
//! down on one of its own threads. Async exports use it through UniFFI's
//! `async_runtime = "tokio"`; background tasks are spawned on it.

use std::sync::OnceLock;
use tokio::runtime::{Builder, Runtime};

static RUNTIME: OnceLock<Option<Runtime>> = OnceLock::new();

/// The shared runtime, or `None` if the OS refused to create its threads.
pub fn runtime() -> Option<&'static Runtime> {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("countersign-rt")
                .enable_all()
                .build()
                .ok()
        })
        .as_ref()
}
