//! Crash-safe file writes.
//!
//! A file is either its old bytes or its new bytes, never a mix: the new
//! content goes to a temporary file in the same directory, is flushed to
//! disk, renamed over the target, and the directory itself is flushed so
//! the rename survives a power cut.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Writes `bytes` to `path` atomically, creating parent directories.
///
/// # Errors
///
/// Returns [`Error::Io`] naming the path when any step fails; the target is
/// then left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
    let mut tmp = temp_file_in(dir)?;
    tmp.write_all(bytes)
        .map_err(|e| Error::io("cannot write", tmp.path().to_path_buf(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("cannot flush", tmp.path().to_path_buf(), e))?;
    // Keep the target's permissions when replacing an existing file.
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path)
        .map_err(|e| Error::io("cannot replace", path, e.error))?;
    sync_dir(dir)
}

/// A temporary file in `dir` to be renamed over a file there. Created
/// with the mode a new file gets (0666 less the user's umask), not the
/// 0600 of a private temporary file: what it becomes is the user's file,
/// and a file a web server must read (`SHA256SUMS` in a channel) stays
/// readable.
///
/// # Errors
///
/// Returns [`Error::Io`] naming `dir` when the file cannot be created.
pub fn temp_file_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".trainyard-tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder
        .tempfile_in(dir)
        .map_err(|e| Error::io("cannot create a temporary file in", dir, e))
}

/// Flushes a directory's entries to disk.
///
/// # Errors
///
/// Returns [`Error::Io`] when the directory cannot be opened or flushed.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let handle = File::open(dir).map_err(|e| Error::io("cannot open directory", dir, e))?;
        handle
            .sync_all()
            .map_err(|e| Error::io("cannot flush directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// An exclusive lock on a file, held until dropped: one trainyard run at a
/// time changes a repository.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock at `path` without waiting.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] naming the lock file when another
    /// process holds it, and an [`Error::Io`] when it cannot be opened.
    pub fn acquire(path: &Path) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::io("cannot open lock file", path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(RunLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::environment(format!(
                "another trainyard run is changing this repository (lock {} is held)",
                path.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("cannot lock", path, e)),
        }
    }
}

/// `path` with `.` and `..` components resolved by name alone (no file
/// system access, so symlinks are not followed): for showing paths like
/// `repo/../dist` as `dist`.
pub fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Ends this process with SIGKILL, as a crash would: no destructor runs,
/// nothing buffered is flushed. The crash tests' fault injection.
pub(crate) fn kill_self() -> ! {
    crate::shell::kill_by_shell(std::process::id());
    // Should the signal not come, an abort is the nearest thing.
    std::process::abort()
}

/// Checks that an id (apply id, lock key) is safe as a file name part:
/// 1 to 128 ASCII letters, digits, `.`, `_` or `-`, not starting with `.`.
pub(crate) fn check_id(what: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && !value.starts_with('.')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::input(format!(
            "invalid {what} `{value}`: use 1 to 128 letters, digits, `.`, `_` or `-`, not starting with `.`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_keeps_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b.txt");
        write_atomic(&path, b"one").expect("first write");
        write_atomic(&path, b"two").expect("second write");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("a"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("b.txt")]);
    }

    #[test]
    fn a_held_run_lock_refuses_a_second_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("trainyard.lock");
        let held = RunLock::acquire(&path).expect("first");
        let second = RunLock::acquire(&path).expect_err("second");
        assert!(
            second.to_string().contains("another trainyard run"),
            "{second}"
        );
        drop(held);
        RunLock::acquire(&path).expect("free again");
    }

    #[test]
    fn lexical_resolves_dots_by_name() {
        assert_eq!(
            lexical(Path::new("/a/repo/../dist/./1.0.0")),
            Path::new("/a/dist/1.0.0")
        );
        assert_eq!(lexical(Path::new("../x/..")), Path::new(".."));
    }
}
