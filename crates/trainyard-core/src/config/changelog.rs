//! `changelog.groups` in `trainyard.yaml`: the rules that send commits to
//! the Keep a Changelog groups.

use serde::{Deserialize, Serialize};

/// A Keep a Changelog group, in the order sections appear.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// New features.
    Added,
    /// Changes in existing functionality.
    Changed,
    /// Soon-to-be removed features.
    Deprecated,
    /// Removed features.
    Removed,
    /// Bug fixes.
    Fixed,
    /// Vulnerabilities.
    Security,
}

impl Group {
    /// The heading, e.g. `Added`.
    pub fn title(self) -> &'static str {
        match self {
            Group::Added => "Added",
            Group::Changed => "Changed",
            Group::Deprecated => "Deprecated",
            Group::Removed => "Removed",
            Group::Fixed => "Fixed",
            Group::Security => "Security",
        }
    }
}

/// The forge a repository is on, which decides the shapes of the links
/// to its commits, pull or merge requests, issues and comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Forge {
    /// GitHub (`/commit/SHA`, `/issues/N`, `/compare/A...B`).
    Github,
    /// GitLab (`/-/commit/SHA`, `/-/merge_requests/N` for `!N`,
    /// `/-/issues/N` for `#N`, `/-/compare/A...B`).
    Gitlab,
    /// Gitea or Forgejo (`/commit/SHA`, `/issues/N`, `/compare/A...B`).
    Gitea,
    /// Bitbucket (`/commits/SHA`, `/pull-requests/N`,
    /// `/branches/compare/B%0DA`).
    Bitbucket,
}

/// Where a rule sends matching commits: a group, or nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum GroupChoice {
    /// Into this group.
    Group(Group),
    /// Left out of the changelog.
    Skip(Skip),
}

/// The word `skip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Skip {
    /// Leave matching commits out.
    Skip,
}

/// One configured rule: commits of this type (and scope) go to `group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRule {
    /// The commit type; any when absent.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The scope, compared without regard to case; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The group, or `skip`.
    pub group: GroupChoice,
}
