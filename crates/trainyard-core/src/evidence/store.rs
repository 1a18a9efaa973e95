//! The [`EvidenceStore`] trait, what it is given and what it returns.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Record, StagedBody, render_yaml};
use crate::{Error, Result};

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
/// Implementations: [`DirStore`](super::DirStore) (a directory). A shared database can
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
