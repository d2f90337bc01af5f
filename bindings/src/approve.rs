//! Approve sign-in through the bindings: pairing, pending requests, answers.
//!
//! Every call here talks to a server and is `async`, running on the
//! bindings' tokio runtime; signing and user-presence prompts run on its
//! blocking pool. Records mirror `countersign_core::approve`.

use crate::authenticator::Authenticator;
use crate::error::AuthError;
use crate::runtime::runtime;
use crate::task::TaskHandle;
use countersign_core::approve as core_approve;
use countersign_core::approve::protocol as proto;
use std::sync::Arc;

/// How this device introduces itself to a server.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeviceRegistration {
    /// Name shown to the user and admins ("Alice's iPhone").
    pub name: String,
    /// "ios", "android" or "desktop".
    pub platform: String,
    /// Push token (APNs / FCM), if any.
    pub push_token: Option<String>,
}

impl From<DeviceRegistration> for core_approve::DeviceInfo {
    fn from(d: DeviceRegistration) -> Self {
        Self {
            name: d.name,
            platform: d.platform,
            push_token: d.push_token,
        }
    }
}

/// A pairing with a sign-in server.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ServerPairing {
    /// Local id.
    pub id: String,
    /// Server name.
    pub server_name: String,
    /// Server id.
    pub server_id: String,
    /// Account on the server.
    pub account: String,
    /// Server addresses.
    pub urls: Vec<String>,
    /// Pinned TLS key fingerprint (SHA-256, hex).
    pub fingerprint: String,
    /// When paired, Unix seconds.
    pub created_at: i64,
    /// Server clock minus device clock at the last contact, seconds; warn
    /// the user when it is large.
    pub clock_offset_s: i64,
}

impl From<countersign_core::vault::Pairing> for ServerPairing {
    fn from(p: countersign_core::vault::Pairing) -> Self {
        Self {
            id: p.id,
            server_name: p.server_name,
            server_id: p.server_id,
            account: p.account,
            urls: p.urls,
            fingerprint: p.spki_sha256_hex,
            created_at: p.created_at,
            clock_offset_s: p.clock_offset_s,
        }
    }
}

/// A server seen for the first time: compare `fingerprint` with what the
/// server's admin page shows before pairing by password.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ServerIdentity {
    /// Server id.
    pub server_id: String,
    /// Server name.
    pub server_name: String,
    /// SHA-256 of the server's TLS key, hex.
    pub fingerprint: String,
    /// Server time.
    pub server_time: i64,
}

/// What a request asks the user to allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RequestAction {
    /// Someone is signing in.
    SignIn,
    /// Someone is pairing a new device with the account (it shows the number).
    PairDevice,
}

impl From<proto::Action> for RequestAction {
    fn from(a: proto::Action) -> Self {
        match a {
            proto::Action::SignIn => Self::SignIn,
            proto::Action::PairDevice => Self::PairDevice,
        }
    }
}

impl From<RequestAction> for proto::Action {
    fn from(a: RequestAction) -> Self {
        match a {
            RequestAction::SignIn => Self::SignIn,
            RequestAction::PairDevice => Self::PairDevice,
        }
    }
}

/// What the phone shows about a sign-in attempt (exactly what is signed;
/// show [`ShownContext`] instead, whose texts are cleaned for display).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignInContext {
    /// Sign-in, or pairing a new device.
    pub action: RequestAction,
    /// Service being signed in to.
    pub service: String,
    /// Address the attempt came from.
    pub client_ip: String,
    /// Browser / client.
    pub user_agent: String,
    /// Approximate place ("" if unknown).
    pub location: String,
    /// Started at (server time).
    pub created_at: i64,
    /// Expires at (server time).
    pub expires_at: i64,
}

/// The context's texts as the screen shows them: no control, bidi or
/// zero-width characters, one line each, bounded (the core's one rule).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ShownContext {
    /// Sign-in, or pairing a new device.
    pub action: RequestAction,
    /// The service.
    pub service: String,
    /// Where from.
    pub client_ip: String,
    /// The client ("Firefox on Linux", or the new device).
    pub client: String,
    /// Approximate place ("" if unknown).
    pub location: String,
}

/// A sign-in waiting for Approve or Deny. To approve, the user types the
/// two-digit number the sign-in screen (or the new device) shows; it is
/// not sent to the phone.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignInRequest {
    /// Pairing it came through.
    pub pairing_id: String,
    /// Server name.
    pub server_name: String,
    /// Request id.
    pub request_id: String,
    /// Account.
    pub account: String,
    /// Nonce (opaque).
    pub nonce: String,
    /// As received (signed as is).
    pub context: SignInContext,
    /// What to show.
    pub shown: ShownContext,
    /// Wrong numbers still allowed before the request is denied.
    pub tries_left: u32,
}

