//! The byte form of one entry, what a transport encrypts and ships.
//!
//! A hand-written, versioned binary layout (big-endian, no padding) rather
//! than JSON: payloads are bytes (JSON would inflate them 3-4x as number
//! arrays), and a fixed layout is easy to bound and to reimplement. The
//! layout is specified in `docs/sync.md` ("Entry encoding"). Decoding checks
//! every length and every invariant of [`SyncEntry`] and returns
//! [`SyncError`] on any garbage; it never panics and never yields a partial
//! entry. The encoded bytes contain secrets and are wiped when dropped.

use super::entry::{Content, Lww, Payload, Stamp, SyncEntry, Version, VersionVector, MAX_COUNTER};
use super::error::SyncError;
use super::MAX_PAYLOAD_LEN;
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// The encoding version this build writes and reads.
pub const ENCODING_VERSION: u8 = 1;

/// Most devices one entry's context may name (far above real use).
pub const MAX_CONTEXT_DEVICES: usize = 4096;

const TAG_LIVE: u8 = 0;
const TAG_DELETED: u8 = 1;

/// Encodes `(id, entry)` as bytes (the id travels inside, so the blob is
/// self-contained once encrypted).
pub fn encode_entry(id: &str, entry: &SyncEntry) -> Result<Zeroizing<Vec<u8>>, SyncError> {
    super::check_id(id)?;
    if entry.context().len() > MAX_CONTEXT_DEVICES {
        return Err(SyncError::InvalidInput("too many devices in the context"));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(128));
    out.push(ENCODING_VERSION);
    put_u16(&mut out, id.len());
    out.extend_from_slice(id.as_bytes());
    put_stamp(&mut out, &entry.order().stamp);
    out.extend_from_slice(&entry.order().value.to_be_bytes());
    put_u16(&mut out, entry.context().len());
    for (device, counter) in entry.context().iter() {
        out.extend_from_slice(device);
        out.extend_from_slice(&counter.to_be_bytes());
    }
    put_u16(&mut out, entry.versions().len());
    for (stamp, version) in entry.versions() {
        put_stamp(&mut out, stamp);
        out.extend_from_slice(&version.at.to_be_bytes());
        let (tag, payload) = match &version.content {
            Content::Live(p) => (TAG_LIVE, p),
            Content::Deleted { last } => (TAG_DELETED, last),
        };
        out.push(tag);
        out.extend_from_slice(&(payload.as_bytes().len() as u32).to_be_bytes());
        out.extend_from_slice(payload.as_bytes());
    }
    Ok(out)
}

/// Decodes bytes made by [`encode_entry`].
pub fn decode_entry(bytes: &[u8]) -> Result<(String, SyncEntry), SyncError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let version = r.u8()?;
    if version != ENCODING_VERSION {
        return Err(SyncError::UnsupportedVersion {
            found: version,
            supported: ENCODING_VERSION,
        });
    }
    let id_len = r.u16()? as usize;
    let id = std::str::from_utf8(r.take(id_len)?)
        .map_err(|_| SyncError::Malformed("id is not UTF-8"))?
        .to_owned();
    super::check_id(&id).map_err(|_| SyncError::Malformed("id length out of range"))?;
    let order = Lww {
        stamp: r.stamp()?,
        value: r.i64()?,
    };
    let devices = r.u16()? as usize;
    if devices > MAX_CONTEXT_DEVICES {
        return Err(SyncError::Malformed("too many devices in the context"));
    }
    let mut context = VersionVector::default();
    let mut previous: Option<[u8; 16]> = None;
    for _ in 0..devices {
        let device = r.device()?;
        let counter = r.counter()?;
        if previous.is_some_and(|p| p >= device) {
            return Err(SyncError::Malformed(
                "context devices not strictly ascending",
            ));
        }
        previous = Some(device);
        context.set(device, counter);
    }
    let count = r.u16()? as usize;
    if count == 0 || count > devices {
        return Err(SyncError::Malformed("version count out of range"));
    }
    let mut versions = BTreeMap::new();
    let mut last_stamp: Option<Stamp> = None;
    for _ in 0..count {
        let stamp = r.stamp()?;
        if last_stamp.is_some_and(|p| p >= stamp) {
            return Err(SyncError::Malformed("versions not strictly ascending"));
        }
        last_stamp = Some(stamp);
        let at = r.i64()?;
        let tag = r.u8()?;
        let len = r.u32()? as usize;
        if len > MAX_PAYLOAD_LEN {
            return Err(SyncError::Malformed("payload too large"));
        }
        let payload = Payload::new(r.take(len)?.to_vec());
        let content = match tag {
            TAG_LIVE => Content::Live(payload),
            TAG_DELETED => Content::Deleted { last: payload },
            _ => return Err(SyncError::Malformed("unknown content tag")),
        };
        versions.insert(stamp, Version { at, content });
    }
    if r.pos != bytes.len() {
        return Err(SyncError::Malformed("trailing bytes"));
    }
    let entry = SyncEntry::from_parts(context, versions, order).map_err(SyncError::Malformed)?;
    Ok((id, entry))
}

fn put_u16(out: &mut Vec<u8>, n: usize) {
    // Callers bound `n` (id length, context size, version count) well
    // below u16::MAX.
    out.extend_from_slice(&(n.min(u16::MAX as usize) as u16).to_be_bytes());
}

fn put_stamp(out: &mut Vec<u8>, s: &Stamp) {
    out.extend_from_slice(&s.counter.to_be_bytes());
    out.extend_from_slice(&s.device);
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SyncError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(SyncError::Malformed("truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], SyncError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, SyncError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, SyncError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, SyncError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, SyncError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn device(&mut self) -> Result<[u8; 16], SyncError> {
        self.array()
    }

    fn counter(&mut self) -> Result<u64, SyncError> {
        let c = u64::from_be_bytes(self.array()?);
        if c == 0 || c > MAX_COUNTER {
            return Err(SyncError::Malformed("counter out of range"));
        }
        Ok(c)
    }

    fn stamp(&mut self) -> Result<Stamp, SyncError> {
        let counter = self.counter()?;
        let device = self.device()?;
        Ok(Stamp { counter, device })
    }
}
