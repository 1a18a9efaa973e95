//! `rollback:` in `trainyard.yaml`: the decision matrix and its quick
//! guide (the spec's tables by default), the time to decide, components,
//! smoke tests and notices.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bounded::DecisionWindow;

/// The spec's rollback types.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The whole release, now (RB-IMM).
    #[default]
    Immediate,
    /// The whole release, on a schedule, after approval (RB-PLN).
    Planned,
    /// Only the named components.
    Partial,
    /// Only the configuration syncs.
    Config,
}

impl Kind {
    /// The type's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Immediate => "immediate",
            Kind::Planned => "planned",
            Kind::Partial => "partial",
            Kind::Config => "config",
        }
    }
}

/// `rollback:` settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RollbackConfig {
    /// The decision matrix (default: the spec's).
    pub matrix: Vec<MatrixRow>,
    /// The quick guide (default: the spec's).
    pub quick_guide: Vec<GuideRow>,
    /// RB-IMM's time to decide, in minutes from detection (at most a
    /// day).
    pub decide_within_minutes: DecisionWindow,
    /// The branch whose release commits a rollback reverts (default: the
    /// current branch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// A deployment branch: when set, the code side of a rollback points
    /// it at the earlier release's commit instead of reverting commits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy_branch: Option<String>,
    /// Components for partial rollbacks: name to paths in the repository.
    pub components: BTreeMap<String, Vec<String>>,
    /// Smoke tests run after a rollback, in the repository, with
    /// `TRAINYARD_VERSION` set to the version rolled back to.
    pub smoke_tests: Vec<String>,
    /// Commands that notify stakeholders (COMMUNICATE), with
    /// `TRAINYARD_ROLLBACK_ID`, `TRAINYARD_ROLLBACK_FROM` and
    /// `TRAINYARD_ROLLBACK_TO` set.
    pub notify: Vec<String>,
}

impl Default for RollbackConfig {
    fn default() -> Self {
        RollbackConfig {
            matrix: default_matrix(),
            quick_guide: default_guide(),
            decide_within_minutes: DecisionWindow::constant(5),
            branch: None,
            deploy_branch: None,
            components: BTreeMap::new(),
            smoke_tests: Vec::new(),
            notify: Vec::new(),
        }
    }
}

/// How bad the issue is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Critical.
    Critical,
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

/// How many users it hits.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// Widespread.
    Widespread,
    /// Significant.
    Significant,
    /// Limited.
    Limited,
    /// Minimal.
    Minimal,
}

/// An impact in a quick-guide row: one impact, or any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImpactMatch {
    /// Any impact.
    Any,
    /// Widespread.
    Widespread,
    /// Significant.
    Significant,
    /// Limited.
    Limited,
    /// Minimal.
    Minimal,
}

impl ImpactMatch {
    /// Whether an assessed impact falls under this row.
    pub fn matches(self, impact: Impact) -> bool {
        matches!(
            (self, impact),
            (ImpactMatch::Any, _)
                | (ImpactMatch::Widespread, Impact::Widespread)
                | (ImpactMatch::Significant, Impact::Significant)
                | (ImpactMatch::Limited, Impact::Limited)
                | (ImpactMatch::Minimal, Impact::Minimal)
        )
    }
}

/// What to do: the spec's rollback types, and the answers that are not
/// a rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Roll the whole release back now (RB-IMM).
    Immediate,
    /// Roll the whole release back on a schedule, after approval (RB-PLN).
    Planned,
    /// Either, by judgement: the matrix's "Immediate/Planned".
    ImmediateOrPlanned,
    /// A planned rollback, or a fix if one is ready.
    PlannedOrFix,
    /// No rollback: defer, and fix forward.
    FixForward,
}

impl Action {
    /// The action's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Immediate => "immediate",
            Action::Planned => "planned",
            Action::ImmediateOrPlanned => "immediate or planned",
            Action::PlannedOrFix => "planned rollback or fix",
            Action::FixForward => "defer / fix forward",
        }
    }

    /// Whether a rollback of `kind` (`immediate`, `planned`, `partial`,
    /// `config`) is one this action allows. Partial and config rollbacks
    /// narrow a full one, so they are allowed wherever a rollback is.
    pub fn allows(self, immediate: bool) -> bool {
        match self {
            Action::Immediate => true,
            Action::ImmediateOrPlanned => true,
            Action::Planned | Action::PlannedOrFix => !immediate,
            Action::FixForward => false,
        }
    }
}

/// One row of the decision matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatrixRow {
    /// The issue severity.
    pub severity: Severity,
    /// The user impact typical of it.
    pub impact: Impact,
    /// The rollback type.
    pub rollback: Action,
    /// Who approves: a role, or `post-hoc` (approved after the fact).
    pub approval: String,
}

/// One row of the quick guide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuideRow {
    /// The issue severity.
    pub severity: Severity,
    /// The impact, or `any`.
    pub impact: ImpactMatch,
    /// What to do.
    pub action: Action,
}

/// The approval that may come after the rollback.
pub const POST_HOC: &str = "post-hoc";

/// The spec's decision matrix.
pub fn default_matrix() -> Vec<MatrixRow> {
    let row = |severity, impact, rollback, approval: &str| MatrixRow {
        severity,
        impact,
        rollback,
        approval: approval.to_owned(),
    };
    vec![
        row(
            Severity::Critical,
            Impact::Widespread,
            Action::Immediate,
            POST_HOC,
        ),
        row(
            Severity::High,
            Impact::Significant,
            Action::ImmediateOrPlanned,
            "Director",
        ),
        row(
            Severity::Medium,
            Impact::Limited,
            Action::Planned,
            "Orchestrator",
        ),
        row(
            Severity::Low,
            Impact::Minimal,
            Action::FixForward,
            "QA Agent",
        ),
    ]
}

/// The spec's quick guide.
pub fn default_guide() -> Vec<GuideRow> {
    let row = |severity, impact, action| GuideRow {
        severity,
        impact,
        action,
    };
    vec![
        row(Severity::Critical, ImpactMatch::Any, Action::Immediate),
        row(Severity::High, ImpactMatch::Widespread, Action::Immediate),
        row(Severity::High, ImpactMatch::Limited, Action::Planned),
        row(Severity::Medium, ImpactMatch::Any, Action::PlannedOrFix),
        row(Severity::Low, ImpactMatch::Any, Action::FixForward),
    ]
}
