//! Integration tests of countersign-core: OTP against an independent oracle (totp-rs), backup round trips,
//! the vault file read by a second implementation of docs/vault-format.md.
//!
//! One test binary per crate (each file is a module): every integration-test
//! binary links the whole dependency tree, so one binary instead of several
//! keeps the debug build small and quick to link.

mod backup_roundtrip;
mod otp_oracle;
mod vault_format;
