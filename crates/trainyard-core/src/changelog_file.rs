//! Updating a [Keep a Changelog 1.1.0](https://keepachangelog.com/en/1.1.0/)
//! file (`CHANGELOG.md`) in place.
//!
//! The generator renders each release section as markdown; this module puts
//! those sections into the existing text and leaves every other byte alone.
//! People edit changelogs by hand: they reword entries, add migration notes,
//! fix typos in old releases and keep their own link definitions. A release
//! tool that rewrites the whole file would silently undo that work, so the
//! rules here are about owning as little of the file as possible.
//!
//! # Sections
//!
//! A *section* starts at a level-2 ATX heading (`## `, up to three spaces of
//! indentation) and runs to just before the next level-1 or level-2 heading,
//! or to end of file. Link reference definitions (`[label]: url`) at the end
//! of a section, possibly mixed with blank lines, are not part of it: at the
//! end of the file they are the link block, and a section that keeps its own
//! definitions under it keeps them when it is regenerated.
//!
//! The heading says which release the section is for:
//!
//! - `## [1.2.0] - 2027-01-15`, `## [1.2.0]`, `## 1.2.0`, `## v1.2.0`,
//!   `## [v1.2.0](https://…) - 2027-01-15`: the version `1.2.0`;
//! - `## [Unreleased]`, `## Unreleased` (any case): the Unreleased section;
//! - anything else (`## Older releases`): not a release section, kept where
//!   it is and never matched.
//!
//! Lines inside fenced code blocks and multi-line HTML comments are neither
//! headings nor link definitions, so an example heading in a code block does
//! not split a section.
//!
//! # Updating
//!
//! [`update`] replaces the bytes of the section an update names, from its
//! heading line to its end as defined above, and nothing else. A section that
//! is missing is inserted where Keep a Changelog puts it:
//!
//! - Unreleased goes first: right before the first release section, else
//!   before the first level-2 heading, else after the header (before the link
//!   block, if there is one).
//! - A version goes before the first version section that is older by SemVer
//!   precedence; when none is older it goes after the last version section,
//!   else after the Unreleased section, else where Unreleased would go. So a
//!   new release lands right under Unreleased, and a backport (1.1.5 after
//!   1.2.0) lands among the versions where it belongs.
//!
//! A new section is separated from the text before it by a blank line,
//! adding one (and a final newline) only when that text does not end with
//! one. The new section is written with the file's line ending (that of its
//! first line), so CRLF files stay CRLF.
//!
//! # Link definitions
//!
//! For an update with a link, the first definition of its label anywhere in
//! the file (labels compare case-insensitively, as in CommonMark) has its
//! destination replaced, keeping how the label is spelt. When there is none,
//! a definition is added to the link block at the end of the file (created
//! when missing): `unreleased` before the first release definition, a
//! version before the first older version's definition, else after the last
//! release definition. Other definitions are never touched. The label is the
//! bracketed text of the new section's heading (`unreleased` for the
//! Unreleased section), so the heading's link resolves.
//!
//! # Guarantees
//!
//! Updating is idempotent: running [`update`] on its own output with the same
//! updates returns that output unchanged. A file with two sections for the
//! same release is refused rather than guessed at, and so is a file that
//! ends inside a code block or HTML comment, since anything added after it
//! would be swallowed by it.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Range;

use semver::Version;

use crate::{Error, Result};

/// The header of a new changelog, as in the Keep a Changelog 1.1.0 template,
/// ending with a blank line.
pub const HEADER: &str = "# Changelog\n\
\n\
All notable changes to this project will be documented in this file.\n\
\n\
The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),\n\
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).\n\
\n";

/// Which release a changelog section is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SectionKey {
    /// The `## [Unreleased]` section at the top.
    Unreleased,
    /// The section of a released version, written as in the heading without
    /// a `v` prefix, e.g. `1.2.0`.
    Version(String),
}

impl fmt::Display for SectionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SectionKey::Unreleased => f.write_str("Unreleased"),
            SectionKey::Version(version) => f.write_str(version),
        }
    }
}

/// A section to put into the changelog, and optionally its compare link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionUpdate {
    /// Which release the section is for.
    pub key: SectionKey,
    /// The whole section: its `## ` heading line, the groups, and a trailing
    /// blank line (added when missing). Line endings may be `\n` or `\r\n`;
    /// they are converted to the file's.
    pub markdown: String,
    /// The URL for the section's link reference definition (`[unreleased]:
    /// URL`, `[1.2.0]: URL`), usually a compare link. `None` leaves any
    /// existing definition as it is and adds none.
    pub link: Option<String>,
}

/// Puts the sections of `updates` into the changelog text `existing` and
/// returns the new text.
///
/// With no existing text (`None`, or text that is only whitespace) the
/// result is [`HEADER`], the sections and their link definitions. Otherwise
/// each update replaces the bytes of its section, or inserts the section
/// where Keep a Changelog puts it, and sets its link definition; everything
/// else is kept byte for byte (see the [module documentation](self)). Updates
/// apply in order, so of two updates for the same release the last wins.
/// The result of updating is a fixed point: updating it again with the same
/// updates changes nothing.
///
/// `file_name` is used in error messages only.
///
/// # Errors
///
/// - [`Error::Input`] when the existing text has two sections for the same
///   release (naming both lines), when it ends inside a fenced code block or
///   an HTML comment (naming the line that opens it), or when an update's
///   version is not a valid SemVer version.
/// - [`Error::Internal`] when an update's markdown is not one section for
///   its key: it must start with a level-2 heading for that release, hold no
///   other level-1 or level-2 heading, close its code blocks and comments,
///   and not end with link reference definitions (pass the link instead).
pub fn update(
    existing: Option<&str>,
    updates: &[SectionUpdate],
    file_name: &str,
) -> Result<String> {
    let mut text = match existing {
        Some(text) if !text.trim().is_empty() => text.to_owned(),
        _ => HEADER.to_owned(),
    };
    Doc::parse(&text).check(file_name)?;
    let prepared = updates
        .iter()
        .map(Prepared::new)
        .collect::<Result<Vec<_>>>()?;
    for update in &prepared {
        text = put_section(&text, update);
    }
    for update in &prepared {
        if let Some(url) = &update.link {
            text = put_link(&text, &update.label, url);
        }
    }
    Ok(text)
}

