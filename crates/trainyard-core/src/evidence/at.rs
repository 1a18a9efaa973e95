//! The store's directories as open handles: every file of the store is
//! opened relative to an open directory, and never through a symbolic
//! link (`openat` with `O_NOFOLLOW`). A symlinked root, directory or
//! document is refused with its path, so that nothing is read from or
//! written to outside the store, whatever a link points at.
//!
//! Elsewhere than on Unix the same checks are made by path, with
//! `symlink_metadata` before each use.

use std::fs::File;
use std::path::Path;

use crate::{Error, Result};

/// What a directory entry is, without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EntryType {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else (a fifo, a socket, a device).
    Other,
}

/// The error for a symbolic link met where the store needs a file or a
/// directory of its own.
pub(super) fn symlink_refused(path: &Path) -> Error {
    Error::input(format!(
        "{} is a symbolic link: the evidence store never follows links; replace it with the directory or file itself",
        path.display()
    ))
}

fn not_a_directory(path: &Path) -> Error {
    Error::input(format!(
        "{} is not a directory: the evidence store needs a directory there",
        path.display()
    ))
}

fn not_a_file(path: &Path) -> Error {
    Error::input(format!(
        "{} is not a regular file: the evidence store keeps only regular files",
        path.display()
    ))
}

/// A temporary file's name: unique to this process and call.
fn temp_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}{}-{n}-{nanos:08x}", std::process::id())
}

