//! A user's 2-step verification status as the admin list shows it, and
//! which second steps a sign-in may offer.
//!
//! "Enabled" means the user's sign-in method asks for a second step *and*
//! one is set up; "incomplete" means it is required (by the method chosen or
//! by an enforcement policy) but nothing is set up yet — the user must
//! finish setup at the next sign-in before anything else.

use serde::Serialize;

use crate::accounts::SignInMethod;
use crate::store::UserRecord;

/// 2-step verification status of a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TwoStepStatus {
    /// A second step is required and set up.
    Enabled,
    /// Password only, and nothing requires more.
    Disabled,
    /// Required (enforced, or chosen) but not set up yet.
    Incomplete,
}

impl TwoStepStatus {
    /// Display / wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
            Self::Incomplete => "incomplete",
        }
    }
}

/// The second steps a user has set up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Factors {
    /// At least one paired phone that is not revoked.
    pub approve: bool,
    /// A confirmed TOTP seed.
    pub otp: bool,
    /// A verified backup email (recovery only, not a second step by itself).
    pub email: bool,
}

impl Factors {
    /// What `user` has set up, given its number of active devices.
    pub fn of(user: &UserRecord, active_devices: u32) -> Self {
        Self {
            approve: active_devices > 0,
            otp: user.otp_secret.is_some(),
            email: user.email_verified && user.email.is_some(),
        }
    }

    /// Whether a real second step (approve or OTP) exists.
    pub fn any_second_step(self) -> bool {
        self.approve || self.otp
    }
}

/// Whether 2-step verification is enforced for `user`, individually or via
/// one of its groups.
pub fn is_enforced(user: &UserRecord, enforced_groups: &[String]) -> bool {
    user.enforce_2sv || user.groups.iter().any(|g| enforced_groups.contains(g))
}

/// The status the admin list shows.
pub fn status(user: &UserRecord, factors: Factors, enforced_groups: &[String]) -> TwoStepStatus {
    let wants = user.method != SignInMethod::Password;
    let ready = match user.method {
        SignInMethod::Password => false,
        SignInMethod::PasswordApprove => factors.any_second_step(),
        SignInMethod::Approve => factors.approve,
    };
    if wants && ready {
        TwoStepStatus::Enabled
    } else if wants || is_enforced(user, enforced_groups) {
        TwoStepStatus::Incomplete
    } else {
        TwoStepStatus::Disabled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::OtpSecret;

    fn user(method: SignInMethod) -> UserRecord {
        UserRecord::new("u".into(), None, method, 0)
    }

    #[test]
    fn statuses() {
        let none = Factors::default();
        let phone = Factors {
            approve: true,
            ..none
        };
        let groups = vec!["staff".to_string()];
        let mut u = user(SignInMethod::Password);
        assert_eq!(status(&u, phone, &groups), TwoStepStatus::Disabled);
        u.groups = vec!["staff".into()];
        assert_eq!(status(&u, phone, &groups), TwoStepStatus::Incomplete);
        assert_eq!(status(&u, phone, &[]), TwoStepStatus::Disabled);
        u.enforce_2sv = true;
        assert_eq!(status(&u, none, &[]), TwoStepStatus::Incomplete);
        let mut u = user(SignInMethod::PasswordApprove);
        assert_eq!(status(&u, none, &[]), TwoStepStatus::Incomplete);
        assert_eq!(status(&u, phone, &[]), TwoStepStatus::Enabled);
        u.otp_secret = Some(OtpSecret::new(vec![1; 20]));
        assert_eq!(status(&u, Factors::of(&u, 0), &[]), TwoStepStatus::Enabled);
        // Passwordless needs a phone; OTP alone is not enough.
        let mut u = user(SignInMethod::Approve);
        u.otp_secret = Some(OtpSecret::new(vec![1; 20]));
        assert_eq!(
            status(&u, Factors::of(&u, 0), &[]),
            TwoStepStatus::Incomplete
        );
        assert_eq!(status(&u, Factors::of(&u, 2), &[]), TwoStepStatus::Enabled);
    }
}
