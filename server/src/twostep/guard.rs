//! The one policy for attempts: which limits every guess, code send and
//! sign-in request is charged to, and the IP auto-block. The store only
//! counts ([`crate::store::Store::reserve_attempts`]); nothing else decides
//! a limit.
//!
//! **Reserve, then check.** A guess (password, authenticator code, emailed
//! code) first reserves one attempt under each of its budgets, atomically
//! across every node; only a granted reservation is checked. A right guess
//! gives its reservation back, a wrong one keeps it (it is now a failure).
//! So a burst of N concurrent guesses checks at most the limit, however
//! they are spread over connections and nodes.
//!
//! **Known browsers are not locked out by strangers** (OWASP "device
//! cookies"). A browser that completed a full sign-in holds a signed device
//! cookie (`web::browser`); its guesses are charged to a budget of its own
//! for that account, not to the account's shared budget, and the address
//! block does not apply to it. Failures from unknown browsers (and API
//! clients) count against unknown browsers only: ten wrong passwords from
//! anywhere lock out strangers for a while, never the owner's own browser.
//!
//! | attempt | known browser `b` | anyone else |
//! |---|---|---|
//! | password | `pw:A:b` 10 / 15 min | `pw:A` 10 / 15 min, `ip:X` auto-block, `ip:X` 50 / 15 min |
//! | TOTP code | `otp:A:b` 5 / 15 min | `otp:A` 5 / 15 min, `ip:X` auto-block |
//! | emailed code | `email:A:b` 5 / 15 min | `email:A` 5 / 15 min, `ip:X` auto-block |
//! | code mailed | `mail:A` 3 / hour | `mail:A` 3 / hour |
//! | Approve request | `req:A:b` 5 / 10 min | `req:A` 5 / 10 min, `reqip:X` 10 / 10 min |
//! | sync write | `sync:A` 240 / 10 min | `sync:A` 240 / 10 min |
//!
//! (A = account, X = client address; numbers are the defaults of
//! [`crate::config::RateLimits`] and the IP block policy: 10 failures in
//! 5 minutes block the address for 24 hours.) Sends and requests are never
//! given back. Every failed guess from an unknown browser is an attempt
//! under `ip:X`; when they reach the policy's count the address is blocked,
//! and a blocked address gets the same answer whatever account it names,
//! before any account lookup.

use crate::error::ServerError;
use crate::state::Shared;
use crate::store::{ip_failure_key, Budget, Reservation};

/// What is being attempted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// A password (sign-in, pairing, re-authentication).
    Password,
    /// A code from an authenticator app.
    Otp,
    /// An emailed emergency code.
    EmailCode,
    /// Mailing an emergency code.
    EmailSend,
    /// Starting an Approve request (sign-in or pairing approval).
    ApproveRequest,
    /// A write to the sync service (space, entries, deletion).
    SyncWrite,
}

impl Attempt {
    fn prefix(self) -> &'static str {
        match self {
            Attempt::Password => "pw",
            Attempt::Otp => "otp",
            Attempt::EmailCode => "email",
            Attempt::EmailSend => "mail",
            Attempt::ApproveRequest => "req",
            Attempt::SyncWrite => "sync",
        }
    }

    /// Guesses count towards the address's auto-block; sends and requests
    /// have budgets of their own.
    fn is_guess(self) -> bool {
        matches!(self, Attempt::Password | Attempt::Otp | Attempt::EmailCode)
    }
}

/// Who attempts it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attempter<'a> {
    /// The account named.
    pub account: &'a str,
    /// The client address.
    pub ip: &'a str,
    /// The browser's id when it holds a valid device cookie known for
    /// `account` (see `web::browser`).
    pub known_browser: Option<&'a str>,
}

/// The budgets an attempt is charged to (the table in the module docs).
pub(crate) fn budgets(shared: &Shared, attempt: Attempt, who: &Attempter<'_>) -> Vec<Budget> {
    let l = &shared.limits;
    let (limit, window_s) = match attempt {
        Attempt::Password => (l.password_failures_per_user, l.password_failure_window_s),
        Attempt::Otp | Attempt::EmailCode => (
            l.second_step_failures_per_user,
            l.second_step_failure_window_s,
        ),
        Attempt::EmailSend => (l.email_codes_per_hour, 3600),
        Attempt::ApproveRequest => (l.requests_per_window, l.request_window_s),
        Attempt::SyncWrite => (l.sync_writes_per_window, l.sync_window_s),
    };
    let account_key = match (attempt, who.known_browser) {
        (Attempt::EmailSend | Attempt::SyncWrite, _) | (_, None) => {
            format!("{}:{}", attempt.prefix(), who.account)
        }
        (_, Some(b)) => format!("{}:{}:b:{b}", attempt.prefix(), who.account),
    };
    let mut out = vec![Budget {
        key: account_key,
        limit,
        window_s,
    }];
    if who.known_browser.is_some() {
        return out;
    }
    match attempt {
        Attempt::Password | Attempt::Otp | Attempt::EmailCode => {
            if shared.ip_block.max_failures > 0 {
                out.push(auto_block_budget(shared, who.ip));
            }
            if attempt == Attempt::Password {
                out.push(Budget {
                    key: ip_failure_key(who.ip),
                    limit: l.password_failures_per_ip,
                    window_s: l.password_failure_window_s,
                });
            }
        }
        Attempt::ApproveRequest => out.push(Budget {
            key: format!("reqip:{}", who.ip),
            limit: l.requests_per_ip_per_window,
            window_s: l.request_window_s,
        }),
        Attempt::EmailSend | Attempt::SyncWrite => {}
    }
    out
}

