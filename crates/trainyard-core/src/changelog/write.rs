//! `changelog --write` and `--check`: generated sections put into the
//! changelog file, and whether it has a release's section.

use std::path::PathBuf;

use serde::Serialize;

use super::file::{self, SectionKey, SectionUpdate};
use super::{ChangelogReport, render_release};
use crate::version::Version;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// What `changelog --write` did to the file.
#[derive(Debug, Clone, Serialize)]
pub struct WriteOutcome {
    /// The changelog file.
    pub path: PathBuf,
    /// Whether its content changed.
    pub changed: bool,
    /// The sections written (`unreleased` or versions).
    pub sections: Vec<String>,
    /// The unified diff of the change (empty when nothing changed).
    pub diff: String,
}

/// Computes the new CHANGELOG.md for a report: only the sections the
/// report owns are rewritten; every other byte is kept. Writes nothing.
///
/// When a report's only release is an untagged version (the release
/// being made), the `Unreleased` section is emptied at the same time and
/// its link starts from the release's future tag.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the file has duplicate sections, and an
/// [`Error::Io`] when it cannot be read.
pub fn plan_write(ws: &Workspace, report: &ChangelogReport) -> Result<(WriteOutcome, String)> {
    let path = ws.root.join(&ws.config.changelog.path);
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("cannot read", &path, e)),
    };
    let mut updates: Vec<SectionUpdate> = report
        .releases
        .iter()
        .map(|release| SectionUpdate {
            key: match &release.version {
                Some(v) => SectionKey::Version(v.to_string()),
                None => SectionKey::Unreleased,
            },
            markdown: render_release(release),
            link: release.compare_url.clone(),
        })
        .collect();
    let releasing_untagged =
        matches!(report.releases.as_slice(), [r] if r.version.is_some() && r.tag.is_none());
    if releasing_untagged {
        let tag = report.releases[0].version.as_ref().map(|v| ws.tag_name(v));
        let url = report.releases[0]
            .links
            .as_ref()
            .map(|l| l.compare(tag.as_deref(), None));
        updates.push(SectionUpdate {
            key: SectionKey::Unreleased,
            markdown: "## [Unreleased]\n\n".into(),
            link: url,
        });
    }
    let name = ws.config.changelog.path.display().to_string();
    let updated = file::update(existing.as_deref(), &updates, &name)?;
    let before = existing.unwrap_or_default();
    let diff = if before == updated {
        String::new()
    } else {
        similar::TextDiff::from_lines(before.as_str(), updated.as_str())
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string()
    };
    let outcome = WriteOutcome {
        path,
        changed: !diff.is_empty(),
        sections: updates
            .iter()
            .map(|u| match &u.key {
                SectionKey::Unreleased => "unreleased".to_owned(),
                SectionKey::Version(v) => v.clone(),
            })
            .collect(),
        diff,
    };
    Ok((outcome, updated))
}

/// Writes what [`plan_write`] computed.
///
/// # Errors
///
/// Returns an [`Error::Io`] when the file cannot be written.
pub fn apply_write(outcome: &WriteOutcome, text: &str) -> Result<()> {
    if outcome.changed {
        crate::fsutil::write_atomic(&outcome.path, text.as_bytes())?;
    }
    Ok(())
}

/// Whether the changelog file has a section for `version`
/// (`changelog --check`, checklist item RL-03).
///
/// # Errors
///
/// Returns an [`Error::Io`] when the file exists but cannot be read.
pub fn has_section(ws: &Workspace, version: &Version) -> Result<bool> {
    let path = ws.root.join(&ws.config.changelog.path);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(file::has_section(&text, &version.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("cannot read", &path, e)),
    }
}
