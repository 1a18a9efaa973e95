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
//! Use a cold plan when that trust is not enough.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::fs::{File, Metadata};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};
use rustix::fs::{Dir, FileType, Mode, OFlags, RawMode};
use rustix::io::Errno;

use crate::sync::model::{ContentHash, Entry, EntryKind, SyncPath};
use crate::sync::snapshot::{Snapshot, SnapshotBuilder};
use crate::{Error, Result};

// ---------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------

/// The include and exclude patterns of a sync (`filters.include` and
/// `filters.exclude` of a `sync_config`), compiled.
///
/// Patterns are gitignore-style globs on `/`-separated paths relative to
/// the sync root:
///
/// - `*` matches within one path component, `?` one character, `[..]` a
///   character class, `**` any number of components (`**/x`, `a/**`,
///   `a/**/b`);
/// - a pattern without a `/` (other than a trailing one) matches a name at
///   any depth (`*.log`, `target/`); a leading `/` or a `/` in the middle
///   anchors it at the root (`/dist`, `docs/*.md`);
/// - a trailing `/` matches directories only;
/// - a pattern that matches a directory matches everything under it.
///
/// A path is selected when it (or a directory above it) matches an include
/// pattern, or the include list is empty, and neither it nor a directory
/// above it matches an exclude pattern: exclude wins. The sync owns only
/// selected paths; it never adds, changes or deletes anything else.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    include: Option<PatternSet>,
    exclude: Option<PatternSet>,
}

/// What the walk does with a directory.
enum DirVerdict {
    /// Skip it and everything under it.
    Prune,
    /// Descend; `true` when an include pattern matched it or a directory
    /// above it (so everything under it is included).
    Descend(bool),
}

impl Filters {
    /// Compiles include and exclude patterns; an empty include list selects
    /// everything.
    ///
    /// # Errors
    ///
    /// An [`Error::Input`] naming the pattern when it is empty, could reach
    /// outside the sync root (a `..` component, an absolute path such as
    /// `//srv`, `~/x` or `C:\x`; a single leading `/` only anchors at the
    /// root), has an empty or `.` component, negates (`!x`: list it under
    /// the other key instead) or is not a valid glob.
    pub fn new<I: AsRef<str>, E: AsRef<str>>(include: &[I], exclude: &[E]) -> Result<Filters> {
        Ok(Filters {
            include: PatternSet::build("include", include)?,
            exclude: PatternSet::build("exclude", exclude)?,
        })
    }

    /// Whether the sync owns `path` (a directory when `is_dir`).
    pub fn selects(&self, path: &SyncPath, is_dir: bool) -> bool {
        let bytes = &path.0;
        if bytes.is_empty() {
            return true;
        }
        let mut included = self.include.is_none();
        for (i, b) in bytes.iter().enumerate() {
            if *b != b'/' || i == 0 {
                continue;
            }
            let ancestor = &bytes[..i];
            if matches(self.exclude.as_ref(), ancestor, true) {
                return false;
            }
            if !included && matches(self.include.as_ref(), ancestor, true) {
                included = true;
            }
        }
        if matches(self.exclude.as_ref(), bytes, is_dir) {
            return false;
        }
        included || matches(self.include.as_ref(), bytes, is_dir)
    }

    /// The walk's decision for a directory whose parent was (or was not)
    /// included; consistent with [`Filters::selects`].
    fn dir_verdict(&self, rel: &[u8], parent_included: bool) -> DirVerdict {
        if matches(self.exclude.as_ref(), rel, true) {
            return DirVerdict::Prune;
        }
        let Some(include) = &self.include else {
            return DirVerdict::Descend(true);
        };
        if parent_included || include.matches(rel, true) {
            return DirVerdict::Descend(true);
        }
        if include.may_match_under(rel) {
            DirVerdict::Descend(false)
        } else {
            DirVerdict::Prune
        }
    }

    /// The walk's decision for a non-directory whose parent was (or was
    /// not) included.
    fn selects_leaf(&self, rel: &[u8], parent_included: bool) -> bool {
        if matches(self.exclude.as_ref(), rel, false) {
            return false;
        }
        parent_included
            || self
                .include
                .as_ref()
                .is_none_or(|inc| inc.matches(rel, false))
    }
}

fn matches(set: Option<&PatternSet>, rel: &[u8], is_dir: bool) -> bool {
    set.is_some_and(|s| s.matches(rel, is_dir))
}

/// One compiled pattern list.
#[derive(Debug, Clone)]
struct PatternSet {
    /// Patterns that match files and directories alike.
    any: GlobSet,
    /// Patterns with a trailing `/`: directories only.
    dirs: GlobSet,
    /// Per pattern, its literal leading components when it is anchored
    /// (`None` when it floats to any depth): the walk prunes directories
    /// that no pattern can reach.
    prefixes: Vec<Option<Vec<Vec<u8>>>>,
}

impl PatternSet {
    fn build<S: AsRef<str>>(list: &'static str, patterns: &[S]) -> Result<Option<PatternSet>> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let mut any = GlobSetBuilder::new();
        let mut dirs = GlobSetBuilder::new();
        let mut prefixes = Vec::with_capacity(patterns.len());
        for raw in patterns {
            let raw = raw.as_ref();
            let parsed = parse_pattern(list, raw)?;
            let glob = GlobBuilder::new(&parsed.glob)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| {
                    Error::input(format!("{list} pattern `{raw}` is not a valid glob: {e}"))
                })?;
            if parsed.dir_only {
                dirs.add(glob);
            } else {
                any.add(glob);
            }
            prefixes.push(parsed.literal_prefix);
        }
        let compile = |b: GlobSetBuilder| {
            b.build()
                .map_err(|e| Error::input(format!("{list} patterns are not valid globs: {e}")))
        };
        Ok(Some(PatternSet {
            any: compile(any)?,
            dirs: compile(dirs)?,
            prefixes,
        }))
    }

    fn matches(&self, rel: &[u8], is_dir: bool) -> bool {
        let candidate = Candidate::new(Path::new(OsStr::from_bytes(rel)));
        self.any.is_match_candidate(&candidate)
            || (is_dir && !self.dirs.is_empty() && self.dirs.is_match_candidate(&candidate))
    }

    /// Whether some pattern could match a path under the directory `rel`.
    fn may_match_under(&self, rel: &[u8]) -> bool {
        let dir: Vec<&[u8]> = rel.split(|b| *b == b'/').collect();
        self.prefixes.iter().any(|prefix| match prefix {
            None => true,
            Some(lit) => {
                let n = dir.len().min(lit.len());
                dir[..n]
                    .iter()
                    .zip(&lit[..n])
                    .all(|(d, l)| *d == l.as_slice())
            }
        })
    }
}

/// A pattern translated to globset syntax.
struct ParsedPattern {
    glob: String,
    dir_only: bool,
    literal_prefix: Option<Vec<Vec<u8>>>,
}

fn parse_pattern(list: &str, raw: &str) -> Result<ParsedPattern> {
    let refuse = |why: &str| Err(Error::input(format!("{list} pattern `{raw}` {why}")));
    if raw.is_empty() {
        return Err(Error::input(format!("empty {list} pattern")));
    }
    if raw.contains('\0') {
        return refuse("contains a NUL byte");
    }
    if raw.starts_with('!') {
        return refuse("negates; list the path under the other key (include or exclude) instead");
    }
    let bytes = raw.as_bytes();
    let windows_absolute = bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && bytes.get(2).is_none_or(|b| *b == b'/' || *b == b'\\');
    if raw.starts_with("//") || raw.starts_with('~') || raw.starts_with("\\\\") || windows_absolute
    {
        return refuse(
            "is an absolute path and could reach outside the sync root; patterns are relative \
             to the root (a single leading `/` anchors there)",
        );
    }
    let (body, dir_only) = match raw.strip_suffix('/') {
        Some(rest) => (rest, true),
        None => (raw, false),
    };
    let (body, leading_slash) = match body.strip_prefix('/') {
        Some(rest) => (rest, true),
        None => (body, false),
    };
    if body.is_empty() {
        return refuse("names the root itself; leave include empty to select everything");
    }
    let components: Vec<&str> = body.split('/').collect();
    for c in &components {
        if *c == ".." {
            return refuse("could reach outside the sync root: `..` is not allowed");
        }
        if c.is_empty() || *c == "." {
            return refuse("has an empty or `.` component; write the path without it");
        }
    }
    let anchored = leading_slash || components.len() > 1;
    let glob = if anchored {
        body.to_string()
    } else {
        format!("**/{body}")
    };
    let literal_prefix = anchored.then(|| {
        components
            .iter()
            .take_while(|c| !c.contains(['*', '?', '[', '{', '\\']))
            .map(|c| c.as_bytes().to_vec())
            .collect()
    });
    Ok(ParsedPattern {
        glob,
        dir_only,
        literal_prefix,
    })
}

