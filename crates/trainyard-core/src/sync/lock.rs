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
//!    `flock`ed ([`File::try_lock`]) at once;
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

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::config::{Endpoint, EndpointType};
use crate::fsutil::sync_dir;
use crate::{Error, Result};

/// The environment variable naming the directory of remote targets'
/// locks.
pub const LOCK_DIR_ENV: &str = "TRAINYARD_LOCK_DIR";

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
    fn doing(&self) -> String {
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

/// Where the lock of one target lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockSpot {
    dir: PathBuf,
    name: OsString,
    target: String,
}

impl LockSpot {
    /// The lock file `name` in `dir`, for the target described as
    /// `target`.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] when `name` is not a plain file name.
    pub fn new(
        dir: impl Into<PathBuf>,
        name: impl Into<OsString>,
        target: impl Into<String>,
    ) -> Result<LockSpot> {
        let name = name.into();
        let plain = Path::new(&name)
            .file_name()
            .is_some_and(|n| n == name.as_os_str());
        if !plain {
            return Err(Error::input(format!(
                "invalid lock file name `{}`: a file name without `/` is needed",
                name.to_string_lossy()
            )));
        }
        Ok(LockSpot {
            dir: dir.into(),
            name,
            target: target.into(),
        })
    }

    /// The lock file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.name)
    }

    /// The directory holding it.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The target it locks, for people: a path, or `git URL#BRANCH`, or a
    /// URL.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The temporary file a new lock is prepared in.
    fn temp(&self, id: &str) -> PathBuf {
        let mut name = OsString::new();
        if !self.name.to_string_lossy().starts_with('.') {
            name.push(".");
        }
        name.push(&self.name);
        name.push(format!(".{id}.tmp"));
        self.dir.join(name)
    }
}

/// The lock of a sync's target endpoint, for a repository rooted at
/// `home` (relative locations are read from there).
///
/// # Errors
///
/// Returns an [`Error::Input`] for a `file` target without a parent
/// directory, and an [`Error::Environment`] when a remote target's lock
/// directory cannot be found.
pub fn spot_for(home: &Path, endpoint: &Endpoint) -> Result<LockSpot> {
    match endpoint.kind {
        EndpointType::File => {
            let target = canonical_beyond(&home.join(&endpoint.location));
            let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
                return Err(Error::input(format!(
                    "target {} has no parent directory to hold its lock",
                    target.display()
                )));
            };
            let mut file = OsString::from(".");
            file.push(name);
            file.push(".trainyard-lock");
            LockSpot::new(parent, file, target.display().to_string())
        }
        EndpointType::Git => {
            let url = normal_git_url(home, &endpoint.location);
            let branch = endpoint.branch.as_deref().unwrap_or("main");
            let hash = short_hash(&format!("git\0{url}\0{branch}"));
            LockSpot::new(
                remote_lock_dir()?,
                format!("git-{hash}.lock"),
                format!("git {url}#{branch}"),
            )
        }
        EndpointType::Api | EndpointType::Registry => {
            let url = normal_url(&endpoint.location);
            let hash = short_hash(&format!("url\0{url}"));
            LockSpot::new(remote_lock_dir()?, format!("url-{hash}.lock"), url)
        }
    }
}

/// `path` made absolute and canonical as far as it exists: the deepest
/// existing ancestor with symlinks resolved, the rest joined by name.
fn canonical_beyond(path: &Path) -> PathBuf {
    let path = crate::fsutil::lexical(path);
    let mut rest = Vec::new();
    let mut at = path.as_path();
    loop {
        if let Ok(found) = std::fs::canonicalize(at) {
            return rest.iter().rev().fold(found, |p: PathBuf, n| p.join(n));
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                at = parent;
            }
            _ => return path,
        }
    }
}

/// The per-user directory of remote targets' locks.
fn remote_lock_dir() -> Result<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var(LOCK_DIR_ENV) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(state) = var("XDG_STATE_HOME").map(PathBuf::from)
        && state.is_absolute()
    {
        return Ok(state.join("trainyard/locks"));
    }
    match var("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".local/state/trainyard/locks")),
        None => Err(Error::environment(format!(
            "no directory for the locks of remote sync targets: set {LOCK_DIR_ENV} or HOME"
        ))),
    }
}

