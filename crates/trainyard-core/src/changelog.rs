//! The changelog: each release's commits grouped the Keep a Changelog
//! 1.1.0 way (Added, Changed, Deprecated, Removed, Fixed, Security), and
//! rendered as markdown.
//!
//! Every commit of a release appears exactly once in the report, with the
//! group it went to or the reason it was left out (a merge, not
//! conventional, a type the changelog does not list, or a revert pair that
//! cancels out within the release).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use serde::Serialize;

use std::path::PathBuf;

use crate::changelog_file::{self, SectionKey, SectionUpdate};
use crate::commit::Commit;
pub use crate::config::changelog::{Group, GroupChoice, GroupRule, Skip};
use crate::history::{RawCommit, TagScan, VersionTag};
use crate::releases;
use crate::version::{self, Version};
use crate::workspace::Workspace;
use crate::{Error, Result};

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
    /// The compare link, when a repository URL is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare_url: Option<String>,
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
    repository_url: Option<&str>,
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
    let compare_url = repository_url
        .map(|url| compare_link(url, input.previous_tag.as_deref(), tag_name.as_deref()));
    Release {
        version: input.version,
        tag: tag_name,
        previous_tag: input.previous_tag,
        date: input.date,
        prereleases: input.prereleases,
        compare_url,
        groups,
        commits,
    }
}

/// The link of a release's section: the changes from the previous
/// release's tag to `tag` (to `HEAD` for changes not tagged yet), or the
/// tag's own page for a first release.
fn compare_link(url: &str, previous_tag: Option<&str>, tag: Option<&str>) -> String {
    let url = url.trim_end_matches('/');
    let head = tag.unwrap_or("HEAD");
    match previous_tag {
        Some(previous) => format!("{url}/compare/{previous}...{head}"),
        None if tag.is_some() => format!("{url}/releases/tag/{head}"),
        None => format!("{url}/commits/HEAD"),
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

/// The markdown of one release section, ending with a blank line.
pub fn render_release(release: &Release) -> String {
    let mut out = String::new();
    match (&release.version, &release.date) {
        (Some(version), Some(date)) => {
            let _ = writeln!(out, "## [{version}] - {date}");
        }
        (Some(version), None) => {
            let _ = writeln!(out, "## [{version}]");
        }
        (None, _) => out.push_str("## [Unreleased]\n"),
    }
    out.push('\n');
    for section in &release.groups {
        let _ = writeln!(out, "### {}\n", section.group.title());
        for entry in &section.entries {
            render_entry(&mut out, entry);
        }
        out.push('\n');
    }
    out
}

fn render_entry(out: &mut String, entry: &Entry) {
    out.push_str("- ");
    if entry.breaking.is_some() {
        out.push_str("**BREAKING** ");
    }
    if let Some(scope) = &entry.scope {
        let _ = write!(out, "**{scope}:** ");
    }
    out.push_str(&list_item_text(&entry.description, 2));
    let mut refs: Vec<String> = Vec::new();
    if let Some(pr) = entry.pr_ref {
        refs.push(format!("#{pr}"));
    }
    refs.extend(
        entry
            .issue_refs
            .iter()
            .filter(|n| Some(**n) != entry.pr_ref)
            .map(|n| format!("fixes #{n}")),
    );
    refs.extend(entry.cves.iter().cloned());
    if !refs.is_empty() {
        let _ = write!(out, " ({})", refs.join(", "));
    }
    out.push('\n');
    if let Some(breaking) = &entry.breaking
        && breaking != &entry.description
    {
        let _ = writeln!(out, "  - {}", list_item_text(breaking, 4));
    }
    if let Some(deprecated) = &entry.deprecated {
        let _ = writeln!(out, "  - {}", list_item_text(deprecated, 4));
    }
}

/// Text for a Markdown list item whose content starts `width` columns in:
/// every line after the first is indented by `width` spaces, so that it
/// stays in the item (and, indented that far, is never read as a heading,
/// fence or link definition of the changelog itself). A run of blank lines
/// becomes one empty line, which does not end the item when indented text
/// follows; blank lines at either end and trailing whitespace are dropped.
pub(crate) fn list_item_text(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut after_blank = false;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            after_blank = true;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if after_blank {
                out.push('\n');
            }
            out.extend(std::iter::repeat_n(' ', width));
        }
        after_blank = false;
        out.push_str(line);
    }
    out
}

