//! The write-ahead journal of one apply.
//!
//! Every apply of a sync plan has its own append-only journal,
//! `<journal dir>/<apply id>.jsonl`: one JSON object per line, each line
//! written with a single `write` in append mode and flushed to disk
//! (`fsync`) *before* the side effect it announces (or, for `staged`,
//! `renamed` and `deleted`, right after the effect it confirms). After a
//! crash the journal therefore says, at worst, one step less or one intent
//! more than what happened on disk, and [`super::apply::recover`] is written
//! so that both are harmless.
//!
//! A power cut can tear the last line; [`read`] ignores a last line that
//! does not parse, and [`Journal::open`] cuts it off before appending, so
//! a torn line never ends up in the middle of the file. A line that does
//! not parse anywhere else is damage, and is reported.
//!
//! The journal's [`JournalState`] follows from its events: `begin` alone
//! is [`JournalState::Begun`], `stage`/`staged` make it
//! [`JournalState::Staging`], `staged_all` is the commit point
//! ([`JournalState::Committing`]), and `committed` / `aborted` end it.
//!
//! For crash tests, the environment variable `TRAINYARD_SYNC_CRASH_AFTER`
//! set to `<event>[:<n>]` (for example `staged:2`) makes the process
//! die by SIGKILL right after the `n`-th (default first)
//! record of that event has been written. It is read when a journal is
//! opened and has no other effect.
//!
//! For tests that need an apply to be running while something else
//! happens, `TRAINYARD_SYNC_PAUSE_AFTER` (the same `<event>[:<n>]`) and
//! `TRAINYARD_SYNC_PAUSE_FILE` (a path) make the process create that file
//! right after the `n`-th record of the event and wait until the file is
//! removed again (ten minutes at most), then go on as if nothing happened.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::SyncPath;
pub(crate) use crate::fsutil::check_id;
use crate::fsutil::sync_dir;
use crate::{Error, Result};

/// The environment variable that names a crash point (tests only).
pub const CRASH_AFTER_ENV: &str = "TRAINYARD_SYNC_CRASH_AFTER";

/// The environment variable that names a pause point (tests only).
pub const PAUSE_AFTER_ENV: &str = "TRAINYARD_SYNC_PAUSE_AFTER";

/// The file a paused apply creates and waits on (tests only).
pub const PAUSE_FILE_ENV: &str = "TRAINYARD_SYNC_PAUSE_FILE";

/// How long a paused apply waits for its pause file to go.
const PAUSE_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

/// The file name extension of journals.
const EXTENSION: &str = "jsonl";

/// One record of an apply journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The apply starts: which plan, how many changes, and which target
    /// (the canonical target root, escaped like a [`SyncPath`]).
    Begin {
        /// The plan being applied.
        plan_id: String,
        /// How many changes the plan holds.
        changes: usize,
        /// The target root the apply writes to.
        target: String,
    },
    /// Intent: the temporary file `temp` (relative to the target root) is
    /// about to be created for `path`. Written before the file exists, so
    /// a crash can never leave a temporary file the journal does not name.
    Stage {
        /// The path the temporary file stands in for.
        path: SyncPath,
        /// The temporary file, relative to the target root.
        temp: SyncPath,
    },
    /// The temporary file for `path` holds the planned content (verified
    /// by its BLAKE3 `hash`) and mode, and is flushed to disk.
    Staged {
        /// The path the temporary file will be renamed to.
        path: SyncPath,
        /// The temporary file, relative to the target root.
        temp: SyncPath,
        /// BLAKE3 of the staged content (of the link text for a symlink).
        hash: String,
    },
    /// The commit point: everything is staged, and these paths are to be
    /// deleted. From here on a crash is finished forward, never undone.
    StagedAll {
        /// The paths to delete.
        deletes: Vec<SyncPath>,
        /// Directories a delete may leave empty that stay, because the
        /// source has them too (the others are removed).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        kept_dirs: Vec<SyncPath>,
    },
    /// A staged file was renamed over its path.
    Renamed {
        /// The path now holding the planned content.
        path: SyncPath,
    },
    /// A path was deleted.
    Deleted {
        /// The path removed.
        path: SyncPath,
    },
    /// The apply finished: the target holds the plan.
    Committed,
    /// The apply was undone before its commit point: the target is as it
    /// was before.
    Aborted {
        /// Why.
        reason: String,
    },
}

impl Event {
    /// The event's name as written in the journal (`begin`, `staged`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Event::Begin { .. } => "begin",
            Event::Stage { .. } => "stage",
            Event::Staged { .. } => "staged",
            Event::StagedAll { .. } => "staged_all",
            Event::Renamed { .. } => "renamed",
            Event::Deleted { .. } => "deleted",
            Event::Committed => "committed",
            Event::Aborted { .. } => "aborted",
        }
    }
}

