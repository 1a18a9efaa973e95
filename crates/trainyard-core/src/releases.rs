//! Where releases stand in a history: the current release, the commits no
//! release contains yet, and every release's own commits.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use gix::ObjectId;

use crate::history::{RawCommit, Repo, TagScan, VersionTag};
use crate::version::{self, Version};
use crate::{Error, Result};

/// The commits since the last release, seen from one commit.
#[derive(Debug, Clone)]
pub struct Unreleased {
    /// The highest stable release reachable from the commit.
    pub current: Option<VersionTag>,
    /// The highest pre-release newer than `current` reachable from the
    /// commit: an open release line.
    pub open_prerelease: Option<VersionTag>,
    /// Commits that no reachable release contains, newest first.
    pub commits: Vec<RawCommit>,
    /// The walk ended at a shallow clone's boundary before reaching any
    /// release.
    pub truncated_by_shallow_clone: bool,
}

/// Finds the current release and the unreleased commits from `tip`.
///
/// The walk stops at every commit that carries a stable release tag, so it
/// reads only the unreleased part of the history: the commits that no
/// release reachable from `tip` contains. The current version is the
/// highest of the releases where it stopped.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a shallow clone that has no version tags
/// (tags must be fetched first), and an [`Error::Environment`] when the
/// history cannot be read.
pub fn unreleased(repo: &Repo, tip: ObjectId, tags: &TagScan) -> Result<Unreleased> {
    unreleased_with(repo, tip, tags, &[])
}

/// As [`unreleased`], with more boundaries: commits where a release left
/// the branch although its tag is elsewhere (a release branch that never
/// came back), each with the release's version.
///
/// # Errors
///
/// As [`unreleased`].
pub fn unreleased_with(
    repo: &Repo,
    tip: ObjectId,
    tags: &TagScan,
    released_at: &[(ObjectId, Version)],
) -> Result<Unreleased> {
    let mut stable: HashSet<ObjectId> = tags
        .versions
        .iter()
        .filter(|t| version::is_stable(&t.version))
        .map(|t| t.id)
        .collect();
    stable.extend(released_at.iter().map(|(id, _)| *id));
    if tags.versions.is_empty() && repo.is_shallow() {
        return Err(Error::input(format!(
            "{} is a shallow clone without version tags: fetch them with `git fetch --tags --unshallow` so the current version can be found",
            repo.root().display()
        )));
    }
    let (commits, reached) = walk_to_boundaries(repo, tip, stable)?;
    let tagged = tags
        .versions
        .iter()
        .filter(|t| version::is_stable(&t.version) && reached.contains(&t.id))
        .cloned();
    // A release reached only where it was cut counts as its tag would.
    let cut = released_at
        .iter()
        .filter(|(id, _)| reached.contains(id))
        .filter_map(|(_, v)| tags.versions.iter().find(|t| t.version == *v).cloned());
    let current = tagged
        .chain(cut)
        .max_by(|a, b| a.version.cmp_precedence(&b.version));
    let in_range: HashSet<ObjectId> = commits.iter().map(|c| c.id).collect();
    let open_prerelease = tags
        .versions
        .iter()
        .filter(|t| !version::is_stable(&t.version) && in_range.contains(&t.id))
        .filter(|t| {
            current
                .as_ref()
                .is_none_or(|c| t.version.cmp_precedence(&c.version) == std::cmp::Ordering::Greater)
        })
        .max_by(|a, b| a.version.cmp_precedence(&b.version))
        .cloned();
    Ok(Unreleased {
        truncated_by_shallow_clone: current.is_none() && repo.is_shallow(),
        current,
        open_prerelease,
        commits,
    })
}

/// Walks from `tip` without crossing any commit in `boundaries`; returns
/// the commits walked and the boundary commits reached.
fn walk_to_boundaries(
    repo: &Repo,
    tip: ObjectId,
    boundaries: HashSet<ObjectId>,
) -> Result<(Vec<RawCommit>, HashSet<ObjectId>)> {
    if boundaries.contains(&tip) {
        return Ok((Vec::new(), HashSet::from([tip])));
    }
    let reached: Rc<RefCell<HashSet<ObjectId>>> = Rc::default();
    let seen = Rc::clone(&reached);
    let commits = repo.walk_until(tip, move |id| {
        if boundaries.contains(id) {
            seen.borrow_mut().insert(id.to_owned());
            false
        } else {
            true
        }
    })?;
    let reached = reached.borrow().clone();
    Ok((commits, reached))
}

