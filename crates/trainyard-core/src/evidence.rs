//! The evidence store: immutable YAML documents chained by hashes.
//!
//! Everything trainyard does leaves evidence: a `release_evidence`,
//! `sync_log`, `version_bump` or other document, identified by its *kind*
//! and a *name*. Callers talk to the [`EvidenceStore`] trait so that a
//! shared database can serve teams later; [`DirStore`] keeps the evidence in
//! a directory, by default `.trainyard/` at the repository root.
//!
//! # On-disk layout of a [`DirStore`]
//!
//! ```text
//! <root>/lock                              lock file (empty, flock-style lock)
//! <root>/evidence/index.jsonl              the index: one JSON record a line
//! <root>/evidence/<kind>/<name>.yaml       the documents, byte for byte
//! <root>/evidence/<kind>/<sha256>.gz       bodies, by the SHA-256 of their content
//! <root>/tmp/                              bodies being written, not evidence yet
//! ```
//!
//! Bodies hold what is too large to be a YAML document (a sync plan's
//! change list and full diff): any bytes, gzip-compressed, named by the
//! SHA-256 of their content and referenced from documents by that name.
//! The same content is stored once, however many documents name it. A
//! body's record is like a document's (its `sha256` is that of the stored
//! bytes); [`EvidenceStore::read_body`] and [`EvidenceStore::verify`] check
//! the content against its name too. [`EvidenceStore::stage_body`] writes
//! one without holding it in memory, and [`EvidenceStore::record`] records
//! bodies and the documents that name them with one update of the index,
//! so that a failure leaves none of them recorded.
//!
//! Each index line is a [`Record`]:
//!
//! ```json
//! {"seq":1,"kind":"sync_log","name":"nightly-42","path":"evidence/sync_log/nightly-42.yaml",
//!  "recorded_at":"2026-04-20T10:00:00Z","sha256":"<hex of the document bytes>",
//!  "prev":"<hash of record seq-1, or 64 zeros>","hash":"<hash of this record>"}
//! ```
//!
//! A record's `hash` is the SHA-256 (lowercase hex) of the compact JSON
//! array `["trainyard-evidence-record/1", seq, kind, name, path,
//! recorded_at, sha256, prev]`; see [`Record::compute_hash`]. The first
//! record's `prev` is [`GENESIS_HASH`]. Sequence numbers start at 1 and
//! grow by one.
//!
//! # Writing
//!
//! A write holds an exclusive lock on `<root>/lock` and then
//!
//! 1. reads and parses the index (a malformed index refuses the write),
//! 2. refuses a kind and name already recorded (evidence is immutable),
//!    or, for [`EvidenceStore::write_unique`], takes the first name of
//!    `base`, `base-2`, `base-3`, ... not recorded yet, so that runs
//!    recording at once never pick the same name,
//! 3. writes the document with [`write_atomic`],
//! 4. writes the index again, old bytes plus the new line, with
//!    [`write_atomic`], so the index is always either the old index or the
//!    old index plus one whole record, never a half-written line,
//! 5. calls the store's [`AfterWrite`] hook, if any, with the new head
//!    (the workspace's store anchors it in git), still holding the lock.
//!
//! A run that dies between steps 3 and 4 leaves a document with no record:
//! [`EvidenceStore::verify`] reports it as [`ProblemKind::Unrecorded`], and
//! the next write of the same kind and name replaces it (the interrupted
//! write never happened as far as the index is concerned) and says so in
//! [`WriteReport::replaced_unrecorded`].
//!
//! Every file is opened relative to the open directory that holds it and
//! never through a symbolic link (`openat` with `O_NOFOLLOW` on Unix): a
//! link as the root, as `evidence/`, as a kind's directory, as a document
//! or as the lock file is refused with its path, and
//! [`EvidenceStore::verify`] reports it as [`ProblemKind::Symlink`].
//!
//! When another run holds the lock, a writer waits up to
//! [`DirStore::DEFAULT_LOCK_WAIT`] (see [`DirStore::with_lock_wait`]) and
//! then fails with an [`Error::Environment`] saying the store is locked.
//! [`EvidenceStore::verify`] takes the same lock shared, so it never sees a
//! write half done. Listing and showing read the index once, which is
//! replaced atomically, and take no lock.
//!
//! # Limits
//!
//! The chain detects edits, removals and reordering inside the index, but
//! not the removal of the newest records together with their documents, nor
//! a forger who recomputes every hash. the `evidence_anchor` module detects
//! those: a store given an [`AfterWrite`] hook ([`DirStore::with_after_write`])
//! by the workspace anchors each new head in the repository's git.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{File, TryLockError};
use std::io::{ErrorKind as IoErrorKind, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::deadline::Deadline;
use crate::{Error, Result};

mod at;
mod body;
mod hooks;
mod names;

use at::{Dir, EntryType, Found};
pub use body::{StagedBody, body_name, is_body_name};
pub use hooks::{AfterWrite, AfterWriteFn, WaitFn, WaitNotice};
use names::{NameChoice, file_name, first_free, relative_path};
pub use names::{validate_kind, validate_name};

/// The `prev` of the first record: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The tag that starts the hashed form of a record, naming its version.
const RECORD_HASH_TAG: &str = "trainyard-evidence-record/1";

/// The directory under the store root that holds documents and the index.
const EVIDENCE_DIR: &str = "evidence";

/// The index file name inside [`EVIDENCE_DIR`].
const INDEX_FILE: &str = "index.jsonl";

/// The lock file name inside the store root.
const LOCK_FILE: &str = "lock";

/// The directory inside the store root where bodies are written before
/// they are recorded (outside `evidence/`: never evidence itself).
const TMP_DIR: &str = "tmp";

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

/// A recorded document: its record and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The index record of the document.
    pub record: Record,
    /// The document text as it is now.
    pub text: String,
    /// Whether the text still matches the recorded SHA-256.
    pub intact: bool,
}

/// What a successful write did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteReport {
    /// The record appended to the index.
    pub record: Record,
    /// True when a document with no record (left by an interrupted write)
    /// was in the way and has been replaced.
    pub replaced_unrecorded: bool,
}

/// A YAML document to record in one batch with bodies, see
/// [`EvidenceStore::record`].
#[derive(Debug, Clone, Copy)]
pub struct NewDocument<'a> {
    /// Its kind.
    pub kind: &'a str,
    /// Its name, or with `unique` the base of its name.
    pub name: &'a str,
    /// Record it under the first free name from `name`, as
    /// [`EvidenceStore::write_unique`] does.
    pub unique: bool,
    /// The document.
    pub yaml: &'a str,
}

/// A body as recorded: its record, and whether it was recorded now (or
/// was recorded already, the same content by an earlier run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BodyRecord {
    /// The body's index record.
    pub record: Record,
    /// False when the same content was recorded already and is shared.
    pub new: bool,
}

/// What one [`EvidenceStore::record`] recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Recorded {
    /// The bodies, in the order given (a body given twice once).
    pub bodies: Vec<BodyRecord>,
    /// The documents, in the order given.
    pub documents: Vec<WriteReport>,
}

/// How to find one recorded document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// By kind and name (names compare ignoring ASCII case).
    Name {
        /// The document kind.
        kind: String,
        /// The document name.
        name: String,
    },
    /// By sequence number in the index.
    Seq(u64),
    /// By path: as recorded (`evidence/<kind>/<name>.yaml`), relative to
    /// the evidence directory (`<kind>/<name>.yaml`), or joined to the root.
    Path(String),
}

/// What is wrong with one file of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A document's bytes no longer match its recorded SHA-256.
    Edited,
    /// A recorded document is not on disk.
    Missing,
    /// A document on disk under `evidence/` has no record in the index.
    Unrecorded,
    /// A record's `prev` is not the hash of the record before it: records
    /// were removed, inserted or reordered.
    ChainBroken,
    /// A record's sequence number is not one more than the one before it.
    SequenceGap,
    /// A record's own `hash` does not match its fields: the index was edited.
    RecordEdited,
    /// An index line is not a valid record.
    MalformedRecord,
    /// A record names an invalid kind or name, or a path that does not
    /// follow from its kind and name.
    InvalidRecord,
    /// A kind and name recorded more than once.
    DuplicateRecord,
    /// A symbolic link inside the store, in the place of a document or a
    /// directory: the store never follows one.
    Symlink,
    /// The record at an anchored sequence number is not the anchored one:
    /// the chain was rewritten (see the `evidence_anchor` module).
    AnchorMismatch,
    /// An anchored record is no longer in the index: records were deleted.
    AnchoredRecordMissing,
    /// An anchored head's signature does not verify.
    AnchorSignature,
    /// A commit of the anchor ref that is not an evidence anchor.
    MalformedAnchor,
    /// The remote's anchor is not in the local anchor's history: the local
    /// anchor ref was rewritten.
    AnchorRewritten,
}

