//! `pnpm-lock.yaml` kept in step with a bump: the `specifier` of each
//! importer's dependency whose range was rewritten in its `package.json`.
//!
//! pnpm records no version for a workspace package (its dependents link
//! to it, `version: link:../a`), so a bump changes nothing else. The file
//! is not re-serialized: each scalar is replaced in place, found by a
//! scanner of block mappings, and the result is parsed back to check it.

use std::ops::Range;
use std::path::Path;

use super::text::{Replacement, splice};
use super::{Files, display_path};
use crate::{Error, Result};

/// One specifier to set: importer `importer` (`.` for the root, else a
/// directory relative to the lock), dependency `kind.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Specifier {
    pub importer: String,
    pub kind: String,
    pub name: String,
    pub value: String,
}

/// Sets the `changes` whose dependency the lock lists (in the form of
/// lockfile 6 and 9, `name: {specifier, version}`, or of lockfile 5,
/// `specifiers: {name: ...}`); others are left alone.
///
/// # Errors
///
/// Returns [`Error::Input`] when the lock is malformed, and
/// [`Error::Internal`] when a listed specifier is not in a block mapping
/// the scanner can edit.
pub(super) fn update(files: &mut Files<'_>, lock: &Path, changes: &[Specifier]) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let text = files.text(lock)?;
    let value: serde_json::Value = crate::yaml::parse(&text, lock)?;
    let mut reps = Vec::new();
    let mut wanted = Vec::new();
    for change in changes {
        let Some(importer) = value.get("importers").and_then(|i| i.get(&change.importer)) else {
            continue;
        };
        let entry = importer.get(&change.kind).and_then(|k| k.get(&change.name));
        let keys: Vec<&str> = match entry {
            Some(e) if e.get("specifier").is_some() => vec![
                "importers",
                &change.importer,
                &change.kind,
                &change.name,
                "specifier",
            ],
            Some(_) if importer.get("specifiers").is_some() => {
                vec!["importers", &change.importer, "specifiers", &change.name]
            }
            _ => continue,
        };
        let span = find_scalar(&text, &keys).ok_or_else(|| {
            Error::Internal(format!(
                "{}: cannot edit {} in place",
                display_path(lock),
                keys.join(".")
            ))
        })?;
        reps.push(Replacement {
            text: scalar(&change.value, &text[span.clone()]),
            range: span,
        });
        wanted.push((
            keys.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>(),
            change,
        ));
    }
    let after = splice(&text, reps)?;
    let check: serde_json::Value = crate::yaml::parse(&after, lock)?;
    for (keys, change) in wanted {
        let found = keys.iter().try_fold(&check, |v, k| v.get(k));
        if found.and_then(serde_json::Value::as_str) != Some(change.value.as_str()) {
            return Err(Error::Internal(format!(
                "{}: {} not set by the edit",
                display_path(lock),
                keys.join(".")
            )));
        }
    }
    files.set(lock, after)
}

/// A line's indentation and content, without a trailing `\r`.
fn lines(text: &str) -> Vec<(usize, &str, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let indent = content.len() - content.trim_start_matches(' ').len();
        out.push((at, content, indent));
        at += line.len();
    }
    out
}

/// The key of a block mapping line (unquoted) and the byte offset, in the
/// line, just past its `:`.
fn line_key(content: &str) -> Option<(String, usize)> {
    let body = content.trim_start();
    let lead = content.len() - body.len();
    let (key, rest_at) = match body.chars().next()? {
        q @ ('\'' | '"') => {
            let close = body[1..].find(q)? + 1;
            (body[1..close].to_owned(), close + 1)
        }
        _ => {
            let colon = body
                .find(": ")
                .or_else(|| body.strip_suffix(':').map(str::len))?;
            (body[..colon].to_owned(), colon)
        }
    };
    body[rest_at..]
        .starts_with(':')
        .then_some((key, lead + rest_at + 1))
}

/// The span of the scalar value at `keys` in block mappings.
fn find_scalar(text: &str, keys: &[&str]) -> Option<Range<usize>> {
    let all = lines(text);
    let (mut from, mut to, mut parent) = (0, all.len(), None::<usize>);
    for (depth, key) in keys.iter().enumerate() {
        let children: Vec<usize> = (from..to)
            .filter(|&i| {
                let (_, content, indent) = all[i];
                let body = content.trim_start();
                !body.is_empty() && !body.starts_with('#') && parent.is_none_or(|p| indent > p)
            })
            .collect();
        let child_indent = all[*children.first()?].2;
        let found = children
            .into_iter()
            .filter(|&i| all[i].2 == child_indent)
            .find(|&i| line_key(all[i].1).is_some_and(|(k, _)| k == *key))?;
        let (start, content, indent) = all[found];
        if depth + 1 == keys.len() {
            let (_, after) = line_key(content)?;
            let rest = &content[after..];
            let value = rest.trim_start();
            let value = match value.find(" #") {
                Some(i) => &value[..i],
                None => value,
            }
            .trim_end();
            if value.is_empty() {
                return None;
            }
            let begin = start + after + (rest.len() - rest.trim_start().len());
            return Some(begin..begin + value.len());
        }
        from = found + 1;
        to = (from..all.len())
            .find(|&i| {
                let body = all[i].1.trim_start();
                !body.is_empty() && !body.starts_with('#') && all[i].2 <= indent
            })
            .unwrap_or(all.len());
        parent = Some(indent);
    }
    None
}

/// `value` as a YAML scalar, quoted as `old` is, or single-quoted when a
/// plain scalar would not read back as the same string.
fn scalar(value: &str, old: &str) -> String {
    let single = || format!("'{}'", value.replace('\'', "''"));
    if old.starts_with('\'') {
        return single();
    }
    if old.starts_with('"') {
        return serde_json::Value::String(value.to_owned()).to_string();
    }
    let plain = !value.is_empty()
        && !value.starts_with([
            '!', '&', '*', '|', '>', '\'', '"', '%', '@', '`', '{', '[', ',', '#', '?', ':', '-',
            ' ',
        ])
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.ends_with([' ', ':']);
    if plain { value.to_owned() } else { single() }
}
