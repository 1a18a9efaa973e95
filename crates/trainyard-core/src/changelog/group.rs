//! How a release's commits are sorted into the Keep a Changelog groups,
//! and the release section that results.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::Links;
use crate::commit::Commit;
use crate::config::changelog::{Group, GroupChoice, GroupRule};
use crate::history::{RawCommit, VersionTag};
use crate::version::Version;

/// Why a commit is not in any group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// A merge commit (its changes come with the merged commits).
    Merge,
    /// Not a Conventional Commit.
    Nonconforming,
    /// Its type is not listed in the changelog (or a rule says `skip`).
    Unlisted,
    /// Reverted later in the same release.
    Reverted,
    /// Reverts a commit of the same release.
    Revert,
}

/// How commits are sorted into groups.
#[derive(Debug, Clone, Default)]
pub struct ChangelogPolicy {
    /// Configured rules, first match wins.
    pub rules: Vec<GroupRule>,
    /// List merge commits too.
    pub include_merges: bool,
}

impl ChangelogPolicy {
    /// The group a commit goes to, or why it goes nowhere.
    pub fn group_of(&self, commit: &Commit) -> Result<Group, Exclusion> {
        if commit.merge && !self.include_merges {
            return Err(Exclusion::Merge);
        }
        let Some(c) = &commit.conventional else {
            return Err(Exclusion::Nonconforming);
        };
        if c.security {
            return Ok(Group::Security);
        }
        let scope_matches = |want: &Option<String>| match (want, &c.scope) {
            (None, _) => true,
            (Some(w), Some(have)) => w.eq_ignore_ascii_case(have),
            (Some(_), None) => false,
        };
        if let Some(rule) = self.rules.iter().find(|r| {
            r.kind
                .as_deref()
                .is_none_or(|k| k.eq_ignore_ascii_case(&c.kind))
                && scope_matches(&r.scope)
        }) {
            return match rule.group {
                GroupChoice::Group(group) => Ok(group),
                GroupChoice::Skip(_) => Err(Exclusion::Unlisted),
            };
        }
        if c.footers
            .iter()
            .any(|f| f.token.eq_ignore_ascii_case("deprecated"))
        {
            return Ok(Group::Deprecated);
        }
        match c.kind.as_str() {
            "feat" => Ok(Group::Added),
            "fix" => Ok(Group::Fixed),
            "perf" | "refactor" | "revert" => Ok(Group::Changed),
            "deprecate" | "deprecated" => Ok(Group::Deprecated),
            "remove" | "removed" => Ok(Group::Removed),
            "security" => Ok(Group::Security),
            _ => Err(Exclusion::Unlisted),
        }
    }
}

/// One line of the changelog.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The commit's full id.
    pub id: String,
    /// The conventional scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The description, without a trailing `(#N)`.
    pub description: String,
    /// A breaking change: the breaking-change footer's text, or the
    /// description when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaking: Option<String>,
    /// The pull request, from `(#N)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pr_ref: Option<u64>,
    /// Issues it fixes or refers to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issue_refs: Vec<u64>,
    /// CVE ids it names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cves: Vec<String>,
    /// The text of a `Deprecated:` footer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<String>,
}

/// The entries of one group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupSection {
    /// The group.
    pub group: Group,
    /// Its entries, newest first.
    pub entries: Vec<Entry>,
}

/// A commit of a release and where it went.
#[derive(Debug, Clone, Serialize)]
pub struct CommitRecord {
    /// The full id.
    pub id: String,
    /// The first line of the message.
    pub summary: String,
    /// The group it is listed in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<Group>,
    /// Why it is listed in none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded: Option<Exclusion>,
}

/// One release's section (or the unreleased changes).
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    /// The version, or `None` for the unreleased changes.
    pub version: Option<Version>,
    /// Its tag, when it is tagged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The previous release's tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_tag: Option<String>,
    /// The release date (`YYYY-MM-DD`, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Pre-release tags folded into this release.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prereleases: Vec<String>,
    /// The compare link, when there is a repository to link to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare_url: Option<String>,
    /// Where its commits and references link to.
    #[serde(skip)]
    pub links: Option<Links>,
    /// Grouped entries, in Keep a Changelog order; empty groups left out.
    pub groups: Vec<GroupSection>,
    /// Every commit of the release, newest first.
    pub commits: Vec<CommitRecord>,
}

