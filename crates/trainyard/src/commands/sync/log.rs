//! `trainyard sync log`: the applies recorded.

use serde::Serialize;
use trainyard_core::sync::engine;
use trainyard_core::sync::record::SyncLog;
use trainyard_core::versioning::Workspace;

use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::render::{HumanOut, Render};

pub(super) fn run(ctx: &Context<'_>, ws: &Workspace, id: Option<&str>) -> CmdResult {
    let logs = engine::history(ws, id)?;
    ctx.printer.render(&History(&logs))?;
    Ok(Exit::Success)
}

/// `sync log`: the recorded applies, one line each with its log's path.
struct History<'a>(&'a [(SyncLog, String)]);

impl Serialize for History<'_> {
    // The logs alone: where each is stored is for people.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(log, _)| log))
    }
}

impl Render for History<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let mut text = String::new();
        for (log, path) in self.0 {
            text.push_str(&format!(
                "{}  {:<16} {:<8} +{} ~{} -{}  {}\n",
                log.executed_at,
                log.sync_id,
                log.execution.status.as_str(),
                log.execution.changes_applied.added,
                log.execution.changes_applied.modified,
                log.execution.changes_applied.deleted,
                path
            ));
        }
        Ok(out.data(&text)?)
    }
}
