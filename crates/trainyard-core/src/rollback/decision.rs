//! Which rollback a situation calls for, and who approves it: the spec's
//! decision matrix and its quick guide, configurable, with the spec's
//! tables as defaults.

use serde::Serialize;

pub use crate::config::rollback::{
    Action, GuideRow, Impact, ImpactMatch, MatrixRow, POST_HOC, Severity, default_guide,
    default_matrix,
};
use crate::{Error, Result};

/// What `rollback assess` decides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// The severity assessed.
    pub severity: Severity,
    /// The impact assessed.
    pub impact: Impact,
    /// What to do.
    pub action: Action,
    /// Who approves (a role, or `post-hoc`).
    pub approval: String,
    /// Whether the rollback may run before its approval is recorded.
    pub post_hoc: bool,
    /// Which rows decided, for the record.
    pub because: Vec<String>,
}

/// Applies the quick guide (first row matching severity and impact) for
/// the action, falling back to the matrix row of the severity, and the
/// matrix row of the severity for the approval.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the configured tables have no row for
/// the severity.
pub fn assess(
    matrix: &[MatrixRow],
    guide: &[GuideRow],
    severity: Severity,
    impact: Impact,
) -> Result<Assessment> {
    let row = matrix
        .iter()
        .find(|r| r.severity == severity && r.impact == impact)
        .or_else(|| matrix.iter().find(|r| r.severity == severity))
        .ok_or_else(|| {
            Error::input(format!(
                "the rollback decision matrix has no row for severity `{}`",
                name(severity)
            ))
        })?;
    // Say what was assessed, and which row answered when it is not that
    // very cell.
    let assessed = format!("{} / {}", name(severity), name(impact));
    let cell = if row.impact == impact {
        assessed
    } else {
        format!(
            "{assessed} (the {} row: {} / {})",
            name(severity),
            name(row.severity),
            name(row.impact)
        )
    };
    let mut because = vec![format!(
        "decision matrix: {cell} -> {}, approval {}",
        row.rollback.as_str(),
        row.approval
    )];
    let action = match guide
        .iter()
        .find(|g| g.severity == severity && g.impact.matches(impact))
    {
        Some(g) => {
            because.push(format!(
                "quick guide: {} / {} -> {}",
                name(g.severity),
                name(g.impact),
                g.action.as_str()
            ));
            g.action
        }
        None => row.rollback,
    };
    Ok(Assessment {
        severity,
        impact,
        action,
        post_hoc: row.approval.eq_ignore_ascii_case(POST_HOC),
        approval: row.approval.clone(),
        because,
    })
}

/// The lowercase name of a table value.
pub fn name<T: Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEVERITIES: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];
    const IMPACTS: [Impact; 4] = [
        Impact::Widespread,
        Impact::Significant,
        Impact::Limited,
        Impact::Minimal,
    ];

    fn decide(severity: Severity, impact: Impact) -> Assessment {
        assess(&default_matrix(), &default_guide(), severity, impact).expect("assess")
    }

    #[test]
    fn every_cell_of_the_decision_matrix() {
        // The spec's table, row by row: type and approval.
        let table = [
            (
                Severity::Critical,
                Impact::Widespread,
                Action::Immediate,
                "post-hoc",
            ),
            (
                Severity::High,
                Impact::Significant,
                Action::ImmediateOrPlanned,
                "Director",
            ),
            (
                Severity::Medium,
                Impact::Limited,
                Action::Planned,
                "Orchestrator",
            ),
            (
                Severity::Low,
                Impact::Minimal,
                Action::FixForward,
                "QA Agent",
            ),
        ];
        for (severity, impact, rollback, approval) in table {
            let row = default_matrix()
                .into_iter()
                .find(|r| r.severity == severity)
                .expect("row");
            assert_eq!(
                (row.impact, row.rollback, row.approval.as_str()),
                (impact, rollback, approval)
            );
            let decided = decide(severity, impact);
            assert_eq!(decided.approval, approval);
            assert_eq!(decided.post_hoc, approval == "post-hoc");
        }
        // Matrix cells the quick guide does not name keep the matrix's type.
        assert_eq!(
            decide(Severity::High, Impact::Significant).action,
            Action::ImmediateOrPlanned
        );
    }

    #[test]
    fn the_reasons_name_the_impact_assessed() {
        let decided = decide(Severity::High, Impact::Widespread);
        assert_eq!(
            decided.because[0],
            "decision matrix: high / widespread (the high row: high / significant) -> immediate or planned, approval Director"
        );
        assert_eq!(
            decided.because[1],
            "quick guide: high / widespread -> immediate"
        );
        assert_eq!(
            decide(Severity::Critical, Impact::Widespread).because[0],
            "decision matrix: critical / widespread -> immediate, approval post-hoc"
        );
    }

    #[test]
    fn every_cell_of_the_quick_guide() {
        for severity in SEVERITIES {
            for impact in IMPACTS {
                let expected = match (severity, impact) {
                    (Severity::Critical, _) => Action::Immediate,
                    (Severity::High, Impact::Widespread) => Action::Immediate,
                    (Severity::High, Impact::Limited) => Action::Planned,
                    // Not in the quick guide: the matrix row of High.
                    (Severity::High, _) => Action::ImmediateOrPlanned,
                    (Severity::Medium, _) => Action::PlannedOrFix,
                    (Severity::Low, _) => Action::FixForward,
                };
                assert_eq!(
                    decide(severity, impact).action,
                    expected,
                    "{severity:?} / {impact:?}"
                );
            }
        }
    }

    #[test]
    fn post_hoc_approval_only_where_the_matrix_says() {
        for severity in SEVERITIES {
            for impact in IMPACTS {
                let decided = decide(severity, impact);
                assert_eq!(decided.post_hoc, severity == Severity::Critical);
            }
        }
    }

    #[test]
    fn actions_allow_only_their_rollbacks() {
        assert!(Action::Immediate.allows(true));
        assert!(Action::ImmediateOrPlanned.allows(true));
        assert!(!Action::Planned.allows(true));
        assert!(Action::Planned.allows(false));
        assert!(!Action::FixForward.allows(false));
    }

    #[test]
    fn configured_tables_replace_the_defaults() {
        let matrix = vec![MatrixRow {
            severity: Severity::Low,
            impact: Impact::Minimal,
            rollback: Action::Planned,
            approval: "Release Manager".into(),
        }];
        let decided = assess(&matrix, &[], Severity::Low, Impact::Limited).expect("assess");
        assert_eq!(decided.action, Action::Planned);
        assert_eq!(decided.approval, "Release Manager");
        let missing = assess(&matrix, &[], Severity::High, Impact::Limited).expect_err("no row");
        assert!(missing.to_string().contains("no row for severity `high`"));
    }
}
