//! Integration tests of the UniFFI layer, called as the shells would call it.
//!
//! One test binary per crate (each file is a module): every integration-test
//! binary links the whole dependency tree, so one binary instead of several
//! keeps the debug build small and quick to link.

mod approve;
mod ffi;
mod sync;
