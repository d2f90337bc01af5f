//! The merge engine for end-to-end encrypted sync between a user's devices.
//!
//! Pure and I/O-free: no network, no crypto, no clock (wall time is passed
//! in), no vault access. A transport later encrypts [`encode_entry`] bytes,
//! ships them through a server that stores opaque blobs, and feeds decoded
//! entries to [`Replica::merge_entry`]; the vault applies the ids that merge
//! reports as changed. Everything works offline: local operations never wait
//! for other devices, and a merge can never fail or block showing codes.
//!
//! # Model (a state-based CRDT; full write-up in `docs/sync.md`, "Merge")
//!
//! - Each device has a random 16-byte id and a Lamport counter. Every write
//!   gets a fresh [`Stamp`] `(counter, device)`; stamps are totally ordered
//!   by counter, then device. Merging bumps the counter past every stamp
//!   seen, so a write that saw another has a greater stamp.
//! - Each entry (keyed by the profile id) is a [`SyncEntry`] with two
//!   independent registers: *content* and *order*. A rename on one device
//!   and a reorder on another both survive.
//! - Content is a causal multi-value register: a version vector of the
//!   writes seen (per entry) plus the writes not superseded by any seen
//!   write. A write (add, edit, delete, restore) supersedes exactly the
//!   versions its device held. A delete is a tombstone that keeps the last
//!   payload, so it can be undone ([`Replica::restore`]) until purged.
//! - Resolution: if any current version is live, the entry shows the live
//!   version with the greatest stamp (concurrent edits: the later Lamport
//!   stamp wins, the other stays available as a conflict until the next
//!   write); otherwise it is deleted.
//! - Order is a last-writer-wins register (greatest stamp) holding an `i64`
//!   sort key; the list is sorted by `(sort key, id)`, so equal keys never
//!   conflict and reorders of different entries are independent.
//!
//! # Guarantees (proved by the tests in `tests.rs`)
//!
//! 1. Merge is commutative, associative and idempotent.
//! 2. Replicas that have exchanged states (any order, any partitions,
//!    healed) hold identical states and identical visible lists.
//! 3. No loss: an entry is deleted after merging exactly when every live
//!    write to it (add, edit, restore) was seen by a device before it wrote
//!    a delete or another write that a delete later superseded, i.e. every
//!    current version is a tombstone. An entry never deleted is present
//!    everywhere.
//! 4. An edit the deleting device had not seen beats the delete.
//!
//! # Purging
//!
//! [`Replica::purge_tombstones`] drops entries deleted longer than the
//! retention (default [`DEFAULT_RETENTION_S`], 30 days), payload included.
//! A device offline for longer that still holds the entry live brings it
//! back on its next sync: the safe direction for secrets.
//!
//! # Identity rules the caller must keep
//!
//! A device id is fresh random per install and the clock is persisted with
//! the state ([`Replica::load`]); a device that lost its state must take a
//! new id. Reusing an id with a reset counter could make others treat new
//! writes as already seen.

mod codec;
pub mod device;
mod entry;
mod error;
pub mod keys;
#[cfg(test)]
mod tests;

pub use codec::{decode_entry, encode_entry, ENCODING_VERSION, MAX_CONTEXT_DEVICES};
pub use entry::{
    Content, DeviceId, Lww, Payload, Stamp, SyncEntry, Version, VersionVector, MAX_COUNTER,
};
pub use error::SyncError;

use std::collections::BTreeMap;

/// Default tombstone retention: 30 days, in seconds.
pub const DEFAULT_RETENTION_S: i64 = 30 * 24 * 60 * 60;

/// Longest entry id, in bytes.
pub const MAX_ID_LEN: usize = 256;

/// Largest payload, in bytes.
pub const MAX_PAYLOAD_LEN: usize = 64 * 1024;

pub(crate) fn check_id(id: &str) -> Result<(), SyncError> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(SyncError::InvalidInput("id must be 1 to 256 bytes"));
    }
    Ok(())
}

fn check_payload(payload: &[u8]) -> Result<(), SyncError> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(SyncError::InvalidInput("payload too large"));
    }
    Ok(())
}

