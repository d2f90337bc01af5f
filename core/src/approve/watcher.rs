//! Approve on the phone, driven from the core: polling every pairing,
//! backing off on errors, keeping the waiting requests ([`super::inbox`]),
//! answering by request id, and telling one [`ApproveListener`] about every
//! change. The shells only show what they are told and pass on what the
//! user typed.
//!
//! [`Approver::watch`] is one future: it long-polls every pairing at once
//! (20 s), gives new, changed and gone requests to the listener, waits
//! 2 s after a failed round (doubling up to 60 s while it keeps failing),
//! and ends when the vault locks (the inbox is cleared then). Drop or abort
//! it to cancel. Listeners are called with no lock held.

use super::flows::{answer_in, Approver, PairingNotice, SignInRequest};
use super::inbox::InboxEvent;
use super::protocol::{Decision, RequestState};
use crate::clock::Clock;
use crate::error::AuthenticatorError;
use std::sync::Arc;
use std::time::Duration;

type Result<T, E = AuthenticatorError> = std::result::Result<T, E>;

/// Long-poll length per round, seconds.
const POLL_S: u64 = 20;
/// First wait after a failed round; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Receives what happens to Approve on this phone. Called with no lock
/// held, from the watcher's task or from the thread that answered.
pub trait ApproveListener: Send + Sync {
    /// A request arrived, changed or left the inbox.
    fn on_inbox(&self, event: InboxEvent);
    /// A notice from a server (a new pairing, a changed backup email, …).
    fn on_notice(&self, notice: PairingNotice);
    /// One pairing could not be polled (the watcher keeps trying).
    fn on_error(&self, pairing_id: &str, error: AuthenticatorError);
}

impl Approver {
    /// Where inbox changes, notices and poll errors go (`None` to stop).
    pub fn set_listener(&self, listener: Option<Arc<dyn ApproveListener>>) {
        if let Ok(mut l) = self.listener.lock() {
            *l = listener;
        }
    }

    fn listener(&self) -> Option<Arc<dyn ApproveListener>> {
        self.listener.lock().ok().and_then(|l| l.clone())
    }

    pub(super) fn tell(&self, events: Vec<InboxEvent>) {
        if events.is_empty() {
            return;
        }
        if let Some(l) = self.listener() {
            for e in events {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| l.on_inbox(e)));
            }
        }
    }

    /// The requests waiting for an answer, oldest first.
    pub fn waiting(&self, now: i64) -> Vec<SignInRequest> {
        self.tell(self.inbox.expire(now));
        self.inbox.waiting(now)
    }

    /// Polls every pairing once, without waiting (the app opened, a push
    /// arrived), telling the listener; returns the waiting requests.
    pub async fn refresh(&self, now: i64) -> Result<Vec<SignInRequest>> {
        for pairing in self.vault.pairings()? {
            match self.poll_merge(&pairing.id, 0, now, true).await {
                Ok(found) => self.tell_notices(found.notices),
                Err(e) => self.tell_error(&pairing.id, e),
            }
        }
        Ok(self.waiting(now))
    }

    /// Answers the waiting request `request_id`. Approving needs the two
    /// digits the sign-in screen shows (`typed_number`, 0–99): a wrong one
    /// is refused with `WrongNumber` (the request stays, with fewer tries;
    /// the third wrong one denies it). The request leaves the inbox when
    /// the server took the answer.
    pub async fn answer_by_id(
        &self,
        request_id: &str,
        decision: Decision,
        typed_number: u8,
        now: i64,
    ) -> Result<RequestState> {
        let req = self
            .inbox
            .get(request_id, now)
            .ok_or(AuthenticatorError::NotFound)?;
        let outcome = answer_in(
            Some(&self.conns),
            &self.vault,
            &req,
            decision,
            typed_number,
            now,
        )
        .await;
        let event = match &outcome {
            Ok(state) => self.inbox.answered(request_id, *state),
            Err(AuthenticatorError::WrongNumber { tries_left }) => {
                self.inbox.wrong_number(request_id, *tries_left)
            }
            Err(AuthenticatorError::Rejected { code, .. })
                if code == "already_answered" || code == "expired" || code == "not_found" =>
            {
                self.inbox.answered(request_id, RequestState::Expired)
            }
            Err(_) => None,
        };
        self.tell(event.into_iter().collect());
        outcome
    }

    fn tell_notices(&self, notices: Vec<PairingNotice>) {
        if notices.is_empty() {
            return;
        }
        if let Some(l) = self.listener() {
            for n in notices {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| l.on_notice(n)));
            }
        }
    }

    fn tell_error(&self, pairing_id: &str, error: AuthenticatorError) {
        if let Some(l) = self.listener() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                l.on_error(pairing_id, error)
            }));
        }
    }

    /// Watches every pairing until the vault locks (see the module docs).
    /// Run it on a tokio runtime; drop or abort it to cancel.
    pub async fn watch(self: Arc<Self>, clock: Arc<dyn Clock>) {
        let mut backoff = FIRST_BACKOFF;
        // Stops when the vault locks (pairings are unreadable then).
        while let Ok(pairings) = self.vault.pairings() {
            self.tell(self.inbox.expire(clock.now_unix_s()));
            if pairings.is_empty() {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            let polls: Vec<_> = pairings
                .iter()
                .map(|p| {
                    let me = self.clone();
                    let id = p.id.clone();
                    let now = clock.now_unix_s();
                    let task =
                        tokio::spawn(async move { me.poll_merge(&id, POLL_S, now, true).await });
                    (p.id.clone(), task)
                })
                .collect();
            let mut failed = false;
            for (pairing_id, task) in polls {
                let r = task.await.unwrap_or_else(|e| {
                    Err(AuthenticatorError::Internal {
                        reason: format!("request poll failed: {e}"),
                    })
                });
                match r {
                    Ok(found) => self.tell_notices(found.notices),
                    Err(e) => {
                        failed = true;
                        self.tell_error(&pairing_id, e);
                    }
                }
            }
            if failed {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            } else {
                backoff = FIRST_BACKOFF;
            }
        }
        self.inbox.clear();
    }
}
