//! The hash cache: remembered file hashes by root and path, bound to each
//! file's metadata, and their compact on-disk form.

use std::collections::HashMap;
use std::fs::Metadata;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use crate::Result;

/// Remembered hashes by root, then by path under it.
pub(super) type RootRecords = HashMap<Vec<u8>, PathMap<Cached>>;

/// A map keyed by paths, with a fast hash: the keys are the user's own
/// file names, so hash flooding is no concern, and a re-plan does little
/// else than look paths up.
pub(super) type PathMap<V> = HashMap<Vec<u8>, V, BuildHasherDefault<PathHasher>>;

/// FxHash (as in rustc), eight bytes at a time.
#[derive(Default, Clone, Copy)]
pub(super) struct PathHasher(u64);

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
pub(super) struct Stamp {
    pub(super) size: u64,
    pub(super) mtime_ns: i64,
    pub(super) ino: u64,
    pub(super) ctime_ns: i64,
}

impl Stamp {
    pub(super) fn of(meta: &Metadata) -> Stamp {
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
pub(super) struct Cached {
    pub(super) stamp: Stamp,
    pub(super) hash: [u8; 32],
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
///
/// [`scan`]: super::scan
#[derive(Debug, Clone)]
pub struct HashCache {
    pub(super) roots: RootRecords,
    pub(super) racy_window: Duration,
    pub(super) changed: bool,
    ignored: Option<String>,
}

impl Default for HashCache {
    fn default() -> Self {
        HashCache::new()
    }
}

pub(super) const CACHE_MAGIC: &[u8] = b"trainyard-hash-cache\0";
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
    ///
    /// [`Error::Io`]: crate::Error::Io
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
