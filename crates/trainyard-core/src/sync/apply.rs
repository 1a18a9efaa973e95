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
//!   the `n`-th journaling of `event`. The tests re-run their own test
//!   binary as a child (`--exact sync::apply::tests::crash_child`, driven
//!   by an environment variable naming a request file) with it set, once
//!   for every journal step of a reference run.
//! * A full disk is tested for real on a 64 KiB tmpfs when `mount` works
//!   (root), and always with an injected `StorageFull` error: a private
//!   `Hooks` value given to the inner apply makes the n-th staging write
//!   fail.

use std::collections::{BTreeSet, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::journal::{self, Event, Journal, JournalState, check_id};
use super::model::{Change, ChangeKind, ContentHash, EntryKind, SyncPath};
use crate::{Error, Result};

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

// ---------------------------------------------------------------------------
// Validation

/// The components of a path, which [`check_path`] has accepted.
fn components(path: &SyncPath) -> Vec<&[u8]> {
    path.0.split(|&b| b == b'/').collect()
}

/// The path of the first `n` components.
fn prefix(path: &SyncPath, n: usize) -> SyncPath {
    SyncPath(components(path)[..n].join(&b'/'))
}

/// `dir` (relative to the root, empty for the root) joined with `name`.
fn child(dir: &SyncPath, name: &[u8]) -> SyncPath {
    if dir.0.is_empty() {
        SyncPath(name.to_vec())
    } else {
        let mut bytes = dir.0.clone();
        bytes.push(b'/');
        bytes.extend_from_slice(name);
        SyncPath(bytes)
    }
}

/// The parent of a path (empty for a top-level name).
fn parent(path: &SyncPath) -> SyncPath {
    match path.0.iter().rposition(|&b| b == b'/') {
        Some(i) => SyncPath(path.0[..i].to_vec()),
        None => SyncPath(Vec::new()),
    }
}

/// Whether `path` lies strictly under `dir`.
fn is_under(path: &SyncPath, dir: &SyncPath) -> bool {
    path.0.len() > dir.0.len() && path.0.starts_with(&dir.0) && path.0[dir.0.len()] == b'/'
}

/// The OS path of `rel` under `root` (the root itself for an empty path).
fn under(root: &Path, rel: &SyncPath) -> PathBuf {
    if rel.0.is_empty() {
        root.to_path_buf()
    } else {
        rel.under(root)
    }
}

/// Refuses a path that could leave the root: empty, absolute, with empty,
/// `.` or `..` components, or with a NUL byte.
fn check_path(path: &SyncPath) -> Result<()> {
    let bad = path.0.is_empty()
        || path.0.contains(&0)
        || path
            .0
            .split(|&b| b == b'/')
            .any(|c| c.is_empty() || c == b"." || c == b"..");
    if bad {
        return Err(Error::input(format!(
            "the plan holds the unsafe path `{path}`: paths must be relative, without empty, `.` or `..` parts"
        )));
    }
    Ok(())
}

/// Checks the plan's changes on their own.
fn validate(changes: &[Change]) -> Result<()> {
    let mut seen = HashSet::new();
    let mut files = HashSet::new();
    for change in changes {
        check_path(&change.path)?;
        if !seen.insert(&change.path) {
            return Err(Error::input(format!(
                "the plan changes `{}` twice",
                change.path
            )));
        }
        let needs_after = change.kind != ChangeKind::Delete;
        let needs_before = change.kind != ChangeKind::Add;
        if needs_after != change.after.is_some() || needs_before != change.before.is_some() {
            return Err(Error::input(format!(
                "the plan's change of `{}` lacks its before or after entry",
                change.path
            )));
        }
        if needs_after {
            files.insert(change.path.clone());
        }
    }
    // No planned file may sit under another planned file.
    for path in &files {
        let depth = components(path).len();
        for n in 1..depth {
            let above = prefix(path, n);
            if files.contains(&above) {
                return Err(Error::input(format!(
                    "the plan puts `{path}` under `{above}`, which it also makes a file"
                )));
            }
        }
    }
    Ok(())
}

/// Creates the target root when missing and returns its canonical path.
fn prepare_root(target_root: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(target_root)
        .map_err(|e| Error::io("cannot create target directory", target_root, e))?;
    let root = std::fs::canonicalize(target_root)
        .map_err(|e| Error::io("cannot resolve target directory", target_root, e))?;
    if !root.is_dir() {
        return Err(Error::input(format!(
            "target {} is not a directory",
            target_root.display()
        )));
    }
    Ok(root)
}

// ---------------------------------------------------------------------------
// Inspecting the target without following symlinks

/// What is at a path in the target.
#[derive(Debug)]
enum Found {
    Missing,
    Dir,
    Symlink,
    File { mode: u32 },
    Other,
}

fn lstat(path: &Path) -> Result<Found> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            let kind = meta.file_type();
            Ok(if kind.is_dir() {
                Found::Dir
            } else if kind.is_symlink() {
                Found::Symlink
            } else if kind.is_file() {
                Found::File {
                    mode: mode_of(&meta),
                }
            } else {
                Found::Other
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Found::Missing),
        Err(e) => Err(Error::io("cannot inspect", path, e)),
    }
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode()
}

