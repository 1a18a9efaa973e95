//! Bump decisions: which part of the version a set of commits calls for,
//! and what the next version is. Pure: commits and versions in, a decision
//! out; reading history is [`crate::history`]'s job.
//!
//! The defaults are the spec's table: a breaking change bumps major, a
//! feature minor, and fixes, documentation, security fixes and every other
//! change patch. A security fix also makes the release urgent.

use std::cmp::Ordering;

use serde::Serialize;

use crate::commit::Commit;
use crate::config::versioning::BumpPolicy;
use crate::version::{self, Bump, Channel, Version, next_free};
use crate::{Error, Result};

/// Why a commit bumps what it bumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// A merge commit, skipped by policy.
    Merge,
    /// Not a Conventional Commit.
    Nonconforming,
    /// `!` or a breaking-change footer.
    Breaking,
    /// A configured rule matched (its index in `bump_rules`, from 0).
    Rule {
        /// Index of the rule in the configuration.
        index: usize,
    },
    /// The spec's default for this type.
    Default,
    /// A security fix, which always makes at least a patch release.
    Security,
}

impl Reason {
    /// A short human explanation.
    pub fn describe(&self) -> String {
        match self {
            Reason::Merge => "merge commit, skipped".into(),
            Reason::Nonconforming => "not a conventional commit".into(),
            Reason::Breaking => "breaking change".into(),
            Reason::Rule { index } => format!("bump_rules[{index}]"),
            Reason::Default => "default rule".into(),
            Reason::Security => "security fix".into(),
        }
    }
}

/// The bump one commit calls for, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitBump {
    /// What this commit bumps.
    pub bump: Bump,
    /// Which rule decided it.
    pub reason: Reason,
}

impl BumpPolicy {
    /// The bump one commit calls for.
    pub fn classify(&self, commit: &Commit) -> CommitBump {
        let decided = |bump, reason| CommitBump { bump, reason };
        if commit.merge && !self.include_merges {
            return decided(Bump::None, Reason::Merge);
        }
        let Some(c) = &commit.conventional else {
            return decided(self.nonconforming, Reason::Nonconforming);
        };
        if c.breaking {
            return decided(Bump::Major, Reason::Breaking);
        }
        let (bump, reason) = match self
            .rules
            .iter()
            .position(|r| r.matches(&c.kind, c.scope.as_deref()))
        {
            Some(index) => (self.rules[index].bump, Reason::Rule { index }),
            None if c.kind == "feat" => (Bump::Minor, Reason::Default),
            None => (Bump::Patch, Reason::Default),
        };
        if c.security && bump < Bump::Patch {
            return decided(Bump::Patch, Reason::Security);
        }
        decided(bump, reason)
    }

    /// The bump a whole release makes from `current`: the strongest of its
    /// commits, with a breaking change bumping minor below 1.0.0 when the
    /// policy says so.
    pub fn release_bump<'a>(
        &self,
        current: Option<&Version>,
        commits: impl IntoIterator<Item = &'a Commit>,
    ) -> Bump {
        let strongest = commits
            .into_iter()
            .map(|c| self.classify(c).bump)
            .max()
            .unwrap_or(Bump::None);
        self.effective(current, strongest)
    }

    /// Applies the 0.x option to a bump computed from commits.
    pub fn effective(&self, current: Option<&Version>, bump: Bump) -> Bump {
        let zero_major = current.is_some_and(|v| v.major == 0);
        if bump == Bump::Major && zero_major && self.zero_major_breaking_is_minor {
            Bump::Minor
        } else {
            bump
        }
    }
}

/// What the next version is computed from.
#[derive(Debug, Clone)]
pub struct NextInputs<'a> {
    /// The highest stable release reachable from the revision, if any.
    pub current: Option<&'a Version>,
    /// The highest pre-release reachable from the revision that is newer
    /// than `current`: an open release line such as `1.2.0-rc.2`.
    pub open_prerelease: Option<&'a Version>,
    /// Every version tagged anywhere in the repository, so a new
    /// pre-release never reuses a number.
    pub tagged: &'a [Version],
    /// The bump the unreleased commits call for.
    pub bump: Bump,
    /// Make a pre-release on this channel instead of a release.
    pub channel: Option<Channel>,
    /// The first release when there is none yet.
    pub initial: &'a Version,
    /// Versions the release ledger says are used up (tagged anywhere,
    /// started, published, posted or withdrawn): never proposed again.
    pub claimed: &'a [Version],
    /// The version of the release under way, if one is: it is the next
    /// release unless the commits call for a higher one.
    pub in_progress: Option<&'a Version>,
}

