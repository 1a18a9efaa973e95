//! `status`: where the repository stands in its release cycle, from the
//! version decision, the manifests and the calendar together.

use std::path::PathBuf;

use serde::Serialize;

use crate::Result;
use crate::history::Head;
use crate::manifest::{self, ManifestVersion};
use crate::versioning::{NextReport, NextRequest};
use crate::workspace::Workspace;

/// `status`: where the repository stands in its release cycle.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The repository root.
    pub root: PathBuf,
    /// The configuration file in use, if any.
    pub config: Option<PathBuf>,
    /// Where HEAD points.
    pub head: Head,
    /// The next version and why.
    #[serde(flatten)]
    pub next: NextReport,
    /// Unreleased commits per type (`other` for nonconforming ones).
    pub changes_by_type: Vec<(String, usize)>,
    /// The version each manifest carries.
    pub manifests: Vec<ManifestVersion>,
    /// Manifests whose version differs from the current release.
    pub disagreeing_manifests: Vec<ManifestVersion>,
    /// Today's phase and the next calendar events.
    pub calendar: crate::calendar::track::NextEvents,
}

/// Reports where the repository stands.
///
/// # Errors
///
/// As [`next`], and when a manifest is malformed.
pub fn status(ws: &Workspace) -> Result<StatusReport> {
    let head = ws.repo.head()?;
    let mut next = crate::monorepo::plan::next_of(ws, &NextRequest::default())?;
    if head.branch.is_none() {
        next.notes.push("HEAD is detached".into());
    }
    let specs = ws.manifests()?;
    let manifests = manifest::read_versions(&ws.root, &specs)?;
    let disagreeing_manifests = match &next.current {
        Some(current) => manifest::disagreements(&manifests, current)
            .into_iter()
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let mut by_type: Vec<(String, usize)> = Vec::new();
    for commit in &next.commits {
        let key = commit.kind.clone().unwrap_or_else(|| "other".into());
        match by_type.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => by_type.push((key, 1)),
        }
    }
    by_type.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let calendar = crate::calendar::track::next_given(ws, ws.today()?, &next)?;
    Ok(StatusReport {
        calendar,
        root: ws.root.clone(),
        config: ws.config_path.clone(),
        head,
        next,
        changes_by_type: by_type,
        manifests,
        disagreeing_manifests,
    })
}
