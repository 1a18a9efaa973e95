//! The human-readable side of a dry-run (DR-02, DR-03): changes as text,
//! counted, with secrets masked.
//!
//! [`render_diff`] writes one change the way `git diff` does, so people
//! and tools already know how to read it: a `diff --git a/PATH b/PATH`
//! header, `new file mode` / `deleted file mode` / `old mode` + `new mode`
//! lines, then a unified diff with three lines of context for text, a
//! `Binary files differ:` line with sizes and BLAKE3 hashes for anything
//! else, and `symlink -> TARGET` lines for links. `a/` is the target as it
//! is, `b/` the target as the sync will leave it (the source).
//!
//! Content is read back from the two roots and checked against the hashes
//! of the plan, so a diff never shows something other than what was
//! planned: a file that changed since it was scanned is an error.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use crate::sync::model::{Change, ChangeKind, ContentHash, Entry, EntryKind, SyncPath};
use crate::{Error, Result};

/// Text files up to this size are shown line by line; larger ones are
/// summarised by size and hash.
pub const MAX_TEXT_BYTES: u64 = 1 << 20;

/// How long the line diff of one file may search for a minimal diff before
/// settling for a correct, larger one.
const DIFF_TIMEOUT: Duration = Duration::from_secs(2);

/// The add/modify/delete tally of a plan, with the spec's keys
/// (`dry_run.result` of a `sync_log`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Paths the sync adds to the target.
    pub files_to_add: u64,
    /// Paths whose content, mode or kind it changes.
    pub files_to_modify: u64,
    /// Paths it deletes from the target.
    pub files_to_delete: u64,
    /// All of them.
    pub total_changes: u64,
}

impl Counts {
    /// Tallies a change list.
    pub fn of(changes: &[Change]) -> Counts {
        let mut counts = Counts::default();
        for change in changes {
            match change.kind {
                ChangeKind::Add => counts.files_to_add += 1,
                ChangeKind::Modify => counts.files_to_modify += 1,
                ChangeKind::Delete => counts.files_to_delete += 1,
            }
            counts.total_changes += 1;
        }
        counts
    }
}

/// Renders every change, in order, one after the other.
///
/// # Errors
///
/// As [`render_diff`].
pub fn render_all(changes: &[Change], source_root: &Path, target_root: &Path) -> Result<String> {
    let mut out = String::new();
    for change in changes {
        out.push_str(&render_diff(change, source_root, target_root)?);
    }
    Ok(out)
}

/// Renders one change as `git diff`-style text ending in a newline.
///
/// The entry before (`change.before`) is read from `target_root`, the
/// entry after (`change.after`) from `source_root`. A change of kind (a
/// file that becomes a symlink, or back) is shown as the deletion of the
/// old entry followed by the addition of the new one, as git does.
///
/// # Errors
///
/// An [`Error::Input`] naming the path when a file cannot be read, or no
/// longer has the content the plan recorded (plan again), or when the
/// change lacks the entry its kind needs.
pub fn render_diff(change: &Change, source_root: &Path, target_root: &Path) -> Result<String> {
    let path = &change.path;
    let missing = |side: &str| {
        Error::input(format!(
            "change of {} lacks its {side} entry",
            path.encoded()
        ))
    };
    let mut out = String::new();
    match change.kind {
        ChangeKind::Add => {
            let after = change.after.as_ref().ok_or_else(|| missing("after"))?;
            added(&mut out, path, after, source_root)?;
        }
        ChangeKind::Delete => {
            let before = change.before.as_ref().ok_or_else(|| missing("before"))?;
            deleted(&mut out, path, before, target_root)?;
        }
        ChangeKind::Modify => {
            let before = change.before.as_ref().ok_or_else(|| missing("before"))?;
            let after = change.after.as_ref().ok_or_else(|| missing("after"))?;
            if before.kind != after.kind {
                deleted(&mut out, path, before, target_root)?;
                added(&mut out, path, after, source_root)?;
            } else {
                header(&mut out, path);
                if mode(before) != mode(after) {
                    let _ = writeln!(out, "old mode {}\nnew mode {}", mode(before), mode(after));
                }
                if before.hash != after.hash || before.link != after.link {
                    let old = Side::load(before, path, target_root)?;
                    let new = Side::load(after, path, source_root)?;
                    body(&mut out, path, Some((before, old)), Some((after, new)));
                }
            }
        }
    }
    Ok(out)
}