// ---------------------------------------------------------------------------
// Hash cache
// ---------------------------------------------------------------------------

/// Remembered hashes by root, then by path under it.
type RootRecords = HashMap<Vec<u8>, PathMap<Cached>>;

/// A map keyed by paths, with a fast hash: the keys are the user's own
/// file names, so hash flooding is no concern, and a re-plan does little
/// else than look paths up.
type PathMap<V> = HashMap<Vec<u8>, V, BuildHasherDefault<PathHasher>>;

/// FxHash (as in rustc), eight bytes at a time.
#[derive(Default, Clone, Copy)]
struct PathHasher(u64);

impl PathHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for PathHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(word);
            self.add(u64::from_le_bytes(buf));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The metadata a cached hash is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    size: u64,
    mtime_ns: i64,
    ino: u64,
    ctime_ns: i64,
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
        Stamp {
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ino: meta.ino(),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// One remembered hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cached {
    stamp: Stamp,
    hash: [u8; 32],
}

/// Remembered file hashes, so that a re-plan reads only what changed.
///
/// Per sync root (canonicalised), it maps each file's path to its size,
/// mtime (ns), inode, ctime (ns) and BLAKE3 hash. [`scan`] reuses a hash
/// when all four still match and replaces the root's records with what it
/// saw, so files that went away are forgotten. See the module docs for
/// what this trusts. One cache may serve several roots (a source and a
/// target).
///
/// On disk it is a compact binary file with a checksum; a missing,
/// unreadable or corrupt file loads as an empty cache, never an error.
#[derive(Debug, Clone)]
pub struct HashCache {
    roots: RootRecords,
    racy_window: Duration,
    changed: bool,
    ignored: Option<String>,
}

impl Default for HashCache {
    fn default() -> Self {
        HashCache::new()
    }
}

const CACHE_MAGIC: &[u8] = b"trainyard-hash-cache\0";
const CACHE_VERSION: u32 = 1;

impl HashCache {
    /// An empty cache.
    pub fn new() -> HashCache {
        HashCache {
            roots: HashMap::new(),
            racy_window: Duration::from_secs(2),
            changed: false,
            ignored: None,
        }
    }

    /// Loads the cache file at `path`. A missing file gives an empty cache;
    /// so does an unreadable or corrupt one, with the reason in
    /// [`HashCache::ignored_reason`].
    pub fn load(path: &Path) -> HashCache {
        let mut cache = HashCache::new();
        match std::fs::read(path) {
            Ok(bytes) => match decode_cache(&bytes) {
                Some(roots) => cache.roots = roots,
                None => {
                    cache.ignored = Some(format!(
                        "hash cache {} is corrupt or from another version; ignoring it",
                        path.display()
                    ));
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                cache.ignored = Some(format!(
                    "cannot read hash cache {}: {e}; ignoring it",
                    path.display()
                ));
            }
        }
        cache
    }

    /// Writes the cache to `path` atomically (creating its directory).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the path when it cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::fsutil::write_atomic(path, &encode_cache(&self.roots))
    }

    /// How recent a file's mtime or ctime may be, relative to the start of
    /// a scan, for its hash still to be recorded (2 s by default, which
    /// covers file systems with coarse timestamps). A file changed within
    /// the window is hashed every time until it is older. Zero records
    /// everything changed before the scan started.
    pub fn set_racy_window(&mut self, window: Duration) {
        self.racy_window = window;
    }

    /// The number of remembered hashes, over all roots.
    pub fn len(&self) -> usize {
        self.roots.values().map(PathMap::len).sum()
    }

    /// Whether no hash is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a scan changed what the cache remembers since it was made or
    /// loaded (so saving it would write something new).
    pub fn is_changed(&self) -> bool {
        self.changed
    }

    /// Why the loaded file was ignored, when it was.
    pub fn ignored_reason(&self) -> Option<&str> {
        self.ignored.as_deref()
    }
}

fn encode_cache(roots: &RootRecords) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + roots.values().map(|m| m.len() * 96).sum::<usize>());
    out.extend_from_slice(CACHE_MAGIC);
    out.extend_from_slice(&CACHE_VERSION.to_le_bytes());
    let mut root_keys: Vec<&Vec<u8>> = roots.keys().collect();
    root_keys.sort();
    out.extend_from_slice(&(root_keys.len() as u64).to_le_bytes());
    for root in root_keys {
        let files = &roots[root];
        out.extend_from_slice(&(root.len() as u64).to_le_bytes());
        out.extend_from_slice(root);
        out.extend_from_slice(&(files.len() as u64).to_le_bytes());
        let mut paths: Vec<(&Vec<u8>, &Cached)> = files.iter().collect();
        paths.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut previous: &[u8] = &[];
        for (path, cached) in paths {
            // Sorted paths share long prefixes: store only what differs.
            let shared = previous
                .iter()
                .zip(path.iter())
                .take_while(|(a, b)| a == b)
                .count();
            out.extend_from_slice(&(shared as u32).to_le_bytes());
            out.extend_from_slice(&((path.len() - shared) as u32).to_le_bytes());
            out.extend_from_slice(&path[shared..]);
            out.extend_from_slice(&cached.stamp.size.to_le_bytes());
            out.extend_from_slice(&cached.stamp.mtime_ns.to_le_bytes());
            out.extend_from_slice(&cached.stamp.ino.to_le_bytes());
            out.extend_from_slice(&cached.stamp.ctime_ns.to_le_bytes());
            out.extend_from_slice(&cached.hash);
            previous = path;
        }
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

fn decode_cache(bytes: &[u8]) -> Option<RootRecords> {
    let (body, checksum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if blake3::hash(body).as_bytes() != checksum {
        return None;
    }
    let mut r = Reader {
        bytes: body,
        pos: 0,
    };
    if r.take(CACHE_MAGIC.len())? != CACHE_MAGIC || r.u32()? != CACHE_VERSION {
        return None;
    }
    let root_count = r.u64()?;
    let mut roots = HashMap::new();
    for _ in 0..root_count {
        let root_len = usize::try_from(r.u64()?).ok()?;
        let root = r.take(root_len)?.to_vec();
        let count = usize::try_from(r.u64()?).ok()?;
        // Each record is at least 72 bytes: a count beyond that is corrupt.
        let mut files =
            PathMap::with_capacity_and_hasher(count.min(r.remaining() / 72), Default::default());
        let mut previous: Vec<u8> = Vec::new();
        for _ in 0..count {
            let shared = r.u32()? as usize;
            let suffix_len = r.u32()? as usize;
            if shared > previous.len() {
                return None;
            }
            let mut path = Vec::with_capacity(shared + suffix_len);
            path.extend_from_slice(&previous[..shared]);
            path.extend_from_slice(r.take(suffix_len)?);
            let stamp = Stamp {
                size: r.u64()?,
                mtime_ns: r.i64()?,
                ino: r.u64()?,
                ctime_ns: r.i64()?,
            };
            let hash: [u8; 32] = r.take(32)?.try_into().ok()?;
            previous.clone_from(&path);
            files.insert(path, Cached { stamp, hash });
        }
        roots.insert(root, files);
    }
    (r.remaining() == 0).then_some(roots)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let slice = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

// ---------------------------------------------------------------------------
// Scan
// ---------------------------------------------------------------------------

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

/// How directories are opened: never through a symlink.
const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// How files are opened for hashing: never through a symlink, never
/// waiting on a fifo swapped in since the listing.
const FILE_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::NONBLOCK)
    .union(OFlags::CLOEXEC);

/// Not moving access times needs the file's owner (or CAP_FOWNER).
#[cfg(any(target_os = "linux", target_os = "android"))]
const NOATIME: OFlags = OFlags::NOATIME;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const NOATIME: OFlags = OFlags::empty();

/// A directory lists at most this many files to hash before it hands the
/// rest to other workers, in batches of this size.
const FILES_PER_JOB: usize = 64;
/// At most this many open directories wait in the queue (opened relative
/// to their parent, or shared with file batches); beyond it, a directory
/// is opened by its path when its turn comes and its files are hashed by
/// the worker that lists it.
const QUEUED_FDS: usize = 128;
/// The read buffer of each worker: larger reads gain nothing measurable,
/// and 16 buffers of 1 MiB were most of a small plan's memory.
const READ_BUFFER: usize = 64 << 10;
/// A walker moves what it found into the scan's snapshot in batches of
/// about this many entries.
const FOUND_BATCH: usize = 256;
/// Walkers: one per core, but at least this many. On a cold page cache a
/// scan waits on the disk, and requests in flight are what make it fast
/// (16 walkers read a 100,000-file pair 3.5x faster than 2 on a 2-core
/// VM); on a warm one the extra threads cost about 2 %.
const MIN_WORKERS: usize = 16;

/// What a scan with a hash cache remembers: the cache's records for the
/// root, and the instant from which a file's stamp is too recent to
/// vouch for its content (it may still change within its timestamp's
/// granularity).
#[derive(Clone, Copy)]
struct Remember<'a> {
    known: Option<&'a PathMap<Cached>>,
    racy_from: i64,
}

/// The records a scan leaves in the cache: paths whose record still
/// holds (borrowed from the cache), and hashes read now.
#[derive(Default)]
struct Records<'a> {
    kept: Vec<&'a [u8]>,
    fresh: Vec<(Vec<u8>, Cached)>,
}

