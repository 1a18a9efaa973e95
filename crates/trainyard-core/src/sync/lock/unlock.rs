//! Breaking a lock whose holder is gone, given its id (`sync unlock`).

use std::fs::File;

use jiff::Timestamp;

use super::acquire::LockRequest;
use super::file::{LockInfo, is_same_file, read_info};
use super::refusal::held;
use super::spot::LockSpot;
use crate::fsutil::sync_dir;
use crate::{Error, Result};

/// Breaks the lock at `spot` if its id is `id` and its holder is gone,
/// once `allow` accepts it, and returns what it said. `asking` is the
/// request of whoever breaks it at `now`, for the refusal.
///
/// # Errors
///
/// Returns an [`Error::Input`] when there is no such lock, when its id is
/// not `id` (nothing is removed then), or when the lock file is
/// unreadable; an [`Error::Locked`] when a running process holds it; the
/// error of `allow`; [`Error::Io`] when it cannot be removed.
pub fn break_lock(
    spot: &LockSpot,
    id: &str,
    asking: &LockRequest,
    now: Timestamp,
    allow: &dyn Fn(&LockInfo) -> Result<()>,
) -> Result<LockInfo> {
    let path = spot.path();
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::input(format!(
                "sync target {} is not locked ({} does not exist)",
                spot.target(),
                path.display()
            )));
        }
        Err(e) => return Err(Error::io("cannot open lock", &path, e)),
    };
    let info = read_info(&file, &path)?;
    if info.id != id {
        return Err(Error::input(format!(
            "lock {} has the id `{}`, not `{id}`; nothing was removed",
            path.display(),
            info.id
        )));
    }
    // Holding its flock, nobody can take it over while we look.
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(Error::Locked(Box::new(held(
                spot, &info, true, now, asking,
            ))));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("cannot lock", &path, e)),
    }
    if !is_same_file(&file, &path)? {
        return Err(Error::input(format!(
            "lock {} changed while it was being broken; nothing was removed, look again",
            path.display()
        )));
    }
    allow(&info)?;
    std::fs::remove_file(&path).map_err(|e| Error::io("cannot remove lock", &path, e))?;
    sync_dir(spot.dir())?;
    Ok(info)
}
