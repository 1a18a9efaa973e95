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
//! then fails with an [`Error::Environment`](crate::Error::Environment)
//! saying the store is locked.
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

mod at;
mod body;
mod dir_store;
mod document;
mod hash;
mod hooks;
mod index;
mod names;
mod render;
mod store;
mod verify;
mod write;

pub use body::{StagedBody, body_name, is_body_name};
pub use dir_store::DirStore;
pub use document::{Document, document_yaml, parse_document};
pub use hash::sha256_hex;
pub use hooks::{AfterWrite, AfterWriteFn, WaitFn, WaitNotice};
pub use index::{GENESIS_HASH, Record};
pub use names::{validate_kind, validate_name};
pub use render::render_yaml;
pub use store::{
    BodyRecord, Entry, EvidenceStore, Lookup, NewDocument, Parsed, Problem, ProblemKind, Recorded,
    VerifyReport, WriteReport,
};

/// The directory under the store root that holds documents and the index.
const EVIDENCE_DIR: &str = "evidence";

/// The index file name inside [`EVIDENCE_DIR`].
const INDEX_FILE: &str = "index.jsonl";

/// The lock file name inside the store root.
const LOCK_FILE: &str = "lock";

/// The directory inside the store root where bodies are written before
/// they are recorded (outside `evidence/`: never evidence itself).
const TMP_DIR: &str = "tmp";

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
