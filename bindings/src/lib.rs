//! UniFFI bindings of the Countersign core for the Swift (iOS) and Kotlin
//! (Android) shells.
//!
//! Thin by design: every exported object wraps a core type and delegates.
//! What lives here is only what the FFI needs:
//! - records mirroring core data (`records.rs`), converted at the boundary;
//! - one public error enum per concern, mapped from the core in one place
//!   (`error.rs`);
//! - files in and out (`files.rs`: import, backup, export — the core's router);
//! - foreign traits the shells implement (`keystore.rs`, `clock.rs`,
//!   `listener.rs`) and their adapters to core traits;
//! - the single tokio runtime for async calls and background tasks
//!   (`runtime.rs`, `task.rs`);
//! - a panic guard so no panic ever unwinds into Swift or Kotlin (`guard.rs`).
//!
//! Threading rule: no Rust lock is held while a foreign trait method runs.
//! The vault releases its lock around keystore calls; listeners are called
//! with data already copied out.

mod approve;
mod authenticator;
mod clock;
mod error;
mod files;
mod guard;
mod keystore;
mod listener;
mod records;
mod runtime;
mod sync;
mod task;
mod upkeep;

pub use approve::{
    Decision, DeviceRegistration, PairingFailure, PasswordPairingOutcome, PendingCheck,
    PendingPairing, RequestAction, RequestGone, RequestState, ServerIdentity, ServerNotice,
    ServerPairing, ShownContext, SignInContext, SignInListener, SignInRequest,
};
pub use authenticator::{ffi_panic_probe, Authenticator};
pub use clock::{system_clock, Clock, SystemClock};
pub use error::{AuthError, KeystoreError};
pub use files::{
    BackupFile, GoogleQrExport, ImportKind, ImportReport, ImportSkip, ImportSource, LeftOutProfile,
    ListedPairing,
};
pub use keystore::{software_keystore, PlatformKeystore, SoftwareKeystore};
pub use listener::CodeListener;
pub use records::*;
pub use task::TaskHandle;
pub use upkeep::{UpkeepInfo, UpkeepKind, UpkeepListener, UpkeepNotice};

uniffi::setup_scaffolding!();