/// One device's copy of the synced state, and its local operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replica {
    device: DeviceId,
    clock: u64,
    entries: BTreeMap<String, SyncEntry>,
    /// id -> local change sequence number of its last change (not synced).
    changed: BTreeMap<String, u64>,
    seq: u64,
}

impl Replica {
    /// An empty replica for a device (give it 16 random bytes, once per
    /// install).
    pub fn new(device: DeviceId) -> Self {
        Self {
            device,
            clock: 0,
            entries: BTreeMap::new(),
            changed: BTreeMap::new(),
            seq: 0,
        }
    }

    /// A replica from persisted state: the device id, its saved clock and
    /// its entries (duplicates are merged). The clock is raised past every
    /// stamp in the entries. Every entry counts as changed (marker 0).
    pub fn load(
        device: DeviceId,
        clock: u64,
        entries: impl IntoIterator<Item = (String, SyncEntry)>,
    ) -> Self {
        let mut r = Self::new(device);
        r.clock = clock.min(MAX_COUNTER);
        for (id, e) in entries {
            r.merge_entry(&id, &e);
        }
        r
    }

    /// This device's id.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// The Lamport clock (persist it with the entries).
    pub fn clock(&self) -> u64 {
        self.clock
    }

    /// One entry's state (live or deleted), if known.
    pub fn get(&self, id: &str) -> Option<&SyncEntry> {
        self.entries.get(id)
    }

