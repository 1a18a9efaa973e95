//! The index, `evidence/index.jsonl`: one [`Record`] a line, each chained
//! to the one before it by its hash.

use serde::{Deserialize, Serialize};

use super::at::Dir;
use super::{DirStore, EVIDENCE_DIR, INDEX_FILE, sha256_hex};
use crate::{Error, Result};

/// The `prev` of the first record: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The tag that starts the hashed form of a record, naming its version.
const RECORD_HASH_TAG: &str = "trainyard-evidence-record/1";

/// One entry of the evidence index: which document, when, and its hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Position in the index, starting at 1, one more than the previous.
    pub seq: u64,
    /// The document kind, e.g. `release_evidence`.
    pub kind: String,
    /// The document name, unique within its kind.
    pub name: String,
    /// Where the document lives, relative to the store root, with `/`.
    pub path: String,
    /// When the document was recorded (RFC 3339, UTC).
    pub recorded_at: String,
    /// SHA-256 of the document bytes, lowercase hex.
    pub sha256: String,
    /// The `hash` of the previous record, or [`GENESIS_HASH`] for the first.
    pub prev: String,
    /// The hash of this record, see [`Record::compute_hash`].
    pub hash: String,
}

impl Record {
    /// The hash this record should carry: SHA-256, lowercase hex, of the
    /// compact JSON array `["trainyard-evidence-record/1", seq, kind, name,
    /// path, recorded_at, sha256, prev]`.
    ///
    /// # Errors
    ///
    /// None in practice; an [`Error::Internal`] if JSON encoding fails.
    pub fn compute_hash(&self) -> Result<String> {
        let canonical = serde_json::to_vec(&(
            RECORD_HASH_TAG,
            self.seq,
            &self.kind,
            &self.name,
            &self.path,
            &self.recorded_at,
            &self.sha256,
            &self.prev,
        ))
        .map_err(|e| Error::Internal(format!("cannot encode evidence record: {e}")))?;
        Ok(sha256_hex(&canonical))
    }
}

/// One line of the index, parsed or not.
pub(super) struct IndexLine {
    /// The line number, from 1.
    pub(super) number: usize,
    /// The record, or why the line is not one.
    pub(super) parsed: std::result::Result<Record, String>,
}

/// The index as read from disk.
pub(super) struct Index {
    /// The raw bytes, kept so that an append preserves them exactly.
    bytes: Vec<u8>,
    pub(super) lines: Vec<IndexLine>,
}

impl DirStore {
    /// Reads the index under `root`; a missing store or index is empty.
    pub(super) fn read_index(&self, root: Option<&Dir>) -> Result<Index> {
        let bytes = match root {
            None => Vec::new(),
            Some(root) => match root.open_dir(EVIDENCE_DIR)? {
                None => Vec::new(),
                Some(evidence) => evidence.read(INDEX_FILE)?.unwrap_or_default(),
            },
        };
        let lines = parse_index(&bytes);
        Ok(Index { bytes, lines })
    }

    /// Reads the index and requires every line to be a record.
    pub(super) fn read_records(&self, root: Option<&Dir>) -> Result<(Vec<u8>, Vec<Record>)> {
        let index = self.read_index(root)?;
        let mut records = Vec::with_capacity(index.lines.len());
        for line in index.lines {
            match line.parsed {
                Ok(record) => records.push(record),
                Err(why) => {
                    return Err(Error::input(format!(
                        "cannot parse evidence index {} line {}: {why}",
                        self.index_path().display(),
                        line.number
                    )));
                }
            }
        }
        Ok((index.bytes, records))
    }
}

/// Splits the index into lines and parses each as a record. A final line
/// without a newline is accepted; blank lines are malformed.
fn parse_index(bytes: &[u8]) -> Vec<IndexLine> {
    let mut lines = Vec::new();
    if bytes.is_empty() {
        return lines;
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        let number = i + 1;
        let parsed = match std::str::from_utf8(raw) {
            Err(_) => Err("line is not utf-8".to_string()),
            Ok(text) if text.trim().is_empty() => Err("line is empty".to_string()),
            Ok(text) => serde_json::from_str::<Record>(text).map_err(|e| e.to_string()),
        };
        lines.push(IndexLine { number, parsed });
    }
    lines
}
