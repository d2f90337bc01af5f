//! Countersign core: everything an authenticator does that is not UI.
//!
//! Apps hold one [`Authenticator`] per vault (the façade: vault, approve
//! client, automatic backups, sync and their scheduling); the modules below
//! are its parts.
//!
//! - [`otp`]: HOTP/TOTP/Steam code generation, pure functions of time.
//! - [`uri`]: `otpauth://` and Google Authenticator `otpauth-migration://` parsing and writing.
//! - [`vault`]: the encrypted SQLite vault, key slots and the passcode gate.
//! - [`import`] / [`export`]: every file in (one router: backup, URI list,
//!   other apps' exports) and out (otpauth list, Google QR payloads, backup).
//!
//! The crate is plain Rust: no FFI types, no global state, no hidden clock.
//! The shells reach it through `countersign-ffi`, the CLI directly; both use
//! only what is exported here. Errors shells can act on are
//! [`AuthenticatorError`]; richer internal errors map into it in one place
//! (`error.rs`).

pub mod error;
pub mod otp;
pub mod profile;
pub mod secret;
pub mod uri;
pub mod vault;

pub use authenticator::Authenticator;
pub use clock::{Clock, SystemClock};
pub use error::AuthenticatorError;
pub use otp::{Algorithm, Code, CodeText, Generator, OtpParams, OtpType};
pub use profile::{NewProfile, Profile};
pub use secret::SecretBytes;
pub use vault::{KeyProtector, ProtectorError, Settings, SoftwareKeyProtector, Vault};
pub mod approve;
pub mod authenticator;
pub mod backup;
pub mod civil;
pub mod clock;
pub mod export;
pub mod import;
pub mod sync;