impl ProblemKind {
    /// The snake_case name of the problem kind, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Edited => "edited",
            ProblemKind::Missing => "missing",
            ProblemKind::Unrecorded => "unrecorded",
            ProblemKind::ChainBroken => "chain_broken",
            ProblemKind::SequenceGap => "sequence_gap",
            ProblemKind::RecordEdited => "record_edited",
            ProblemKind::MalformedRecord => "malformed_record",
            ProblemKind::InvalidRecord => "invalid_record",
            ProblemKind::DuplicateRecord => "duplicate_record",
            ProblemKind::Symlink => "symlink",
            ProblemKind::AnchorMismatch => "anchor_mismatch",
            ProblemKind::AnchoredRecordMissing => "anchored_record_missing",
            ProblemKind::AnchorSignature => "anchor_signature",
            ProblemKind::MalformedAnchor => "malformed_anchor",
            ProblemKind::AnchorRewritten => "anchor_rewritten",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found by [`EvidenceStore::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What is wrong.
    pub kind: ProblemKind,
    /// The file concerned: the document, or the index for record problems.
    pub path: String,
    /// The sequence number of the record concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The index line concerned (from 1), for record problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// A lowercase sentence naming the file and what is wrong.
    pub message: String,
}

/// The outcome of [`EvidenceStore::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The store verified (a directory or a database location).
    pub store: String,
    /// True when no problem was found.
    pub ok: bool,
    /// How many well-formed records the index holds.
    pub documents: usize,
    /// The `hash` of the last well-formed record, to anchor elsewhere.
    pub head_hash: Option<String>,
    /// Every problem found, index problems first, in index order, then
    /// unrecorded documents by path.
    pub problems: Vec<Problem>,
}

/// A place that keeps immutable, hash-chained evidence documents.
///
/// Implementations: [`DirStore`] (a directory). A shared database can
/// implement the same trait without touching callers.
pub trait EvidenceStore {
    /// Where the store lives, for messages: a directory or a database URL.
    fn location(&self) -> String;

    /// Records a YAML document of `kind` under `name`.
    ///
    /// # Errors
    ///
    /// [`Error::Input`] when the kind or name is invalid, the text is empty
    /// or not YAML, the kind and name are already recorded (evidence is
    /// immutable), or the index is malformed; [`Error::Environment`] when
    /// another run holds the store; [`Error::Io`] when a file cannot be
    /// read or written. On error nothing is recorded.
    fn write(&self, kind: &str, name: &str, yaml: &str) -> Result<WriteReport>;

    /// Records a YAML document of `kind` under the first name not recorded
    /// yet among `base`, `base-2`, `base-3`, ... (names compare ignoring
    /// ASCII case), for documents written more than once a second. The
    /// name is chosen while the store is held, so runs recording at once
    /// each get a name of their own.
    ///
    /// # Errors
    ///
    /// As [`EvidenceStore::write`], except that a name already recorded is
    /// never an error.
    fn write_unique(&self, kind: &str, base: &str, yaml: &str) -> Result<WriteReport>;

    /// Writes a body of `kind`: `fill` writes its content (any bytes) to
    /// the writer it is given, which compresses and hashes it on the way
    /// to a temporary file, so that a body of any size is never held in
    /// memory. Nothing is recorded until the body is given to
    /// [`EvidenceStore::record`]; dropped, it leaves nothing behind.
    ///
    /// # Errors
    ///
    /// [`Error::Input`] for an invalid kind; the errors of `fill`;
    /// [`Error::Io`] when the temporary file cannot be written.
    fn stage_body(
        &self,
        kind: &str,
        fill: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<()>,
    ) -> Result<StagedBody>;

    /// Records staged bodies and YAML documents at once, with one update
    /// of the index: all of them or, on error, none. A body whose content
    /// is recorded already (same kind and SHA-256) is not stored again:
    /// its existing record is returned.
    ///
    /// # Errors
    ///
    /// As [`EvidenceStore::write`] for each document; on error nothing is
    /// recorded.
    fn record(&self, bodies: Vec<StagedBody>, documents: &[NewDocument<'_>]) -> Result<Recorded>;

    /// Writes the content of the body of `kind` whose content has the
    /// SHA-256 `sha256` to `sink`, and returns its record. The stored
    /// bytes are checked against the index before any content is written,
    /// and the content against its hash as it is.
    ///
    /// # Errors
    ///
    /// [`Error::Input`] when no such body is recorded, or when it was
    /// edited since (its path named); [`Error::Io`] when it cannot be read
    /// or `sink` cannot be written.
    fn read_body(&self, kind: &str, sha256: &str, sink: &mut dyn std::io::Write) -> Result<Record>;

    /// Checks, without recording anything, that a document of `kind`
    /// named `name` could be written now: the store can be held (waiting
    /// as a write does), its index read, the name is free and the kind's
    /// directory writable. Run before a change that must be logged, so
    /// that most reasons a log could not be written stop it first.
    ///
    /// # Errors
    ///
    /// As [`EvidenceStore::write`] would fail.
    fn check_writable(&self, kind: &str, name: &str) -> Result<()>;

    /// The records of the index in order, only those of `kind` if given.
    ///
    /// # Errors
    ///
    /// [`Error::Input`] when `kind` is invalid or the index is malformed;
    /// [`Error::Io`] when the index cannot be read.
    fn list(&self, kind: Option<&str>) -> Result<Vec<Record>>;

    /// The record and text of one document.
    ///
    /// # Errors
    ///
    /// [`Error::Input`] when no record matches or the index is malformed or
    /// the document is not UTF-8; [`Error::Io`] when the index or the
    /// document cannot be read (a recorded document removed, for one).
    fn get(&self, key: &Lookup) -> Result<Entry>;

    /// The record and text of the document `kind`/`name`.
    ///
    /// # Errors
    ///
    /// As [`EvidenceStore::get`].
    fn show(&self, kind: &str, name: &str) -> Result<Entry> {
        self.get(&Lookup::Name {
            kind: kind.to_string(),
            name: name.to_string(),
        })
    }

    /// Checks every document and record and lists every problem found.
    ///
    /// A store that does not exist yet is fine and holds zero documents.
    ///
    /// # Errors
    ///
    /// Problems with the evidence are in the report, not errors.
    /// [`Error::Environment`] when a writer holds the store;
    /// [`Error::Io`] when a file or directory cannot be read.
    fn verify(&self) -> Result<VerifyReport>;
}

/// A recorded document read back for a lookup: parsed (or why not), with
/// its record and whether its text still matches the record.
#[derive(Debug)]
pub struct Parsed<T> {
    /// The document, or why it does not parse as the type asked for.
    pub document: Result<T>,
    /// Its index record.
    pub record: Record,
    /// Whether its text still matches the recorded SHA-256.
    pub intact: bool,
}

impl dyn EvidenceStore + '_ {
    /// The documents of `kind` whose record path contains `name_part`,
    /// oldest first, each parsed as `T`. Documents are named after what
    /// they are about (a plan's short id, a sync id), so a lookup reads
    /// and parses only those instead of every document of the kind.
    ///
    /// # Errors
    ///
    /// Returns an error when the index or a document cannot be read; a
    /// document that does not parse is returned with its error.
    pub fn parsed<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        name_part: &str,
    ) -> Result<Vec<Parsed<T>>> {
        let mut out = Vec::new();
        for record in self.list(Some(kind))? {
            if !record.path.contains(name_part) {
                continue;
            }
            let entry = self.get(&Lookup::Seq(record.seq))?;
            out.push(Parsed {
                document: crate::yaml::parse(&entry.text, Path::new(&record.path)),
                intact: entry.intact,
                record,
            });
        }
        Ok(out)
    }

    /// The documents of `kind` whose record path contains `name_part`, as
    /// [`parsed`](Self::parsed) finds them, for a decision to rest on: each
    /// one hash-checked against the index as it is read, so a document
    /// edited by hand is refused, not trusted.
    ///
    /// # Errors
    ///
    /// An [`Error::Input`] naming the document and saying `remedy` when one
    /// of them was edited since it was recorded, or naming it and why when
    /// it does not parse as `T`; the errors of [`parsed`](Self::parsed).
    pub fn trusted<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        name_part: &str,
        remedy: &str,
    ) -> Result<Vec<(T, Record)>> {
        let mut out = Vec::new();
        for found in self.parsed::<T>(kind, name_part)? {
            if !found.intact {
                return Err(self.edited(&found.record, remedy));
            }
            out.push((found.document?, found.record));
        }
        Ok(out)
    }

    /// The error for a document whose bytes no longer match its record:
    /// its path, and `remedy`.
    pub fn edited(&self, record: &Record, remedy: &str) -> Error {
        Error::input(format!(
            "evidence {}/{} was edited after it was recorded (its sha-256 no longer matches the evidence index): {remedy}",
            self.location().trim_end_matches('/'),
            record.path
        ))
    }

    /// Renders `value` as YAML with serde-saphyr and records it, as
    /// [`EvidenceStore::write`] does. An inherent method of the trait
    /// object, so every store gets it and callers never name the store's
    /// type.
    ///
    /// # Errors
    ///
    /// As [`EvidenceStore::write`], plus [`Error::Internal`] when the value
    /// cannot be rendered.
    pub fn write_value<T: Serialize + ?Sized>(
        &self,
        kind: &str,
        name: &str,
        value: &T,
    ) -> Result<WriteReport> {
        let yaml = render_yaml(value)?;
        self.write(kind, name, &yaml)
    }

    /// Renders `value` as YAML and records it under the first free name
    /// from `base`, as [`EvidenceStore::write_unique`] does.
    ///
    /// # Errors
    ///
    /// As [`write_value`](Self::write_value).
    pub fn write_value_unique<T: Serialize + ?Sized>(
        &self,
        kind: &str,
        base: &str,
        value: &T,
    ) -> Result<WriteReport> {
        let yaml = render_yaml(value)?;
        self.write_unique(kind, base, &yaml)
    }
}

