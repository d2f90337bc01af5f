//! End-to-end encrypted sync for the shells: enable, join (by the QR text
//! or the code), sync now, status, the join QR text, delete everywhere,
//! leave. Thin wrappers over `countersign_core::sync::device`; rounds after
//! changes and on unlock are the core's upkeep (see `upkeep.rs`), the shell
//! may call `sync_now` for "sync now" and on coming to the foreground, and
//! shows `SyncInfo.stopped` when another device deleted the sync copy.

use crate::authenticator::Authenticator;
use crate::error::AuthError;
use countersign_core::sync::device;

/// What one sync round did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Entries received from the server.
    pub pulled: u32,
    /// Entries sent to the server.
    pub pushed: u32,
    /// Profiles added here from other devices.
    pub added: u32,
    /// Profiles changed here from other devices.
    pub updated: u32,
    /// Profiles removed here because another device deleted them.
    pub removed: u32,
    /// Entries edited on two devices at once (the newest is shown).
    pub conflicts: u32,
}

impl From<device::SyncReport> for SyncReport {
    fn from(r: device::SyncReport) -> Self {
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Self {
            pulled: n(r.pulled),
            pushed: n(r.pushed),
            added: n(r.added),
            updated: n(r.updated),
            removed: n(r.removed),
            conflicts: n(r.conflicts),
        }
    }
}

/// Sync turned on: the code to show once, and the first round.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncEnabled {
    /// The sync code (24 characters in groups of four). Show it once; it
    /// opens the synced data.
    pub code: String,
    /// The first round.
    pub report: SyncReport,
}

/// A profile deleted on some device and still recoverable.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeletedProfile {
    /// Pass to `sync_restore`.
    pub sync_id: String,
    /// Service name it had.
    pub issuer: String,
    /// Account name it had.
    pub account: String,
    /// When it was deleted (Unix seconds).
    pub deleted_at: i64,
}

/// Where sync stands.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncInfo {
    /// Server addresses.
    pub urls: Vec<String>,
    /// The space's (non-secret) id on the server.
    pub space_id: String,
    /// Entries known, deleted ones included until purged.
    pub entries: u32,
    /// Unix time of the last successful round.
    pub last_sync: Option<i64>,
    /// Why sync stopped (deleted from another device), if it did.
    pub stopped: Option<String>,
}

#[uniffi::export(async_runtime = "tokio")]
impl Authenticator {
    /// Starts syncing this vault through a Countersign server (`urls`,
    /// pinned to `fingerprint`, e.g. an Approve pairing's). Returns the sync
    /// code to show once.
    pub async fn sync_enable(
        &self,
        urls: Vec<String>,
        fingerprint: String,
    ) -> Result<SyncEnabled, AuthError> {
        let fp = fingerprint.replace(':', "").to_ascii_lowercase();
        let (code, report) = device::enable(
            &self.vault,
            &self.path,
            self.protector.as_ref(),
            urls,
            &fp,
            self.now(),
        )
        .await?;
        Ok(SyncEnabled {
            code: code.to_string(),
            report: report.into(),
        })
    }

    /// Joins the sync of another device from the text of its sync QR code
    /// (`countersign://sync?…`).
    pub async fn sync_join(&self, qr_text: String) -> Result<SyncReport, AuthError> {
        let info = device::parse_join_uri(&qr_text)?;
        Ok(device::join(
            &self.vault,
            &self.path,
            self.protector.as_ref(),
            info.urls,
            &info.spki_hex,
            &info.code,
            self.now(),
        )
        .await?
        .into())
    }

    /// Joins with a typed sync code and the server's address and fingerprint.
    pub async fn sync_join_with_code(
        &self,
        urls: Vec<String>,
        fingerprint: String,
        code: String,
    ) -> Result<SyncReport, AuthError> {
        let fp = fingerprint.replace(':', "").to_ascii_lowercase();
        let code = zeroize::Zeroizing::new(code);
        Ok(device::join(
            &self.vault,
            &self.path,
            self.protector.as_ref(),
            urls,
            &fp,
            &code,
            self.now(),
        )
        .await?
        .into())
    }

    /// One sync round. Offline it fails with `Network` and changes nothing.
    pub async fn sync_now(&self) -> Result<SyncReport, AuthError> {
        Ok(self.core.sync_now().await?.into())
    }

    /// Deletes the server copy; every device stops syncing at its next
    /// round. Local profiles stay everywhere.
    pub async fn sync_delete_everywhere(&self) -> Result<(), AuthError> {
        Ok(
            device::delete_everywhere(&self.vault, &self.path, self.protector.as_ref(), self.now())
                .await?,
        )
    }
}

#[uniffi::export]
impl Authenticator {
    /// Where sync stands, or `None` when it is off.
    pub fn sync_status(&self) -> Result<Option<SyncInfo>, AuthError> {
        crate::guard::guard(|| {
            Ok(
                device::status(&self.path, self.protector.as_ref())?.map(|s| SyncInfo {
                    urls: s.urls,
                    space_id: s.space_id,
                    entries: u32::try_from(s.entries).unwrap_or(u32::MAX),
                    last_sync: s.last_sync,
                    stopped: s.stopped,
                }),
            )
        })
    }

    /// The text for the join QR code (holds the sync code: show it only on
    /// this device's screen).
    pub fn sync_join_text(&self) -> Result<String, AuthError> {
        crate::guard::guard(|| {
            Ok(device::join_uri(&self.path, self.protector.as_ref())?.to_string())
        })
    }

    /// Profiles deleted on any device in the last 30 days, newest first.
    pub fn sync_recently_deleted(&self) -> Result<Vec<DeletedProfile>, AuthError> {
        crate::guard::guard(|| {
            Ok(
                device::recently_deleted(&self.path, self.protector.as_ref())?
                    .into_iter()
                    .map(|d| DeletedProfile {
                        sync_id: d.sync_id,
                        issuer: d.issuer,
                        account: d.account,
                        deleted_at: d.deleted_at,
                    })
                    .collect(),
            )
        })
    }

    /// Brings a recently deleted profile back (here at once, on the other
    /// devices at their next round); returns its local profile id. Call
    /// `sync_now` afterwards to share it right away.
    pub fn sync_restore(&self, sync_id: String) -> Result<String, AuthError> {
        crate::guard::guard(|| {
            Ok(device::restore_deleted(
                &self.vault,
                &self.path,
                self.protector.as_ref(),
                &sync_id,
                self.now(),
            )?)
        })
    }

    /// Stops syncing on this device only; `false` if it was off.
    pub fn sync_leave(&self) -> Result<bool, AuthError> {
        crate::guard::guard(|| Ok(device::leave(&self.path)?))
    }
}
