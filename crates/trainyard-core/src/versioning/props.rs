//! Properties of the bump rules over random histories, checked against
//! the rule as the specification states it rather than against the code:
//! a breaking change bumps major, a feature minor, anything else patch; a
//! release bumps by its strongest commit; below 1.0.0 a breaking change
//! bumps minor only when `zero_major_breaking_is_minor` is set.

use proptest::prelude::*;

use crate::commit::Commit;
use crate::config::versioning::BumpPolicy;
use crate::version::{self, Version};
use crate::versioning::bump::{NextInputs, next_version};

/// How strong a change is, 0 (none) to 3 (breaking), as the spec ranks
/// them; a number, so that the expectation does not lean on `Bump`'s
/// ordering.
type Strength = u8;

/// A commit message and the strength the spec gives it.
#[derive(Debug, Clone)]
struct Change {
    message: String,
    strength: Strength,
}

fn change() -> impl Strategy<Value = Change> {
    let kinds = prop::sample::select(vec![
        "feat", "fix", "docs", "chore", "refactor", "perf", "test", "ci", "build", "style",
    ]);
    let scope = prop::option::of(prop::sample::select(vec!["cli", "core", "api", "docs"]));
    // 0: plain, 1: `!`, 2: a BREAKING CHANGE footer, 3: not conventional.
    (kinds, scope, 0u8..4, "[a-z]{1,8}( [a-z]{1,8}){0,3}").prop_map(|(kind, scope, form, words)| {
        let scope = scope.map(|s| format!("({s})")).unwrap_or_default();
        match form {
            1 => Change {
                message: format!("{kind}{scope}!: {words}"),
                strength: 3,
            },
            2 => Change {
                message: format!("{kind}{scope}: {words}\n\nBREAKING CHANGE: {words}"),
                strength: 3,
            },
            // No type, no colon: the default policy releases it as a
            // patch.
            3 => Change {
                message: format!("Update {words}"),
                strength: 1,
            },
            _ => Change {
                message: format!("{kind}{scope}: {words}"),
                strength: if kind == "feat" { 2 } else { 1 },
            },
        }
    })
}

fn commits(changes: &[Change]) -> Vec<Commit> {
    changes
        .iter()
        .enumerate()
        .map(|(i, c)| Commit::parse(format!("{i:040x}"), &c.message, 1))
        .collect()
}

/// The next version by the spec's arithmetic on (major, minor, patch).
fn expected(current: (u64, u64, u64), strongest: Strength, zero_is_minor: bool) -> (u64, u64, u64) {
    let (major, minor, patch) = current;
    let strongest = if strongest == 3 && major == 0 && zero_is_minor {
        2
    } else {
        strongest
    };
    match strongest {
        3 => (major + 1, 0, 0),
        2 => (major, minor + 1, 0),
        1 => (major, minor, patch + 1),
        _ => (major, minor, patch),
    }
}

fn next(policy: &BumpPolicy, current: &Version, changes: &[Change]) -> Version {
    let commits = commits(changes);
    let bump = policy.release_bump(Some(current), &commits);
    let initial = Version::new(0, 1, 0);
    next_version(&NextInputs {
        current: Some(current),
        open_prerelease: None,
        tagged: &[],
        bump,
        channel: None,
        initial: &initial,
        claimed: &[],
        in_progress: None,
    })
    .expect("a next version")
}

fn triple(v: &Version) -> (u64, u64, u64) {
    (v.major, v.minor, v.patch)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_next_version_follows_the_strongest_change(
        current in (0u64..4, 0u64..20, 0u64..20),
        changes in prop::collection::vec(change(), 0..12),
        zero_is_minor in any::<bool>(),
    ) {
        let policy = BumpPolicy {
            zero_major_breaking_is_minor: zero_is_minor,
            ..BumpPolicy::default()
        };
        let version = Version::new(current.0, current.1, current.2);
        let strongest = changes.iter().map(|c| c.strength).max().unwrap_or(0);
        let got = next(&policy, &version, &changes);
        prop_assert_eq!(triple(&got), expected(current, strongest, zero_is_minor), "{:?}", changes);
        prop_assert!(version::is_stable(&got));
    }

    #[test]
    fn a_breaking_change_is_a_major_bump_outside_0x(
        current in (1u64..50, 0u64..50, 0u64..50),
        before in prop::collection::vec(change(), 0..6),
        after in prop::collection::vec(change(), 0..6),
        breaking in change().prop_filter("breaking", |c| c.strength == 3),
        zero_is_minor in any::<bool>(),
    ) {
        let policy = BumpPolicy {
            zero_major_breaking_is_minor: zero_is_minor,
            ..BumpPolicy::default()
        };
        let mut changes = before;
        changes.push(breaking);
        changes.extend(after);
        let got = next(&policy, &Version::new(current.0, current.1, current.2), &changes);
        prop_assert_eq!(triple(&got), (current.0 + 1, 0, 0), "{:?}", changes);
    }

    #[test]
    fn a_stronger_change_never_makes_a_lower_version(
        current in (0u64..4, 0u64..20, 0u64..20),
        changes in prop::collection::vec(change(), 0..8),
        extra in change(),
        zero_is_minor in any::<bool>(),
    ) {
        // Adding a commit never lowers the next version; adding one at
        // least as strong as every other never leaves it lower than a
        // bump by that commit alone.
        let policy = BumpPolicy {
            zero_major_breaking_is_minor: zero_is_minor,
            ..BumpPolicy::default()
        };
        let version = Version::new(current.0, current.1, current.2);
        let without = next(&policy, &version, &changes);
        let mut more = changes.clone();
        more.push(extra.clone());
        let with = next(&policy, &version, &more);
        prop_assert!(triple(&with) >= triple(&without), "{:?} then {:?}", changes, extra);
        let alone = next(&policy, &version, std::slice::from_ref(&extra));
        prop_assert!(triple(&with) >= triple(&alone), "{:?} then {:?}", changes, extra);
        // And the order of the commits does not matter.
        let mut reversed = more.clone();
        reversed.reverse();
        prop_assert_eq!(triple(&next(&policy, &version, &reversed)), triple(&with));
    }
}