impl From<core_approve::SignInRequest> for SignInRequest {
    fn from(r: core_approve::SignInRequest) -> Self {
        let shown = r.shown();
        Self {
            pairing_id: r.pairing_id,
            server_name: r.server_name,
            request_id: r.request_id,
            account: r.account,
            nonce: r.nonce,
            shown: ShownContext {
                action: shown.action.into(),
                service: shown.service,
                client_ip: shown.client_ip,
                client: shown.client,
                location: shown.location,
            },
            tries_left: r.tries_left,
            context: SignInContext {
                action: r.context.action.into(),
                service: r.context.service,
                client_ip: r.context.client_ip,
                user_agent: r.context.user_agent,
                location: r.context.location,
                created_at: r.context.created_at,
                expires_at: r.context.expires_at,
            },
        }
    }
}

/// The user's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Decision {
    /// Let the sign-in proceed.
    Approve,
    /// Refuse it.
    Deny,
    /// Refuse and report it as not me.
    Report,
}

impl From<Decision> for proto::Decision {
    fn from(d: Decision) -> Self {
        match d {
            Decision::Approve => Self::Approve,
            Decision::Deny => Self::Deny,
            Decision::Report => Self::Report,
        }
    }
}

/// State of a sign-in request after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RequestState {
    /// Still waiting.
    Pending,
    /// Approved.
    Approved,
    /// Denied (also: the third wrong number).
    Denied,
    /// Reported as suspicious.
    Reported,
    /// Expired before an answer.
    Expired,
}

impl From<proto::RequestState> for RequestState {
    fn from(s: proto::RequestState) -> Self {
        match s {
            proto::RequestState::Pending => Self::Pending,
            proto::RequestState::Approved => Self::Approved,
            proto::RequestState::Denied => Self::Denied,
            proto::RequestState::Reported => Self::Reported,
            proto::RequestState::Expired => Self::Expired,
        }
    }
}

/// A pairing that could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PairingFailure {
    /// Pairing id.
    pub pairing_id: String,
    /// What went wrong.
    pub error: AuthError,
}

/// Something a server tells the user (a new phone was paired, the backup
/// email or the 2-step settings changed): shown, not answered.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ServerNotice {
    /// Pairing it came through.
    pub pairing_id: String,
    /// Server name.
    pub server_name: String,
    /// When (server time).
    pub time: i64,
    /// What (`device_paired`, `device_removed`, `email_changed`,
    /// `two_step_changed`).
    pub kind: String,
    /// The sentence to show (cleaned).
    pub text: String,
}

impl From<core_approve::PairingNotice> for ServerNotice {
    fn from(n: core_approve::PairingNotice) -> Self {
        Self {
            pairing_id: n.pairing_id,
            server_name: n.server_name,
            time: n.time,
            kind: n.kind,
            text: n.text,
        }
    }
}

/// Result of checking every pairing for pending requests.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PendingCheck {
    /// Requests waiting.
    pub requests: Vec<SignInRequest>,
    /// New notices.
    pub notices: Vec<ServerNotice>,
    /// Pairings that failed (offline, revoked, …).
    pub failures: Vec<PairingFailure>,
}

/// A password pairing waiting for approval on one of the account's phones.
#[derive(uniffi::Object)]
pub struct PendingPairing(core_approve::PendingPairing);

#[uniffi::export]
impl PendingPairing {
    /// The number to show on this device; the user types it on a paired phone.
    pub fn number(&self) -> u16 {
        u16::from(self.0.number)
    }

    /// When the approval request expires (server time).
    pub fn expires_at(&self) -> i64 {
        self.0.expires_at
    }

    /// The account.
    pub fn account(&self) -> String {
        self.0.account.clone()
    }

    /// The server's name.
    pub fn server_name(&self) -> String {
        self.0.server_name.clone()
    }
}

/// What a password pairing came to.
#[derive(uniffi::Enum)]
pub enum PasswordPairingOutcome {
    /// Paired.
    Paired {
        /// The pairing.
        pairing: ServerPairing,
    },
    /// Show the number and call `finish_password_pairing` until paired.
    AwaitingApproval {
        /// The waiting pairing.
        pending: Arc<PendingPairing>,
    },
}

