//! [`DirStore`], the evidence store in a directory: its settings, its
//! lock, and the documents found on disk without following links.

use std::fs::{File, TryLockError};
use std::io::{ErrorKind as IoErrorKind, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::at::{self, Dir, Found};
use super::names::{NameChoice, file_name, relative_path};
use super::{
    AfterWrite, EVIDENCE_DIR, Entry, EvidenceStore, INDEX_FILE, LOCK_FILE, Lookup, NewDocument,
    Record, Recorded, StagedBody, TMP_DIR, VerifyReport, WaitNotice, WriteReport, body, body_name,
    is_body_name, sha256_hex, validate_kind, validate_name,
};
use crate::deadline::Deadline;
use crate::{Error, Result};

/// An evidence store in a directory (default `.trainyard/` at the
/// repository root). See the [module documentation](super) for the layout.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
    lock_wait: Duration,
    pub(super) clock: Option<jiff::Timestamp>,
    notice: Option<WaitNotice>,
    pub(super) after_write: Option<AfterWrite>,
}

/// A lock on the store, released when dropped.
pub(super) struct StoreLock {
    file: File,
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first is tidy.
        let _ = self.file.unlock();
    }
}

/// The store held for a write: its root directory, open, and the
/// exclusive lock.
pub(super) struct Held {
    pub(super) root: Dir,
    _lock: StoreLock,
}

/// A recorded document as found on disk, not following links.
pub(super) enum OnDisk {
    /// A regular file, open for reading.
    File(File),
    /// Nothing there.
    Missing,
    /// A symbolic link in its place or in the place of its directory.
    Link,
    /// Something else than a regular file (or a file where its directory
    /// should be).
    Wrong,
}

impl DirStore {
    /// How long a writer or verifier waits for another run's lock.
    pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(2);

