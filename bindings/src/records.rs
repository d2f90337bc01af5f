//! Plain records and enums that cross the FFI, with conversions from the
//! core's types. None of them carries a secret except [`ProfileDraft`]'s
//! typed-in seed, which goes one way (into the core).

use countersign_core as core;

/// Kind of one-time password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum OtpType {
    /// Time-based (RFC 6238).
    Totp,
    /// Counter-based (RFC 4226).
    Hotp,
    /// Steam Guard (5 characters).
    Steam,
}

/// HMAC hash of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum OtpAlgorithm {
    /// HMAC-SHA1 (most services).
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl From<core::OtpType> for OtpType {
    fn from(t: core::OtpType) -> Self {
        match t {
            core::OtpType::Totp => Self::Totp,
            core::OtpType::Hotp => Self::Hotp,
            core::OtpType::Steam => Self::Steam,
        }
    }
}

impl From<OtpType> for core::OtpType {
    fn from(t: OtpType) -> Self {
        match t {
            OtpType::Totp => Self::Totp,
            OtpType::Hotp => Self::Hotp,
            OtpType::Steam => Self::Steam,
        }
    }
}

impl From<core::Algorithm> for OtpAlgorithm {
    fn from(a: core::Algorithm) -> Self {
        match a {
            core::Algorithm::Sha1 => Self::Sha1,
            core::Algorithm::Sha256 => Self::Sha256,
            core::Algorithm::Sha512 => Self::Sha512,
        }
    }
}

impl From<OtpAlgorithm> for core::Algorithm {
    fn from(a: OtpAlgorithm) -> Self {
        match a {
            OtpAlgorithm::Sha1 => Self::Sha1,
            OtpAlgorithm::Sha256 => Self::Sha256,
            OtpAlgorithm::Sha512 => Self::Sha512,
        }
    }
}

/// A stored profile, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Profile {
    /// Stable id.
    pub id: String,
    /// Service name.
    pub issuer: String,
    /// Account name.
    pub account: String,
    /// TOTP, HOTP or Steam.
    pub otp_type: OtpType,
    /// Hash.
    pub algorithm: OtpAlgorithm,
    /// Code length.
    pub digits: u8,
    /// Time step, seconds.
    pub period: u32,
    /// HOTP counter whose code is shown now.
    pub counter: u64,
    /// Note.
    pub note: String,
    /// Group name ("" for none).
    pub group: String,
    /// Pinned.
    pub favorite: bool,
    /// Position in the list.
    pub sort_order: i64,
    /// Created, Unix seconds.
    pub created_at: i64,
    /// Last changed, Unix seconds.
    pub updated_at: i64,
}

impl From<&core::Profile> for Profile {
    fn from(p: &core::Profile) -> Self {
        Self {
            id: p.id.clone(),
            issuer: p.issuer.clone(),
            account: p.account.clone(),
            otp_type: p.params.otp_type.into(),
            algorithm: p.params.algorithm.into(),
            digits: p.params.digits,
            period: p.params.period,
            counter: p.params.counter,
            note: p.note.clone(),
            group: p.group.clone(),
            favorite: p.favorite,
            sort_order: p.sort_order,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A profile typed in by the user (no QR code at hand).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ProfileDraft {
    /// Service name.
    pub issuer: String,
    /// Account name.
    pub account: String,
    /// The secret key as shown by the service (Base32; spaces, dashes,
    /// lower case and padding are accepted).
    pub secret_base32: String,
    /// TOTP, HOTP or Steam.
    pub otp_type: OtpType,
    /// Hash (SHA1 unless the service says otherwise).
    pub algorithm: OtpAlgorithm,
    /// Code length (6 unless the service says otherwise; Steam: 5).
    pub digits: u8,
    /// Time step in seconds (30 unless the service says otherwise).
    pub period: u32,
    /// Starting counter for HOTP.
    pub counter: u64,
}

/// Changes to a profile; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct ProfileChange {
    /// New issuer.
    pub issuer: Option<String>,
    /// New account.
    pub account: Option<String>,
    /// New note.
    pub note: Option<String>,
    /// New group.
    pub group: Option<String>,
    /// New favorite flag.
    pub favorite: Option<bool>,
}

impl From<ProfileChange> for core::vault::ProfileUpdate {
    fn from(c: ProfileChange) -> Self {
        Self {
            issuer: c.issuer,
            account: c.account,
            note: c.note,
            group: c.group,
            favorite: c.favorite,
        }
    }
}

/// A code to show.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OtpCode {
    /// Profile it belongs to.
    pub profile_id: String,
    /// The code.
    pub code: String,
    /// Window start, Unix seconds.
    pub valid_from: i64,
    /// Seconds left in the window (HOTP: 0).
    pub valid_for_s: u32,
    /// Window length, seconds, for the countdown ring (0 for HOTP).
    pub period: u32,
    /// Time step (TOTP) or counter (HOTP) used.
    pub counter: u64,
}

impl OtpCode {
    pub(crate) fn new(profile_id: String, c: core::Code, period: u32) -> Self {
        Self {
            profile_id,
            code: String::from(c.code),
            valid_from: c.valid_from,
            valid_for_s: c.valid_for_s,
            period,
            counter: c.counter,
        }
    }
}

/// Settings stored in the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct VaultSettings {
    /// Show codes without tapping.
    pub always_show_otp: bool,
    /// Require biometrics / device credential to approve a sign-in.
    pub require_screen_lock_after_approve: bool,
    /// Lock after this long in the background, seconds (0: immediately).
    pub reauth_timeout_s: u32,
    /// Seconds added to the device clock for codes.
    pub clock_offset_s: i64,
}

