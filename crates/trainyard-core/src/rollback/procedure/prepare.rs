//! PREPARE: what is kept so that the state before the rollback can be
//! restored.

use std::path::Path;

use crate::rollback::plan::RollbackPlan;
use crate::states::rollback::{RollbackState, finish_step};
use crate::sync::engine;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// PREPARE: notes what is kept, so the state before the rollback can be
/// restored: the branch head is in the plan, withdrawn channel
/// directories are moved (not deleted) into the backup, and config targets
/// are copied there.
pub(super) fn prepare(
    ws: &Workspace,
    plan: &RollbackPlan,
    state: &mut RollbackState,
) -> Result<()> {
    let mut notes = Vec::new();
    if let Some(code) = &plan.plan.code {
        notes.push(format!(
            "branch {} backed up as its head in the plan",
            code.branch()
        ));
    }
    for config in &plan.plan.configs {
        let sync = engine::find(ws, &config.sync_id)?;
        let target = ws.home.join(&sync.config.target.location);
        let backup = state.backup_dir.join("configs").join(&config.sync_id);
        if target.is_dir() && !backup.exists() {
            copy_tree(&target, &backup)?;
        }
        notes.push(format!(
            "config target of {} copied to {}",
            config.sync_id,
            backup.display()
        ));
    }
    for channel in &plan.plan.channels {
        if let Some(dir) = &channel.withdraw {
            notes.push(format!(
                "{} will be moved into the backup, not deleted",
                dir.display()
            ));
        }
    }
    finish_step(ws, state, "prepare", notes)
}

/// Copies a directory tree (files, symlinks as links).
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io("cannot create", to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| Error::io("cannot read", from, e))? {
        let entry = entry.map_err(|e| Error::io("cannot read", from, e))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("cannot inspect", &source, e))?;
        if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else if kind.is_symlink() {
            let link =
                std::fs::read_link(&source).map_err(|e| Error::io("cannot read", &source, e))?;
            std::os::unix::fs::symlink(link, &target)
                .map_err(|e| Error::io("cannot create", &target, e))?;
        } else {
            std::fs::copy(&source, &target).map_err(|e| Error::io("cannot copy", &source, e))?;
        }
    }
    Ok(())
}
