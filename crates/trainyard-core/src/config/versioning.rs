//! The `versioning` section's bump rules: how commits turn into bumps.

use serde::{Deserialize, Serialize};

use crate::version::Bump;

/// One configured rule: commits of this type (and scope, when given) bump
/// this part. The first matching rule wins; breaking changes always bump
/// major whatever the rules say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BumpRule {
    /// The commit type this rule matches (`feat`, `docs`, ...); any type
    /// when absent.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The scope this rule matches, compared without regard to case; any
    /// scope (or none) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// What a matching commit bumps: `major`, `minor`, `patch` or `none`.
    pub bump: Bump,
}

impl BumpRule {
    /// Whether a commit of `kind` and `scope` matches the rule.
    pub fn matches(&self, kind: &str, scope: Option<&str>) -> bool {
        let kind_ok = self
            .kind
            .as_deref()
            .is_none_or(|k| k.eq_ignore_ascii_case(kind));
        let scope_ok = match (&self.scope, scope) {
            (None, _) => true,
            (Some(want), Some(have)) => want.eq_ignore_ascii_case(have),
            (Some(_), None) => false,
        };
        kind_ok && scope_ok
    }
}

/// How commits turn into bumps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BumpPolicy {
    /// Configured rules, first match wins.
    pub rules: Vec<BumpRule>,
    /// While the major version is 0, a breaking change bumps minor.
    pub zero_major_breaking_is_minor: bool,
    /// The bump of a commit that is not a Conventional Commit.
    pub nonconforming: Bump,
    /// Count merge commits too (they are skipped by default: their changes
    /// arrive through the commits they merge).
    pub include_merges: bool,
}

impl Default for BumpPolicy {
    fn default() -> Self {
        BumpPolicy {
            rules: Vec::new(),
            zero_major_breaking_is_minor: false,
            nonconforming: Bump::Patch,
            include_merges: false,
        }
    }
}
