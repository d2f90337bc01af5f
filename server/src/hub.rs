//! In-memory wake-ups for long-polls.
//!
//! Two topics: per account (a device waiting in `GET /v1/device/requests` is
//! woken when a sign-in request for its account is created) and per request
//! (the login side waiting in `GET /v1/signin/{id}` is woken when it is
//! answered). A waiter subscribes *before* reading the database and then
//! waits, so a notification between the read and the wait is not lost
//! (`Notify::notified` + `enable`).
//!
//! This works for one server process only. Issue 5 replaces it, for
//! multi-node deployments, with PostgreSQL `LISTEN/NOTIFY` on the same two
//! topics; the database stays the source of truth either way, a wake-up only
//! says "read again".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Entries are pruned when the map grows past this many keys.
const PRUNE_AT: usize = 1024;

#[derive(Default)]
struct Topic(Mutex<HashMap<String, Arc<Notify>>>);

impl Topic {
    fn subscribe(&self, key: &str) -> Arc<Notify> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= PRUNE_AT {
            // Keep only keys someone is waiting on.
            map.retain(|_, n| Arc::strong_count(n) > 1);
        }
        Arc::clone(map.entry(key.to_owned()).or_default())
    }

    fn notify(&self, key: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get(key) {
            n.notify_waiters();
            if Arc::strong_count(n) == 1 {
                map.remove(key);
            }
        }
    }
}

/// Wake-up hub for long-polls.
#[derive(Default)]
pub(crate) struct Hub {
    accounts: Topic,
    requests: Topic,
}

impl Hub {
    /// Subscribes to new requests for `account`.
    pub fn account(&self, account: &str) -> Arc<Notify> {
        self.accounts.subscribe(account)
    }

    /// Wakes everyone waiting on `account`.
    pub fn notify_account(&self, account: &str) {
        self.accounts.notify(account);
    }

    /// Subscribes to state changes of request `id`.
    pub fn request(&self, id: &str) -> Arc<Notify> {
        self.requests.subscribe(id)
    }

    /// Wakes everyone waiting on request `id`.
    pub fn notify_request(&self, id: &str) {
        self.requests.notify(id);
    }
}