/// Why a request left the waiting list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RequestGone {
    /// This phone answered it (`state` says how it ended).
    Answered,
    /// Its time ran out.
    Expired,
    /// The server no longer lists it (answered on another phone, replaced
    /// by a newer request of the same sign-in, or cancelled).
    Withdrawn,
}

/// Receives what happens to sign-in requests while the app is watching
/// (foreground or woken by a push): the core keeps the waiting list and
/// says when it changes. Called on a background thread with no lock held.
#[uniffi::export(with_foreign)]
pub trait SignInListener: Send + Sync {
    /// A request needs an answer.
    fn on_request(&self, request: SignInRequest);
    /// A waiting request changed (fewer tries left after a wrong number).
    fn on_request_changed(&self, request: SignInRequest);
    /// A request left the waiting list; `state` is the server's final
    /// state when this phone answered it.
    fn on_request_gone(&self, request_id: String, why: RequestGone, state: Option<RequestState>);
    /// A server told the user something (shown, not answered).
    fn on_notice(&self, notice: ServerNotice);
    /// A pairing could not be checked (network, revoked); watching goes on.
    fn on_error(&self, pairing_id: String, error: AuthError);
}

/// The shell's listener as the core's.
struct ForwardSignIn(Arc<dyn SignInListener>);

impl core_approve::ApproveListener for ForwardSignIn {
    fn on_inbox(&self, event: core_approve::InboxEvent) {
        match event {
            core_approve::InboxEvent::Arrived(r) => self.0.on_request(r.into()),
            core_approve::InboxEvent::Updated(r) => self.0.on_request_changed(r.into()),
            core_approve::InboxEvent::Left { request_id, why } => {
                let (why, state) = match why {
                    core_approve::Gone::Answered(s) => (RequestGone::Answered, Some(s.into())),
                    core_approve::Gone::Expired => (RequestGone::Expired, None),
                    core_approve::Gone::Withdrawn => (RequestGone::Withdrawn, None),
                };
                self.0.on_request_gone(request_id, why, state);
            }
        }
    }

    fn on_notice(&self, notice: core_approve::PairingNotice) {
        self.0.on_notice(notice.into());
    }

