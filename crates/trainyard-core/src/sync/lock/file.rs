//! The lock file: what it says ([`LockInfo`]), a fresh lock's id, and
//! how the file is written, read and recognised as the same file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::spot::LockSpot;
use crate::{Error, Result};

/// What a lock is held for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockAction {
    /// Applying a plan.
    #[default]
    Apply,
    /// Finishing or undoing an interrupted apply.
    Recover,
}

/// What a lock file says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The lock's id, which breaking it needs.
    pub id: String,
    /// The target locked, as [`LockSpot::target`] names it.
    pub target: String,
    /// Who holds it (a user or agent name).
    pub owner: String,
    /// The plan being applied under it (empty for a recovery).
    pub plan_id: String,
    /// When it was taken.
    pub acquired_at: Timestamp,
    /// When a holder that is gone stops protecting anything (an apply
    /// takes over an expired lock whose holder is gone).
    pub expires_at: Timestamp,
    /// The holder's process id.
    pub pid: u32,
    /// What the holder does.
    #[serde(default)]
    pub action: LockAction,
    /// The holder's sync.
    #[serde(default)]
    pub sync_id: String,
    /// The holder's repository (its root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<PathBuf>,
    /// The directory of the journal the holder's apply writes, for the
    /// recovery after a crash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<PathBuf>,
}

impl LockInfo {
    /// Whether the lock has expired at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// What the holder does, for messages: `applying plan P of sync S`.
    pub(super) fn doing(&self) -> String {
        let sync = if self.sync_id.is_empty() {
            String::new()
        } else {
            format!(" of sync {}", self.sync_id)
        };
        match self.action {
            LockAction::Apply => format!("applying plan {}{sync}", self.plan_id),
            LockAction::Recover => format!("recovering{sync}"),
        }
    }
}

/// Reads the lock at `spot`, if there is one.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an unreadable lock file and
/// [`Error::Io`] when it cannot be read.
pub fn read_lock(spot: &LockSpot) -> Result<Option<LockInfo>> {
    let path = spot.path();
    match File::open(&path) {
        Ok(file) => read_info(&file, &path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot open lock", &path, e)),
    }
}

/// A fresh lock id: BLAKE3 over the lock's particulars, the clock, the
/// process and a counter, so two acquisitions never share one.
pub(super) fn new_id(target: &str, owner: &str, plan_id: &str, now: Timestamp) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"trainyard-lock/1\0");
    for part in [target, owner, plan_id] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.update(&now.as_nanosecond().to_le_bytes());
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hasher.update(&clock.to_le_bytes());
    hasher.update(&std::process::id().to_le_bytes());
    hasher.update(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    hasher.update(format!("{:?}", std::thread::current().id()).as_bytes());
    hasher.finalize().to_hex()[..16].to_string()
}

/// Creates `temp` exclusively, locks it and writes `info` to it, flushed.
pub(super) fn write_locked(temp: &Path, info: &LockInfo) -> Result<File> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .map_err(|e| Error::io("cannot create lock", temp, e))?;
    let written = (|| {
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::environment(format!(
                    "cannot lock the new lock file {}: it is locked already",
                    temp.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("cannot lock", temp, e)),
        }
        let mut text = serde_json::to_vec_pretty(info)
            .map_err(|e| Error::Internal(format!("cannot encode lock: {e}")))?;
        text.push(b'\n');
        file.write_all(&text)
            .map_err(|e| Error::io("cannot write lock", temp, e))?;
        file.sync_all()
            .map_err(|e| Error::io("cannot flush lock", temp, e))
    })();
    match written {
        Ok(()) => Ok(file),
        Err(e) => {
            let _ = std::fs::remove_file(temp);
            Err(e)
        }
    }
}

/// Reads a lock file's content through an open handle.
pub(super) fn read_info(mut file: &File, path: &Path) -> Result<LockInfo> {
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| Error::io("cannot read lock", path, e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::input(format!(
            "lock {} is unreadable ({e}); remove it by hand if no sync is running",
            path.display()
        ))
    })
}

/// Whether `path` names the file open as `file` (same device and inode).
pub(super) fn is_same_file(file: &File, path: &Path) -> Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let open = file
            .metadata()
            .map_err(|e| Error::io("cannot inspect lock", path, e))?;
        match std::fs::symlink_metadata(path) {
            Ok(named) => Ok(open.dev() == named.dev() && open.ino() == named.ino()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("cannot inspect lock", path, e)),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        Ok(true)
    }
}
