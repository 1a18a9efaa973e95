//! Byte-level editing shared by the manifest kinds: splicing replacements
//! into a text, line numbers for messages, and TOML string values with
//! their spans.

use std::ops::Range;
use std::path::Path;

use toml_edit::{Document, Item, TableLike, Value};

use super::display_path;
use crate::{Error, Result};

/// Replaces `range` of a text with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Replacement {
    pub range: Range<usize>,
    pub text: String,
}

/// Applies non-overlapping replacements to `text`.
pub(super) fn splice(text: &str, mut reps: Vec<Replacement>) -> Result<String> {
    reps.sort_by_key(|r| r.range.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in &reps {
        if r.range.start < at || r.range.end > text.len() || r.range.start > r.range.end {
            return Err(Error::Internal(format!(
                "overlapping or out-of-range replacement {:?}",
                r.range
            )));
        }
        let (Some(keep), true) = (
            text.get(at..r.range.start),
            text.is_char_boundary(r.range.end),
        ) else {
            return Err(Error::Internal(format!(
                "replacement {:?} splits a character",
                r.range
            )));
        };
        out.push_str(keep);
        out.push_str(&r.text);
        at = r.range.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// The 1-based line and column (in characters) of byte `offset`.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The 1-based line of byte `offset`.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    line_col(text, offset).0
}

/// Joins a multi-line library message into one line.
pub(super) fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Parses a TOML document keeping spans; a syntax error becomes an input
/// error with the file, line and column.
pub(super) fn parse_toml<'t>(path: &Path, text: &'t str) -> Result<Document<&'t str>> {
    Document::parse(text).map_err(|e| {
        let message = one_line(e.message().trim_end_matches(", expected nothing"));
        match e.span() {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                Error::input(format!(
                    "{}: line {line}, column {col}: invalid TOML: {message}",
                    display_path(path)
                ))
            }
            None => Error::input(format!("{}: invalid TOML: {message}", display_path(path))),
        }
    })
}

/// A TOML string value and the span of its literal (quotes included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TomlStr {
    pub value: String,
    pub span: Range<usize>,
}

impl TomlStr {
    /// A replacement of this literal by one holding `value`, written with
    /// the same quotes. `value` must need no escaping (versions and simple
    /// requirements never do).
    pub fn replace_with(&self, text: &str, value: &str) -> Replacement {
        let raw = text.get(self.span.clone()).unwrap_or("\"");
        let delim = if raw.starts_with("\"\"\"") {
            "\"\"\""
        } else if raw.starts_with("'''") {
            "'''"
        } else if raw.starts_with('\'') {
            "'"
        } else {
            "\""
        };
        Replacement {
            range: self.span.clone(),
            text: format!("{delim}{value}{delim}"),
        }
    }
}

/// The table under `key` of a table, if it is a table (or inline table).
pub(super) fn table<'d>(parent: &'d dyn TableLike, key: &str) -> Option<&'d dyn TableLike> {
    parent.get(key).and_then(Item::as_table_like)
}

/// The string at `key` of `parent`, with its span; `None` when absent.
///
/// `dotted` names the key in messages, e.g. `package.version`.
pub(super) fn string_at(
    path: &Path,
    text: &str,
    parent: &dyn TableLike,
    key: &str,
    dotted: &str,
) -> Result<Option<TomlStr>> {
    let Some(item) = parent.get(key) else {
        return Ok(None);
    };
    match item.as_value() {
        Some(value @ Value::String(s)) => match value.span() {
            Some(span) => Ok(Some(TomlStr {
                value: s.value().clone(),
                span,
            })),
            None => Err(Error::Internal(format!(
                "{}: no span for {dotted}",
                display_path(path)
            ))),
        },
        _ => Err(not_a_string(path, text, item, dotted)),
    }
}

/// An input error saying `dotted` is not a string, at its line if known.
pub(super) fn not_a_string(path: &Path, text: &str, item: &Item, dotted: &str) -> Error {
    let span = item
        .as_value()
        .and_then(Value::span)
        .or_else(|| item.span());
    match span {
        Some(span) => Error::input(format!(
            "{}: line {}: {dotted} is not a string",
            display_path(path),
            line_of(text, span.start)
        )),
        None => Error::input(format!("{}: {dotted} is not a string", display_path(path))),
    }
}
