//! Verifying a [`DirStore`]: the chain of the index, every document
//! against its record, and every file on disk against the index.

use std::collections::{HashMap, HashSet};

use super::at::{Dir, EntryType, Found};
use super::dir_store::OnDisk;
use super::names::relative_path;
use super::{
    DirStore, EVIDENCE_DIR, EvidenceStore, GENESIS_HASH, INDEX_FILE, Problem, ProblemKind, Record,
    VerifyReport, body, is_body_name, validate_kind, validate_name,
};
use crate::Result;

impl DirStore {
    /// [`EvidenceStore::verify`](super::EvidenceStore::verify) of the
    /// directory.
    pub(super) fn verify_dir(&self) -> Result<VerifyReport> {
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
                for (kind, message) in chain_breaks(previous.as_ref(), record) {
                    problems.push(index_problem(kind, message));
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

            problems.extend(self.document_problem(root, record, line.number)?);
        }

        problems.extend(self.unrecorded_problems(root, &recorded)?);
        Ok(VerifyReport {
            store: self.location(),
            ok: problems.is_empty(),
            documents,
            head_hash: previous.map(|(_, hash)| hash),
            problems,
        })
    }

    /// What is wrong with the document of `record`, at line `line` of the
    /// index, on disk: missing, behind a link, not a regular file, or not
    /// the bytes recorded (for a body, not the content its name is the
    /// hash of). `None` when nothing is.
    fn document_problem(
        &self,
        root: Option<&Dir>,
        record: &Record,
        line: usize,
    ) -> Result<Option<Problem>> {
        let path = self.full_path(&record.path);
        let path_display = path.display().to_string();
        let document_problem = |kind, message: String| Problem {
            kind,
            path: path_display.clone(),
            seq: Some(record.seq),
            line: Some(line),
            message,
        };
        let on_disk = match root {
            Some(root) => self.find_document(root, record)?,
            None => OnDisk::Missing,
        };
        Ok(match on_disk {
            OnDisk::Missing => Some(document_problem(
                ProblemKind::Missing,
                format!(
                    "document {path_display} (seq {}) is recorded but missing",
                    record.seq
                ),
            )),
            OnDisk::Link => Some(document_problem(
                ProblemKind::Symlink,
                format!(
                    "document {path_display} (seq {}) is reached through a symbolic link, \
                     which the store never follows",
                    record.seq
                ),
            )),
            OnDisk::Wrong => Some(document_problem(
                ProblemKind::Edited,
                format!(
                    "document {path_display} (seq {}) is not a regular file",
                    record.seq
                ),
            )),
            OnDisk::File(mut file) => {
                let (stored, _) = body::hash_stream(&mut file, &path)?;
                if stored != record.sha256 {
                    Some(document_problem(
                        ProblemKind::Edited,
                        format!(
                            "document {path_display} (seq {}) does not match its recorded \
                             sha-256: it was edited",
                            record.seq
                        ),
                    ))
                } else if let Some(sha256) = record.name.strip_suffix(".gz")
                    && is_body_name(&record.name)
                {
                    // A body holds the content its name is the hash of.
                    body::rewind(&mut file, &path)?;
                    let holds = body::inflate(&mut file, &path, &mut std::io::sink())
                        .is_ok_and(|found| found == sha256);
                    (!holds).then(|| {
                        document_problem(
                            ProblemKind::Edited,
                            format!(
                                "body {path_display} (seq {}) does not decompress to the \
                                 content its name is the hash of",
                                record.seq
                            ),
                        )
                    })
                } else {
                    None
                }
            }
        })
    }

    /// The files under `evidence/` that no record names (but the index),
    /// and the symbolic links there, by path.
    fn unrecorded_problems(
        &self,
        root: Option<&Dir>,
        recorded: &HashSet<String>,
    ) -> Result<Vec<Problem>> {
        let mut problems = Vec::new();
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
        Ok(problems)
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

/// What is wrong with `record`'s place in the chain, after the record
/// `previous` (its sequence number and hash; none for the first): a
/// sequence number that is not the next, a `prev` that is not the hash
/// before it.
fn chain_breaks(previous: Option<&(u64, String)>, record: &Record) -> Vec<(ProblemKind, String)> {
    let mut breaks = Vec::new();
    let (expected_seq, expected_prev) = match previous {
        None => (Some(1), GENESIS_HASH),
        Some((seq, hash)) => (seq.checked_add(1), hash.as_str()),
    };
    if expected_seq != Some(record.seq) {
        let expected = expected_seq.map_or("none".to_string(), |s| s.to_string());
        breaks.push((
            ProblemKind::SequenceGap,
            format!(
                "sequence number {} where {expected} was expected",
                record.seq
            ),
        ));
    }
    if record.prev != expected_prev {
        breaks.push((
            ProblemKind::ChainBroken,
            "prev does not match the hash of the record before it: \
             records were removed, inserted or reordered"
                .to_string(),
        ));
    }
    breaks
}
