//! Profile operations on an unlocked vault.
//!
//! The decrypted profiles and their keyed generators are kept in memory in
//! display order, so listing and code refresh touch no disk and re-key no
//! HMAC. Each change is sealed, written and committed with the manifest
//! first; memory is updated only after the commit succeeded.

use super::crypto::{aad, random_id, Purpose};
use super::{record, RowTable, State, Unlocked, Vault};
use crate::error::{AuthenticatorError, VaultError};
use crate::otp::{Code, Generator, OtpType};
use crate::profile::{NewProfile, Profile, MAX_TEXT_BYTES};
use crate::uri;
use zeroize::Zeroizing;

type Result<T, E = AuthenticatorError> = std::result::Result<T, E>;

/// Most OTP profiles one vault holds.
pub const MAX_PROFILES: usize = 500;

/// A profile with its cached generator.
pub(super) struct Entry {
    pub(super) profile: Profile,
    pub(super) generator: Generator,
    /// [`fingerprint`] of the profile, for duplicate detection.
    fingerprint: [u8; 32],
    /// The profile id, shared with every [`ProfileCode`] (a refresh clones
    /// a pointer, not the string).
    shared_id: std::sync::Arc<str>,
}

impl Entry {
    pub(super) fn new(profile: Profile) -> Result<Self, VaultError> {
        let generator = Generator::new(&profile.secret, profile.params)?;
        let fingerprint = fingerprint(&profile.secret, &profile.params);
        Ok(Self {
            shared_id: std::sync::Arc::from(profile.id.as_str()),
            profile,
            generator,
            fingerprint,
        })
    }
}

/// Identifies "the same account": same seed and same code parameters give
/// the same codes. A SHA-256 over a domain-separated, length-prefixed
/// encoding, kept only in memory; comparing digests instead of seeds makes
/// duplicate checks O(1) per input with a hash map and never compares the
/// seeds themselves in variable time.
fn fingerprint(secret: &crate::secret::SecretBytes, params: &crate::otp::OtpParams) -> [u8; 32] {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"countersign duplicate v1");
    h.update([params.otp_type as u8, params.algorithm as u8, params.digits]);
    // HOTP counters move; the period does not matter for HOTP.
    let period = if params.otp_type == OtpType::Hotp {
        0
    } else {
        params.period
    };
    h.update(period.to_be_bytes());
    h.update((secret.len() as u32).to_be_bytes());
    h.update(secret.expose());
    h.finalize().into()
}

pub(super) fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by(|a, b| {
        (a.profile.sort_order, a.profile.created_at, &a.profile.id).cmp(&(
            b.profile.sort_order,
            b.profile.created_at,
            &b.profile.id,
        ))
    });
}

/// A profile's current code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileCode {
    /// Profile id (shared with the vault's copy: cloning it is cheap).
    pub id: std::sync::Arc<str>,
    /// The code.
    pub code: Code,
    /// The profile's period for a countdown ring (0 for HOTP: no countdown).
    pub period: u32,
}

/// Changes to a profile's descriptive fields; `None` leaves a field as is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileUpdate {
    /// New issuer.
    pub issuer: Option<String>,
    /// New account name.
    pub account: Option<String>,
    /// New note.
    pub note: Option<String>,
    /// New group.
    pub group: Option<String>,
    /// New favorite flag.
    pub favorite: Option<bool>,
}

/// One input that [`Vault::add_many`] did not add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Position in the input.
    pub index: usize,
    /// Why (duplicate, limit, invalid).
    pub error: AuthenticatorError,
}

/// Result of adding many profiles in one transaction.
#[derive(Clone, Debug, Default)]
pub struct AddReport {
    /// Profiles added, in input order.
    pub added: Vec<Profile>,
    /// Inputs not added.
    pub skipped: Vec<Skipped>,
}

fn check_text(what: &str, s: &str) -> Result<(), VaultError> {
    if s.len() > MAX_TEXT_BYTES {
        return Err(VaultError::Invalid(format!(
            "{what} is longer than {MAX_TEXT_BYTES} bytes"
        )));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(VaultError::Invalid(format!(
            "{what} contains control characters"
        )));
    }
    Ok(())
}

fn validate_new(p: &NewProfile) -> Result<(), VaultError> {
    p.params.validate()?;
    crate::otp::validate_secret_len(p.secret.len())?;
    check_text("issuer", &p.issuer)?;
    check_text("account", &p.account)?;
    check_text("group", &p.group)?;
    if p.note.len() > MAX_TEXT_BYTES * 8 {
        return Err(VaultError::Invalid("note is too long".into()));
    }
    Ok(())
}

impl Unlocked {
    fn find(&self, id: &str) -> Result<usize, VaultError> {
        self.entries
            .iter()
            .position(|e| e.profile.id == id)
            .ok_or(VaultError::NotFound)
    }