fn symlink_refused(root: &Path, rel: &SyncPath) -> Error {
    Error::input(format!(
        "refusing to write through the symlink `{rel}` in the target {}",
        root.display()
    ))
}

/// How many leading directories of `path`'s parent exist as real
/// directories. A symlink or file among them is refused unless it is
/// itself to be deleted (then nothing below it counts as existing).
fn existing_parents(root: &Path, path: &SyncPath, deletes: &HashSet<SyncPath>) -> Result<usize> {
    let depth = components(path).len();
    for n in 1..depth {
        let rel = prefix(path, n);
        match lstat(&under(root, &rel))? {
            Found::Dir => {}
            Found::Missing => return Ok(n - 1),
            _ if deletes.contains(&rel) => return Ok(n - 1),
            Found::Symlink => return Err(symlink_refused(root, &rel)),
            Found::File { .. } | Found::Other => {
                return Err(Error::input(format!(
                    "`{rel}` is not a directory in the target {} but the plan puts `{path}` under it",
                    root.display()
                )));
            }
        }
    }
    Ok(depth - 1)
}

/// Whether every parent of `path` is a real directory (so an entry can be
/// at `path`): `false` when one is missing or is a file; an error naming a
/// symlink among them, which is never followed.
fn parents_are_dirs(root: &Path, path: &SyncPath) -> Result<bool> {
    let depth = components(path).len();
    for n in 1..depth {
        let rel = prefix(path, n);
        match lstat(&under(root, &rel))? {
            Found::Dir => {}
            Found::Symlink => return Err(symlink_refused(root, &rel)),
            Found::Missing | Found::File { .. } | Found::Other => return Ok(false),
        }
    }
    Ok(true)
}

/// Creates the missing parent directories of `path` (refusing symlinks),
/// noting the directories whose entries changed.
fn make_parents(root: &Path, path: &SyncPath, touched: &mut BTreeSet<PathBuf>) -> Result<()> {
    let depth = components(path).len();
    for n in 1..depth {
        let rel = prefix(path, n);
        let dir = under(root, &rel);
        match lstat(&dir)? {
            Found::Dir => {}
            Found::Missing => match std::fs::create_dir(&dir) {
                Ok(()) => {
                    touched.insert(under(root, &parent(&rel)));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if !matches!(lstat(&dir)?, Found::Dir) {
                        return Err(symlink_refused(root, &rel));
                    }
                }
                Err(e) => return Err(Error::io("cannot create directory", &dir, e)),
            },
            Found::Symlink => return Err(symlink_refused(root, &rel)),
            Found::File { .. } | Found::Other => {
                return Err(Error::environment(format!(
                    "`{rel}` in the target {} became a file during the apply; cannot create `{path}`",
                    root.display()
                )));
            }
        }
    }
    Ok(())
}

/// BLAKE3 (hex) of what is at `path`: a file's content or a symlink's
/// text; `None` for anything else or nothing.
fn entry_hash(path: &Path) -> Result<Option<(EntryKind, ContentHash)>> {
    match lstat(path)? {
        Found::File { .. } => {
            let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
            Ok(Some((EntryKind::File, hash_reader(file, path)?)))
        }
        Found::Symlink => {
            let text =
                std::fs::read_link(path).map_err(|e| Error::io("cannot read link", path, e))?;
            Ok(Some((
                EntryKind::Symlink,
                ContentHash::of(os_bytes(text.as_os_str())),
            )))
        }
        _ => Ok(None),
    }
}

fn hash_reader(mut reader: impl Read, path: &Path) -> Result<ContentHash> {
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| Error::io("cannot read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(ContentHash(*hasher.finalize().as_bytes()))
}

#[cfg(unix)]
fn os_bytes(text: &std::ffi::OsStr) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    text.as_bytes()
}

/// Whether the directory at `dir` holds only directories and files about
/// to be deleted (so it disappears, or is left empty, once they are).
fn empties_by_deletes(root: &Path, dir: &SyncPath, deletes: &HashSet<SyncPath>) -> Result<bool> {
    let os_dir = under(root, dir);
    let listing =
        std::fs::read_dir(&os_dir).map_err(|e| Error::io("cannot list directory", &os_dir, e))?;
    for entry in listing {
        let entry = entry.map_err(|e| Error::io("cannot list directory", &os_dir, e))?;
        let rel = child(dir, os_bytes(&entry.file_name()));
        let is_dir = entry
            .file_type()
            .map_err(|e| Error::io("cannot inspect", entry.path(), e))?
            .is_dir();
        let empties = if is_dir {
            empties_by_deletes(root, &rel, deletes)?
        } else {
            deletes.contains(&rel)
        };
        if !empties {
            return Ok(false);
        }
    }
    Ok(true)
}

