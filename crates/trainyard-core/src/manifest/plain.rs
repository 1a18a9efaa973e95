//! Plain files: a `VERSION` file (its whole trimmed content) and any file
//! with a regular expression.

use std::path::Path;

use regex::Regex;

use super::text::{Replacement, line_of, splice};
use super::{Files, ManifestKind, ManifestVersion, RegexManifest, display_path};
use crate::{Error, Result};

/// The version in a version file: the byte range of its trimmed content.
fn version_range(text: &str) -> Option<std::ops::Range<usize>> {
    let start = text.len() - text.trim_start().len();
    let end = text.trim_end().len();
    (start < end).then_some(start..end)
}

pub(super) fn read_version_file(
    files: &mut Files<'_>,
    path: &Path,
) -> Result<Vec<ManifestVersion>> {
    let text = files.text(path)?;
    let range = version_range(&text);
    Ok(vec![ManifestVersion {
        path: path.to_path_buf(),
        kind: ManifestKind::VersionFile,
        key: "version".to_owned(),
        version: range.clone().map(|r| text[r].to_owned()),
        inherited: false,
        reason: range.is_none().then(|| "the file is empty".to_owned()),
    }])
}

pub(super) fn plan_version_file(files: &mut Files<'_>, path: &Path, new: &str) -> Result<()> {
    let text = files.text(path)?;
    let Some(range) = version_range(&text) else {
        return Err(Error::input(format!(
            "{}: the file is empty, no version to replace",
            display_path(path)
        )));
    };
    let after = splice(
        &text,
        vec![Replacement {
            range,
            text: new.to_owned(),
        }],
    )?;
    files.set(path, after)
}

/// The compiled pattern and the group that holds the version.
pub(super) struct Compiled {
    regex: Regex,
    group: Group,
}

enum Group {
    Named,
    First,
}

impl Compiled {
    fn version<'t>(&self, caps: &regex::Captures<'t>) -> Option<regex::Match<'t>> {
        match self.group {
            Group::Named => caps.name("version"),
            Group::First => caps.get(1),
        }
    }
}

/// Compiles a regex manifest's pattern and finds its version group.
pub(super) fn compile(spec: &RegexManifest) -> Result<Compiled> {
    compile_pattern(&spec.pattern)
        .map_err(|e| Error::input(format!("{}: {e}", display_path(&spec.path))))
}

/// Compiles a pattern and finds its version group; the error says what is
/// wrong with the pattern alone.
pub(super) fn compile_pattern(pattern: &str) -> std::result::Result<Compiled, String> {
    let regex = Regex::new(pattern).map_err(|e| {
        // The regex crate's message draws a caret diagram over several
        // lines; its last line says what is wrong.
        let text = e.to_string();
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let reason = last.trim().trim_start_matches("error: ");
        format!("invalid pattern {pattern:?}: {reason}")
    })?;
    let group = if regex.capture_names().any(|n| n == Some("version")) {
        Group::Named
    } else if regex.captures_len() == 2 {
        Group::First
    } else {
        return Err(format!(
            "pattern {pattern:?} must have exactly one capture group or a group named \"version\""
        ));
    };
    Ok(Compiled { regex, group })
}

pub(super) fn read_regex(
    files: &mut Files<'_>,
    path: &Path,
    spec: &RegexManifest,
) -> Result<Vec<ManifestVersion>> {
    let compiled = compile(spec)?;
    let text = files.text(path)?;
    let entry = |key: String, version: Option<String>, reason: Option<String>| ManifestVersion {
        path: path.to_path_buf(),
        kind: ManifestKind::Regex,
        key,
        version,
        inherited: false,
        reason,
    };
    let found: Vec<ManifestVersion> = compiled
        .regex
        .captures_iter(&text)
        .filter_map(|caps| compiled.version(&caps))
        .map(|m| {
            entry(
                format!("line {}", line_of(&text, m.start())),
                Some(m.as_str().to_owned()),
                None,
            )
        })
        .collect();
    if found.is_empty() {
        return Ok(vec![entry(
            "pattern".to_owned(),
            None,
            Some(format!("pattern {:?} matches nothing", spec.pattern)),
        )]);
    }
    Ok(found)
}

pub(super) fn plan_regex(
    files: &mut Files<'_>,
    path: &Path,
    spec: &RegexManifest,
    new: &str,
) -> Result<()> {
    let compiled = compile(spec)?;
    let text = files.text(path)?;
    let reps: Vec<Replacement> = compiled
        .regex
        .captures_iter(&text)
        .filter_map(|caps| compiled.version(&caps))
        .map(|m| Replacement {
            range: m.range(),
            text: new.to_owned(),
        })
        .collect();
    if reps.is_empty() {
        return Err(Error::input(format!(
            "{}: pattern {:?} matches nothing",
            display_path(path),
            spec.pattern
        )));
    }
    let after = splice(&text, reps)?;
    files.set(path, after)
}