/// A git location as one spelling: a local path canonical, a URL as
/// [`normal_url`] (scp-like `user@host:path` read as `ssh://host/path`),
/// without a trailing `.git`.
fn normal_git_url(home: &Path, location: &str) -> String {
    let url = if location.contains("://") {
        match location.strip_prefix("file://") {
            Some(path) => format!("file://{}", canonical_beyond(Path::new(path)).display()),
            None => normal_url(location),
        }
    } else if let Some((user_host, path)) = location.split_once(':')
        && user_host.contains('@')
    {
        let host = user_host.rsplit('@').next().unwrap_or(user_host);
        normal_url(&format!("ssh://{host}/{}", path.trim_start_matches('/')))
    } else {
        format!(
            "file://{}",
            canonical_beyond(&home.join(location)).display()
        )
    };
    let url = url.trim_end_matches('/');
    url.strip_suffix(".git").unwrap_or(url).to_owned()
}

/// A URL as one spelling: scheme and host lowercased, the user name,
/// default port, fragment and trailing `/` dropped.
fn normal_url(location: &str) -> String {
    let location = location.trim();
    let location = location.split('#').next().unwrap_or(location);
    let Some((scheme, rest)) = location.split_once("://") else {
        return location.trim_end_matches('/').to_owned();
    };
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let mut host = host.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => Some(":80"),
        "https" => Some(":443"),
        "ssh" => Some(":22"),
        _ => None,
    };
    if let Some(port) = default_port
        && let Some(bare) = host.strip_suffix(port)
    {
        host = bare.to_owned();
    }
    format!("{scheme}://{host}{}", path.trim_end_matches('/'))
}

/// 32 hex digits of BLAKE3: a file name for a target key.
fn short_hash(key: &str) -> String {
    blake3::hash(key.as_bytes()).to_hex()[..32].to_string()
}

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

/// A lock someone else holds: the refusal, typed so that callers (the
/// scheduler) can tell a busy target from other failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHeld {
    /// What the lock says.
    pub info: LockInfo,
    /// The lock file.
    pub path: PathBuf,
    /// Whether a running process holds it (else its holder is gone).
    pub running: bool,
    /// Whether it had expired when it was looked at.
    pub expired: bool,
    /// What to do about it: a command that works as printed, or when to
    /// try again.
    pub hint: String,
}

impl std::fmt::Display for LockHeld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.info;
        let state = match (self.running, self.expired) {
            (true, false) => String::new(),
            (true, true) => format!(", still running past the lock's expiry at {}", i.expires_at),
            (false, _) => ", no longer running".to_owned(),
        };
        write!(
            f,
            "sync target {} is locked by {} (process {}{state}) {} since {} (lock {} {}): {}",
            i.target,
            i.owner,
            i.pid,
            i.doing(),
            i.acquired_at,
            i.id,
            self.path.display(),
            self.hint
        )
    }
}

/// The refusal an apply gets from the lock `found` at `spot`, at `now`,
/// for `asking`.
pub fn refusal(
    spot: &LockSpot,
    found: &FoundLock,
    now: Timestamp,
    asking: &LockRequest,
) -> LockHeld {
    held(spot, &found.info, found.running, now, asking)
}

/// The command that clears the lock `info` of a holder that is gone, for
/// someone in `here`: the recovery of the holder's sync, in the holder's
/// repository (`-C` when that is not `here`).
pub fn recover_command(info: &LockInfo, here: &Path) -> String {
    let at = match &info.repository {
        Some(repository) if repository != here => {
            format!("-C {} ", shell_word(&repository.display().to_string()))
        }
        _ => String::new(),
    };
    format!("trainyard {at}sync recover {}", info.sync_id)
}

/// The refusal for a lock someone else holds, with what to do: wait for
/// a running holder; recover after one that is gone.
fn held(
    spot: &LockSpot,
    info: &LockInfo,
    live: bool,
    now: Timestamp,
    asking: &LockRequest,
) -> LockHeld {
    let hint = if live {
        "try again once it has finished".to_owned()
    } else if info.sync_id.is_empty() {
        format!(
            "break it with `trainyard sync unlock {} {}`",
            asking.sync_id, info.id
        )
    } else {
        format!(
            "run `{}`, which finishes or undoes its apply and clears the lock",
            recover_command(info, &asking.repository)
        )
    };
    LockHeld {
        info: info.clone(),
        path: spot.path(),
        running: live,
        expired: info.is_expired(now),
        hint,
    }
}

/// `text` as one shell word: as it is when it is plain, else quoted.
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(&b));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
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

/// A lock as found: what it says, and whether a running process holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundLock {
    /// What it says.
    pub info: LockInfo,
    /// Whether a running process holds its `flock` (else the holder is
    /// gone).
    pub running: bool,
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