/// Computes the next version.
///
/// Without a release yet, the first release is the initial version. A
/// pre-release line that is open (say `1.2.0-rc.1`) is continued, or
/// finalised without `channel`; a stronger bump (a breaking change during
/// `1.2.0-rc.N`) starts a new line (`2.0.0-rc.1`). A version never goes
/// backwards.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the requested channel would sort before
/// a pre-release already tagged on the same line (beta after rc).
pub fn next_version(inputs: &NextInputs<'_>) -> Result<Version> {
    let mut target = match inputs.current {
        None => version::release_of(inputs.initial),
        Some(current) => version::bumped(current, inputs.bump),
    };
    if let Some(open) = inputs.open_prerelease {
        let line = version::release_of(open);
        target = line.max_by_precedence(target);
    }
    let needed = inputs
        .current
        .is_none_or(|c| target.cmp_precedence(c) == Ordering::Greater);
    if needed {
        if let Some(under_way) = inputs.in_progress {
            target = version::release_of(under_way).max_by_precedence(target);
        }
        if inputs.in_progress != Some(&target) {
            target = next_free(target, inputs.bump, inputs.claimed);
        }
    }
    let Some(channel) = inputs.channel else {
        return Ok(target);
    };
    if let Some(current) = inputs.current
        && target.cmp_precedence(current) != Ordering::Greater
    {
        return Err(Error::input(format!(
            "no change since `{current}` calls for a release, so there is no `{channel}` pre-release to make"
        )));
    }
    let latest_on_line = inputs
        .tagged
        .iter()
        .filter(|v| !v.pre.is_empty() && version::release_of(v) == target)
        .max_by(|a, b| a.cmp_precedence(b));
    let candidate = match latest_on_line {
        None => version::with_prerelease(&target, channel, 1),
        Some(latest) => match version::channel_of(latest) {
            Some((same, n)) if same == channel => version::with_prerelease(&target, channel, n + 1),
            _ => version::with_prerelease(&target, channel, 1),
        },
    };
    if let Some(latest) = latest_on_line
        && candidate.cmp_precedence(latest) != Ordering::Greater
    {
        return Err(Error::input(format!(
            "a `{channel}` pre-release would go backwards: `{latest}` is already tagged and sorts after `{candidate}`"
        )));
    }
    Ok(candidate)
}

trait MaxByPrecedence {
    fn max_by_precedence(self, other: Self) -> Self;
}

