//! Inspecting the target without following symlinks.

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::paths::{child, components, parent, prefix, under};
use crate::sync::model::{ContentHash, EntryKind, SyncPath};
use crate::{Error, Result};

/// What is at a path in the target.
#[derive(Debug)]
pub(super) enum Found {
    Missing,
    Dir,
    Symlink,
    File { mode: u32 },
    Other,
}

pub(super) fn lstat(path: &Path) -> Result<Found> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            let kind = meta.file_type();
            Ok(if kind.is_dir() {
                Found::Dir
            } else if kind.is_symlink() {
                Found::Symlink
            } else if kind.is_file() {
                Found::File {
                    mode: mode_of(&meta),
                }
            } else {
                Found::Other
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Found::Missing),
        Err(e) => Err(Error::io("cannot inspect", path, e)),
    }
}

#[cfg(unix)]
pub(super) fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode()
}

fn symlink_refused(root: &Path, rel: &SyncPath) -> Error {
    Error::input(format!(
        "refusing to write through the symlink `{rel}` in the target {}",
        root.display()
    ))
}

/// How many leading directories of `path`'s parent exist as real
/// directories. A symlink or file among them is refused unless it is
/// itself to be deleted (then nothing below it counts as existing).
pub(super) fn existing_parents(
    root: &Path,
    path: &SyncPath,
    deletes: &HashSet<SyncPath>,
) -> Result<usize> {
    let depth = components(path).len();
    for n in 1..depth {
        let rel = prefix(path, n);
        match lstat(&under(root, &rel))? {
            Found::Dir => {}
            Found::Missing => return Ok(n - 1),
            _ if deletes.contains(&rel) => return Ok(n - 1),
            Found::Symlink => return Err(symlink_refused(root, &rel)),
            Found::File { .. } | Found::Other => {
                return Err(Error::input(format!(
                    "`{rel}` is not a directory in the target {} but the plan puts `{path}` under it",
                    root.display()
                )));
            }
        }
    }
    Ok(depth - 1)
}

/// Whether every parent of `path` is a real directory (so an entry can be
/// at `path`): `false` when one is missing or is a file; an error naming a
/// symlink among them, which is never followed.
pub(super) fn parents_are_dirs(root: &Path, path: &SyncPath) -> Result<bool> {
    let depth = components(path).len();
    for n in 1..depth {
        let rel = prefix(path, n);
        match lstat(&under(root, &rel))? {
            Found::Dir => {}
            Found::Symlink => return Err(symlink_refused(root, &rel)),
            Found::Missing | Found::File { .. } | Found::Other => return Ok(false),
        }
    }
    Ok(true)
}

/// Creates the missing parent directories of `path` (refusing symlinks),
/// noting the directories whose entries changed.
pub(super) fn make_parents(
    root: &Path,
    path: &SyncPath,
    touched: &mut BTreeSet<PathBuf>,
) -> Result<()> {
    let depth = components(path).len();
    for n in 1..depth {
        let rel = prefix(path, n);
        let dir = under(root, &rel);
        match lstat(&dir)? {
            Found::Dir => {}
            Found::Missing => match std::fs::create_dir(&dir) {
                Ok(()) => {
                    touched.insert(under(root, &parent(&rel)));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if !matches!(lstat(&dir)?, Found::Dir) {
                        return Err(symlink_refused(root, &rel));
                    }
                }
                Err(e) => return Err(Error::io("cannot create directory", &dir, e)),
            },
            Found::Symlink => return Err(symlink_refused(root, &rel)),
            Found::File { .. } | Found::Other => {
                return Err(Error::environment(format!(
                    "`{rel}` in the target {} became a file during the apply; cannot create `{path}`",
                    root.display()
                )));
            }
        }
    }
    Ok(())
}

/// BLAKE3 (hex) of what is at `path`: a file's content or a symlink's
/// text; `None` for anything else or nothing.
pub(super) fn entry_hash(path: &Path) -> Result<Option<(EntryKind, ContentHash)>> {
    match lstat(path)? {
        Found::File { .. } => {
            let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
            Ok(Some((EntryKind::File, hash_reader(file, path)?)))
        }
        Found::Symlink => {
            let text =
                std::fs::read_link(path).map_err(|e| Error::io("cannot read link", path, e))?;
            Ok(Some((
                EntryKind::Symlink,
                ContentHash::of(os_bytes(text.as_os_str())),
            )))
        }
        _ => Ok(None),
    }
}

fn hash_reader(mut reader: impl Read, path: &Path) -> Result<ContentHash> {
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| Error::io("cannot read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(ContentHash(*hasher.finalize().as_bytes()))
}

#[cfg(unix)]
pub(super) fn os_bytes(text: &std::ffi::OsStr) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    text.as_bytes()
}

/// Whether the directory at `dir` holds only directories and files about
/// to be deleted (so it disappears, or is left empty, once they are).
pub(super) fn empties_by_deletes(
    root: &Path,
    dir: &SyncPath,
    deletes: &HashSet<SyncPath>,
) -> Result<bool> {
    let os_dir = under(root, dir);
    let listing =
        std::fs::read_dir(&os_dir).map_err(|e| Error::io("cannot list directory", &os_dir, e))?;
    for entry in listing {
        let entry = entry.map_err(|e| Error::io("cannot list directory", &os_dir, e))?;
        let rel = child(dir, os_bytes(&entry.file_name()));
        let is_dir = entry
            .file_type()
            .map_err(|e| Error::io("cannot inspect", entry.path(), e))?
            .is_dir();
        let empties = if is_dir {
            empties_by_deletes(root, &rel, deletes)?
        } else {
            deletes.contains(&rel)
        };
        if !empties {
            return Ok(false);
        }
    }
    Ok(true)
}
