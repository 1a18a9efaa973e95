//! `trainyard sync run`: plan and apply in one go, for syncs that need no
//! approval.

use serde::Serialize;
use trainyard_core::sync::engine;
use trainyard_core::versioning::Workspace;

use super::apply::{Applied, applied_changes, verified};
use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::github;
use crate::printer::{paint, style};
use crate::render::{HumanOut, Render};

pub(super) fn run(ctx: &Context<'_>, ws: &Workspace, id: &str) -> CmdResult {
    let p = ctx.printer;
    let (plan, applied) = engine::run(ws, id)?;
    let changes = applied.as_ref().map_or(0, applied_changes);
    github::publish(
        p,
        &format!("sync run {id}"),
        &[("changes", changes.to_string())],
    );
    match &applied {
        Some(report) => p.render(&Applied(report))?,
        None => p.render(&InSync { id, plan: &plan })?,
    }
    Ok(applied.as_ref().map_or(Exit::Success, verified))
}

/// `sync run` when there was nothing to apply: the plan that found no
/// changes.
#[derive(Serialize)]
#[serde(transparent)]
struct InSync<'a> {
    #[serde(skip)]
    id: &'a str,
    plan: &'a engine::PlanReport,
}

impl Render for InSync<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        Ok(out.status(&format!(
            "{} sync {} has no changes\n",
            paint(style::GOOD, "in sync:"),
            self.id
        ))?)
    }
}
