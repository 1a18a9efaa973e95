//! `trainyard sync ...`: plan, approve, apply; a file per verb.

mod apply;
mod approve;
mod daemon;
mod due;
mod list;
mod log;
mod plan;
mod recover;
mod run;
mod unlock;
mod validate;

use super::{CmdResult, Context};
use crate::cli::SyncCommand;

pub fn run(ctx: &Context<'_>, command: &SyncCommand) -> CmdResult {
    let ws = ctx.workspace()?;
    match command {
        SyncCommand::List => list::run(ctx, &ws),
        SyncCommand::Validate { id } => validate::run(ctx, &ws, id.as_deref()),
        SyncCommand::Plan { id, exact } => plan::run(ctx, &ws, id, *exact),
        SyncCommand::Approve {
            decision,
            override_max_delete,
        } => approve::run(ctx, &ws, decision, *override_max_delete),
        SyncCommand::Apply { plan_id } => apply::run(ctx, &ws, plan_id),
        SyncCommand::Run { id } => run::run(ctx, &ws, id),
        SyncCommand::Log { id } => log::run(ctx, &ws, id.as_deref()),
        SyncCommand::Recover { id } => recover::run(ctx, &ws, id),
        SyncCommand::Unlock { id, lock_id } => unlock::run(ctx, &ws, id, lock_id),
        SyncCommand::Due { at, on_release } => due::run(ctx, &ws, *at, on_release.as_deref()),
        SyncCommand::Daemon { interval, once } => daemon::run(ctx, ws, *interval, *once),
    }
}
