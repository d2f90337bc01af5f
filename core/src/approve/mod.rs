//! Approve sign-in: the phone side of push approvals.
//!
//! - [`protocol`]: wire types and signed-message encodings shared with the server.
//! - [`pinning`]: TLS pinned to the server's key (no system roots, ever).
//! - [`client`]: HTTP calls over the pinned connection.
//! - [`flows`]: pair, pending, answer, unpair, push token — the API shells use.
//!
//! States of a pairing flow (documented in `docs/protocol.md`):
//! `scanned/typed → (fingerprint confirmed) → key created → paired`, or for
//! a password pairing of an account with a phone `… → key created →
//! awaiting approval (show the number) → paired`, with the device key
//! deleted again on any failure after it was created.

pub mod client;
pub mod flows;
pub mod inbox;
pub mod pinning;
pub mod protocol;
pub mod watcher;

pub use flows::{
    answer, check_all_pending, fetch_server_identity, finish_password_pairing, pair_with_invite,
    pair_with_password, pending, pending_requests, send_answer, sign_answer, unpair,
    update_push_token, Approver, ConnCache, DeviceInfo, PairingNotice, PasswordPairing, Pending,
    PendingCheck, PendingPairing, ServerIdentity, ShownContext, SignInRequest, SignedAnswer,
};
pub use inbox::{Gone, InboxEvent, MAX_WAITING};
pub use protocol::{Action, Decision, RequestState, SignInContext};
pub use watcher::ApproveListener;