fn added(out: &mut String, path: &SyncPath, after: &Entry, root: &Path) -> Result<()> {
    header(out, path);
    let _ = writeln!(out, "new file mode {}", mode(after));
    let new = Side::load(after, path, root)?;
    body(out, path, None, Some((after, new)));
    Ok(())
}

fn deleted(out: &mut String, path: &SyncPath, before: &Entry, root: &Path) -> Result<()> {
    header(out, path);
    let _ = writeln!(out, "deleted file mode {}", mode(before));
    let old = Side::load(before, path, root)?;
    body(out, path, Some((before, old)), None);
    Ok(())
}

fn header(out: &mut String, path: &SyncPath) {
    let _ = writeln!(out, "diff --git {} {}", name("a/", path), name("b/", path));
}

/// The git mode of an entry.
fn mode(entry: &Entry) -> &'static str {
    match (entry.kind, entry.executable) {
        (EntryKind::Symlink, _) => "120000",
        (EntryKind::File, true) => "100755",
        (EntryKind::File, false) => "100644",
    }
}

/// `prefix` + the path's text form, quoted C-style (as git does) when it
/// holds a control character, a quote or a backslash, so that one path
/// stays on one line.
fn name(prefix: &str, path: &SyncPath) -> String {
    quoted(format!("{prefix}{}", path.encoded()))
}

/// `plain`, or C-style quoted when it would not stay on one line.
fn quoted(plain: String) -> String {
    if !plain
        .chars()
        .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        return plain;
    }
    let mut quoted = String::with_capacity(plain.len() + 8);
    quoted.push('"');
    for c in plain.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(quoted, "\\{b:03o}");
                }
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// What one side of a change shows.
enum Side {
    /// UTF-8 text without NUL, within [`MAX_TEXT_BYTES`].
    Text(String),
    /// Anything else that is a file: shown by size and hash.
    Binary,
    /// Text too large to show.
    Large,
    /// A symlink's target.
    Link(SyncPath),
}

impl Side {
    fn load(entry: &Entry, path: &SyncPath, root: &Path) -> Result<Side> {
        if entry.kind == EntryKind::Symlink {
            return Ok(Side::Link(
                entry.link.clone().unwrap_or_else(|| SyncPath(Vec::new())),
            ));
        }
        if entry.size > MAX_TEXT_BYTES {
            return Ok(Side::Large);
        }
        let file = path.under(root);
        let changed = || {
            Error::input(format!(
                "{} changed since it was scanned; plan again",
                file.display()
            ))
        };
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let read = || -> rustix::io::Result<std::io::Result<Vec<u8>>> {
            let handle = File::from(rustix::fs::open(&file, flags, Mode::empty())?);
            let mut bytes = Vec::with_capacity(usize::try_from(entry.size).unwrap_or(0));
            Ok(handle
                .take(MAX_TEXT_BYTES + 1)
                .read_to_end(&mut bytes)
                .map(|_| bytes))
        };
        let cannot_read =
            |e: std::io::Error| Error::input(format!("cannot read {}: {e}", file.display()));
        let bytes = match read() {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(e)) => return Err(cannot_read(e)),
            Err(Errno::NOENT | Errno::LOOP) => return Err(changed()),
            Err(e) => return Err(cannot_read(e.into())),
        };
        if ContentHash::of(&bytes) != entry.hash {
            return Err(changed());
        }
        if bytes.contains(&0) {
            return Ok(Side::Binary);
        }
        Ok(String::from_utf8(bytes).map_or(Side::Binary, Side::Text))
    }
}

