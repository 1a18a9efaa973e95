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

mod document;
mod edit;

#[cfg(test)]
mod tests;

use std::fmt;
use std::ops::Range;

use crate::Result;

use document::{Doc, Key};
use edit::{Prepared, put_link, put_section};

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
