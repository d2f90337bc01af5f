//! Users and pairing invitations: the actions shared by the admin HTTP API
//! and the in-process helpers on [`crate::RunningServer`].
//!
//! A user has a sign-in method ([`SignInMethod`]) and, unless the method is
//! `approve`, a password (Argon2id). An invitation is a one-time token (only
//! its SHA-256 is stored) wrapped in a `countersign://pair?…` URI together
//! with the server's id, name, URLs and TLS key fingerprint.

use countersign_core::approve::protocol::PairingInvite;
use serde::{Deserialize, Serialize};

use crate::crypto::{check_password_policy, hash_password, random_token, sha256};
use crate::error::ServerError;
use crate::state::Shared;
use crate::store::{Store, UserRecord};

pub use crate::store::Event;

/// Longest username (bytes).
pub(crate) const MAX_USERNAME_BYTES: usize = 64;

/// How a user signs in on the login side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// Password only: no phone involved.
    Password,
    /// Password, then approve on the phone.
    PasswordApprove,
    /// Passwordless: approve on the phone only.
    Approve,
}

impl SignInMethod {
    /// Wire / storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::PasswordApprove => "password_approve",
            Self::Approve => "approve",
        }
    }

    /// Parses a wire / storage name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "password" => Self::Password,
            "password_approve" => Self::PasswordApprove,
            "approve" => Self::Approve,
            _ => return None,
        })
    }

    /// Whether a password is checked at sign-in.
    pub fn needs_password(self) -> bool {
        !matches!(self, Self::Approve)
    }
}

impl std::str::FromStr for SignInMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
            .ok_or_else(|| "method must be password, password_approve or approve".to_string())
    }
}

/// The key a username is looked up by: NFKC, full case folding, NFKC
/// again (Unicode's NFKC_Casefold recipe), so "Alice", "ALICE" and
/// "ａｌｉｃｅ" (full-width) are one account. Stored beside the name as typed
/// at creation, which is what pages show.
pub(crate) fn name_key(username: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    let nfkc: String = username.trim().nfkc().collect();
    caseless::default_case_fold_str(&nfkc).nfkc().collect()
}

/// Checks a username: 1..=64 bytes, no control characters, no surrounding
/// spaces, and written in one script (UTS #39: Latin with digits is fine,
/// Japanese mixing Han and kana is fine, Latin with a Cyrillic "а" — a
/// look-alike of someone else's name — is refused).
pub(crate) fn check_username(username: &str) -> Result<(), ServerError> {
    if username.is_empty() || username.len() > MAX_USERNAME_BYTES {
        return Err(ServerError::invalid(format!(
            "username must be 1 to {MAX_USERNAME_BYTES} bytes"
        )));
    }
    if username.chars().any(char::is_control) || username.trim() != username {
        return Err(ServerError::invalid(
            "username must not contain control characters or surrounding spaces",
        ));
    }
    if username
        .chars()
        .any(countersign_core::approve::protocol::is_invisible)
    {
        return Err(ServerError::invalid(
            "username must not contain invisible or direction-changing characters",
        ));
    }
    if !unicode_security::MixedScript::is_single_script(username) {
        return Err(ServerError::invalid(
            "username must be written in one script (letters from two alphabets look like someone else's name)",
        ));
    }
    Ok(())
}

/// Checks a group name: 1..=64 bytes, no commas (groups are stored as a
/// comma-separated list), no control characters, no surrounding spaces.
pub(crate) fn check_group(group: &str) -> Result<(), ServerError> {
    if group.is_empty()
        || group.len() > MAX_USERNAME_BYTES
        || group.contains(',')
        || group.chars().any(char::is_control)
        || group.trim() != group
    {
        return Err(ServerError::invalid(format!(
            "a group name is 1 to {MAX_USERNAME_BYTES} bytes without commas or control characters"
        )));
    }
    Ok(())
}

/// Validates and stores a new user (hashing off the async threads).
pub(crate) async fn create_user_in(
    store: &dyn Store,
    now: i64,
    username: &str,
    password: Option<&str>,
    method: SignInMethod,
) -> Result<(), ServerError> {
    check_username(username)?;
    let password_hash = match password {
        Some(p) => {
            check_password_policy(p)?;
            let p = p.to_owned();
            Some(
                tokio::task::spawn_blocking(move || hash_password(&p))
                    .await
                    .map_err(|_| ServerError::Internal("hashing task failed".into()))??,
            )
        }
        None if method.needs_password() => {
            return Err(ServerError::WeakPassword {
                reason: format!("method {} needs a password", method.as_str()),
            })
        }
        None => None,
    };
    let record = UserRecord::new(username.to_owned(), password_hash, method, now);
    if store.create_user(record).await? {
        Ok(())
    } else {
        Err(ServerError::UserExists)
    }
}

/// [`create_user_in`] on the running server's store, logged.
pub(crate) async fn create_user(
    shared: &Shared,
    username: &str,
    password: Option<&str>,
    method: SignInMethod,
) -> Result<(), ServerError> {
    create_user_in(
        shared.store.as_ref(),
        shared.now(),
        username,
        password,
        method,
    )
    .await?;
    shared.log(format_args!("user created method={}", method.as_str()));
    Ok(())
}

/// Makes a one-time pairing invitation for `username`: the URI and its expiry.
pub(crate) async fn pairing_invite(
    shared: &Shared,
    username: &str,
) -> Result<(String, i64), ServerError> {
    check_username(username)?;
    let token = random_token()?;
    let now = shared.now();
    let expires_at = now + shared.limits.pairing_token_ttl_s;
    if !shared
        .store
        .add_pair_token(
            username.to_owned(),
            sha256(token.as_bytes()),
            now,
            expires_at,
        )
        .await?
    {
        return Err(ServerError::UnknownUser);
    }
    let invite = PairingInvite {
        server_id: shared.server_id.clone(),
        server_name: shared.name.clone(),
        urls: shared.public_urls.clone(),
        spki_sha256: shared.spki_sha256,
        token,
        account: username.to_owned(),
    };
    shared.log(format_args!("pairing invitation issued"));
    Ok((invite.to_uri(), expires_at))
}

/// The most recent events, oldest first.
pub(crate) async fn events(shared: &Shared, limit: u32) -> Result<Vec<Event>, ServerError> {
    Ok(shared.store.events(limit).await?)
}