/// What a release section is built from.
pub struct SectionInput<'a> {
    /// The version, or `None` for unreleased changes.
    pub version: Option<Version>,
    /// The tag.
    pub tag: Option<&'a VersionTag>,
    /// The previous release's tag name.
    pub previous_tag: Option<String>,
    /// The date, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Pre-release tags folded in.
    pub prereleases: Vec<String>,
    /// The release's commits, newest first.
    pub commits: &'a [RawCommit],
}

/// Builds one release's section.
pub fn build_release(
    input: SectionInput<'_>,
    policy: &ChangelogPolicy,
    links: Option<&Links>,
) -> Release {
    let parsed: Vec<Commit> = input.commits.iter().map(RawCommit::parse).collect();
    let cancelled = revert_pairs(&parsed);
    let mut commits = Vec::with_capacity(parsed.len());
    let mut grouped: HashMap<Group, Vec<Entry>> = HashMap::new();
    for commit in &parsed {
        let placed = match cancelled.get(commit.id.as_str()) {
            Some(exclusion) => Err(*exclusion),
            None => policy.group_of(commit),
        };
        if let Ok(group) = placed {
            grouped.entry(group).or_default().push(entry(commit));
        }
        commits.push(CommitRecord {
            id: commit.id.clone(),
            summary: commit.summary.clone(),
            group: placed.ok(),
            excluded: placed.err(),
        });
    }
    let mut groups: Vec<GroupSection> = grouped
        .into_iter()
        .map(|(group, entries)| GroupSection { group, entries })
        .collect();
    groups.sort_by_key(|g| g.group);
    let tag_name = input.tag.map(|t| t.name.clone());
    let compare_url = links.map(|l| l.compare(input.previous_tag.as_deref(), tag_name.as_deref()));
    Release {
        version: input.version,
        tag: tag_name,
        previous_tag: input.previous_tag,
        date: input.date,
        prereleases: input.prereleases,
        compare_url,
        links: links.cloned(),
        groups,
        commits,
    }
}

fn entry(commit: &Commit) -> Entry {
    let c = commit.conventional.as_ref();
    let description = c.map_or(commit.summary.as_str(), |c| c.description.as_str());
    let description = crate::commit::strip_pr_ref(description).to_owned();
    let breaking = c.filter(|c| c.breaking).map(|c| {
        c.breaking_description
            .clone()
            .unwrap_or_else(|| description.clone())
    });
    Entry {
        id: commit.id.clone(),
        scope: c.and_then(|c| c.scope.clone()),
        description,
        breaking,
        pr_ref: commit.pr_ref,
        issue_refs: commit.issue_refs.clone(),
        cves: c.map(|c| c.cves.clone()).unwrap_or_default(),
        deprecated: c.and_then(|c| {
            c.footers
                .iter()
                .find(|f| f.token.eq_ignore_ascii_case("deprecated"))
                .map(|f| f.value.clone())
        }),
    }
}

/// Commits that cancel out: a revert and the commit it reverts, both in
/// the same release (`commits` newest first). A revert of a revert cancels
/// with the revert it reverts, which then cancels nothing more: the change
/// first reverted is back, so it stays.
pub(crate) fn revert_pairs(commits: &[Commit]) -> HashMap<&str, Exclusion> {
    let ids: HashSet<&str> = commits.iter().map(|c| c.id.as_str()).collect();
    let mut cancelled = HashMap::new();
    for commit in commits {
        let Some(target) = &commit.reverts else {
            continue;
        };
        if cancelled.contains_key(commit.id.as_str()) {
            continue;
        }
        let reverted = ids
            .iter()
            .find(|id| id.starts_with(target.as_str()))
            .copied();
        if let Some(reverted) = reverted
            && !cancelled.contains_key(reverted)
        {
            cancelled.insert(reverted, Exclusion::Reverted);
            cancelled.insert(commit.id.as_str(), Exclusion::Revert);
        }
    }
    cancelled
}