impl From<core::Settings> for VaultSettings {
    fn from(s: core::Settings) -> Self {
        Self {
            always_show_otp: s.always_show_otp,
            require_screen_lock_after_approve: s.require_screen_lock_after_approve,
            reauth_timeout_s: s.reauth_timeout_s,
            clock_offset_s: s.clock_offset_s,
        }
    }
}

impl From<VaultSettings> for core::Settings {
    fn from(s: VaultSettings) -> Self {
        Self {
            always_show_otp: s.always_show_otp,
            require_screen_lock_after_approve: s.require_screen_lock_after_approve,
            reauth_timeout_s: s.reauth_timeout_s,
            clock_offset_s: s.clock_offset_s,
        }
    }
}

/// Failed passcode attempts and the current wait (available while locked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct LockoutStatus {
    /// Wrong passcodes since the last success.
    pub failed_attempts: u32,
    /// Seconds until the next attempt is accepted.
    pub retry_after_s: u64,
}

/// How the vault can be unlocked (available while locked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct UnlockMethods {
    /// A passcode is set.
    pub passcode: bool,
    /// Biometric unlock is enabled.
    pub biometrics: bool,
}

/// An input that was not added.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SkippedEntry {
    /// Position in the input (e.g. account number within a migration QR).
    pub index: u32,
    /// Why, safe to show.
    pub reason: String,
    /// When it was a duplicate: the existing profile's id.
    pub duplicate_of: Option<String>,
}

/// Result of adding from a URI or a batch.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AddReport {
    /// Profiles added.
    pub added: Vec<Profile>,
    /// Inputs skipped, with reasons.
    pub skipped: Vec<SkippedEntry>,
}

/// For a skipped duplicate: the profile it duplicates.
pub(crate) fn duplicate_of(e: &core::AuthenticatorError) -> Option<String> {
    match e {
        core::AuthenticatorError::Duplicate { existing_id } => Some(existing_id.clone()),
        _ => None,
    }
}

impl From<core::vault::AddReport> for AddReport {
    fn from(r: core::vault::AddReport) -> Self {
        Self {
            added: r.added.iter().map(Profile::from).collect(),
            skipped: r
                .skipped
                .into_iter()
                .map(|s| SkippedEntry {
                    index: u32::try_from(s.index).unwrap_or(u32::MAX),
                    duplicate_of: duplicate_of(&s.error),
                    reason: s.error.to_string(),
                })
                .collect(),
        }
    }
}

/// Automatic local backups: where they go and what exists.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AutoBackupInfo {
    /// The folder.
    pub dir: String,
    /// How many are kept.
    pub keep: u32,
    /// Existing automatic backups, newest first.
    pub files: Vec<String>,
}
