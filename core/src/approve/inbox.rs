//! The requests a phone is waiting to answer, kept in the core.
//!
//! State machine of one request as the phone sees it:
//!
//! ```text
//!   (server lists it) ──► Waiting ──answer ok──────────► gone (Answered)
//!                          │  ▲ wrong number, tries left ─┘ (Updated)
//!                          │  └──────────────────────────
//!                          ├──third wrong number──────────► gone (Answered: Denied)
//!                          ├──expires_at passed───────────► gone (Expired)
//!                          └──server stops listing it─────► gone (Withdrawn:
//!                                                            answered elsewhere,
//!                                                            replaced, cancelled)
//! ```
//!
//! Bounded ([`MAX_WAITING`]; the oldest is dropped first), expired ones
//! dropped, nothing kept across a lock. Shells answer by request id
//! ([`super::Approver::answer_by_id`]); they never hand a request record
//! back. Every transition is an [`InboxEvent`] for the watcher's listener.

use super::flows::SignInRequest;
use super::protocol::RequestState;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Most requests held at once (a server allows one pending per login flow;
/// this only bounds a misbehaving one).
pub const MAX_WAITING: usize = 32;

/// Why a request left the inbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gone {
    /// This phone answered it (the server's resulting state).
    Answered(RequestState),
    /// Its time ran out.
    Expired,
    /// The server no longer lists it (answered on another phone, replaced
    /// by a newer request of the same sign-in, or cancelled).
    Withdrawn,
}

/// A change of the inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InboxEvent {
    /// A new request to show.
    Arrived(SignInRequest),
    /// A waiting request changed (fewer tries left after a wrong number).
    Updated(SignInRequest),
    /// A request left the inbox.
    Left {
        /// Its id.
        request_id: String,
        /// Why.
        why: Gone,
    },
}

struct Held {
    request: SignInRequest,
    /// Device-clock expiry (server `expires_at` minus the pairing's offset).
    expires_at_local: i64,
}

/// The waiting requests, and the ones that left (until they would have
/// expired), so a poll answered by the server just before an answer landed
/// cannot bring a settled request back.
#[derive(Default)]
pub struct Inbox {
    held: Mutex<Lists>,
}

#[derive(Default)]
struct Lists {
    waiting: BTreeMap<String, Held>,
    /// Request id → device time after which it is forgotten.
    settled: BTreeMap<String, i64>,
}

impl Lists {
    fn settle(&mut self, id: &str) -> Option<Held> {
        let held = self.waiting.remove(id)?;
        self.settled.insert(id.to_owned(), held.expires_at_local);
        Some(held)
    }
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox").finish_non_exhaustive()
    }
}

impl Inbox {
    fn with<T>(&self, f: impl FnOnce(&mut Lists) -> T) -> Option<T> {
        self.held.lock().ok().map(|mut h| f(&mut h))
    }