/// The commits of one tagged release: those its tag reaches and no lower
/// release does (pre-releases count as releases with
/// `include_prereleases`).
///
/// # Errors
///
/// Returns an [`Error::Environment`] when the history cannot be read.
pub fn range_of(
    repo: &Repo,
    tag: &VersionTag,
    tags: &TagScan,
    include_prereleases: bool,
) -> Result<ReleaseRange> {
    let lower: HashSet<ObjectId> = tags
        .versions
        .iter()
        .filter(|t| include_prereleases || version::is_stable(&t.version))
        .filter(|t| t.version.cmp_precedence(&tag.version).is_lt() && t.id != tag.id)
        .map(|t| t.id)
        .collect();
    let (commits, _) = walk_to_boundaries(repo, tag.id, lower)?;
    Ok(ReleaseRange {
        tag: tag.clone(),
        tag_time: commits.iter().find(|c| c.id == tag.id).map(|c| c.time),
        prereleases: if include_prereleases {
            Vec::new()
        } else {
            prereleases_of(tag, tags, |id| commits.iter().any(|c| c.id == id))
        },
        commits,
    })
}

fn prereleases_of(
    tag: &VersionTag,
    tags: &TagScan,
    reachable: impl Fn(ObjectId) -> bool,
) -> Vec<VersionTag> {
    tags.versions
        .iter()
        .filter(|p| {
            !version::is_stable(&p.version)
                && version::release_of(&p.version) == tag.version
                && reachable(p.id)
        })
        .cloned()
        .collect()
}

/// One release and the commits it brought.
#[derive(Debug, Clone)]
pub struct ReleaseRange {
    /// The release's tag.
    pub tag: VersionTag,
    /// The committer time of the tagged commit.
    pub tag_time: Option<i64>,
    /// Pre-release tags of the same version on its commits.
    pub prereleases: Vec<VersionTag>,
    /// The commits this release contains and no earlier release does,
    /// newest first.
    pub commits: Vec<RawCommit>,
}

/// Every release reachable from a commit, oldest first, and what is not
/// released yet.
#[derive(Debug, Clone, Default)]
pub struct ReleaseHistory {
    /// Releases in ascending precedence.
    pub releases: Vec<ReleaseRange>,
    /// Commits no release contains, newest first.
    pub unreleased: Vec<RawCommit>,
}

/// Reads the whole history from `tip` and gives each commit to the lowest
/// release that contains it. Pre-releases are folded into their release
/// unless `include_prereleases`, when they get ranges of their own.
///
/// # Errors
///
/// Returns an [`Error::Environment`] when the history cannot be read.
pub fn release_history(
    repo: &Repo,
    tip: ObjectId,
    tags: &TagScan,
    include_prereleases: bool,
) -> Result<ReleaseHistory> {
    let commits = repo.walk_all(tip)?;
    let index = index_of(&commits);
    let releases = releases_in(&index, tags, include_prereleases);
    let owner = owners(&commits, &index, &releases);
    let mut ranges: Vec<ReleaseRange> = releases
        .iter()
        .map(|tag| ReleaseRange {
            tag: (*tag).clone(),
            tag_time: Some(commits[index[&tag.id]].time),
            prereleases: if include_prereleases {
                Vec::new()
            } else {
                prereleases_of(tag, tags, |id| index.contains_key(&id))
            },
            commits: Vec::new(),
        })
        .collect();
    let mut unreleased = Vec::new();
    for (commit, owner) in commits.into_iter().zip(owner) {
        match ranges.get_mut(owner.unwrap_or(usize::MAX)) {
            Some(range) => range.commits.push(commit),
            None => unreleased.push(commit),
        }
    }
    Ok(ReleaseHistory {
        releases: ranges,
        unreleased,
    })
}

/// Each commit's position in `commits`.
pub(crate) fn index_of(commits: &[RawCommit]) -> gix::hashtable::HashMap<ObjectId, usize> {
    commits.iter().enumerate().map(|(i, c)| (c.id, i)).collect()
}

/// The release tags among `tags` whose commits are in the walk, lowest
/// first.
pub(crate) fn releases_in<'t>(
    index: &gix::hashtable::HashMap<ObjectId, usize>,
    tags: &'t TagScan,
    include_prereleases: bool,
) -> Vec<&'t VersionTag> {
    tags.versions
        .iter()
        .filter(|t| include_prereleases || version::is_stable(&t.version))
        .filter(|t| index.contains_key(&t.id))
        .collect()
}

/// For each commit, the lowest release of `releases` (by position) that
/// contains it, if any.
pub(crate) fn owners(
    commits: &[RawCommit],
    index: &gix::hashtable::HashMap<ObjectId, usize>,
    releases: &[&VersionTag],
) -> Vec<Option<usize>> {
    let mut owner = vec![None; commits.len()];
    let mut stack = Vec::new();
    for (n, tag) in releases.iter().enumerate() {
        stack.push(index[&tag.id]);
        while let Some(i) = stack.pop() {
            if owner[i].is_some() {
                continue;
            }
            owner[i] = Some(n);
            stack.extend(
                commits[i]
                    .parents
                    .iter()
                    .filter_map(|p| index.get(p).copied()),
            );
        }
    }
    owner
}