/// Metadata of a regular file.
#[derive(Clone, Copy)]
struct FileMeta {
    executable: bool,
    stamp: Stamp,
}

impl FileMeta {
    fn of(meta: &Metadata) -> FileMeta {
        FileMeta {
            executable: meta.mode() & 0o111 != 0,
            stamp: Stamp::of(meta),
        }
    }
}

/// Work for the walkers.
enum Job<'a> {
    /// List a directory: its relative path, whether an include pattern
    /// matched it or a directory above it, and the directory itself when
    /// it was opened already.
    Dir {
        rel: Vec<u8>,
        included: bool,
        fd: Held<'a, OwnedFd>,
    },
    /// Hash files of an open directory.
    Files {
        dir: Arc<Held<'a, Dir>>,
        files: Vec<PendingFile>,
    },
}

/// Something holding a file descriptor while it waits in the queue,
/// counted against [`QUEUED_FDS`] when `budget` is set.
struct Held<'a, T> {
    value: Option<T>,
    budget: Option<&'a AtomicUsize>,
}

impl<T> Drop for Held<'_, T> {
    fn drop(&mut self) {
        if let Some(budget) = self.budget {
            budget.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A file to hash: its path and its name in its directory.
struct PendingFile {
    rel: Vec<u8>,
    name: CString,
}

/// The shared part of the job queue. Each walker keeps one job of its own
/// (depth first, no locking) and shares the rest.
struct Queue<'a> {
    jobs: Vec<Job<'a>>,
    idle: usize,
    done: bool,
}

/// What one walker gathered.
#[derive(Default)]
struct Walked<'a> {
    found: SnapshotBuilder,
    records: Records<'a>,
    warnings: Vec<String>,
    files_hashed: usize,
    files_from_cache: usize,
    bytes_hashed: u64,
}

impl<'a> Walked<'a> {
    fn link(&mut self, rel: &[u8], text: Vec<u8>) {
        self.found.push(
            rel,
            &Entry {
                kind: EntryKind::Symlink,
                executable: false,
                size: text.len() as u64,
                hash: ContentHash::of(&text),
                link: Some(SyncPath(text)),
            },
        );
    }

    fn file(&mut self, rel: &[u8], meta: FileMeta, hash: [u8; 32]) {
        self.found.push(
            rel,
            &Entry {
                kind: EntryKind::File,
                executable: meta.executable,
                size: meta.stamp.size,
                hash: ContentHash(hash),
                link: None,
            },
        );
    }

    /// Records a file's fresh hash in the cache, unless its stamp is too
    /// recent to vouch for it.
    fn remember(
        &mut self,
        remember: Option<Remember<'a>>,
        rel: &[u8],
        meta: FileMeta,
        hash: [u8; 32],
    ) {
        if let Some(remember) = remember
            && meta.stamp.mtime_ns.max(meta.stamp.ctime_ns) < remember.racy_from
        {
            self.records.fresh.push((
                rel.to_vec(),
                Cached {
                    stamp: meta.stamp,
                    hash,
                },
            ));
        }
    }
}

/// The parallel walk and hash of one root.
struct Walker<'a> {
    root: &'a Path,
    root_fd: BorrowedFd<'a>,
    filters: &'a Filters,
    remember: Option<Remember<'a>>,
    /// Every entry found, gathered from the walkers' batches.
    found: Mutex<SnapshotBuilder>,
    workers: usize,
    queue: Mutex<Queue<'a>>,
    wake: Condvar,
    failed: AtomicBool,
    noatime: AtomicBool,
    /// Descriptors held by queued jobs.
    queued_fds: &'a AtomicUsize,
}

fn walk<'a>(
    root: &'a Path,
    root_fd: BorrowedFd<'a>,
    filters: &'a Filters,
    remember: Option<Remember<'a>>,
    queued_fds: &'a AtomicUsize,
) -> Result<Walked<'a>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(MIN_WORKERS);
    let walker = Walker {
        root,
        root_fd,
        filters,
        remember,
        found: Mutex::new(SnapshotBuilder::default()),
        workers,
        queue: Mutex::new(Queue {
            jobs: vec![Job::Dir {
                rel: Vec::new(),
                included: filters.include.is_none(),
                fd: Held {
                    value: None,
                    budget: None,
                },
            }],
            idle: 0,
            done: false,
        }),
        wake: Condvar::new(),
        failed: AtomicBool::new(false),
        noatime: AtomicBool::new(!NOATIME.is_empty()),
        queued_fds,
    };
    let outputs: Vec<Result<Walked<'a>>> = if workers == 1 {
        vec![walker.run()]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers).map(|_| s.spawn(|| walker.run())).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };
    let mut all = Walked {
        found: walker
            .found
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
        ..Walked::default()
    };
    for output in outputs {
        let mut output = output?;
        all.records.kept.append(&mut output.records.kept);
        all.records.fresh.append(&mut output.records.fresh);
        all.warnings.append(&mut output.warnings);
        all.files_hashed += output.files_hashed;
        all.files_from_cache += output.files_from_cache;
        all.bytes_hashed += output.bytes_hashed;
    }
    Ok(all)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn os_path(root: &Path, rel: &[u8]) -> PathBuf {
    if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(OsStr::from_bytes(rel))
    }
}

fn unreadable(path: &Path, e: impl Into<io::Error>) -> Error {
    Error::input(format!("cannot read {}: {}", path.display(), e.into()))
}

fn vanished(path: &Path) -> String {
    format!("{} vanished while it was being read", path.display())
}

fn changed_type(path: &Path) -> Error {
    Error::input(format!(
        "{} changed while it was being read (it is no longer a regular file); scan again",
        path.display()
    ))
}

