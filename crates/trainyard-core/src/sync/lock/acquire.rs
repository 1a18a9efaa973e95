//! Taking a lock and holding it: a [`TargetLock`] is published without a
//! race by `link(2)`, and taken over from a holder that is gone only as
//! [`TakeOver`] allows.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;

use super::file::{LockAction, LockInfo, is_same_file, new_id, read_info, write_locked};
use super::liveness::is_held;
use super::refusal::held;
use super::spot::LockSpot;
use crate::fsutil::sync_dir;
use crate::{Error, Result};

/// Who asks for a lock, and for what.
#[derive(Debug, Clone)]
pub struct LockRequest {
    /// Who (a user or agent name).
    pub owner: String,
    /// To do what.
    pub action: LockAction,
    /// The sync.
    pub sync_id: String,
    /// The plan applied (empty for a recovery).
    pub plan_id: String,
    /// The repository asking (its root, canonical).
    pub repository: PathBuf,
    /// The directory of the journal the apply writes.
    pub journal: Option<PathBuf>,
}

/// When a lock whose holder is gone (its `flock` free) may be taken over.
#[derive(Clone, Copy)]
pub enum TakeOver<'a> {
    /// Once it has expired, if the function allows (an apply).
    Expired(&'a dyn Fn(&LockInfo) -> bool),
    /// At once, if the function allows (a recovery, which finishes what
    /// the holder left).
    Gone(&'a dyn Fn(&LockInfo) -> bool),
}

impl std::fmt::Debug for TakeOver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TakeOver::Expired(_) => "TakeOver::Expired",
            TakeOver::Gone(_) => "TakeOver::Gone",
        })
    }
}

impl TakeOver<'_> {
    fn allows(&self, info: &LockInfo, now: Timestamp) -> bool {
        match self {
            TakeOver::Expired(allow) => info.is_expired(now) && allow(info),
            TakeOver::Gone(allow) => allow(info),
        }
    }
}

/// A held lock on one sync target; released (its file removed) on drop.
#[derive(Debug)]
pub struct TargetLock {
    info: LockInfo,
    path: PathBuf,
    took_over: Option<LockInfo>,
    /// The lock file, `flock`ed while we hold it; `None` once released.
    file: Option<File>,
}

impl TargetLock {
    /// Takes the lock at `spot` (its directory created if missing) for
    /// `request`, valid for `ttl` from `now`.
    ///
    /// A lock whose holder is gone is taken over as `take_over` allows,
    /// and [`TargetLock::took_over`] returns what it said.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Locked`] naming the holder, its process, plan
    /// and times and what to do when the lock is held by a running
    /// process, or by one that is gone and may not be taken over; an
    /// [`Error::Input`] for an invalid time-to-live; [`Error::Io`] when
    /// the lock directory cannot be written.
    pub fn acquire(
        spot: &LockSpot,
        request: &LockRequest,
        ttl: Duration,
        now: Timestamp,
        take_over: TakeOver<'_>,
    ) -> Result<TargetLock> {
        let expires_at = now
            .checked_add(ttl)
            .map_err(|e| Error::input(format!("lock time-to-live {ttl:?} is out of range: {e}")))?;
        std::fs::create_dir_all(spot.dir())
            .map_err(|e| Error::io("cannot create lock directory", spot.dir(), e))?;
        let info = LockInfo {
            id: new_id(spot.target(), &request.owner, &request.plan_id, now),
            target: spot.target().to_owned(),
            owner: request.owner.clone(),
            plan_id: request.plan_id.clone(),
            acquired_at: now,
            expires_at,
            pid: std::process::id(),
            action: request.action,
            sync_id: request.sync_id.clone(),
            repository: Some(request.repository.clone()),
            journal: request.journal.clone(),
        };
        let path = spot.path();
        let temp = spot.temp(&info.id);
        let file = write_locked(&temp, &info)?;
        match publish(spot, &temp, request, now, take_over) {
            Ok(took_over) => Ok(TargetLock {
                info,
                path,
                took_over,
                file: Some(file),
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                Err(e)
            }
        }
    }

    /// What this lock says.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// The lock of a holder that was gone, which this one replaced.
    pub fn took_over(&self) -> Option<&LockInfo> {
        self.took_over.as_ref()
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Releases the lock now, reporting a failure to remove its file
    /// (dropping releases too, silently).
    ///
    /// # Errors
    ///
    /// Returns [`Error::Io`] when the lock file cannot be removed.
    pub fn release(mut self) -> Result<()> {
        self.release_inner()
    }

    /// Lets go of the lock but leaves its file: it stays as the lock of a
    /// holder that is gone, which only a recovery clears (for an apply
    /// that left work to finish).
    pub fn abandon(mut self) {
        self.file = None;
    }

    fn release_inner(&mut self) -> Result<()> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        // Remove the file only when the name still points at the file we
        // created: a broken and re-taken lock belongs to someone else now.
        if is_same_file(&file, &self.path)? {
            std::fs::remove_file(&self.path)
                .map_err(|e| Error::io("cannot remove lock", &self.path, e))?;
            if let Some(dir) = self.path.parent() {
                let _ = sync_dir(dir);
            }
        }
        drop(file);
        Ok(())
    }
}

impl Drop for TargetLock {
    fn drop(&mut self) {
        let _ = self.release_inner();
    }
}

/// Publishes the prepared `temp` as the lock: links it when the lock is
/// free, renames it over a lock whose holder is gone when `take_over`
/// allows. Returns the lock taken over, if any.
fn publish(
    spot: &LockSpot,
    temp: &Path,
    request: &LockRequest,
    now: Timestamp,
    take_over: TakeOver<'_>,
) -> Result<Option<LockInfo>> {
    let path = spot.path();
    for _ in 0..32 {
        match std::fs::hard_link(temp, &path) {
            Ok(()) => {
                std::fs::remove_file(temp)
                    .map_err(|e| Error::io("cannot remove temporary lock", temp, e))?;
                sync_dir(spot.dir())?;
                return Ok(None);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("cannot create lock", &path, e)),
        }
        let existing = match File::open(&path) {
            Ok(file) => file,
            // Released in between: try again.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("cannot open lock", &path, e)),
        };
        let live = is_held(&existing, &path)?;
        if !live && !is_same_file(&existing, &path)? {
            // Replaced or removed while we looked: look again.
            continue;
        }
        let info = read_info(&existing, &path)?;
        if live || !take_over.allows(&info, now) {
            return Err(Error::Locked(Box::new(held(
                spot, &info, live, now, request,
            ))));
        }
        // Its holder is gone, and we hold its flock: no one else can take
        // it over until we let go, and we let go only after replacing it.
        std::fs::rename(temp, &path).map_err(|e| Error::io("cannot take over lock", &path, e))?;
        sync_dir(spot.dir())?;
        drop(existing);
        return Ok(Some(info));
    }
    Err(Error::environment(format!(
        "cannot take lock {}: it kept changing while trainyard looked at it",
        path.display()
    )))
}