/// Renders a value as a YAML document with serde-saphyr.
///
/// # Errors
///
/// [`Error::Internal`] when serde-saphyr cannot render the value.
pub fn render_yaml<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_saphyr::to_string(&value).map_err(|e| Error::Internal(format!("cannot render yaml: {e}")))
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// The current time as RFC 3339 UTC with whole seconds.
fn now_rfc3339() -> String {
    format!("{:.0}", jiff::Timestamp::now())
}

/// An evidence store in a directory (default `.trainyard/` at the
/// repository root). See the [module documentation](self) for the layout.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
    lock_wait: Duration,
    clock: Option<jiff::Timestamp>,
    notice: Option<WaitNotice>,
    after_write: Option<AfterWrite>,
}

/// One line of the index, parsed or not.
struct IndexLine {
    /// The line number, from 1.
    number: usize,
    /// The record, or why the line is not one.
    parsed: std::result::Result<Record, String>,
}

/// The index as read from disk.
struct Index {
    /// The raw bytes, kept so that an append preserves them exactly.
    bytes: Vec<u8>,
    lines: Vec<IndexLine>,
}

/// A lock on the store, released when dropped.
struct StoreLock {
    file: File,
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first is tidy.
        let _ = self.file.unlock();
    }
}

/// The store held for a write: its root directory, open, and the
/// exclusive lock.
struct Held {
    root: Dir,
    _lock: StoreLock,
}

/// A recorded document as found on disk, not following links.
enum OnDisk {
    /// A regular file, open for reading.
    File(File),
    /// Nothing there.
    Missing,
    /// A symbolic link in its place or in the place of its directory.
    Link,
    /// Something else than a regular file (or a file where its directory
    /// should be).
    Wrong,
}

impl DirStore {
    /// How long a writer or verifier waits for another run's lock.
    pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(2);