impl<'a> Walker<'a> {
    fn run(&self) -> Result<Walked<'a>> {
        let mut out = Walked::default();
        let mut buffer = vec![0u8; READ_BUFFER];
        let mut mine = None;
        while let Some(job) = self.next(&mut mine) {
            let done = match job {
                Job::Dir {
                    rel,
                    included,
                    mut fd,
                } => self.read_dir(&rel, included, fd.value.take(), &mut out, &mut buffer),
                Job::Files { dir, files } => match &dir.value {
                    Some(open) => self
                        .hash_files(open, files, &mut out, &mut buffer)
                        .map(|()| None),
                    None => Ok(None),
                },
            };
            if out.found.len() >= FOUND_BATCH {
                lock(&self.found).append(&mut out.found);
            }
            match done {
                Ok(next) => mine = next,
                Err(e) => {
                    self.failed.store(true, Ordering::Relaxed);
                    lock(&self.queue).done = true;
                    self.wake.notify_all();
                    return Err(e);
                }
            }
        }
        lock(&self.found).append(&mut out.found);
        Ok(out)
    }

    /// The walker's own next job, or a shared one; `None` when all the
    /// work is done (or another walker failed).
    fn next(&self, mine: &mut Option<Job<'a>>) -> Option<Job<'a>> {
        if self.failed.load(Ordering::Relaxed) {
            return None;
        }
        if let Some(job) = mine.take() {
            return Some(job);
        }
        let mut q = lock(&self.queue);
        loop {
            if q.done {
                return None;
            }
            if let Some(job) = q.jobs.pop() {
                return Some(job);
            }
            q.idle += 1;
            if q.idle == self.workers {
                q.done = true;
                self.wake.notify_all();
                return None;
            }
            q = self
                .wake
                .wait(q)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            q.idle -= 1;
        }
    }

    fn share(&self, jobs: Vec<Job<'a>>) {
        if jobs.is_empty() {
            return;
        }
        let count = jobs.len();
        let mut q = lock(&self.queue);
        q.jobs.extend(jobs);
        let sleeping = q.idle.min(count);
        drop(q);
        for _ in 0..sleeping {
            self.wake.notify_one();
        }
    }

    /// Lists one directory: records symlinks and cached files, shares its
    /// subdirectories and files to hash, hashes a first batch of files
    /// itself and returns a subdirectory to go on with.
    /// Takes one descriptor from the queue's budget.
    fn reserve_fd(&self) -> bool {
        if self.queued_fds.fetch_add(1, Ordering::Relaxed) < QUEUED_FDS {
            true
        } else {
            self.queued_fds.fetch_sub(1, Ordering::Relaxed);
            false
        }
    }

    fn read_dir(
        &self,
        rel: &[u8],
        included: bool,
        fd: Option<OwnedFd>,
        out: &mut Walked<'a>,
        buffer: &mut [u8],
    ) -> Result<Option<Job<'a>>> {
        let opened = match fd {
            Some(fd) => Ok(fd),
            None if rel.is_empty() => {
                rustix::fs::openat(self.root_fd, c".", DIR_FLAGS, Mode::empty())
            }
            None => rustix::fs::openat(self.root_fd, rel, DIR_FLAGS, Mode::empty()),
        };
        let fd = match opened {
            Ok(fd) => fd,
            Err(Errno::NOENT) if !rel.is_empty() => {
                out.warnings.push(vanished(&os_path(self.root, rel)));
                return Ok(None);
            }
            Err(e) => return Err(unreadable(&os_path(self.root, rel), e)),
        };
        let mut dir = Dir::new(fd).map_err(|e| unreadable(&os_path(self.root, rel), e))?;
        let mut subdirs = Vec::new();
        let mut pending = Vec::new();
        while let Some(dirent) = dir.read() {
            let dirent = dirent.map_err(|e| unreadable(&os_path(self.root, rel), e))?;
            let name = dirent.file_name();
            let name_bytes = name.to_bytes();
            if name_bytes == b"." || name_bytes == b".." {
                continue;
            }
            let mut child = Vec::with_capacity(rel.len() + 1 + name_bytes.len());
            if !rel.is_empty() {
                child.extend_from_slice(rel);
                child.push(b'/');
            }
            child.extend_from_slice(name_bytes);
            let mut file_type = dirent.file_type();
            if file_type == FileType::Unknown {
                // Some file systems do not fill in d_type.
                match std::fs::symlink_metadata(os_path(self.root, &child)) {
                    Ok(m) => file_type = FileType::from_raw_mode(m.mode() as RawMode),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        out.warnings.push(vanished(&os_path(self.root, &child)));
                        continue;
                    }
                    Err(e) => return Err(unreadable(&os_path(self.root, &child), e)),
                }
            }
            if file_type == FileType::Directory {
                if let DirVerdict::Descend(inc) = self.filters.dir_verdict(&child, included) {
                    subdirs.push((child, name.to_owned(), inc));
                }
                continue;
            }
            if !self.filters.selects_leaf(&child, included) {
                continue;
            }
            match file_type {
                FileType::Symlink => {
                    let dir_fd = dir
                        .fd()
                        .map_err(|e| unreadable(&os_path(self.root, rel), e))?;
                    match rustix::fs::readlinkat(dir_fd, name, Vec::new()) {
                        Ok(text) => out.link(&child, text.into_bytes()),
                        Err(Errno::NOENT) => {
                            out.warnings.push(vanished(&os_path(self.root, &child)))
                        }
                        Err(e) => return Err(unreadable(&os_path(self.root, &child), e)),
                    }
                }
                FileType::RegularFile => {
                    if let Some(known) = self.remember.and_then(|r| r.known) {
                        let dir_fd = dir
                            .fd()
                            .map_err(|e| unreadable(&os_path(self.root, rel), e))?;
                        let Some(meta) = self.stat_file(dir_fd, name, &child, out)? else {
                            continue;
                        };
                        if let Some((path, cached)) = known
                            .get_key_value(&child)
                            .filter(|(_, c)| c.stamp == meta.stamp)
                        {
                            out.file(&child, meta, cached.hash);
                            out.files_from_cache += 1;
                            out.records.kept.push(path.as_slice());
                            continue;
                        }
                    }
                    pending.push(PendingFile {
                        rel: child,
                        name: name.to_owned(),
                    });
                }
                other => {
                    let what = match other {
                        FileType::Fifo => "a fifo",
                        FileType::Socket => "a socket",
                        FileType::BlockDevice => "a block device",
                        FileType::CharacterDevice => "a character device",
                        _ => "of an unknown type",
                    };
                    out.warnings.push(format!(
                        "skipped {}: it is {what}; a sync carries only regular files and symlinks",
                        os_path(self.root, &child).display()
                    ));
                }
            }
        }
        // Subdirectories are opened now, relative to this one (one name to
        // look up, not a path), while the budget lasts; the last one is
        // this worker's next job.
        let dir_fd = dir
            .fd()
            .map_err(|e| unreadable(&os_path(self.root, rel), e))?;
        let mut shared = Vec::with_capacity(subdirs.len());
        let mut mine = None;
        let count = subdirs.len();
        for (i, (child, name, inc)) in subdirs.into_iter().enumerate() {
            let own = i + 1 == count;
            let counted = !own && self.reserve_fd();
            let mut fd = Held {
                value: None,
                budget: counted.then_some(self.queued_fds),
            };
            if own || counted {
                match rustix::fs::openat(dir_fd, &name, DIR_FLAGS, Mode::empty()) {
                    Ok(opened) => fd.value = Some(opened),
                    Err(Errno::NOENT) => {
                        out.warnings.push(vanished(&os_path(self.root, &child)));
                        continue;
                    }
                    Err(e) => return Err(unreadable(&os_path(self.root, &child), e)),
                }
            }
            let job = Job::Dir {
                rel: child,
                included: inc,
                fd,
            };
            if own {
                mine = Some(job);
            } else {
                shared.push(job);
            }
        }
        let share_files = pending.len() > FILES_PER_JOB && self.reserve_fd();
        let dir = Arc::new(Held {
            value: Some(dir),
            budget: share_files.then_some(self.queued_fds),
        });
        if share_files {
            let mut rest = pending.split_off(FILES_PER_JOB).into_iter();
            loop {
                let files: Vec<PendingFile> = rest.by_ref().take(FILES_PER_JOB).collect();
                if files.is_empty() {
                    break;
                }
                shared.push(Job::Files {
                    dir: Arc::clone(&dir),
                    files,
                });
            }
        }
        self.share(shared);
        if let Some(open) = &dir.value {
            self.hash_files(open, pending, out, buffer)?;
        }
        Ok(mine)
    }

    /// The metadata of a regular file in `dir`, without opening it; `None`
    /// (with a warning) when it vanished.
    fn stat_file(
        &self,
        dir: BorrowedFd<'_>,
        name: &CStr,
        rel: &[u8],
        out: &mut Walked<'a>,
    ) -> Result<Option<FileMeta>> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use rustix::fs::{AtFlags, StatxFlags};
            let ns = |t: rustix::fs::StatxTimestamp| {
                t.tv_sec
                    .saturating_mul(1_000_000_000)
                    .saturating_add(i64::from(t.tv_nsec))
            };
            match rustix::fs::statx(
                dir,
                name,
                AtFlags::SYMLINK_NOFOLLOW,
                StatxFlags::BASIC_STATS,
            ) {
                Ok(st) => {
                    if FileType::from_raw_mode(RawMode::from(st.stx_mode)) != FileType::RegularFile
                    {
                        return Err(changed_type(&os_path(self.root, rel)));
                    }
                    return Ok(Some(FileMeta {
                        executable: st.stx_mode & 0o111 != 0,
                        stamp: Stamp {
                            size: st.stx_size,
                            mtime_ns: ns(st.stx_mtime),
                            ino: st.stx_ino,
                            ctime_ns: ns(st.stx_ctime),
                        },
                    }));
                }
                Err(Errno::NOENT) => {
                    out.warnings.push(vanished(&os_path(self.root, rel)));
                    return Ok(None);
                }
                Err(Errno::NOSYS) => {}
                Err(e) => return Err(unreadable(&os_path(self.root, rel), e)),
            }
        }
        // Without statx: open it and ask the open file.
        let file = match rustix::fs::openat(dir, name, FILE_FLAGS, Mode::empty()) {
            Ok(fd) => File::from(fd),
            Err(Errno::NOENT) => {
                out.warnings.push(vanished(&os_path(self.root, rel)));
                return Ok(None);
            }
            Err(Errno::LOOP) => return Err(changed_type(&os_path(self.root, rel))),
            Err(e) => return Err(unreadable(&os_path(self.root, rel), e)),
        };
        let meta = file
            .metadata()
            .map_err(|e| unreadable(&os_path(self.root, rel), e))?;
        if !meta.is_file() {
            return Err(changed_type(&os_path(self.root, rel)));
        }
        Ok(Some(FileMeta::of(&meta)))
    }

    fn hash_files(
        &self,
        dir: &Dir,
        files: Vec<PendingFile>,
        out: &mut Walked<'a>,
        buffer: &mut [u8],
    ) -> Result<()> {
        if files.is_empty() {
            return Ok(());
        }
        let dir_fd = dir.fd().map_err(|e| unreadable(self.root, e))?;
        for file in files {
            if self.failed.load(Ordering::Relaxed) {
                return Ok(());
            }
            match self.hash_file(dir_fd, &file, buffer)? {
                Some((meta, hash)) => {
                    out.files_hashed += 1;
                    out.bytes_hashed += meta.stamp.size;
                    out.file(&file.rel, meta, hash);
                    out.remember(self.remember, &file.rel, meta, hash);
                }
                None => out.warnings.push(vanished(&os_path(self.root, &file.rel))),
            }
        }
        Ok(())
    }

    fn open(&self, dir: BorrowedFd<'_>, name: &CStr) -> rustix::io::Result<OwnedFd> {
        if self.noatime.load(Ordering::Relaxed) {
            match rustix::fs::openat(dir, name, FILE_FLAGS | NOATIME, Mode::empty()) {
                Err(Errno::PERM) => self.noatime.store(false, Ordering::Relaxed),
                other => return other,
            }
        }
        rustix::fs::openat(dir, name, FILE_FLAGS, Mode::empty())
    }

    /// Hashes one file as of its `fstat`: the bytes up to the size it had
    /// then (a file that grows while it is read is hashed as it was; its
    /// stamp no longer matches, so a cache reads it again next time).
    /// `None` when it vanished.
    fn hash_file(
        &self,
        dir: BorrowedFd<'_>,
        pending: &PendingFile,
        buffer: &mut [u8],
    ) -> Result<Option<(FileMeta, [u8; 32])>> {
        let path = || os_path(self.root, &pending.rel);
        let mut file = match self.open(dir, &pending.name) {
            Ok(fd) => File::from(fd),
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::LOOP) => return Err(changed_type(&path())),
            Err(e) => return Err(unreadable(&path(), e)),
        };
        let meta = file.metadata().map_err(|e| unreadable(&path(), e))?;
        if !meta.is_file() {
            return Err(changed_type(&path()));
        }
        let mut meta = FileMeta::of(&meta);
        let mut hasher = blake3::Hasher::new();
        let mut read = 0u64;
        while read < meta.stamp.size {
            let want = usize::try_from(meta.stamp.size - read)
                .map_or(buffer.len(), |n| n.min(buffer.len()));
            match file.read(&mut buffer[..want]) {
                Ok(0) => break,
                Ok(n) => {
                    hasher.update(&buffer[..n]);
                    read += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(unreadable(&path(), e)),
            }
        }
        // A file that shrank while being read: the size describes the
        // bytes hashed.
        meta.stamp.size = read;
        Ok(Some((meta, *hasher.finalize().as_bytes())))
    }
}

