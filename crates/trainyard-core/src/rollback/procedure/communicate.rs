//! COMMUNICATE: the notify commands.

use super::verify::run_commands;
use crate::Result;
use crate::states::rollback::{RollbackState, finish_step};
use crate::workspace::Workspace;

/// COMMUNICATE: the notify commands, with the rollback in the environment.
pub(super) fn communicate(ws: &Workspace, state: &mut RollbackState) -> Result<()> {
    let commands = ws.config.rollback.notify.clone();
    let env = [
        ("TRAINYARD_ROLLBACK_ID", state.rollback_id.as_str()),
        ("TRAINYARD_ROLLBACK_FROM", state.rolled_back_from.as_str()),
        ("TRAINYARD_ROLLBACK_TO", state.rolled_back_to.as_str()),
    ];
    let (ok, mut notes) = run_commands(ws, &commands, &env);
    state.notified = ok && !commands.is_empty();
    if commands.is_empty() {
        notes.push("no notify commands configured: sign off `stakeholders-notified` and `stakeholders-updated`".into());
    }
    finish_step(ws, state, "communicate", notes)
}
