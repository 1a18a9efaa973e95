//! Crash-safe apply of a sync plan's changes to a file target, and
//! recovery after a crash.
//!
//! # The crash-safety argument
//!
//! An apply runs in two phases around one commit point, and journals
//! (see [`super::journal`]) each step before moving on:
//!
//! 1. **Staging.** `begin` is journaled and flushed. Every target entry a
//!    change touches is checked against the plan. For every add or
//!    modify, the intent `stage {path, temp}` is journaled for a
//!    temporary file `.trainyard-stage-<apply id>-<n>` in the deepest
//!    directory of the path that already exists (its own directory in
//!    the common case; nothing is created in the target but these files),
//!    and so is one for every directory a delete touches; the intents are
//!    flushed once, before any temporary file exists. Then each new
//!    content is written to its temporary file, its BLAKE3 checked
//!    against the plan and its mode set, and `staged {path, temp, hash}`
//!    is journaled; each delete's directory is probed (a temporary file
//!    created and removed), so a read-only directory fails *here*. The
//!    temporary files and their directories are flushed, many at a time.
//! 2. **Commit point.** `staged_all {deletes}` is journaled and flushed
//!    (and with it every `staged` before it).
//! 3. **Committing.** Deletes are done (`deleted` after each, with empty
//!    parent directories pruned up to the root), then every staged file is
//!    renamed over its path (creating missing directories; `renamed` after
//!    each), every touched directory is flushed, and `committed` is
//!    journaled and flushed.
//!
//! Every event is written to the journal before the step after it starts,
//! so a killed process leaves a journal that is exact. Only `begin`, the
//! intents, `staged_all` and `committed` wait for the disk: a power cut
//! may lose a `staged`, `deleted` or `renamed`, and recovery does not need
//! them (it checks the target itself, see below).
//!
//! Before the commit point the target holds its old entries plus, at
//! most, temporary files that the journal names (the `stage` intent is on
//! disk before the file can exist), so undoing is removing them: a failed
//! or interrupted apply ends "as it was". After the commit point every new
//! content is on disk in a flushed temporary file and the journal lists
//! every rename and delete, so finishing is always possible and
//! idempotent: a rename whose temporary file is gone and whose path holds
//! the staged hash is done; a delete whose path is gone is done.
//! [`recover`] picks the direction from the journal's state; it may
//! itself be interrupted and run again.
//!
//! The target is never written through a symlink: every directory on a
//! path inside the target is checked with `lstat` before anything is
//! created, renamed or removed in it, and a symlink there is refused (a
//! symlink *at* a path is replaced or removed as an entry, never
//! followed). The checks are not atomic with the writes (that would need
//! `openat`-style calls), so a concurrent writer to the target could still
//! race them; the target lock keeps trainyard itself to one apply at a
//! time.
//!
//! The target must not change between plan and apply: an add whose path
//! exists, or a modify or delete whose entry no longer has the planned
//! `before` hash, is refused as a stale target, and a source entry whose
//! content no longer has the planned `after` hash is refused as a stale
//! source, both before the commit point.
//!
//! # Test hooks
//!
//! * `TRAINYARD_SYNC_CRASH_AFTER=<event>[:<n>]` (see
//!   [`super::journal::CRASH_AFTER_ENV`]) kills the process (SIGKILL) right after
//!   the `n`-th journaling of `event`. A crash test re-runs itself as a
//!   child process (`TRAINYARD_TEST_CHILD=crash`, with an environment
//!   variable naming a request file) with it set, once for every journal
//!   step of a reference run.
//! * A full disk is tested for real on a 64 KiB tmpfs that a child mounts
//!   in a mount namespace of its own, and always with an injected
//!   `StorageFull` error: a private
//!   `Hooks` value given to the inner apply makes the n-th staging write
//!   fail.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::journal::{self, Event, Journal, JournalState, check_id};
use super::model::{Change, ChangeKind, SyncPath};
use crate::{Error, Result};

mod finish;
mod inspect;
mod paths;
mod stage;

use finish::{roll_back, roll_forward};
use inspect::{Found, lstat};
use paths::{parent, prepare_root, validate};
use stage::Staging;

/// The prefix of every temporary file an apply creates in the target.
pub const STAGE_PREFIX: &str = ".trainyard-stage-";

