//! `package.json`: the top-level `"version"`.
//!
//! The file is validated with `serde_json`; the edit then replaces only the
//! bytes of the version string, found by a small scanner of the top-level
//! object, so key order, indentation (spaces or tabs), line endings and the
//! final newline stay as they are.

use std::ops::Range;
use std::path::Path;

use super::json::{members, parse_checked, string_literal};
use super::text::{Replacement, line_col, splice};
use super::{Files, ManifestKind, ManifestVersion, display_path};
use crate::{Error, Result};

const BOM: &str = "\u{feff}";

/// What the top-level `"version"` of a package.json is.
enum Found {
    /// A string, with the spans of its literal(s) (quotes included).
    String(String, Vec<Range<usize>>),
    /// Present but not a string.
    NotString,
    /// Absent.
    Missing,
}

pub(super) fn read(files: &mut Files<'_>, path: &Path) -> Result<Vec<ManifestVersion>> {
    let text = files.text(path)?;
    let (version, reason) = match find(path, &text)? {
        Found::String(v, _) => (Some(v), None),
        Found::NotString => (
            None,
            Some("top-level \"version\" is not a string".to_owned()),
        ),
        Found::Missing => (None, Some("no top-level \"version\" key".to_owned())),
    };
    Ok(vec![ManifestVersion {
        path: path.to_path_buf(),
        kind: ManifestKind::Npm,
        key: "version".to_owned(),
        version,
        inherited: false,
        reason,
    }])
}

pub(super) fn plan(files: &mut Files<'_>, path: &Path, new: &str) -> Result<()> {
    let text = files.text(path)?;
    let spans = match find(path, &text)? {
        Found::String(_, spans) => spans,
        Found::NotString => {
            return Err(Error::input(format!(
                "{}: top-level \"version\" is not a string",
                display_path(path)
            )));
        }
        Found::Missing => {
            return Err(Error::input(format!(
                "{}: no top-level \"version\" key",
                display_path(path)
            )));
        }
    };
    let reps = spans
        .into_iter()
        .map(|range| Replacement {
            range,
            text: string_literal(new),
        })
        .collect();
    let after = splice(&text, reps)?;
    files.set(path, after)
}

/// Validates the file and finds its top-level `"version"`.
fn find(path: &Path, text: &str) -> Result<Found> {
    let body = text.strip_prefix(BOM).unwrap_or(text);
    let offset = text.len() - body.len();
    let value = parse_checked(path, text)?;
    let Some(object) = value.as_object() else {
        return Err(Error::input(format!(
            "{}: the top level is not an object",
            display_path(path)
        )));
    };
    match object.get("version") {
        None => Ok(Found::Missing),
        Some(serde_json::Value::String(v)) => {
            let spans = scan_version_spans(body).ok_or_else(|| {
                Error::Internal(format!(
                    "{}: cannot locate the \"version\" value",
                    display_path(path)
                ))
            })?;
            if spans.is_empty() {
                let (line, col) = line_col(text, offset);
                return Err(Error::Internal(format!(
                    "{}: line {line}, column {col}: \"version\" not found by the scanner",
                    display_path(path)
                )));
            }
            let spans = spans
                .into_iter()
                .map(|r| r.start + offset..r.end + offset)
                .collect();
            Ok(Found::String(v.clone(), spans))
        }
        Some(_) => Ok(Found::NotString),
    }
}

/// The spans of the string values of the top-level `"version"` keys of a
/// valid JSON object (quotes included). `None` when the text is not what
/// `serde_json` accepted.
fn scan_version_spans(text: &str) -> Option<Vec<Range<usize>>> {
    Some(
        members(text, 0)?
            .into_iter()
            .filter(|(key, span)| key == "version" && text.as_bytes()[span.start] == b'"')
            .map(|(_, span)| span)
            .collect(),
    )
}
