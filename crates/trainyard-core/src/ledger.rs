//! The release ledger: every version the repository has, from its tags
//! (on any ref) and its records (release states, rollbacks), and where
//! each stands: tagged, started, a candidate, validated, published,
//! posted, aborted or withdrawn.
//!
//! Everything that chooses a version asks the ledger, so that one rule
//! holds everywhere: a version that was tagged, started, published or
//! posted is never proposed, started, tagged or published again, and
//! after a rollback of X the next version is above X.

use gix::ObjectId;
use serde::Serialize;

use crate::history::{TagScan, VersionTag};
use crate::states::release::{self, ReleaseState, Step};
use crate::states::rollback::{self, RollbackState};
use crate::version::{self, Version};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// Where one version stands, from the strongest fact about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// A release was started and abandoned before it was tagged or
    /// published: the version is free again.
    Aborted,
    /// `release start` recorded it.
    Started,
    /// A release candidate was cut.
    Candidate,
    /// Validated, not yet tagged.
    Validated,
    /// A stable tag names it (made by trainyard or not).
    Tagged,
    /// Tagged and published to its channels.
    Published,
    /// Published and posted: the release is out.
    Posted,
    /// Rolled back by a completed full rollback.
    Withdrawn,
}

impl Standing {
    /// The standing's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Aborted => "aborted",
            Standing::Started => "started",
            Standing::Candidate => "a candidate",
            Standing::Validated => "validated",
            Standing::Tagged => "tagged",
            Standing::Published => "published",
            Standing::Posted => "posted",
            Standing::Withdrawn => "withdrawn",
        }
    }
}

/// One version of the ledger.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The version (always a release, `X.Y.Z`).
    pub version: Version,
    /// Where it stands.
    pub standing: Standing,
    /// Its stable tag, when one exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The tagged commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The step of trainyard's release of it, when it made one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_step: Option<Step>,
    /// The commit its last candidate was cut from: where the release left
    /// the branch it was started on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut_from: Option<String>,
    /// The rollback that withdrew it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn_by: Option<String>,
}

impl Entry {
    /// Whether the version is used up: tagged, or carried by a release
    /// that was not abandoned before publication.
    pub fn claims_version(&self) -> bool {
        self.standing != Standing::Aborted
    }

    /// Whether a release of it is under way: started and neither posted,
    /// aborted nor withdrawn.
    pub fn in_progress(&self) -> bool {
        matches!(
            self.release_step,
            Some(Step::Started | Step::Rc | Step::Validated | Step::Published)
        ) && self.withdrawn_by.is_none()
    }

    /// Whether the release is out: posted, or tagged outside trainyard's
    /// release workflow.
    pub fn is_out(&self) -> bool {
        match self.release_step {
            Some(step) => step == Step::Posted,
            None => self.tag.is_some(),
        }
    }
}

/// Every version the repository has, in ascending precedence.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Ledger {
    /// The entries, one per version.
    pub entries: Vec<Entry>,
}

/// A completed (or executed) full rollback, as the ledger needs it.
#[derive(Debug, Clone)]
pub struct Withdrawal {
    /// The version rolled back.
    pub version: Version,
    /// The rollback's id.
    pub rollback_id: String,
}

impl Ledger {
    /// Reads the ledger of a repository: its version tags, its release
    /// states and its rollbacks.
    ///
    /// # Errors
    ///
    /// Returns an error when the tags or a state file cannot be read.
    pub fn read(ws: &Workspace) -> Result<Ledger> {
        let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
        Self::read_with(ws, &tags)
    }

    /// As [`Ledger::read`], with the tags already read.
    ///
    /// # Errors
    ///
    /// As [`Ledger::read`].
    pub fn read_with(ws: &Workspace, tags: &TagScan) -> Result<Ledger> {
        let releases = release::all(ws)?;
        let withdrawals = rollback::all(ws)?
            .iter()
            .filter_map(withdrawal_of)
            .collect::<Vec<_>>();
        Ok(Self::build(tags, &releases, &withdrawals))
    }

