//! One apply at a time per sync target: lock files that carry their owner,
//! plan and times, expire, and can be broken only by their id.
//!
//! A lock is the file `<lock dir>/<target key>.lock` holding a JSON
//! [`LockInfo`]. Taking it is race-free between threads and processes:
//!
//! 1. the complete lock content is written to a fresh temporary file
//!    (created with `O_EXCL`, [`std::fs::OpenOptions::create_new`]), which
//!    is flushed and `flock`ed ([`File::try_lock`]) at once;
//! 2. the temporary file is published under the lock name with `link(2)`,
//!    which, like `O_EXCL`, fails when the name exists: exactly one
//!    contender wins, and nobody ever reads a half-written lock;
//! 3. the winner keeps the `flock` for as long as the [`TargetLock`]
//!    lives, so "is a live process holding this?" has an exact answer on
//!    this machine.
//!
//! A lock whose `expires_at` has passed is taken over, but only by a
//! contender that gets its `flock`: a process still running keeps its
//! lock however old, and of two contenders for an expired lock only the
//! one holding the old file's `flock` may `rename` its own lock over it
//! (the other sees the file change under it, looks again, and finds the
//! new, unexpired lock). [`break_lock`] removes a lock when given its id,
//! whoever holds it (the `trainyard sync unlock <id>` escape hatch).
//! Dropping a [`TargetLock`] removes the file if it is still the one this
//! lock created.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::journal::check_id;
use crate::fsutil::sync_dir;
use crate::{Error, Result};

/// What a lock file says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The lock's id: the only way to break it.
    pub id: String,
    /// The target key the lock is for.
    pub target: String,
    /// Who holds it (a user or agent name).
    pub owner: String,
    /// The plan being applied under it.
    pub plan_id: String,
    /// When it was taken.
    pub acquired_at: Timestamp,
    /// When it stops protecting anything (a crashed holder's lock is taken
    /// over after this).
    pub expires_at: Timestamp,
    /// The holder's process id.
    pub pid: u32,
}