/// Whether the changelog text has a section for `version` (`1.2.0` or
/// `v1.2.0`, matching headings with or without `v`; `Unreleased` in any case
/// asks for the Unreleased section).
///
/// A version that is not valid SemVer matches a heading whose bracketed or
/// first word is the same text, ignoring case and a `v` prefix.
pub fn has_section(existing: &str, version: &str) -> bool {
    Doc::parse(existing)
        .find(&Key::from_label(version))
        .is_some()
}

/// The text of the section for `key` in the changelog text `existing`: from
/// its heading line to just before the next level-1 or level-2 heading, the
/// link definitions under it, or end of file. `None` when there is no such
/// section; of two sections for the same release, the first.
pub fn section_text<'a>(existing: &'a str, key: &SectionKey) -> Option<&'a str> {
    section_span(existing, key).map(|span| &existing[span])
}

/// The byte range of [`section_text`].
fn section_span(existing: &str, key: &SectionKey) -> Option<Range<usize>> {
    let doc = Doc::parse(existing);
    let segment = doc.find(&Key::from_section_key(key))?;
    Some(doc.span(segment))
}

/// A release as a heading or a definition label names it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Unreleased,
    Version(Version),
    /// Not a release: the label, lowercase and without a `v` prefix.
    Other(String),
}

impl Key {
    fn from_label(label: &str) -> Key {
        let label = label.trim();
        if label.eq_ignore_ascii_case("unreleased") {
            return Key::Unreleased;
        }
        let bare = strip_v(label);
        match Version::parse(bare) {
            Ok(version) => Key::Version(version),
            Err(_) => Key::Other(normalize_label(bare)),
        }
    }

    fn from_section_key(key: &SectionKey) -> Key {
        match key {
            SectionKey::Unreleased => Key::Unreleased,
            SectionKey::Version(version) => Key::from_label(version),
        }
    }

    fn is_release(&self) -> bool {
        !matches!(self, Key::Other(_))
    }

    fn is_version_older_than(&self, version: &Version) -> bool {
        matches!(self, Key::Version(v) if v.cmp_precedence(version) == Ordering::Less)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Unreleased => f.write_str("Unreleased"),
            Key::Version(version) => version.fmt(f),
            Key::Other(label) => f.write_str(label),
        }
    }
}

/// `v1.2.0` → `1.2.0`; other text as it is.
fn strip_v(text: &str) -> &str {
    match text.strip_prefix(['v', 'V']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => text,
    }
}

/// A link label as CommonMark matches it: trimmed, inner whitespace
/// collapsed, case folded.
fn normalize_label(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// What a line is, for the purposes of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Blank,
    /// An ATX heading of this level.
    Heading(usize),
    LinkDef,
    Other,
}

/// One line of the text: `start..end` is its content, `end..next` its line
/// ending (empty on a last line without one).
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    next: usize,
    kind: Kind,
}

/// The text from one level-1 or level-2 heading to the next (or, for the
/// first segment, from the start of the text to the first heading).
#[derive(Debug, Clone)]
struct Segment {
    /// The index of the first line: the heading, if any.
    first: usize,
    /// The key of a level-2 heading; `None` for level 1 and the preamble.
    key: Option<Key>,
    /// Whether the segment starts with a level-2 heading.
    level2: bool,
    /// The line index where the segment's content ends: the first line of
    /// the link definitions (and blank lines) that close it, or `boundary`.
    content_end: usize,
    /// The line index of the next heading, or the number of lines.
    boundary: usize,
}

/// The text parsed into lines and segments.
struct Doc<'a> {
    text: &'a str,
    lines: Vec<Line>,
    segments: Vec<Segment>,
    eol: &'static str,
    /// The line opening a code block or comment that is never closed, and
    /// what it opens.
    unclosed: Option<(usize, &'static str)>,
}

impl<'a> Doc<'a> {
    fn parse(text: &'a str) -> Doc<'a> {
        let (lines, unclosed) = scan(text);
        let eol = lines
            .iter()
            .find(|line| line.next > line.end)
            .map_or("\n", |line| {
                if line.next - line.end == 2 {
                    "\r\n"
                } else {
                    "\n"
                }
            });
        let heads: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, line)| matches!(line.kind, Kind::Heading(1 | 2)))
            .map(|(index, _)| index)
            .collect();
        let mut segments = Vec::with_capacity(heads.len() + 1);
        let mut starts = vec![0];
        starts.extend(heads.iter().copied().filter(|&index| index > 0));
        for (n, &first) in starts.iter().enumerate() {
            let boundary = starts.get(n + 1).copied().unwrap_or(lines.len());
            let is_heading = heads.first().is_some_and(|&h| h <= first) && first < lines.len();
            let level2 = is_heading && lines[first].kind == Kind::Heading(2);
            let key = level2.then(|| {
                let line = &lines[first];
                Key::from_label(heading_label(&text[line.start..line.end]))
            });
            let body_start = if is_heading { first + 1 } else { first };
            let mut content_end = boundary;
            let mut index = boundary;
            while index > body_start {
                match lines[index - 1].kind {
                    Kind::Blank => index -= 1,
                    Kind::LinkDef => {
                        index -= 1;
                        content_end = index;
                    }
                    _ => break,
                }
            }
            segments.push(Segment {
                first,
                key,
                level2,
                content_end,
                boundary,
            });
        }
        Doc {
            text,
            lines,
            segments,
            eol,
            unclosed,
        }
    }

    /// Refuses text this module cannot update safely.
    fn check(&self, file_name: &str) -> Result<()> {
        if let Some((line, what)) = self.unclosed {
            return Err(Error::input(format!(
                "{file_name}: line {} opens {what} that is never closed",
                line + 1
            )));
        }
        let releases: Vec<(usize, &Key)> = self
            .segments
            .iter()
            .filter_map(|s| {
                s.key
                    .as_ref()
                    .filter(|k| k.is_release())
                    .map(|k| (s.first, k))
            })
            .collect();
        for (n, (line, key)) in releases.iter().enumerate() {
            if let Some((earlier, _)) = releases[..n].iter().find(|(_, k)| k == key) {
                return Err(Error::input(format!(
                    "{file_name}: line {} and line {} are both the section for {key}",
                    earlier + 1,
                    line + 1
                )));
            }
        }
        Ok(())
    }

    /// The byte offset of the start of line `index` (end of text past the
    /// last line).
    fn pos(&self, index: usize) -> usize {
        self.lines
            .get(index)
            .map_or(self.text.len(), |line| line.start)
    }

    fn span(&self, segment: &Segment) -> Range<usize> {
        self.pos(segment.first)..self.pos(segment.content_end)
    }

    fn find(&self, key: &Key) -> Option<&Segment> {
        self.segments.iter().find(|s| s.key.as_ref() == Some(key))
    }

    fn last(&self) -> Option<&Segment> {
        self.segments.last()
    }

    /// Where text goes to follow `segment`: before the next heading, or
    /// before the link block when the segment is the last.
    fn after(&self, segment: &Segment) -> usize {
        let is_last = self.last().is_some_and(|last| last.first == segment.first);
        if is_last {
            self.pos(segment.content_end)
        } else {
            self.pos(segment.boundary)
        }
    }

    /// Where a missing section for `key` goes.
    fn insertion_point(&self, key: &Key) -> usize {
        let releases = || {
            self.segments
                .iter()
                .filter(|s| s.key.as_ref().is_some_and(Key::is_release))
        };
        let versions = || releases().filter(|s| matches!(s.key, Some(Key::Version(_))));
        if let Key::Version(version) = key {
            if let Some(older) = versions().find(|s| {
                s.key
                    .as_ref()
                    .is_some_and(|k| k.is_version_older_than(version))
            }) {
                return self.pos(older.first);
            }
            if let Some(newer) = versions().next_back() {
                return self.after(newer);
            }
            if let Some(unreleased) = self.find(&Key::Unreleased) {
                return self.after(unreleased);
            }
        }
        if let Some(first) = releases().next() {
            return self.pos(first.first);
        }
        if let Some(first) = self.segments.iter().find(|s| s.level2) {
            return self.pos(first.first);
        }
        self.last()
            .map_or(self.text.len(), |last| self.pos(last.content_end))
    }

    /// The definition lines of the link block at the end of the text, with
    /// their keys.
    fn link_block(&self) -> Vec<(usize, Key)> {
        let Some(last) = self.last() else {
            return Vec::new();
        };
        (last.content_end..self.lines.len())
            .filter(|&index| self.lines[index].kind == Kind::LinkDef)
            .filter_map(|index| {
                let line = &self.lines[index];
                let (label, _) = link_def(&self.text[line.start..line.end])?;
                Some((index, Key::from_label(label)))
            })
            .collect()
    }
}

