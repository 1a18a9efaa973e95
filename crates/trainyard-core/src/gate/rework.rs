//! Rework: the commits of a release range that undo or repair other work.
//!
//! A commit is rework when it
//!
//! 1. reverts a commit: git's `This reverts commit <id>.` line, a
//!    `revert` Conventional Commit type, or a `Revert "..."` summary
//!    ([`ReworkReason::Revert`]);
//! 2. is a `fixup!`, `squash!` or `amend!` commit left unsquashed
//!    ([`ReworkReason::Fixup`]);
//! 3. names another commit of the same range by an id of 7 to 40 hex
//!    digits anywhere in its message, e.g. `fix: crash from 1a2b3c4d` or a
//!    `Fixes: 1a2b3c4d5e6f` trailer ([`ReworkReason::FixesEarlierCommit`]).
//!    `(cherry picked from commit <id>)` lines do not count.
//!
//! Merge commits are never rework, and the rework rate's base excludes
//! them. Nor is a rollback's own commit (one with a `Rollback-Id:`
//! trailer): it takes a whole release back by a recorded decision, it
//! does not repair work of the range. Each commit counts once, for the first reason that applies in
//! the order above.

use serde::{Deserialize, Serialize};

use crate::history::RawCommit;

/// One rework commit and why it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rework {
    /// Its full id.
    pub commit: String,
    /// Its summary line.
    pub summary: String,
    /// Why it counts.
    pub reason: ReworkReason,
    /// The commit it reworks: the full id when that commit is in the range,
    /// else the id as a revert names it; absent when unknown (a fixup whose
    /// subject matches no commit of the range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// Why a commit counts as rework.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReworkReason {
    /// It reverts a commit.
    Revert,
    /// A `fixup!`, `squash!` or `amend!` commit.
    Fixup,
    /// Its message names another commit of the same range.
    FixesEarlierCommit,
}

impl ReworkReason {
    /// Its snake_case name, as in JSON and YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            ReworkReason::Revert => "revert",
            ReworkReason::Fixup => "fixup",
            ReworkReason::FixesEarlierCommit => "fixes_earlier_commit",
        }
    }
}

/// The summary prefixes `git commit --fixup` and `--squash` write.
const FIXUP_PREFIXES: [&str; 3] = ["fixup! ", "squash! ", "amend! "];

/// The rework commits of a range, in the order given (newest first for a
/// history walk). Pure: reads only the messages and ids.
pub fn rework(commits: &[RawCommit]) -> Vec<Rework> {
    let mut ids: Vec<String> = commits.iter().map(|c| c.id.to_string()).collect();
    ids.sort_unstable();
    let summaries: Vec<String> = commits
        .iter()
        .map(|c| c.message.lines().next().unwrap_or("").trim().to_owned())
        .collect();
    let mut found = Vec::new();
    for (i, raw) in commits.iter().enumerate() {
        if raw.parents.len() > 1 || is_rollback(&raw.message) {
            continue;
        }
        let own = raw.id.to_string();
        let summary = &summaries[i];
        let parsed = raw.parse();
        let named = named_commits(&raw.message, &ids, &own);

        let is_revert = parsed.reverts.is_some()
            || parsed
                .conventional
                .as_ref()
                .is_some_and(|c| c.kind == "revert")
            || summary.starts_with("Revert \"");
        let (reason, target) = if is_revert {
            let target = parsed
                .reverts
                .as_deref()
                .and_then(|id| find_prefix(&ids, &id.to_ascii_lowercase(), &own))
                .or_else(|| named.first().cloned())
                .or(parsed.reverts);
            (ReworkReason::Revert, target)
        } else if let Some(subject) = fixup_subject(summary) {
            // The commit fixed up: the nearest older one with that summary.
            let target = commits
                .iter()
                .zip(&summaries)
                .skip(i + 1)
                .find(|(_, s)| s.as_str() == subject)
                .map(|(c, _)| c.id.to_string());
            (ReworkReason::Fixup, target)
        } else if let Some(target) = named.first() {
            (ReworkReason::FixesEarlierCommit, Some(target.clone()))
        } else {
            continue;
        };
        found.push(Rework {
            commit: own,
            summary: summary.clone(),
            reason,
            target,
        });
    }
    found
}

/// Whether a message is a rollback's own commit, by its trailer.
fn is_rollback(message: &str) -> bool {
    message
        .lines()
        .any(|line| line.trim_start().starts_with("Rollback-Id: "))
}

/// The subject a `fixup! <subject>` summary fixes up, prefixes stripped
/// (`fixup! fixup! x` fixes up `x`).
fn fixup_subject(summary: &str) -> Option<&str> {
    let mut rest = summary;
    let mut stripped = false;
    while let Some(next) = FIXUP_PREFIXES.iter().find_map(|p| rest.strip_prefix(p)) {
        rest = next.trim_start();
        stripped = true;
    }
    stripped.then_some(rest)
}

/// The full ids of the range's commits (other than `own`) that `message`
/// names by 7 to 40 hex digits, in order of appearance, without
/// duplicates. Cherry-pick and revert lines are skipped.
fn named_commits(message: &str, ids: &[String], own: &str) -> Vec<String> {
    let mut named: Vec<String> = Vec::new();
    for line in message.lines() {
        let lower = line.to_ascii_lowercase();
        if lower.contains("cherry picked from commit") || lower.contains("this reverts commit") {
            continue;
        }
        for token in lower.split(|c: char| !c.is_ascii_alphanumeric()) {
            if !(7..=40).contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            if let Some(id) = find_prefix(ids, token, own)
                && !named.contains(&id)
            {
                named.push(id);
            }
        }
    }
    named
}