impl LockInfo {
    /// Whether the lock has expired at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
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

/// The lock file of `target_key` in `lock_dir`.
pub fn lock_path(lock_dir: &Path, target_key: &str) -> PathBuf {
    lock_dir.join(format!("{target_key}.lock"))
}

impl TargetLock {
    /// Takes the lock of `target_key` in `lock_dir` (created if missing)
    /// for `owner` applying `plan_id`, valid for `ttl` from `now`.
    ///
    /// An expired lock that no running process holds is taken over, and
    /// [`TargetLock::took_over`] returns what it said.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] naming the owner, plan, times and
    /// lock id (and how to break it) when the lock is held and unexpired,
    /// or expired but its process still runs; an [`Error::Input`] for an
    /// invalid key or time-to-live; [`Error::Io`] when the lock directory
    /// cannot be written.
    pub fn acquire(
        lock_dir: &Path,
        target_key: &str,
        owner: &str,
        plan_id: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<TargetLock> {
        check_id("lock key", target_key)?;
        let expires_at = now
            .checked_add(ttl)
            .map_err(|e| Error::input(format!("lock time-to-live {ttl:?} is out of range: {e}")))?;
        std::fs::create_dir_all(lock_dir)
            .map_err(|e| Error::io("cannot create lock directory", lock_dir, e))?;
        let info = LockInfo {
            id: new_id(target_key, owner, plan_id, now),
            target: target_key.to_string(),
            owner: owner.to_string(),
            plan_id: plan_id.to_string(),
            acquired_at: now,
            expires_at,
            pid: std::process::id(),
        };
        let path = lock_path(lock_dir, target_key);
        let temp = lock_dir.join(format!(".{target_key}.lock.{}.tmp", info.id));
        let file = write_locked(&temp, &info)?;
        match publish(lock_dir, &temp, &path, target_key, now) {
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

    /// The expired lock this one replaced, if it took one over.
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

/// Reads the lock of `target_key`, if there is one.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an invalid key or an unreadable lock
/// file, and [`Error::Io`] when it cannot be read.
pub fn read_lock(lock_dir: &Path, target_key: &str) -> Result<Option<LockInfo>> {
    check_id("lock key", target_key)?;
    let path = lock_path(lock_dir, target_key);
    match File::open(&path) {
        Ok(file) => read_info(&file, &path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot open lock", &path, e)),
    }
}

/// Every lock in `lock_dir`, by target key (none when it does not exist).
///
/// # Errors
///
/// Returns [`Error::Io`] when the directory or a lock cannot be read, and
/// an [`Error::Input`] for an unreadable lock file.
pub fn list_locks(lock_dir: &Path) -> Result<Vec<LockInfo>> {
    let listing = match std::fs::read_dir(lock_dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot list lock directory", lock_dir, e)),
    };
    let mut keys = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| Error::io("cannot list lock directory", lock_dir, e))?;
        let name = entry.file_name();
        if let Some(key) = name.to_str().and_then(|n| n.strip_suffix(".lock"))
            && check_id("lock key", key).is_ok()
        {
            keys.push(key.to_string());
        }
    }
    keys.sort();
    let mut locks = Vec::new();
    for key in keys {
        if let Some(info) = read_lock(lock_dir, &key)? {
            locks.push(info);
        }
    }
    Ok(locks)
}

/// Breaks the lock of `target_key` if its id is `id`, whoever holds it,
/// and returns what it said.
///
/// # Errors
///
/// Returns an [`Error::Input`] when there is no such lock, when its id is
/// not `id` (nothing is removed then), or when the lock file is
/// unreadable; [`Error::Io`] when it cannot be removed.
pub fn break_lock(lock_dir: &Path, target_key: &str, id: &str) -> Result<LockInfo> {
    check_id("lock key", target_key)?;
    let path = lock_path(lock_dir, target_key);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::input(format!(
                "sync target `{target_key}` is not locked ({} does not exist)",
                path.display()
            )));
        }
        Err(e) => return Err(Error::io("cannot open lock", &path, e)),
    };
    let info = read_info(&file, &path)?;
    if info.id != id {
        return Err(Error::input(format!(
            "lock {} does not have the id `{id}`; nothing was removed",
            path.display()
        )));
    }
    if !is_same_file(&file, &path)? {
        return Err(Error::input(format!(
            "lock {} changed while it was being broken; nothing was removed, look again",
            path.display()
        )));
    }
    std::fs::remove_file(&path).map_err(|e| Error::io("cannot remove lock", &path, e))?;
    sync_dir(lock_dir)?;
    Ok(info)
}

/// A fresh lock id: BLAKE3 over the lock's particulars, the clock, the
/// process and a counter, so two acquisitions never share one.
fn new_id(target: &str, owner: &str, plan_id: &str, now: Timestamp) -> String {
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
fn write_locked(temp: &Path, info: &LockInfo) -> Result<File> {
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

/// Publishes the prepared `temp` as the lock `path`: links it when the
/// lock is free, renames it over an expired lock nobody holds. Returns the
/// lock taken over, if any.
fn publish(
    lock_dir: &Path,
    temp: &Path,
    path: &Path,
    key: &str,
    now: Timestamp,
) -> Result<Option<LockInfo>> {
    for _ in 0..32 {
        match std::fs::hard_link(temp, path) {
            Ok(()) => {
                std::fs::remove_file(temp)
                    .map_err(|e| Error::io("cannot remove temporary lock", temp, e))?;
                sync_dir(lock_dir)?;
                return Ok(None);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("cannot create lock", path, e)),
        }
        let existing = match File::open(path) {
            Ok(file) => file,
            // Released in between: try again.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("cannot open lock", path, e)),
        };
        let live = match existing.try_lock() {
            Ok(()) => false,
            Err(std::fs::TryLockError::WouldBlock) => true,
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("cannot lock", path, e)),
        };
        if !live && !is_same_file(&existing, path)? {
            // Replaced or removed while we looked: look again.
            continue;
        }
        let info = read_info(&existing, path)?;
        if live || !info.is_expired(now) {
            return Err(held(key, path, &info, live, now));
        }
        // Expired, and we hold its flock: no one else can take it over
        // until we let go, and we let go only after replacing it.
        std::fs::rename(temp, path).map_err(|e| Error::io("cannot take over lock", path, e))?;
        sync_dir(lock_dir)?;
        drop(existing);
        return Ok(Some(info));
    }
    Err(Error::environment(format!(
        "cannot take lock {}: it kept changing while trainyard looked at it",
        path.display()
    )))
}

/// The error for a lock someone else holds.
fn held(key: &str, path: &Path, info: &LockInfo, live: bool, now: Timestamp) -> Error {
    let state = match (info.is_expired(now), live) {
        (false, true) => format!("until {}, process {} is running", info.expires_at, info.pid),
        (false, false) => format!(
            "until {}; no running process holds it here",
            info.expires_at
        ),
        (true, _) => format!(
            "it expired at {} but process {} still holds it",
            info.expires_at, info.pid
        ),
    };
    Error::environment(format!(
        "sync target `{key}` is locked by {} for plan {} since {} ({state}; lock {} in {}); \
         break it with `trainyard sync unlock {}`",
        info.owner,
        info.plan_id,
        info.acquired_at,
        info.id,
        path.display(),
        info.id
    ))
}

/// Reads a lock file's content through an open handle.
fn read_info(mut file: &File, path: &Path) -> Result<LockInfo> {
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
fn is_same_file(file: &File, path: &Path) -> Result<bool> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use std::sync::{Arc, Barrier};

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + second).expect("timestamp")
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn lock_threads_race_and_exactly_one_wins() {
        for round in 0..20 {
            let dir = tempfile::tempdir().expect("tempdir");
            let threads = 8;
            let barrier = Arc::new(Barrier::new(threads));
            let handles: Vec<_> = (0..threads)
                .map(|i| {
                    let barrier = Arc::clone(&barrier);
                    let dir = dir.path().to_path_buf();
                    std::thread::spawn(move || {
                        barrier.wait();
                        let lock = TargetLock::acquire(
                            &dir,
                            "prod",
                            &format!("worker-{i}"),
                            "plan-1",
                            HOUR,
                            at(0),
                        );
                        // Hold until everyone has tried.
                        barrier.wait();
                        lock.map(|l| l.info().owner.clone())
                    })
                })
                .collect();
            let results: Vec<_> = handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect();
            let winners = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(winners, 1, "round {round}: {results:?}");
            for err in results.iter().filter_map(|r| r.as_ref().err()) {
                assert_eq!(err.kind(), ErrorKind::Environment, "{err}");
                assert!(err.to_string().contains("trainyard sync unlock"), "{err}");
            }
            // Everyone dropped: the lock is gone, and no temporary is left.
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .expect("list")
                .map(|e| e.expect("entry").file_name())
                .collect();
            assert!(left.is_empty(), "{left:?}");
        }
    }

    #[test]
    fn lock_held_error_names_owner_plan_time_and_id() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = TargetLock::acquire(dir.path(), "prod", "alice", "plan-7", HOUR, at(0))
            .expect("acquire");
        assert!(lock.took_over().is_none());
        assert!(lock.path().ends_with("prod.lock"));
        let err = TargetLock::acquire(dir.path(), "prod", "bob", "plan-8", HOUR, at(60))
            .expect_err("held");
        let text = err.to_string();
        assert_eq!(err.kind(), ErrorKind::Environment);
        for needle in [
            "alice",
            "plan-7",
            &at(0).to_string(),
            &lock.info().id,
            "trainyard sync unlock",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        // Another target is independent.
        TargetLock::acquire(dir.path(), "staging", "bob", "plan-8", HOUR, at(60))
            .expect("other target");
        assert_eq!(
            read_lock(dir.path(), "prod").expect("read").expect("some"),
            *lock.info()
        );
        drop(lock);
        assert!(read_lock(dir.path(), "prod").expect("read").is_none());
        TargetLock::acquire(dir.path(), "prod", "bob", "plan-8", HOUR, at(60))
            .expect("free after drop");
    }

    /// A lock left by a crashed holder: the file, but no flock.
    fn plant(dir: &Path, key: &str, id: &str, expires: Timestamp) -> LockInfo {
        let info = LockInfo {
            id: id.into(),
            target: key.into(),
            owner: "crashed".into(),
            plan_id: "plan-old".into(),
            acquired_at: at(0),
            expires_at: expires,
            pid: 999_999,
        };
        std::fs::write(
            lock_path(dir, key),
            serde_json::to_vec(&info).expect("json"),
        )
        .expect("plant");
        info
    }

    #[test]
    fn lock_expired_is_taken_over_and_said_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = plant(dir.path(), "prod", "0123456789abcdef", at(100));
        // Not yet expired: refused even though nobody runs.
        let err = TargetLock::acquire(dir.path(), "prod", "bob", "p2", HOUR, at(99))
            .expect_err("unexpired");
        assert!(err.to_string().contains("no running process"), "{err}");
        let lock =
            TargetLock::acquire(dir.path(), "prod", "bob", "p2", HOUR, at(100)).expect("take over");
        assert_eq!(lock.took_over(), Some(&old));
        assert_eq!(
            read_lock(dir.path(), "prod")
                .expect("read")
                .expect("some")
                .owner,
            "bob"
        );
    }