    /// Waiting requests, oldest first, expired ones left out.
    pub fn waiting(&self, now: i64) -> Vec<SignInRequest> {
        let mut v: Vec<SignInRequest> = self
            .with(|h| {
                h.waiting
                    .values()
                    .filter(|x| x.expires_at_local > now)
                    .map(|x| x.request.clone())
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by(|a, b| {
            (a.context.created_at, &a.request_id).cmp(&(b.context.created_at, &b.request_id))
        });
        v
    }

    /// One waiting request.
    pub fn get(&self, request_id: &str, now: i64) -> Option<SignInRequest> {
        self.with(|h| {
            h.waiting
                .get(request_id)
                .filter(|x| x.expires_at_local > now)
                .map(|x| x.request.clone())
        })
        .flatten()
    }

    /// Takes one pairing's fresh list from the server (`offset_s`: server
    /// time minus device time for that pairing): new ones arrive, changed
    /// ones update, ones the server stopped listing are withdrawn, expired
    /// ones leave, and the oldest go when over [`MAX_WAITING`].
    pub fn merge(
        &self,
        pairing_id: &str,
        fresh: Vec<SignInRequest>,
        offset_s: i64,
        now: i64,
    ) -> Vec<InboxEvent> {
        self.with(|h| {
            let mut events = Vec::new();
            let listed: Vec<String> = fresh.iter().map(|r| r.request_id.clone()).collect();
            let withdrawn: Vec<String> = h
                .waiting
                .iter()
                .filter(|(id, x)| x.request.pairing_id == pairing_id && !listed.contains(id))
                .map(|(id, _)| id.clone())
                .collect();
            for id in withdrawn {
                h.settle(&id);
                events.push(InboxEvent::Left {
                    request_id: id,
                    why: Gone::Withdrawn,
                });
            }
            for r in fresh {
                let expires_at_local = r.context.expires_at.saturating_sub(offset_s);
                if expires_at_local <= now || h.settled.contains_key(&r.request_id) {
                    continue;
                }
                let mut r = r;
                if let Some(x) = h.waiting.get(&r.request_id) {
                    // Tries only go down: an older poll cannot give one back.
                    r.tries_left = r.tries_left.min(x.request.tries_left);
                }
                match h.waiting.get_mut(&r.request_id) {
                    Some(x) if x.request == r => {}
                    Some(x) => {
                        x.request = r.clone();
                        x.expires_at_local = expires_at_local;
                        events.push(InboxEvent::Updated(r));
                    }
                    None => {
                        h.waiting.insert(
                            r.request_id.clone(),
                            Held {
                                request: r.clone(),
                                expires_at_local,
                            },
                        );
                        events.push(InboxEvent::Arrived(r));
                    }
                }
            }
            events.extend(expire_in(h, now));
            while h.waiting.len() > MAX_WAITING {
                let oldest = h
                    .waiting
                    .iter()
                    .min_by_key(|(id, x)| (x.request.context.created_at, (*id).clone()))
                    .map(|(id, _)| id.clone());
                let Some(id) = oldest else { break };
                h.settle(&id);
                events.push(InboxEvent::Left {
                    request_id: id,
                    why: Gone::Expired,
                });
            }
            events
        })
        .unwrap_or_default()
    }

    /// Drops requests whose time ran out.
    pub fn expire(&self, now: i64) -> Vec<InboxEvent> {
        self.with(|h| expire_in(h, now)).unwrap_or_default()
    }

    /// After an answer: gone with the server's state, or (a wrong number
    /// with tries left) updated.
    pub(crate) fn answered(&self, request_id: &str, state: RequestState) -> Option<InboxEvent> {
        self.with(|h| {
            h.settle(request_id).map(|_| InboxEvent::Left {
                request_id: request_id.to_owned(),
                why: Gone::Answered(state),
            })
        })
        .flatten()
    }

    /// A wrong number: `tries_left` now (0: the server denied it).
    pub(crate) fn wrong_number(&self, request_id: &str, tries_left: u32) -> Option<InboxEvent> {
        if tries_left == 0 {
            return self.answered(request_id, RequestState::Denied);
        }
        self.with(|h| {
            h.waiting.get_mut(request_id).map(|x| {
                x.request.tries_left = tries_left;
                InboxEvent::Updated(x.request.clone())
            })
        })
        .flatten()
    }

    /// Forgets everything (the vault locked).
    pub fn clear(&self) {
        self.with(|h| {
            h.waiting.clear();
            h.settled.clear();
        });
    }
}

fn expire_in(h: &mut Lists, now: i64) -> Vec<InboxEvent> {
    // What left is remembered only until it would have expired anyway.
    h.settled.retain(|_, until| *until > now);
    let gone: Vec<String> = h
        .waiting
        .iter()
        .filter(|(_, x)| x.expires_at_local <= now)
        .map(|(id, _)| id.clone())
        .collect();
    gone.into_iter()
        .map(|id| {
            h.waiting.remove(&id);
            InboxEvent::Left {
                request_id: id,
                why: Gone::Expired,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approve::protocol::{Action, SignInContext};

    fn req(pairing: &str, id: &str, created: i64, expires: i64) -> SignInRequest {
        SignInRequest {
            pairing_id: pairing.into(),
            server_name: "NAS".into(),
            request_id: id.into(),
            account: "alice".into(),
            nonce: "n".into(),
            context: SignInContext {
                action: Action::SignIn,
                service: "NAS".into(),
                client_ip: "192.0.2.1".into(),
                user_agent: "Firefox".into(),
                location: String::new(),
                created_at: created,
                expires_at: expires,
            },
            tries_left: 3,
        }
    }

    #[test]
    fn requests_arrive_update_leave_and_expire() {
        let inbox = Inbox::default();
        let a = req("p1", "a", 100, 200);
        let b = req("p1", "b", 110, 200);
        let ev = inbox.merge("p1", vec![a.clone(), b.clone()], 0, 150);
        assert_eq!(
            ev,
            [
                InboxEvent::Arrived(a.clone()),
                InboxEvent::Arrived(b.clone())
            ]
        );
        // The same list again: nothing new.
        assert!(inbox
            .merge("p1", vec![a.clone(), b.clone()], 0, 151)
            .is_empty());
        assert_eq!(inbox.waiting(151), [a.clone(), b.clone()]);
        // A wrong number: updated; the third: gone as denied.
        let Some(InboxEvent::Updated(u)) = inbox.wrong_number("a", 2) else {
            panic!("updated");
        };
        assert_eq!(u.tries_left, 2);
        // An older poll still says 3: the count stays at 2.
        assert!(inbox
            .merge("p1", vec![a.clone(), b.clone()], 0, 151)
            .is_empty());
        assert_eq!(inbox.get("a", 151).unwrap().tries_left, 2);
        assert_eq!(
            inbox.wrong_number("a", 0),
            Some(InboxEvent::Left {
                request_id: "a".into(),
                why: Gone::Answered(RequestState::Denied)
            })
        );
        // A poll answered before the answer landed lists "a" again: it stays gone.
        assert!(inbox
            .merge("p1", vec![req("p1", "a", 100, 200), b.clone()], 0, 152)
            .is_empty());
        // Another pairing's list never withdraws p1's requests.
        let c = req("p2", "c", 120, 200);
        assert_eq!(
            inbox.merge("p2", vec![c.clone()], 0, 152),
            [InboxEvent::Arrived(c)]
        );
        // The server stops listing b: withdrawn.
        assert_eq!(
            inbox.merge("p1", vec![], 0, 153),
            [InboxEvent::Left {
                request_id: "b".into(),
                why: Gone::Withdrawn
            }]
        );
        // c runs out.
        assert_eq!(
            inbox.expire(200),
            [InboxEvent::Left {
                request_id: "c".into(),
                why: Gone::Expired
            }]
        );
        assert!(inbox.waiting(200).is_empty());
        assert!(inbox.get("c", 199).is_none());
    }

    #[test]
    fn expiry_follows_the_pairings_clock_offset_and_the_inbox_is_bounded() {
        let inbox = Inbox::default();
        // The server is 50 s ahead: its expires_at 200 is 150 on this device.
        let r = req("p1", "late", 100, 200);
        assert_eq!(inbox.merge("p1", vec![r.clone()], 50, 149).len(), 1);
        assert_eq!(inbox.get("late", 149), Some(r));
        assert!(inbox.get("late", 150).is_none());
        let many: Vec<_> = (0..MAX_WAITING + 5)
            .map(|i| req("p9", &format!("r{i:03}"), i as i64, 10_000))
            .collect();
        let ev = inbox.merge("p9", many, 0, 1);
        let dropped = ev
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    InboxEvent::Left {
                        why: Gone::Expired,
                        ..
                    }
                )
            })
            .count();
        assert!(dropped >= 5, "{dropped}");
        assert!(inbox.waiting(1).len() <= MAX_WAITING);
        assert!(inbox.get("r000", 1).is_none(), "the oldest went first");
        inbox.clear();
        assert!(inbox.waiting(1).is_empty());
    }
}