    /// Builds the ledger from its facts. Pure.
    pub fn build(tags: &TagScan, releases: &[ReleaseState], withdrawals: &[Withdrawal]) -> Ledger {
        let mut entries: Vec<Entry> = Vec::new();
        let entry_of = |entries: &mut Vec<Entry>, version: &Version| -> usize {
            match entries.iter().position(|e| e.version == *version) {
                Some(i) => i,
                None => {
                    entries.push(Entry {
                        version: version.clone(),
                        standing: Standing::Aborted,
                        tag: None,
                        commit: None,
                        release_step: None,
                        cut_from: None,
                        withdrawn_by: None,
                    });
                    entries.len() - 1
                }
            }
        };
        for tag in tags
            .versions
            .iter()
            .filter(|t| version::is_stable(&t.version))
        {
            let release = version::release_of(&tag.version);
            let i = entry_of(&mut entries, &release);
            entries[i].tag.get_or_insert_with(|| tag.name.clone());
            entries[i].commit.get_or_insert_with(|| tag.commit.clone());
        }
        for state in releases {
            let Ok(parsed) = state.version() else {
                continue;
            };
            let release = version::release_of(&parsed);
            let i = entry_of(&mut entries, &release);
            let entry = &mut entries[i];
            // An aborted state never hides a later one of the same version.
            if entry.release_step.is_none() || state.step != Step::Aborted {
                entry.release_step = Some(state.step);
                entry.cut_from = state.rcs.last().and_then(|rc| rc.from.clone());
            }
        }
        for withdrawal in withdrawals {
            let i = entry_of(&mut entries, &withdrawal.version);
            entries[i].withdrawn_by = Some(withdrawal.rollback_id.clone());
        }
        for entry in &mut entries {
            entry.standing = standing_of(entry);
        }
        entries.sort_by(|a, b| a.version.cmp_precedence(&b.version));
        Ledger { entries }
    }

    /// The entry of `version` (its release part), if any.
    pub fn get(&self, version: &Version) -> Option<&Entry> {
        let release = version::release_of(version);
        self.entries.iter().find(|e| e.version == release)
    }

    /// The entry that uses `version` up, if one does.
    pub fn claim(&self, version: &Version) -> Option<&Entry> {
        self.get(version).filter(|e| e.claims_version())
    }

    /// Every version used up, in ascending precedence.
    pub fn claimed(&self) -> Vec<Version> {
        self.entries
            .iter()
            .filter(|e| e.claims_version())
            .map(|e| e.version.clone())
            .collect()
    }

    /// The release under way, if any (the highest, should there be more).
    pub fn in_progress(&self) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.in_progress())
    }

    /// Whether `version` was withdrawn by a rollback.
    pub fn is_withdrawn(&self, version: &Version) -> bool {
        self.get(version).is_some_and(|e| e.withdrawn_by.is_some())
    }

    /// The withdrawn versions, ascending.
    pub fn withdrawn(&self) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.withdrawn_by.is_some())
            .collect()
    }

    /// Where releases that are out but whose tag may not be on the branch
    /// left it: the commit each published or posted release was cut from,
    /// with its version. A history walk stops there as it stops at a tag, so a
    /// release tagged on a release branch that never came back still
    /// counts as released on the branch it was cut from.
    pub fn cut_points(&self) -> Vec<(ObjectId, Version)> {
        self.entries
            .iter()
            .filter(|e| {
                matches!(e.release_step, Some(Step::Published | Step::Posted))
                    || e.withdrawn_by.is_some()
            })
            .filter_map(|e| {
                let id = e.cut_from.as_deref()?.parse::<ObjectId>().ok()?;
                Some((id, e.version.clone()))
            })
            .collect()
    }

    /// Refuses a version that is already used up, naming it and where it
    /// stands.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] when `version` is claimed.
    pub fn refuse_claimed(&self, version: &Version, doing: &str) -> Result<()> {
        match self.claim(version) {
            Some(entry) => Err(Error::input(format!(
                "cannot {doing} {version}: it is already {}{}",
                entry.standing.as_str(),
                describe_where(entry)
            ))),
            None => Ok(()),
        }
    }
}