    fn seal_profile(&self, vault_id: &[u8; 16], p: &Profile) -> Result<Vec<u8>, VaultError> {
        let plain = record::encode(p)?;
        self.key
            .seal(&aad(Purpose::Profile, &p.id, vault_id), &plain)
    }

    /// Writes `changed` profiles (upserts) and deletes `removed` ids in one
    /// transaction with the manifest; updates memory only on success.
    fn write(
        &mut self,
        conn: &rusqlite::Connection,
        vault_id: &[u8; 16],
        changed: Vec<Profile>,
        removed: &[String],
    ) -> Result<(), VaultError> {
        let mut rows = Vec::with_capacity(changed.len());
        for p in &changed {
            rows.push((p.id.as_str(), self.seal_profile(vault_id, p)?));
        }
        self.commit_rows(conn, RowTable::Profiles, &rows, removed)?;
        let removed: std::collections::HashSet<&str> = removed.iter().map(String::as_str).collect();
        self.entries
            .retain(|e| !removed.contains(e.profile.id.as_str()));
        let mut fresh: std::collections::HashMap<String, Entry> =
            std::collections::HashMap::with_capacity(changed.len());
        for p in changed {
            fresh.insert(p.id.clone(), Entry::new(p)?);
        }
        for slot in self.entries.iter_mut() {
            if let Some(e) = fresh.remove(&slot.profile.id) {
                *slot = e;
            }
        }
        self.entries.extend(fresh.into_values());
        sort_entries(&mut self.entries);
        Ok(())
    }

    fn duplicate_of(&self, p: &NewProfile) -> Option<&str> {
        let fp = fingerprint(&p.secret, &p.params);
        self.entries
            .iter()
            .find(|e| e.fingerprint == fp)
            .map(|e| e.profile.id.as_str())
    }

    fn fingerprints(&self) -> std::collections::HashMap<[u8; 32], String> {
        self.entries
            .iter()
            .map(|e| (e.fingerprint, e.profile.id.clone()))
            .collect()
    }
}

fn materialize(p: NewProfile, id: String, sort_order: i64, now: i64) -> Profile {
    Profile {
        id,
        issuer: p.issuer,
        account: p.account,
        params: p.params,
        note: p.note,
        group: p.group,
        favorite: p.favorite,
        sort_order,
        created_at: now,
        updated_at: now,
        secret: p.secret,
    }
}

impl Vault {
    pub(super) fn with_unlocked<T>(
        &self,
        f: impl FnOnce(&mut Unlocked, &rusqlite::Connection, &[u8; 16]) -> Result<T, VaultError>,
    ) -> Result<T> {
        let mut s = self.state().map_err(AuthenticatorError::from)?;
        let State {
            conn,
            unlocked,
            vault_id,
            ..
        } = &mut *s;
        let u = unlocked.as_mut().ok_or(AuthenticatorError::VaultLocked)?;
        f(u, conn, vault_id).map_err(Into::into)
    }

    /// Adds one profile (one transaction). Duplicates and the
    /// [`MAX_PROFILES`] limit are errors; nothing changes on error.
    pub fn add(&self, new: NewProfile, now: i64) -> Result<Profile> {
        self.with_unlocked(|u, conn, vid| {
            validate_new(&new)?;
            if let Some(id) = u.duplicate_of(&new) {
                return Err(VaultError::Duplicate(id.to_owned()));
            }
            if u.entries.len() >= MAX_PROFILES {
                return Err(VaultError::Limit {
                    limit: MAX_PROFILES as u32,
                    what: "OTP profiles",
                });
            }
            let order = u
                .entries
                .iter()
                .map(|e| e.profile.sort_order)
                .max()
                .map_or(0, |m| m + 1);
            let p = materialize(new, random_id()?, order, now);
            u.write(conn, vid, vec![p.clone()], &[])?;
            Ok(p)
        })
    }

    /// Parses an `otpauth://` or `otpauth-migration://` URI and adds what it
    /// holds (one transaction).
    pub fn add_uri(&self, text: &str, now: i64) -> Result<AddReport> {
        let batch: Vec<std::result::Result<NewProfile, AuthenticatorError>> =
            match uri::parse_any(text)? {
                uri::ParsedUri::Single(p) => vec![Ok(p)],
                uri::ParsedUri::Migration(m) => m
                    .entries
                    .into_iter()
                    .map(|r| r.map_err(Into::into))
                    .collect(),
            };
        self.add_results(batch, now)
    }

    /// Adds many profiles in one transaction. Invalid inputs, duplicates
    /// (of the vault or of an earlier input) and inputs past the limit are
    /// skipped and reported; the rest are added.
    pub fn add_many(&self, inputs: Vec<NewProfile>, now: i64) -> Result<AddReport> {
        self.add_results(inputs.into_iter().map(Ok).collect(), now)
    }

