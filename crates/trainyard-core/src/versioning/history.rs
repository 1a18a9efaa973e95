//! `version history`: every release's bump, decided from its own
//! commits and checked against its tag.

use serde::Serialize;

use crate::Result;
use crate::config::BumpPolicy;
use crate::history::TagScan;
use crate::releases;
use crate::version::{self, Bump, Version};
use crate::workspace::Workspace;

/// One release in `version history`.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseEntry {
    /// Its tag.
    pub tag: String,
    /// Its version.
    pub version: Version,
    /// The previous release's tag, if any.
    pub previous: Option<String>,
    /// The bump its commits call for against the previous release
    /// (`initial` for the first release).
    pub bump: String,
    /// The version that bump gives; for the first release, its own
    /// version.
    pub expected: Version,
    /// Whether the tag is that version. Always true for the first
    /// release: with nothing to bump from, whatever version it has is
    /// where the project started (`versioning.initial_version` only says
    /// what the first release is when there is no tag yet).
    pub matches: bool,
    /// How many commits it brought.
    pub commits: usize,
    /// How many of them are not Conventional Commits.
    pub nonconforming: usize,
    /// Whether it carries a security fix.
    pub urgent: bool,
}

/// `version history`: every release's bump, checked against its tag.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryReport {
    /// The commit the history was read from.
    pub revision: String,
    /// Releases, oldest first.
    pub releases: Vec<ReleaseEntry>,
    /// Commits classified.
    pub commits: usize,
    /// Commits not in any release yet.
    pub unreleased: usize,
    /// Releases whose version is not what their commits call for.
    pub mismatches: usize,
}

/// Reads the whole history and decides every release's bump.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a bad revision and an
/// [`Error::Environment`] when the history cannot be read.
pub fn history(ws: &Workspace, rev: Option<&str>) -> Result<HistoryReport> {
    let tip = ws.repo.resolve(rev.unwrap_or("HEAD"))?;
    let tags: TagScan = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    let history = ws.own_history(releases::release_history(&ws.repo, tip, &tags, false)?)?;
    let policy = ws.policy();
    let classified = classify_ranges(&history.releases, &policy);
    let ranges = history
        .releases
        .iter()
        .zip(classified)
        .map(|(range, summary)| (&range.tag, range.commits.len(), summary))
        .collect::<Vec<_>>();
    Ok(history_report(
        tip.to_string(),
        &policy,
        &ranges,
        history.unreleased.len(),
    ))
}

/// The history report of releases (oldest first) with their commit
/// counts and what their commits add up to.
pub fn history_report(
    revision: String,
    policy: &BumpPolicy,
    ranges: &[(&crate::history::VersionTag, usize, RangeSummary)],
    unreleased: usize,
) -> HistoryReport {
    let mut releases = Vec::with_capacity(ranges.len());
    let mut previous: Option<&Version> = None;
    let mut previous_tag: Option<String> = None;
    let mut total = unreleased;
    for (tag, commits, summary) in ranges {
        total += commits;
        let strongest = summary.strongest;
        let (bump, expected) = match previous {
            None => ("initial".to_owned(), version::release_of(&tag.version)),
            Some(prev) => {
                let bump = policy.effective(Some(prev), strongest).max(summary.raised);
                (bump.as_str().to_owned(), version::bumped(prev, bump))
            }
        };
        releases.push(ReleaseEntry {
            tag: tag.name.clone(),
            version: tag.version.clone(),
            previous: previous_tag.clone(),
            matches: version::release_of(&tag.version) == expected,
            bump,
            expected,
            commits: *commits,
            nonconforming: summary.nonconforming,
            urgent: summary.urgent,
        });
        previous = Some(&tag.version);
        previous_tag = Some(tag.name.clone());
    }
    let mismatches = releases.iter().filter(|r| !r.matches).count();
    HistoryReport {
        revision,
        releases,
        commits: total,
        unreleased,
        mismatches,
    }
}

/// What a release's commits add up to.
#[derive(Debug, Clone, Copy, Default)]
pub struct RangeSummary {
    /// The strongest bump among them.
    pub strongest: Bump,
    /// How many are not Conventional Commits.
    pub nonconforming: usize,
    /// Whether one is a security fix.
    pub urgent: bool,
    /// A bump the release gets whatever its commits: what a dependency's
    /// release passes on.
    pub raised: Bump,
}

impl RangeSummary {
    /// Adds one commit.
    pub fn add(&mut self, commit: &crate::commit::Commit, policy: &BumpPolicy) {
        self.strongest = self.strongest.max(policy.classify(commit).bump);
        self.nonconforming += usize::from(commit.conventional.is_none());
        self.urgent |= commit.conventional.as_ref().is_some_and(|c| c.security);
    }
}

/// Classifies the commits of every release, on all cores.
fn classify_ranges(ranges: &[releases::ReleaseRange], policy: &BumpPolicy) -> Vec<RangeSummary> {
    crate::parallel::map(ranges, |range| {
        let mut summary = RangeSummary::default();
        for raw in &range.commits {
            summary.add(&raw.parse(), policy);
        }
        summary
    })
}