/// The id in sorted `ids` that starts with `prefix` (lowercase hex), other
/// than `own`.
fn find_prefix(ids: &[String], prefix: &str, own: &str) -> Option<String> {
    let start = ids.partition_point(|id| id.as_str() < prefix);
    ids[start..]
        .iter()
        .take_while(|id| id.starts_with(prefix))
        .find(|id| id.as_str() != own)
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gix::ObjectId;

    /// A commit with id `n` repeated (`1111...`), one parent.
    fn raw(n: char, message: &str) -> RawCommit {
        RawCommit {
            id: ObjectId::from_hex(n.to_string().repeat(40).as_bytes()).expect("hex"),
            parents: vec![ObjectId::null(gix::hash::Kind::Sha1)],
            message: message.to_owned(),
            author_name: "A".to_owned(),
            author_email: "a@example.com".to_owned(),
            time: 0,
            tree: gix::ObjectId::null(gix::hash::Kind::Sha1),
        }
    }

    fn id(n: char) -> String {
        n.to_string().repeat(40)
    }

    fn reasons(found: &[Rework]) -> Vec<(String, ReworkReason, Option<String>)> {
        found
            .iter()
            .map(|r| (r.commit.clone(), r.reason, r.target.clone()))
            .collect()
    }

    #[test]
    fn gate_rework_counts_git_reverts_and_revert_commits() {
        let commits = [
            raw(
                '3',
                &format!(
                    "Revert \"feat: add x\"\n\nThis reverts commit {}.\n",
                    id('1')
                ),
            ),
            raw('2', "revert: drop the cache\n\nIt broke the build.\n"),
            raw('1', "feat: add x\n"),
        ];
        assert_eq!(
            reasons(&rework(&commits)),
            [
                (id('3'), ReworkReason::Revert, Some(id('1'))),
                (id('2'), ReworkReason::Revert, None),
            ]
        );
    }

    #[test]
    fn gate_rework_leaves_out_a_rollbacks_own_commit() {
        let commits = [
            raw(
                '2',
                "fix: pages keep every row
",
            ),
            raw(
                '1',
                "revert: roll back 1.2.0 to 1.1.1

pagination loses rows

Rollback-Id: rb-1.2.0-20270113T100000Z
Rollback-Plan: 0123abcd
",
            ),
        ];
        assert!(rework(&commits).is_empty());
    }

    #[test]
    fn gate_rework_keeps_the_id_of_a_revert_outside_the_range() {
        let commits = [raw(
            '2',
            "Revert \"feat: old\"\n\nThis reverts commit abcdef1234567.\n",
        )];
        let found = rework(&commits);
        assert_eq!(found[0].reason, ReworkReason::Revert);
        assert_eq!(found[0].target.as_deref(), Some("abcdef1234567"));
    }

    #[test]
    fn gate_rework_counts_fixup_squash_and_amend_commits() {
        let commits = [
            raw('5', "amend! docs: explain"),
            raw('4', "squash! fixup! feat: add x"),
            raw('3', "fixup! feat: add x"),
            raw('2', "docs: explain"),
            raw('1', "feat: add x"),
        ];
        assert_eq!(
            reasons(&rework(&commits)),
            [
                (id('5'), ReworkReason::Fixup, Some(id('2'))),
                (id('4'), ReworkReason::Fixup, Some(id('1'))),
                (id('3'), ReworkReason::Fixup, Some(id('1'))),
            ]
        );
        let orphan = [raw('1', "fixup! something long gone")];
        assert_eq!(
            reasons(&rework(&orphan)),
            [(id('1'), ReworkReason::Fixup, None)]
        );
    }

    #[test]
    fn gate_rework_counts_commits_naming_an_earlier_commit_of_the_range() {
        let commits = [
            raw('4', "fix: crash from AAAAAAA in the parser"),
            raw(
                '3',
                "fix(cli): handle empty input\n\nFixes: 1111111111 (\"feat: add x\")\n",
            ),
            raw('2', "fix: bug from 9999999 which is not in the range"),
            raw('1', "feat: add x"),
            raw('a', "feat: add y"),
        ];
        assert_eq!(
            reasons(&rework(&commits)),
            [
                (id('4'), ReworkReason::FixesEarlierCommit, Some(id('a'))),
                (id('3'), ReworkReason::FixesEarlierCommit, Some(id('1'))),
            ]
        );
    }

    #[test]
    fn gate_rework_ignores_short_ids_cherry_picks_self_and_merges() {
        let merge = RawCommit {
            parents: vec![
                ObjectId::null(gix::hash::Kind::Sha1),
                ObjectId::null(gix::hash::Kind::Sha1),
            ],
            ..raw('5', "Merge branch 'fix' (fixes 1111111)")
        };
        let commits = [
            merge,
            raw(
                '4',
                "fix: backport\n\n(cherry picked from commit 1111111111111111111111111111111111111111)\n",
            ),
            raw('3', "fix: six hex digits 111111 are not enough"),
            raw('2', "fix: naming itself 2222222 is not rework"),
            raw('1', "feat: add x"),
        ];
        assert!(rework(&commits).is_empty(), "{:?}", rework(&commits));
    }

    #[test]
    fn gate_rework_counts_each_commit_once_with_the_first_reason() {
        let commits = [
            raw('2', "fixup! feat: add x\n\nsee 1111111\n"),
            raw('1', "feat: add x"),
        ];
        assert_eq!(
            reasons(&rework(&commits)),
            [(id('2'), ReworkReason::Fixup, Some(id('1')))]
        );
        assert!(rework(&[]).is_empty());
    }
}
