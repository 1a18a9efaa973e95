//! EXECUTE: the journal of the actions, each marked `started` before its
//! effect and `done` after it.

use super::approval::Cleared;
use super::channel::roll_back_channel;
use super::code::roll_back_code;
use super::config::roll_back_config;
use crate::states::rollback::{RollbackState, Status, save};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// Kills the process (SIGKILL) right after the named action's effect, before it
/// is marked done (tests of the recovery).
pub const CRASH_AFTER_ENV: &str = "TRAINYARD_ROLLBACK_CRASH_AFTER";

fn crash_point(id: &str) {
    if std::env::var(CRASH_AFTER_ENV).is_ok_and(|v| v == id) {
        crate::fsutil::kill_self();
    }
}

/// EXECUTE: every action not done yet, each journaled before and after.
pub(super) fn execute(
    ws: &Workspace,
    cleared: &Cleared<'_>,
    state: &mut RollbackState,
) -> Result<Vec<String>> {
    let plan = cleared.plan();
    let ids: Vec<String> = state.actions.iter().map(|a| a.id.clone()).collect();
    let mut notes = Vec::new();
    for id in ids {
        let record = state
            .action_mut(&id)
            .ok_or_else(|| Error::Internal(format!("no action {id}")))?;
        if record.status == Status::Done {
            continue;
        }
        let resumed = record.status == Status::Started;
        record.status = Status::Started;
        save(ws, state)?;
        let done = if id == "code" {
            let code = plan
                .plan
                .code
                .as_ref()
                .ok_or_else(|| Error::Internal("a code action without a code plan".into()))?;
            roll_back_code(ws, plan, state, code)?
        } else if let Some(name) = id.strip_prefix("channel:") {
            let channel = plan
                .plan
                .channels
                .iter()
                .find(|c| c.channel == name)
                .ok_or_else(|| Error::Internal(format!("no channel plan {name}")))?;
            roll_back_channel(ws, plan, state, channel)?
        } else if let Some(sync_id) = id.strip_prefix("config:") {
            roll_back_config(ws, plan, state, sync_id, resumed)?
        } else {
            return Err(Error::Internal(format!("unknown action {id}")));
        };
        crash_point(&id);
        if let Some(record) = state.action_mut(&id) {
            record.status = Status::Done;
            record.notes.clone_from(&done);
        }
        save(ws, state)?;
        notes.extend(done);
    }
    Ok(notes)
}