/// `12345 bytes blake3:ab12cd34ef56..`, or `/dev/null` for no entry.
fn summary(entry: Option<&Entry>) -> String {
    match entry {
        None => "/dev/null".to_string(),
        Some(e) => format!("{} bytes blake3:{}..", e.size, &e.hash.to_hex()[..12]),
    }
}

/// The body of a change: what differs between the two sides.
fn body(
    out: &mut String,
    path: &SyncPath,
    old: Option<(&Entry, Side)>,
    new: Option<(&Entry, Side)>,
) {
    let (old_entry, old) = old.map_or((None, None), |(e, s)| (Some(e), Some(s)));
    let (new_entry, new) = new.map_or((None, None), |(e, s)| (Some(e), Some(s)));
    match (&old, &new) {
        (Some(Side::Link(_)), _) | (_, Some(Side::Link(_))) => {
            if let Some(Side::Link(target)) = &old {
                let _ = writeln!(out, "-symlink -> {}", quoted(target.encoded()));
            }
            if let Some(Side::Link(target)) = &new {
                let _ = writeln!(out, "+symlink -> {}", quoted(target.encoded()));
            }
        }
        (Some(Side::Binary), _) | (_, Some(Side::Binary)) => {
            let _ = writeln!(
                out,
                "Binary files differ: {} -> {}",
                summary(old_entry),
                summary(new_entry)
            );
        }
        (Some(Side::Large), _) | (_, Some(Side::Large)) => {
            let _ = writeln!(
                out,
                "Large files differ (over {} bytes, not shown): {} -> {}",
                MAX_TEXT_BYTES,
                summary(old_entry),
                summary(new_entry)
            );
        }
        _ => {
            let text = |side: &Option<Side>| match side {
                Some(Side::Text(t)) => t.clone(),
                _ => String::new(),
            };
            let (old_text, new_text) = (text(&old), text(&new));
            let old_name = old
                .as_ref()
                .map_or("/dev/null".to_string(), |_| name("a/", path));
            let new_name = new
                .as_ref()
                .map_or("/dev/null".to_string(), |_| name("b/", path));
            let diff = similar::TextDiff::configure()
                .timeout(DIFF_TIMEOUT)
                .diff_lines(old_text.as_str(), new_text.as_str());
            let _ = write!(
                out,
                "{}",
                diff.unified_diff()
                    .context_radius(3)
                    .header(&old_name, &new_name)
            );
        }
    }
}

