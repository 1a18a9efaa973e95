//! Whether a lock's holder still runs: on this machine, a process that
//! holds a lock keeps its `flock`, so a free `flock` means it is gone.

use std::fs::File;
use std::path::Path;

use super::file::{LockInfo, read_info};
use super::spot::LockSpot;
use crate::{Error, Result};

/// A lock as found: what it says, and whether a running process holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundLock {
    /// What it says.
    pub info: LockInfo,
    /// Whether a running process holds its `flock` (else the holder is
    /// gone).
    pub running: bool,
}

/// Looks at the lock at `spot`: what it says and whether its holder runs.
/// (The look takes the lock's `flock` for an instant when it is free.)
///
/// # Errors
///
/// As [`read_lock`](super::read_lock).
pub fn inspect(spot: &LockSpot) -> Result<Option<FoundLock>> {
    let path = spot.path();
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot open lock", &path, e)),
    };
    let running = is_held(&file, &path)?;
    let info = read_info(&file, &path)?;
    Ok(Some(FoundLock { info, running }))
}

/// Whether a running process holds the `flock` of the open lock `file`
/// (when it is free, it is taken and kept as long as `file` is open).
pub(super) fn is_held(file: &File, path: &Path) -> Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("cannot lock", path, e)),
    }
}
