//! `trainyard sync due`: which syncs are due at a time.

use jiff::Timestamp;
use serde::Serialize;
use trainyard_core::sync::config::Trigger;
use trainyard_core::sync::schedule;
use trainyard_core::versioning::Workspace;

use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::render::{HumanOut, Render};

pub(super) fn run(
    ctx: &Context<'_>,
    ws: &Workspace,
    at: Option<Timestamp>,
    on_release: Option<&str>,
) -> CmdResult {
    let at = at.unwrap_or(ws.now);
    let due = schedule::due(ws, at, on_release)?;
    ctx.printer.render(&DueSyncs { at, due: &due })?;
    Ok(Exit::Success)
}

/// `sync due`: the syncs due at a time, and why.
#[derive(Serialize)]
#[serde(transparent)]
struct DueSyncs<'a> {
    #[serde(skip)]
    at: Timestamp,
    due: &'a [schedule::Due],
}

impl Render for DueSyncs<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        if self.due.is_empty() {
            out.status(&format!("no sync is due at {}\n", self.at))?;
            return Ok(());
        }
        let mut text = String::new();
        for d in self.due {
            let trigger = match d.trigger {
                Trigger::Manual => "manual",
                Trigger::OnRelease => "on_release",
                Trigger::Cron => "cron",
            };
            text.push_str(&format!("{:<20} {trigger:<10} {}\n", d.sync_id, d.why));
        }
        Ok(out.data(&text)?)
    }
}
