//! The changelog: each release's commits grouped the Keep a Changelog
//! 1.1.0 way (Added, Changed, Deprecated, Removed, Fixed, Security), and
//! rendered as markdown.
//!
//! Every commit of a release appears exactly once in the report, with the
//! group it went to or the reason it was left out (a merge, not
//! conventional, a type the changelog does not list, or a revert pair that
//! cancels out within the release).

pub mod file;
mod group;
mod links;
mod render;
mod write;

#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::history::{RawCommit, TagScan, VersionTag};
use crate::releases;
use crate::version::{self, Version};
use crate::workspace::Workspace;
use crate::{Error, Result};

pub use crate::config::changelog::{Group, GroupChoice, GroupRule, Skip};
pub(crate) use group::revert_pairs;
pub use group::{
    ChangelogPolicy, CommitRecord, Entry, Exclusion, GroupSection, Release, SectionInput,
    build_release,
};
pub use links::Links;
pub use render::{link_label, render_document, render_release};
pub use write::{WriteOutcome, apply_write, has_section, plan_write};

/// The date of a Unix timestamp, `YYYY-MM-DD` in UTC.
pub fn utc_date(seconds: i64) -> Option<String> {
    jiff::Timestamp::from_second(seconds)
        .ok()
        .map(|t| t.strftime("%Y-%m-%d").to_string())
}

/// Which part of the history a changelog covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The unreleased changes.
    Unreleased,
    /// One release; when it is not tagged yet, the unreleased changes
    /// become that release, and its compare link ends at the tag it will
    /// have (`versioning.tag_prefix` and the version).
    Version(Version),
    /// Every release, newest first, and the unreleased changes.
    All,
}

/// `changelog`: what to generate.
#[derive(Debug, Clone)]
pub struct ChangelogRequest {
    /// Which releases.
    pub scope: Scope,
    /// Give pre-releases sections of their own instead of folding them
    /// into their release.
    pub include_prereleases: bool,
}

/// The changelog: releases newest first.
#[derive(Debug, Clone, Serialize)]
pub struct ChangelogReport {
    /// The releases, newest first (the unreleased changes, when included,
    /// come first).
    pub releases: Vec<Release>,
}

impl Workspace {
    fn changelog_policy(&self) -> ChangelogPolicy {
        ChangelogPolicy {
            rules: self.config.changelog.groups.clone(),
            include_merges: self.config.versioning.include_merges,
        }
    }
}

/// Refuses a section for an untagged version that is neither the
/// release under way nor the next version: its heading would put the
/// unreleased commits under a release that will never have them.
fn refuse_unknown(ws: &Workspace, version: &Version, tags: &TagScan) -> Result<()> {
    let release = crate::version::release_of(version);
    let ledger = crate::ledger::Ledger::read_with(ws, tags)?;
    if ledger.in_progress().is_some_and(|e| e.version == release) {
        return Ok(());
    }
    let next = crate::versioning::next(ws, &crate::versioning::NextRequest::default())?;
    // The next version; any first one (a project picks where it starts);
    // or the version `version bump --set` wrote into the manifests.
    if next.next.as_ref() == Some(version) || next.latest.is_none() {
        return Ok(());
    }
    let specs = ws.manifests().unwrap_or_default();
    let carried = crate::manifest::read_versions(&ws.root, &specs).unwrap_or_default();
    let newer = |v: &Version| {
        next.latest
            .as_ref()
            .is_some_and(|l| v.cmp_precedence(l).is_gt())
    };
    if carried.iter().any(|m| {
        m.version
            .as_deref()
            .and_then(|t| crate::version::parse(t.trim()).ok())
            .is_some_and(|v| crate::version::release_of(&v) == release && newer(&release))
    }) {
        return Ok(());
    }
    let expected = match &next.next {
        Some(next) => format!("the next version is {next}"),
        None => "nothing is unreleased".to_owned(),
    };
    Err(Error::input(format!(
        "no release {version}: tag {} does not exist, no release of it is under way, and {expected}; `trainyard changelog --all` lists the releases",
        ws.tag_name(version)
    )))
}

