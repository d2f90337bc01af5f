//! In-memory wake-ups for long-polls.
//!
//! Two topics: per account (a device waiting in `GET /v1/device/requests` is
//! woken when a sign-in request for its account is created) and per request
//! (the login side waiting in `GET /v1/signin/{id}` is woken when it is
//! answered). A waiter subscribes *before* reading the database and then
//! waits, so a notification between the read and the wait is not lost
//! (`Notify::notified` + `enable`).
//!
//! The waiters live in a [`LocalHub`] (this process). With SQLite that is
//! all there is. With PostgreSQL the [`Hub`] also hands every notification
//! to a [`WakeRemote`] (`store::pg_wake`), which publishes it with `NOTIFY`;
//! every node's listener feeds what it hears into its own [`LocalHub`]. The
//! database stays the source of truth either way: a wake-up only says "read
//! again", so a lost or duplicated one costs at most a poll interval.

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

/// The two topics are addressed over the wire by this tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WakeTopic {
    /// Per account: new sign-in requests (device long-polls).
    Account,
    /// Per request: answered (login-side long-polls).
    Request,
}

/// Waiters of this process.
#[derive(Default)]
pub(crate) struct LocalHub {
    accounts: Topic,
    requests: Topic,
}

impl LocalHub {
    /// Wakes everyone in this process waiting on `key` of `topic`.
    pub fn notify(&self, topic: WakeTopic, key: &str) {
        match topic {
            WakeTopic::Account => self.accounts.notify(key),
            WakeTopic::Request => self.requests.notify(key),
        }
    }

    /// Wakes every waiter of this process (after missing notifications,
    /// e.g. while the listener reconnected; they re-read the database).
    pub fn notify_all(&self) {
        for topic in [&self.accounts, &self.requests] {
            let map = topic.0.lock().unwrap_or_else(|p| p.into_inner());
            for n in map.values() {
                n.notify_waiters();
            }
        }
    }
}

/// Carries notifications to the other nodes (never blocks the caller).
pub(crate) trait WakeRemote: Send + Sync {
    /// Publishes one wake-up; best effort.
    fn publish(&self, topic: WakeTopic, key: &str);
}

/// Wake-up hub for long-polls.
#[derive(Default)]
pub(crate) struct Hub {
    local: Arc<LocalHub>,
    remote: Option<Box<dyn WakeRemote>>,
}

impl Hub {
    /// A hub whose notifications also go to `remote`; `local` is what the
    /// remote's listener wakes.
    pub fn with_remote(local: Arc<LocalHub>, remote: Box<dyn WakeRemote>) -> Self {
        Self {
            local,
            remote: Some(remote),
        }
    }

    /// Subscribes to new requests for `account`.
    pub fn account(&self, account: &str) -> Arc<Notify> {
        self.local.accounts.subscribe(account)
    }

    /// Wakes everyone waiting on `account` (on every node).
    pub fn notify_account(&self, account: &str) {
        self.notify(WakeTopic::Account, account);
    }

    /// Subscribes to state changes of request `id`.
    pub fn request(&self, id: &str) -> Arc<Notify> {
        self.local.requests.subscribe(id)
    }

    /// Wakes everyone waiting on request `id` (on every node).
    pub fn notify_request(&self, id: &str) {
        self.notify(WakeTopic::Request, id);
    }

    fn notify(&self, topic: WakeTopic, key: &str) {
        self.local.notify(topic, key);
        if let Some(remote) = &self.remote {
            remote.publish(topic, key);
        }
    }
}
