//! Staging: new contents in temporary files, checked, before the commit point.

use std::collections::{BTreeSet, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::inspect::{
    Found, empties_by_deletes, entry_hash, existing_parents, lstat, mode_of, os_bytes,
};
use super::paths::{child, components, parent, prefix, under};
use super::{Hooks, STAGE_PREFIX};
use crate::sync::journal::{Event, Journal};
use crate::sync::model::{Change, ChangeKind, ContentHash, EntryKind, SyncPath};
use crate::{Error, Result};

pub(super) struct Staging<'a> {
    pub(super) source: &'a Path,
    pub(super) root: &'a Path,
    pub(super) apply_id: &'a str,
    pub(super) deletes: HashSet<SyncPath>,
    pub(super) hooks: &'a Hooks,
}

impl Staging<'_> {
    /// Stages every add and modify, probes every delete's directory, and
    /// flushes the temporary files and the directories holding them.
    ///
    /// The intents are journaled (and flushed, once) before any temporary
    /// file exists; the files are written, then flushed together, since
    /// waiting for the disk once per file is most of an apply's time.
    pub(super) fn stage_all(&self, changes: &[Change], journal: &mut Journal) -> Result<()> {
        let mut intents = Vec::new();
        let mut writable: BTreeSet<SyncPath> = BTreeSet::new();
        for (n, change) in changes.iter().enumerate() {
            if change.kind != ChangeKind::Delete {
                let existing = self.check_before(change)?;
                let dir = prefix(&change.path, existing);
                intents.push((n, change, self.temp_in(&dir, n)));
                writable.insert(dir);
            }
        }
        let staged = intents.len();
        for (n, change) in changes.iter().enumerate() {
            if change.kind == ChangeKind::Delete {
                self.check_before(change)?;
                let dir = parent(&change.path);
                if writable.insert(dir.clone()) {
                    intents.push((n, change, self.temp_in(&dir, n)));
                }
            }
        }
        for (_, change, temp) in &intents {
            journal.note(&Event::Stage {
                path: change.path.clone(),
                temp: temp.clone(),
            })?;
        }
        journal.flush()?;
        let mut temps = Vec::with_capacity(staged);
        for (index, (_, change, temp)) in intents.iter().enumerate() {
            if index < staged {
                let hash = self.stage_one(change, temp)?;
                journal.note(&Event::Staged {
                    path: change.path.clone(),
                    temp: temp.clone(),
                    hash: hash.to_hex(),
                })?;
                // A symlink cannot be opened to flush; its directory's
                // flush makes it durable.
                if change
                    .after
                    .as_ref()
                    .is_some_and(|a| a.kind == EntryKind::File)
                {
                    temps.push(under(self.root, temp));
                }
            } else {
                self.probe(&change.path, temp)?;
            }
        }
        flush_all(&temps)?;
        let dirs: Vec<PathBuf> = writable.iter().map(|d| under(self.root, d)).collect();
        flush_all(&dirs)
    }

    fn temp_in(&self, dir: &SyncPath, n: usize) -> SyncPath {
        child(
            dir,
            format!("{STAGE_PREFIX}{}-{n}", self.apply_id).as_bytes(),
        )
    }

    /// Refuses a change whose target entry is not what the plan saw, and
    /// returns how many leading directories of its path exist (counting a
    /// file or symlink about to be deleted as the end of them).
    fn check_before(&self, change: &Change) -> Result<usize> {
        let path = &change.path;
        let existing = existing_parents(self.root, path, &self.deletes)?;
        let os_path = under(self.root, path);
        let found = if existing + 1 < components(path).len() {
            Found::Missing
        } else {
            lstat(&os_path)?
        };
        match (&change.before, found) {
            (None, Found::Missing) => {}
            (None, Found::Dir) => {
                if !empties_by_deletes(self.root, path, &self.deletes)? {
                    return Err(Error::input(format!(
                        "`{path}` is a directory in the target {} holding entries outside this sync; the plan makes it a file",
                        self.root.display()
                    )));
                }
            }
            (None, _) | (Some(_), Found::Missing | Found::Dir | Found::Other) => {
                return Err(self.stale_target(path));
            }
            (Some(before), Found::File { .. } | Found::Symlink) => match entry_hash(&os_path)? {
                Some((kind, hash)) if kind == before.kind && hash == before.hash => {}
                _ => return Err(self.stale_target(path)),
            },
        }
        Ok(existing)
    }

    fn stale_target(&self, path: &SyncPath) -> Error {
        Error::input(format!(
            "stale target: `{path}` in {} changed since the plan; make a new plan",
            self.root.display()
        ))
    }

    fn stale_source(&self, path: &SyncPath) -> Error {
        Error::input(format!(
            "stale source: `{path}` in {} changed since the plan; make a new plan",
            self.source.display()
        ))
    }

    /// Writes the new content of `change` to `temp` (not yet flushed),
    /// returning its hash once it matches the plan's.
    fn stage_one(&self, change: &Change, temp: &SyncPath) -> Result<ContentHash> {
        let path = &change.path;
        let after = change
            .after
            .as_ref()
            .ok_or_else(|| Error::Internal(format!("no after entry for `{path}`")))?;
        let temp_path = under(self.root, temp);
        let source_path = path.under(self.source);
        let hash = match after.kind {
            EntryKind::File => {
                let Found::File { .. } = lstat(&source_path)? else {
                    return Err(self.stale_source(path));
                };
                let base_mode = match change.kind {
                    ChangeKind::Modify => match lstat(&under(self.root, path))? {
                        Found::File { mode } => Some(mode),
                        _ => None,
                    },
                    _ => None,
                };
                self.copy_file(&source_path, &temp_path, after.executable, base_mode)?
            }
            EntryKind::Symlink => {
                let Found::Symlink = lstat(&source_path)? else {
                    return Err(self.stale_source(path));
                };
                let text = std::fs::read_link(&source_path)
                    .map_err(|e| Error::io("cannot read link", &source_path, e))?;
                std::os::unix::fs::symlink(&text, &temp_path)
                    .map_err(|e| Error::io("cannot create symlink", &temp_path, e))?;
                ContentHash::of(os_bytes(text.as_os_str()))
            }
        };
        if hash != after.hash {
            return Err(self.stale_source(path));
        }
        Ok(hash)
    }

    /// Copies `source` into the new file `temp`, hashing what it writes;
    /// sets the mode and flushes. Returns the BLAKE3 hex.
    fn copy_file(
        &self,
        source: &Path,
        temp: &Path,
        executable: bool,
        base_mode: Option<u32>,
    ) -> Result<ContentHash> {
        let mut input = File::open(source).map_err(|e| Error::io("cannot open", source, e))?;
        let mut output = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(temp)
            .map_err(|e| Error::io("cannot create", temp, e))?;
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = input
                .read(&mut buf)
                .map_err(|e| Error::io("cannot read", source, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            self.hooks
                .before_write()
                .and_then(|()| output.write_all(&buf[..n]))
                .map_err(|e| Error::io("cannot write", temp, e))?;
        }
        set_mode(&output, temp, executable, base_mode)?;
        Ok(ContentHash(*hasher.finalize().as_bytes()))
    }

    /// Proves the directory of `path` writable before the commit point by
    /// creating and removing the temporary file `temp` in it (journaled
    /// like a staged file, so a crash in between leaves nothing the
    /// recovery does not know).
    fn probe(&self, path: &SyncPath, temp: &SyncPath) -> Result<()> {
        let temp_path = under(self.root, temp);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp_path)
            .map_err(|e| {
                Error::io(
                    "cannot write in the directory of",
                    under(self.root, path),
                    e,
                )
            })?;
        std::fs::remove_file(&temp_path).map_err(|e| {
            Error::io(
                "cannot delete in the directory of",
                under(self.root, path),
                e,
            )
        })
    }
}