/// Where an apply got to, by its journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalState {
    /// Begun and nothing staged yet (also an empty journal).
    Begun,
    /// Staging: temporary files may exist; the target is otherwise
    /// untouched. Recovery rolls back.
    Staging,
    /// Past the commit point: recovery rolls forward.
    Committing,
    /// Finished.
    Committed,
    /// Undone.
    Aborted,
}

impl JournalState {
    /// The state the given events lead to.
    pub fn of(events: &[Event]) -> Self {
        let mut state = JournalState::Begun;
        for event in events {
            state = match event {
                Event::Begin { .. } => state,
                Event::Stage { .. } | Event::Staged { .. } => match state {
                    JournalState::Begun => JournalState::Staging,
                    other => other,
                },
                Event::StagedAll { .. } | Event::Renamed { .. } | Event::Deleted { .. } => {
                    JournalState::Committing
                }
                Event::Committed => JournalState::Committed,
                Event::Aborted { .. } => JournalState::Aborted,
            };
        }
        state
    }

    /// Whether the apply ended (committed or aborted).
    pub fn is_finished(self) -> bool {
        matches!(self, JournalState::Committed | JournalState::Aborted)
    }
}

/// The journal file of an apply: `<dir>/<apply_id>.jsonl`.
pub fn journal_path(dir: &Path, apply_id: &str) -> PathBuf {
    dir.join(format!("{apply_id}.{EXTENSION}"))
}

/// The apply in `dir` whose journal was written last among those whose
/// events `keep` accepts.
///
/// # Errors
///
/// Returns [`Error::Io`] when a journal cannot be read or inspected and
/// an [`Error::Input`] when one is damaged.
pub fn latest_where(dir: &Path, keep: impl Fn(&[Event]) -> bool) -> Result<Option<String>> {
    let mut latest: Option<(std::time::SystemTime, String)> = None;
    for id in apply_ids(dir)? {
        let path = journal_path(dir, &id);
        if !keep(&read(&path)?) {
            continue;
        }
        let modified = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .map_err(|e| Error::io("cannot inspect journal", &path, e))?;
        if latest.as_ref().is_none_or(|(t, _)| modified >= *t) {
            latest = Some((modified, id));
        }
    }
    Ok(latest.map(|(_, id)| id))
}

/// The apply ids of every journal in `dir` (none when it does not exist),
/// sorted.
///
/// # Errors
///
/// Returns [`Error::Io`] when the directory cannot be listed.
pub fn apply_ids(dir: &Path) -> Result<Vec<String>> {
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot list journal directory", dir, e)),
    };
    let mut ids = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| Error::io("cannot list journal directory", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(id) = name.strip_suffix(&format!(".{EXTENSION}"))
            && check_id("apply id", id).is_ok()
        {
            ids.push(id.to_string());
        }
    }
    ids.sort();
    Ok(ids)
}

/// Reads the events of a journal file, ignoring a torn (unparseable) last
/// line.
///
/// # Errors
///
/// Returns [`Error::Io`] when the file cannot be read, and an
/// [`Error::Input`] naming the file and line when a line other than the
/// last is damaged.
pub fn read(path: &Path) -> Result<Vec<Event>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read journal", path, e))?;
    Ok(parse(path, &bytes)?.0)
}

/// Parses journal bytes: the events, and the length of the intact prefix
/// (everything but a torn last line).
fn parse(path: &Path, bytes: &[u8]) -> Result<(Vec<Event>, usize)> {
    let mut events = Vec::new();
    let mut start = 0;
    let mut line_no = 0;
    while start < bytes.len() {
        line_no += 1;
        let (line, next, complete) = match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(i) => (&bytes[start..start + i], start + i + 1, true),
            None => (&bytes[start..], bytes.len(), false),
        };
        let is_last = next >= bytes.len();
        if line.iter().all(u8::is_ascii_whitespace) && complete {
            start = next;
            continue;
        }
        match serde_json::from_slice::<Event>(line) {
            Ok(event) if complete => events.push(event),
            Err(e) if !is_last => {
                return Err(Error::input(format!(
                    "journal {} line {line_no} is damaged: {e}",
                    path.display()
                )));
            }
            // A last line without its newline, or one that does not parse,
            // is a write the crash interrupted: it never happened.
            _ => return Ok((events, start)),
        }
        start = next;
    }
    Ok((events, bytes.len()))
}

/// A crash point from [`CRASH_AFTER_ENV`].
#[derive(Debug)]
struct CrashPoint {
    event: String,
    nth: usize,
    seen: usize,
}

impl CrashPoint {
    fn from_env() -> Option<Self> {
        Self::parse(&std::env::var(CRASH_AFTER_ENV).ok()?)
    }