/// Splits the text into classified lines, and reports a code block or
/// comment still open at the end.
fn scan(text: &str) -> (Vec<Line>, Option<(usize, &'static str)>) {
    let mut lines = Vec::new();
    let mut state = BlockState::default();
    let mut start = 0;
    while start < text.len() {
        let (end, next) = match text[start..].find('\n') {
            Some(offset) => {
                let newline = start + offset;
                let end = if text[start..newline].ends_with('\r') {
                    newline - 1
                } else {
                    newline
                };
                (end, newline + 1)
            }
            None => (text.len(), text.len()),
        };
        let kind = state.classify(&text[start..end], lines.len());
        lines.push(Line {
            start,
            end,
            next,
            kind,
        });
        start = next;
    }
    let unclosed = match (state.fence, state.comment) {
        (Some((_, _, line)), _) => Some((line, "a code block")),
        (None, Some(line)) => Some((line, "an HTML comment")),
        (None, None) => None,
    };
    (lines, unclosed)
}

/// Whether the scan is inside a fenced code block (fence character, length,
/// opening line) or an HTML comment (opening line).
#[derive(Default)]
struct BlockState {
    fence: Option<(u8, usize, usize)>,
    comment: Option<usize>,
}

impl BlockState {
    fn classify(&mut self, content: &str, index: usize) -> Kind {
        if let Some((ch, len, _)) = self.fence {
            if is_closing_fence(content, ch, len) {
                self.fence = None;
            }
            return Kind::Other;
        }
        if self.comment.is_some() {
            if content.contains("-->") {
                self.comment = None;
            }
            return Kind::Other;
        }
        if content.trim().is_empty() {
            return Kind::Blank;
        }
        let Some(rest) = strip_indent(content) else {
            return Kind::Other;
        };
        if let Some((ch, len)) = opening_fence(rest) {
            self.fence = Some((ch, len, index));
            return Kind::Other;
        }
        if let Some(after) = rest.strip_prefix("<!--") {
            if !after.contains("-->") {
                self.comment = Some(index);
            }
            return Kind::Other;
        }
        if let Some(level) = atx_level(rest) {
            return Kind::Heading(level);
        }
        if link_def(content).is_some() {
            return Kind::LinkDef;
        }
        Kind::Other
    }
}

/// The line without up to three spaces of indentation, or `None` when it is
/// indented more (an indented code block or a continuation).
fn strip_indent(content: &str) -> Option<&str> {
    let rest = content.trim_start_matches(' ');
    (content.len() - rest.len() <= 3).then_some(rest)
}

fn opening_fence(rest: &str) -> Option<(u8, usize)> {
    let ch = *rest.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let len = rest.bytes().take_while(|&b| b == ch).count();
    if len < 3 || (ch == b'`' && rest[len..].contains('`')) {
        return None;
    }
    Some((ch, len))
}

fn is_closing_fence(content: &str, ch: u8, len: usize) -> bool {
    let Some(rest) = strip_indent(content) else {
        return false;
    };
    let run = rest.bytes().take_while(|&b| b == ch).count();
    run >= len && rest[run..].trim().is_empty()
}

/// The level of an ATX heading (`rest` without indentation), if it is one.
fn atx_level(rest: &str) -> Option<usize> {
    let level = rest.bytes().take_while(|&b| b == b'#').count();
    let after = &rest[level..];
    ((1..=6).contains(&level) && (after.is_empty() || after.starts_with([' ', '\t'])))
        .then_some(level)
}

/// The label of a level-2 heading line: the bracketed text, or else the
/// first word (`## [1.2.0] - 2027-01-15` → `1.2.0`, `## v1.2.0` → `v1.2.0`).
fn heading_label(line: &str) -> &str {
    let text = line.trim_start_matches(' ').trim_start_matches('#').trim();
    // An optional closing sequence of `#`s.
    let unclosed = text.trim_end_matches('#');
    let text = if unclosed.is_empty() {
        ""
    } else if unclosed.ends_with([' ', '\t']) {
        unclosed.trim_end()
    } else {
        text
    };
    if let Some(rest) = text.strip_prefix('[')
        && let Some(close) = rest.find(']')
    {
        return &rest[..close];
    }
    text.split_whitespace().next().unwrap_or("")
}

/// A link reference definition line: its label, and the byte offset in the
/// line where the destination starts.
fn link_def(content: &str) -> Option<(&str, usize)> {
    let rest = strip_indent(content)?.strip_prefix('[')?;
    let close = rest.find(']')?;
    let label = &rest[..close];
    if label.trim().is_empty() || label.contains('[') {
        return None;
    }
    let destination = rest[close + 1..].strip_prefix(':')?.trim_start();
    if destination.is_empty() {
        return None;
    }
    Some((label, content.len() - destination.len()))
}

/// An update checked and ready to apply.
struct Prepared {
    key: Key,
    /// The section's lines without line endings, from the heading on.
    lines: Vec<String>,
    /// The label of the link definition.
    label: String,
    link: Option<String>,
}

impl Prepared {
    fn new(update: &SectionUpdate) -> Result<Prepared> {
        let key = match &update.key {
            SectionKey::Unreleased => Key::Unreleased,
            SectionKey::Version(text) => Key::Version(crate::version::parse(strip_v(text.trim()))?),
        };
        let internal =
            |what: &str| Error::Internal(format!("the new changelog section for {key} {what}"));
        let mut lines: Vec<String> = update
            .markdown
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line).to_owned())
            .skip_while(|line| line.trim().is_empty())
            .collect();
        if update.markdown.ends_with('\n') && lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        let normalized = lines
            .iter()
            .map(|line| format!("{line}\n"))
            .collect::<String>();
        let doc = Doc::parse(&normalized);
        let section = match doc.segments.as_slice() {
            [section] if section.level2 => section,
            [first, ..] if !first.level2 => {
                return Err(internal("does not start with a level-2 heading"));
            }
            _ => return Err(internal("has more than one level-1 or level-2 heading")),
        };
        if section.key.as_ref() != Some(&key) {
            return Err(internal("starts with a heading for another release"));
        }
        if doc.unclosed.is_some() {
            return Err(internal("leaves a code block or HTML comment open"));
        }
        if section.content_end != section.boundary {
            return Err(internal("ends with link reference definitions"));
        }
        let label = match key {
            Key::Unreleased => "unreleased".to_owned(),
            _ => {
                let heading = &lines[0];
                let bracketed = heading
                    .trim_start_matches(' ')
                    .trim_start_matches('#')
                    .trim();
                if bracketed.starts_with('[') {
                    heading_label(heading).trim().to_owned()
                } else {
                    key.to_string()
                }
            }
        };
        let link = match &update.link {
            Some(url) if url.trim().is_empty() || url.contains(['\n', '\r']) => {
                return Err(internal("has a link that is empty or spans lines"));
            }
            Some(url) => Some(url.trim().to_owned()),
            None => None,
        };
        Ok(Prepared {
            key,
            lines,
            label,
            link,
        })
    }

    /// The section with the given line ending, ending with a blank line.
    fn render(&self, eol: &str) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(line);
            out.push_str(eol);
        }
        if self
            .lines
            .last()
            .is_some_and(|line| !line.trim().is_empty())
        {
            out.push_str(eol);
        }
        out
    }
}