impl MaxByPrecedence for Version {
    fn max_by_precedence(self, other: Self) -> Self {
        if self.cmp_precedence(&other) == Ordering::Less {
            other
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BumpRule;

    fn v(s: &str) -> Version {
        version::parse(s).expect("valid version")
    }

    fn commit(message: &str) -> Commit {
        Commit::parse("0000000000", message, 1)
    }

    #[test]
    fn spec_table_by_default() {
        let policy = BumpPolicy::default();
        let cases = [
            ("feat!: remove field", Bump::Major),
            ("fix: x\n\nBREAKING CHANGE: renamed method", Bump::Major),
            ("feat(cli): new command", Bump::Minor),
            ("fix: typo", Bump::Patch),
            ("docs: readme update", Bump::Patch),
            ("fix: x\n\nSecurity: CVE-2024-1234", Bump::Patch),
            ("chore: tidy", Bump::Patch),
            ("Update things", Bump::Patch),
        ];
        for (message, bump) in cases {
            assert_eq!(policy.classify(&commit(message)).bump, bump, "{message}");
        }
    }

    #[test]
    fn first_matching_rule_wins_and_breaking_always_wins() {
        let policy = BumpPolicy {
            rules: vec![
                BumpRule {
                    kind: Some("docs".into()),
                    scope: Some("readme.md".into()),
                    bump: Bump::Patch,
                },
                BumpRule {
                    kind: Some("docs".into()),
                    scope: None,
                    bump: Bump::None,
                },
                BumpRule {
                    kind: Some("chore".into()),
                    scope: None,
                    bump: Bump::None,
                },
                BumpRule {
                    kind: Some("fix".into()),
                    scope: Some("security".into()),
                    bump: Bump::None,
                },
            ],
            ..BumpPolicy::default()
        };
        let bump = |m| policy.classify(&commit(m));
        assert_eq!(bump("docs(README.md): fix link").bump, Bump::Patch);
        assert_eq!(bump("docs(guide): more").bump, Bump::None);
        assert_eq!(bump("docs: more").reason, Reason::Rule { index: 1 });
        assert_eq!(bump("chore!: drop node 14").bump, Bump::Major);
        // A security fix still ships, whatever the rules say.
        let security = bump("fix(security): escape names");
        assert_eq!(security.bump, Bump::Patch);
        assert_eq!(security.reason, Reason::Security);
        // A chore or doc that mentions security is not a security fix.
        assert_eq!(bump("chore(security): rotate keys").bump, Bump::None);
        assert_eq!(bump("docs(security): explain our policy").bump, Bump::None);
        assert_eq!(
            bump("chore: bump lodash (CVE-2021-23337 is not affecting us)").bump,
            Bump::None
        );
    }

    #[test]
    fn a_git_revert_bumps_as_a_revert() {
        let git_revert = commit(
            "Revert \"feat(cli): new command\"\n\n\
             This reverts commit 0123456789abcdef0123456789abcdef01234567.",
        );
        let decided = BumpPolicy::default().classify(&git_revert);
        assert_eq!(decided.bump, Bump::Patch);
        assert_eq!(decided.reason, Reason::Default);
        let policy = BumpPolicy {
            rules: vec![BumpRule {
                kind: Some("revert".into()),
                scope: None,
                bump: Bump::None,
            }],
            ..BumpPolicy::default()
        };
        let decided = policy.classify(&git_revert);
        assert_eq!(decided.bump, Bump::None);
        assert_eq!(decided.reason, Reason::Rule { index: 0 });
        assert_eq!(
            policy.classify(&commit("revert: feat(cli): new command")),
            decided
        );
    }

    #[test]
    fn merges_are_skipped_unless_asked() {
        let merge = Commit::parse("0", "feat: merged", 2);
        assert_eq!(BumpPolicy::default().classify(&merge).bump, Bump::None);
        let policy = BumpPolicy {
            include_merges: true,
            ..BumpPolicy::default()
        };
        assert_eq!(policy.classify(&merge).bump, Bump::Minor);
    }

    #[test]
    fn zero_major_option() {
        let commits = [commit("feat!: break")];
        let on = BumpPolicy {
            zero_major_breaking_is_minor: true,
            ..BumpPolicy::default()
        };
        assert_eq!(on.release_bump(Some(&v("0.4.1")), &commits), Bump::Minor);
        assert_eq!(on.release_bump(Some(&v("1.4.1")), &commits), Bump::Major);
        assert_eq!(
            BumpPolicy::default().release_bump(Some(&v("0.4.1")), &commits),
            Bump::Major
        );
    }

    fn next(
        current: &str,
        open: Option<&str>,
        tagged: &[&str],
        bump: Bump,
        channel: Option<Channel>,
    ) -> Result<Version> {
        let current = v(current);
        let open = open.map(v);
        let tagged: Vec<Version> = tagged.iter().map(|t| v(t)).collect();
        let initial = v("0.1.0");
        next_version(&NextInputs {
            current: Some(&current),
            open_prerelease: open.as_ref(),
            tagged: &tagged,
            bump,
            channel,
            initial: &initial,
            claimed: &[],
            in_progress: None,
        })
    }

    #[test]
    fn prereleases_progress_as_users_expect() {
        let rc = Some(Channel::Rc);
        assert_eq!(
            next("1.1.0", None, &[], Bump::Minor, rc).unwrap(),
            v("1.2.0-rc.1")
        );
        assert_eq!(
            next(
                "1.1.0",
                Some("1.2.0-rc.1"),
                &["1.2.0-rc.1"],
                Bump::Minor,
                rc
            )
            .unwrap(),
            v("1.2.0-rc.2")
        );
        assert_eq!(
            next(
                "1.1.0",
                Some("1.2.0-rc.2"),
                &["1.2.0-rc.1", "1.2.0-rc.2"],
                Bump::Minor,
                None
            )
            .unwrap(),
            v("1.2.0")
        );
        // A fix after the rc keeps the line.
        assert_eq!(
            next(
                "1.1.0",
                Some("1.2.0-rc.1"),
                &["1.2.0-rc.1"],
                Bump::Minor,
                rc
            )
            .unwrap(),
            v("1.2.0-rc.2")
        );
        // alpha -> beta -> rc resets the counter.
        assert_eq!(
            next(
                "1.1.0",
                Some("1.2.0-alpha.3"),
                &["1.2.0-alpha.3"],
                Bump::Minor,
                Some(Channel::Beta)
            )
            .unwrap(),
            v("1.2.0-beta.1")
        );
        // A breaking change during rc moves the line.
        assert_eq!(
            next(
                "1.1.0",
                Some("1.2.0-rc.4"),
                &["1.2.0-rc.4"],
                Bump::Major,
                rc
            )
            .unwrap(),
            v("2.0.0-rc.1")
        );
        // Never backwards: a patch-only range keeps an open minor line.
        assert_eq!(
            next(
                "1.1.0",
                Some("1.2.0-rc.1"),
                &["1.2.0-rc.1"],
                Bump::Patch,
                None
            )
            .unwrap(),
            v("1.2.0")
        );
        let err = next(
            "1.1.0",
            Some("1.2.0-rc.1"),
            &["1.2.0-rc.1"],
            Bump::Minor,
            Some(Channel::Beta),
        )
        .unwrap_err();
        insta::assert_snapshot!(err, @"a `beta` pre-release would go backwards: `1.2.0-rc.1` is already tagged and sorts after `1.2.0-beta.1`");
    }

    #[test]
    fn first_release_is_the_initial_version() {
        let initial = v("0.1.0");
        let next = next_version(&NextInputs {
            current: None,
            open_prerelease: None,
            tagged: &[],
            bump: Bump::Major,
            channel: None,
            initial: &initial,
            claimed: &[],
            in_progress: None,
        });
        assert_eq!(next.unwrap(), v("0.1.0"));
    }

    fn decide(current: &str, bump: Bump, claimed: &[&str], in_progress: Option<&str>) -> Version {
        let current = v(current);
        let claimed: Vec<Version> = claimed.iter().map(|c| v(c)).collect();
        let in_progress = in_progress.map(v);
        let initial = v("0.1.0");
        next_version(&NextInputs {
            current: Some(&current),
            open_prerelease: None,
            tagged: &claimed,
            bump,
            channel: None,
            initial: &initial,
            claimed: &claimed,
            in_progress: in_progress.as_ref(),
        })
        .expect("next version")
    }

    #[test]
    fn a_claimed_version_is_never_proposed() {
        // 1.3.0 was released on a branch this one does not reach, then
        // rolled back: the next minor is above it.
        assert_eq!(
            decide("1.2.0", Bump::Minor, &["1.2.0", "1.3.0"], None),
            v("1.4.0")
        );
        assert_eq!(
            decide("1.2.0", Bump::Patch, &["1.2.0", "1.2.1"], None),
            v("1.2.2")
        );
    }

    #[test]
    fn the_release_under_way_is_the_next_one() {
        assert_eq!(
            decide("1.2.0", Bump::Minor, &["1.2.0", "1.3.0"], Some("1.3.0")),
            v("1.3.0")
        );
        // A patch on the branch still ships in the minor under way.
        assert_eq!(
            decide("1.2.0", Bump::Patch, &["1.2.0", "1.3.0"], Some("1.3.0")),
            v("1.3.0")
        );
        // Nothing to release: the release in effect, not the one under way.
        assert_eq!(
            decide("1.2.0", Bump::None, &["1.2.0", "1.3.0"], Some("1.3.0")),
            v("1.2.0")
        );
    }
}
