//! `trainyard sync recover`: an interrupted apply finished or undone.

use serde::Serialize;
use trainyard_core::sync::engine;
use trainyard_core::versioning::Workspace;

use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::printer::Block;
use crate::render::{HumanOut, Render};

pub(super) fn run(ctx: &Context<'_>, ws: &Workspace, id: &str) -> CmdResult {
    let _lock = ws.lock()?;
    let recovery = engine::recover(ws, id)?;
    // Then the logs its applies still owe, the recovered ones aside.
    let logged = engine::settle_logs(ws, id)?;
    ctx.printer.render(&Recovered {
        recovery: &recovery,
        logged: &logged,
    })?;
    Ok(Exit::Success)
}

/// `sync recover`: what an interrupted apply became, and the logs settled
/// after it.
#[derive(Serialize)]
struct Recovered<'a> {
    #[serde(flatten)]
    recovery: &'a engine::Recovery,
    logged: &'a [engine::SettledLog],
}

impl Render for Recovered<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        use trainyard_core::sync::apply::RecoveryAction;
        let recovery = self.recovery;
        let mut block = Block::default();
        if let Some(gone) = &recovery.cleared_lock {
            block.row(
                "lock",
                format!(
                    "cleared lock {} of {} (process {}, no longer running) since {}",
                    gone.id, gone.owner, gone.pid, gone.acquired_at
                ),
            );
        }
        for applied in &recovery.applies {
            let outcome = &applied.outcome;
            let what = match outcome.action {
                RecoveryAction::RolledBack => format!(
                    "rolled back: the target is as it was before the apply ({} temporary file(s) removed)",
                    outcome.temps_removed
                ),
                RecoveryAction::RolledForward => format!(
                    "rolled forward: the target holds the plan ({} renamed, {} deleted now)",
                    outcome.renamed, outcome.deleted
                ),
                RecoveryAction::AlreadyCommitted => "the apply had finished; nothing to do".into(),
                RecoveryAction::AlreadyAborted => "the apply had been undone; nothing to do".into(),
                RecoveryAction::NothingToRecover => "no interrupted apply".into(),
            };
            if let Some(apply_id) = &outcome.apply_id {
                block.row("apply", format!("{apply_id} (sync {})", applied.sync_id));
            }
            block.row("recovered", what);
            if let Some(log_ref) = &applied.log_ref {
                block.row("log", log_ref.clone());
            }
        }
        if recovery.applies.is_empty() {
            block.row(
                "recovered",
                recovery
                    .note
                    .clone()
                    .unwrap_or_else(|| "no interrupted apply".into()),
            );
        }
        for settled in self.logged {
            block.row(
                "logged",
                format!(
                    "{} ({}), owed by apply {}",
                    settled.log_ref, settled.status, settled.execution_id
                ),
            );
        }
        Ok(out.status(&block.render())?)
    }
}