/// Generates the changelog a request asks for.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a repository without commits, and an
/// [`Error::Environment`] when the history cannot be read.
pub fn generate(ws: &Workspace, request: &ChangelogRequest) -> Result<ChangelogReport> {
    ws.repo.head()?;
    let tip = ws.repo.resolve("HEAD")?;
    let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    let policy = ws.changelog_policy();
    let links = ws.links();
    let url = links.as_ref();
    let folded = |t: &VersionTag| request.include_prereleases || version::is_stable(&t.version);
    let previous_of = |v: &Version| {
        tags.versions
            .iter()
            .filter(|t| folded(t) && t.version.cmp_precedence(v).is_lt())
            .max_by(|a, b| a.version.cmp_precedence(&b.version))
            .map(|t| t.name.clone())
    };
    let unreleased_section = |version: Option<Version>, commits: &[RawCommit]| {
        let date = version.as_ref().map(|_| ws.today_utc());
        let previous_tag = match &version {
            Some(v) => previous_of(v),
            None => tags
                .versions
                .iter()
                .filter(|t| folded(t))
                .max_by(|a, b| a.version.cmp_precedence(&b.version))
                .map(|t| t.name.clone()),
        };
        // A version not tagged yet is the release being made: its link
        // ends at the tag it will have, as it will once that tag exists.
        let future_tag = version.as_ref().map(|v| ws.tag_name(v));
        let mut release = build_release(
            SectionInput {
                version,
                tag: None,
                previous_tag,
                date,
                prereleases: Vec::new(),
                commits,
            },
            &policy,
            url,
        );
        if let (Some(links), Some(tag)) = (url, &future_tag) {
            release.compare_url = Some(links.compare(release.previous_tag.as_deref(), Some(tag)));
        }
        release
    };
    let releases = match &request.scope {
        Scope::Unreleased => {
            let state = releases::unreleased(&ws.repo, tip, &tags)?;
            vec![unreleased_section(None, &ws.own_commits(state.commits)?)]
        }
        Scope::Version(v) => match tags.versions.iter().find(|t| t.version == *v) {
            Some(tag) => {
                let mut range =
                    releases::range_of(&ws.repo, tag, &tags, request.include_prereleases)?;
                range.commits = ws.own_commits(range.commits)?;
                vec![tagged_section(
                    &range,
                    previous_of(&tag.version),
                    &policy,
                    url,
                )]
            }
            None => {
                refuse_unknown(ws, v, &tags)?;
                let state = releases::unreleased(&ws.repo, tip, &tags)?;
                vec![unreleased_section(
                    Some(v.clone()),
                    &ws.own_commits(state.commits)?,
                )]
            }
        },
        Scope::All => {
            let history = ws.own_history(releases::release_history(
                &ws.repo,
                tip,
                &tags,
                request.include_prereleases,
            )?)?;
            let previous: Vec<Option<String>> = std::iter::once(None)
                .chain(history.releases.iter().map(|r| Some(r.tag.name.clone())))
                .collect();
            let indexed: Vec<(usize, &releases::ReleaseRange)> =
                history.releases.iter().enumerate().collect();
            let mut sections = crate::parallel::map(&indexed, |(i, range)| {
                tagged_section(range, previous[*i].clone(), &policy, url)
            });
            sections.reverse();
            let mut all = vec![unreleased_section(None, &history.unreleased)];
            all.append(&mut sections);
            all
        }
    };
    Ok(ChangelogReport { releases })
}

fn tagged_section(
    range: &releases::ReleaseRange,
    previous_tag: Option<String>,
    policy: &ChangelogPolicy,
    url: Option<&Links>,
) -> Release {
    // The tag's own commit comes first in its range (newest first).
    let date = range.tag_time.and_then(utc_date);
    build_release(
        SectionInput {
            version: Some(range.tag.version.clone()),
            tag: Some(&range.tag),
            previous_tag,
            date,
            prereleases: range.prereleases.iter().map(|t| t.name.clone()).collect(),
            commits: &range.commits,
        },
        policy,
        url,
    )
}