/// The label of a release's link-reference definition: `unreleased` or
/// the version.
pub fn link_label(release: &Release) -> String {
    match &release.version {
        Some(v) => v.to_string(),
        None => "unreleased".into(),
    }
}

/// A whole changelog document: the Keep a Changelog header, the sections
/// (newest first) and their compare links.
pub fn render_document(releases: &[Release]) -> String {
    let mut out = String::from(changelog_file::HEADER);
    for release in releases {
        out.push_str(&render_release(release));
    }
    let links: Vec<String> = releases
        .iter()
        .filter_map(|r| {
            r.compare_url
                .as_ref()
                .map(|url| format!("[{}]: {url}", link_label(r)))
        })
        .collect();
    if !links.is_empty() {
        out.push_str(&links.join("\n"));
        out.push('\n');
    }
    out
}

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
    let url = ws.config.changelog.repository_url.as_deref();
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
        if let (Some(url), Some(tag)) = (url, &future_tag) {
            release.compare_url = Some(compare_link(
                url,
                release.previous_tag.as_deref(),
                Some(tag),
            ));
        }
        release
    };
    let releases = match &request.scope {
        Scope::Unreleased => {
            let state = releases::unreleased(&ws.repo, tip, &tags)?;
            vec![unreleased_section(None, &state.commits)]
        }
        Scope::Version(v) => match tags.versions.iter().find(|t| t.version == *v) {
            Some(tag) => {
                let range = releases::range_of(&ws.repo, tag, &tags, request.include_prereleases)?;
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
                vec![unreleased_section(Some(v.clone()), &state.commits)]
            }
        },
        Scope::All => {
            let history =
                releases::release_history(&ws.repo, tip, &tags, request.include_prereleases)?;
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
    url: Option<&str>,
) -> Release {
    // The tag's own commit comes first in its range (newest first).
    let date = range
        .commits
        .iter()
        .find(|c| c.id == range.tag.id)
        .and_then(|c| utc_date(c.time));
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
        let url = ws
            .config
            .changelog
            .repository_url
            .as_deref()
            .map(|u| compare_link(u, tag.as_deref(), None));
        updates.push(SectionUpdate {
            key: SectionKey::Unreleased,
            markdown: "## [Unreleased]\n\n".into(),
            link: url,
        });
    }
    let name = ws.config.changelog.path.display().to_string();
    let updated = changelog_file::update(existing.as_deref(), &updates, &name)?;
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
        Ok(text) => Ok(changelog_file::has_section(&text, &version.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("cannot read", &path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(id: &str, message: &str) -> RawCommit {
        RawCommit {
            id: gix::ObjectId::from_hex(id.as_bytes()).expect("hex id"),
            parents: vec![gix::ObjectId::null(gix::hash::Kind::Sha1)],
            message: message.into(),
            author_name: "A".into(),
            author_email: "a@example.org".into(),
            time: 0,
        }
    }

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccc";
    const D: &str = "dddddddddddddddddddddddddddddddddddddddd";
    const E: &str = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    const F: &str = "ffffffffffffffffffffffffffffffffffffffff";

    #[test]
    fn groups_in_keep_a_changelog_order_with_reverts_cancelled() {
        let commits = vec![
            raw(
                A,
                "Revert \"feat: flaky thing\"\n\nThis reverts commit cccccccccccccccccccccccccccccccccccccccc.",
            ),
            raw(B, "fix(parser): empty input (#12)\n\nFixes #9"),
            raw(C, "feat: flaky thing"),
            raw(D, "feat(api)!: drop v1\n\nBREAKING CHANGE: use /v2 instead"),
            raw(E, "fix: patch CVE-2026-0001"),
            raw(F, "chore: tidy"),
        ];
        let release = build_release(
            SectionInput {
                version: Some(crate::version::parse("2.0.0").expect("version")),
                tag: None,
                previous_tag: Some("v1.4.0".into()),
                date: Some("2027-01-15".into()),
                prereleases: Vec::new(),
                commits: &commits,
            },
            &ChangelogPolicy::default(),
            Some("https://example.org/o/r"),
        );
        insta::assert_snapshot!(render_release(&release), @r"
        ## [2.0.0] - 2027-01-15

        ### Added

        - **BREAKING** **api:** drop v1
          - use /v2 instead

        ### Fixed

        - **parser:** empty input (#12, fixes #9)

        ### Security

        - patch CVE-2026-0001 (CVE-2026-0001)

        ");
        let excluded: Vec<_> = release.commits.iter().map(|c| c.excluded).collect();
        assert_eq!(
            excluded,
            vec![
                Some(Exclusion::Revert),
                None,
                Some(Exclusion::Reverted),
                None,
                None,
                Some(Exclusion::Unlisted)
            ]
        );
        assert_eq!(
            release.compare_url.as_deref(),
            Some("https://example.org/o/r/compare/v1.4.0...HEAD")
        );
    }

    fn release_of(commits: &[RawCommit]) -> Release {
        build_release(
            SectionInput {
                version: None,
                tag: None,
                previous_tag: None,
                date: None,
                prereleases: Vec::new(),
                commits,
            },
            &ChangelogPolicy::default(),
            None,
        )
    }

    fn exclusions(release: &Release) -> Vec<Option<Exclusion>> {
        release.commits.iter().map(|c| c.excluded).collect()
    }

    #[test]
    fn multi_line_footers_stay_inside_their_list_items() {
        let commits = vec![
            raw(
                A,
                "feat(config)!: move the key\n\n\
                 BREAKING CHANGE: the config key moved.\n\
                 Use `new_key` instead;\n\
                 the old one is ignored.",
            ),
            raw(
                B,
                "feat(api)!: drop v1\n\n\
                 BREAKING CHANGE: the v1 endpoints are gone.\n\n\n\
                 - call /v2 instead\n\
                 ## not a heading",
            ),
            raw(
                C,
                "refactor: new loader\n\n\
                 Deprecated: `load_v1`, removed in 3.0.0;\n\
                 use `load` instead",
            ),
            raw(D, "fix: after them"),
        ];
        let release = release_of(&commits);
        let markdown = render_release(&release);
        crate::test_markdown::assert_list_items_hold_together(&markdown);
        assert_eq!(crate::test_markdown::list_items(&markdown).len(), 4);
        insta::assert_snapshot!(markdown, @r"
        ## [Unreleased]

        ### Added

        - **BREAKING** **config:** move the key
          - the config key moved.
            Use `new_key` instead;
            the old one is ignored.
        - **BREAKING** **api:** drop v1
          - the v1 endpoints are gone.

            - call /v2 instead
            ## not a heading

        ### Deprecated

        - new loader
          - `load_v1`, removed in 3.0.0;
            use `load` instead

        ### Fixed

        - after them

        ");
        // The changelog file takes it as one section: a line in an item is
        // no heading of its own.
        let update = SectionUpdate {
            key: SectionKey::Unreleased,
            markdown: markdown.clone(),
            link: None,
        };
        let file = changelog_file::update(None, &[update], "CHANGELOG.md").expect("update");
        assert_eq!(
            changelog_file::section_text(&file, &SectionKey::Unreleased),
            Some(markdown.as_str())
        );
    }

    #[test]
    fn list_item_text_indents_continuation_lines() {
        assert_eq!(list_item_text("one line", 2), "one line");
        assert_eq!(list_item_text("a\nb", 2), "a\n  b");
        assert_eq!(
            list_item_text("\n a  \n\n\n\n  b\r\nc\n\n", 4),
            "a\n\n      b\n    c"
        );
        assert_eq!(list_item_text("", 2), "");
    }

    #[test]
    fn a_git_revert_of_an_earlier_release_is_listed_as_changed() {
        let commits = vec![
            raw(
                A,
                "Revert \"fix(parser): handle empty input\"\n\n\
                 This reverts commit 1234567890123456789012345678901234567890.",
            ),
            raw(
                B,
                "Revert \"feat: flaky thing\"\n\n\
                 This reverts commit cccccccccccccccccccccccccccccccccccccccc.",
            ),
            raw(C, "feat: flaky thing"),
        ];
        let release = release_of(&commits);
        insta::assert_snapshot!(render_release(&release), @r"
        ## [Unreleased]

        ### Changed

        - fix(parser): handle empty input

        ");
        assert_eq!(
            exclusions(&release),
            vec![None, Some(Exclusion::Revert), Some(Exclusion::Reverted)]
        );
    }

    #[test]
    fn a_reverted_revert_cancels_with_its_revert_only() {
        let commits = vec![
            raw(
                A,
                "Reapply \"feat: flaky thing\"\n\n\
                 This reverts commit bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.",
            ),
            raw(
                B,
                "Revert \"feat: flaky thing\"\n\n\
                 This reverts commit cccccccc.",
            ),
            raw(C, "feat: flaky thing"),
        ];
        // The thing is in: the revert is undone.
        let release = release_of(&commits);
        assert_eq!(
            exclusions(&release),
            vec![Some(Exclusion::Revert), Some(Exclusion::Reverted), None]
        );
        insta::assert_snapshot!(render_release(&release), @r"
        ## [Unreleased]

        ### Added

        - flaky thing

        ");
        // Reverted once more, it is out again.
        let mut four = vec![raw(
            D,
            "Revert \"Reapply \"feat: flaky thing\"\"\n\n\
             This reverts commit aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.",
        )];
        four.extend(commits);
        let release = release_of(&four);
        assert_eq!(
            exclusions(&release),
            vec![
                Some(Exclusion::Revert),
                Some(Exclusion::Reverted),
                Some(Exclusion::Revert),
                Some(Exclusion::Reverted)
            ]
        );
        assert!(release.groups.is_empty());
    }

    #[test]
    fn only_security_fixes_go_to_security() {
        let policy = ChangelogPolicy::default();
        let group = |m: &str| policy.group_of(&Commit::parse("0", m, 1));
        assert_eq!(group("fix: patch CVE-2026-0001"), Ok(Group::Security));
        assert_eq!(group("fix(security): escape names"), Ok(Group::Security));
        assert_eq!(group("security: rotate keys"), Ok(Group::Security));
        assert_eq!(
            group("docs(security): explain our policy"),
            Err(Exclusion::Unlisted)
        );
        assert_eq!(
            group("chore: bump lodash (CVE-2021-23337 is not affecting us)"),
            Err(Exclusion::Unlisted)
        );
        assert_eq!(
            group("test(jest): revert CVE-2020-1234 workaround"),
            Err(Exclusion::Unlisted)
        );
        assert_eq!(
            group("feat(auth): lock accounts (CVE-2026-0002)"),
            Ok(Group::Added)
        );
    }

    #[test]
    fn rules_override_defaults_and_can_skip() {
        let policy = ChangelogPolicy {
            rules: vec![
                GroupRule {
                    kind: Some("docs".into()),
                    scope: None,
                    group: GroupChoice::Group(Group::Changed),
                },
                GroupRule {
                    kind: Some("fix".into()),
                    scope: Some("ci".into()),
                    group: GroupChoice::Skip(Skip::Skip),
                },
            ],
            include_merges: false,
        };
        let group = |m: &str| policy.group_of(&Commit::parse("0", m, 1));
        assert_eq!(group("docs: guide"), Ok(Group::Changed));
        assert_eq!(group("fix(ci): flake"), Err(Exclusion::Unlisted));
        assert_eq!(group("fix: real"), Ok(Group::Fixed));
        assert_eq!(
            group("refactor: x\n\nDeprecated: old api"),
            Ok(Group::Deprecated)
        );
        assert_eq!(group("not conventional"), Err(Exclusion::Nonconforming));
    }
}
