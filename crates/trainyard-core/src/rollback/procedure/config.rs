//! A config action: the sync's target brought back to the earlier
//! release's state.

use super::prepare::copy_tree;
use crate::rollback::plan::{self, RollbackPlan};
use crate::states::rollback::RollbackState;
use crate::sync::engine;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// EXECUTE, a config action: brings the sync's target back to the earlier
/// release's state, recovering an apply a crash interrupted first.
pub(super) fn roll_back_config(
    ws: &Workspace,
    plan: &RollbackPlan,
    state: &RollbackState,
    sync_id: &str,
    resumed: bool,
) -> Result<Vec<String>> {
    let config = plan
        .plan
        .configs
        .iter()
        .find(|c| c.sync_id == sync_id)
        .ok_or_else(|| Error::Internal(format!("no config plan {sync_id}")))?;
    if resumed && engine::has_interrupted_apply(ws, sync_id)? {
        engine::recover(ws, sync_id)?;
    }
    if engine::target_fingerprint(ws, sync_id)? == config.rolled_back_fingerprint {
        return Ok(vec![format!(
            "config {sync_id}: the target holds {}'s state",
            plan.plan.rolled_back_to
        )]);
    }
    // Kept before the first change, so `rollback abort` can put it back.
    let sync = engine::find(ws, sync_id)?;
    let target = ws.home.join(&sync.config.target.location);
    let backup = state.backup_dir.join("configs").join(sync_id);
    if target.is_dir() && !backup.exists() {
        copy_tree(&target, &backup)?;
    }
    let tree = plan::ReleaseTree::at(ws, &plan.plan.to_tag)?;
    let root = tree.root().join(&config.source_path);
    let (planned, applied) = engine::run_from(
        ws,
        sync_id,
        engine::SourceAt {
            root: &root,
            revision: &plan.plan.to_commit,
        },
        Some(&config.target_fingerprint),
        &state.decided_by,
        &format!(
            "rollback {} of {} to {}",
            state.rollback_id, plan.plan.rolled_back_from, plan.plan.rolled_back_to
        ),
    )?;
    let result = planned.plan.plan.result;
    Ok(vec![format!(
        "config {sync_id}: {} added, {} modified, {} deleted{}",
        result.files_to_add,
        result.files_to_modify,
        result.files_to_delete,
        applied
            .map(|a| format!(" (log {})", a.log_ref))
            .unwrap_or_default()
    )])
}