    /// A store rooted at `root` (usually `<repository>/.trainyard`). Nothing
    /// is created until the first write.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirStore {
            root: root.into(),
            lock_wait: Self::DEFAULT_LOCK_WAIT,
            clock: None,
            notice: None,
            after_write: None,
        }
    }

    /// The same store, calling `hook` with the new head after each write.
    pub fn with_after_write(mut self, hook: AfterWrite) -> Self {
        self.after_write = Some(hook);
        self
    }

    /// The same store, telling `notice` when it has to wait for another
    /// run's hold.
    pub fn with_wait_notice(mut self, notice: WaitNotice) -> Self {
        self.notice = Some(notice);
        self
    }

    /// The same store, recording `now` as every document's `recorded_at`
    /// (a pinned clock, for reproducible records) instead of the real time.
    pub fn with_clock(mut self, now: jiff::Timestamp) -> Self {
        self.clock = Some(now);
        self
    }

    /// The same store, waiting at most `wait` for another run's lock
    /// (`Duration::ZERO` fails at once).
    pub fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// The root directory of the store.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The index file, `<root>/evidence/index.jsonl`.
    pub fn index_path(&self) -> PathBuf {
        self.root.join(EVIDENCE_DIR).join(INDEX_FILE)
    }

    /// The lock file, `<root>/lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.root.join(LOCK_FILE)
    }

    /// The absolute (root-joined) path of a relative `a/b/c` path.
    pub(super) fn full_path(&self, relative: &str) -> PathBuf {
        relative
            .split('/')
            .fold(self.root.clone(), |path, part| path.join(part))
    }

    /// Takes the lock, waiting at most `self.lock_wait`.
    fn acquire(&self, file: File, shared: bool) -> Result<StoreLock> {
        let lock_path = self.lock_path();
        let deadline = Deadline::after(self.lock_wait);
        let mut told = false;
        loop {
            let attempt = if shared {
                file.try_lock_shared()
            } else {
                file.try_lock()
            };
            match attempt {
                Ok(()) => return Ok(StoreLock { file }),
                Err(TryLockError::WouldBlock) => {
                    let now = Instant::now();
                    if !told && !self.lock_wait.is_zero() {
                        told = true;
                        if let Some(notice) = &self.notice {
                            (notice.0)(&self.location(), self.lock_wait);
                        }
                    }
                    if deadline.passed(now) {
                        return Err(Error::environment(format!(
                            "evidence store {} is locked by another trainyard run",
                            self.root.display()
                        )));
                    }
                    std::thread::sleep(deadline.left(now).min(Duration::from_millis(20)));
                }
                Err(TryLockError::Error(e)) => return Err(Error::io("cannot lock", lock_path, e)),
            }
        }
    }

    /// Creates the root and takes the exclusive lock for a write.
    pub(super) fn hold(&self) -> Result<Held> {
        let root = Dir::create(&self.root)?;
        let file = root.open_lock(LOCK_FILE, true)?.ok_or_else(|| {
            Error::io(
                "cannot open",
                self.lock_path(),
                std::io::Error::from(IoErrorKind::NotFound),
            )
        })?;
        let lock = self.acquire(file, false)?;
        Ok(Held { root, _lock: lock })
    }

    /// Opens the root and takes the shared lock if the lock file exists
    /// (no writer ever ran otherwise); creates nothing, so a read-only
    /// store can be verified. `None` when the store does not exist.
    pub(super) fn hold_shared(&self) -> Result<Option<(Dir, Option<StoreLock>)>> {
        let Some(root) = Dir::open(&self.root)? else {
            return Ok(None);
        };
        let lock = match root.open_lock(LOCK_FILE, false)? {
            Some(file) => Some(self.acquire(file, true)?),
            None => None,
        };
        Ok(Some((root, lock)))
    }

    /// Does the record match `key`?
    fn matches(&self, record: &Record, key: &Lookup) -> bool {
        match key {
            Lookup::Name { kind, name } => {
                record.kind == *kind && record.name.eq_ignore_ascii_case(name)
            }
            Lookup::Seq(seq) => record.seq == *seq,
            Lookup::Path(path) => {
                let wanted = path.replace('\\', "/");
                let wanted = wanted.strip_prefix("./").unwrap_or(&wanted);
                wanted == record.path
                    || format!("{EVIDENCE_DIR}/{wanted}") == record.path
                    || Path::new(wanted) == self.full_path(&record.path)
            }
        }
    }

    /// Finds the document of `record` under `root`, never through a link:
    /// the record's kind names its directory and its name the file.
    pub(super) fn find_document(&self, root: &Dir, record: &Record) -> Result<OnDisk> {
        let evidence = match root.find_dir(EVIDENCE_DIR)? {
            Found::Present(dir) => dir,
            Found::Missing => return Ok(OnDisk::Missing),
            Found::Link => return Ok(OnDisk::Link),
            Found::Wrong => return Ok(OnDisk::Wrong),
        };
        let kind_dir = match evidence.find_dir(&record.kind)? {
            Found::Present(dir) => dir,
            Found::Missing => return Ok(OnDisk::Missing),
            Found::Link => return Ok(OnDisk::Link),
            Found::Wrong => return Ok(OnDisk::Wrong),
        };
        Ok(match kind_dir.find_file(&file_name(&record.name))? {
            Found::Present(file) => OnDisk::File(file),
            Found::Missing => OnDisk::Missing,
            Found::Link => OnDisk::Link,
            Found::Wrong => OnDisk::Wrong,
        })
    }

    /// Opens the document of `record` (at `path`) for reading, refusing a
    /// link or anything but a regular file.
    fn open_recorded(&self, root: &Dir, record: &Record, path: &Path) -> Result<File> {
        match self.find_document(root, record)? {
            OnDisk::File(file) => Ok(file),
            OnDisk::Missing => Err(Error::io(
                "cannot read",
                path,
                std::io::Error::from(IoErrorKind::NotFound),
            )),
            OnDisk::Link => Err(at::symlink_refused(path)),
            OnDisk::Wrong => Err(Error::input(format!(
                "evidence {} is not a regular file",
                path.display()
            ))),
        }
    }
}

/// The error for a document whose stored bytes no longer match their
/// record, found while reading it.
fn edited_error(path: &Path) -> Error {
    Error::input(format!(
        "evidence {} was edited after it was recorded (its sha-256 no longer matches the evidence index): restore the recorded document (`trainyard evidence verify` lists what changed)",
        path.display()
    ))
}

/// Reads an open document to its end.
fn read_all(mut file: File, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", path, e))?;
    Ok(bytes)
}

impl EvidenceStore for DirStore {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn write(&self, kind: &str, name: &str, yaml: &str) -> Result<WriteReport> {
        self.write_as(kind, NameChoice::Exact(name), yaml)
    }

    fn write_unique(&self, kind: &str, base: &str, yaml: &str) -> Result<WriteReport> {
        self.write_as(kind, NameChoice::FirstFree(base), yaml)
    }

    fn stage_body(
        &self,
        kind: &str,
        fill: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<()>,
    ) -> Result<StagedBody> {
        validate_kind(kind)?;
        let root = Dir::create(&self.root)?;
        let tmp = root.create_dir(TMP_DIR)?;
        body::stage(tmp, kind, fill)
    }

