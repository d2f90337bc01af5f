//! Getting every profile out again, the same way on the phone and the CLI:
//! an `otpauth://` list ([`Vault::export_uris`]), Google Authenticator
//! migration QR payloads ([`google_migration`]) for a shell to render, and
//! our encrypted backup ([`crate::backup::create_backup`]).
//!
//! Google's format has no Steam type, no period other than 30 s and only 6
//! or 8 digits: such profiles are left out *with the reason*, the rest are
//! exported. Each profile is checked by the migration writer itself, so the
//! rules are exactly the ones it applies. Everything returned holds secrets
//! and is zeroized on drop.

use crate::error::AuthenticatorError;
use crate::profile::{NewProfile, Profile};
use crate::uri::{write_migration, UriError};
use crate::vault::Vault;
use zeroize::Zeroizing;

/// A profile the export could not carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftOut {
    /// The profile's id.
    pub profile_id: String,
    /// Its display name.
    pub display_name: String,
    /// Why the format cannot carry it.
    pub reason: String,
}

/// What [`google_migration`] made.
#[derive(Debug)]
pub struct GoogleExport {
    /// One `otpauth-migration://` URI per QR code (ten accounts each, one
    /// shared batch id), in order.
    pub uris: Vec<Zeroizing<String>>,
    /// Profiles exported.
    pub exported: usize,
    /// Profiles left out, with the reason.
    pub left_out: Vec<LeftOut>,
}

impl GoogleExport {
    /// When no QR code could be made, the one sentence to show; `None`
    /// otherwise.
    pub fn nothing_exported(&self) -> Option<String> {
        if !self.uris.is_empty() {
            None
        } else if self.left_out.is_empty() {
            Some("no profiles to export".to_owned())
        } else {
            Some(format!(
                "none of the {} profiles can be exported as Google Authenticator QR codes",
                self.left_out.len()
            ))
        }
    }
}

/// The profile as the writers take it.
fn to_new(p: &Profile) -> NewProfile {
    NewProfile {
        issuer: p.issuer.clone(),
        account: p.account.clone(),
        secret: p.secret.clone(),
        params: p.params,
        note: p.note.clone(),
        group: p.group.clone(),
        favorite: p.favorite,
    }
}

/// A random batch id shared by the QR codes of one export (non-negative,
/// as Google writes it).
fn batch_id() -> Result<i32, AuthenticatorError> {
    let hex = crate::vault::random_hex_id()?;
    hex.get(..7)
        .and_then(|h| i32::from_str_radix(h, 16).ok())
        .ok_or_else(|| AuthenticatorError::Internal {
            reason: "cannot make a batch id".into(),
        })
}

/// Every profile of the unlocked vault as Google Authenticator migration
/// payloads.
///
/// When nothing can be exported the URIs are empty and
/// [`GoogleExport::nothing_exported`] says why.
///
/// # Errors
///
/// `VaultLocked`.
pub fn google_migration(vault: &Vault) -> Result<GoogleExport, AuthenticatorError> {
    let profiles = vault.list()?;
    let mut ok = Vec::new();
    let mut left_out = Vec::new();
    for p in &profiles {
        let new = to_new(p);
        match write_migration(&[&new], 0) {
            Ok(_) => ok.push(new),
            Err(e) => left_out.push(LeftOut {
                profile_id: p.id.clone(),
                display_name: p.display_name(),
                reason: match e {
                    UriError::UnsupportedEntry { reason, .. } => reason,
                    other => other.to_string(),
                },
            }),
        }
    }
    if ok.is_empty() {
        return Ok(GoogleExport {
            uris: Vec::new(),
            exported: 0,
            left_out,
        });
    }
    let refs: Vec<&NewProfile> = ok.iter().collect();
    let uris = write_migration(&refs, batch_id()?)?;
    Ok(GoogleExport {
        uris,
        exported: ok.len(),
        left_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::route::{import_bytes, Requested};
    use crate::vault::SoftwareKeyProtector;
    use std::sync::Arc;

    const T0: i64 = 1_800_000_000;

    #[test]
    fn google_export_leaves_out_what_it_cannot_carry_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        let v = Vault::create(&path, Arc::new(SoftwareKeyProtector::beside(&path)), T0).unwrap();
        v.unlock(None, T0).unwrap();
        let empty = google_migration(&v).unwrap();
        assert!(empty.uris.is_empty());
        assert_eq!(
            empty.nothing_exported().as_deref(),
            Some("no profiles to export")
        );
        let list = "otpauth://totp/A:a?secret=JBSWY3DPEHPK3PXP&issuer=A\n\
                    otpauth://totp/B:b?secret=KRSXG5CTMVRXEZLU&issuer=B&period=60\n\
                    otpauth://hotp/C:c?secret=GEZDGNBVGY3TQOJQ&issuer=C&counter=7\n";
        import_bytes(&v, list.as_bytes(), Requested::Auto, None, T0).unwrap();
        let e = google_migration(&v).unwrap();
        assert_eq!(e.exported, 2);
        assert!(e.nothing_exported().is_none());
        assert_eq!(e.left_out.len(), 1);
        assert_eq!(e.left_out[0].display_name, "B (b)");
        assert!(
            e.left_out[0].reason.contains("period"),
            "{}",
            e.left_out[0].reason
        );

        // What a phone scans back in is what went out.
        let dir2 = tempfile::tempdir().unwrap();
        let path2 = dir2.path().join("v.db");
        let w = Vault::create(&path2, Arc::new(SoftwareKeyProtector::beside(&path2)), T0).unwrap();
        w.unlock(None, T0).unwrap();
        let text: String = e.uris.iter().map(|u| format!("{}\n", &**u)).collect();
        let r = import_bytes(&w, text.as_bytes(), Requested::Auto, None, T0).unwrap();
        assert_eq!(r.added.len(), 2);
    }
}
