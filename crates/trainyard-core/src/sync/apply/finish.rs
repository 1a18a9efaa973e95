//! Rolling an apply back before its commit point, or forward after it.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use super::inspect::{Found, entry_hash, lstat, make_parents, parents_are_dirs};
use super::paths::{check_path, is_under, parent, under};
use super::stage::flush_all;
use crate::sync::journal::{Event, Journal};
use crate::sync::model::SyncPath;
use crate::{Error, Result};

/// The temporary files the journal says may exist (staged or only
/// intended), in journal order, without repeats.
fn journaled_temps(events: &[Event]) -> Vec<SyncPath> {
    let mut seen = HashSet::new();
    events
        .iter()
        .filter_map(|e| match e {
            Event::Stage { temp, .. } | Event::Staged { temp, .. } => Some(temp.clone()),
            _ => None,
        })
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

/// Removes the temporary file `temp` if it is there; whether it was.
fn remove_temp(root: &Path, temp: &SyncPath, touched: &mut BTreeSet<PathBuf>) -> Result<bool> {
    check_path(temp)?;
    if !parents_are_dirs(root, temp)? {
        return Ok(false);
    }
    let path = under(root, temp);
    match lstat(&path)? {
        Found::Missing => Ok(false),
        Found::Dir => Err(Error::environment(format!(
            "the temporary file {} is a directory; remove it by hand",
            path.display()
        ))),
        _ => {
            std::fs::remove_file(&path).map_err(|e| Error::io("cannot remove", &path, e))?;
            touched.insert(under(root, &parent(temp)));
            Ok(true)
        }
    }
}

fn sync_dirs(dirs: &BTreeSet<PathBuf>) -> Result<()> {
    let mut present = Vec::with_capacity(dirs.len());
    for dir in dirs {
        if matches!(lstat(dir)?, Found::Dir) {
            present.push(dir.clone());
        }
    }
    flush_all(&present)
}

/// Undoes an apply before its commit point; the number of temporary files
/// removed.
pub(super) fn roll_back(root: &Path, journal: &mut Journal, reason: &str) -> Result<usize> {
    let mut touched = BTreeSet::new();
    let mut removed = 0;
    for temp in journaled_temps(journal.events()) {
        if remove_temp(root, &temp, &mut touched)? {
            removed += 1;
        }
    }
    sync_dirs(&touched)?;
    journal.record(&Event::Aborted {
        reason: reason.to_string(),
    })?;
    Ok(removed)
}

/// What a roll forward did itself.
#[derive(Debug, Default)]
pub(super) struct Finished {
    pub(super) renamed: usize,
    pub(super) deleted: usize,
    pub(super) temps_removed: usize,
}

/// Finishes an apply past its commit point: deletes, renames, flushes,
/// `committed`. Idempotent.
pub(super) fn roll_forward(root: &Path, journal: &mut Journal) -> Result<Finished> {
    let events = journal.events().to_vec();
    let mut deletes = Vec::new();
    let mut kept = HashSet::new();
    let mut staged = Vec::new();
    let mut journaled = HashSet::new();
    for event in &events {
        match event {
            Event::StagedAll {
                deletes: d,
                kept_dirs,
            } => {
                deletes.clone_from(d);
                kept = kept_dirs.iter().cloned().collect();
            }
            Event::Staged { path, temp, hash } => staged.push((path, temp, hash)),
            Event::Renamed { path } => {
                journaled.insert(("renamed", path));
            }
            Event::Deleted { path } => {
                journaled.insert(("deleted", path));
            }
            _ => {}
        }
    }
    let mut done = Finished::default();
    let mut touched = BTreeSet::new();

    for path in &deletes {
        check_path(path)?;
        // A missing parent means the delete (and the pruning) happened.
        if parents_are_dirs(root, path)? {
            let os_path = under(root, path);
            match lstat(&os_path)? {
                Found::Missing => {}
                // A directory the apply itself made there (a file turned
                // into a directory) means the delete happened.
                Found::Dir if staged.iter().any(|(p, _, _)| is_under(p, path)) => {}
                Found::Dir => {
                    return Err(Error::environment(format!(
                        "cannot delete {}: it is a directory now",
                        os_path.display()
                    )));
                }
                _ => {
                    std::fs::remove_file(&os_path)
                        .map_err(|e| Error::io("cannot delete", &os_path, e))?;
                    touched.insert(under(root, &parent(path)));
                    done.deleted += 1;
                }
            }
            prune(root, path, &kept, &mut touched);
        }
        if !journaled.contains(&("deleted", path)) {
            journal.note(&Event::Deleted { path: path.clone() })?;
        }
    }

    let staged_temps: HashSet<&SyncPath> = staged.iter().map(|(_, t, _)| *t).collect();
    for (path, temp, hash) in &staged {
        check_path(path)?;
        check_path(temp)?;
        let temp_path = under(root, temp);
        let os_path = under(root, path);
        let temp_there =
            parents_are_dirs(root, temp)? && !matches!(lstat(&temp_path)?, Found::Missing);
        if temp_there {
            make_parents(root, path, &mut touched)?;
            if let Found::Dir = lstat(&os_path)? {
                clear_empty_dirs(&os_path)?;
            }
            std::fs::rename(&temp_path, &os_path)
                .map_err(|e| Error::io("cannot rename into place", &os_path, e))?;
            touched.insert(under(root, &parent(temp)));
            touched.insert(under(root, &parent(path)));
            done.renamed += 1;
        } else {
            let finished = parents_are_dirs(root, path)?
                && entry_hash(&os_path)?.is_some_and(|(_, h)| h.to_hex() == **hash);
            if !finished {
                return Err(Error::environment(format!(
                    "cannot finish the apply: the staged copy of `{path}` is gone and {} does not hold the planned content",
                    os_path.display()
                )));
            }
        }
        if !journaled.contains(&("renamed", *path)) {
            journal.note(&Event::Renamed {
                path: (*path).clone(),
            })?;
        }
    }

    // Probes (intents without a staged file) that a crash left behind.
    // One in a directory the plan replaced with an entry (a directory
    // turned into a symlink or file) went with that directory; looking
    // for it would meet the new symlink.
    let staged_paths: HashSet<&SyncPath> = staged.iter().map(|(p, _, _)| *p).collect();
    for temp in journaled_temps(&events) {
        if staged_temps.contains(&temp) || in_replaced_dir(&temp, &staged_paths) {
            continue;
        }
        if remove_temp(root, &temp, &mut touched)? {
            done.temps_removed += 1;
        }
    }
    sync_dirs(&touched)?;
    journal.record(&Event::Committed)?;
    Ok(done)
}

/// Whether a directory above `path` is itself a path the apply staged an
/// entry for.
fn in_replaced_dir(path: &SyncPath, staged: &HashSet<&SyncPath>) -> bool {
    let mut dir = parent(path);
    while !dir.0.is_empty() {
        if staged.contains(&dir) {
            return true;
        }
        dir = parent(&dir);
    }
    false
}

/// Removes the directories left empty above a deleted `path`, up to (not
/// including) the root or a directory in `kept`. Best effort: a directory
/// that is not empty, or cannot be removed, stays.
fn prune(root: &Path, path: &SyncPath, kept: &HashSet<SyncPath>, touched: &mut BTreeSet<PathBuf>) {
    let mut dir = parent(path);
    while !dir.0.is_empty() && !kept.contains(&dir) {
        let os_dir = under(root, &dir);
        if !matches!(lstat(&os_dir), Ok(Found::Dir)) || std::fs::remove_dir(&os_dir).is_err() {
            return;
        }
        touched.remove(&os_dir);
        dir = parent(&dir);
        touched.insert(under(root, &dir));
    }
}

/// Removes a directory tree that holds only directories (the leftovers
/// of a directory the plan turns into a file).
fn clear_empty_dirs(dir: &Path) -> Result<()> {
    let listing = std::fs::read_dir(dir).map_err(|e| Error::io("cannot list directory", dir, e))?;
    for entry in listing {
        let entry = entry.map_err(|e| Error::io("cannot list directory", dir, e))?;
        let path = entry.path();
        if let Found::Dir = lstat(&path)? {
            clear_empty_dirs(&path)?;
        } else {
            return Err(Error::environment(format!(
                "cannot replace the directory {} with a file: {} is in it",
                dir.display(),
                path.display()
            )));
        }
    }
    std::fs::remove_dir(dir).map_err(|e| Error::io("cannot remove directory", dir, e))
}
