//! Integration tests of the countersign CLI: the built binary run on real vaults and a real server.
//!
//! One test binary per crate (each file is a module): every integration-test
//! binary links the whole dependency tree, so one binary instead of several
//! keeps the debug build small and quick to link.

mod approve_cli;
mod backup_cli;
mod common;
mod contract;
mod export_cli;
mod import_cli;
mod sync_cli;