fn describe_where(entry: &Entry) -> String {
    let mut parts = Vec::new();
    if let Some(tag) = &entry.tag {
        parts.push(format!(
            "tag {tag} at {}",
            entry
                .commit
                .as_deref()
                .map_or("", |c| &c[..c.len().min(10)])
        ));
    }
    if let Some(step) = entry.release_step {
        parts.push(format!("release state `{}`", step.as_str()));
    }
    if let Some(id) = &entry.withdrawn_by {
        parts.push(format!("rolled back by {id}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(
            " ({}): a released version is never reused",
            parts.join(", ")
        )
    }
}

fn standing_of(entry: &Entry) -> Standing {
    if entry.withdrawn_by.is_some() {
        return Standing::Withdrawn;
    }
    match (entry.release_step, entry.tag.is_some()) {
        (Some(Step::Posted), _) => Standing::Posted,
        (Some(Step::Published), _) => Standing::Published,
        (_, true) => Standing::Tagged,
        (Some(Step::Validated), false) => Standing::Validated,
        (Some(Step::Rc), false) => Standing::Candidate,
        (Some(Step::Started), false) => Standing::Started,
        (Some(Step::Aborted) | None, false) => Standing::Aborted,
    }
}

/// The withdrawal a rollback made, once its code and channels went back:
/// full rollbacks only (a partial or config rollback leaves the release
/// in place).
pub fn withdrawal_of(state: &RollbackState) -> Option<Withdrawal> {
    use crate::config::rollback::Kind;
    if matches!(state.kind, Kind::Partial | Kind::Config) || !state.has_executed() {
        return None;
    }
    Some(Withdrawal {
        version: version::parse(&state.rolled_back_from).ok()?,
        rollback_id: state.rollback_id.clone(),
    })
}

/// The highest stable tag among `tags` whose version is `version`, for
/// messages.
pub fn tag_of<'a>(tags: &'a TagScan, version: &Version) -> Option<&'a VersionTag> {
    tags.versions.iter().find(|t| t.version == *version)
}

/// The versions rolled back and not superseded: a completed full rollback
/// from them, and no release published after it. Automation (on-release
/// and scheduled syncs) must not deploy them again.
///
/// # Errors
///
/// Returns an error when a rollback or release state cannot be read.
pub fn withdrawn(ws: &Workspace) -> Result<Vec<String>> {
    let rollbacks = rollback::all(ws)?;
    let releases = release::all(ws)?;
    let mut out = Vec::new();
    for rollback in rollbacks {
        if !rollback.is_complete()
            || matches!(
                rollback.kind,
                crate::config::rollback::Kind::Config | crate::config::rollback::Kind::Partial
            )
        {
            continue;
        }
        let Ok(from) = crate::version::parse(&rollback.rolled_back_from) else {
            continue;
        };
        let superseded = releases.iter().any(|r| {
            r.publication
                .published_at
                .as_deref()
                .is_some_and(|at| at > rollback.completed_at.as_deref().unwrap_or_default())
                && r.version()
                    .is_ok_and(|v| v.cmp_precedence(&from) == std::cmp::Ordering::Greater)
        });
        if !superseded && !out.contains(&rollback.rolled_back_from) {
            out.push(rollback.rolled_back_from.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::Bump;
    use crate::version::next_free;
    use std::cmp::Ordering;

    fn v(text: &str) -> Version {
        version::parse(text).expect("version")
    }

    #[test]
    fn a_free_version_is_kept() {
        assert_eq!(
            next_free(v("1.3.0"), Bump::Minor, &[v("1.2.0")]),
            v("1.3.0")
        );
    }

    #[test]
    fn a_taken_version_moves_past_its_line() {
        let claimed = [v("1.2.0"), v("1.3.0"), v("1.3.1"), v("1.4.0")];
        assert_eq!(next_free(v("1.3.0"), Bump::Minor, &claimed), v("1.5.0"));
        assert_eq!(next_free(v("1.3.1"), Bump::Patch, &claimed), v("1.3.2"));
        assert_eq!(next_free(v("1.4.0"), Bump::Major, &claimed), v("2.0.0"));
    }

    #[test]
    fn a_pre_release_of_a_taken_version_moves_too() {
        let claimed = [v("2.0.0")];
        assert_eq!(
            next_free(v("2.0.0-rc.1"), Bump::Major, &claimed),
            v("3.0.0")
        );
    }

    proptest::proptest! {
        #[test]
        fn next_free_is_never_claimed_and_never_lower(
            major in 0u64..3, minor in 0u64..4, patch in 0u64..4,
            taken in proptest::collection::vec((0u64..3, 0u64..4, 0u64..4), 0..12),
            bump in 0usize..3,
        ) {
            let claimed: Vec<Version> = taken.iter().map(|(a, b, c)| Version::new(*a, *b, *c)).collect();
            let bump = [Bump::Patch, Bump::Minor, Bump::Major][bump];
            let candidate = Version::new(major, minor, patch);
            let free = next_free(candidate.clone(), bump, &claimed);
            proptest::prop_assert!(!claimed.contains(&free));
            proptest::prop_assert!(free.cmp_precedence(&candidate) != Ordering::Less);
        }
    }
}
