//! `package-lock.json` (lockfileVersion 2 and 3) kept in step with a bump:
//! the `packages` entries of the moved workspace packages and the ranges
//! rewritten in their dependents, each value replaced in place.

use std::path::Path;

use super::json::{self, string_literal};
use super::text::{Replacement, splice};
use super::{Files, display_path};
use crate::{Error, Result};

/// One string of the lock to set: its keys from the top level, e.g.
/// `["packages", "packages/b", "dependencies", "a"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LockValue {
    pub keys: Vec<String>,
    pub value: String,
}

/// The change setting the version of the workspace package at `dir`
/// (relative to the lock's directory, `""` for the root): its `packages`
/// entry, and for the root the top-level `version` too.
pub(super) fn version_changes(dir: &str, version: &str) -> Vec<LockValue> {
    let mut out = vec![LockValue {
        keys: vec!["packages".into(), dir.to_owned(), "version".into()],
        value: version.to_owned(),
    }];
    if dir.is_empty() {
        out.push(LockValue {
            keys: vec!["version".into()],
            value: version.to_owned(),
        });
    }
    out
}

/// The change setting the range `kind.key` of the package at `dir` to
/// `range`.
pub(super) fn range_change(dir: &str, kind: &str, key: &str, range: &str) -> LockValue {
    LockValue {
        keys: vec!["packages".into(), dir.to_owned(), kind.into(), key.into()],
        value: range.to_owned(),
    }
}

/// Sets the `changes` present in the lock at `lock` (a value the lock does
/// not hold, or holds as other than a string, is left alone).
///
/// # Errors
///
/// Returns [`Error::Input`] when the lock is malformed or of
/// lockfileVersion 1, which npm 6 writes and trainyard does not edit.
pub(super) fn update(files: &mut Files<'_>, lock: &Path, changes: &[LockValue]) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let text = files.text(lock)?;
    let value = json::parse_checked(lock, &text)?;
    let version = value
        .get("lockfileVersion")
        .and_then(serde_json::Value::as_u64);
    if !matches!(version, Some(2 | 3)) {
        let found = version.map_or("none".to_owned(), |v| v.to_string());
        return Err(Error::input(format!(
            "{}: lockfileVersion {found} is not supported (2 or 3 is): run `npm install` with npm 7 or later to upgrade the lock",
            display_path(lock)
        )));
    }
    let mut reps: Vec<Replacement> = Vec::new();
    for change in changes {
        let current = change
            .keys
            .iter()
            .try_fold(&value, |v, k| v.get(k))
            .and_then(serde_json::Value::as_str);
        if current.is_none_or(|c| c == change.value) {
            continue;
        }
        let keys: Vec<&str> = change.keys.iter().map(String::as_str).collect();
        let span = json::find(&text, &keys).ok_or_else(|| {
            Error::Internal(format!(
                "{}: cannot locate {}",
                display_path(lock),
                keys.join(".")
            ))
        })?;
        if !reps.iter().any(|r| r.range == span) {
            reps.push(Replacement {
                range: span,
                text: string_literal(&change.value),
            });
        }
    }
    let after = splice(&text, reps)?;
    files.set(lock, after)
}