/// Looks at the lock at `spot`: what it says and whether its holder runs.
/// (The look takes the lock's `flock` for an instant when it is free.)
///
/// # Errors
///
/// As [`read_lock`].
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

/// Whether a running process holds the `flock` of the open lock `file`
/// (when it is free, it is taken and kept as long as `file` is open).
fn is_held(file: &File, path: &Path) -> Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("cannot lock", path, e)),
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

    fn spot(dir: &Path, name: &str) -> LockSpot {
        LockSpot::new(dir, format!(".{name}.trainyard-lock"), name).expect("spot")
    }

    fn request(owner: &str, sync: &str, plan: &str) -> LockRequest {
        LockRequest {
            owner: owner.into(),
            action: LockAction::Apply,
            sync_id: sync.into(),
            plan_id: plan.into(),
            repository: PathBuf::from("/repos/here"),
            journal: None,
        }
    }

    fn take(
        spot: &LockSpot,
        owner: &str,
        plan: &str,
        now: Timestamp,
        take_over: TakeOver<'_>,
    ) -> Result<TargetLock> {
        TargetLock::acquire(spot, &request(owner, "prod", plan), HOUR, now, take_over)
    }

    fn expired() -> TakeOver<'static> {
        TakeOver::Expired(&|_| true)
    }

    fn held_of(err: &Error) -> &LockHeld {
        match err {
            Error::Locked(held) => held,
            other => panic!("not a lock refusal: {other}"),
        }
    }

    #[test]
    fn lock_threads_race_and_exactly_one_wins() {
        for round in 0..20 {
            let dir = tempfile::tempdir().expect("tempdir");
            let threads = 8;
            let barrier = Arc::new(Barrier::new(threads));
            let handles: Vec<_> = (0..threads)
                .map(|i| {
                    let barrier = Arc::clone(&barrier);
                    let spot = spot(dir.path(), "prod");
                    std::thread::spawn(move || {
                        barrier.wait();
                        let lock = take(&spot, &format!("worker-{i}"), "plan-1", at(0), expired());
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
                assert!(held_of(err).running, "{err}");
                assert!(
                    err.to_string().contains("try again once it has finished"),
                    "{err}"
                );
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
    fn lock_held_error_names_holder_process_plan_time_and_id() {
        let dir = tempfile::tempdir().expect("tempdir");
        let prod = spot(dir.path(), "prod");
        let lock = take(&prod, "alice", "plan-7", at(0), expired()).expect("acquire");
        assert!(lock.took_over().is_none());
        assert!(lock.path().ends_with(".prod.trainyard-lock"));
        let err = take(&prod, "bob", "plan-8", at(60), expired()).expect_err("held");
        let text = err.to_string();
        assert_eq!(err.kind(), ErrorKind::Environment);
        for needle in [
            "sync target prod is locked by alice",
            &format!("(process {})", std::process::id()),
            "applying plan plan-7 of sync prod",
            &format!("since {}", at(0)),
            &lock.info().id,
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        assert!(!text.contains("unlock"), "{text}");
        // Another target is independent.
        take(
            &spot(dir.path(), "staging"),
            "bob",
            "plan-8",
            at(60),
            expired(),
        )
        .expect("other target");
        assert_eq!(read_lock(&prod).expect("read").expect("some"), *lock.info());
        let found = inspect(&prod).expect("inspect").expect("some");
        assert!(found.running);
        drop(lock);
        assert!(read_lock(&prod).expect("read").is_none());
        take(&prod, "bob", "plan-8", at(60), expired()).expect("free after drop");
    }

    /// A lock left by a crashed holder: the file, but no flock.
    fn plant(spot: &LockSpot, id: &str, expires: Timestamp, repository: &str) -> LockInfo {
        let info = LockInfo {
            id: id.into(),
            target: spot.target().into(),
            owner: "crashed".into(),
            plan_id: "plan-old".into(),
            acquired_at: at(0),
            expires_at: expires,
            pid: 999_999,
            action: LockAction::Apply,
            sync_id: "nightly".into(),
            repository: Some(PathBuf::from(repository)),
            journal: None,
        };
        std::fs::write(spot.path(), serde_json::to_vec(&info).expect("json")).expect("plant");
        info
    }

    #[test]
    fn lock_of_a_gone_holder_names_the_recovery_that_clears_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let prod = spot(dir.path(), "prod");
        let old = plant(&prod, "0123456789abcdef", at(100), "/repos/here");
        // Not yet expired: refused, with the command that clears it.
        let err = take(&prod, "bob", "p2", at(99), expired()).expect_err("unexpired");
        let held = held_of(&err);
        assert!(!held.running);
        let text = err.to_string();
        assert!(
            text.contains("(process 999999, no longer running)"),
            "{text}"
        );
        assert!(
            text.contains("run `trainyard sync recover nightly`"),
            "{text}"
        );
        // A holder of another repository: recovered there.
        plant(&prod, "0123456789abcdef", at(100), "/repos/other one");
        let err = take(&prod, "bob", "p2", at(99), expired()).expect_err("unexpired");
        assert!(
            err.to_string()
                .contains("run `trainyard -C '/repos/other one' sync recover nightly`"),
            "{err}"
        );
        plant(&prod, "0123456789abcdef", at(100), "/repos/here");
        // Expired, but the caller does not allow it (an apply to recover).
        let err = take(&prod, "bob", "p2", at(100), TakeOver::Expired(&|_| false))
            .expect_err("disallowed");
        assert!(err.to_string().contains("sync recover nightly"), "{err}");
        // Expired and allowed: taken over.
        let lock = take(&prod, "bob", "p2", at(100), expired()).expect("take over");
        assert_eq!(lock.took_over(), Some(&old));
        assert_eq!(read_lock(&prod).expect("read").expect("some").owner, "bob");
    }

    #[test]
    fn lock_of_a_gone_holder_is_taken_at_once_by_a_recovery() {
        let dir = tempfile::tempdir().expect("tempdir");
        let prod = spot(dir.path(), "prod");
        let old = plant(&prod, "0123456789abcdef", at(100), "/repos/here");
        let err = take(&prod, "bob", "", at(1), TakeOver::Gone(&|_| false)).expect_err("refused");
        assert!(!held_of(&err).running, "{err}");
        let lock = take(&prod, "bob", "", at(1), TakeOver::Gone(&|_| true)).expect("taken");
        assert_eq!(lock.took_over(), Some(&old));
        // But never from a running holder.
        let err = take(&prod, "carol", "", at(2), TakeOver::Gone(&|_| true)).expect_err("live");
        assert!(held_of(&err).running, "{err}");
    }

    #[test]
    fn lock_expired_takeover_race_has_one_winner() {
        for round in 0..20 {
            let dir = tempfile::tempdir().expect("tempdir");
            plant(&spot(dir.path(), "prod"), "0123456789abcdef", at(10), "/r");
            let threads = 6;
            let barrier = Arc::new(Barrier::new(threads));
            let handles: Vec<_> = (0..threads)
                .map(|i| {
                    let barrier = Arc::clone(&barrier);
                    let spot = spot(dir.path(), "prod");
                    std::thread::spawn(move || {
                        barrier.wait();
                        let lock = take(&spot, &format!("w{i}"), "p", at(20), expired());
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
        let prod = spot(dir.path(), "prod");
        let _lock = TargetLock::acquire(
            &prod,
            &request("alice", "prod", "p1"),
            Duration::from_secs(5),
            at(0),
            expired(),
        )
        .expect("acquire");
        let err = take(&prod, "bob", "p2", at(3600), expired()).expect_err("live holder");
        assert!(
            err.to_string()
                .contains("still running past the lock's expiry"),
            "{err}"
        );
    }

    #[test]
    fn lock_break_needs_its_id_and_a_holder_that_is_gone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let prod = spot(dir.path(), "prod");
        let asking = request("bob", "prod", "");
        let first = take(&prod, "alice", "p1", at(0), expired()).expect("acquire");
        let err = break_lock(&prod, "not-the-id", &asking, at(1), &|_| Ok(())).expect_err("id");
        assert_eq!(err.kind(), ErrorKind::Input);
        assert!(err.to_string().contains("nothing was removed"), "{err}");
        // A running holder keeps it, id or not.
        let err =
            break_lock(&prod, &first.info().id, &asking, at(1), &|_| Ok(())).expect_err("running");
        assert!(held_of(&err).running, "{err}");
        assert!(prod.path().exists());

        // Its holder gone (the file replaced by one nobody flocks).
        std::fs::remove_file(prod.path()).expect("remove");
        let planted = plant(&prod, "0123456789abcdef", at(100), "/r");
        let err = break_lock(&prod, &planted.id, &asking, at(1), &|_| {
            Err(Error::environment("not now"))
        })
        .expect_err("refused by the caller");
        assert_eq!(err.to_string(), "not now");
        assert!(prod.path().exists());
        let broken = break_lock(&prod, &planted.id, &asking, at(1), &|_| Ok(())).expect("break");
        assert_eq!(broken.owner, "crashed");
        let err = break_lock(&prod, &planted.id, &asking, at(1), &|_| Ok(())).expect_err("gone");
        assert!(err.to_string().contains("not locked"), "{err}");

        // Bob takes it; alice's late release must not remove bob's lock.
        let second = take(&prod, "bob", "p2", at(1), expired()).expect("after break");
        first.release().expect("release");
        assert_eq!(
            read_lock(&prod).expect("read").expect("bob's").id,
            second.info().id
        );
    }

    #[test]
    fn lock_spot_names_are_plain_file_names() {
        for name in ["", "a/b", "..", "."] {
            let err = LockSpot::new("/tmp", name, "t").expect_err(name);
            assert_eq!(err.kind(), ErrorKind::Input);
        }
    }

    fn endpoint(kind: EndpointType, location: &str, branch: Option<&str>) -> Endpoint {
        Endpoint {
            kind,
            location: location.into(),
            branch: branch.map(Into::into),
            credentials: None,
        }
    }

    #[test]
    fn a_file_target_is_locked_beside_it_however_it_is_spelled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(dir.path()).expect("canonical");
        std::fs::create_dir_all(root.join("repo-a/sub")).expect("repo a");
        std::fs::create_dir_all(root.join("repo-b")).expect("repo b");
        std::fs::create_dir_all(root.join("site")).expect("site");
        std::os::unix::fs::symlink(root.join("site"), root.join("alias")).expect("symlink");
        let file = |home: &str, location: &str| {
            spot_for(
                &root.join(home),
                &endpoint(EndpointType::File, location, None),
            )
            .expect("spot")
        };
        let expected = file("repo-a", "../site");
        assert_eq!(expected.path(), root.join(".site.trainyard-lock"));
        assert_eq!(expected.target(), root.join("site").display().to_string());
        for (home, location) in [
            ("repo-b", "../site"),
            ("repo-a/sub", "../../site/"),
            ("repo-a", "./../repo-b/../site"),
            ("repo-b", "../alias"),
        ] {
            assert_eq!(file(home, location), expected, "{home} {location}");
        }
        // A target that does not exist yet is locked where it will be.
        assert_eq!(
            file("repo-a", "../alias/new/deeper").path(),
            root.join("site/new/.deeper.trainyard-lock")
        );
        assert_ne!(file("repo-a", "sub"), expected);
    }

    #[test]
    fn a_remote_target_is_locked_by_its_normalised_url() {
        let git = |location: &str, branch: Option<&str>| {
            spot_for(
                Path::new("/repo"),
                &endpoint(EndpointType::Git, location, branch),
            )
            .expect("spot")
        };
        let a = git("https://Git.Example.org:443/team/config.git/", Some("main"));
        for (location, branch) in [
            ("https://git.example.org/team/config", None),
            ("https://ci@git.example.org/team/config.git", Some("main")),
        ] {
            assert_eq!(git(location, branch), a, "{location}");
        }
        assert_eq!(a.target(), "git https://git.example.org/team/config#main");
        assert_ne!(git("https://git.example.org/team/config", Some("prod")), a);
        assert_ne!(git("https://git.example.org/team/other", None), a);
        assert_eq!(
            git("git@Git.Example.org:team/config.git", None),
            git("ssh://git.example.org/team/config", None)
        );
        let api = |kind, location: &str| {
            spot_for(Path::new("/repo"), &endpoint(kind, location, None)).expect("spot")
        };
        assert_eq!(
            api(EndpointType::Api, "https://API.example.org/v1/"),
            api(EndpointType::Registry, "https://api.example.org:443/v1")
        );
        assert_ne!(
            api(EndpointType::Api, "https://api.example.org/v1"),
            api(EndpointType::Api, "https://api.example.org/v2")
        );
        assert_ne!(a.dir(), Path::new("/repo"));
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("/srv/repo-1"), "/srv/repo-1");
        assert_eq!(shell_word("/srv/my repo"), "'/srv/my repo'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
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
            &spot(Path::new(&dir), "prod"),
            &request(&format!("pid-{}", std::process::id()), "prod", "p"),
            HOUR,
            Timestamp::now(),
            expired(),
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
        assert!(
            read_lock(&spot(dir.path(), "prod"))
                .expect("read")
                .is_none()
        );
    }
}
