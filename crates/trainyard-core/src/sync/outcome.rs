//! The log an apply owes: every apply's outcome is journaled in the
//! sync's state before the target is touched, so that its `sync_log` is
//! written even when the evidence store is busy or the process dies.
//!
//! `<state>/<sync>/outcomes/<execution id>.jsonl` is created (and flushed)
//! before the first change to the target, with a `begun` line naming the
//! plan, the approval and the log's name; once the apply has ended, a
//! `finished` line holds the whole `sync_log`. The file is removed once
//! the log is recorded. The applying run holds a lock on the file all the
//! while, so another run tells a live apply from one whose process died
//! (the lock is gone with it).
//!
//! A file left behind is a log owed: [`super::engine::settle_logs`], run
//! by `sync recover` and at the start of every sync command of that
//! sync, records the `finished` log as it is, or, for an apply that died
//! before it finished, one made from what the target holds now.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::record::{LogApproval, LogDryRun, SyncLog};
use crate::fsutil::sync_dir;
use crate::{Error, Result};

/// The file name ending of an outcome journal.
pub const EXTENSION: &str = "jsonl";

/// One line of an outcome journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum OutcomeEvent {
    /// Written before the target is touched.
    Begun {
        /// The apply's id, also the name of its journal and its log.
        execution_id: String,
        /// The plan applied.
        plan_id: String,
        /// Its evidence path.
        plan_ref: String,
        /// When the apply started.
        started_at: String,
        /// Who applied it.
        executed_by: String,
        /// The dry-run, as the log names it.
        dry_run: LogDryRun,
        /// The approval, as the log names it.
        approval: LogApproval,
    },
    /// The apply ended: the log it owes, whole.
    Finished {
        /// The log.
        log: SyncLog,
    },
}

/// What an outcome journal says.
#[derive(Debug, Clone, PartialEq)]
pub struct Owed {
    /// The journal file.
    pub path: PathBuf,
    /// What the `begun` line says (none for an empty or damaged journal).
    pub begun: Option<OutcomeEvent>,
    /// The log, when the apply finished.
    pub log: Option<SyncLog>,
}

impl Owed {
    /// The apply's id.
    pub fn execution_id(&self) -> Option<&str> {
        match &self.begun {
            Some(OutcomeEvent::Begun { execution_id, .. }) => Some(execution_id),
            _ => self.log.as_ref().map(|l| l.execution_id.as_str()),
        }
    }

    /// The plan applied.
    pub fn plan_id(&self) -> Option<&str> {
        match &self.begun {
            Some(OutcomeEvent::Begun { plan_id, .. }) => Some(plan_id),
            _ => None,
        }
    }
}

/// The outcome journal of an apply in progress, locked while it lives.
#[derive(Debug)]
pub struct Pending {
    path: PathBuf,
    file: File,
}

impl Pending {
    /// Creates the journal of `begun` in `dir` (which is created), locks
    /// it and flushes its first line and its directory entry to disk.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the file when it cannot be created, locked,
    /// written or flushed; [`Error::Input`] when one exists already.
    pub fn begin(dir: &Path, begun: &OutcomeEvent) -> Result<Pending> {
        let OutcomeEvent::Begun { execution_id, .. } = begun else {
            return Err(Error::Internal(
                "an outcome journal begins with begun".into(),
            ));
        };
        super::journal::check_id("execution id", execution_id)?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
        let path = dir.join(format!("{execution_id}.{EXTENSION}"));
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io("cannot create", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::environment(format!(
                    "{} is locked by another trainyard run",
                    path.display()
                )));
            }
            Err(TryLockError::Error(e)) => return Err(Error::io("cannot lock", &path, e)),
        }
        let mut pending = Pending { path, file };
        pending.append(begun)?;
        sync_dir(dir)?;
        Ok(pending)
    }

    /// Appends the finished log and flushes it to disk.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the file when it cannot be written or flushed.
    pub fn finish(&mut self, log: &SyncLog) -> Result<()> {
        self.append(&OutcomeEvent::Finished { log: log.clone() })
    }

    fn append(&mut self, event: &OutcomeEvent) -> Result<()> {
        let mut line = serde_json::to_vec(event)
            .map_err(|e| Error::Internal(format!("cannot encode an outcome: {e}")))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| Error::io("cannot write", &self.path, e))
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The log is recorded: the journal goes.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be removed (the log is recorded
    /// all the same; the next settle removes it).
    pub fn done(self) -> Result<()> {
        remove(&self.path)
    }
}

/// Removes an outcome journal.
///
/// # Errors
///
/// [`Error::Io`] naming the file when it cannot be removed.
pub fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("cannot remove", path, e)),
    }
}

/// The outcome journals in `dir`, sorted: each path.
///
/// # Errors
///
/// [`Error::Io`] when the directory cannot be listed.
pub fn journals(dir: &Path) -> Result<Vec<PathBuf>> {
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot list", dir, e)),
    };
    let mut out = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| Error::io("cannot list", dir, e))?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == EXTENSION) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// A journal not held by a live apply, locked for reading and settling;
/// `None` while its apply still runs.
///
/// # Errors
///
/// [`Error::Io`] when it cannot be opened or read.
pub fn claim(path: &Path) -> Result<Option<(File, Owed)>> {
    let mut file = match OpenOptions::new().read(true).append(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot open", path, e)),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(e)) => return Err(Error::io("cannot lock", path, e)),
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", path, e))?;
    Ok(Some((file, parse(path, &bytes))))
}

/// What the journal's lines say; a line that does not parse (torn by a
/// power cut) is ignored.
fn parse(path: &Path, bytes: &[u8]) -> Owed {
    let mut owed = Owed {
        path: path.to_path_buf(),
        begun: None,
        log: None,
    };
    for line in bytes.split(|&b| b == b'\n') {
        match serde_json::from_slice::<OutcomeEvent>(line) {
            Ok(begun @ OutcomeEvent::Begun { .. }) => owed.begun = Some(begun),
            Ok(OutcomeEvent::Finished { log }) => owed.log = Some(log),
            Err(_) => {}
        }
    }
    owed
}

/// What every journal in `dir` says, without claiming any: for telling
/// whether a plan's apply is owed a log.
///
/// # Errors
///
/// [`Error::Io`] when a journal cannot be read.
pub fn read_all(dir: &Path) -> Result<Vec<Owed>> {
    let mut out = Vec::new();
    for path in journals(dir)? {
        match std::fs::read(&path) {
            Ok(bytes) => out.push(parse(&path, &bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("cannot read", &path, e)),
        }
    }
    Ok(out)
}
