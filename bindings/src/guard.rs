//! The panic guard: no panic unwinds into Swift or Kotlin.
//!
//! UniFFI already catches panics, but reports them as an untyped internal
//! exception. Every exported method runs its body through [`guard`], which
//! turns a panic into [`AuthError::Internal`] that the shells already handle.
//! The message is the panic's text (our panics never format secrets).

use crate::error::AuthError;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`, converting a panic into `AuthError::Internal`.
pub fn guard<T>(f: impl FnOnce() -> Result<T, AuthError>) -> Result<T, AuthError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(AuthError::Internal {
            reason: panic_text(payload.as_ref()),
        }),
    }
}

/// Best-effort text of a panic payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("panic: {msg}")
}
