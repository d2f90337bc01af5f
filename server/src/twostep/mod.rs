//! 2-step verification, the portal side: which users have it and must have
//! it ([`status`]), TOTP enrollment and checking ([`otp`]), backup email
//! and emergency codes ([`email`]), the failed-sign-in guard that blocks
//! addresses ([`guard`]), and TOTP seeds sealed at rest ([`seal`]).
//!
//! The web pages and the JSON API both go through these functions so that
//! a rule (say, "a used TOTP step is never accepted again") holds whichever
//! door a request comes in by.

pub(crate) mod email;
pub(crate) mod guard;
pub(crate) mod otp;
pub(crate) mod seal;
pub(crate) mod status;