/// What to apply, where.
#[derive(Debug, Clone, Copy)]
pub struct ApplyRequest<'a> {
    /// The source tree the planned content is copied from.
    pub source_root: &'a Path,
    /// The target tree to change (created when missing).
    pub target_root: &'a Path,
    /// The plan's changes (paths unique; adds and modifies carry `after`,
    /// modifies and deletes carry `before`).
    pub changes: &'a [Change],
    /// Where the apply's journal goes (outside the target).
    pub journal_dir: &'a Path,
    /// This apply's id: names its journal and temporary files.
    pub apply_id: &'a str,
    /// The plan being applied, recorded in the journal.
    pub plan_id: &'a str,
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOutcome {
    /// The apply's id.
    pub apply_id: String,
    /// Its journal file.
    pub journal: PathBuf,
    /// Paths added.
    pub added: usize,
    /// Paths modified.
    pub modified: usize,
    /// Paths deleted.
    pub deleted: usize,
}

/// Which way a recovery went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryAction {
    /// The apply had not reached its commit point: its temporary files
    /// were removed and the target is as it was before.
    RolledBack,
    /// The apply had passed its commit point: its remaining renames and
    /// deletes were done and the target holds the plan.
    RolledForward,
    /// The apply had finished; nothing to do.
    AlreadyCommitted,
    /// The apply had been undone already; nothing to do.
    AlreadyAborted,
    /// No interrupted apply was found.
    NothingToRecover,
}

/// What a recovery did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecoveryOutcome {
    /// The apply recovered (none when there was nothing to recover).
    pub apply_id: Option<String>,
    /// Which way it went.
    pub action: RecoveryAction,
    /// Temporary files removed.
    pub temps_removed: usize,
    /// Renames done now (not before the crash).
    pub renamed: usize,
    /// Deletes done now (not before the crash).
    pub deleted: usize,
}

/// Fault injection for tests.
#[derive(Debug, Default)]
struct Hooks {
    /// Fail the n-th (1-based) staging write with `StorageFull`.
    fail_write_at: Option<u64>,
    writes: std::cell::Cell<u64>,
}

impl Hooks {
    fn before_write(&self) -> std::io::Result<()> {
        let n = self.writes.get() + 1;
        self.writes.set(n);
        if self.fail_write_at == Some(n) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space left on device (injected)",
            ));
        }
        Ok(())
    }
}

/// Applies `request.changes` to the target, crash-safely (see the module
/// documentation).
///
/// # Errors
///
/// Returns an [`Error::Input`] for an invalid plan (unsafe or duplicate
/// paths, a path under another planned file), a stale source or target,
/// a symlink or file where the plan needs a directory, or an apply id that
/// already has a journal; [`Error::Io`] when a step fails on disk (a full
/// disk, a read-only directory). Before the commit point the apply is then
/// undone (temporary files removed, `aborted` journaled). An error after
/// the commit point leaves the journal unfinished: [`interrupted`] reports
/// it and [`recover`] finishes it.
pub fn apply(request: &ApplyRequest<'_>) -> Result<ApplyOutcome> {
    apply_with(request, &Hooks::default())
}

fn apply_with(request: &ApplyRequest<'_>, hooks: &Hooks) -> Result<ApplyOutcome> {
    check_id("apply id", request.apply_id)?;
    validate(request.changes)?;
    let root = prepare_root(request.target_root)?;
    let journal_file = journal::journal_path(request.journal_dir, request.apply_id);
    if std::fs::symlink_metadata(&journal_file).is_ok() {
        return Err(Error::input(format!(
            "apply `{}` already has a journal ({}); use a new apply id",
            request.apply_id,
            journal_file.display()
        )));
    }
    let mut journal = Journal::open(request.journal_dir, request.apply_id)?;
    journal.record(&Event::Begin {
        plan_id: request.plan_id.to_string(),
        changes: request.changes.len(),
        target: SyncPath::from_relative(&root).encoded(),
    })?;
    let deletes: Vec<SyncPath> = request
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Delete)
        .map(|c| c.path.clone())
        .collect();
    let staging = Staging {
        source: request.source_root,
        root: &root,
        apply_id: request.apply_id,
        deletes: deletes.iter().cloned().collect(),
        hooks,
    };
    if let Err(error) = staging.stage_all(request.changes, &mut journal) {
        return Err(match roll_back(&root, &mut journal, &error.to_string()) {
            Ok(_) => error,
            Err(cleanup) => Error::environment(format!(
                "{error}; undoing apply `{}` failed too ({cleanup}): run the sync recovery",
                request.apply_id
            )),
        });
    }
    // A directory the deletes empty stays when the source has it, so the
    // target ends up shaped like the source.
    let kept_dirs: Vec<SyncPath> = deletes
        .iter()
        .flat_map(|path| {
            let mut dirs = Vec::new();
            let mut dir = parent(path);
            while !dir.0.is_empty() {
                dirs.push(dir.clone());
                dir = parent(&dir);
            }
            dirs
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|dir| matches!(lstat(&dir.under(request.source_root)), Ok(Found::Dir)))
        .collect();
    journal.record(&Event::StagedAll { deletes, kept_dirs })?;
    roll_forward(&root, &mut journal)?;
    let count = |kind| request.changes.iter().filter(|c| c.kind == kind).count();
    Ok(ApplyOutcome {
        apply_id: request.apply_id.to_string(),
        journal: journal.path().to_path_buf(),
        added: count(ChangeKind::Add),
        modified: count(ChangeKind::Modify),
        deleted: count(ChangeKind::Delete),
    })
}