/// How many flushes wait on the disk at once: the waits are the device's,
/// not the processor's, so more than the core count.
const FLUSHES_IN_FLIGHT: usize = 8;

/// Flushes the files or directories at `paths` to disk, several at a
/// time, and reports the first failure. A directory that is gone (pruned
/// after its last entry was deleted) needs no flush.
pub(super) fn flush_all(paths: &[PathBuf]) -> Result<()> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failure = std::sync::Mutex::new(None);
    let workers = FLUSHES_IN_FLIGHT.min(paths.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    let flushed = File::open(path)
                        .and_then(|f| f.sync_all())
                        .map_err(|e| Error::io("cannot flush", path, e));
                    if let Err(e) = flushed {
                        let mut slot = failure.lock().unwrap_or_else(|p| p.into_inner());
                        slot.get_or_insert(e);
                        break;
                    }
                }
            });
        }
    });
    match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Gives a staged file its mode: the replaced file's permission bits (or
/// the new file's default ones) with the executable bits set wherever the
/// file is readable, or cleared.
#[cfg(unix)]
fn set_mode(file: &File, path: &Path, executable: bool, base_mode: Option<u32>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let base = match base_mode {
        Some(mode) => mode,
        None => file
            .metadata()
            .map(|m| mode_of(&m))
            .map_err(|e| Error::io("cannot inspect", path, e))?,
    } & 0o777;
    let mode = if executable {
        base | ((base & 0o444) >> 2)
    } else {
        base & !0o111
    };
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("cannot set the mode of", path, e))
}
