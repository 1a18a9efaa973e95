//! `trainyard rollback status`: one rollback's progress, or every
//! rollback a line each.

use serde::Serialize;
use trainyard_core::rollback::procedure::{self, RollbackReport, RollbackState, Status};
use trainyard_core::versioning::Workspace;

use super::progress::{show, status_name};
use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::render::{HumanOut, Render};

pub(super) fn run(ctx: &Context<'_>, ws: &Workspace, id: Option<&str>) -> CmdResult {
    match id {
        Some(id) => {
            let state = procedure::load(ws, id)?;
            let report = RollbackReport {
                checklist: procedure::checklist(ws, &state),
                state,
                waiting_for: None,
            };
            show(ctx.printer, &report)
        }
        None => {
            let all = procedure::all(ws)?;
            ctx.printer.render(&Rollbacks(&all))?;
            Ok(Exit::Success)
        }
    }
}

/// `rollback status` without an id: every rollback, one line each.
#[derive(Serialize)]
#[serde(transparent)]
struct Rollbacks<'a>(&'a [RollbackState]);

impl Render for Rollbacks<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let mut text = String::new();
        for s in self.0 {
            let at = s
                .steps
                .iter()
                .find(|step| step.status != Status::Done)
                .map_or("complete".to_owned(), |step| {
                    format!("{} {}", step.name, status_name(step.status))
                });
            text.push_str(&format!(
                "{:<36} {:<9} {} -> {}  {}\n",
                s.rollback_id,
                s.kind.as_str(),
                s.rolled_back_from,
                s.rolled_back_to,
                at
            ));
        }
        Ok(out.data(&text)?)
    }
}