/// Finishes or undoes an interrupted apply: the one named, or else the
/// latest unfinished one in `journal_dir`.
///
/// Before its commit point the apply is rolled back (its temporary files
/// removed, `aborted` journaled) and the target is as it was; after it,
/// the apply is rolled forward (the renames and deletes not done yet are
/// done, `committed` journaled) and the target holds the plan. Running it
/// again is harmless.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the named apply has no journal, its
/// journal is damaged or names another target, or the target has a
/// symlink where the apply writes; [`Error::Io`] or [`Error::Environment`]
/// when a step fails (the journal then stays unfinished).
pub fn recover(
    target_root: &Path,
    journal_dir: &Path,
    apply_id: Option<&str>,
) -> Result<RecoveryOutcome> {
    let id = match apply_id {
        Some(id) => {
            check_id("apply id", id)?;
            id.to_string()
        }
        None => match interrupted(journal_dir)? {
            Some(id) => id,
            None => {
                return Ok(RecoveryOutcome {
                    apply_id: None,
                    action: RecoveryAction::NothingToRecover,
                    temps_removed: 0,
                    renamed: 0,
                    deleted: 0,
                });
            }
        },
    };
    let path = journal::journal_path(journal_dir, &id);
    if std::fs::symlink_metadata(&path).is_err() {
        return Err(Error::input(format!(
            "apply `{id}` has no journal ({} does not exist)",
            path.display()
        )));
    }
    let mut journal = Journal::open(journal_dir, &id)?;
    let root = std::fs::canonicalize(target_root).unwrap_or_else(|_| target_root.to_path_buf());
    if let Some(Event::Begin { target, .. }) = journal.events().first() {
        let recorded = SyncPath::from_relative(&root).encoded();
        if *target != recorded {
            return Err(Error::input(format!(
                "apply `{id}` changed the target {target}, not {}; recover it against that target",
                root.display()
            )));
        }
    }
    let mut outcome = RecoveryOutcome {
        apply_id: Some(id),
        action: RecoveryAction::NothingToRecover,
        temps_removed: 0,
        renamed: 0,
        deleted: 0,
    };
    match journal.state() {
        JournalState::Committed => outcome.action = RecoveryAction::AlreadyCommitted,
        JournalState::Aborted => outcome.action = RecoveryAction::AlreadyAborted,
        JournalState::Begun | JournalState::Staging => {
            outcome.temps_removed =
                roll_back(&root, &mut journal, "recovered after an interruption")?;
            outcome.action = RecoveryAction::RolledBack;
        }
        JournalState::Committing => {
            let done = roll_forward(&root, &mut journal)?;
            outcome.renamed = done.renamed;
            outcome.deleted = done.deleted;
            outcome.temps_removed = done.temps_removed;
            outcome.action = RecoveryAction::RolledForward;
        }
    }
    Ok(outcome)
}

/// Where the apply `apply_id` got to by its journal in `journal_dir`:
/// `None` when it has none (it never began).
///
/// # Errors
///
/// Returns [`Error::Io`] when the journal cannot be read and an
/// [`Error::Input`] when it is damaged.
pub fn journal_state(journal_dir: &Path, apply_id: &str) -> Result<Option<JournalState>> {
    check_id("apply id", apply_id)?;
    let path = journal::journal_path(journal_dir, apply_id);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    Ok(Some(JournalState::of(&journal::read(&path)?)))
}

/// The latest apply in `journal_dir` that began and neither committed nor
/// aborted, if any (by journal modification time). While one exists, no
/// new apply should start on its target before [`recover`] runs.
///
/// # Errors
///
/// Returns [`Error::Io`] when a journal cannot be read and an
/// [`Error::Input`] when one is damaged.
pub fn interrupted(journal_dir: &Path) -> Result<Option<String>> {
    journal::latest_where(journal_dir, |events| {
        !JournalState::of(events).is_finished()
    })
}

#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;