#[cfg(unix)]
mod imp {
    use std::ffi::OsStr;
    use std::fs::File;
    use std::io::Write;
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};

    use rustix::fs::{AtFlags, FileType, Mode, OFlags};
    use rustix::io::Errno;

    use super::{EntryType, Found, not_a_directory, not_a_file, symlink_refused, temp_name};
    use crate::{Error, Result};

    const DIR_FLAGS: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);

    /// Files are opened without following a link and without waiting on
    /// a fifo put in a document's place.
    const READ_FLAGS: OFlags = OFlags::RDONLY
        .union(OFlags::NOFOLLOW)
        .union(OFlags::NONBLOCK)
        .union(OFlags::CLOEXEC);

    /// An open directory of the store, with its path for messages.
    #[derive(Debug)]
    pub(in crate::evidence) struct Dir {
        fd: OwnedFd,
        path: PathBuf,
    }

    fn io_error(what: &'static str, path: &Path, e: Errno) -> Error {
        Error::io(what, path, std::io::Error::from(e))
    }

    impl Dir {
        /// Opens the directory `path` (the store's root): `None` when it
        /// does not exist; refused when it is a symbolic link.
        pub(in crate::evidence) fn open(path: &Path) -> Result<Option<Dir>> {
            match rustix::fs::openat(rustix::fs::CWD, path, DIR_FLAGS, Mode::empty()) {
                Ok(fd) => Ok(Some(Dir {
                    fd,
                    path: path.to_path_buf(),
                })),
                Err(Errno::NOENT) => Ok(None),
                Err(e) => match entry_type_at(rustix::fs::CWD, path) {
                    Ok(Some(EntryType::Symlink)) => Err(symlink_refused(path)),
                    Ok(Some(_)) if e == Errno::NOTDIR => Err(not_a_directory(path)),
                    _ => Err(io_error("cannot open", path, e)),
                },
            }
        }

        /// Opens the directory `path`, creating it and its parents when
        /// missing.
        pub(in crate::evidence) fn create(path: &Path) -> Result<Dir> {
            if let Some(dir) = Self::open(path)? {
                return Ok(dir);
            }
            std::fs::create_dir_all(path)
                .map_err(|e| Error::io("cannot create directory", path, e))?;
            Self::open(path)?.ok_or_else(|| {
                Error::io(
                    "cannot open directory",
                    path,
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                )
            })
        }

        /// The path of `name` in this directory.
        pub(in crate::evidence) fn child(&self, name: &str) -> PathBuf {
            self.path.join(name)
        }

        /// Opens the subdirectory `name`, or says what is there instead.
        pub(in crate::evidence) fn find_dir(&self, name: &str) -> Result<Found<Dir>> {
            let path = self.child(name);
            match rustix::fs::openat(&self.fd, name, DIR_FLAGS, Mode::empty()) {
                Ok(fd) => Ok(Found::Present(Dir { fd, path })),
                Err(Errno::NOENT) => Ok(Found::Missing),
                Err(e) => self.found_instead(name, &path, e),
            }
        }

        /// What is at `name` that open refused with `error`.
        fn found_instead<T>(&self, name: &str, path: &Path, error: Errno) -> Result<Found<T>> {
            match entry_type_at(&self.fd, Path::new(name)) {
                Ok(Some(EntryType::Symlink)) => Ok(Found::Link),
                Ok(None) => Ok(Found::Missing),
                Ok(Some(_)) if matches!(error, Errno::NOTDIR | Errno::LOOP) => Ok(Found::Wrong),
                _ => Err(io_error("cannot open", path, error)),
            }
        }

        /// Opens the subdirectory `name`, creating it when missing.
        pub(in crate::evidence) fn create_dir(&self, name: &str) -> Result<Dir> {
            if let Some(dir) = self.open_dir(name)? {
                return Ok(dir);
            }
            match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o777)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(io_error("cannot create directory", &self.child(name), e)),
            }
            // The new entry must survive a power cut before anything in it
            // is recorded.
            self.sync()?;
            self.open_dir(name)?
                .ok_or_else(|| io_error("cannot open directory", &self.child(name), Errno::NOENT))
        }

        /// What `name` is, not following a link: `None` when missing.
        pub(in crate::evidence) fn entry_type(&self, name: &str) -> Result<Option<EntryType>> {
            entry_type_at(&self.fd, Path::new(name))
                .map_err(|e| io_error("cannot inspect", &self.child(name), e))
        }

        /// Opens the regular file `name` for reading, or says what is
        /// there instead.
        pub(in crate::evidence) fn find_file(&self, name: &str) -> Result<Found<File>> {
            let path = self.child(name);
            let fd = match rustix::fs::openat(&self.fd, name, READ_FLAGS, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Ok(Found::Missing),
                Err(e) => return self.found_instead(name, &path, e),
            };
            let stat = rustix::fs::fstat(&fd).map_err(|e| io_error("cannot inspect", &path, e))?;
            if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
                return Ok(Found::Wrong);
            }
            // Reads block as usual from here on.
            let flags =
                rustix::fs::fcntl_getfl(&fd).map_err(|e| io_error("cannot open", &path, e))?;
            rustix::fs::fcntl_setfl(&fd, flags.difference(OFlags::NONBLOCK))
                .map_err(|e| io_error("cannot open", &path, e))?;
            Ok(Found::Present(File::from(fd)))
        }

        /// Opens (creating it when `create`) the file `name` for locking.
        pub(in crate::evidence) fn open_lock(
            &self,
            name: &str,
            create: bool,
        ) -> Result<Option<File>> {
            let path = self.child(name);
            let mut flags = OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
            if create {
                flags |= OFlags::CREATE;
            }
            let fd = match rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(0o666)) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if !create => return Ok(None),
                Err(e) => {
                    return self
                        .found_instead::<File>(name, &path, e)?
                        .required(&path, false);
                }
            };
            let stat = rustix::fs::fstat(&fd).map_err(|e| io_error("cannot inspect", &path, e))?;
            if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
                return Err(not_a_file(&path));
            }
            Ok(Some(File::from(fd)))
        }

        /// Creates a new temporary file in this directory, named from
        /// `prefix`: its name and the file, open for writing.
        pub(in crate::evidence) fn create_temp(&self, prefix: &str) -> Result<(String, File)> {
            let flags =
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            loop {
                let name = temp_name(prefix);
                // 0666 less the umask: what the file becomes is the user's.
                match rustix::fs::openat(&self.fd, name.as_str(), flags, Mode::from_raw_mode(0o666))
                {
                    Ok(fd) => return Ok((name, File::from(fd))),
                    Err(Errno::EXIST) => continue,
                    Err(e) => {
                        return Err(io_error("cannot create a temporary file in", &self.path, e));
                    }
                }
            }
        }

        /// Replaces (or creates) `name` with `bytes`, crash-safely: a
        /// temporary file in this directory, flushed, renamed over it, and
        /// the directory flushed. A link at `name` is replaced as an entry,
        /// never followed.
        pub(in crate::evidence) fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<()> {
            let (temp, mut file) = self.create_temp(".trainyard-tmp-")?;
            let written = file
                .write_all(bytes)
                .and_then(|()| file.sync_all())
                .map_err(|e| Error::io("cannot write", self.child(&temp), e));
            drop(file);
            if let Err(e) = written.and_then(|()| self.rename(&temp, self, name)) {
                let _ = self.remove(&temp);
                return Err(e);
            }
            self.sync()
        }

        /// Renames `from` in this directory to `to` in `target`.
        pub(in crate::evidence) fn rename(&self, from: &str, target: &Dir, to: &str) -> Result<()> {
            rustix::fs::renameat(&self.fd, from, &target.fd, to)
                .map_err(|e| io_error("cannot replace", &target.child(to), e))
        }

        /// Removes the file `name` (a link is removed, not followed).
        pub(in crate::evidence) fn remove(&self, name: &str) -> Result<()> {
            match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(io_error("cannot remove", &self.child(name), e)),
            }
        }

        /// Flushes the directory's entries to disk.
        pub(in crate::evidence) fn sync(&self) -> Result<()> {
            rustix::fs::fsync(&self.fd)
                .map_err(|e| io_error("cannot flush directory", &self.path, e))
        }

        /// The entries of the directory (without `.` and `..`), each with
        /// what it is, in no particular order.
        pub(in crate::evidence) fn entries(&self) -> Result<Vec<(String, EntryType)>> {
            let listing_fd = rustix::fs::openat(&self.fd, c".", DIR_FLAGS, Mode::empty())
                .map_err(|e| io_error("cannot list", &self.path, e))?;
            let mut listing = rustix::fs::Dir::new(listing_fd)
                .map_err(|e| io_error("cannot list", &self.path, e))?;
            let mut out = Vec::new();
            while let Some(entry) = listing.read() {
                let entry = entry.map_err(|e| io_error("cannot list", &self.path, e))?;
                let raw = entry.file_name().to_bytes();
                if raw == b"." || raw == b".." {
                    continue;
                }
                let name = String::from_utf8_lossy(raw).into_owned();
                let kind = match entry.file_type() {
                    FileType::RegularFile => EntryType::File,
                    FileType::Directory => EntryType::Dir,
                    FileType::Symlink => EntryType::Symlink,
                    FileType::Unknown => {
                        match entry_type_at(&self.fd, Path::new(OsStr::from_bytes(raw))) {
                            Ok(Some(kind)) => kind,
                            Ok(None) => continue,
                            Err(e) => {
                                return Err(io_error("cannot inspect", &self.child(&name), e));
                            }
                        }
                    }
                    _ => EntryType::Other,
                };
                out.push((name, kind));
            }
            Ok(out)
        }
    }

    /// What `name` in `dir` is, not following a link.
    fn entry_type_at<Fd: AsFd>(dir: Fd, name: &Path) -> rustix::io::Result<Option<EntryType>> {
        match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(match FileType::from_raw_mode(stat.st_mode) {
                FileType::RegularFile => EntryType::File,
                FileType::Directory => EntryType::Dir,
                FileType::Symlink => EntryType::Symlink,
                _ => EntryType::Other,
            })),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use std::fs::{File, OpenOptions};
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use super::{EntryType, Found, not_a_directory, symlink_refused, temp_name};
    use crate::{Error, Result};

    /// A directory of the store, checked by path before each use.
    #[derive(Debug)]
    pub(in crate::evidence) struct Dir {
        path: PathBuf,
    }

    fn entry_type_of(path: &Path) -> Result<Option<EntryType>> {
        match std::fs::symlink_metadata(path) {
            Ok(meta) => {
                let t = meta.file_type();
                Ok(Some(if t.is_symlink() {
                    EntryType::Symlink
                } else if t.is_dir() {
                    EntryType::Dir
                } else if t.is_file() {
                    EntryType::File
                } else {
                    EntryType::Other
                }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("cannot inspect", path, e)),
        }
    }

    impl Dir {
        pub(in crate::evidence) fn open(path: &Path) -> Result<Option<Dir>> {
            match entry_type_of(path)? {
                None => Ok(None),
                Some(EntryType::Dir) => Ok(Some(Dir {
                    path: path.to_path_buf(),
                })),
                Some(EntryType::Symlink) => Err(symlink_refused(path)),
                Some(_) => Err(not_a_directory(path)),
            }
        }

        pub(in crate::evidence) fn create(path: &Path) -> Result<Dir> {
            if let Some(dir) = Dir::open(path)? {
                return Ok(dir);
            }
            std::fs::create_dir_all(path)
                .map_err(|e| Error::io("cannot create directory", path, e))?;
            Ok(Dir {
                path: path.to_path_buf(),
            })
        }

        pub(in crate::evidence) fn child(&self, name: &str) -> PathBuf {
            self.path.join(name)
        }

        pub(in crate::evidence) fn find_dir(&self, name: &str) -> Result<Found<Dir>> {
            let path = self.child(name);
            Ok(match entry_type_of(&path)? {
                None => Found::Missing,
                Some(EntryType::Dir) => Found::Present(Dir { path }),
                Some(EntryType::Symlink) => Found::Link,
                Some(_) => Found::Wrong,
            })
        }

        pub(in crate::evidence) fn create_dir(&self, name: &str) -> Result<Dir> {
            if let Some(dir) = self.find_dir(name)?.required(&self.child(name), true)? {
                return Ok(dir);
            }
            let path = self.child(name);
            std::fs::create_dir(&path)
                .map_err(|e| Error::io("cannot create directory", &path, e))?;
            Ok(Dir { path })
        }

        pub(in crate::evidence) fn entry_type(&self, name: &str) -> Result<Option<EntryType>> {
            entry_type_of(&self.child(name))
        }

        pub(in crate::evidence) fn find_file(&self, name: &str) -> Result<Found<File>> {
            let path = self.child(name);
            Ok(match entry_type_of(&path)? {
                None => Found::Missing,
                Some(EntryType::File) => Found::Present(
                    File::open(&path).map_err(|e| Error::io("cannot open", &path, e))?,
                ),
                Some(EntryType::Symlink) => Found::Link,
                Some(_) => Found::Wrong,
            })
        }

        pub(in crate::evidence) fn open_lock(
            &self,
            name: &str,
            create: bool,
        ) -> Result<Option<File>> {
            let path = self.child(name);
            match entry_type_of(&path)? {
                None if !create => return Ok(None),
                None | Some(EntryType::File) => {}
                Some(EntryType::Symlink) => return Err(symlink_refused(&path)),
                Some(_) => return Err(super::not_a_file(&path)),
            }
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(create)
                .truncate(false)
                .open(&path)
                .map(Some)
                .map_err(|e| Error::io("cannot open", &path, e))
        }

        pub(in crate::evidence) fn create_temp(&self, prefix: &str) -> Result<(String, File)> {
            loop {
                let name = temp_name(prefix);
                match OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(self.child(&name))
                {
                    Ok(file) => return Ok((name, file)),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => {
                        return Err(Error::io(
                            "cannot create a temporary file in",
                            &self.path,
                            e,
                        ));
                    }
                }
            }
        }

        pub(in crate::evidence) fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<()> {
            let (temp, mut file) = self.create_temp(".trainyard-tmp-")?;
            let written = file
                .write_all(bytes)
                .and_then(|()| file.sync_all())
                .map_err(|e| Error::io("cannot write", self.child(&temp), e));
            drop(file);
            if let Err(e) = written.and_then(|()| self.rename(&temp, self, name)) {
                let _ = self.remove(&temp);
                return Err(e);
            }
            Ok(())
        }

        pub(in crate::evidence) fn rename(&self, from: &str, target: &Dir, to: &str) -> Result<()> {
            std::fs::rename(self.child(from), target.child(to))
                .map_err(|e| Error::io("cannot replace", target.child(to), e))
        }

        pub(in crate::evidence) fn remove(&self, name: &str) -> Result<()> {
            match std::fs::remove_file(self.child(name)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::io("cannot remove", self.child(name), e)),
            }
        }

        pub(in crate::evidence) fn sync(&self) -> Result<()> {
            Ok(())
        }

        pub(in crate::evidence) fn entries(&self) -> Result<Vec<(String, EntryType)>> {
            let listing = std::fs::read_dir(&self.path)
                .map_err(|e| Error::io("cannot list", &self.path, e))?;
            let mut out = Vec::new();
            for entry in listing {
                let entry = entry.map_err(|e| Error::io("cannot list", &self.path, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(kind) = entry_type_of(&entry.path())? {
                    out.push((name, kind));
                }
            }
            Ok(out)
        }
    }
}

pub(super) use imp::Dir;

/// What was found at a name of the store.
#[derive(Debug)]
pub(super) enum Found<T> {
    /// The directory or regular file asked for, open.
    Present(T),
    /// Nothing.
    Missing,
    /// A symbolic link, not followed.
    Link,
    /// Something else than asked for: a file for a directory, a
    /// directory or a fifo for a file.
    Wrong,
}

impl<T> Found<T> {
    /// The value, `None` when missing; an error naming `path` for a link
    /// or the wrong kind of entry (`dir`: a directory was asked for).
    pub(super) fn required(self, path: &Path, dir: bool) -> Result<Option<T>> {
        match self {
            Found::Present(value) => Ok(Some(value)),
            Found::Missing => Ok(None),
            Found::Link => Err(symlink_refused(path)),
            Found::Wrong if dir => Err(not_a_directory(path)),
            Found::Wrong => Err(not_a_file(path)),
        }
    }
}

impl Dir {
    /// Opens the subdirectory `name`: `None` when it does not exist;
    /// refused when it is a link or not a directory.
    pub(super) fn open_dir(&self, name: &str) -> Result<Option<Dir>> {
        self.find_dir(name)?.required(&self.child(name), true)
    }

    /// Opens the regular file `name` for reading: `None` when it does
    /// not exist; refused when it is a link or not a regular file.
    pub(super) fn open_file(&self, name: &str) -> Result<Option<File>> {
        self.find_file(name)?.required(&self.child(name), false)
    }

    /// Reads the regular file `name`: `None` when it does not exist.
    pub(super) fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let Some(mut file) = self.open_file(name)? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes)
            .map_err(|e| Error::io("cannot read", self.child(name), e))?;
        Ok(Some(bytes))
    }
}
