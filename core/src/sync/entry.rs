//! One synced entry: a causal multi-value register for its content and a
//! last-writer-wins register for its list position.
//!
//! Why a multi-value register and not a plain LWW register for the content:
//! a Lamport stamp orders writes totally but cannot tell "the deleter saw this
//! edit" from "this edit happened concurrently". The content register keeps a
//! causal context (a version vector: device -> highest counter of that
//! device's writes to *this entry* that the state has seen) and the set of
//! writes no other known write has superseded ("versions"; pairwise
//! concurrent, at most one per device). A write supersedes exactly what its
//! device had seen. So an edit the deleter had not seen survives the merge as
//! a sibling of the tombstone, and the entry resolves to it.
//!
//! Invariants (checked when decoding, kept by every operation):
//! - `versions` is non-empty;
//! - each version's stamp is in the context, and is its device's latest write
//!   to the entry (`context[device] == stamp.counter`), hence at most one
//!   version per device.
//!
//! The order register is independent, so a reorder on one device and an edit
//! on another both survive. The engine never parses payloads.

use std::collections::BTreeMap;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A device's random 16-byte id.
pub type DeviceId = [u8; 16];

/// Largest counter a stamp may carry (far beyond any real use; keeps `+ 1`
/// from overflowing and bounds what a damaged blob can do to the clock).
pub const MAX_COUNTER: u64 = 1 << 62;

/// A Lamport timestamp: totally ordered by `counter`, then `device`.
///
/// Each write by a device gets a fresh stamp from that device's clock, so a
/// stamp also names the write (a "dot").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    /// The writer's Lamport counter at the write (>= 1).
    pub counter: u64,
    /// The writer's device id.
    pub device: DeviceId,
}

/// Opaque payload bytes (a serialized profile), wiped when dropped.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Zeroize, ZeroizeOnDrop)]
pub struct Payload(Vec<u8>);

impl Payload {
    /// Wraps bytes; they move in and are wiped with the payload.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payload({} bytes)", self.0.len())
    }
}

/// What one content write set.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Content {
    /// The entry exists with this payload.
    Live(Payload),
    /// A tombstone. `last` is the payload the deleter saw, kept so the delete
    /// can be undone until the tombstone is purged.
    Deleted {
        /// The last live payload, for restore.
        last: Payload,
    },
}

/// One content write: what it set and the writer's wall clock.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Writer's wall clock, Unix seconds. Informational, and the start of
    /// the retention window for tombstones; never used to order writes.
    pub at: i64,
    /// What the write set.
    pub content: Content,
}

/// A version vector: device -> highest counter seen of that device's writes
/// to one entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionVector(BTreeMap<DeviceId, u64>);

impl VersionVector {
    /// Whether the write `stamp` is known (seen) by this context.
    pub fn contains(&self, stamp: &Stamp) -> bool {
        self.0
            .get(&stamp.device)
            .is_some_and(|&c| c >= stamp.counter)
    }

    /// Highest counter seen from `device` (0: none).
    pub fn get(&self, device: &DeviceId) -> u64 {
        self.0.get(device).copied().unwrap_or(0)
    }

    /// `(device, counter)` pairs in device order.
    pub fn iter(&self) -> impl Iterator<Item = (&DeviceId, u64)> {
        self.0.iter().map(|(d, c)| (d, *c))
    }

    /// Number of devices.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no write is known.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn insert(&mut self, stamp: Stamp) {
        let c = self.0.entry(stamp.device).or_insert(0);
        *c = (*c).max(stamp.counter);
    }

    pub(crate) fn set(&mut self, device: DeviceId, counter: u64) {
        self.0.insert(device, counter);
    }

    fn join(&mut self, other: &VersionVector) {
        for (d, c) in &other.0 {
            let mine = self.0.entry(*d).or_insert(0);
            *mine = (*mine).max(*c);
        }
    }
}

/// A last-writer-wins register: the value with the greatest stamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lww<T> {
    /// Stamp of the write that set `value`.
    pub stamp: Stamp,
    /// The value.
    pub value: T,
}

impl<T: Ord + Clone> Lww<T> {
    /// The join: greater stamp wins; equal stamps with different values
    /// (impossible between honest replicas) resolve to the greater value so
    /// the join stays commutative.
    fn merged(&self, other: &Lww<T>) -> Lww<T> {
        match other.stamp.cmp(&self.stamp) {
            std::cmp::Ordering::Greater => other.clone(),
            std::cmp::Ordering::Less => self.clone(),
            std::cmp::Ordering::Equal if other.value > self.value => other.clone(),
            std::cmp::Ordering::Equal => self.clone(),
        }
    }
}

/// The replicated state of one entry. Build one with [`crate::sync::Replica`]
/// operations or [`crate::sync::decode_entry`]; merge with [`SyncEntry::merge`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncEntry {
    context: VersionVector,
    versions: BTreeMap<Stamp, Version>,
    order: Lww<i64>,
}

impl SyncEntry {
    /// A new entry from its first write (an add).
    pub(crate) fn added(stamp: Stamp, payload: Payload, sort_key: i64, now: i64) -> Self {
        let mut context = VersionVector::default();
        context.insert(stamp);
        let mut versions = BTreeMap::new();
        versions.insert(
            stamp,
            Version {
                at: now,
                content: Content::Live(payload),
            },
        );
        Self {
            context,
            versions,
            order: Lww {
                stamp,
                value: sort_key,
            },
        }
    }

