//! Cross-crate tests: crash safety, Approve sign-in and sync end to end.
//!
//! One test binary per crate (each file is a module): every integration-test
//! binary links the whole dependency tree, so one binary instead of several
//! keeps the debug build small and quick to link.

mod approve_e2e;
mod crash;
mod sync_e2e;