/// Reads the one entry at `rel` under `root` as a scan would (a file's
/// content hash and executable bit, a symlink's text, never following
/// it); `None` when nothing, a directory or a special file is there. This
/// is how an apply verifies the paths it wrote without reading the whole
/// tree again.
///
/// # Errors
///
/// Returns [`Error::Io`] naming the path when it cannot be read.
pub fn read_entry(root: &Path, rel: &SyncPath) -> Result<Option<Entry>> {
    let path = rel.under(root);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot inspect", &path, e)),
    };
    if meta.file_type().is_symlink() {
        let text =
            std::fs::read_link(&path).map_err(|e| Error::io("cannot read link", &path, e))?;
        let text = text.into_os_string().into_vec();
        return Ok(Some(Entry {
            kind: EntryKind::Symlink,
            executable: false,
            size: text.len() as u64,
            hash: ContentHash::of(&text),
            link: Some(SyncPath(text)),
        }));
    }
    if !meta.is_file() {
        return Ok(None);
    }
    let mut file = File::open(&path).map_err(|e| Error::io("cannot open", &path, e))?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0; 64 * 1024];
    let mut size = 0u64;
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buffer[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("cannot read", &path, e)),
        }
    }
    Ok(Some(Entry {
        kind: EntryKind::File,
        executable: meta.mode() & 0o111 != 0,
        size,
        hash: ContentHash(*hasher.finalize().as_bytes()),
        link: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};
    use std::fs::{FileTimes, Permissions};
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    use std::time::Duration;

    use crate::ErrorKind;
    use crate::sync::model::ChangeKind;
    use crate::sync::snapshot::changes;

    fn filters(include: &[&str], exclude: &[&str]) -> Filters {
        Filters::new(include, exclude).expect("valid patterns")
    }

    fn sel(f: &Filters, path: &str, is_dir: bool) -> bool {
        f.selects(&SyncPath(path.as_bytes().to_vec()), is_dir)
    }

    fn write(root: &Path, rel: impl AsRef<[u8]>, content: &[u8]) -> PathBuf {
        let path = root.join(OsStr::from_bytes(rel.as_ref()));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write");
        path
    }

    fn set_mtime(path: &Path, secs: u64) {
        let file = File::options().write(true).open(path).expect("open");
        let t = UNIX_EPOCH + Duration::from_secs(secs);
        file.set_times(FileTimes::new().set_modified(t).set_accessed(t))
            .expect("set times");
    }

    fn paths(report: &ScanReport) -> Vec<String> {
        report
            .snapshot
            .paths()
            .map(|p| SyncPath(p.to_vec()).encoded())
            .collect()
    }

    fn cache_without_racy_window() -> HashCache {
        let mut cache = HashCache::new();
        cache.set_racy_window(Duration::ZERO);
        cache
    }

    #[test]
    fn filters_select_by_include_and_exclude() {
        let f = filters(&["src/**", "*.md"], &["*.tmp", "src/generated/"]);
        assert!(sel(&f, "src/main.rs", false));
        assert!(sel(&f, "src/deep/er/mod.rs", false));
        assert!(!sel(&f, "src/x.tmp", false));
        assert!(!sel(&f, "src/generated/api.rs", false));
        assert!(!sel(&f, "src/generated", true));
        assert!(sel(&f, "README.md", false));
        assert!(sel(&f, "docs/guide.md", false));
        assert!(!sel(&f, "Cargo.toml", false));
        assert!(!sel(&f, "lib/src/main.rs", false), "src/** is anchored");

        let everything = filters(&[], &["*.tmp"]);
        assert!(sel(&everything, "Cargo.toml", false));
        assert!(sel(&everything, "a/b/c", false));
        assert!(!sel(&everything, "a/b/c.tmp", false));
        assert!(sel(&Filters::default(), "any/thing", false));
    }

    #[test]
    fn filters_anchor_with_a_leading_slash_and_float_bare_names() {
        let f = filters(&[], &["/build", "cache", "docs/*.tmp"]);
        assert!(!sel(&f, "build", true));
        assert!(!sel(&f, "build/out.o", false));
        assert!(
            sel(&f, "sub/build/out.o", false),
            "/build is anchored at the root"
        );
        assert!(!sel(&f, "cache/x", false));
        assert!(
            !sel(&f, "a/b/cache/x", false),
            "a bare name matches at any depth"
        );
        assert!(!sel(&f, "a/cache", false));
        assert!(!sel(&f, "docs/a.tmp", false));
        assert!(
            sel(&f, "docs/sub/a.tmp", false),
            "`*` stays within one component"
        );
        assert!(sel(&f, "x/docs/a.tmp", false), "a middle `/` anchors too");
    }

    #[test]
    fn filters_support_double_stars_classes_and_question_marks() {
        let f = filters(&["**/test_?.rs", "a/**/z", "[ab]*.txt", "logs/**"], &[]);
        assert!(sel(&f, "x/y/test_1.rs", false));
        assert!(sel(&f, "test_1.rs", false));
        assert!(!sel(&f, "test_10.rs", false));
        assert!(sel(&f, "a/z", false));
        assert!(sel(&f, "a/b/c/z", false));
        assert!(!sel(&f, "b/z", false));
        assert!(sel(&f, "apple.txt", false));
        assert!(sel(&f, "x/berry.txt", false));
        assert!(!sel(&f, "cherry.txt", false));
        assert!(sel(&f, "logs/2024/app.log", false));
        assert!(
            !sel(&f, "logs", false),
            "logs/** matches what is inside logs"
        );
    }

    #[test]
    fn filters_with_a_trailing_slash_match_directories_only() {
        let f = filters(&[], &["out/"]);
        assert!(!sel(&f, "out", true));
        assert!(sel(&f, "out", false), "a file named out is not a directory");
        assert!(!sel(&f, "out/x", false));
        assert!(!sel(&f, "a/out/x", false));
        let only = filters(&["keep/"], &[]);
        assert!(sel(&only, "keep/a/b", false));
        assert!(!sel(&only, "keep", false));
    }

    #[test]
    fn filters_refuse_patterns_that_could_escape_the_root() {
        for pattern in [
            "../x",
            "a/../../b",
            "..",
            "src/..",
            "//etc/passwd",
            "~/secrets",
            "C:\\x",
            "c:/x",
            "!keep",
            "/",
            "a//b",
            "./a",
            "[",
        ] {
            for (include, exclude) in [(vec![pattern], vec![]), (vec![], vec![pattern])] {
                let e = Filters::new(&include, &exclude).expect_err(pattern);
                assert_eq!(e.kind(), ErrorKind::Input, "{pattern}");
                assert!(e.to_string().contains(&format!("`{pattern}`")), "{e}");
                let list = if include.is_empty() {
                    "exclude"
                } else {
                    "include"
                };
                assert!(e.to_string().starts_with(list), "{e}");
            }
        }
        let e = Filters::new(&[""], &[] as &[&str]).expect_err("empty");
        assert_eq!(e.to_string(), "empty include pattern");
        let e = Filters::new(&["../x"], &[] as &[&str]).expect_err("dotdot");
        assert!(e.to_string().contains("outside the sync root"), "{e}");
        for fine in [
            "/a",
            "a/",
            "..foo",
            "foo..bar",
            "a/**",
            "**/b",
            "*.{rs,toml}",
        ] {
            Filters::new(&[fine], &[fine]).expect(fine);
        }
    }

    #[test]
    fn scan_prunes_filtered_directories_and_agrees_with_selects() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let all = [
            "dist/app.js",
            "dist/app.js.map",
            "dist/sub/x.bin",
            "src/main.rs",
            "src/README.md",
            "README.md",
            "node_modules/big/README.md",
            "node_modules/big/index.js",
        ];
        for rel in all {
            write(root, rel, rel.as_bytes());
        }
        let f = filters(&["/dist/**", "README.md"], &["*.map", "node_modules/"]);
        let report = scan(root, &f, None).expect("scan");
        assert_eq!(
            paths(&report),
            [
                "README.md",
                "dist/app.js",
                "dist/sub/x.bin",
                "src/README.md"
            ]
        );
        for rel in all {
            let selected = sel(&f, rel, false);
            let scanned = report.snapshot.get(rel.as_bytes()).is_some();
            assert_eq!(selected, scanned, "{rel}");
        }
        // An anchored include prunes everything it cannot reach.
        let f = filters(&["/dist/sub/"], &[]);
        assert!(!f.include.as_ref().expect("include").may_match_under(b"src"));
        assert!(
            f.include
                .as_ref()
                .expect("include")
                .may_match_under(b"dist")
        );
        let report = scan(root, &f, None).expect("scan");
        assert_eq!(paths(&report), ["dist/sub/x.bin"]);
    }

    /// The same tree read the plain way: one thread, paths, std only.
    fn reference_snapshot(root: &Path) -> Snapshot {
        let mut entries = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for dirent in std::fs::read_dir(&dir).expect("list") {
                let path = dirent.expect("entry").path();
                let meta = std::fs::symlink_metadata(&path).expect("lstat");
                let rel = path.strip_prefix(root).expect("under root");
                let rel = SyncPath(rel.as_os_str().as_bytes().to_vec());
                let (kind, executable, bytes, link) = if meta.is_dir() {
                    stack.push(path);
                    continue;
                } else if meta.file_type().is_symlink() {
                    let text = std::fs::read_link(&path).expect("readlink");
                    let text = text.into_os_string().into_vec();
                    (
                        EntryKind::Symlink,
                        false,
                        text.clone(),
                        Some(SyncPath(text)),
                    )
                } else {
                    let bytes = std::fs::read(&path).expect("read");
                    (EntryKind::File, meta.mode() & 0o111 != 0, bytes, None)
                };
                let entry = Entry {
                    kind,
                    executable,
                    size: bytes.len() as u64,
                    hash: crate::sync::model::ContentHash::of(&bytes),
                    link,
                };
                entries.insert(rel, entry);
            }
        }
        entries.into_iter().collect()
    }

    #[test]
    fn scan_agrees_with_a_plain_walk_on_wide_deep_and_flat_trees() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        // Flat: more files than one worker keeps, so batches are shared.
        for i in 0..(FILES_PER_JOB * 5 + 7) {
            write(
                root,
                format!("flat/f{i:04}"),
                format!("flat {i}\n").as_bytes(),
            );
        }
        // Wide: more subdirectories than the queue may hold open.
        for i in 0..(QUEUED_FDS + 40) {
            write(root, format!("wide/d{i:03}/x"), &[i as u8; 3]);
        }
        // Deep, with a big file on the way down.
        let mut deep = String::from("deep");
        for level in 0..30 {
            deep.push_str(&format!("/l{level}"));
            write(root, format!("{deep}/f"), deep.as_bytes());
        }
        write(root, "deep/big.bin", &vec![7u8; 3 * READ_BUFFER + 11]);
        std::os::unix::fs::symlink("flat/f0001", root.join("wide/link")).expect("ln");
        let expected = reference_snapshot(root);
        let report = scan(root, &Filters::default(), None).expect("scan");
        assert_eq!(report.snapshot.len(), expected.len());
        assert_eq!(report.snapshot, expected);
        let files = expected.len() - 1;
        assert_eq!(report.files_hashed, files);
        let mut cache = cache_without_racy_window();
        scan(root, &Filters::default(), Some(&mut cache)).expect("fill");
        let cached = scan(root, &Filters::default(), Some(&mut cache)).expect("cached");
        assert_eq!((cached.files_hashed, cached.files_from_cache), (0, files));
        assert_eq!(cached.snapshot, expected);
    }

    #[test]
    fn scan_records_symlinks_without_following_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        write(&outside, "secret.txt", b"top secret");
        write(&outside, "dir/inner.txt", b"inner");
        std::fs::create_dir_all(&root).expect("root");
        let abs_dir = outside.join("dir");
        std::os::unix::fs::symlink("../outside/secret.txt", root.join("to-file")).expect("ln");
        std::os::unix::fs::symlink(&abs_dir, root.join("to-dir")).expect("ln");
        std::os::unix::fs::symlink("nowhere/at/all", root.join("dangling")).expect("ln");
        // Unreadable to anyone but root: following the links would fail.
        std::fs::set_permissions(&outside, Permissions::from_mode(0o000)).expect("chmod");
        let report = scan(&root, &Filters::default(), None);
        std::fs::set_permissions(&outside, Permissions::from_mode(0o755)).expect("chmod");
        let report = report.expect("scan");
        assert_eq!(paths(&report), ["dangling", "to-dir", "to-file"]);
        let abs_dir = abs_dir.into_os_string().into_vec();
        for (name, text) in [
            ("dangling", b"nowhere/at/all".to_vec()),
            ("to-dir", abs_dir),
            ("to-file", b"../outside/secret.txt".to_vec()),
        ] {
            let entry = &report.snapshot.get(name.as_bytes()).expect("scanned");
            assert_eq!(entry.kind, EntryKind::Symlink, "{name}");
            assert_eq!(entry.link, Some(SyncPath(text.clone())), "{name}");
            assert_eq!(entry.hash, ContentHash::of(&text), "{name}");
            assert_eq!(entry.size, text.len() as u64, "{name}");
            assert!(!entry.executable);
        }
        assert_eq!(report.files_hashed, 0, "no link was opened");
        assert_eq!(report.bytes_hashed, 0);
    }

    #[test]
    fn read_entry_reads_each_path_as_the_scan_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "a/plain.txt", b"plain\n");
        write(root, b"odd \xff name", b"\x00\x01");
        write(root, "empty", b"");
        let script = write(root, "bin/run.sh", b"#!/bin/sh\n");
        std::fs::set_permissions(&script, Permissions::from_mode(0o755)).expect("chmod");
        std::os::unix::fs::symlink("../outside", root.join("link")).expect("symlink");
        let report = scan(root, &Filters::default(), None).expect("scan");
        assert_eq!(report.snapshot.len(), 5);
        for (path, entry) in report.snapshot.iter() {
            let path = SyncPath(path.to_vec());
            assert_eq!(
                read_entry(root, &path).expect("read").as_ref(),
                Some(&entry),
                "{path}"
            );
        }
        assert_eq!(
            read_entry(root, &SyncPath(b"missing".to_vec())).expect("read"),
            None
        );
        assert_eq!(
            read_entry(root, &SyncPath(b"a".to_vec())).expect("read"),
            None,
            "a directory"
        );
    }

    #[test]
    fn scan_handles_odd_names_executables_and_empty_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "with space.txt", b"spaces\n");
        write(root, "new\nline", b"newline\n");
        write(root, b"bad\xff\xfe.bin", b"\x00\x01");
        write(root, "dir with space/\u{fc}.txt", b"umlaut\n");
        write(root, "empty", b"");
        let script = write(root, "bin/run.sh", b"#!/bin/sh\necho hi\n");
        std::fs::set_permissions(&script, Permissions::from_mode(0o755)).expect("chmod");
        let report = scan(root, &Filters::default(), None).expect("scan");
        let keys: Vec<&[u8]> = report.snapshot.paths().collect();
        assert_eq!(
            keys,
            [
                &b"bad\xff\xfe.bin"[..],
                b"bin/run.sh",
                "dir with space/\u{fc}.txt".as_bytes(),
                b"empty",
                b"new\nline",
                b"with space.txt",
            ]
        );
        let get = |p: &[u8]| report.snapshot.get(p).expect("scanned");
        assert!(get(b"bin/run.sh").executable);
        assert!(!get(b"with space.txt").executable);
        assert_eq!(get(b"empty").size, 0);
        assert_eq!(get(b"empty").hash, ContentHash::of(b""));
        assert_eq!(get(b"bad\xff\xfe.bin").hash, ContentHash::of(b"\x00\x01"));
        assert_eq!(get(b"new\nline").kind, EntryKind::File);
        assert_eq!(report.files_hashed, 6);
        assert_eq!(report.bytes_hashed, 7 + 8 + 2 + 7 + 18);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }

    #[test]
    fn scan_skips_fifos_and_sockets_with_a_warning() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "plain.txt", b"x");
        let _listener =
            std::os::unix::net::UnixListener::bind(root.join("control.sock")).expect("socket");
        let has_fifo = std::process::Command::new("mkfifo")
            .arg(root.join("pipe"))
            .status()
            .is_ok_and(|s| s.success());
        let report = scan(root, &Filters::default(), None).expect("scan");
        assert_eq!(paths(&report), ["plain.txt"]);
        let sock = report
            .warnings
            .iter()
            .find(|w| w.contains("control.sock"))
            .expect("socket warned");
        assert!(
            sock.starts_with("skipped ") && sock.contains("it is a socket"),
            "{sock}"
        );
        if has_fifo {
            let pipe = report
                .warnings
                .iter()
                .find(|w| w.contains("pipe"))
                .expect("fifo warned");
            assert!(pipe.contains("it is a fifo"), "{pipe}");
            assert_eq!(report.warnings.len(), 2);
        }
        // Paths the sync does not own are not its business: no warning.
        let report = scan(root, &filters(&[], &["*.sock", "pipe"]), None).expect("scan");
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }

    #[test]
    fn a_missing_root_is_an_empty_snapshot_and_a_file_root_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = scan(&dir.path().join("not-yet"), &Filters::default(), None).expect("scan");
        assert!(report.snapshot.is_empty());
        let file = write(dir.path(), "file", b"x");
        let e = scan(&file, &Filters::default(), None).expect_err("file root");
        assert_eq!(e.kind(), ErrorKind::Input);
        assert!(e.to_string().contains(&file.display().to_string()), "{e}");
    }

    #[test]
    fn unreadable_files_are_input_errors_naming_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), "sub/locked.txt", b"x");
        std::fs::set_permissions(&path, Permissions::from_mode(0o000)).expect("chmod");
        if std::fs::read(&path).is_ok() {
            // Privileges that read a mode-000 file (root) make this case
            // impossible to set up.
            return;
        }
        let e = scan(dir.path(), &Filters::default(), None).expect_err("unreadable");
        assert_eq!(e.kind(), ErrorKind::Input);
        assert!(e.to_string().starts_with("cannot read "), "{e}");
        assert!(e.to_string().contains("sub/locked.txt"), "{e}");
        // Excluded, it is none of the sync's business.
        scan(dir.path(), &filters(&[], &["locked.txt"]), None).expect("excluded");
    }

    #[test]
    fn the_cache_reuses_hashes_when_metadata_is_unchanged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("tree");
        for i in 0..5 {
            write(
                &root,
                format!("d{}/f{i}.txt", i % 2),
                format!("file {i}\n").as_bytes(),
            );
        }
        std::os::unix::fs::symlink("d0/f0.txt", root.join("link")).expect("ln");
        let cache_file = dir.path().join("cache/hashes.bin");

        let mut cache = cache_without_racy_window();
        let first = scan(&root, &Filters::default(), Some(&mut cache)).expect("first");
        assert_eq!((first.files_hashed, first.files_from_cache), (5, 0));
        assert_eq!(cache.len(), 5);
        assert!(cache.is_changed());
        cache.save(&cache_file).expect("save");

        let mut cache = HashCache::load(&cache_file);
        cache.set_racy_window(Duration::ZERO);
        assert_eq!((cache.len(), cache.ignored_reason()), (5, None));
        let second = scan(&root, &Filters::default(), Some(&mut cache)).expect("second");
        assert_eq!((second.files_hashed, second.files_from_cache), (0, 5));
        assert_eq!(second.bytes_hashed, 0);
        assert_eq!(second.snapshot, first.snapshot);
        assert!(!cache.is_changed(), "nothing new to save");

        // A change of size is read again; a deleted file is forgotten.
        write(&root, "d0/f0.txt", b"longer content\n");
        std::fs::remove_file(root.join("d1/f1.txt")).expect("rm");
        let third = scan(&root, &Filters::default(), Some(&mut cache)).expect("third");
        assert_eq!((third.files_hashed, third.files_from_cache), (1, 3));
        assert_eq!(cache.len(), 4);
        assert!(cache.is_changed());
        let cold = scan(&root, &Filters::default(), None).expect("cold");
        assert_eq!(third.snapshot, cold.snapshot);
    }

    #[test]
    fn recently_changed_files_are_hashed_but_not_remembered() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "fresh.txt", b"just written");
        let mut cache = HashCache::new();
        scan(dir.path(), &Filters::default(), Some(&mut cache)).expect("first");
        assert!(cache.is_empty(), "within the 2 s racy window");
        let again = scan(dir.path(), &Filters::default(), Some(&mut cache)).expect("second");
        assert_eq!((again.files_hashed, again.files_from_cache), (1, 0));
    }

    /// The content check finds an edit that keeps size and mtime when no
    /// cache is used. With a cache, the edit moved the ctime, so it is
    /// caught too; only an edit that leaves (size, mtime, inode, ctime) all
    /// unchanged would be trusted, as rsync without -c trusts size and
    /// mtime.
    #[test]
    fn an_edit_keeping_size_and_mtime_is_caught() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), "config.yaml", b"level: aaaa\n");
        set_mtime(&path, 1_700_000_000);
        let mut cache = cache_without_racy_window();
        let before = scan(dir.path(), &Filters::default(), Some(&mut cache)).expect("before");
        let size_mtime = |p: &Path| {
            let m = std::fs::metadata(p).expect("stat");
            (m.len(), m.mtime(), m.mtime_nsec())
        };
        let kept = size_mtime(&path);
        // Let the clock tick so that the edit has a ctime of its own.
        std::thread::sleep(Duration::from_millis(30));
        std::fs::write(&path, b"level: bbbb\n").expect("edit");
        set_mtime(&path, 1_700_000_000);
        assert_eq!(size_mtime(&path), kept, "size and mtime kept");

        let cold = scan(dir.path(), &Filters::default(), None).expect("cold");
        assert_eq!(changes(&cold.snapshot, &before.snapshot).count(), 1);
        assert_eq!(cold.files_hashed, 1);

        let cached = scan(dir.path(), &Filters::default(), Some(&mut cache)).expect("cached");
        assert_eq!((cached.files_hashed, cached.files_from_cache), (1, 0));
        assert_eq!(cached.snapshot, cold.snapshot);
    }

    #[test]
    fn corrupt_cache_files_are_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "tree/a.txt", b"a");
        let file = dir.path().join("hashes.bin");
        let missing = HashCache::load(&file);
        assert!(missing.is_empty() && missing.ignored_reason().is_none());

        let mut cache = cache_without_racy_window();
        scan(
            &dir.path().join("tree"),
            &Filters::default(),
            Some(&mut cache),
        )
        .expect("scan");
        cache.save(&file).expect("save");
        let good = std::fs::read(&file).expect("read");
        assert_eq!(HashCache::load(&file).len(), 1);

        let mut flipped = good.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x01;
        let mut wrong_version = good.clone();
        wrong_version[CACHE_MAGIC.len()] = 9;
        for bad in [
            Vec::new(),
            b"garbage".to_vec(),
            good[..good.len() - 1].to_vec(),
            good[..40].to_vec(),
            flipped,
            wrong_version,
        ] {
            std::fs::write(&file, &bad).expect("write");
            let mut loaded = HashCache::load(&file);
            assert!(loaded.is_empty(), "{} bytes", bad.len());
            let reason = loaded.ignored_reason().expect("reason").to_string();
            assert!(
                reason.contains("hashes.bin") && reason.contains("ignoring"),
                "{reason}"
            );
            let report = scan(
                &dir.path().join("tree"),
                &Filters::default(),
                Some(&mut loaded),
            )
            .expect("scan with an ignored cache");
            assert_eq!(report.files_hashed, 1);
        }
    }

    /// Everything a dry-run must not move: content, link text, mode and
    /// mtime of every entry, and the access time of every file (read here
    /// with `O_NOATIME`, as the scan does; listing a directory moves its
    /// access time, so directories are compared without it).
    fn fingerprint_tree(root: &Path) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for dirent in std::fs::read_dir(&dir).expect("list") {
                let path = dirent.expect("entry").path();
                let meta = std::fs::symlink_metadata(&path).expect("lstat");
                let what = if meta.is_dir() {
                    stack.push(path.clone());
                    "dir".to_string()
                } else if meta.file_type().is_symlink() {
                    format!("link {:?}", std::fs::read_link(&path).expect("readlink"))
                } else {
                    let mut bytes = Vec::new();
                    File::options()
                        .read(true)
                        .custom_flags(NOATIME.bits() as i32)
                        .open(&path)
                        .and_then(|mut f| f.read_to_end(&mut bytes))
                        .expect("read");
                    let atime = format!("a{}.{}", meta.atime(), meta.atime_nsec());
                    format!("file {} {atime}", blake3::hash(&bytes).to_hex())
                };
                let times = format!("{:o} m{}.{}", meta.mode(), meta.mtime(), meta.mtime_nsec());
                out.insert(path, format!("{what} {times}"));
            }
        }
        out
    }

    /// The must-show: a generated pair whose differences include edits
    /// that keep size and mtime; the plan equals expected.tsv exactly and
    /// the target is untouched.
    #[test]
    fn a_generated_pair_plans_exactly_the_expected_changes() {
        let script = std::env::var_os("TRAINYARD_GEN_TREE").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/gen-tree.py"),
            PathBuf::from,
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let pair = dir.path().join("pair");
        let generated = std::process::Command::new("python3")
            .arg(&script)
            .arg(&pair)
            .args(["--files", "2000"])
            .output();
        match generated {
            Ok(out) if out.status.success() => {}
            other => {
                let why = match other {
                    Ok(out) => format!(
                        "{} failed: {}",
                        script.display(),
                        String::from_utf8_lossy(&out.stderr)
                    ),
                    Err(e) => format!("cannot run python3: {e}"),
                };
                // Outside CI a checkout without ../shared skips this test.
                assert!(std::env::var_os("CI").is_none(), "generated pair: {why}");
                return;
            }
        }
        let (source, target) = (pair.join("source"), pair.join("target"));
        let expected: BTreeSet<(String, Vec<u8>)> = std::fs::read(pair.join("expected.tsv"))
            .expect("expected.tsv")
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                let tab = line.iter().position(|b| *b == b'\t').expect("tab");
                let kind = String::from_utf8(line[..tab].to_vec()).expect("kind");
                (kind, line[tab + 1..].to_vec())
            })
            .collect();
        let kind_name = |k: ChangeKind| match k {
            ChangeKind::Add => "add",
            ChangeKind::Modify => "modify",
            ChangeKind::Delete => "delete",
        };
        // The pair holds edits only a content check finds.
        let same_size_and_mtime = expected
            .iter()
            .filter(|(kind, rel)| {
                let stat = |root: &Path| {
                    let m = std::fs::metadata(root.join(OsStr::from_bytes(rel))).expect("stat");
                    (m.len(), m.mtime(), m.mtime_nsec())
                };
                kind == "modify" && stat(&source) == stat(&target)
            })
            .count();
        assert!(
            same_size_and_mtime > 0,
            "the corpus has no metadata-invisible edit"
        );

        let before = fingerprint_tree(&target);
        let all = Filters::default();
        let source_scan = scan(&source, &all, None).expect("source");
        let target_scan = scan(&target, &all, None).expect("target");
        assert!(source_scan.snapshot.len() > 1900);
        assert_eq!(source_scan.files_from_cache, 0);
        let plan: Vec<_> = changes(&source_scan.snapshot, &target_scan.snapshot).collect();
        let planned: BTreeSet<(String, Vec<u8>)> = plan
            .iter()
            .map(|c| (kind_name(c.kind).to_string(), c.path.0.clone()))
            .collect();
        let show = |set: BTreeSet<&(String, Vec<u8>)>| -> Vec<String> {
            set.iter()
                .map(|(k, p)| format!("{k} {}", SyncPath(p.clone())))
                .collect()
        };
        assert_eq!(
            planned,
            expected,
            "planned but not expected: {:?}; expected but not planned: {:?}",
            show(planned.difference(&expected).collect()),
            show(expected.difference(&planned).collect())
        );
        assert_eq!(
            fingerprint_tree(&target),
            before,
            "the dry-run touched the target"
        );

        // A cached re-plan: the first pass fills one cache for both roots,
        // the second reads nothing and plans the same.
        let mut cache = cache_without_racy_window();
        for _ in 0..2 {
            scan(&source, &all, Some(&mut cache)).expect("source");
            scan(&target, &all, Some(&mut cache)).expect("target");
        }
        let cached_source = scan(&source, &all, Some(&mut cache)).expect("source");
        let cached_target = scan(&target, &all, Some(&mut cache)).expect("target");
        let files = |r: &ScanReport| {
            r.snapshot
                .iter()
                .filter(|(_, e)| e.kind == EntryKind::File)
                .count()
        };
        assert_eq!(cached_source.files_from_cache, files(&source_scan));
        assert_eq!(cached_target.files_from_cache, files(&target_scan));
        assert_eq!(cached_source.files_hashed + cached_target.files_hashed, 0);
        assert_eq!(
            changes(&cached_source.snapshot, &cached_target.snapshot).collect::<Vec<_>>(),
            plan
        );
        assert_eq!(
            fingerprint_tree(&target),
            before,
            "the cached re-plan touched the target"
        );
    }
}