    #[test]
    fn lock_expired_takeover_race_has_one_winner() {
        for round in 0..20 {
            let dir = tempfile::tempdir().expect("tempdir");
            plant(dir.path(), "prod", "0123456789abcdef", at(10));
            let threads = 6;
            let barrier = Arc::new(Barrier::new(threads));
            let handles: Vec<_> = (0..threads)
                .map(|i| {
                    let barrier = Arc::clone(&barrier);
                    let dir = dir.path().to_path_buf();
                    std::thread::spawn(move || {
                        barrier.wait();
                        let lock =
                            TargetLock::acquire(&dir, "prod", &format!("w{i}"), "p", HOUR, at(20));
                        barrier.wait();
                        lock.map(|l| l.took_over().is_some())
                    })
                })
                .collect();
            let results: Vec<_> = handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect();
            let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
            assert_eq!(winners, vec![&true], "round {round}: {results:?}");
        }
    }

    #[test]
    fn lock_expired_but_running_holder_keeps_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _lock = TargetLock::acquire(
            dir.path(),
            "prod",
            "alice",
            "p1",
            Duration::from_secs(5),
            at(0),
        )
        .expect("acquire");
        let err = TargetLock::acquire(dir.path(), "prod", "bob", "p2", HOUR, at(3600))
            .expect_err("live holder");
        assert!(err.to_string().contains("still holds it"), "{err}");
    }

    #[test]
    fn lock_break_with_wrong_id_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first =
            TargetLock::acquire(dir.path(), "prod", "alice", "p1", HOUR, at(0)).expect("acquire");
        let err = break_lock(dir.path(), "prod", "not-the-id").expect_err("wrong id");
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.to_string().contains("nothing was removed"), "{err}");
        assert!(lock_path(dir.path(), "prod").exists());

        let broken = break_lock(dir.path(), "prod", &first.info().id).expect("break");
        assert_eq!(broken.owner, "alice");
        let err = break_lock(dir.path(), "prod", &first.info().id).expect_err("gone");
        assert!(err.to_string().contains("not locked"), "{err}");

        // Bob takes it; alice's late release must not remove bob's lock.
        let second =
            TargetLock::acquire(dir.path(), "prod", "bob", "p2", HOUR, at(1)).expect("after break");
        first.release().expect("release");
        assert_eq!(
            read_lock(dir.path(), "prod")
                .expect("read")
                .expect("bob's")
                .id,
            second.info().id
        );
        assert_eq!(list_locks(dir.path()).expect("list").len(), 1);
    }

    #[test]
    fn lock_refuses_unsafe_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        for key in ["", "../x", "a/b", ".x"] {
            let err = TargetLock::acquire(dir.path(), key, "o", "p", HOUR, at(0)).expect_err(key);
            assert_eq!(err.kind(), ErrorKind::Input);
        }
    }

    const CHILD_ENV: &str = "TRAINYARD_LOCK_TEST_CHILD";

    /// Child mode of [`lock_processes_race_and_exactly_one_wins`]: takes
    /// the lock in the directory the environment names and holds it a
    /// while; fails (exit status 101) when the lock is held. Without the
    /// environment variable it does nothing.
    #[test]
    fn lock_process_child() {
        let Ok(dir) = std::env::var(CHILD_ENV) else {
            return;
        };
        let lock = TargetLock::acquire(
            Path::new(&dir),
            "prod",
            &format!("pid-{}", std::process::id()),
            "p",
            HOUR,
            Timestamp::now(),
        )
        .expect("lock");
        std::thread::sleep(Duration::from_millis(1500));
        drop(lock);
    }

    #[test]
    fn lock_processes_race_and_exactly_one_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = std::env::current_exe().expect("current exe");
        let children: Vec<_> = (0..4)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args([
                        "--exact",
                        "sync::lock::tests::lock_process_child",
                        "--test-threads=1",
                        "-q",
                    ])
                    .env(CHILD_ENV, dir.path())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        let statuses: Vec<_> = children
            .into_iter()
            .map(|mut c| c.wait().expect("wait"))
            .collect();
        let winners = statuses.iter().filter(|s| s.success()).count();
        assert_eq!(winners, 1, "{statuses:?}");
        assert!(read_lock(dir.path(), "prod").expect("read").is_none());
    }
}