fn auto_block_budget(shared: &Shared, ip: &str) -> Budget {
    Budget {
        key: ip_failure_key(ip),
        limit: shared.ip_block.max_failures,
        window_s: shared.ip_block.window_s,
    }
}

/// A reserved attempt: say how it went.
#[must_use = "a reservation is either given back (success) or kept (failure)"]
pub(crate) struct Ticket {
    ids: Vec<i64>,
    /// The address whose auto-block counts this attempt, if any.
    block_ip: Option<String>,
}

/// Why an attempt was refused before it was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The client address is blocked.
    Blocked,
    /// A budget is spent; one more is allowed in this many seconds.
    Wait(i64),
}

impl Ticket {
    /// The attempt succeeded: it is given back and never counts.
    pub(crate) async fn succeeded(self, shared: &Shared) -> Result<(), ServerError> {
        shared.store.release_attempts(self.ids).await?;
        Ok(())
    }

    /// The attempt failed: it stays counted. Returns whether the client's
    /// address is blocked now.
    pub(crate) async fn failed(self, shared: &Shared) -> Result<bool, ServerError> {
        let Some(ip) = self.block_ip else {
            return Ok(false);
        };
        let blocked = shared
            .store
            .block_ip_if_due(ip, shared.now(), shared.ip_block)
            .await?;
        if blocked {
            shared.log(format_args!("address blocked after failed sign-ins"));
        }
        Ok(blocked)
    }

    /// Kept as it is (sends and requests always count).
    pub(crate) fn spent(self) {}
}

/// Reserves an attempt (see the module docs). `Ok(Err(_))`: refused, and
/// nothing was checked or recorded (except the block, when the address's
/// auto-block budget is the one that is spent).
pub(crate) async fn reserve(
    shared: &Shared,
    attempt: Attempt,
    who: &Attempter<'_>,
) -> Result<Result<Ticket, Refusal>, ServerError> {
    let unknown = who.known_browser.is_none();
    if unknown && attempt.is_guess() && check_ip(shared, who.ip).await?.is_err() {
        return Ok(Err(Refusal::Blocked));
    }
    let budgets = budgets(shared, attempt, who);
    let auto_block = (unknown && attempt.is_guess() && shared.ip_block.max_failures > 0)
        .then(|| auto_block_budget(shared, who.ip));
    match shared
        .store
        .reserve_attempts(budgets.clone(), shared.now())
        .await?
    {
        Reservation::Granted(ids) => Ok(Ok(Ticket {
            ids,
            block_ip: (unknown && attempt.is_guess()).then(|| who.ip.to_owned()),
        })),
        Reservation::Refused {
            index,
            retry_after_s,
        } => {
            if auto_block.as_ref() == budgets.get(index)
                && shared
                    .store
                    .block_ip_if_due(who.ip.to_owned(), shared.now(), shared.ip_block)
                    .await?
            {
                return Ok(Err(Refusal::Blocked));
            }
            Ok(Err(Refusal::Wait(retry_after_s)))
        }
    }
}

/// `Err(())` if `ip` is blocked now.
pub(crate) async fn check_ip(shared: &Shared, ip: &str) -> Result<Result<(), ()>, ServerError> {
    let blocked = shared.store.ip_block(ip.to_owned(), shared.now()).await?;
    Ok(if blocked.is_some() { Err(()) } else { Ok(()) })
}

/// "9 minutes", "1 hour", "30 seconds": a wait in plain words (rounded up).
pub(crate) fn wait_words(seconds: i64) -> String {
    let s = seconds.max(1);
    let (n, unit) = if s < 60 {
        (s, "second")
    } else if s < 3600 {
        ((s + 59) / 60, "minute")
    } else {
        ((s + 3599) / 3600, "hour")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::wait_words;

    #[test]
    fn waits_in_words() {
        assert_eq!(wait_words(0), "1 second");
        assert_eq!(wait_words(45), "45 seconds");
        assert_eq!(wait_words(60), "1 minute");
        assert_eq!(wait_words(61), "2 minutes");
        assert_eq!(wait_words(530), "9 minutes");
        assert_eq!(wait_words(3600), "1 hour");
        assert_eq!(wait_words(86_400), "24 hours");
    }
}
