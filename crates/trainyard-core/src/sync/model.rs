//! The values every part of the sync engine shares: paths (which may be
//! any bytes), tree entries and changes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A path relative to a sync root, `/`-separated, as raw bytes: file
/// names may be any bytes but `/` and NUL, not only UTF-8.
///
/// In YAML and JSON it is written as text: valid UTF-8 as is, other bytes
/// (and `%` itself) percent-escaped, so the form round-trips exactly.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SyncPath(pub Vec<u8>);

impl SyncPath {
    /// The path from an OS path relative to the root.
    #[cfg(unix)]
    pub fn from_relative(path: &std::path::Path) -> Self {
        use std::os::unix::ffi::OsStrExt;
        SyncPath(path.as_os_str().as_bytes().to_vec())
    }

    /// The OS path under `root`.
    #[cfg(unix)]
    pub fn under(&self, root: &std::path::Path) -> std::path::PathBuf {
        use std::os::unix::ffi::OsStrExt;
        root.join(std::ffi::OsStr::from_bytes(&self.0))
    }

    /// The escaped text form.
    pub fn encoded(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        let mut rest: &[u8] = &self.0;
        while !rest.is_empty() {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    push_escaping_percent(&mut out, text);
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    push_escaping_percent(&mut out, std::str::from_utf8(valid).unwrap_or(""));
                    let bad = e.error_len().unwrap_or(after.len());
                    for b in &after[..bad] {
                        out.push_str(&format!("%{b:02X}"));
                    }
                    rest = &after[bad..];
                }
            }
        }
        out
    }

    /// Reads the escaped text form.
    pub fn decode(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        Some(SyncPath(out))
    }
}

fn push_escaping_percent(out: &mut String, text: &str) {
    for c in text.chars() {
        if c == '%' {
            out.push_str("%25");
        } else {
            out.push(c);
        }
    }
}

impl fmt::Display for SyncPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encoded())
    }
}

impl Serialize for SyncPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.encoded())
    }
}

impl<'de> Deserialize<'de> for SyncPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        SyncPath::decode(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid escaped path `{text}`")))
    }
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A symbolic link (never followed).
    Symlink,
}

/// The BLAKE3 of a file's content, kept as its 32 bytes (a tree of
/// 100,000 files holds 200,000 of them while it is planned) and written
/// as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        ContentHash(*blake3::hash(bytes).as_bytes())
    }

    /// The hash as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        blake3::Hash::from_hex(text)
            .ok()
            .map(|h| ContentHash(*h.as_bytes()))
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", self.to_hex())
    }
}

impl Serialize for ContentHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ContentHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ContentHash::from_hex(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid content hash `{text}`: expected 64 hex digits"
            ))
        })
    }
}

/// One file or symlink of a filtered tree. Directories are implied by the
/// paths under them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// File or symlink.
    pub kind: EntryKind,
    /// Whether the file is executable (the one mode bit a sync carries).
    pub executable: bool,
    /// Size in bytes (of the link text, for a symlink).
    pub size: u64,
    /// BLAKE3 of the content (of the link text, for a symlink).
    pub hash: ContentHash,
    /// The link's target, for a symlink (escaped like a [`SyncPath`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<SyncPath>,
}

/// add, modify or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// The path is new in the target.
    Add,
    /// The content, mode or kind changes.
    Modify,
    /// The path goes away from the target.
    Delete,
}

/// One change a sync makes to its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The path.
    pub path: SyncPath,
    /// What happens to it.
    pub kind: ChangeKind,
    /// The target's entry before (absent for an add).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Entry>,
    /// The entry after (absent for a delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Entry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_any_bytes() {
        for raw in [
            &b"plain/name.txt"[..],
            b"with space",
            b"100% sure",
            b"caf\xc3\xa9",
            b"bad\xff\xfebytes",
            b"new\nline",
        ] {
            let path = SyncPath(raw.to_vec());
            assert_eq!(
                SyncPath::decode(&path.encoded()),
                Some(path.clone()),
                "{raw:?}"
            );
        }
        assert_eq!(SyncPath(b"bad\xffx".to_vec()).encoded(), "bad%FFx");
    }
}