// ---------------------------------------------------------------------------
// Staging

struct Staging<'a> {
    source: &'a Path,
    root: &'a Path,
    apply_id: &'a str,
    deletes: HashSet<SyncPath>,
    hooks: &'a Hooks,
}

impl Staging<'_> {
    /// Stages every add and modify, probes every delete's directory, and
    /// flushes the temporary files and the directories holding them.
    ///
    /// The intents are journaled (and flushed, once) before any temporary
    /// file exists; the files are written, then flushed together, since
    /// waiting for the disk once per file is most of an apply's time.
    fn stage_all(&self, changes: &[Change], journal: &mut Journal) -> Result<()> {
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
fn flush_all(paths: &[PathBuf]) -> Result<()> {
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

// ---------------------------------------------------------------------------
// Rolling back and forward

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
fn roll_back(root: &Path, journal: &mut Journal, reason: &str) -> Result<usize> {
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
struct Finished {
    renamed: usize,
    deleted: usize,
    temps_removed: usize,
}

/// Finishes an apply past its commit point: deletes, renames, flushes,
/// `committed`. Idempotent.
fn roll_forward(root: &Path, journal: &mut Journal) -> Result<Finished> {
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
    for temp in journaled_temps(&events) {
        if !staged_temps.contains(&temp) && remove_temp(root, &temp, &mut touched)? {
            done.temps_removed += 1;
        }
    }
    sync_dirs(&touched)?;
    journal.record(&Event::Committed)?;
    Ok(done)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::sync::model::Entry;
    use crate::sync::snapshot::{Snapshot, changes};
    use serde::{Deserialize, Serialize};
    use std::collections::{BTreeMap, HashMap};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::ExitStatusExt;

    // -- trees --------------------------------------------------------------

    fn os(root: &Path, rel: &[u8]) -> PathBuf {
        SyncPath(rel.to_vec()).under(root)
    }

    fn write(root: &Path, rel: &[u8], content: &[u8]) {
        let path = os(root, rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write");
    }

    fn link(root: &Path, rel: &[u8], to: &[u8]) {
        let path = os(root, rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(to), &path).expect("symlink");
    }

    fn chmod(root: &Path, rel: &[u8], mode: u32) {
        std::fs::set_permissions(os(root, rel), std::fs::Permissions::from_mode(mode))
            .expect("chmod");
    }

    fn walk(root: &Path, rel: &[u8], out: &mut Vec<(Vec<u8>, std::fs::Metadata)>) {
        let dir = if rel.is_empty() {
            root.to_path_buf()
        } else {
            os(root, rel)
        };
        for entry in std::fs::read_dir(dir).expect("list") {
            let entry = entry.expect("entry");
            let mut path = rel.to_vec();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(entry.file_name().as_bytes());
            let meta = std::fs::symlink_metadata(entry.path()).expect("lstat");
            let is_dir = meta.is_dir();
            out.push((path.clone(), meta));
            if is_dir {
                walk(root, &path, out);
            }
        }
    }

    /// The snapshot a planner would take (files and symlinks).
    fn scan(root: &Path) -> Snapshot {
        let mut items = Vec::new();
        walk(root, b"", &mut items);
        let mut snapshot = Vec::new();
        for (rel, meta) in items {
            let path = os(root, &rel);
            let entry = if meta.is_symlink() {
                let text = std::fs::read_link(&path).expect("readlink");
                let bytes = text.as_os_str().as_bytes().to_vec();
                Entry {
                    kind: EntryKind::Symlink,
                    executable: false,
                    size: bytes.len() as u64,
                    hash: ContentHash::of(&bytes),
                    link: Some(SyncPath(bytes)),
                }
            } else if meta.is_file() {
                let content = std::fs::read(&path).expect("read");
                Entry {
                    kind: EntryKind::File,
                    executable: meta.permissions().mode() & 0o111 != 0,
                    size: content.len() as u64,
                    hash: ContentHash::of(&content),
                    link: None,
                }
            } else {
                continue;
            };
            snapshot.push((SyncPath(rel), entry));
        }
        snapshot.into_iter().collect()
    }

    /// Everything in a tree: directories, files with their mode and
    /// content hash, symlinks with their text.
    fn tree(root: &Path) -> BTreeMap<Vec<u8>, String> {
        let mut items = Vec::new();
        walk(root, b"", &mut items);
        items
            .into_iter()
            .map(|(rel, meta)| {
                let path = os(root, &rel);
                let what = if meta.is_dir() {
                    "dir".to_string()
                } else if meta.is_symlink() {
                    let text = std::fs::read_link(&path).expect("readlink");
                    format!("link {:?}", text)
                } else {
                    let content = std::fs::read(&path).expect("read");
                    format!(
                        "file {:o} {}",
                        meta.permissions().mode() & 0o777,
                        blake3::hash(&content).to_hex()
                    )
                };
                (rel, what)
            })
            .collect()
    }

    fn stray_temps(root: &Path) -> Vec<String> {
        tree(root)
            .into_keys()
            .filter(|rel| {
                let name = rel.rsplit(|&b| b == b'/').next().unwrap_or(rel);
                name.starts_with(STAGE_PREFIX.as_bytes())
            })
            .map(|rel| String::from_utf8_lossy(&rel).into_owned())
            .collect()
    }

    // -- the fixture --------------------------------------------------------

    struct Fixture {
        dir: tempfile::TempDir,
        source: PathBuf,
        target: PathBuf,
        journal: PathBuf,
    }

    const WEIRD: &[u8] = b"sp ace/new\nline \xff\xfe.txt";

    /// A source and a target differing in every way a sync handles: adds
    /// (new directories too), modifies (content, mode only, a read-only
    /// file, symlink text, file to symlink), deletes (with directories to
    /// prune), a file that becomes a directory and a directory that
    /// becomes a file, odd names, and a file larger than one copy buffer.
    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let source = dir.path().join("source");
        let target = dir.path().join("target");
        let journal = dir.path().join("journal");
        std::fs::create_dir_all(&source).expect("source");
        std::fs::create_dir_all(&target).expect("target");
        let (s, t) = (source.as_path(), target.as_path());

        write(t, b"keep.txt", b"same");
        write(s, b"keep.txt", b"same");
        write(t, b"mod.txt", b"old");
        write(s, b"mod.txt", b"new content");
        write(t, b"ro.txt", b"old read-only");
        chmod(t, b"ro.txt", 0o444);
        write(s, b"ro.txt", b"new read-only");
        write(t, b"del.txt", b"bye");
        write(t, b"gone/deep/x.txt", b"bye too");
        write(t, b"swap_file", b"a file that becomes a directory");
        write(s, b"swap_file/inner.txt", b"inside");
        write(t, b"swap_dir/a.txt", b"a");
        write(t, b"swap_dir/sub/b.txt", b"b");
        write(s, b"swap_dir", b"a directory that becomes a file");
        write(t, b"exec.sh", b"#!/bin/sh\necho hi\n");
        write(s, b"exec.sh", b"#!/bin/sh\necho hi\n");
        chmod(s, b"exec.sh", 0o755);
        write(t, b"bin/tool", b"#!/bin/sh\n");
        chmod(t, b"bin/tool", 0o755);
        write(s, b"bin/tool", b"#!/bin/sh\nexit 0\n");
        link(t, b"oldlink", b"somewhere");
        link(s, b"oldlink", b"elsewhere");
        write(t, b"filelink", b"was a file");
        link(s, b"filelink", b"keep.txt");
        link(s, b"newlink", b"../../outside");
        write(s, b"new/dir/added.txt", b"added");
        write(s, WEIRD, b"odd name");
        let big: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        write(s, b"big.bin", &big);
        Fixture {
            dir,
            source,
            target,
            journal,
        }
    }

    fn plan(f: &Fixture) -> Vec<Change> {
        changes(&scan(&f.source), &scan(&f.target)).collect()
    }

    fn request<'a>(f: &'a Fixture, changes: &'a [Change], id: &'a str) -> ApplyRequest<'a> {
        ApplyRequest {
            source_root: &f.source,
            target_root: &f.target,
            changes,
            journal_dir: &f.journal,
            apply_id: id,
            plan_id: "plan-1",
        }
    }

    fn journal_state(f: &Fixture, id: &str) -> JournalState {
        JournalState::of(&journal::read(&journal::journal_path(&f.journal, id)).expect("journal"))
    }

    /// Asserts a failed apply left the target exactly as it was.
    fn assert_untouched(f: &Fixture, before: &BTreeMap<Vec<u8>, String>, id: &str) {
        assert_eq!(&tree(&f.target), before);
        assert_eq!(stray_temps(&f.target), Vec::<String>::new());
        assert_eq!(journal_state(f, id), JournalState::Aborted);
        assert_eq!(interrupted(&f.journal).expect("interrupted"), None);
    }

    // -- applying -----------------------------------------------------------

    #[test]
    fn apply_makes_the_target_equal_the_source() {
        let f = fixture();
        let changes = plan(&f);
        let kinds = |k| changes.iter().filter(|c| c.kind == k).count();
        assert_eq!(
            (
                kinds(ChangeKind::Add),
                kinds(ChangeKind::Modify),
                kinds(ChangeKind::Delete)
            ),
            (6, 6, 5),
            "{changes:#?}"
        );
        let outcome = apply(&request(&f, &changes, "a1")).expect("apply");
        assert_eq!(
            (outcome.added, outcome.modified, outcome.deleted),
            (6, 6, 5)
        );
        assert_eq!(scan(&f.target), scan(&f.source));
        assert_eq!(stray_temps(&f.target), Vec::<String>::new());
        assert_eq!(journal_state(&f, "a1"), JournalState::Committed);
        assert_eq!(interrupted(&f.journal).expect("interrupted"), None);

        let t = f.target.as_path();
        // Emptied directories are gone, new ones exist.
        assert!(!t.join("gone").exists());
        assert!(t.join("new/dir").is_dir());
        assert!(t.join("swap_file").is_dir() && t.join("swap_dir").is_file());
        // Modes: the executable bit follows the plan, the read-only file
        // keeps its mode.
        let mode = |rel: &str| {
            std::fs::symlink_metadata(t.join(rel))
                .expect("meta")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("exec.sh") & 0o111, 0o111);
        assert_eq!(
            mode("bin/tool") & 0o111,
            0,
            "the source's tool is not executable"
        );
        assert_eq!(mode("mod.txt") & 0o111, 0);
        assert_eq!(mode("ro.txt"), 0o444);
        assert_eq!(
            std::fs::read(t.join("ro.txt")).expect("ro"),
            b"new read-only"
        );
        // Symlinks are links, with the planned text.
        assert_eq!(
            std::fs::read_link(t.join("newlink")).expect("link"),
            Path::new("../../outside")
        );
        assert!(
            std::fs::symlink_metadata(t.join("filelink"))
                .expect("meta")
                .is_symlink()
        );
        // The odd name is there, byte for byte.
        assert_eq!(std::fs::read(os(t, WEIRD)).expect("weird"), b"odd name");
        // Recovering a committed apply does nothing.
        let again = recover(&f.target, &f.journal, Some("a1")).expect("recover");
        assert_eq!(again.action, RecoveryAction::AlreadyCommitted);
    }

    #[test]
    fn apply_replaces_a_read_only_file_in_a_writable_directory() {
        let f = fixture();
        let changes: Vec<Change> = plan(&f)
            .into_iter()
            .filter(|c| c.path.0 == b"ro.txt")
            .collect();
        assert_eq!(changes.len(), 1);
        apply(&request(&f, &changes, "ro")).expect("apply");
        let meta = std::fs::metadata(f.target.join("ro.txt")).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o777, 0o444);
        assert_eq!(
            std::fs::read(f.target.join("ro.txt")).expect("read"),
            b"new read-only"
        );
    }

    #[test]
    fn apply_refuses_a_stale_source_and_leaves_the_target() {
        let f = fixture();
        let changes = plan(&f);
        let before = tree(&f.target);
        write(&f.source, b"new/dir/added.txt", b"changed after the plan");
        let err = apply(&request(&f, &changes, "stale")).expect_err("stale");
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.to_string().contains("stale source"), "{err}");
        assert!(err.to_string().contains("new/dir/added.txt"), "{err}");
        assert_untouched(&f, &before, "stale");
    }

    #[test]
    fn apply_refuses_a_stale_target_and_leaves_it() {
        let f = fixture();
        let changes = plan(&f);
        write(&f.target, b"del.txt", b"edited by hand since the plan");
        let before = tree(&f.target);
        let err = apply(&request(&f, &changes, "stale-t")).expect_err("stale");
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.to_string().contains("stale target: `del.txt`"), "{err}");
        assert_untouched(&f, &before, "stale-t");
    }

    #[test]
    fn apply_refuses_unsafe_and_inconsistent_plans() {
        let f = fixture();
        let entry = |c: &[u8]| Entry {
            kind: EntryKind::File,
            executable: false,
            size: c.len() as u64,
            hash: ContentHash::of(c),
            link: None,
        };
        let add = |p: &[u8]| Change {
            path: SyncPath(p.to_vec()),
            kind: ChangeKind::Add,
            before: None,
            after: Some(entry(b"x")),
        };
        for (plan, needle) in [
            (vec![add(b"../escape")], "unsafe path"),
            (vec![add(b"/abs")], "unsafe path"),
            (vec![add(b"a//b")], "unsafe path"),
            (vec![add(b"a/./b")], "unsafe path"),
            (vec![add(b"twice"), add(b"twice")], "twice"),
            (vec![add(b"f"), add(b"f/g")], "under `f`"),
        ] {
            let err = apply(&request(&f, &plan, "bad")).expect_err(needle);
            assert_eq!(err.kind(), ErrorKind::Input);
            assert!(err.to_string().contains(needle), "{err}");
        }
        // Nothing was journaled for a plan refused up front.
        assert!(!f.journal.exists());
        // An apply id is used once.
        let changes = plan(&f);
        apply(&request(&f, &changes, "once")).expect("first");
        let err = apply(&request(&f, &[], "once")).expect_err("reused");
        assert!(err.to_string().contains("already has a journal"), "{err}");
    }

    #[test]
    fn apply_never_writes_through_a_symlink_in_the_target() {
        let f = fixture();
        let outside = f.dir.path().join("outside");
        write(&outside, b"sentinel", b"do not touch");
        write(&outside, b"existing", b"outside content");
        let outside_before = tree(&outside);
        // target/link -> outside; the source has a real directory there.
        link(&f.target, b"link", outside.as_os_str().as_bytes());
        write(&f.source, b"link/file", b"would escape");
        write(&f.source, b"link/existing", b"would overwrite");
        let source = scan(&f.source);
        let target = scan(&f.target);
        let pick = |p: &[u8]| SyncPath(p.to_vec());
        let after = |p: &[u8]| source.get(&pick(p).0).expect("in the source");
        let outside_entry = |p: &[u8]| {
            let content = std::fs::read(os(&outside, p)).expect("read");
            Entry {
                kind: EntryKind::File,
                executable: false,
                size: content.len() as u64,
                hash: ContentHash::of(&content),
                link: None,
            }
        };
        let bad_plans = [
            vec![Change {
                path: pick(b"link/file"),
                kind: ChangeKind::Add,
                before: None,
                after: Some(after(b"link/file")),
            }],
            vec![Change {
                path: pick(b"link/existing"),
                kind: ChangeKind::Modify,
                before: Some(outside_entry(b"existing")),
                after: Some(after(b"link/existing")),
            }],
            vec![Change {
                path: pick(b"link/sentinel"),
                kind: ChangeKind::Delete,
                before: Some(outside_entry(b"sentinel")),
                after: None,
            }],
        ];
        for (n, bad) in bad_plans.iter().enumerate() {
            let before = tree(&f.target);
            let id = format!("escape-{n}");
            let err = apply(&request(&f, bad, &id)).expect_err("escape");
            assert_eq!(err.kind(), ErrorKind::Input, "{err}");
            assert!(err.to_string().contains("symlink `link`"), "{err}");
            assert_eq!(tree(&outside), outside_before);
            assert_untouched(&f, &before, &id);
        }
        // The full plan replaces the symlink with a directory: still
        // nothing outside changes.
        let changes: Vec<Change> = changes(&source, &target)
            .filter(|c| c.path.0.starts_with(b"link"))
            .collect();
        assert_eq!(changes.len(), 3, "{changes:#?}");
        apply(&request(&f, &changes, "replace-link")).expect("apply");
        assert!(f.target.join("link").is_dir());
        assert!(
            !std::fs::symlink_metadata(f.target.join("link"))
                .expect("meta")
                .is_symlink()
        );
        assert_eq!(
            std::fs::read(f.target.join("link/file")).expect("read"),
            b"would escape"
        );
        assert_eq!(tree(&outside), outside_before);
    }

    // -- full disks and read-only directories -------------------------------

    #[test]
    fn apply_undoes_staging_on_an_injected_full_disk() {
        let f = fixture();
        let changes = plan(&f);
        let before = tree(&f.target);
        for fail_at in [1, 3, 6] {
            let id = format!("enospc-{fail_at}");
            let hooks = Hooks {
                fail_write_at: Some(fail_at),
                ..Hooks::default()
            };
            let err = apply_with(&request(&f, &changes, &id), &hooks).expect_err("full");
            assert_eq!(err.kind(), ErrorKind::Environment);
            assert!(err.to_string().contains("no space left"), "{err}");
            assert_untouched(&f, &before, &id);
        }
    }

    /// Unmounts on drop.
    struct Mount(PathBuf);

    impl Drop for Mount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }

    fn quiet(cmd: &mut std::process::Command) -> bool {
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// A real ENOSPC on a 64 KiB tmpfs; skipped where `mount` is not
    /// allowed (not root).
    #[test]
    fn apply_undoes_staging_on_a_real_full_disk() {
        let f = fixture();
        let small = f.dir.path().join("small");
        std::fs::create_dir_all(&small).expect("mkdir");
        if !quiet(
            std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
                .arg(&small),
        ) {
            return;
        }
        let _mount = Mount(small.clone());
        let target = small.join("target");
        write(&target, b"mod.txt", b"old");
        write(&target, b"keep.txt", b"same");
        let changes = plan(&Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
            source: f.source.clone(),
            target: target.clone(),
            journal: f.journal.clone(),
        });
        let before = tree(&target);
        let request = ApplyRequest {
            source_root: &f.source,
            target_root: &target,
            changes: &changes,
            journal_dir: &f.journal,
            apply_id: "tmpfs",
            plan_id: "p",
        };
        let err = apply(&request).expect_err("full disk");
        assert_eq!(err.kind(), ErrorKind::Environment, "{err}");
        assert!(
            err.to_string().to_lowercase().contains("no space left"),
            "{err}"
        );
        assert_eq!(tree(&target), before);
        assert_eq!(stray_temps(&target), Vec::<String>::new());
        assert_eq!(journal_state(&f, "tmpfs"), JournalState::Aborted);
    }

    /// Makes a directory read-only for real, even for root: mode 0555,
    /// or, where that does not stop root, the immutable attribute. Undone
    /// on drop.
    struct ReadOnly(PathBuf, bool);

    impl ReadOnly {
        fn new(dir: &Path) -> Option<Self> {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).ok()?;
            let probe = dir.join(".probe");
            if std::fs::write(&probe, b"").is_err() {
                return Some(ReadOnly(dir.to_path_buf(), false));
            }
            let _ = std::fs::remove_file(&probe);
            if quiet(std::process::Command::new("chattr").arg("+i").arg(dir)) {
                return Some(ReadOnly(dir.to_path_buf(), true));
            }
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
            None
        }
    }

    impl Drop for ReadOnly {
        fn drop(&mut self) {
            if self.1 {
                let _ = quiet(std::process::Command::new("chattr").arg("-i").arg(&self.0));
            }
            let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
        }
    }

    #[test]
    fn apply_into_a_read_only_directory_fails_with_nothing_half_applied() {
        let f = fixture();
        // gone/deep/x.txt is deleted: its directory is probed while staging.
        let changes = plan(&f);
        let before = tree(&f.target);
        let Some(guard) = ReadOnly::new(&f.target.join("gone/deep")) else {
            return;
        };
        let err = apply(&request(&f, &changes, "ro-dir")).expect_err("read-only");
        drop(guard);
        assert_eq!(err.kind(), ErrorKind::Environment, "{err}");
        assert!(err.to_string().contains("gone/deep"), "{err}");
        assert_untouched(&f, &before, "ro-dir");

        // A read-only directory an add writes into fails the same way.
        let f = fixture();
        let changes = plan(&f);
        let before = tree(&f.target);
        let Some(guard) = ReadOnly::new(&f.target.join("bin")) else {
            return;
        };
        let err = apply(&request(&f, &changes, "ro-add")).expect_err("read-only");
        drop(guard);
        assert!(err.to_string().contains("bin"), "{err}");
        assert_untouched(&f, &before, "ro-add");
    }

    // -- crashes ------------------------------------------------------------

    const CHILD_ENV: &str = "TRAINYARD_SYNC_TEST_CHILD";

    /// What the child process does.
    #[derive(Serialize, Deserialize)]
    struct ChildSpec {
        recover: bool,
        source: PathBuf,
        target: PathBuf,
        journal: PathBuf,
        apply_id: String,
        changes: Vec<Change>,
    }

    /// Child mode of the crash tests: with [`CHILD_ENV`] naming a spec
    /// file, applies (or recovers) as it says; the crash point in
    /// `TRAINYARD_SYNC_CRASH_AFTER` aborts it midway. Without the
    /// variable (a normal test run) it does nothing.
    #[test]
    fn crash_child() {
        let Ok(spec) = std::env::var(CHILD_ENV) else {
            return;
        };
        let spec: ChildSpec =
            serde_json::from_slice(&std::fs::read(spec).expect("spec")).expect("parse spec");
        if spec.recover {
            recover(&spec.target, &spec.journal, Some(&spec.apply_id)).expect("recover");
        } else {
            apply(&ApplyRequest {
                source_root: &spec.source,
                target_root: &spec.target,
                changes: &spec.changes,
                journal_dir: &spec.journal,
                apply_id: &spec.apply_id,
                plan_id: "plan-1",
            })
            .expect("apply");
        }
    }

    /// Runs the child with a crash point; asserts it aborted.
    fn crash(f: &Fixture, changes: &[Change], id: &str, recover: bool, point: &str) {
        let spec_path = f.dir.path().join(format!("spec-{id}-{recover}.json"));
        let spec = ChildSpec {
            recover,
            source: f.source.clone(),
            target: f.target.clone(),
            journal: f.journal.clone(),
            apply_id: id.to_string(),
            changes: changes.to_vec(),
        };
        std::fs::write(&spec_path, serde_json::to_vec(&spec).expect("json")).expect("spec");
        let output = std::process::Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--exact",
                "sync::apply::tests::crash_child",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(CHILD_ENV, &spec_path)
            .env(journal::CRASH_AFTER_ENV, point)
            .output()
            .expect("run child");
        assert_eq!(
            output.status.signal(),
            Some(9),
            "child was not killed at {point}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Every journal step of a clean apply, as crash points `event:n`,
    /// and whether each is past the commit point.
    fn crash_points(events: &[Event]) -> Vec<(String, bool)> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        let mut committed = false;
        events
            .iter()
            .map(|e| {
                committed |= matches!(e, Event::StagedAll { .. });
                let n = counts.entry(e.name()).or_default();
                *n += 1;
                (format!("{}:{n}", e.name()), committed)
            })
            .collect()
    }

    #[test]
    fn apply_crash_at_every_journal_step_then_recover_is_all_or_nothing() {
        // The reference: the trees before and after a clean apply, and
        // the journal steps it takes.
        let reference = fixture();
        let changes = plan(&reference);
        let before = tree(&reference.target);
        apply(&request(&reference, &changes, "ref")).expect("reference apply");
        let after = tree(&reference.target);
        let events =
            journal::read(&journal::journal_path(&reference.journal, "ref")).expect("read");
        let points = crash_points(&events);
        for kind in [
            "begin:1",
            "stage:1",
            "staged:1",
            "staged_all:1",
            "deleted:1",
            "renamed:1",
        ] {
            assert!(
                points.iter().any(|(p, _)| p == kind),
                "{kind} in {points:?}"
            );
        }
        assert!(points.len() > 30, "{points:?}");

        for (point, past_commit) in &points {
            let f = fixture();
            assert_eq!(tree(&f.target), before);
            crash(&f, &changes, "crashy", false, point);
            let finished = point.starts_with("committed");
            assert_eq!(
                interrupted(&f.journal).expect("interrupted"),
                (!finished).then(|| "crashy".to_string()),
                "{point}"
            );
            let outcome = recover(&f.target, &f.journal, None).expect("recover");
            let expected = match (finished, past_commit) {
                (true, _) => RecoveryAction::NothingToRecover,
                (false, true) => RecoveryAction::RolledForward,
                (false, false) => RecoveryAction::RolledBack,
            };
            assert_eq!(outcome.action, expected, "{point}");
            let wanted = if *past_commit { &after } else { &before };
            assert_eq!(&tree(&f.target), wanted, "after a crash at {point}");
            assert_eq!(stray_temps(&f.target), Vec::<String>::new(), "{point}");
            assert_eq!(
                interrupted(&f.journal).expect("interrupted"),
                None,
                "{point}"
            );
            let again = recover(&f.target, &f.journal, Some("crashy")).expect("again");
            assert!(
                matches!(
                    again.action,
                    RecoveryAction::AlreadyCommitted | RecoveryAction::AlreadyAborted
                ),
                "{point}: {again:?}"
            );
        }
    }

    #[test]
    fn recover_survives_a_crash_of_its_own() {
        let reference = fixture();
        let changes = plan(&reference);
        let before = tree(&reference.target);
        apply(&request(&reference, &changes, "ref")).expect("reference apply");
        let after = tree(&reference.target);

        // Rolling forward, interrupted after its first delete and after
        // its third rename.
        for point in ["deleted:1", "renamed:3"] {
            let f = fixture();
            crash(&f, &changes, "twice", false, "staged_all");
            crash(&f, &changes, "twice", true, point);
            let outcome = recover(&f.target, &f.journal, None).expect("recover");
            assert_eq!(outcome.action, RecoveryAction::RolledForward, "{point}");
            assert_eq!(tree(&f.target), after, "{point}");
            assert_eq!(stray_temps(&f.target), Vec::<String>::new());
        }
        // Rolling back, interrupted once it journaled `aborted`.
        let f = fixture();
        crash(&f, &changes, "back", false, "staged:3");
        crash(&f, &changes, "back", true, "aborted");
        let outcome = recover(&f.target, &f.journal, Some("back")).expect("recover");
        assert_eq!(outcome.action, RecoveryAction::AlreadyAborted);
        assert_eq!(tree(&f.target), before);
        assert_eq!(stray_temps(&f.target), Vec::<String>::new());
    }

    #[test]
    fn recover_with_nothing_interrupted_does_nothing() {
        let f = fixture();
        let outcome = recover(&f.target, &f.journal, None).expect("recover");
        assert_eq!(outcome.action, RecoveryAction::NothingToRecover);
        assert_eq!(outcome.apply_id, None);
        let err = recover(&f.target, &f.journal, Some("nope")).expect_err("no journal");
        assert_eq!(err.kind(), ErrorKind::Input);
        // A journal is recovered only against its own target.
        let changes = plan(&f);
        crash(&f, &changes, "elsewhere", false, "staged:1");
        let other = f.dir.path().join("other");
        std::fs::create_dir_all(&other).expect("mkdir");
        let err = recover(&other, &f.journal, None).expect_err("wrong target");
        assert!(
            err.to_string().contains("recover it against that target"),
            "{err}"
        );
    }
}