    /// `<event>[:<n>]`.
    fn parse(value: &str) -> Option<Self> {
        let (event, nth) = match value.split_once(':') {
            Some((event, n)) => (event, n.trim().parse().ok()?),
            None => (value, 1),
        };
        Some(CrashPoint {
            event: event.trim().to_string(),
            nth,
            seen: 0,
        })
    }

    /// Counts `name`; whether this is the `n`-th time.
    fn is_due(&mut self, name: &str) -> bool {
        if self.event != name {
            return false;
        }
        self.seen += 1;
        self.seen == self.nth
    }
}

/// A pause point from [`PAUSE_AFTER_ENV`] and [`PAUSE_FILE_ENV`].
#[derive(Debug)]
struct PausePoint {
    at: CrashPoint,
    file: PathBuf,
}

impl PausePoint {
    fn from_env() -> Option<Self> {
        let at = CrashPoint::parse(&std::env::var(PAUSE_AFTER_ENV).ok()?)?;
        let file = PathBuf::from(std::env::var_os(PAUSE_FILE_ENV)?);
        Some(PausePoint { at, file })
    }

    /// Creates the pause file and waits until it is gone (or the limit
    /// has passed).
    fn pause(&self) {
        // The pause file is a signal to the test that waits on it, not a
        // document: nobody reads it half-written.
        #[allow(clippy::disallowed_methods)]
        let made = std::fs::write(&self.file, std::process::id().to_string());
        if made.is_err() {
            return;
        }
        let until = crate::deadline::Deadline::after(PAUSE_LIMIT);
        while self.file.exists() && !until.passed(std::time::Instant::now()) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// An open journal, appended to record by record.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    events: Vec<Event>,
    crash: Option<CrashPoint>,
    pause: Option<PausePoint>,
}

impl Journal {
    /// Opens (creating it and `dir` when missing) the journal of
    /// `apply_id` in `dir`, reading the events it already holds. A torn
    /// last line is cut off so later records start on a line of their own.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] for an invalid apply id or a damaged
    /// journal, and [`Error::Io`] when the journal cannot be opened, read
    /// or flushed.
    pub fn open(dir: &Path, apply_id: &str) -> Result<Self> {
        check_id("apply id", apply_id)?;
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("cannot create journal directory", dir, e))?;
        let path = journal_path(dir, apply_id);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| Error::io("cannot open journal", &path, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| Error::io("cannot read journal", &path, e))?;
        let (events, intact) = parse(&path, &bytes)?;
        if intact < bytes.len() {
            file.set_len(intact as u64)
                .map_err(|e| Error::io("cannot repair journal", &path, e))?;
            file.sync_all()
                .map_err(|e| Error::io("cannot flush journal", &path, e))?;
        }
        if bytes.is_empty() {
            // A new journal: make its directory entry durable too.
            sync_dir(dir)?;
        }
        Ok(Journal {
            path,
            file,
            events,
            crash: CrashPoint::from_env(),
            pause: PausePoint::from_env(),
        })
    }

    /// Appends one event and flushes the journal (this event and every
    /// one noted before it) to disk before returning.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Io`] naming the journal when the write or the
    /// flush fails; the event then may or may not be in the journal, which
    /// recovery tolerates.
    pub fn record(&mut self, event: &Event) -> Result<()> {
        self.note(event)?;
        self.flush()
    }

