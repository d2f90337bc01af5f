//! Integration tests of countersign-server: real HTTPS servers on loopback, SQLite and PostgreSQL stores.
//!
//! One test binary per crate (each file is a module): every integration-test
//! binary links the whole dependency tree, so one binary instead of several
//! keeps the debug build small and quick to link.

mod attacks;
mod cli;
mod common;
mod pairing;
mod push;
mod robustness;
mod signin;
mod sync;
mod two_nodes;
mod web;
