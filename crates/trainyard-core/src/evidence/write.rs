//! Writing to a [`DirStore`]: documents and bodies put in place, then
//! recorded with one atomic update of the index, all or none.

use std::collections::HashSet;

use super::at::{self, Dir, EntryType};
use super::names::{NameChoice, file_name, first_free, relative_path};
use super::{
    BodyRecord, DirStore, EVIDENCE_DIR, GENESIS_HASH, INDEX_FILE, NewDocument, Record, Recorded,
    StagedBody, WriteReport, is_body_name, sha256_hex, validate_kind, validate_name,
};
use crate::{Error, Result};

/// The current time as RFC 3339 UTC with whole seconds.
fn now_rfc3339() -> String {
    format!("{:.0}", jiff::Timestamp::now())
}

impl DirStore {
    /// Records `yaml` as `kind` under the name `choice` gives, the name
    /// resolved while the store is held.
    pub(super) fn write_as(
        &self,
        kind: &str,
        choice: NameChoice<'_>,
        yaml: &str,
    ) -> Result<WriteReport> {
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
    pub(super) fn record_batch(
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
        let mut batch = Batch {
            store: self,
            records: &records,
            taken: records
                .iter()
                .map(|r| (r.kind.clone(), r.name.to_ascii_lowercase()))
                .collect(),
            evidence: held.root.create_dir(EVIDENCE_DIR)?,
            placed: Placed::default(),
            pending: Vec::new(),
        };
        let (mut outcome, mut head) = (Recorded::default(), None);
        let result = (|| -> Result<()> {
            // Bodies first: a document may name them.
            batch.place_bodies(bodies, &mut outcome)?;
            batch.place_documents(documents)?;
            // The records, appended by replacing the whole index atomically.
            let new_records = batch.append_records(&mut index_bytes)?;
            batch.evidence.write_atomic(INDEX_FILE, &index_bytes)?;
            head = new_records.last().cloned();
            batch.report(new_records, &mut outcome);
            batch.placed.files.clear();
            Ok(())
        })();
        if let Err(e) = result {
            // Nothing was recorded: take away what this batch put in place
            // (a document it replaced was unrecorded already).
            for (dir, name) in batch.placed.files.drain(..) {
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
    pub(super) fn make_room(&self, kind_dir: &Dir, kind: &str, name: &str) -> Result<bool> {
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

/// One batch being recorded, while the store is held.
struct Batch<'a> {
    store: &'a DirStore,
    /// The records of the index before the batch.
    records: &'a [Record],
    /// The kinds and names recorded, and those the batch takes.
    taken: HashSet<(String, String)>,
    /// The store's `evidence/` directory.
    evidence: Dir,
    placed: Placed,
    /// The kind, name and SHA-256 of each file put in place, in order,
    /// for its record.
    pending: Vec<(String, String, String)>,
}

impl Batch<'_> {
    /// Puts each staged body in place under its name, but for a body whose
    /// content is recorded already (its record goes to `outcome`) or that
    /// the batch holds twice.
    fn place_bodies(&mut self, bodies: Vec<StagedBody>, outcome: &mut Recorded) -> Result<()> {
        for mut staged in bodies {
            let name = staged.name();
            if let Some(existing) = self
                .records
                .iter()
                .find(|r| r.kind == staged.kind && r.name == name)
            {
                outcome.bodies.push(BodyRecord {
                    record: existing.clone(),
                    new: false,
                });
                continue;
            }
            if !self.taken.insert((staged.kind.clone(), name.clone())) {
                // The same body twice in one batch.
                continue;
            }
            let kind_dir = self.evidence.create_dir(&staged.kind)?;
            self.placed
                .replaced
                .push(self.store.make_room(&kind_dir, &staged.kind, &name)?);
            staged
                .temp
                .dir
                .rename(&staged.temp.name, &kind_dir, &name)?;
            staged.temp.placed = true;
            kind_dir.sync()?;
            self.placed.files.push((kind_dir, name.clone()));
            self.pending
                .push((staged.kind.clone(), name, staged.stored_sha256.clone()));
        }
        Ok(())
    }

    /// Writes each document in place under its name, or for a unique one
    /// under the first free name from it; a name recorded already is
    /// refused.
    fn place_documents(&mut self, documents: &[NewDocument<'_>]) -> Result<()> {
        for document in documents {
            let name = if document.unique {
                first_free(&self.taken, document.kind, document.name)?
            } else {
                if let Some(existing) = self
                    .records
                    .iter()
                    .find(|r| r.kind == document.kind && r.name.eq_ignore_ascii_case(document.name))
                {
                    return Err(Error::input(format!(
                        "evidence {}/{} is already recorded in {} (seq {}): evidence is immutable",
                        document.kind,
                        document.name,
                        self.store.full_path(&existing.path).display(),
                        existing.seq
                    )));
                }
                document.name.to_owned()
            };
            self.taken
                .insert((document.kind.to_owned(), name.to_ascii_lowercase()));
            let kind_dir = self.evidence.create_dir(document.kind)?;
            let file = file_name(&name);
            self.placed
                .replaced
                .push(self.store.make_room(&kind_dir, document.kind, &name)?);
            // A crash after this leaves an unrecorded document, which
            // the next write of it replaces.
            kind_dir.write_atomic(&file, document.yaml.as_bytes())?;
            self.placed.files.push((kind_dir, file));
            self.pending.push((
                document.kind.to_owned(),
                name,
                sha256_hex(document.yaml.as_bytes()),
            ));
        }
        Ok(())
    }

    /// The records of the files put in place, chained after the last
    /// record of the index, each appended to `index_bytes` as a line.
    fn append_records(&mut self, index_bytes: &mut Vec<u8>) -> Result<Vec<Record>> {
        let mut last = self.records.last().map(|r| (r.seq, r.hash.clone()));
        let recorded_at = self
            .store
            .clock
            .map_or_else(now_rfc3339, |now| format!("{now:.0}"));
        let mut new_records = Vec::with_capacity(self.pending.len());
        for (kind, name, sha256) in self.pending.drain(..) {
            let (seq, prev) = match &last {
                None => (1, GENESIS_HASH.to_string()),
                Some((seq, hash)) => {
                    let seq = seq.checked_add(1).ok_or_else(|| {
                        Error::input(format!(
                            "evidence index {} has no sequence number left after {seq}",
                            self.store.index_path().display()
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
        Ok(new_records)
    }

    /// Adds the records written to `outcome`: bodies as new, documents
    /// with whether each replaced an unrecorded file.
    fn report(&self, new_records: Vec<Record>, outcome: &mut Recorded) {
        let replaced: Vec<bool> = self.placed.replaced.clone();
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
    }
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
