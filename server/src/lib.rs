//! Countersign reference sign-in server.
//!
//! A server (home NAS, company portal) that lets a user sign in by tapping
//! **Approve** on a paired phone. The wire protocol is defined in
//! `countersign_core::approve::protocol` and documented in `docs/protocol.md`;
//! this crate is one implementation of the server side of it.
//!
//! Layout (one folder per concern):
//! - [`config`]: what a deployment chooses ([`ServerConfig`], [`PushConfig`]).
//! - [`clock`]: the injectable clock ([`Clock`], [`ManualClock`]) so tests can
//!   expire requests without sleeping.
//! - `server`: [`start`] and the [`RunningServer`] handle.
//! - `api/`: the HTTP endpoints, extractors and the one error mapping.
//! - [`store`]: the [`store::Store`] trait and its SQLite and PostgreSQL
//!   implementations (PostgreSQL also carries long-poll wake-ups between
//!   nodes).
//! - [`push`]: wake-up senders ([`push::ApnsSender`], [`push::FcmSender`]).
//! - `tls/`: the self-signed certificate and the rustls (ring) configuration.
//! - `accounts`, `hub`, `crypto`: users and invitations, long-poll wake-ups,
//!   randomness and hashing (password-guessing limits live in the store's
//!   failure records, see `twostep::guard`).
//!
//! Invariants kept everywhere: no secret (token, password, nonce, session)
//! is ever logged or put in an error message; every HTTP answer, errors
//! included, carries `server_time`; a malformed request gets a 4xx JSON
//! `ErrorBody`, never a 5xx or a panic.

mod accounts;
mod api;
pub mod clock;
pub mod config;
mod crypto;
mod error;
mod hub;
mod log;
mod notify;
#[cfg(test)]
mod protocol_doc;
pub mod push;
mod server;
mod state;
pub mod store;
mod tls;
mod twostep;
mod web;

pub use accounts::{Event, SignInMethod};
pub use api::forwarded::parse_trusted_proxy;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    Database, IpBlockPolicy, PairingPolicy, PushConfig, RateLimits, Retention, ServerConfig,
    SmtpConfig, SmtpSecurity,
};
pub use error::ServerError;
pub use push::{ApnsConfig, FcmAuth, FcmConfig, PushError, PushSender, ServiceAccount};
pub use server::{
    add_user, add_user_to, add_user_with, admin_tokens, create_admin_token, open_store,
    revoke_admin_token, start, RunningServer,
};