/// Ends `out` with a blank line, unless it is empty or already does.
fn separate(out: &mut String, eol: &str) {
    if out.is_empty() {
        return;
    }
    if !out.ends_with('\n') {
        out.push_str(eol);
    }
    let before_newline = &out[..out.len() - 1];
    let last_line = before_newline.rsplit('\n').next().unwrap_or("");
    if !last_line.trim().is_empty() {
        out.push_str(eol);
    }
}

/// Replaces or inserts one section.
fn put_section(text: &str, update: &Prepared) -> String {
    let doc = Doc::parse(text);
    let section = update.render(doc.eol);
    if let Some(existing) = doc.find(&update.key) {
        let span = doc.span(existing);
        return [&text[..span.start], &section, &text[span.end..]].concat();
    }
    let at = doc.insertion_point(&update.key);
    let mut out = String::with_capacity(text.len() + section.len() + 4);
    out.push_str(&text[..at]);
    separate(&mut out, doc.eol);
    out.push_str(&section);
    out.push_str(&text[at..]);
    out
}

/// Sets the destination of the definition for `label`, or adds one to the
/// link block.
fn put_link(text: &str, label: &str, url: &str) -> String {
    let doc = Doc::parse(text);
    let wanted = normalize_label(label);
    for line in doc.lines.iter().filter(|line| line.kind == Kind::LinkDef) {
        let content = &text[line.start..line.end];
        if let Some((existing, destination)) = link_def(content)
            && normalize_label(existing) == wanted
        {
            let cut = line.start + destination;
            return [&text[..cut], url, &text[line.end..]].concat();
        }
    }
    let definition = format!("[{label}]: {url}");
    let key = Key::from_label(label);
    let block = doc.link_block();
    let before = match &key {
        Key::Unreleased => block.iter().find(|(_, k)| k.is_release()),
        Key::Version(version) => block.iter().find(|(_, k)| k.is_version_older_than(version)),
        Key::Other(_) => None,
    };
    if let Some(&(index, _)) = before {
        let at = doc.lines[index].start;
        return [&text[..at], &definition, doc.eol, &text[at..]].concat();
    }
    let after = block
        .iter()
        .rev()
        .find(|(_, k)| k.is_release())
        .or(block.last());
    match after {
        Some(&(index, _)) => {
            let line = doc.lines[index];
            if line.next > line.end {
                [&text[..line.next], &definition, doc.eol, &text[line.next..]].concat()
            } else {
                [&text[..line.end], doc.eol, &definition, &text[line.end..]].concat()
            }
        }
        None => {
            let mut out = text.to_owned();
            separate(&mut out, doc.eol);
            out.push_str(&definition);
            out.push_str(doc.eol);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const FILE: &str = "CHANGELOG.md";

    fn unreleased(markdown: &str, link: Option<&str>) -> SectionUpdate {
        SectionUpdate {
            key: SectionKey::Unreleased,
            markdown: markdown.to_owned(),
            link: link.map(str::to_owned),
        }
    }

    fn release(version: &str, markdown: &str, link: Option<&str>) -> SectionUpdate {
        SectionUpdate {
            key: SectionKey::Version(version.to_owned()),
            markdown: markdown.to_owned(),
            link: link.map(str::to_owned),
        }
    }

    fn run(existing: Option<&str>, updates: &[SectionUpdate]) -> String {
        let once = update(existing, updates, FILE).expect("update succeeds");
        let twice = update(Some(&once), updates, FILE).expect("second update succeeds");
        assert_eq!(twice, once, "updating is idempotent");
        once
    }

    const EXISTING: &str = "# Changelog

All notable changes to this project will be documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

## [Unreleased]

### Added
- **cli:** add --verbose (#9)

## [1.1.0] - 2026-12-01

### Added
- **cli:** add --json output (#7)
  Hand-written note: see the migration guide.

### Fixed  
- typo fixed by hand in *docs*   

## [1.0.0] - 2026-10-01

- First release.

[unreleased]: https://example.com/o/r/compare/v1.1.0...HEAD
[1.1.0]: https://example.com/o/r/compare/v1.0.0...v1.1.0
[1.0.0]: https://example.com/o/r/releases/tag/v1.0.0
";

    #[test]
    fn new_file_gets_the_header_sections_and_links() {
        let out = run(
            None,
            &[
                unreleased(
                    "## [Unreleased]\n\n### Added\n- **cli:** add --json (#12)\n\n",
                    Some("https://example.com/o/r/compare/v1.2.0...HEAD"),
                ),
                release(
                    "1.2.0",
                    "## [1.2.0] - 2027-01-15\n\n### Fixed\n- **core:** fix a crash (#11)\n\n",
                    Some("https://example.com/o/r/compare/v1.1.0...v1.2.0"),
                ),
            ],
        );
        assert_eq!(
            out,
            "# Changelog

All notable changes to this project will be documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

## [Unreleased]

### Added
- **cli:** add --json (#12)

## [1.2.0] - 2027-01-15

### Fixed
- **core:** fix a crash (#11)

[unreleased]: https://example.com/o/r/compare/v1.2.0...HEAD
[1.2.0]: https://example.com/o/r/compare/v1.1.0...v1.2.0
"
        );
    }

    #[test]
    fn empty_existing_text_is_a_new_file() {
        let updates = [unreleased("## [Unreleased]\n", None)];
        let from_none = run(None, &updates);
        assert_eq!(run(Some(""), &updates), from_none);
        assert_eq!(run(Some("\n  \n"), &updates), from_none);
        assert_eq!(from_none, format!("{HEADER}## [Unreleased]\n\n"));
    }

    #[test]
    fn replaces_unreleased_and_keeps_a_hand_edited_older_section() {
        let out = run(
            Some(EXISTING),
            &[unreleased(
                "## [Unreleased]\n\n### Added\n- **cli:** add --json (#12)\n\n",
                None,
            )],
        );
        let expected = EXISTING.replace(
            "- **cli:** add --verbose (#9)\n",
            "- **cli:** add --json (#12)\n",
        );
        assert_eq!(out, expected);
        let older = SectionKey::Version("1.1.0".into());
        assert_eq!(section_text(&out, &older), section_text(EXISTING, &older));
        assert!(
            section_text(&out, &older)
                .expect("1.1.0 is there")
                .contains("### Fixed  \n- typo fixed by hand in *docs*   \n")
        );
    }

    #[test]
    fn inserts_a_release_between_unreleased_and_the_older_version() {
        let out = run(
            Some(EXISTING),
            &[
                unreleased(
                    "## [Unreleased]\n\n",
                    Some("https://example.com/o/r/compare/v1.2.0...HEAD"),
                ),
                release(
                    "1.2.0",
                    "## [1.2.0] - 2027-01-15\n\n### Added\n- **cli:** add --verbose (#9)\n\n",
                    Some("https://example.com/o/r/compare/v1.1.0...v1.2.0"),
                ),
            ],
        );
        let expected = EXISTING
            .replace(
                "## [Unreleased]\n\n### Added\n- **cli:** add --verbose (#9)\n\n",
                "## [Unreleased]\n\n## [1.2.0] - 2027-01-15\n\n### Added\n- **cli:** add --verbose (#9)\n\n",
            )
            .replace(
                "[unreleased]: https://example.com/o/r/compare/v1.1.0...HEAD\n",
                "[unreleased]: https://example.com/o/r/compare/v1.2.0...HEAD\n\
                 [1.2.0]: https://example.com/o/r/compare/v1.1.0...v1.2.0\n",
            );
        assert_eq!(out, expected);
    }

    #[test]
    fn inserts_a_release_when_there_is_no_unreleased_section() {
        let existing =
            "# Changelog\n\nNotes by hand.\n\n## 1.0.0 - 2026-10-01\n\n- First release.\n";
        let out = run(
            Some(existing),
            &[release(
                "1.1.0",
                "## [1.1.0] - 2027-01-15\n\n- More.\n",
                None,
            )],
        );
        assert_eq!(
            out,
            "# Changelog\n\nNotes by hand.\n\n## [1.1.0] - 2027-01-15\n\n- More.\n\n## 1.0.0 - 2026-10-01\n\n- First release.\n"
        );
    }

    #[test]
    fn inserts_into_a_file_with_only_a_header() {
        // No blank line and no final newline after the header.
        let out = run(
            Some("# Changelog\nSome text"),
            &[release(
                "0.1.0",
                "## [0.1.0] - 2027-01-15\n- Start.\n",
                None,
            )],
        );
        assert_eq!(
            out,
            "# Changelog\nSome text\n\n## [0.1.0] - 2027-01-15\n- Start.\n\n"
        );
    }

    #[test]
    fn inserts_unreleased_above_the_first_release() {
        let existing =
            "# Changelog\n\n## [1.0.0] - 2026-10-01\n\n- First.\n\n[1.0.0]: https://x/1.0.0\n";
        let out = run(
            Some(existing),
            &[unreleased(
                "## [Unreleased]\n\n- Next.\n",
                Some("https://x/head"),
            )],
        );
        assert_eq!(
            out,
            "# Changelog\n\n## [Unreleased]\n\n- Next.\n\n## [1.0.0] - 2026-10-01\n\n- First.\n\n\
             [unreleased]: https://x/head\n[1.0.0]: https://x/1.0.0\n"
        );
    }

    #[test]
    fn a_backport_goes_below_newer_versions() {
        let out = run(
            Some(EXISTING),
            &[release(
                "1.0.1",
                "## [1.0.1] - 2027-01-20\n\n- Backport.\n\n",
                Some("https://example.com/o/r/compare/v1.0.0...v1.0.1"),
            )],
        );
        let expected = EXISTING
            .replace(
                "## [1.0.0] - 2026-10-01\n",
                "## [1.0.1] - 2027-01-20\n\n- Backport.\n\n## [1.0.0] - 2026-10-01\n",
            )
            .replace(
                "[1.0.0]: https://example.com/o/r/releases/tag/v1.0.0\n",
                "[1.0.1]: https://example.com/o/r/compare/v1.0.0...v1.0.1\n\
                 [1.0.0]: https://example.com/o/r/releases/tag/v1.0.0\n",
            );
        assert_eq!(out, expected);
    }

    #[test]
    fn a_release_goes_above_its_prereleases() {
        let existing = "## [1.0.0-rc.1] - 2026-09-01\n\n- Candidate.\n";
        let out = run(
            Some(existing),
            &[release(
                "1.0.0",
                "## [1.0.0] - 2026-10-01\n\n- Final.\n",
                None,
            )],
        );
        assert_eq!(
            out,
            "## [1.0.0] - 2026-10-01\n\n- Final.\n\n## [1.0.0-rc.1] - 2026-09-01\n\n- Candidate.\n"
        );
    }

    #[test]
    fn a_crlf_file_stays_crlf() {
        let existing = EXISTING.replace('\n', "\r\n");
        let out = run(
            Some(&existing),
            &[
                unreleased("## [Unreleased]\n\n", Some("https://x/head")),
                release(
                    "1.2.0",
                    "## [1.2.0] - 2027-01-15\n\n- New.\n",
                    Some("https://x/1.2.0"),
                ),
            ],
        );
        assert!(
            !out.replace("\r\n", "").contains('\n'),
            "only CRLF line endings"
        );
        assert!(out.contains(
            "## [Unreleased]\r\n\r\n## [1.2.0] - 2027-01-15\r\n\r\n- New.\r\n\r\n## [1.1.0]"
        ));
        assert!(out.ends_with(
            "[unreleased]: https://x/head\r\n[1.2.0]: https://x/1.2.0\r\n[1.1.0]: https://example.com/o/r/compare/v1.0.0...v1.1.0\r\n[1.0.0]: https://example.com/o/r/releases/tag/v1.0.0\r\n"
        ));
        let older = SectionKey::Version("1.1.0".into());
        assert_eq!(section_text(&out, &older), section_text(&existing, &older));
    }

    #[test]
    fn link_definitions_are_replaced_or_added_and_others_kept() {
        let existing = "## [Unreleased]\n\n- Next.\n\n## [1.0.0]\n\n- First.\n\n\
            [Unreleased]:   https://old/head \"Unreleased\"\n\
            [keepachangelog]: https://keepachangelog.com\n\
            [1.0.0]: https://x/1.0.0\n\
            [#3]: https://x/pull/3\n";
        let out = run(
            Some(existing),
            &[
                unreleased("## [Unreleased]\n\n- Next.\n", Some("https://new/head")),
                release(
                    "1.1.0",
                    "## [1.1.0]\n\n- Middle.\n",
                    Some("https://x/1.1.0"),
                ),
                release("0.9.0", "## [0.9.0]\n\n- Old.\n", Some("https://x/0.9.0")),
                release("2.0.0", "## 2.0.0\n\n- Unlinked heading.\n", None),
            ],
        );
        assert!(out.ends_with(
            "[Unreleased]:   https://new/head\n\
            [keepachangelog]: https://keepachangelog.com\n\
            [1.1.0]: https://x/1.1.0\n\
            [1.0.0]: https://x/1.0.0\n\
            [0.9.0]: https://x/0.9.0\n\
            [#3]: https://x/pull/3\n"
        ));
        let sections: Vec<&str> = out.lines().filter(|l| l.starts_with("## ")).collect();
        assert_eq!(
            sections,
            [
                "## [Unreleased]",
                "## 2.0.0",
                "## [1.1.0]",
                "## [1.0.0]",
                "## [0.9.0]"
            ]
        );
    }

    #[test]
    fn a_link_label_follows_the_heading_spelling() {
        let existing = "## [v1.0.0] - 2026-10-01\n\n- First.\n\n[v1.0.0]: https://x/v1.0.0\n";
        let out = run(
            Some(existing),
            &[release(
                "1.1.0",
                "## [v1.1.0] - 2027-01-15\n\n- Next.\n",
                Some("https://x/v1.1.0"),
            )],
        );
        assert!(out.ends_with("[v1.1.0]: https://x/v1.1.0\n[v1.0.0]: https://x/v1.0.0\n"));
    }

    #[test]
    fn definitions_kept_under_a_section_survive_its_replacement() {
        let existing =
            "## [Unreleased]\n\n- See [#3].\n\n[#3]: https://x/pull/3\n\n## [1.0.0]\n\n- First.\n";
        let out = run(
            Some(existing),
            &[unreleased("## [Unreleased]\n\n- Other.\n", None)],
        );
        assert_eq!(
            out,
            "## [Unreleased]\n\n- Other.\n\n[#3]: https://x/pull/3\n\n## [1.0.0]\n\n- First.\n"
        );
    }

    #[test]
    fn a_duplicate_section_is_an_input_error() {
        let existing = "# Changelog\n\n## [1.2.0] - 2027-01-15\n\n- A.\n\n## v1.2.0\n\n- B.\n";
        let error = update(Some(existing), &[], FILE).expect_err("duplicate is refused");
        assert_eq!(error.kind(), ErrorKind::Input);
        assert_eq!(
            error.to_string(),
            "CHANGELOG.md: line 3 and line 7 are both the section for 1.2.0"
        );
        let twice = "## [Unreleased]\n\n## unreleased\n";
        let error = update(Some(twice), &[], FILE).expect_err("duplicate is refused");
        assert_eq!(
            error.to_string(),
            "CHANGELOG.md: line 1 and line 3 are both the section for Unreleased"
        );
    }

    #[test]
    fn an_unclosed_code_block_is_an_input_error() {
        let existing = "## [1.0.0]\n\n```sh\ntrainyard release\n";
        let error = update(Some(existing), &[], FILE).expect_err("unclosed fence is refused");
        assert_eq!(error.kind(), ErrorKind::Input);
        assert_eq!(
            error.to_string(),
            "CHANGELOG.md: line 3 opens a code block that is never closed"
        );
    }

    #[test]
    fn markdown_that_is_not_one_section_for_its_key_is_refused() {
        let cases = [
            release("1.2.0", "- no heading\n", None),
            release("1.2.0", "## [1.3.0]\n", None),
            release("1.2.0", "## [1.2.0]\n\n## [1.1.0]\n", None),
            release("1.2.0", "## [1.2.0]\n\n[#1]: https://x/1\n", None),
            release("1.2.0", "## [1.2.0]\n\n```\n", None),
            unreleased("## [Unreleased]\n", Some("https://x\ny")),
        ];
        for case in cases {
            let error = update(Some(EXISTING), &[case], FILE).expect_err("refused");
            assert_eq!(error.kind(), ErrorKind::Internal, "{error}");
        }
        let error =
            update(None, &[release("1.2", "## [1.2]\n", None)], FILE).expect_err("not a version");
        assert_eq!(error.kind(), ErrorKind::Input);
    }

    #[test]
    fn has_section_accepts_v_on_either_side() {
        let text = "## [Unreleased]\n\n## [1.2.0] - 2027-01-15\n\n## v1.1.0\n\n## 1.0.0\n\n## Older releases\n";
        for version in [
            "1.2.0",
            "v1.2.0",
            "1.1.0",
            "v1.1.0",
            "V1.0.0",
            "unreleased",
            "Unreleased",
        ] {
            assert!(has_section(text, version), "{version}");
        }
        for version in ["1.3.0", "v0.9.0", "1.2.0-rc.1", "1.2"] {
            assert!(!has_section(text, version), "{version}");
        }
        assert!(has_section(text, "older"));
        assert!(!has_section("", "1.0.0"));
    }

    #[test]
    fn heading_styles_are_recognised() {
        let text = "# Changelog\n\n\
            ## unreleased ##\n- a\n\
            ## [v1.3.0](https://x/compare) - 2027-02-01\n- b\n\
            ## v1.2.0 (2027-01-15)\n- c\n\
            ##\t1.1.0 - 2026-12-01\n- d\n\
            ###  [1.0.0] not a section\n";
        let key = |v: &str| SectionKey::Version(v.to_owned());
        assert_eq!(
            section_text(text, &SectionKey::Unreleased),
            Some("## unreleased ##\n- a\n")
        );
        assert_eq!(
            section_text(text, &key("1.3.0")),
            Some("## [v1.3.0](https://x/compare) - 2027-02-01\n- b\n")
        );
        assert_eq!(
            section_text(text, &key("1.2.0")),
            Some("## v1.2.0 (2027-01-15)\n- c\n")
        );
        assert_eq!(
            section_text(text, &key("1.1.0")),
            Some("##\t1.1.0 - 2026-12-01\n- d\n###  [1.0.0] not a section\n")
        );
        assert_eq!(section_text(text, &key("1.0.0")), None);
    }

    #[test]
    fn headings_in_code_blocks_and_comments_are_not_sections() {
        let text = "## [1.1.0]\n\n```md\n## [1.0.0]\n[1.0.0]: https://x\n```\n\n<!--\n## [0.9.0]\n-->\n  ~~~\n## [0.8.0]\n  ~~~~\n";
        assert_eq!(
            section_text(text, &SectionKey::Version("1.1.0".into())),
            Some(text)
        );
        for version in ["1.0.0", "0.9.0", "0.8.0"] {
            assert!(!has_section(text, version), "{version}");
        }
    }

    #[test]
    fn a_file_without_a_final_newline_keeps_its_link_block_style() {
        let existing = "## [1.0.0]\n\n- First.\n\n[1.0.0]: https://x/1.0.0";
        let out = run(
            Some(existing),
            &[unreleased("## [Unreleased]\n", Some("https://x/head"))],
        );
        assert_eq!(
            out,
            "## [Unreleased]\n\n## [1.0.0]\n\n- First.\n\n[unreleased]: https://x/head\n[1.0.0]: https://x/1.0.0"
        );
        let out = run(
            Some(existing),
            &[release("0.9.0", "## [0.9.0]\n", Some("https://x/0.9.0"))],
        );
        assert_eq!(
            out,
            "## [1.0.0]\n\n- First.\n\n## [0.9.0]\n\n[1.0.0]: https://x/1.0.0\n[0.9.0]: https://x/0.9.0"
        );
    }

    #[test]
    fn the_last_update_for_a_release_wins() {
        let out = run(
            None,
            &[
                unreleased("## [Unreleased]\n\n- One.\n", Some("https://x/1")),
                unreleased("## [Unreleased]\n\n- Two.\n", Some("https://x/2")),
            ],
        );
        assert_eq!(
            out,
            format!("{HEADER}## [Unreleased]\n\n- Two.\n\n[unreleased]: https://x/2\n")
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Lines people write by hand, including ones that look like
        /// structure (a heading in a code block, a definition mid-section).
        const HAND_LINES: &[&str] = &[
            "### Added",
            "### Fixed  ",
            "- **cli:** add --json (#12)",
            "- reworded by hand, see [the guide](https://example.com/guide)",
            "  continuation of the item   ",
            "",
            "   ",
            "Some prose.\tWith a tab.",
            "<!-- a note for maintainers -->",
            "<!--\n## [9.9.9]\n-->",
            "```md\n## [Unreleased]\n[unreleased]: https://example.com/in-code\n```",
            "#### A deep heading",
            "# A level-one heading",
            "[#12]: https://example.com/pull/12",
            "[keepachangelog]: https://keepachangelog.com",
            "[unreleased]: https://example.com/hand/head",
            "[1.0.0]: https://example.com/hand/1.0.0",
        ];

        const HEADERS: &[&str] = &[
            HEADER,
            "# Changelog\n",
            "# Changelog",
            "Intro without a heading.\n\n",
            "",
        ];

        const GENERATED_LINES: &[&str] = &[
            "### Added",
            "### Fixed",
            "- **cli:** add --json (#12)",
            "- **core:** fix a crash (#11)",
            "",
        ];

        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
        enum GenKey {
            Unreleased,
            Version(u8, u8, u8, Option<u8>),
        }

        impl GenKey {
            fn text(&self) -> String {
                match self {
                    GenKey::Unreleased => "Unreleased".to_owned(),
                    GenKey::Version(major, minor, patch, pre) => match pre {
                        Some(n) => format!("{major}.{minor}.{patch}-rc.{n}"),
                        None => format!("{major}.{minor}.{patch}"),
                    },
                }
            }

            fn section_key(&self) -> SectionKey {
                match self {
                    GenKey::Unreleased => SectionKey::Unreleased,
                    GenKey::Version(..) => SectionKey::Version(self.text()),
                }
            }

            fn heading(&self, style: u8) -> String {
                let text = self.text();
                match (self, style % 5) {
                    (GenKey::Unreleased, 0 | 1) => "## [Unreleased]".to_owned(),
                    (GenKey::Unreleased, 2) => "## Unreleased".to_owned(),
                    (GenKey::Unreleased, _) => "## [unreleased]".to_owned(),
                    (_, 0) => format!("## [{text}] - 2027-01-15"),
                    (_, 1) => format!("## [{text}]"),
                    (_, 2) => format!("## {text}"),
                    (_, 3) => format!("## v{text}"),
                    (_, _) => format!("## [v{text}] - 2027-01-15"),
                }
            }
        }

        fn gen_key() -> impl Strategy<Value = GenKey> {
            prop_oneof![
                1 => Just(GenKey::Unreleased),
                4 => (0u8..2, 0u8..3, 0u8..2, proptest::option::weighted(0.2, 1u8..3))
                    .prop_map(|(a, b, c, pre)| GenKey::Version(a, b, c, pre)),
            ]
        }

        /// An existing changelog: header, sections with hand-edited lines
        /// in any order, maybe a link block, LF or CRLF, maybe no final
        /// newline.
        fn gen_file() -> impl Strategy<Value = String> {
            (
                0..HEADERS.len(),
                proptest::collection::btree_set(gen_key(), 0..5),
                proptest::collection::vec(
                    (
                        any::<u8>(),
                        proptest::collection::vec(0..HAND_LINES.len(), 0..6),
                    ),
                    5,
                ),
                proptest::collection::vec(
                    prop_oneof![
                        gen_key().prop_map(|k| format!(
                            "[{}]: https://example.com/{}",
                            k.text(),
                            k.text()
                        )),
                        Just("[keepachangelog]: https://keepachangelog.com".to_owned()),
                        Just(String::new()),
                    ],
                    0..4,
                ),
                any::<bool>(),
                any::<bool>(),
                any::<u64>(),
            )
                .prop_map(
                    |(header, keys, bodies, links, crlf, final_newline, seed)| {
                        let mut keys: Vec<GenKey> = keys.into_iter().collect();
                        // A deterministic shuffle, so sections come in any order.
                        let n = keys.len();
                        for i in 0..n {
                            let j = (seed as usize).wrapping_add(i * 7) % n;
                            keys.swap(i, j);
                        }
                        let mut text = HEADERS[header].to_owned();
                        for (key, (style, body)) in keys.iter().zip(bodies) {
                            if !text.is_empty() && !text.ends_with('\n') {
                                text.push('\n');
                            }
                            text.push_str(&key.heading(style));
                            text.push('\n');
                            for line in body {
                                text.push_str(HAND_LINES[line]);
                                text.push('\n');
                            }
                        }
                        for link in links {
                            text.push_str(&link);
                            text.push('\n');
                        }
                        if !final_newline {
                            while text.ends_with('\n') {
                                text.pop();
                            }
                        }
                        if crlf {
                            text = text.replace('\n', "\r\n");
                        }
                        text
                    },
                )
        }

        fn gen_update(with_link: bool) -> impl Strategy<Value = SectionUpdate> {
            (
                gen_key(),
                any::<u8>(),
                proptest::collection::vec(0..GENERATED_LINES.len(), 0..5),
                any::<bool>(),
                any::<bool>(),
            )
                .prop_map(move |(key, style, body, crlf, link)| {
                    let eol = if crlf { "\r\n" } else { "\n" };
                    let mut markdown = key.heading(style) + eol;
                    for line in body {
                        markdown.push_str(GENERATED_LINES[line]);
                        markdown.push_str(eol);
                    }
                    SectionUpdate {
                        link: (with_link && link)
                            .then(|| format!("https://example.com/compare/{}", key.text())),
                        key: key.section_key(),
                        markdown,
                    }
                })
        }

        /// The definition lines of the link block, as text.
        fn block_lines(text: &str) -> Vec<String> {
            let doc = Doc::parse(text);
            doc.link_block()
                .iter()
                .map(|&(index, _)| {
                    let line = doc.lines[index];
                    text[line.start..line.end].to_owned()
                })
                .collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn updating_is_idempotent(
                file in gen_file(),
                updates in proptest::collection::vec(gen_update(true), 0..4),
            ) {
                let once = update(Some(&file), &updates, FILE).expect("file is valid");
                let twice = update(Some(&once), &updates, FILE).expect("output is valid");
                prop_assert_eq!(&twice, &once);
                for u in &updates {
                    prop_assert!(section_text(&once, &u.key).is_some());
                }
            }

            #[test]
            fn every_byte_outside_the_owned_section_is_kept(
                file in gen_file(),
                u in gen_update(false),
            ) {
                let out = update(Some(&file), std::slice::from_ref(&u), FILE).expect("file is valid");
                // A file that is only whitespace is replaced by the header.
                let file = if file.trim().is_empty() { HEADER.to_owned() } else { file };
                let span = section_span(&out, &u.key).expect("the section is there");
                let (before, after) = (&out[..span.start], &out[span.end..]);
                let eol = Doc::parse(&file).eol;
                let expected = Prepared::new(&u).expect("valid update").render(eol);
                prop_assert_eq!(&out[span.clone()], expected.as_str());
                match section_span(&file, &u.key) {
                    Some(old) => {
                        prop_assert_eq!(&file[..old.start], before);
                        prop_assert_eq!(&file[old.end..], after);
                    }
                    None => {
                        prop_assert!(file.ends_with(after));
                        let kept = &file[..file.len() - after.len()];
                        prop_assert!(before.starts_with(kept));
                        let added = &before[kept.len()..];
                        let separators = [String::new(), eol.to_owned(), eol.repeat(2)];
                        prop_assert!(separators.iter().any(|s| s == added), "added {:?}", added);
                    }
                }
            }

            #[test]
            fn other_link_definitions_are_kept_in_order(
                file in gen_file(),
                updates in proptest::collection::vec(gen_update(true), 0..4),
            ) {
                let out = update(Some(&file), &updates, FILE).expect("file is valid");
                let ours: Vec<String> = updates
                    .iter()
                    .filter(|u| u.link.is_some())
                    .map(|u| Prepared::new(u).expect("valid update").label.to_lowercase())
                    .collect();
                let others = |text: &str| -> Vec<String> {
                    block_lines(text)
                        .into_iter()
                        .filter(|line| {
                            let (label, _) = link_def(line).expect("a definition");
                            !ours.contains(&normalize_label(label))
                        })
                        .collect()
                };
                prop_assert_eq!(others(&file), others(&out));
            }
        }
    }
}
