//! What a rollback command reports: the state, its checklist, and what
//! the procedure waits for.

use serde::Serialize;

use super::checklist::{ChecklistRow, checklist};
use crate::states::rollback::RollbackState;
use crate::workspace::Workspace;

/// What a `rollback start` or `resume` did.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    /// The state now.
    #[serde(flatten)]
    pub state: RollbackState,
    /// The checklist now.
    pub checklist: Vec<ChecklistRow>,
    /// Why the procedure stopped before its end, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
}

impl RollbackReport {
    /// Whether the rollback ended and its verification passed.
    pub fn succeeded(&self) -> bool {
        self.state.is_complete()
            && self
                .state
                .verification
                .as_ref()
                .is_some_and(|v| v.states_match && v.smoke_tests == "pass")
    }
}

/// The report of `state`, with its checklist as it stands.
pub(in crate::rollback) fn report(
    ws: &Workspace,
    state: &RollbackState,
    waiting_for: Option<String>,
) -> RollbackReport {
    RollbackReport {
        checklist: checklist(ws, state),
        state: state.clone(),
        waiting_for,
    }
}
