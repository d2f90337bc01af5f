//! The failed-sign-in guard: IP auto-block, password-guessing limits and
//! per-account limits on second-step guessing, all kept in the store so
//! every node sees them.
//!
//! Every failed sign-in step (wrong password, wrong TOTP code, wrong email
//! code) is recorded against the client address; when an address reaches
//! the policy's count within its window it is blocked (an admin lists and
//! unblocks). A blocked address gets the same answer whatever account it
//! names, before any account lookup, so a block reveals nothing about which
//! accounts exist.

use crate::error::ServerError;
use crate::state::Shared;

/// Failure key for wrong passwords of an account.
pub(crate) fn password_key(account: &str) -> String {
    format!("pw:{account}")
}

/// Failure key for wrong TOTP codes of an account.
pub(crate) fn otp_key(account: &str) -> String {
    format!("otp:{account}")
}

/// Failure key for wrong email codes of an account.
pub(crate) fn email_key(account: &str) -> String {
    format!("email:{account}")
}

/// `Err(())` if `ip` is blocked now.
pub(crate) async fn check_ip(shared: &Shared, ip: &str) -> Result<Result<(), ()>, ServerError> {
    let blocked = shared.store.ip_block(ip.to_owned(), shared.now()).await?;
    Ok(if blocked.is_some() { Err(()) } else { Ok(()) })
}

/// Records a failure from `ip` (and under `key`); returns whether the
/// address is now blocked.
pub(crate) async fn fail(
    shared: &Shared,
    ip: &str,
    key: Option<String>,
) -> Result<bool, ServerError> {
    let blocked = shared
        .store
        .record_failure(ip.to_owned(), key, shared.now(), shared.ip_block)
        .await?;
    if blocked {
        shared.log(format_args!("address blocked after failed sign-ins"));
    }
    Ok(blocked)
}

/// Whether `key` already has `limit` failures within the second-step
/// failure window (then further attempts are refused without checking).
pub(crate) async fn over_limit(
    shared: &Shared,
    key: String,
    limit: u32,
) -> Result<bool, ServerError> {
    let since = shared.now() - shared.limits.second_step_failure_window_s;
    Ok(shared.store.failures_since(key, since).await?.count >= limit)
}
