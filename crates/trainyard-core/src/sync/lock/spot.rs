//! Where a target's lock lives: beside a `file` target, or for a remote
//! target in a per-user directory, named by its normalised URL.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::sync::config::{Endpoint, EndpointType};
use crate::{Error, Result};

/// The environment variable naming the directory of remote targets'
/// locks.
pub const LOCK_DIR_ENV: &str = "TRAINYARD_LOCK_DIR";

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
    pub(super) fn temp(&self, id: &str) -> PathBuf {
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