    fn on_error(&self, pairing_id: &str, error: countersign_core::AuthenticatorError) {
        self.0.on_error(pairing_id.to_owned(), error.into());
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Authenticator {
    /// Reads a server's identity (name, TLS key fingerprint) without
    /// trusting it, so the user can compare before pairing by password.
    pub async fn fetch_server_identity(&self, url: String) -> Result<ServerIdentity, AuthError> {
        let id = core_approve::fetch_server_identity(&url).await?;
        Ok(ServerIdentity {
            server_id: id.server_id,
            server_name: id.server_name,
            fingerprint: id.spki_sha256_hex,
            server_time: id.server_time,
        })
    }

    /// Pairs with a server from its scanned invitation QR code.
    pub async fn pair_with_invite(
        &self,
        invite: String,
        device: DeviceRegistration,
    ) -> Result<ServerPairing, AuthError> {
        let now = self.now();
        Ok(
            core_approve::pair_with_invite(&self.vault, &invite, &device.into(), now)
                .await?
                .into(),
        )
    }

    /// Pairs by typing: address, the fingerprint the user confirmed,
    /// username and password — plus the account's second step: the code of
    /// its authenticator app (`otp_code`; without it such an account
    /// answers `Rejected { code: "second_step_required" }`), or, when it
    /// has a paired phone, approval there (`AwaitingApproval`).
    pub async fn pair_with_password(
        &self,
        url: String,
        fingerprint: String,
        username: String,
        password: String,
        otp_code: Option<String>,
        device: DeviceRegistration,
    ) -> Result<PasswordPairingOutcome, AuthError> {
        let now = self.now();
        Ok(
            match core_approve::pair_with_password(
                &self.vault,
                &url,
                &fingerprint,
                &username,
                &password,
                otp_code.as_deref(),
                &device.into(),
                now,
            )
            .await?
            {
                core_approve::PasswordPairing::Paired(p) => {
                    PasswordPairingOutcome::Paired { pairing: p.into() }
                }
                core_approve::PasswordPairing::AwaitingApproval(p) => {
                    PasswordPairingOutcome::AwaitingApproval {
                        pending: Arc::new(PendingPairing(p)),
                    }
                }
            },
        )
    }

    /// Waits up to `wait_s` seconds (≤ 25) for a pairing's approval: the
    /// pairing once approved, `None` while still waiting; denied or
    /// expired is an error.
    pub async fn finish_password_pairing(
        &self,
        pending: Arc<PendingPairing>,
        wait_s: u32,
    ) -> Result<Option<ServerPairing>, AuthError> {
        let now = self.now();
        Ok(
            core_approve::finish_password_pairing(&self.vault, &pending.0, u64::from(wait_s), now)
                .await?
                .map(Into::into),
        )
    }

    /// Pending sign-in requests of one pairing; waits up to `wait_s` seconds (≤ 25) for one.
    pub async fn pending_requests(
        &self,
        pairing_id: String,
        wait_s: u32,
    ) -> Result<Vec<SignInRequest>, AuthError> {
        let now = self.now();
        Ok(self
            .approver
            .pending_requests(&pairing_id, u64::from(wait_s), now)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Checks every pairing once (call when the app opens or a push arrives).
    pub async fn check_pending(&self) -> Result<PendingCheck, AuthError> {
        let now = self.now();
        let c = self.approver.check_all_pending(now).await?;
        Ok(PendingCheck {
            requests: c.requests.into_iter().map(Into::into).collect(),
            notices: c.notices.into_iter().map(Into::into).collect(),
            failures: c
                .failures
                .into_iter()
                .map(|(pairing_id, e)| PairingFailure {
                    pairing_id,
                    error: e.into(),
                })
                .collect(),
        })
    }

    /// Unpairs (telling the server when reachable); returns whether the server confirmed.
    pub async fn unpair(&self, pairing_id: String) -> Result<bool, AuthError> {
        let now = self.now();
        Ok(self.approver.unpair(&pairing_id, now).await?)
    }

    /// Registers a new push token with one pairing's server.
    pub async fn update_push_token(
        &self,
        pairing_id: String,
        push_token: String,
    ) -> Result<(), AuthError> {
        let now = self.now();
        Ok(self
            .approver
            .update_push_token(&pairing_id, &push_token, now)
            .await?)
    }
}

#[uniffi::export]
impl Authenticator {
    /// The stored pairings.
    pub fn pairings(&self) -> Result<Vec<ServerPairing>, AuthError> {
        crate::guard::guard(|| Ok(self.vault.pairings()?.into_iter().map(Into::into).collect()))
    }

    /// Watches every pairing for sign-in requests (the core long-polls,
    /// backs off, keeps the waiting list and calls `listener` on every
    /// change) until cancelled, dropped or the vault locks. One watcher per
    /// authenticator: a new one replaces the listener of the last.
    pub fn watch_sign_in_requests(
        self: Arc<Self>,
        listener: Arc<dyn SignInListener>,
    ) -> Result<Arc<TaskHandle>, AuthError> {
        let rt = runtime().ok_or_else(|| AuthError::Internal {
            reason: "async runtime unavailable".into(),
        })?;
        self.approver
            .set_listener(Some(Arc::new(ForwardSignIn(listener))));
        let approver = self.approver.clone();
        let clock = self.core_clock();
        let handle = rt.spawn(approver.watch(clock));
        Ok(Arc::new(TaskHandle::new(handle)))
    }

    /// The requests waiting for an answer, oldest first (kept by the core;
    /// filled by the watcher, `refresh_requests` or a push).
    pub fn waiting_requests(&self) -> Vec<SignInRequest> {
        self.approver
            .waiting(self.now())
            .into_iter()
            .map(Into::into)
            .collect()
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Authenticator {
    /// Polls every pairing once without waiting (the app opened, a push
    /// arrived) and returns the waiting requests; the watcher's listener
    /// hears the changes too.
    pub async fn refresh_requests(&self) -> Result<Vec<SignInRequest>, AuthError> {
        let now = self.now();
        Ok(self
            .approver
            .refresh(now)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Answers the waiting request `request_id`. Approving needs
    /// `typed_number`, the two digits the sign-in screen shows, typed by the
    /// user (a wrong one is refused with `WrongNumber` and counted; the
    /// third denies) and, if the vault requires it, a screen-lock prompt.
    /// `NotFound` when it is no longer waiting.
    pub async fn answer_request(
        &self,
        request_id: String,
        decision: Decision,
        typed_number: u16,
    ) -> Result<RequestState, AuthError> {
        let now = self.now();
        let typed = u8::try_from(typed_number)
            .ok()
            .filter(|n| *n <= proto::MAX_NUMBER)
            .ok_or_else(|| AuthError::InvalidInput {
                reason: "type the two digits the sign-in screen shows".into(),
            })?;
        Ok(self
            .approver
            .answer_by_id(&request_id, decision.into(), typed, now)
            .await?
            .into())
    }
}
