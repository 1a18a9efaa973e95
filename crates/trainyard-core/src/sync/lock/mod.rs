//! One apply at a time per sync target, whatever sync or repository writes
//! it: lock files that carry their holder, plan and times, expire, and are
//! taken over only from a holder that is gone.
//!
//! # Where a lock lives
//!
//! A target has exactly one lock file, found from the target alone
//! ([`spot_for`]), so two syncs with the same target, or two repositories
//! syncing into one directory, contend for the same file:
//!
//! * a `file` target `/srv/site` (its canonical path: symlinks resolved,
//!   `..` gone) is locked by `/srv/.site.trainyard-lock`, beside it: not
//!   inside the tree, which a sync would see as a difference, and found by
//!   every repository and user that can write the target's parent;
//! * a `git` target is locked by URL and branch, an `api` or `registry`
//!   target by its base URL, each normalised (scheme and host lowercased,
//!   default ports, user names and trailing `/` or `.git` dropped, a local
//!   path made canonical), in a per-user directory:
//!   `$TRAINYARD_LOCK_DIR`, else `$XDG_STATE_HOME/trainyard/locks`, else
//!   `~/.local/state/trainyard/locks`, as `git-<hash>.lock` or
//!   `url-<hash>.lock`. A remote target is also protected by the server
//!   (a compare-and-swap push, `If-Match`), which the lock only spares a
//!   refusal.
//!
//! # Taking a lock
//!
//! A lock file holds a JSON [`LockInfo`]. Taking it is race-free between
//! threads and processes:
//!
//! 1. the complete lock content is written to a fresh temporary file
//!    beside the lock (created with `O_EXCL`,
//!    [`std::fs::OpenOptions::create_new`]), which is flushed and
//!    `flock`ed ([`File::try_lock`](std::fs::File::try_lock)) at once;
//! 2. the temporary file is published under the lock name with `link(2)`,
//!    which, like `O_EXCL`, fails when the name exists: exactly one
//!    contender wins, and nobody ever reads a half-written lock;
//! 3. the winner keeps the `flock` for as long as the [`TargetLock`]
//!    lives, so "is a live process holding this?" has an exact answer on
//!    this machine: a free `flock` means the holder is gone.
//!
//! A lock whose holder is gone is taken over only as [`TakeOver`] allows:
//! an apply takes it once its `expires_at` has passed (and not while the
//! apply it protected awaits recovery), a recovery at once. Of two
//! contenders only the one holding the old file's `flock` may `rename`
//! its own lock over it (the other sees the file change under it, looks
//! again, and finds the new lock). A process still running keeps its lock
//! however old. [`break_lock`] removes a lock whose holder is gone when
//! given its id. Dropping a [`TargetLock`] removes the file if it is still
//! the one this lock created.

mod acquire;
mod file;
mod liveness;
mod refusal;
mod spot;
mod unlock;

pub use acquire::{LockRequest, TakeOver, TargetLock};
pub use file::{LockAction, LockInfo, read_lock};
pub use liveness::{FoundLock, inspect};
pub use refusal::{LockHeld, recover_command, refusal, shell_word};
pub use spot::{LOCK_DIR_ENV, LockSpot, spot_for};
pub use unlock::break_lock;

#[cfg(test)]
mod tests;
