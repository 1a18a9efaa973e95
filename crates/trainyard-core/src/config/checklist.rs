//! `checklist:` in `trainyard.yaml`: what the pre-release checklist asks
//! of the forge, the branches and the docs.

use serde::{Deserialize, Serialize};

/// `checklist:` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ChecklistConfig {
    /// The forge asked for open pull requests (RL-01).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forge: Option<crate::forge::ForgeConfig>,
    /// Without a forge, RL-01 fails on local branches matching these
    /// patterns that are not merged into the release commit.
    pub branch_patterns: Vec<String>,
    /// Documentation that must change (or name the version) for a release
    /// (RL-05).
    pub docs_paths: Vec<String>,
    /// A security audit command (e.g. `cargo audit`, `npm audit`) that must
    /// pass (RL-06); without one, a security sign-off is required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_audit: Option<String>,
}

impl Default for ChecklistConfig {
    fn default() -> Self {
        ChecklistConfig {
            forge: None,
            branch_patterns: vec!["feature/*".into(), "feat/*".into(), "fix/*".into()],
            docs_paths: vec!["README.md".into(), "docs".into()],
            security_audit: None,
        }
    }
}