    fn record(&self, bodies: Vec<StagedBody>, documents: &[NewDocument<'_>]) -> Result<Recorded> {
        self.record_batch(bodies, documents)
    }

    fn check_writable(&self, kind: &str, name: &str) -> Result<()> {
        validate_kind(kind)?;
        validate_name(name)?;
        let held = self.hold()?;
        let (_, records) = self.read_records(Some(&held.root))?;
        if let Some(existing) = records
            .iter()
            .find(|r| r.kind == kind && r.name.eq_ignore_ascii_case(name))
        {
            return Err(Error::input(format!(
                "evidence {kind}/{name} is already recorded in {} (seq {}): evidence is immutable",
                self.full_path(&existing.path).display(),
                existing.seq
            )));
        }
        let evidence = held.root.create_dir(EVIDENCE_DIR)?;
        let kind_dir = evidence.create_dir(kind)?;
        self.make_room(&kind_dir, kind, name)?;
        let (probe, file) = kind_dir.create_temp(".trainyard-probe-")?;
        drop(file);
        kind_dir.remove(&probe)
    }

    fn read_body(&self, kind: &str, sha256: &str, sink: &mut dyn std::io::Write) -> Result<Record> {
        validate_kind(kind)?;
        let name = body_name(sha256);
        if !body::is_sha256_hex(sha256) {
            return Err(Error::input(format!(
                "invalid evidence body hash {sha256:?}: expected 64 lowercase hex digits"
            )));
        }
        let root = Dir::open(&self.root)?;
        let (_, records) = self.read_records(root.as_ref())?;
        let (Some(record), Some(root)) = (
            records
                .into_iter()
                .find(|r| r.kind == kind && r.name == name),
            root,
        ) else {
            return Err(Error::input(format!(
                "no evidence {kind}/{name} recorded in {}",
                self.index_path().display()
            )));
        };
        let path = self.full_path(&record.path);
        let mut file = self.open_recorded(&root, &record, &path)?;
        let (stored, _) = body::hash_stream(&mut file, &path)?;
        if stored != record.sha256 {
            return Err(edited_error(&path));
        }
        body::rewind(&mut file, &path)?;
        if body::inflate(&mut file, &path, sink)? != sha256 {
            return Err(edited_error(&path));
        }
        Ok(record)
    }

    fn list(&self, kind: Option<&str>) -> Result<Vec<Record>> {
        if let Some(kind) = kind {
            validate_kind(kind)?;
        }
        let root = Dir::open(&self.root)?;
        let (_, records) = self.read_records(root.as_ref())?;
        Ok(records
            .into_iter()
            .filter(|r| kind.is_none_or(|k| r.kind == k))
            .collect())
    }

    fn get(&self, key: &Lookup) -> Result<Entry> {
        if let Lookup::Name { kind, name } = key {
            validate_kind(kind)?;
            validate_name(name)?;
        }
        let root = Dir::open(&self.root)?;
        let (_, records) = self.read_records(root.as_ref())?;
        let found = records.into_iter().find(|r| self.matches(r, key));
        let (Some(record), Some(root)) = (found, root) else {
            let what = match key {
                Lookup::Name { kind, name } => format!("{kind}/{name}"),
                Lookup::Seq(seq) => format!("with seq {seq}"),
                Lookup::Path(path) => path.clone(),
            };
            return Err(Error::input(format!(
                "no evidence {what} recorded in {}",
                self.index_path().display()
            )));
        };
        // Never follow a path from the index that does not follow from a
        // valid kind and name: a forged record must not read other files.
        if validate_kind(&record.kind).is_err()
            || validate_name(&record.name).is_err()
            || record.path != relative_path(&record.kind, &record.name)
        {
            return Err(Error::input(format!(
                "evidence index {} has an invalid record (seq {}) for path {:?}",
                self.index_path().display(),
                record.seq,
                record.path
            )));
        }
        let path = self.full_path(&record.path);
        let mut file = self.open_recorded(&root, &record, &path)?;
        let (bytes, intact) = if is_body_name(&record.name) {
            let (stored, _) = body::hash_stream(&mut file, &path)?;
            body::rewind(&mut file, &path)?;
            let mut content = Vec::new();
            let sha256 = body::inflate(&mut file, &path, &mut content)?;
            let intact =
                stored == record.sha256 && Some(sha256.as_str()) == record.name.strip_suffix(".gz");
            (content, intact)
        } else {
            let bytes = read_all(file, &path)?;
            let intact = sha256_hex(&bytes) == record.sha256;
            (bytes, intact)
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::input(format!("evidence {} is not utf-8", path.display())))?;
        Ok(Entry {
            record,
            text,
            intact,
        })
    }

    fn verify(&self) -> Result<VerifyReport> {
        self.verify_dir()
    }
}