    /// Every entry (live and tombstones), by id.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &SyncEntry)> {
        self.entries.iter().map(|(id, e)| (id.as_str(), e))
    }

    fn next_stamp(&mut self) -> Result<Stamp, SyncError> {
        if self.clock >= MAX_COUNTER {
            return Err(SyncError::ClockExhausted);
        }
        self.clock += 1;
        Ok(Stamp {
            counter: self.clock,
            device: self.device,
        })
    }

    fn touch(&mut self, id: &str) {
        self.seq += 1;
        self.changed.insert(id.to_owned(), self.seq);
    }

    fn live_mut(&mut self, id: &str) -> Result<&mut SyncEntry, SyncError> {
        match self.entries.get_mut(id) {
            None => Err(SyncError::NotFound),
            Some(e) if e.is_deleted() => Err(SyncError::Deleted),
            Some(e) => Ok(e),
        }
    }

    /// Adds a new entry. Errors: bad id or payload, or an id this replica
    /// already holds (live or deleted).
    pub fn add(
        &mut self,
        id: &str,
        payload: Vec<u8>,
        sort_key: i64,
        now: i64,
    ) -> Result<(), SyncError> {
        check_id(id)?;
        check_payload(&payload)?;
        if self.entries.contains_key(id) {
            return Err(SyncError::AlreadyExists);
        }
        let stamp = self.next_stamp()?;
        let entry = SyncEntry::added(stamp, Payload::new(payload), sort_key, now);
        self.entries.insert(id.to_owned(), entry);
        self.touch(id);
        Ok(())
    }

    /// Replaces a live entry's payload. Errors: unknown id, deleted entry,
    /// payload too large.
    pub fn edit(&mut self, id: &str, payload: Vec<u8>, now: i64) -> Result<(), SyncError> {
        check_payload(&payload)?;
        self.live_mut(id)?;
        let stamp = self.next_stamp()?;
        let entry = self.live_mut(id)?;
        entry.write(
            stamp,
            Version {
                at: now,
                content: Content::Live(Payload::new(payload)),
            },
        );
        self.touch(id);
        Ok(())
    }

    /// Deletes a live entry, leaving a tombstone that keeps its payload for
    /// [`Replica::restore`]. Errors: unknown id, already deleted.
    pub fn delete(&mut self, id: &str, now: i64) -> Result<(), SyncError> {
        let last = match self.live_mut(id)?.payload() {
            Some(p) => Payload::new(p.to_vec()),
            None => return Err(SyncError::Deleted),
        };
        let stamp = self.next_stamp()?;
        let entry = self.live_mut(id)?;
        entry.write(
            stamp,
            Version {
                at: now,
                content: Content::Deleted { last },
            },
        );
        self.touch(id);
        Ok(())
    }

    /// Undoes a delete: the entry becomes live again with the payload its
    /// tombstone kept. Errors: unknown (or purged) id, entry not deleted.
    pub fn restore(&mut self, id: &str, now: i64) -> Result<(), SyncError> {
        let entry = self.entries.get(id).ok_or(SyncError::NotFound)?;
        let payload = entry
            .restorable_payload()
            .ok_or(SyncError::NotDeleted)?
            .clone();
        let stamp = self.next_stamp()?;
        let entry = self.entries.get_mut(id).ok_or(SyncError::NotFound)?;
        entry.write(
            stamp,
            Version {
                at: now,
                content: Content::Live(payload),
            },
        );
        self.touch(id);
        Ok(())
    }

    /// Moves a live entry to `sort_key`. Errors: unknown id, deleted entry.
    pub fn reorder(&mut self, id: &str, sort_key: i64) -> Result<(), SyncError> {
        self.live_mut(id)?;
        let stamp = self.next_stamp()?;
        self.live_mut(id)?.set_order(stamp, sort_key);
        self.touch(id);
        Ok(())
    }

    /// Merges another replica's state of one entry (from a transport, after
    /// [`decode_entry`]); returns whether this replica's state changed. An
    /// id outside 1..=256 bytes is ignored (`false`).
    pub fn merge_entry(&mut self, id: &str, remote: &SyncEntry) -> bool {
        if check_id(id).is_err() {
            return false;
        }
        self.clock = self.clock.max(remote.max_counter().min(MAX_COUNTER));
        let changed = match self.entries.get_mut(id) {
            Some(mine) => mine.merge(remote),
            None => {
                self.entries.insert(id.to_owned(), remote.clone());
                true
            }
        };
        if changed {
            self.touch(id);
        }
        changed
    }

    /// Merges many entries (e.g. another replica's [`Replica::entries`]);
    /// returns the ids whose state changed, in id order, for the vault to
    /// re-apply.
    pub fn merge_from<'a>(
        &mut self,
        entries: impl IntoIterator<Item = (&'a str, &'a SyncEntry)>,
    ) -> Vec<String> {
        let mut changed: Vec<String> = entries
            .into_iter()
            .filter(|(id, e)| self.merge_entry(id, e))
            .map(|(id, _)| id.to_owned())
            .collect();
        changed.sort();
        changed.dedup();
        changed
    }

    /// The visible (live) entries in list order: by sort key, then id.
    pub fn visible(&self) -> Vec<(&str, &[u8])> {
        let mut list: Vec<(i64, &str, &[u8])> = self
            .entries
            .iter()
            .filter_map(|(id, e)| e.payload().map(|p| (e.sort_key(), id.as_str(), p)))
            .collect();
        list.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        list.into_iter().map(|(_, id, p)| (id, p)).collect()
    }

    /// Drops entries deleted at least `retention_s` seconds before `now`,
    /// wiping their kept payloads; returns the purged ids. A device that
    /// still holds such an entry live may bring it back (see module docs).
    pub fn purge_tombstones(&mut self, now: i64, retention_s: i64) -> Vec<String> {
        let purged: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| {
                e.deleted_at()
                    .is_some_and(|at| at.saturating_add(retention_s) <= now)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in &purged {
            self.entries.remove(id);
            self.changed.remove(id);
        }
        purged
    }

    /// The current change marker: pass it to [`Replica::changed_since`]
    /// later to get what changed after now.
    pub fn marker(&self) -> u64 {
        self.seq
    }

    /// Entries changed (by a local operation or a merge) after `marker`, in
    /// id order: what a transport must push. Purged entries are not listed.
    pub fn changed_since(&self, marker: u64) -> Vec<(&str, &SyncEntry)> {
        self.changed
            .iter()
            .filter(|(_, &seq)| seq > marker)
            .filter_map(|(id, _)| self.entries.get(id).map(|e| (id.as_str(), e)))
            .collect()
    }
}