/// Masks secrets in `text`: every literal in `secrets` (longest first; an
/// empty one is ignored) and every match of every pattern becomes `***`.
/// A pattern's whole match is masked, so write patterns that match only
/// the secret itself (e.g. `ghp_[A-Za-z0-9]{36}`). Secrets shorter than
/// a few characters mask every occurrence of those characters.
pub fn redact(text: &str, patterns: &[regex::Regex], secrets: &[&str]) -> String {
    let mut literals: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    literals.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for secret in literals {
        if out.contains(secret) {
            out = out.replace(secret, "***");
        }
    }
    for pattern in patterns {
        if let std::borrow::Cow::Owned(replaced) = pattern.replace_all(&out, regex::NoExpand("***"))
        {
            out = replaced;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use crate::ErrorKind;
    use crate::sync::snapshot::changes;
    use crate::sync::tree::{Filters, scan};

    /// A source and a target tree in a temporary directory.
    struct Pair {
        _dir: tempfile::TempDir,
        source: PathBuf,
        target: PathBuf,
    }

    impl Pair {
        fn new() -> Pair {
            let dir = tempfile::tempdir().expect("tempdir");
            let source = dir.path().join("source");
            let target = dir.path().join("target");
            std::fs::create_dir_all(&source).expect("source");
            std::fs::create_dir_all(&target).expect("target");
            Pair {
                _dir: dir,
                source,
                target,
            }
        }

        fn put(root: &Path, rel: &[u8], content: &[u8]) {
            let path = root.join(OsStr::from_bytes(rel));
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, content).expect("write");
        }

        fn source(&self, rel: impl AsRef<[u8]>, content: &[u8]) -> &Self {
            Pair::put(&self.source, rel.as_ref(), content);
            self
        }

        fn target(&self, rel: impl AsRef<[u8]>, content: &[u8]) -> &Self {
            Pair::put(&self.target, rel.as_ref(), content);
            self
        }

        fn both(&self, rel: &str, content: &[u8]) -> &Self {
            self.source(rel, content).target(rel, content)
        }

        fn link(root: &Path, rel: &str, to: &str) {
            std::os::unix::fs::symlink(to, root.join(rel)).expect("ln");
        }

        fn executable(root: &Path, rel: &str) {
            let perms = std::fs::Permissions::from_mode(0o755);
            std::fs::set_permissions(root.join(rel), perms).expect("chmod");
        }

        fn plan(&self) -> Vec<Change> {
            let all = Filters::default();
            let source = scan(&self.source, &all, None).expect("source");
            let target = scan(&self.target, &all, None).expect("target");
            changes(&source.snapshot, &target.snapshot).collect()
        }

        fn render(&self, rel: impl AsRef<[u8]>) -> String {
            let plan = self.plan();
            let change = plan
                .iter()
                .find(|c| c.path.0 == rel.as_ref())
                .expect("a change of that path");
            render_diff(change, &self.source, &self.target).expect("render")
        }
    }

    fn lines(range: std::ops::RangeInclusive<u32>) -> String {
        range.map(|i| format!("line {i}\n")).collect()
    }

    #[test]
    fn a_text_modification_is_a_unified_diff() {
        let pair = Pair::new();
        let old = lines(1..=12);
        let new = old.replace("line 5\n", "line five\n") + "line 13\n";
        pair.target("config/app.yaml", old.as_bytes())
            .source("config/app.yaml", new.as_bytes());
        insta::assert_snapshot!(pair.render("config/app.yaml"));
    }

    #[test]
    fn a_binary_modification_shows_sizes_and_hashes() {
        let pair = Pair::new();
        pair.target("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00old")
            .source("logo.png", b"\x89PNG\r\n\x1a\n\x00\x00new, longer");
        insta::assert_snapshot!(pair.render("logo.png"));
    }

    #[test]
    fn a_mode_only_change_shows_old_and_new_mode() {
        let pair = Pair::new();
        pair.both("bin/deploy", b"#!/bin/sh\nexit 0\n");
        Pair::executable(&pair.source, "bin/deploy");
        insta::assert_snapshot!(pair.render("bin/deploy"));
    }

    #[test]
    fn a_mode_and_content_change_shows_both() {
        let pair = Pair::new();
        pair.target("run.sh", b"echo old\n")
            .source("run.sh", b"echo new\n");
        Pair::executable(&pair.target, "run.sh");
        insta::assert_snapshot!(pair.render("run.sh"));
    }

    #[test]
    fn a_symlink_change_shows_the_link_targets() {
        let pair = Pair::new();
        Pair::link(&pair.target, "current", "releases/1.4.0");
        Pair::link(&pair.source, "current", "releases/1.5.0");
        insta::assert_snapshot!(pair.render("current"));
    }

    #[test]
    fn additions_show_new_file_headers() {
        let pair = Pair::new();
        pair.source("docs/new.md", b"# New\n\nHello.\n")
            .source("empty", b"")
            .source("blob.bin", b"\x00\x01\x02");
        Pair::link(&pair.source, "latest", "docs/new.md");
        let plan = pair.plan();
        insta::assert_snapshot!(render_all(&plan, &pair.source, &pair.target).expect("render"));
    }

    #[test]
    fn deletions_show_deleted_file_headers() {
        let pair = Pair::new();
        pair.target("old/notes.txt", b"one\ntwo\nno final newline")
            .target("old/data.bin", b"\x00\xff");
        Pair::link(&pair.target, "old-link", "old/notes.txt");
        let plan = pair.plan();
        insta::assert_snapshot!(render_all(&plan, &pair.source, &pair.target).expect("render"));
    }

    #[test]
    fn a_file_replaced_by_a_symlink_is_a_deletion_then_an_addition() {
        let pair = Pair::new();
        pair.target("lib.so", b"real library\n");
        Pair::link(&pair.source, "lib.so", "lib.so.2");
        insta::assert_snapshot!(pair.render("lib.so"));
    }

    #[test]
    fn odd_names_stay_on_one_line() {
        let pair = Pair::new();
        pair.source("new\nline \"quoted\".txt", b"a\n")
            .source(b"bad\xffbyte with space", b"b\n");
        let plan = pair.plan();
        insta::assert_snapshot!(render_all(&plan, &pair.source, &pair.target).expect("render"));
    }

    #[test]
    fn large_text_is_summarised_not_shown() {
        let pair = Pair::new();
        let big = "x".repeat(usize::try_from(MAX_TEXT_BYTES).expect("fits") + 10);
        pair.target("big.txt", big.as_bytes())
            .source("big.txt", format!("{big}y").as_bytes());
        let text = pair.render("big.txt");
        assert!(
            text.contains(
                "Large files differ (over 1048576 bytes, not shown): 1048586 bytes blake3:"
            ),
            "{text}"
        );
        assert!(!text.contains("xxxx"), "{text}");
    }

    #[test]
    fn a_file_changed_since_the_scan_is_refused() {
        let pair = Pair::new();
        pair.target("a.txt", b"old\n").source("a.txt", b"new\n");
        let plan = pair.plan();
        pair.source("a.txt", b"newer\n");
        let e = render_diff(&plan[0], &pair.source, &pair.target).expect_err("stale");
        assert_eq!(e.kind(), ErrorKind::Input);
        assert!(
            e.to_string().contains("a.txt changed since it was scanned"),
            "{e}"
        );
        std::fs::remove_file(pair.source.join("a.txt")).expect("rm");
        let e = render_diff(&plan[0], &pair.source, &pair.target).expect_err("gone");
        assert!(
            e.to_string().contains("changed since it was scanned"),
            "{e}"
        );
    }

    #[test]
    fn counts_tally_a_plan() {
        let pair = Pair::new();
        pair.source("add1", b"1").source("add2", b"2");
        pair.target("mod", b"old").source("mod", b"new");
        pair.target("del", b"gone");
        pair.both("same", b"same");
        let counts = Counts::of(&pair.plan());
        assert_eq!(
            counts,
            Counts {
                files_to_add: 2,
                files_to_modify: 1,
                files_to_delete: 1,
                total_changes: 4
            }
        );
        assert_eq!(
            serde_json::to_string(&counts).expect("json"),
            r#"{"files_to_add":2,"files_to_modify":1,"files_to_delete":1,"total_changes":4}"#
        );
        assert_eq!(Counts::of(&[]), Counts::default());
    }

    #[test]
    fn redact_masks_patterns_and_secrets() {
        let patterns = [
            regex::Regex::new(r"ghp_[A-Za-z0-9]{8,}").expect("regex"),
            regex::Regex::new(r"(?i)password: \S+").expect("regex"),
        ];
        let text = "+token: ghp_abcdef123456\n-password: hunter2\n+db: s3cr3t-value and s3cr3t\n";
        assert_eq!(
            redact(text, &patterns, &["s3cr3t", "s3cr3t-value", ""]),
            "+token: ***\n-***\n+db: *** and ***\n"
        );
        assert_eq!(redact("$1 nothing", &patterns, &[]), "$1 nothing");
        assert_eq!(redact("a $x b", &[], &["$x"]), "a *** b");
    }
}
