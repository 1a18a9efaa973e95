//! Reading a filtered directory tree into a [`Snapshot`], fast.
//!
//! A sync owns only the paths its filters select ([`Filters`], the spec's
//! `filters.include` / `filters.exclude`). [`scan`] walks a root without
//! following symlinks, records regular files and symlinks, and hashes file
//! content with BLAKE3 on all cores, in one pass: each worker (one per
//! core, at least 16 to keep a cold disk busy) takes a directory, lists
//! it (applying the filters, pruning excluded directories and directories
//! no include can reach), reads link texts, looks cached hashes up, goes
//! on depth first with one subdirectory and shares the others; the files
//! it has to hash it hashes itself, handing batches of a large
//! directory's files to the other workers. Everything is opened relative
//! to an open directory (`openat`, `statx`, `readlinkat`), so no path is
//! looked up twice, and each worker reads with one reusable buffer.
//!
//! Files are opened with `O_NOFOLLOW | O_NONBLOCK` (and `O_NOATIME` where
//! the kernel allows it), so a file swapped for a symlink or a fifo between
//! the listing and the read is never followed or waited on, and scanning a
//! target does not even move its files' access times: a dry-run does not
//! modify target state (DR-04).
//!
//! # What the cache trusts
//!
//! A content-exact plan needs no cache: without one every selected file is
//! read and hashed (a cold plan). With a [`HashCache`], a file whose
//! `(size, mtime ns, inode, ctime ns)` all equal the recorded ones reuses
//! the recorded hash without being read, like `rsync` without `-c` (which
//! trusts size and mtime alone). Any write through the file system moves
//! ctime, which no user-level call can set back, so an edit that keeps
//! size and mtime (`touch -r`, `utime`) is still caught; what the cache
//! cannot see is a change that leaves all four equal: a write within the
//! same timestamp tick as the recorded state, a clock set back, or a tool
//! writing to the raw device. Against the first, a file whose mtime or
//! ctime is within [`HashCache::set_racy_window`] (2 s by default) of the
//! scan's start is hashed but not recorded ("racy", as in git's index).

mod cache;
mod filters;
mod walk;

use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::Mode;
use rustix::io::Errno;

pub use cache::HashCache;
pub use filters::Filters;
pub use walk::read_entry;

use crate::sync::snapshot::Snapshot;
use crate::{Error, Result};

use cache::PathMap;
use walk::{DIR_FLAGS, Records, Remember, walk};

/// What [`scan`] read, and what it cost.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// The selected regular files and symlinks of the tree.
    pub snapshot: Snapshot,
    /// Things skipped, each naming the path: fifos, sockets and devices
    /// (a sync carries only files and symlinks), entries that vanished
    /// while the tree was read. Sorted.
    pub warnings: Vec<String>,
    /// Files read and hashed.
    pub files_hashed: usize,
    /// Files whose hash came from the cache, unread.
    pub files_from_cache: usize,
    /// Bytes read and hashed.
    pub bytes_hashed: u64,
}

/// Reads the tree under `root`, as `filters` select it, into a snapshot.
///
/// Symlinks are never followed, even when they point outside the root: a
/// symlink is an [`EntryKind::Symlink`] entry whose hash and size are
/// those of its link text. Regular files are hashed with BLAKE3 in
/// parallel (or taken from `cache`, see the module docs); their executable
/// bit is any `x` bit of the mode. Fifos, sockets and devices are skipped
/// with a warning. A missing root is an empty snapshot (a target may not
/// exist yet); a root given as a symlink to a directory is followed, as
/// the user named it. Names may be any bytes. With a cache, the root's
/// records are replaced by what this scan saw.
///
/// # Errors
///
/// An [`Error::Input`] naming the path when the root is not a directory or
/// a selected file or directory cannot be read.
///
/// [`EntryKind::Symlink`]: crate::sync::model::EntryKind::Symlink
pub fn scan(root: &Path, filters: &Filters, cache: Option<&mut HashCache>) -> Result<ScanReport> {
    let started = SystemTime::now();
    let root_fd = match rustix::fs::openat(rustix::fs::CWD, root, DIR_FLAGS, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(ScanReport::default()),
        Err(Errno::NOTDIR) => {
            return Err(Error::input(format!(
                "sync root {} is not a directory",
                root.display()
            )));
        }
        Err(e) => {
            return Err(Error::input(format!(
                "cannot read sync root {}: {}",
                root.display(),
                io::Error::from(e)
            )));
        }
    };
    let root_key = std::fs::canonicalize(root)
        .unwrap_or_else(|_| root.to_path_buf())
        .into_os_string()
        .into_vec();
    let known = cache.as_deref().and_then(|c| c.roots.get(&root_key));
    let racy_window = cache.as_deref().map_or(Duration::ZERO, |c| c.racy_window);
    let remember = cache.is_some().then(|| Remember {
        known,
        racy_from: nanos_since_epoch(started).saturating_sub(duration_ns(racy_window)),
    });
    let queued_fds = AtomicUsize::new(0);
    let walked = walk(root, root_fd.as_fd(), filters, remember, &queued_fds)?;
    let mut report = ScanReport {
        warnings: walked.warnings,
        files_hashed: walked.files_hashed,
        files_from_cache: walked.files_from_cache,
        bytes_hashed: walked.bytes_hashed,
        snapshot: walked.found.finish_unique(),
    };
    report.warnings.sort();
    // When every file came from the cache and it knew no other, its
    // records for this root stay as they are.
    let files = walked.files_hashed + walked.files_from_cache;
    let unchanged = known.is_some_and(|k| files == walked.files_from_cache && k.len() == files);
    let records = (cache.is_some() && !unchanged).then(|| {
        let Records { kept, fresh } = walked.records;
        let mut records =
            PathMap::with_capacity_and_hasher(kept.len() + fresh.len(), Default::default());
        for path in kept {
            if let Some((path, cached)) = known.and_then(|k| k.get_key_value(path)) {
                records.insert(path.clone(), *cached);
            }
        }
        let recorded_fresh = !fresh.is_empty();
        records.extend(fresh);
        (records, recorded_fresh)
    });
    if let (Some(cache), Some((records, recorded_fresh))) = (cache, records) {
        let previous = cache.roots.get(&root_key).map_or(0, PathMap::len);
        if recorded_fresh || previous != records.len() {
            cache.changed = true;
        }
        cache.roots.insert(root_key, records);
    }
    Ok(report)
}

fn nanos_since_epoch(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn duration_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