    /// A store rooted at `root` (usually `<repository>/.trainyard`). Nothing
    /// is created until the first write.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirStore {
            root: root.into(),
            lock_wait: Self::DEFAULT_LOCK_WAIT,
            clock: None,
            notice: None,
            after_write: None,
        }
    }

    /// The same store, calling `hook` with the new head after each write.
    pub fn with_after_write(mut self, hook: AfterWrite) -> Self {
        self.after_write = Some(hook);
        self
    }

    /// The same store, telling `notice` when it has to wait for another
    /// run's hold.
    pub fn with_wait_notice(mut self, notice: WaitNotice) -> Self {
        self.notice = Some(notice);
        self
    }

    /// The same store, recording `now` as every document's `recorded_at`
    /// (a pinned clock, for reproducible records) instead of the real time.
    pub fn with_clock(mut self, now: jiff::Timestamp) -> Self {
        self.clock = Some(now);
        self
    }

    /// The same store, waiting at most `wait` for another run's lock
    /// (`Duration::ZERO` fails at once).
    pub fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// The root directory of the store.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The index file, `<root>/evidence/index.jsonl`.
    pub fn index_path(&self) -> PathBuf {
        self.root.join(EVIDENCE_DIR).join(INDEX_FILE)
    }

    /// The lock file, `<root>/lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.root.join(LOCK_FILE)
    }

    /// The absolute (root-joined) path of a relative `a/b/c` path.
    fn full_path(&self, relative: &str) -> PathBuf {
        relative
            .split('/')
            .fold(self.root.clone(), |path, part| path.join(part))
    }

    /// Takes the lock, waiting at most `self.lock_wait`.
    fn acquire(&self, file: File, shared: bool) -> Result<StoreLock> {
        let lock_path = self.lock_path();
        let deadline = Deadline::after(self.lock_wait);
        let mut told = false;
        loop {
            let attempt = if shared {
                file.try_lock_shared()
            } else {
                file.try_lock()
            };
            match attempt {
                Ok(()) => return Ok(StoreLock { file }),
                Err(TryLockError::WouldBlock) => {
                    let now = Instant::now();
                    if !told && !self.lock_wait.is_zero() {
                        told = true;
                        if let Some(notice) = &self.notice {
                            (notice.0)(&self.location(), self.lock_wait);
                        }
                    }
                    if deadline.passed(now) {
                        return Err(Error::environment(format!(
                            "evidence store {} is locked by another trainyard run",
                            self.root.display()
                        )));
                    }
                    std::thread::sleep(deadline.left(now).min(Duration::from_millis(20)));
                }
                Err(TryLockError::Error(e)) => return Err(Error::io("cannot lock", lock_path, e)),
            }
        }
    }

    /// Creates the root and takes the exclusive lock for a write.
    fn hold(&self) -> Result<Held> {
        let root = Dir::create(&self.root)?;
        let file = root.open_lock(LOCK_FILE, true)?.ok_or_else(|| {
            Error::io(
                "cannot open",
                self.lock_path(),
                std::io::Error::from(IoErrorKind::NotFound),
            )
        })?;
        let lock = self.acquire(file, false)?;
        Ok(Held { root, _lock: lock })
    }

    /// Opens the root and takes the shared lock if the lock file exists
    /// (no writer ever ran otherwise); creates nothing, so a read-only
    /// store can be verified. `None` when the store does not exist.
    fn hold_shared(&self) -> Result<Option<(Dir, Option<StoreLock>)>> {
        let Some(root) = Dir::open(&self.root)? else {
            return Ok(None);
        };
        let lock = match root.open_lock(LOCK_FILE, false)? {
            Some(file) => Some(self.acquire(file, true)?),
            None => None,
        };
        Ok(Some((root, lock)))
    }

    /// Reads the index under `root`; a missing store or index is empty.
    fn read_index(&self, root: Option<&Dir>) -> Result<Index> {
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
    fn read_records(&self, root: Option<&Dir>) -> Result<(Vec<u8>, Vec<Record>)> {
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

    /// Does the record match `key`?
    fn matches(&self, record: &Record, key: &Lookup) -> bool {
        match key {
            Lookup::Name { kind, name } => {
                record.kind == *kind && record.name.eq_ignore_ascii_case(name)
            }
            Lookup::Seq(seq) => record.seq == *seq,
            Lookup::Path(path) => {
                let wanted = path.replace('\\', "/");
                let wanted = wanted.strip_prefix("./").unwrap_or(&wanted);
                wanted == record.path
                    || format!("{EVIDENCE_DIR}/{wanted}") == record.path
                    || Path::new(wanted) == self.full_path(&record.path)
            }
        }
    }

    /// Finds the document of `record` under `root`, never through a link:
    /// the record's kind names its directory and its name the file.
    fn find_document(&self, root: &Dir, record: &Record) -> Result<OnDisk> {
        let evidence = match root.find_dir(EVIDENCE_DIR)? {
            Found::Present(dir) => dir,
            Found::Missing => return Ok(OnDisk::Missing),
            Found::Link => return Ok(OnDisk::Link),
            Found::Wrong => return Ok(OnDisk::Wrong),
        };
        let kind_dir = match evidence.find_dir(&record.kind)? {
            Found::Present(dir) => dir,
            Found::Missing => return Ok(OnDisk::Missing),
            Found::Link => return Ok(OnDisk::Link),
            Found::Wrong => return Ok(OnDisk::Wrong),
        };
        Ok(match kind_dir.find_file(&file_name(&record.name))? {
            Found::Present(file) => OnDisk::File(file),
            Found::Missing => OnDisk::Missing,
            Found::Link => OnDisk::Link,
            Found::Wrong => OnDisk::Wrong,
        })
    }

    /// Opens the document of `record` (at `path`) for reading, refusing a
    /// link or anything but a regular file.
    fn open_recorded(&self, root: &Dir, record: &Record, path: &Path) -> Result<File> {
        match self.find_document(root, record)? {
            OnDisk::File(file) => Ok(file),
            OnDisk::Missing => Err(Error::io(
                "cannot read",
                path,
                std::io::Error::from(IoErrorKind::NotFound),
            )),
            OnDisk::Link => Err(at::symlink_refused(path)),
            OnDisk::Wrong => Err(Error::input(format!(
                "evidence {} is not a regular file",
                path.display()
            ))),
        }
    }

    /// Every entry under `evidence/` that is not a directory, as sorted
    /// relative paths with `/`, and whether it is a symbolic link (links
    /// are listed, never followed).
    fn files_on_disk(&self, root: &Dir) -> Result<Vec<(String, bool)>> {
        let mut out = Vec::new();
        match root.find_dir(EVIDENCE_DIR)? {
            Found::Present(dir) => collect_files(&dir, EVIDENCE_DIR, &mut out)?,
            Found::Link => out.push((EVIDENCE_DIR.to_owned(), true)),
            Found::Missing | Found::Wrong => {}
        }
        out.sort();
        Ok(out)
    }

    /// Records `yaml` as `kind` under the name `choice` gives, the name
    /// resolved while the store is held.
    fn write_as(&self, kind: &str, choice: NameChoice<'_>, yaml: &str) -> Result<WriteReport> {
        let document = NewDocument {
            kind,
            name: choice.base(),
            unique: matches!(choice, NameChoice::FirstFree(_)),
            yaml,
        };
        let mut recorded = self.record_batch(Vec::new(), &[document])?;
        recorded
            .documents
            .pop()
            .ok_or_else(|| Error::Internal("a write recorded no document".into()))
    }

    /// Records `bodies` and `documents` with one update of the index, all
    /// or none: a body already recorded is not stored again.
    fn record_batch(
        &self,
        bodies: Vec<StagedBody>,
        documents: &[NewDocument<'_>],
    ) -> Result<Recorded> {
        for document in documents {
            check_document(document)?;
        }
        for staged in &bodies {
            validate_kind(&staged.kind)?;
        }
        let held = self.hold()?;
        let (mut index_bytes, records) = self.read_records(Some(&held.root))?;
        let mut taken: HashSet<(String, String)> = records
            .iter()
            .map(|r| (r.kind.clone(), r.name.to_ascii_lowercase()))
            .collect();
        let evidence = held.root.create_dir(EVIDENCE_DIR)?;
        let mut placed = Placed::default();
        let mut pending: Vec<(String, String, String)> = Vec::new();
        let (mut outcome, mut head) = (Recorded::default(), None);
        let result = (|| -> Result<()> {
            // Bodies first: a document may name them.
            for mut staged in bodies {
                let name = staged.name();
                if let Some(existing) = records
                    .iter()
                    .find(|r| r.kind == staged.kind && r.name == name)
                {
                    outcome.bodies.push(BodyRecord {
                        record: existing.clone(),
                        new: false,
                    });
                    continue;
                }
                if !taken.insert((staged.kind.clone(), name.clone())) {
                    // The same body twice in one batch.
                    continue;
                }
                let kind_dir = evidence.create_dir(&staged.kind)?;
                placed
                    .replaced
                    .push(self.make_room(&kind_dir, &staged.kind, &name)?);
                staged
                    .temp
                    .dir
                    .rename(&staged.temp.name, &kind_dir, &name)?;
                staged.temp.placed = true;
                kind_dir.sync()?;
                placed.files.push((kind_dir, name.clone()));
                pending.push((staged.kind.clone(), name, staged.stored_sha256.clone()));
            }
            for document in documents {
                let name = if document.unique {
                    first_free(&taken, document.kind, document.name)?
                } else {
                    if let Some(existing) = records.iter().find(|r| {
                        r.kind == document.kind && r.name.eq_ignore_ascii_case(document.name)
                    }) {
                        return Err(Error::input(format!(
                            "evidence {}/{} is already recorded in {} (seq {}): evidence is immutable",
                            document.kind,
                            document.name,
                            self.full_path(&existing.path).display(),
                            existing.seq
                        )));
                    }
                    document.name.to_owned()
                };
                taken.insert((document.kind.to_owned(), name.to_ascii_lowercase()));
                let kind_dir = evidence.create_dir(document.kind)?;
                let file = file_name(&name);
                placed
                    .replaced
                    .push(self.make_room(&kind_dir, document.kind, &name)?);
                // A crash after this leaves an unrecorded document, which
                // the next write of it replaces.
                kind_dir.write_atomic(&file, document.yaml.as_bytes())?;
                placed.files.push((kind_dir, file));
                pending.push((
                    document.kind.to_owned(),
                    name,
                    sha256_hex(document.yaml.as_bytes()),
                ));
            }
            // The records, appended by replacing the whole index atomically.
            let mut last = records.last().map(|r| (r.seq, r.hash.clone()));
            let recorded_at = self
                .clock
                .map_or_else(now_rfc3339, |now| format!("{now:.0}"));
            let mut new_records = Vec::with_capacity(pending.len());
            for (kind, name, sha256) in pending.drain(..) {
                let (seq, prev) = match &last {
                    None => (1, GENESIS_HASH.to_string()),
                    Some((seq, hash)) => {
                        let seq = seq.checked_add(1).ok_or_else(|| {
                            Error::input(format!(
                                "evidence index {} has no sequence number left after {seq}",
                                self.index_path().display()
                            ))
                        })?;
                        (seq, hash.clone())
                    }
                };
                let mut record = Record {
                    seq,
                    path: relative_path(&kind, &name),
                    kind,
                    name,
                    recorded_at: recorded_at.clone(),
                    sha256,
                    prev,
                    hash: String::new(),
                };
                record.hash = record.compute_hash()?;
                let line = serde_json::to_string(&record)
                    .map_err(|e| Error::Internal(format!("cannot encode evidence record: {e}")))?;
                if !index_bytes.is_empty() && !index_bytes.ends_with(b"\n") {
                    index_bytes.push(b'\n');
                }
                index_bytes.extend_from_slice(line.as_bytes());
                index_bytes.push(b'\n');
                last = Some((record.seq, record.hash.clone()));
                new_records.push(record);
            }
            evidence.write_atomic(INDEX_FILE, &index_bytes)?;
            head = new_records.last().cloned();
            let replaced: Vec<bool> = placed.replaced.clone();
            let mut replaced = replaced.into_iter();
            for record in new_records {
                let replaced_unrecorded = replaced.next().unwrap_or(false);
                if is_body_name(&record.name) {
                    outcome.bodies.push(BodyRecord { record, new: true });
                } else {
                    outcome.documents.push(WriteReport {
                        record,
                        replaced_unrecorded,
                    });
                }
            }
            placed.files.clear();
            Ok(())
        })();
        if let Err(e) = result {
            // Nothing was recorded: take away what this batch put in place
            // (a document it replaced was unrecorded already).
            for (dir, name) in placed.files.drain(..) {
                let _ = dir.remove(&name);
            }
            return Err(e);
        }
        if let (Some(hook), Some(head)) = (&self.after_write, &head) {
            // Still held: heads are told in the order they were written.
            (hook.0)(head);
        }
        drop(held);
        Ok(outcome)
    }

    /// Checks that the file of `kind`/`name` in `kind_dir` may be written:
    /// true when an unrecorded file is there (left by an interrupted write),
    /// false when nothing is; refused for a link or anything but a file.
    fn make_room(&self, kind_dir: &Dir, kind: &str, name: &str) -> Result<bool> {
        let file = file_name(name);
        match kind_dir.entry_type(&file)? {
            None => Ok(false),
            Some(EntryType::File) => Ok(true),
            Some(EntryType::Symlink) => Err(at::symlink_refused(&kind_dir.child(&file))),
            Some(_) => Err(Error::input(format!(
                "{} is in the way of evidence {kind}/{name}: it is not a regular file",
                kind_dir.child(&file).display()
            ))),
        }
    }
}

/// The files a batch put in place, taken away again when it fails, and
/// whether each replaced an unrecorded file.
#[derive(Default)]
struct Placed {
    files: Vec<(Dir, String)>,
    replaced: Vec<bool>,
}

/// Checks a document before anything is recorded: its kind, its name (or
/// base), and that it is YAML.
fn check_document(document: &NewDocument<'_>) -> Result<()> {
    let NewDocument {
        kind, name, yaml, ..
    } = *document;
    validate_kind(kind)?;
    validate_name(name)?;
    if is_body_name(name) {
        return Err(Error::input(format!(
            "invalid evidence name {name:?}: names of a hash and .gz are those of bodies"
        )));
    }
    if yaml.trim().is_empty() {
        return Err(Error::input(format!("evidence {kind}/{name} is empty")));
    }
    if let Err(e) = serde_saphyr::from_str::<serde::de::IgnoredAny>(yaml) {
        let plain = e.without_snippet().to_string();
        let plain = plain
            .trim()
            .trim_start_matches("error: ")
            .trim_end_matches('.');
        return Err(Error::input(format!(
            "evidence {kind}/{name} is not a yaml document: {plain}"
        )));
    }
    Ok(())
}

/// Appends the relative path of every entry under `dir` that is not a
/// directory, and whether it is a link, without following links.
fn collect_files(dir: &Dir, relative: &str, out: &mut Vec<(String, bool)>) -> Result<()> {
    for (name, kind) in dir.entries()? {
        let child = format!("{relative}/{name}");
        match kind {
            EntryType::Dir => {
                if let Some(sub) = dir.open_dir(&name)? {
                    collect_files(&sub, &child, out)?;
                }
            }
            EntryType::Symlink => out.push((child, true)),
            EntryType::File | EntryType::Other => out.push((child, false)),
        }
    }
    Ok(())
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

/// The error for a document whose stored bytes no longer match their
/// record, found while reading it.
fn edited_error(path: &Path) -> Error {
    Error::input(format!(
        "evidence {} was edited after it was recorded (its sha-256 no longer matches the evidence index): restore the recorded document (`trainyard evidence verify` lists what changed)",
        path.display()
    ))
}

/// Reads an open document to its end.
fn read_all(mut file: File, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", path, e))?;
    Ok(bytes)
}

impl EvidenceStore for DirStore {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn write(&self, kind: &str, name: &str, yaml: &str) -> Result<WriteReport> {
        self.write_as(kind, NameChoice::Exact(name), yaml)
    }

    fn write_unique(&self, kind: &str, base: &str, yaml: &str) -> Result<WriteReport> {
        self.write_as(kind, NameChoice::FirstFree(base), yaml)
    }

    fn stage_body(
        &self,
        kind: &str,
        fill: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<()>,
    ) -> Result<StagedBody> {
        validate_kind(kind)?;
        let root = Dir::create(&self.root)?;
        let tmp = root.create_dir(TMP_DIR)?;
        body::stage(tmp, kind, fill)
    }

    fn record(&self, bodies: Vec<StagedBody>, documents: &[NewDocument<'_>]) -> Result<Recorded> {
        self.record_batch(bodies, documents)
    }

    fn check_writable(&self, kind: &str, name: &str) -> Result<()> {
        validate_kind(kind)?;
        validate_name(name)?;
        let held = self.hold()?;
        let (_, records) = self.read_records(Some(&held.root))?;
        if let Some(existing) = records
            .iter()
            .find(|r| r.kind == kind && r.name.eq_ignore_ascii_case(name))
        {
            return Err(Error::input(format!(
                "evidence {kind}/{name} is already recorded in {} (seq {}): evidence is immutable",
                self.full_path(&existing.path).display(),
                existing.seq
            )));
        }
        let evidence = held.root.create_dir(EVIDENCE_DIR)?;
        let kind_dir = evidence.create_dir(kind)?;
        self.make_room(&kind_dir, kind, name)?;
        let (probe, file) = kind_dir.create_temp(".trainyard-probe-")?;
        drop(file);
        kind_dir.remove(&probe)
    }

    fn read_body(&self, kind: &str, sha256: &str, sink: &mut dyn std::io::Write) -> Result<Record> {
        validate_kind(kind)?;
        let name = body_name(sha256);
        if !body::is_sha256_hex(sha256) {
            return Err(Error::input(format!(
                "invalid evidence body hash {sha256:?}: expected 64 lowercase hex digits"
            )));
        }
        let root = Dir::open(&self.root)?;
        let (_, records) = self.read_records(root.as_ref())?;
        let (Some(record), Some(root)) = (
            records
                .into_iter()
                .find(|r| r.kind == kind && r.name == name),
            root,
        ) else {
            return Err(Error::input(format!(
                "no evidence {kind}/{name} recorded in {}",
                self.index_path().display()
            )));
        };
        let path = self.full_path(&record.path);
        let mut file = self.open_recorded(&root, &record, &path)?;
        let (stored, _) = body::hash_stream(&mut file, &path)?;
        if stored != record.sha256 {
            return Err(edited_error(&path));
        }
        body::rewind(&mut file, &path)?;
        if body::inflate(&mut file, &path, sink)? != sha256 {
            return Err(edited_error(&path));
        }
        Ok(record)
    }

    fn list(&self, kind: Option<&str>) -> Result<Vec<Record>> {
        if let Some(kind) = kind {
            validate_kind(kind)?;
        }
        let root = Dir::open(&self.root)?;
        let (_, records) = self.read_records(root.as_ref())?;
        Ok(records
            .into_iter()
            .filter(|r| kind.is_none_or(|k| r.kind == k))
            .collect())
    }

    fn get(&self, key: &Lookup) -> Result<Entry> {
        if let Lookup::Name { kind, name } = key {
            validate_kind(kind)?;
            validate_name(name)?;
        }
        let root = Dir::open(&self.root)?;
        let (_, records) = self.read_records(root.as_ref())?;
        let found = records.into_iter().find(|r| self.matches(r, key));
        let (Some(record), Some(root)) = (found, root) else {
            let what = match key {
                Lookup::Name { kind, name } => format!("{kind}/{name}"),
                Lookup::Seq(seq) => format!("with seq {seq}"),
                Lookup::Path(path) => path.clone(),
            };
            return Err(Error::input(format!(
                "no evidence {what} recorded in {}",
                self.index_path().display()
            )));
        };
        // Never follow a path from the index that does not follow from a
        // valid kind and name: a forged record must not read other files.
        if validate_kind(&record.kind).is_err()
            || validate_name(&record.name).is_err()
            || record.path != relative_path(&record.kind, &record.name)
        {
            return Err(Error::input(format!(
                "evidence index {} has an invalid record (seq {}) for path {:?}",
                self.index_path().display(),
                record.seq,
                record.path
            )));
        }
        let path = self.full_path(&record.path);
        let mut file = self.open_recorded(&root, &record, &path)?;
        let (bytes, intact) = if is_body_name(&record.name) {
            let (stored, _) = body::hash_stream(&mut file, &path)?;
            body::rewind(&mut file, &path)?;
            let mut content = Vec::new();
            let sha256 = body::inflate(&mut file, &path, &mut content)?;
            let intact =
                stored == record.sha256 && Some(sha256.as_str()) == record.name.strip_suffix(".gz");
            (content, intact)
        } else {
            let bytes = read_all(file, &path)?;
            let intact = sha256_hex(&bytes) == record.sha256;
            (bytes, intact)
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::input(format!("evidence {} is not utf-8", path.display())))?;
        Ok(Entry {
            record,
            text,
            intact,
        })
    }

    fn verify(&self) -> Result<VerifyReport> {
        let held = self.hold_shared()?;
        let root = held.as_ref().map(|(root, _)| root);
        let index = self.read_index(root)?;
        let index_display = self.index_path().display().to_string();
        let mut problems = Vec::new();
        let mut recorded: HashSet<String> = HashSet::new();
        let mut seen: HashMap<(String, String), u64> = HashMap::new();
        let mut previous: Option<(u64, String)> = None;
        let mut after_malformed = false;
        let mut documents = 0;

        for line in &index.lines {
            let record = match &line.parsed {
                Ok(record) => record,
                Err(why) => {
                    problems.push(Problem {
                        kind: ProblemKind::MalformedRecord,
                        path: index_display.clone(),
                        seq: None,
                        line: Some(line.number),
                        message: format!(
                            "evidence index {index_display} line {} is not a record: {why}",
                            line.number
                        ),
                    });
                    after_malformed = true;
                    continue;
                }
            };
            documents += 1;
            let index_problem = |kind, message: String| Problem {
                kind,
                path: index_display.clone(),
                seq: Some(record.seq),
                line: Some(line.number),
                message: format!(
                    "evidence index {index_display} line {} (seq {}): {message}",
                    line.number, record.seq
                ),
            };

            // The chain: skipped right after a malformed line, which is
            // reported already and whose record cannot be known.
            if !after_malformed {
                let (expected_seq, expected_prev) = match &previous {
                    None => (Some(1), GENESIS_HASH),
                    Some((seq, hash)) => (seq.checked_add(1), hash.as_str()),
                };
                if expected_seq != Some(record.seq) {
                    let expected = expected_seq.map_or("none".to_string(), |s| s.to_string());
                    problems.push(index_problem(
                        ProblemKind::SequenceGap,
                        format!(
                            "sequence number {} where {expected} was expected",
                            record.seq
                        ),
                    ));
                }
                if record.prev != expected_prev {
                    problems.push(index_problem(
                        ProblemKind::ChainBroken,
                        "prev does not match the hash of the record before it: \
                         records were removed, inserted or reordered"
                            .to_string(),
                    ));
                }
            }
            after_malformed = false;
            previous = Some((record.seq, record.hash.clone()));

            if record.compute_hash()? != record.hash {
                problems.push(index_problem(
                    ProblemKind::RecordEdited,
                    format!(
                        "hash does not match the record's fields: the record for {} was edited",
                        record.path
                    ),
                ));
            }

            let valid = validate_kind(&record.kind).is_ok()
                && validate_name(&record.name).is_ok()
                && record.path == relative_path(&record.kind, &record.name);
            if !valid {
                problems.push(index_problem(
                    ProblemKind::InvalidRecord,
                    format!(
                        "kind {:?}, name {:?} and path {:?} are not a valid evidence location",
                        record.kind, record.name, record.path
                    ),
                ));
                continue;
            }
            let key = (record.kind.clone(), record.name.to_ascii_lowercase());
            if let Some(first) = seen.get(&key) {
                problems.push(index_problem(
                    ProblemKind::DuplicateRecord,
                    format!(
                        "{}/{} is already recorded as seq {first}",
                        record.kind, record.name
                    ),
                ));
                continue;
            }
            seen.insert(key, record.seq);
            recorded.insert(record.path.clone());

            let path = self.full_path(&record.path);
            let path_display = path.display().to_string();
            let document_problem = |kind, message: String| Problem {
                kind,
                path: path_display.clone(),
                seq: Some(record.seq),
                line: Some(line.number),
                message,
            };
            let on_disk = match root {
                Some(root) => self.find_document(root, record)?,
                None => OnDisk::Missing,
            };
            match on_disk {
                OnDisk::Missing => {
                    problems.push(document_problem(
                        ProblemKind::Missing,
                        format!(
                            "document {path_display} (seq {}) is recorded but missing",
                            record.seq
                        ),
                    ));
                }
                OnDisk::Link => {
                    problems.push(document_problem(
                        ProblemKind::Symlink,
                        format!(
                            "document {path_display} (seq {}) is reached through a symbolic link, \
                             which the store never follows",
                            record.seq
                        ),
                    ));
                }
                OnDisk::Wrong => {
                    problems.push(document_problem(
                        ProblemKind::Edited,
                        format!(
                            "document {path_display} (seq {}) is not a regular file",
                            record.seq
                        ),
                    ));
                }
                OnDisk::File(mut file) => {
                    let (stored, _) = body::hash_stream(&mut file, &path)?;
                    if stored != record.sha256 {
                        problems.push(document_problem(
                            ProblemKind::Edited,
                            format!(
                                "document {path_display} (seq {}) does not match its recorded \
                                 sha-256: it was edited",
                                record.seq
                            ),
                        ));
                    } else if let Some(sha256) = record.name.strip_suffix(".gz")
                        && is_body_name(&record.name)
                    {
                        // A body holds the content its name is the hash of.
                        body::rewind(&mut file, &path)?;
                        let holds = body::inflate(&mut file, &path, &mut std::io::sink())
                            .is_ok_and(|found| found == sha256);
                        if !holds {
                            problems.push(document_problem(
                                ProblemKind::Edited,
                                format!(
                                    "body {path_display} (seq {}) does not decompress to the \
                                     content its name is the hash of",
                                    record.seq
                                ),
                            ));
                        }
                    }
                }
            }
        }

        let index_relative = format!("{EVIDENCE_DIR}/{INDEX_FILE}");
        let on_disk = match root {
            Some(root) => self.files_on_disk(root)?,
            None => Vec::new(),
        };
        for (relative, link) in on_disk {
            let path_display = self.full_path(&relative).display().to_string();
            if link {
                // A recorded document behind a link is reported above.
                if !recorded.contains(&relative) {
                    problems.push(Problem {
                        kind: ProblemKind::Symlink,
                        path: path_display.clone(),
                        seq: None,
                        line: None,
                        message: format!(
                            "{path_display} is a symbolic link inside the evidence store, \
                             which the store never follows"
                        ),
                    });
                }
                continue;
            }
            if relative == index_relative || recorded.contains(&relative) {
                continue;
            }
            problems.push(Problem {
                kind: ProblemKind::Unrecorded,
                path: path_display.clone(),
                seq: None,
                line: None,
                message: format!(
                    "document {path_display} is not recorded in the evidence index \
                     (added by hand or left by an interrupted write)"
                ),
            });
        }

        Ok(VerifyReport {
            store: self.location(),
            ok: problems.is_empty(),
            documents,
            head_hash: previous.map(|(_, hash)| hash),
            problems,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;

    use super::*;
    use crate::ErrorKind;

    const DOC_A: &str = "release_evidence:\n  version: 1.0.0\n";
    const DOC_B: &str = "sync_log:\n  sync_id: nightly\n  execution_id: run-1\n";
    const DOC_C: &str = "release_evidence:\n  version: 1.1.0\n";

    /// A store in a fresh temporary directory with three documents.
    fn store_with_three() -> (tempfile::TempDir, DirStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().join(".trainyard"));
        store.write("release_evidence", "1.0.0", DOC_A).unwrap();
        store.write("sync_log", "nightly-run-1", DOC_B).unwrap();
        store.write("release_evidence", "1.1.0", DOC_C).unwrap();
        (dir, store)
    }

    fn problem_kinds(report: &VerifyReport) -> Vec<ProblemKind> {
        report.problems.iter().map(|p| p.kind).collect()
    }

    fn index_lines(store: &DirStore) -> Vec<String> {
        std::fs::read_to_string(store.index_path())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn write_index_lines(store: &DirStore, lines: &[String]) {
        std::fs::write(store.index_path(), lines.join("\n") + "\n").unwrap();
    }

    #[test]
    fn write_list_show_round_trip() {
        let (_dir, store) = store_with_three();

        let all = store.list(None).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(all[0].prev, GENESIS_HASH);
        assert_eq!(all[1].prev, all[0].hash);
        assert_eq!(all[2].prev, all[1].hash);
        assert_eq!(all[1].path, "evidence/sync_log/nightly-run-1.yaml");
        assert_eq!(all[0].sha256, sha256_hex(DOC_A.as_bytes()));
        assert!(all[0].recorded_at.ends_with('Z'));
        assert!(all[0].recorded_at.parse::<jiff::Timestamp>().is_ok());

        let releases = store.list(Some("release_evidence")).unwrap();
        assert_eq!(
            releases.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["1.0.0", "1.1.0"]
        );
        assert!(store.list(Some("rollback_evidence")).unwrap().is_empty());

        let entry = store.show("sync_log", "nightly-run-1").unwrap();
        assert_eq!(entry.text, DOC_B);
        assert!(entry.intact);
        assert_eq!(entry.record, all[1]);
        assert_eq!(
            std::fs::read_to_string(store.root().join("evidence/sync_log/nightly-run-1.yaml"))
                .unwrap(),
            DOC_B
        );

        let by_seq = store.get(&Lookup::Seq(3)).unwrap();
        assert_eq!(by_seq.text, DOC_C);
        let by_path = store
            .get(&Lookup::Path("evidence/release_evidence/1.0.0.yaml".into()))
            .unwrap();
        assert_eq!(by_path.text, DOC_A);
        let by_short_path = store
            .get(&Lookup::Path("release_evidence/1.1.0.yaml".into()))
            .unwrap();
        assert_eq!(by_short_path.record.seq, 3);
        let full = store.root().join("evidence/sync_log/nightly-run-1.yaml");
        let by_full_path = store
            .get(&Lookup::Path(full.display().to_string()))
            .unwrap();
        assert_eq!(by_full_path.record.seq, 2);

        let missing = store.show("sync_log", "nope").unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::Input);
        assert!(missing.to_string().contains("sync_log/nope"), "{missing}");

        let report = store.verify().unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.documents, 3);
        assert_eq!(report.head_hash.as_deref(), Some(all[2].hash.as_str()));
    }

    #[test]
    fn write_value_renders_yaml() {
        #[derive(Serialize)]
        struct Bump {
            from: String,
            to: String,
        }
        #[derive(Serialize)]
        struct Doc {
            version_bump: Bump,
        }
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path());
        let doc = Doc {
            version_bump: Bump {
                from: "1.0.0".into(),
                to: "1.1.0".into(),
            },
        };
        let dynamic: &dyn EvidenceStore = &store;
        let written = dynamic.write_value("version_bump", "v1.1.0", &doc).unwrap();
        assert!(!written.replaced_unrecorded);
        let entry = store.show("version_bump", "v1.1.0").unwrap();
        assert!(entry.text.contains("version_bump:"), "{}", entry.text);
        assert!(entry.text.contains("to: \"1.1.0\""), "{}", entry.text);
        assert_eq!(entry.record, written.record);
    }

    #[test]
    fn trait_is_usable_as_a_trait_object() {
        let dir = tempfile::tempdir().unwrap();
        let store: Box<dyn EvidenceStore> = Box::new(DirStore::new(dir.path()));
        let yaml = render_yaml(&serde_json::json!({ "sync_log": { "sync_id": "s" } })).unwrap();
        store.write("sync_log", "s-1", &yaml).unwrap();
        assert_eq!(store.list(None).unwrap().len(), 1);
        assert!(store.verify().unwrap().ok);
    }

    #[test]
    fn evidence_is_immutable() {
        let (_dir, store) = store_with_three();
        let before = std::fs::read(store.index_path()).unwrap();
        for name in ["1.0.0", "1.0.0"] {
            let err = store
                .write("release_evidence", name, "release_evidence: {}\n")
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Input);
            assert!(err.to_string().contains("already recorded"), "{err}");
            assert!(err.to_string().contains("1.0.0.yaml"), "{err}");
        }
        // Names differing only in case would share a file on macOS and
        // Windows, so they count as the same name.
        store
            .write("sync_log", "NIGHTLY-RUN-1", "sync_log: {}\n")
            .unwrap_err();
        assert_eq!(std::fs::read(store.index_path()).unwrap(), before);
        assert_eq!(store.show("release_evidence", "1.0.0").unwrap().text, DOC_A);
        // The same name under another kind is another document.
        store
            .write("version_bump", "1.0.0", "version_bump: {}\n")
            .unwrap();
    }

    #[test]
    fn bad_names_and_kinds_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().join(".trainyard"));
        for name in [
            "", ".", "..", "../x", "a/b", "a\\b", ".hidden", "x.", "a b", "a\nb", "é", "a:b",
        ] {
            let err = store.write("sync_log", name, DOC_B).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Input, "{name:?}");
            assert!(
                err.to_string().contains(&format!("{name:?}")),
                "{name:?}: {err}"
            );
        }
        let long = "a".repeat(names::MAX_NAME_LEN + 1);
        assert!(store.write("sync_log", &long, DOC_B).is_err());
        for kind in ["", "Release", "../x", "a/b", "a.b", "_x"] {
            let err = store.write(kind, "ok", DOC_B).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Input, "{kind:?}");
            assert!(err.to_string().contains(&format!("{kind:?}")), "{err}");
        }
        for good in ["1.2.0-rc.1", "v1.2.0+build.5", "pkg@1.0.0", "A_b-3"] {
            validate_name(good).unwrap();
        }
        // Bad input leaves nothing behind.
        assert!(!store.root().exists());
    }

    #[test]
    fn invalid_yaml_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path());
        for text in ["", "  \n", "a: [1, 2\n", "key: value\n  bad indent: x\n"] {
            let err = store.write("sync_log", "s", text).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Input, "{text:?}");
            assert!(err.to_string().contains("sync_log/s"), "{err}");
        }
        assert!(store.list(None).unwrap().is_empty());
    }

    #[test]
    fn verify_empty_or_missing_store_is_ok() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().join("does-not-exist"));
        let report = store.verify().unwrap();
        assert!(report.ok);
        assert_eq!(report.documents, 0);
        assert_eq!(report.head_hash, None);
        assert!(store.list(None).unwrap().is_empty());
        assert!(!store.root().exists(), "verify must create nothing");

        std::fs::create_dir_all(store.root().join("evidence")).unwrap();
        let report = store.verify().unwrap();
        assert!(report.ok);
        assert_eq!(report.documents, 0);
    }

    #[test]
    fn verify_detects_an_edited_document() {
        let (_dir, store) = store_with_three();
        let path = store.root().join("evidence/sync_log/nightly-run-1.yaml");
        std::fs::write(&path, DOC_B.replace("run-1", "run-2")).unwrap();
        let report = store.verify().unwrap();
        assert!(!report.ok);
        assert_eq!(problem_kinds(&report), [ProblemKind::Edited]);
        assert_eq!(report.problems[0].path, path.display().to_string());
        assert_eq!(report.problems[0].seq, Some(2));
        assert!(
            report.problems[0]
                .message
                .contains(&path.display().to_string())
        );
        assert!(!store.show("sync_log", "nightly-run-1").unwrap().intact);
    }

    #[test]
    fn verify_detects_a_removed_document() {
        let (_dir, store) = store_with_three();
        let path = store.root().join("evidence/release_evidence/1.0.0.yaml");
        std::fs::remove_file(&path).unwrap();
        let report = store.verify().unwrap();
        assert_eq!(problem_kinds(&report), [ProblemKind::Missing]);
        assert_eq!(report.problems[0].path, path.display().to_string());
        let err = store.show("release_evidence", "1.0.0").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Environment);
    }

    #[test]
    fn verify_detects_reordered_records() {
        let (_dir, store) = store_with_three();
        let mut lines = index_lines(&store);
        lines.swap(1, 2);
        write_index_lines(&store, &lines);
        let report = store.verify().unwrap();
        let kinds = problem_kinds(&report);
        assert!(kinds.contains(&ProblemKind::ChainBroken), "{kinds:?}");
        assert!(kinds.contains(&ProblemKind::SequenceGap), "{kinds:?}");
        assert!(!kinds.contains(&ProblemKind::RecordEdited), "{kinds:?}");
        let index = store.index_path().display().to_string();
        assert!(report.problems.iter().all(|p| p.path == index));
    }

    #[test]
    fn verify_detects_a_removed_record() {
        let (_dir, store) = store_with_three();
        let mut lines = index_lines(&store);
        lines.remove(1);
        write_index_lines(&store, &lines);
        let report = store.verify().unwrap();
        let kinds = problem_kinds(&report);
        assert_eq!(
            kinds,
            [
                ProblemKind::SequenceGap,
                ProblemKind::ChainBroken,
                ProblemKind::Unrecorded
            ]
        );
        assert_eq!(report.problems[0].line, Some(2));
        assert_eq!(report.problems[0].seq, Some(3));
        assert!(report.problems[2].path.ends_with("nightly-run-1.yaml"));
    }

    #[test]
    fn verify_detects_an_edited_record_field() {
        let (_dir, store) = store_with_three();
        let mut lines = index_lines(&store);
        let mut record: Record = serde_json::from_str(&lines[1]).unwrap();
        record.recorded_at = "2000-01-01T00:00:00Z".to_string();
        lines[1] = serde_json::to_string(&record).unwrap();
        write_index_lines(&store, &lines);
        let report = store.verify().unwrap();
        assert_eq!(problem_kinds(&report), [ProblemKind::RecordEdited]);
        assert_eq!(report.problems[0].line, Some(2));
        assert_eq!(
            report.problems[0].path,
            store.index_path().display().to_string()
        );
    }

    #[test]
    fn verify_detects_an_unrecorded_document() {
        let (_dir, store) = store_with_three();
        let path = store.root().join("evidence/release_evidence/9.9.9.yaml");
        std::fs::write(&path, "release_evidence:\n  version: 9.9.9\n").unwrap();
        let stray = store.root().join("evidence/notes.txt");
        std::fs::write(&stray, "hello").unwrap();
        let report = store.verify().unwrap();
        assert_eq!(
            problem_kinds(&report),
            [ProblemKind::Unrecorded, ProblemKind::Unrecorded]
        );
        let paths: Vec<_> = report.problems.iter().map(|p| p.path.clone()).collect();
        assert!(paths.contains(&path.display().to_string()), "{paths:?}");
        assert!(paths.contains(&stray.display().to_string()), "{paths:?}");
    }

    #[test]
    fn verify_reports_malformed_and_forged_records() {
        let (_dir, store) = store_with_three();
        let mut lines = index_lines(&store);
        lines[0] = lines[0].replace("1.0.0", "../../../etc/passwd");
        lines[1] = "{not json".to_string();
        write_index_lines(&store, &lines);
        let report = store.verify().unwrap();
        let kinds = problem_kinds(&report);
        assert!(kinds.contains(&ProblemKind::InvalidRecord), "{kinds:?}");
        assert!(kinds.contains(&ProblemKind::RecordEdited), "{kinds:?}");
        assert!(kinds.contains(&ProblemKind::MalformedRecord), "{kinds:?}");
        // Writing onto a malformed index is refused and changes nothing.
        let before = std::fs::read(store.index_path()).unwrap();
        let err = store.write("sync_log", "later", DOC_B).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.to_string().contains("line 2"), "{err}");
        assert_eq!(std::fs::read(store.index_path()).unwrap(), before);
    }

    #[test]
    fn verify_reports_a_duplicated_record() {
        let (_dir, store) = store_with_three();
        let mut lines = index_lines(&store);
        lines.push(lines[0].clone());
        write_index_lines(&store, &lines);
        let report = store.verify().unwrap();
        let kinds = problem_kinds(&report);
        assert!(kinds.contains(&ProblemKind::DuplicateRecord), "{kinds:?}");
        assert!(kinds.contains(&ProblemKind::ChainBroken), "{kinds:?}");
        let err = store.write("sync_log", "later", DOC_B);
        assert!(
            err.is_ok(),
            "a duplicate does not block new evidence: {err:?}"
        );
    }

    #[test]
    fn yaml_errors_name_the_document() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path());
        let err = store.write("sync_log", "s", "a: [1, 2\n").unwrap_err();
        let message = err.to_string();
        assert_eq!(
            message,
            concat!(
                "evidence sync_log/s is not a yaml document: ",
                "unclosed bracket '[' at line 1, column 4"
            )
        );
    }

    #[test]
    fn interrupted_write_leaves_an_unrecorded_document_that_a_retry_replaces() {
        let (_dir, store) = store_with_three();
        // As if a run died after writing the document, before the index.
        let orphan = store.root().join("evidence/sync_log/nightly-run-2.yaml");
        std::fs::write(&orphan, "sync_log:\n  half: true\n").unwrap();

        let report = store.verify().unwrap();
        assert_eq!(problem_kinds(&report), [ProblemKind::Unrecorded]);
        assert_eq!(report.problems[0].path, orphan.display().to_string());

        // Another write is not disturbed by the orphan.
        store
            .write("version_bump", "v1.1.0", "version_bump: {}\n")
            .unwrap();
        assert_eq!(
            problem_kinds(&store.verify().unwrap()),
            [ProblemKind::Unrecorded]
        );

        // The retry of the interrupted write replaces the orphan.
        let retry = "sync_log:\n  sync_id: nightly\n  execution_id: run-2\n";
        let written = store.write("sync_log", "nightly-run-2", retry).unwrap();
        assert!(written.replaced_unrecorded);
        assert_eq!(written.record.seq, 5);
        assert_eq!(std::fs::read_to_string(&orphan).unwrap(), retry);
        let report = store.verify().unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.documents, 5);
    }

    #[test]
    fn index_without_final_newline_is_appended_to_cleanly() {
        let (_dir, store) = store_with_three();
        let text = std::fs::read_to_string(store.index_path()).unwrap();
        std::fs::write(store.index_path(), text.trim_end()).unwrap();
        store.write("sync_log", "after", DOC_B).unwrap();
        let report = store.verify().unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.documents, 4);
    }

    #[test]
    fn a_held_lock_refuses_a_writer() {
        let (_dir, store) = store_with_three();
        let before = std::fs::read(store.index_path()).unwrap();
        let holder = File::options()
            .read(true)
            .write(true)
            .open(store.lock_path())
            .unwrap();
        holder.lock().unwrap();

        let store = store.with_lock_wait(Duration::from_millis(50));
        let err = store.write("sync_log", "blocked", DOC_B).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Environment);
        assert_eq!(
            err.to_string(),
            format!(
                "evidence store {} is locked by another trainyard run",
                store.root().display()
            )
        );
        assert_eq!(std::fs::read(store.index_path()).unwrap(), before);
        assert!(!store.root().join("evidence/sync_log/blocked.yaml").exists());
        // Verify waits for writers too.
        assert_eq!(store.verify().unwrap_err().kind(), ErrorKind::Environment);

        holder.unlock().unwrap();
        store.write("sync_log", "blocked", DOC_B).unwrap();
    }

    #[test]
    fn a_writer_waits_for_a_briefly_held_lock() {
        let (_dir, store) = store_with_three();
        let holder = File::options()
            .read(true)
            .write(true)
            .open(store.lock_path())
            .unwrap();
        holder.lock().unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(holder);
        });
        let store = store.with_lock_wait(Duration::from_secs(10));
        store.write("sync_log", "waited", DOC_B).unwrap();
        releaser.join().unwrap();
        assert!(store.verify().unwrap().ok);
    }

    #[test]
    fn a_lock_wait_too_long_for_the_clock_is_no_limit() {
        let (_dir, store) = store_with_three();
        let store = store.with_lock_wait(Duration::MAX);
        store.write("sync_log", "unlimited", DOC_B).unwrap();
        assert!(store.verify().unwrap().ok);
    }

    #[test]
    fn concurrent_writers_keep_the_chain_whole() {
        let (_dir, store) = store_with_three();
        let store = store.with_lock_wait(Duration::from_secs(30));
        std::thread::scope(|scope| {
            for t in 0..4 {
                let store = &store;
                scope.spawn(move || {
                    for i in 0..5 {
                        store
                            .write("sync_log", &format!("t{t}-{i}"), DOC_B)
                            .unwrap();
                    }
                });
            }
        });
        let report = store.verify().unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.documents, 23);
    }

    #[test]
    fn writers_of_one_base_at_once_each_get_a_free_name() {
        let (_dir, store) = store_with_three();
        let store = store.with_lock_wait(Duration::from_secs(60));
        let names: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..10)
                .map(|_| {
                    let store = &store;
                    scope.spawn(move || {
                        let dynamic: &dyn EvidenceStore = store;
                        dynamic
                            .write_unique("sync_log", "nightly-run-1", DOC_B)
                            .unwrap()
                            .record
                            .name
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let unique: HashSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), 10, "{names:?}");
        // nightly-run-1 was taken before: the ten got -2 to -11.
        for n in 2..=11 {
            assert!(names.contains(&format!("nightly-run-1-{n}")), "{names:?}");
        }
        assert!(store.verify().unwrap().ok);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_directory_of_the_store_is_refused_not_followed() {
        let (dir, store) = store_with_three();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let kind_dir = store.root().join("evidence/sync_diff");
        std::os::unix::fs::symlink(&outside, &kind_dir).unwrap();
        let before = std::fs::read(store.index_path()).unwrap();
        let err = store
            .write("sync_diff", "nightly", "sync_diff: {}\n")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(
            err.to_string().contains(&kind_dir.display().to_string())
                && err.to_string().contains("symbolic link"),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        assert_eq!(std::fs::read(store.index_path()).unwrap(), before);
        let report = store.verify().unwrap();
        assert_eq!(problem_kinds(&report), [ProblemKind::Symlink]);
        assert_eq!(report.problems[0].path, kind_dir.display().to_string());

        // The whole store behind a link.
        let linked = dir.path().join("linked-store");
        std::os::unix::fs::symlink(store.root(), &linked).unwrap();
        let via_link = DirStore::new(&linked);
        for err in [
            via_link.write("sync_log", "x", DOC_B).unwrap_err(),
            via_link.list(None).unwrap_err(),
            via_link.verify().unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::Input);
            assert!(
                err.to_string().contains(&linked.display().to_string()),
                "{err}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_document_is_refused_not_followed() {
        let (dir, store) = store_with_three();
        let outside = dir.path().join("secret.txt");
        std::fs::write(&outside, "not evidence\n").unwrap();
        let doc = store.root().join("evidence/sync_log/nightly-run-1.yaml");
        std::fs::remove_file(&doc).unwrap();
        std::os::unix::fs::symlink(&outside, &doc).unwrap();
        let err = store.show("sync_log", "nightly-run-1").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(
            err.to_string().contains(&doc.display().to_string())
                && err.to_string().contains("symbolic link"),
            "{err}"
        );
        assert!(!err.to_string().contains("not evidence"), "{err}");
        let report = store.verify().unwrap();
        assert_eq!(problem_kinds(&report), [ProblemKind::Symlink]);
        assert_eq!(report.problems[0].seq, Some(2));
        // A write of a name whose file is a link is refused too, and the
        // link's target is left alone.
        let planted = store.root().join("evidence/sync_log/later.yaml");
        std::os::unix::fs::symlink(&outside, &planted).unwrap();
        let err = store.write("sync_log", "later", DOC_B).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "not evidence\n");
        // So is a linked lock file.
        std::fs::remove_file(store.lock_path()).unwrap();
        std::os::unix::fs::symlink(&outside, store.lock_path()).unwrap();
        let err = store.write("sync_log", "other", DOC_B).unwrap_err();
        assert!(
            err.to_string()
                .contains(&store.lock_path().display().to_string()),
            "{err}"
        );
    }

    /// Stages a body of `text` in `store`.
    fn staged(store: &dyn EvidenceStore, kind: &str, text: &str) -> StagedBody {
        store
            .stage_body(kind, &mut |w| {
                w.write_all(text.as_bytes())
                    .map_err(|e| Error::Internal(e.to_string()))
            })
            .unwrap()
    }

    fn tmp_files(store: &DirStore) -> usize {
        std::fs::read_dir(store.root().join(TMP_DIR)).map_or(0, |d| d.count())
    }

    #[test]
    fn bodies_are_recorded_by_content_once_and_read_back() {
        let (_dir, store) = store_with_three();
        let dynamic: &dyn EvidenceStore = &store;
        let text = "diff --git a/x b/x\n".repeat(10_000);
        let body = staged(dynamic, "sync_diff", &text);
        let sha = body.sha256().to_owned();
        assert_eq!(sha, sha256_hex(text.as_bytes()));
        assert_eq!(body.size(), text.len() as u64);
        let plan = format!("sync_plan:\n  diff_ref: {}\n", body.path());
        let recorded = dynamic
            .record(
                vec![body],
                &[NewDocument {
                    kind: "sync_plan",
                    name: "p",
                    unique: true,
                    yaml: &plan,
                }],
            )
            .unwrap();
        assert!(recorded.bodies[0].new);
        let path = store.root().join(&recorded.bodies[0].record.path);
        assert_eq!(
            recorded.bodies[0].record.path,
            format!("evidence/sync_diff/{sha}.gz")
        );
        assert!(std::fs::metadata(&path).unwrap().len() < text.len() as u64 / 10);
        assert_eq!(recorded.documents[0].record.name, "p");
        let mut back = Vec::new();
        dynamic.read_body("sync_diff", &sha, &mut back).unwrap();
        assert_eq!(back, text.as_bytes());
        assert_eq!(tmp_files(&store), 0);

        // The same content again: shared, not stored twice.
        let index = std::fs::read(store.index_path()).unwrap();
        let again = dynamic
            .record(vec![staged(dynamic, "sync_diff", &text)], &[])
            .unwrap();
        assert!(!again.bodies[0].new);
        assert_eq!(again.bodies[0].record, recorded.bodies[0].record);
        assert_eq!(std::fs::read(store.index_path()).unwrap(), index);
        assert_eq!(tmp_files(&store), 0);
        assert!(store.verify().unwrap().ok);
        let shown = store.show("sync_diff", &body_name(&sha)).unwrap();
        assert!(shown.intact);
        assert_eq!(shown.text, text);
    }

    #[test]
    fn a_failed_batch_records_nothing_and_leaves_nothing() {
        let (_dir, store) = store_with_three();
        let dynamic: &dyn EvidenceStore = &store;
        let index = std::fs::read(store.index_path()).unwrap();
        let body = staged(dynamic, "sync_diff", "some diff\n");
        let sha = body.sha256().to_owned();
        let err = dynamic
            .record(
                vec![body],
                &[NewDocument {
                    kind: "release_evidence",
                    name: "1.0.0",
                    unique: false,
                    yaml: "release_evidence: {}\n",
                }],
            )
            .unwrap_err();
        assert!(err.to_string().contains("already recorded"), "{err}");
        assert_eq!(std::fs::read(store.index_path()).unwrap(), index);
        assert!(
            !store
                .root()
                .join(format!("evidence/sync_diff/{sha}.gz"))
                .exists()
        );
        assert_eq!(tmp_files(&store), 0);
        assert!(store.verify().unwrap().ok);
        // A staged body dropped unrecorded leaves nothing either.
        drop(staged(dynamic, "sync_diff", "dropped\n"));
        assert_eq!(tmp_files(&store), 0);
    }

    #[test]
    fn a_tampered_body_is_detected_and_refused() {
        let (_dir, store) = store_with_three();
        let dynamic: &dyn EvidenceStore = &store;
        let text = "+line\n".repeat(1000);
        let recorded = dynamic
            .record(vec![staged(dynamic, "sync_changes", &text)], &[])
            .unwrap();
        let record = &recorded.bodies[0].record;
        let path = store.root().join(&record.path);
        // Another valid gzip stream in its place.
        let forged = {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(b"+forged\n").unwrap();
            encoder.finish().unwrap()
        };
        std::fs::write(&path, forged).unwrap();
        let sha = record.name.strip_suffix(".gz").unwrap();
        let mut sink = Vec::new();
        let err = dynamic
            .read_body("sync_changes", sha, &mut sink)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(
            err.to_string().contains(&path.display().to_string())
                && err.to_string().contains("edited"),
            "{err}"
        );
        assert!(sink.is_empty(), "nothing of a tampered body is handed out");
        let report = store.verify().unwrap();
        assert_eq!(problem_kinds(&report), [ProblemKind::Edited]);
        assert_eq!(report.problems[0].path, path.display().to_string());
    }

    #[test]
    fn report_serialises_with_snake_case_kinds() {
        let (_dir, store) = store_with_three();
        std::fs::remove_file(store.root().join("evidence/release_evidence/1.1.0.yaml")).unwrap();
        let json = serde_json::to_value(store.verify().unwrap()).unwrap();
        assert_eq!(json["ok"], false);
        assert_eq!(json["problems"][0]["kind"], "missing");
        assert_eq!(json["problems"][0]["seq"], 3);
        assert_eq!(ProblemKind::ChainBroken.to_string(), "chain_broken");
    }
}
