//! The text of a code ("287082", Steam's "2BC9X") held inline: a refresh of
//! every code runs once a second on a phone, and a heap string per code was
//! half of its cost (`docs/benchmarks.md`). Copy, at most 10 ASCII bytes.

use serde::{Serialize, Serializer};

/// Longest code text (10 digits: the 31-bit truncated value).
const CAPACITY: usize = 10;

/// A code as shown: ASCII digits (or Steam's letters), 1–10 characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodeText {
    bytes: [u8; CAPACITY],
    len: u8,
}

impl CodeText {
    /// From ASCII `text` (at most 10 bytes; longer input is cut, non-ASCII
    /// bytes are replaced by `?` — the engine never produces either).
    pub(crate) fn from_ascii(text: &[u8]) -> Self {
        let mut bytes = [0u8; CAPACITY];
        let len = text.len().min(CAPACITY);
        for (b, t) in bytes.iter_mut().zip(&text[..len]) {
            *b = if t.is_ascii() { *t } else { b'?' };
        }
        Self {
            bytes,
            len: len as u8,
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // ASCII by construction, so this never fails.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl std::ops::Deref for CodeText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for CodeText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for CodeText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for CodeText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<str> for CodeText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CodeText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for CodeText {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl From<CodeText> for String {
    fn from(c: CodeText) -> Self {
        c.as_str().to_owned()
    }
}

impl Serialize for CodeText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_it_is_given_and_compares_as_text() {
        let c = CodeText::from_ascii(b"012345");
        assert_eq!(c.as_str(), "012345");
        assert_eq!(c, "012345");
        assert_eq!(format!("{c} {c:?}"), "012345 \"012345\"");
        assert_eq!(String::from(c), "012345");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"012345\"");
        assert_eq!(CodeText::from_ascii(b"12345678901").as_str(), "1234567890");
        assert_eq!(CodeText::from_ascii("ä1".as_bytes()).as_str(), "??1");
    }
}