    /// Appends one event without waiting for the disk: it is in the
    /// journal as soon as this returns for any later reader, even if the
    /// process is killed, but a power cut may lose it until the next
    /// [`Journal::flush`] or [`Journal::record`]. For events whose loss
    /// recovery tolerates, or that are flushed before anything depends on
    /// them.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Io`] naming the journal when the write fails.
    pub fn note(&mut self, event: &Event) -> Result<()> {
        let mut line = serde_json::to_vec(event)
            .map_err(|e| Error::Internal(format!("cannot encode journal event: {e}")))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|e| Error::io("cannot write journal", &self.path, e))?;
        self.events.push(event.clone());
        self.crash_if_due(event.name());
        Ok(())
    }

    /// Flushes every event written so far to disk.
    ///
    /// # Errors
    ///
    /// Returns [`Error::Io`] naming the journal when the flush fails.
    pub fn flush(&mut self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| Error::io("cannot flush journal", &self.path, e))
    }

    fn crash_if_due(&mut self, name: &str) {
        if let Some(crash) = &mut self.crash
            && crash.is_due(name)
        {
            crate::fsutil::kill_self();
        }
        if let Some(pause) = &mut self.pause
            && pause.at.is_due(name)
        {
            pause.pause();
        }
    }

    /// The events recorded so far (read at open, plus those recorded since).
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Where the apply got to.
    pub fn state(&self) -> JournalState {
        JournalState::of(&self.events)
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn p(s: &str) -> SyncPath {
        SyncPath(s.as_bytes().to_vec())
    }

    #[test]
    fn journal_records_round_trip_and_give_the_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut journal = Journal::open(dir.path(), "a1").expect("open");
        assert_eq!(journal.state(), JournalState::Begun);
        journal
            .record(&Event::Begin {
                plan_id: "p".into(),
                changes: 2,
                target: "/t".into(),
            })
            .expect("begin");
        assert_eq!(journal.state(), JournalState::Begun);
        let weird = SyncPath(b"new\nline \xff%".to_vec());
        journal
            .record(&Event::Stage {
                path: weird.clone(),
                temp: p(".t-0"),
            })
            .expect("stage");
        journal
            .record(&Event::Staged {
                path: weird.clone(),
                temp: p(".t-0"),
                hash: "h".into(),
            })
            .expect("staged");
        assert_eq!(journal.state(), JournalState::Staging);
        journal
            .record(&Event::StagedAll {
                deletes: vec![p("gone")],
                kept_dirs: Vec::new(),
            })
            .expect("staged_all");
        assert_eq!(journal.state(), JournalState::Committing);
        journal
            .record(&Event::Renamed { path: weird })
            .expect("renamed");
        journal.record(&Event::Committed).expect("committed");
        assert_eq!(journal.state(), JournalState::Committed);

        let events = read(journal.path()).expect("read");
        assert_eq!(events, journal.events());
        let text = std::fs::read_to_string(journal.path()).expect("text");
        assert_eq!(text.lines().count(), 6, "{text}");
        assert!(text.contains(r#"{"event":"committed"}"#), "{text}");
        assert_eq!(apply_ids(dir.path()).expect("ids"), vec!["a1".to_string()]);
    }

    #[test]
    fn journal_tolerates_and_repairs_a_torn_last_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = journal_path(dir.path(), "torn");
        std::fs::write(
            &path,
            "{\"event\":\"begin\",\"plan_id\":\"p\",\"changes\":1,\"target\":\"/t\"}\n{\"event\":\"sta",
        )
        .expect("write");
        assert_eq!(read(&path).expect("read").len(), 1);
        let mut journal = Journal::open(dir.path(), "torn").expect("open");
        assert_eq!(journal.events().len(), 1);
        journal
            .record(&Event::Aborted {
                reason: "test".into(),
            })
            .expect("record");
        let events = read(&path).expect("read again");
        assert_eq!(events.len(), 2);
        assert_eq!(JournalState::of(&events), JournalState::Aborted);

        // A complete but garbled last line is a torn write too.
        std::fs::write(&path, "{\"event\":\"committed\"}\n\0\0\0\n").expect("write");
        assert_eq!(read(&path).expect("zeros"), vec![Event::Committed]);
    }

    #[test]
    fn journal_reports_damage_in_the_middle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = journal_path(dir.path(), "bad");
        std::fs::write(&path, "garbage\n{\"event\":\"committed\"}\n").expect("write");
        let err = read(&path).expect_err("damaged");
        assert!(err.to_string().contains("line 1 is damaged"), "{err}");
        assert!(err.to_string().contains("bad.jsonl"), "{err}");
    }

    #[test]
    fn journal_pauses_after_the_named_record_until_its_file_goes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pause_file = dir.path().join("paused");
        let mut journal = Journal::open(&dir.path().join("j"), "a1").expect("open");
        journal.pause = Some(PausePoint {
            at: CrashPoint::parse("staged:2").expect("point"),
            file: pause_file.clone(),
        });
        let path = journal.path().to_path_buf();
        let writer = std::thread::spawn(move || {
            for n in 0..3 {
                let name = format!("f{n}");
                journal
                    .note(&Event::Staged {
                        path: p(&name),
                        temp: p(&format!(".t{n}")),
                        hash: "00".into(),
                    })
                    .expect("note");
            }
            journal.events().len()
        });
        let start = std::time::Instant::now();
        while !pause_file.exists() {
            assert!(start.elapsed() < std::time::Duration::from_secs(120));
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // Paused right after the second record, which is on disk.
        assert_eq!(read(&path).expect("read").len(), 2);
        assert!(!writer.is_finished());
        std::fs::remove_file(&pause_file).expect("resume");
        assert_eq!(writer.join().expect("writer"), 3);
    }

    #[test]
    fn journal_refuses_unsafe_apply_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        for id in ["", "../x", "a/b", ".hidden", "sp ace"] {
            let err = Journal::open(dir.path(), id).expect_err(id);
            assert_eq!(err.kind(), crate::ErrorKind::Input, "{id}");
        }
    }
}