    /// Like [`Vault::add_many`], for inputs some of which already failed to parse.
    pub fn add_results(
        &self,
        inputs: Vec<std::result::Result<NewProfile, AuthenticatorError>>,
        now: i64,
    ) -> Result<AddReport> {
        self.with_unlocked(|u, conn, vid| {
            let mut report = AddReport::default();
            let mut order = u
                .entries
                .iter()
                .map(|e| e.profile.sort_order)
                .max()
                .map_or(0, |m| m + 1);
            let mut fresh: Vec<Profile> = Vec::new();
            let mut known = u.fingerprints();
            for (index, input) in inputs.into_iter().enumerate() {
                let new = match input {
                    Ok(n) => n,
                    Err(error) => {
                        report.skipped.push(Skipped { index, error });
                        continue;
                    }
                };
                let fp = fingerprint(&new.secret, &new.params);
                let verdict = validate_new(&new)
                    .map_err(AuthenticatorError::from)
                    .and_then(|()| {
                        if let Some(id) = known.get(&fp) {
                            return Err(AuthenticatorError::Duplicate {
                                existing_id: id.clone(),
                            });
                        }
                        if u.entries.len() + fresh.len() >= MAX_PROFILES {
                            return Err(AuthenticatorError::LimitReached {
                                limit: MAX_PROFILES as u32,
                                what: "OTP profiles".into(),
                            });
                        }
                        Ok(())
                    });
                match verdict {
                    Ok(()) => {
                        let p = materialize(new, random_id()?, order, now);
                        known.insert(fp, p.id.clone());
                        fresh.push(p);
                        order += 1;
                    }
                    Err(error) => report.skipped.push(Skipped { index, error }),
                }
            }
            if !fresh.is_empty() {
                u.write(conn, vid, fresh.clone(), &[])?;
            }
            report.added = fresh;
            Ok(report)
        })
    }

    /// All profiles in display order.
    pub fn list(&self) -> Result<Vec<Profile>> {
        self.with_unlocked(|u, _, _| Ok(u.entries.iter().map(|e| e.profile.clone()).collect()))
    }

    /// Number of profiles.
    pub fn count(&self) -> Result<usize> {
        self.with_unlocked(|u, _, _| Ok(u.entries.len()))
    }

    /// Profiles whose issuer, account, group or note contains `query`
    /// (case-insensitive), in display order.
    pub fn search(&self, query: &str) -> Result<Vec<Profile>> {
        let q = query.to_lowercase();
        self.with_unlocked(|u, _, _| {
            Ok(u.entries
                .iter()
                .filter(|e| {
                    let p = &e.profile;
                    [&p.issuer, &p.account, &p.group, &p.note]
                        .iter()
                        .any(|f| f.to_lowercase().contains(&q))
                })
                .map(|e| e.profile.clone())
                .collect())
        })
    }

    /// One profile.
    pub fn get(&self, id: &str) -> Result<Profile> {
        self.with_unlocked(|u, _, _| Ok(u.entries[u.find(id)?].profile.clone()))
    }

    /// Changes descriptive fields of a profile.
    pub fn update(&self, id: &str, change: ProfileUpdate, now: i64) -> Result<Profile> {
        self.with_unlocked(|u, conn, vid| {
            let mut p = u.entries[u.find(id)?].profile.clone();
            if let Some(v) = change.issuer {
                check_text("issuer", &v)?;
                p.issuer = v;
            }
            if let Some(v) = change.account {
                check_text("account", &v)?;
                p.account = v;
            }
            if let Some(v) = change.group {
                check_text("group", &v)?;
                p.group = v;
            }
            if let Some(v) = change.note {
                if v.len() > MAX_TEXT_BYTES * 8 {
                    return Err(VaultError::Invalid("note is too long".into()));
                }
                p.note = v;
            }
            if let Some(v) = change.favorite {
                p.favorite = v;
            }
            p.updated_at = now;
            u.write(conn, vid, vec![p.clone()], &[])?;
            Ok(p)
        })
    }

    /// Renames a profile.
    pub fn rename(&self, id: &str, issuer: &str, account: &str, now: i64) -> Result<Profile> {
        self.update(
            id,
            ProfileUpdate {
                issuer: Some(issuer.to_owned()),
                account: Some(account.to_owned()),
                ..ProfileUpdate::default()
            },
            now,
        )
    }

