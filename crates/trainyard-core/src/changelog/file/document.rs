//! The changelog text parsed: lines classified (headings, link
//! definitions, code blocks and comments), the segments between level-1
//! and level-2 headings, and the release each heading or label names.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Range;

use semver::Version;

use super::SectionKey;
use crate::{Error, Result};

/// A release as a heading or a definition label names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Key {
    Unreleased,
    Version(Version),
    /// Not a release: the label, lowercase and without a `v` prefix.
    Other(String),
}

impl Key {
    pub(super) fn from_label(label: &str) -> Key {
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

    pub(super) fn from_section_key(key: &SectionKey) -> Key {
        match key {
            SectionKey::Unreleased => Key::Unreleased,
            SectionKey::Version(version) => Key::from_label(version),
        }
    }

    pub(super) fn is_release(&self) -> bool {
        !matches!(self, Key::Other(_))
    }

    pub(super) fn is_version_older_than(&self, version: &Version) -> bool {
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
pub(super) fn strip_v(text: &str) -> &str {
    match text.strip_prefix(['v', 'V']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => text,
    }
}

/// A link label as CommonMark matches it: trimmed, inner whitespace
/// collapsed, case folded.
pub(super) fn normalize_label(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// What a line is, for the purposes of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Blank,
    /// An ATX heading of this level.
    Heading(usize),
    LinkDef,
    Other,
}

/// One line of the text: `start..end` is its content, `end..next` its line
/// ending (empty on a last line without one).
#[derive(Debug, Clone, Copy)]
pub(super) struct Line {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) next: usize,
    pub(super) kind: Kind,
}

/// The text from one level-1 or level-2 heading to the next (or, for the
/// first segment, from the start of the text to the first heading).
#[derive(Debug, Clone)]
pub(super) struct Segment {
    /// The index of the first line: the heading, if any.
    pub(super) first: usize,
    /// The key of a level-2 heading; `None` for level 1 and the preamble.
    pub(super) key: Option<Key>,
    /// Whether the segment starts with a level-2 heading.
    pub(super) level2: bool,
    /// The line index where the segment's content ends: the first line of
    /// the link definitions (and blank lines) that close it, or `boundary`.
    pub(super) content_end: usize,
    /// The line index of the next heading, or the number of lines.
    pub(super) boundary: usize,
}

/// The text parsed into lines and segments.
pub(super) struct Doc<'a> {
    text: &'a str,
    pub(super) lines: Vec<Line>,
    pub(super) segments: Vec<Segment>,
    pub(super) eol: &'static str,
    /// The line opening a code block or comment that is never closed, and
    /// what it opens.
    pub(super) unclosed: Option<(usize, &'static str)>,
}

impl<'a> Doc<'a> {
    pub(super) fn parse(text: &'a str) -> Doc<'a> {
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
    pub(super) fn check(&self, file_name: &str) -> Result<()> {
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

    pub(super) fn span(&self, segment: &Segment) -> Range<usize> {
        self.pos(segment.first)..self.pos(segment.content_end)
    }

    pub(super) fn find(&self, key: &Key) -> Option<&Segment> {
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
    pub(super) fn insertion_point(&self, key: &Key) -> usize {
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
    pub(super) fn link_block(&self) -> Vec<(usize, Key)> {
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
pub(super) fn heading_label(line: &str) -> &str {
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
pub(super) fn link_def(content: &str) -> Option<(&str, usize)> {
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
