//! Old records removed on a schedule.
//!
//! A sign-in server runs for years: every sign-in leaves a request row and
//! events, every browser a session and a login flow. Nothing here is needed
//! once it is old — limits look back minutes or an hour, the admin page
//! shows recent events — so [`crate::server`] prunes at start and hourly:
//! answered/expired requests after [`Retention::requests_days`], events
//! after [`Retention::events_days`], and expired sessions, login flows,
//! email tokens, pairing invitations, attempt records, notices and timed IP blocks
//! as soon as they can no longer matter. Deleting is idempotent, so every
//! node sharing a PostgreSQL database may prune. This is the only place
//! those tables are swept (inserts on the sign-in path no longer delete
//! expired rows); readers filter by time, so rows awaiting the next prune
//! are never used.

/// How long records are kept (days).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Sign-in requests, counted from when they expired (default 30).
    pub requests_days: u32,
    /// The event log (default 365).
    pub events_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            requests_days: 30,
            events_days: 365,
        }
    }
}

/// Cut-off times for one prune (Unix seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PruneBefore {
    /// Now: expired sessions, flows and blocks go.
    pub now: i64,
    /// Requests that expired before this go.
    pub requests: i64,
    /// Events before this go.
    pub events: i64,
    /// Email tokens, invitations and failure records that expired (or, for
    /// failures, happened) before this go: a day ago, longer than any
    /// window that counts them.
    pub spent: i64,
    /// Notices for phones older than this go (30 days: a phone offline
    /// longer than that has missed them).
    pub notices: i64,
}

impl Retention {
    /// The cut-offs at `now`.
    pub fn before(&self, now: i64) -> PruneBefore {
        let days = |d: u32| i64::from(d) * 86_400;
        PruneBefore {
            now,
            requests: now.saturating_sub(days(self.requests_days)),
            events: now.saturating_sub(days(self.events_days)),
            spent: now.saturating_sub(86_400),
            notices: now.saturating_sub(30 * 86_400),
        }
    }
}

/// Rows one prune removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Sign-in requests.
    pub requests: u64,
    /// Events.
    pub events: u64,
    /// Sessions, login flows, email tokens, invitations, failure records and
    /// IP blocks together.
    pub other: u64,
}

/// The statements, in order, with `{p}` standing for the store's parameter
/// marker and which cut-off each takes. Requests go by expiry, so a pending
/// one is never touched.
pub(super) const STATEMENTS: &[(Target, &str, Cut)] = &[
    (
        Target::Requests,
        "DELETE FROM requests WHERE expires_at < {p}",
        Cut::Requests,
    ),
    (
        Target::Events,
        "DELETE FROM events WHERE time < {p}",
        Cut::Events,
    ),
    (
        Target::Other,
        "DELETE FROM sessions WHERE expires_at <= {p}",
        Cut::Now,
    ),
    (
        Target::Other,
        "DELETE FROM login_flows WHERE expires_at <= {p}",
        Cut::Now,
    ),
    (
        Target::Other,
        "DELETE FROM email_tokens WHERE expires_at < {p}",
        Cut::Spent,
    ),
    (
        Target::Other,
        "DELETE FROM pair_tokens WHERE expires_at < {p}",
        Cut::Spent,
    ),
    (
        Target::Other,
        "DELETE FROM attempts WHERE time < {p}",
        Cut::Spent,
    ),
    (
        Target::Other,
        "DELETE FROM notices WHERE time < {p}",
        Cut::Notices,
    ),
    (
        Target::Other,
        "DELETE FROM ip_blocks WHERE until IS NOT NULL AND until <= {p}",
        Cut::Now,
    ),
];

/// Which counter a statement adds to.
#[derive(Clone, Copy)]
pub(super) enum Target {
    Requests,
    Events,
    Other,
}

/// Which cut-off a statement takes.
#[derive(Clone, Copy)]
pub(super) enum Cut {
    Now,
    Requests,
    Events,
    Spent,
    Notices,
}

impl PruneBefore {
    pub(super) fn get(&self, cut: Cut) -> i64 {
        match cut {
            Cut::Now => self.now,
            Cut::Requests => self.requests,
            Cut::Events => self.events,
            Cut::Spent => self.spent,
            Cut::Notices => self.notices,
        }
    }
}

impl Pruned {
    pub(super) fn add(&mut self, target: Target, n: u64) {
        match target {
            Target::Requests => self.requests += n,
            Target::Events => self.events += n,
            Target::Other => self.other += n,
        }
    }
}