    /// Puts the profiles in the given order; `ids` must list every profile once.
    pub fn reorder(&self, ids: &[String], now: i64) -> Result<()> {
        self.with_unlocked(|u, conn, vid| {
            if ids.len() != u.entries.len() {
                return Err(VaultError::Invalid(
                    "reorder must list every profile exactly once".into(),
                ));
            }
            let mut changed = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (i, id) in ids.iter().enumerate() {
                if !seen.insert(id.as_str()) {
                    return Err(VaultError::Invalid("reorder lists a profile twice".into()));
                }
                let mut p = u.entries[u.find(id)?].profile.clone();
                if p.sort_order != i as i64 {
                    p.sort_order = i as i64;
                    p.updated_at = now;
                    changed.push(p);
                }
            }
            if !changed.is_empty() {
                u.write(conn, vid, changed, &[])?;
            }
            Ok(())
        })
    }

    /// Deletes a profile.
    pub fn remove(&self, id: &str) -> Result<()> {
        self.with_unlocked(|u, conn, vid| {
            u.find(id)?;
            u.write(conn, vid, Vec::new(), &[id.to_owned()])
        })
    }

    /// HOTP: moves to the next counter (persisted) and returns its code.
    pub fn hotp_advance(&self, id: &str, now: i64) -> Result<Code> {
        self.with_unlocked(|u, conn, vid| {
            let mut p = u.entries[u.find(id)?].profile.clone();
            if p.params.otp_type != OtpType::Hotp {
                return Err(VaultError::Invalid(
                    "only HOTP profiles have a counter to advance".into(),
                ));
            }
            p.params.counter = p
                .params
                .counter
                .checked_add(1)
                .ok_or_else(|| VaultError::Invalid("counter overflow".into()))?;
            p.updated_at = now;
            let id = p.id.clone();
            u.write(conn, vid, vec![p], &[])?;
            let offset = u.settings.clock_offset_s;
            Ok(u.entries[u.find(&id)?]
                .generator
                .code_at(now.saturating_add(offset)))
        })
    }

    /// HOTP: raises the counter to `counter` if that is ahead of the stored
    /// one (a counter never goes back: a code once shown may have been used).
    /// Returns whether it changed. Sync uses it to carry another device's
    /// advances over.
    pub fn hotp_raise_counter(&self, id: &str, counter: u64, now: i64) -> Result<bool> {
        self.with_unlocked(|u, conn, vid| {
            let mut p = u.entries[u.find(id)?].profile.clone();
            if p.params.otp_type != OtpType::Hotp {
                return Err(VaultError::Invalid(
                    "only HOTP profiles have a counter to raise".into(),
                ));
            }
            if counter <= p.params.counter {
                return Ok(false);
            }
            p.params.counter = counter;
            p.updated_at = now;
            u.write(conn, vid, vec![p], &[])?;
            Ok(true)
        })
    }

    /// The code of one profile at `unix_time` (device time; the vault's clock
    /// offset is added here).
    pub fn code_at(&self, id: &str, unix_time: i64) -> Result<Code> {
        self.with_unlocked(|u, _, _| {
            let t = unix_time.saturating_add(u.settings.clock_offset_s);
            Ok(u.entries[u.find(id)?].generator.code_at(t))
        })
    }

    /// The next window's code of one profile (preview).
    pub fn next_code_at(&self, id: &str, unix_time: i64) -> Result<Code> {
        self.with_unlocked(|u, _, _| {
            let t = unix_time.saturating_add(u.settings.clock_offset_s);
            Ok(u.entries[u.find(id)?].generator.next_code_at(t))
        })
    }

    /// Codes of every profile at `unix_time`, in display order.
    pub fn codes_at(&self, unix_time: i64) -> Result<Vec<ProfileCode>> {
        self.with_unlocked(|u, _, _| {
            let t = unix_time.saturating_add(u.settings.clock_offset_s);
            Ok(u.entries
                .iter()
                .map(|e| ProfileCode {
                    id: e.shared_id.clone(),
                    code: e.generator.code_at(t),
                    period: if e.profile.params.otp_type == OtpType::Hotp {
                        0
                    } else {
                        e.profile.params.period
                    },
                })
                .collect())
        })
    }

    /// Canonical `otpauth://` URIs of every profile, in display order.
    /// These contain secrets: the caller asked to export them.
    pub fn export_uris(&self) -> Result<Vec<Zeroizing<String>>> {
        self.with_unlocked(|u, _, _| {
            Ok(u.entries
                .iter()
                .map(|e| {
                    let p = &e.profile;
                    uri::write_otpauth(&p.issuer, &p.account, &p.secret, &p.params)
                })
                .collect())
        })
    }

    /// The canonical `otpauth://` URI of one profile (for showing its QR).
    pub fn export_uri(&self, id: &str) -> Result<Zeroizing<String>> {
        self.with_unlocked(|u, _, _| {
            let p = &u.entries[u.find(id)?].profile;
            Ok(uri::write_otpauth(
                &p.issuer, &p.account, &p.secret, &p.params,
            ))
        })
    }
}