    /// Assembles a decoded entry, checking the invariants.
    pub(crate) fn from_parts(
        context: VersionVector,
        versions: BTreeMap<Stamp, Version>,
        order: Lww<i64>,
    ) -> Result<Self, &'static str> {
        if versions.is_empty() {
            return Err("no versions");
        }
        for s in versions.keys() {
            if context.get(&s.device) != s.counter {
                return Err("a version is not its device's latest write");
            }
        }
        Ok(Self {
            context,
            versions,
            order,
        })
    }

    /// A content write by this replica: supersedes every version it has seen
    /// (all of them) and joins the context.
    pub(crate) fn write(&mut self, stamp: Stamp, version: Version) {
        self.context.insert(stamp);
        self.versions.clear();
        self.versions.insert(stamp, version);
    }

    /// A reorder by this replica.
    pub(crate) fn set_order(&mut self, stamp: Stamp, sort_key: i64) {
        self.order = Lww {
            stamp,
            value: sort_key,
        };
    }

    /// Joins `other` into `self`; returns whether `self` changed.
    ///
    /// A version survives if both sides hold it, or if the side lacking it
    /// has not seen it (so nobody there superseded it). Contexts join
    /// pointwise (max); the order register keeps the greater stamp. This is
    /// commutative, associative and idempotent.
    pub fn merge(&mut self, other: &SyncEntry) -> bool {
        let mut versions = BTreeMap::new();
        for (s, v) in &self.versions {
            match other.versions.get(s) {
                Some(ov) => {
                    // Same write on both sides; differing contents are
                    // impossible between honest replicas: keep the greater.
                    versions.insert(*s, if ov > v { ov.clone() } else { v.clone() });
                }
                None if !other.context.contains(s) => {
                    versions.insert(*s, v.clone());
                }
                None => {}
            }
        }
        for (s, v) in &other.versions {
            if !self.versions.contains_key(s) && !self.context.contains(s) {
                versions.insert(*s, v.clone());
            }
        }
        if versions.is_empty() {
            // Only reachable with two states that each claim to have
            // superseded the other (a cycle no replica can produce). Stay
            // total and deterministic: keep the greatest version of either.
            let best = self
                .versions
                .iter()
                .chain(other.versions.iter())
                .max_by(|a, b| a.0.cmp(b.0).then_with(|| a.1.cmp(b.1)));
            if let Some((s, v)) = best {
                versions.insert(*s, v.clone());
            }
        }
        let mut context = self.context.clone();
        context.join(&other.context);
        let order = self.order.merged(&other.order);
        let changed = versions != self.versions || context != self.context || order != self.order;
        if changed {
            self.versions = versions;
            self.context = context;
            self.order = order;
        }
        changed
    }

    /// The version the entry resolves to: the live version with the greatest
    /// stamp if any version is live (an edit beats a concurrent delete),
    /// else the tombstone with the greatest stamp. `None` never happens for
    /// an entry built by this module (it always holds a version).
    pub fn resolved(&self) -> Option<(&Stamp, &Version)> {
        self.versions
            .iter()
            .rev()
            .find(|(_, v)| matches!(v.content, Content::Live(_)))
            .or_else(|| self.versions.iter().next_back())
    }

    /// The visible payload, or `None` when the entry is deleted.
    pub fn payload(&self) -> Option<&[u8]> {
        match self.resolved().map(|(_, v)| &v.content) {
            Some(Content::Live(p)) => Some(p.as_bytes()),
            _ => None,
        }
    }

    /// Whether the entry is deleted (every current version is a tombstone).
    pub fn is_deleted(&self) -> bool {
        self.payload().is_none()
    }

    /// When deleted: the latest tombstone's wall clock (start of retention).
    pub fn deleted_at(&self) -> Option<i64> {
        if !self.is_deleted() {
            return None;
        }
        self.versions.values().map(|v| v.at).max()
    }

    /// When deleted: the payload a restore brings back.
    pub fn restorable_payload(&self) -> Option<&Payload> {
        match self.resolved().map(|(_, v)| &v.content) {
            Some(Content::Deleted { last }) => Some(last),
            _ => None,
        }
    }

    /// Concurrent live payloads that lost to the resolved one (newest
    /// first). Kept, not shown: the next write on any device supersedes
    /// them. A UI may offer them; they never block showing codes.
    pub fn conflicts(&self) -> Vec<&[u8]> {
        let winner = self.resolved().map(|(s, _)| *s);
        self.versions
            .iter()
            .rev()
            .filter(|(s, _)| Some(**s) != winner)
            .filter_map(|(_, v)| match &v.content {
                Content::Live(p) => Some(p.as_bytes()),
                Content::Deleted { .. } => None,
            })
            .collect()
    }

    /// The list position.
    pub fn sort_key(&self) -> i64 {
        self.order.value
    }

    /// The order register.
    pub fn order(&self) -> &Lww<i64> {
        &self.order
    }

    /// The content register's causal context.
    pub fn context(&self) -> &VersionVector {
        &self.context
    }

    /// The current (pairwise concurrent) content versions, by stamp.
    pub fn versions(&self) -> &BTreeMap<Stamp, Version> {
        &self.versions
    }

    /// The greatest counter anywhere in the entry (for the Lamport clock).
    pub fn max_counter(&self) -> u64 {
        self.context
            .iter()
            .map(|(_, c)| c)
            .chain(std::iter::once(self.order.stamp.counter))
            .max()
            .unwrap_or(0)
    }
}
