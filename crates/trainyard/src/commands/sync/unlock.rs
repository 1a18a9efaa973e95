//! `trainyard sync unlock`: a stale lock on a sync target broken.

use serde::Serialize;
use trainyard_core::sync::engine;
use trainyard_core::sync::lock::LockInfo;
use trainyard_core::versioning::Workspace;

use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::printer::{paint, style};
use crate::render::{HumanOut, Render};

pub(super) fn run(ctx: &Context<'_>, ws: &Workspace, id: &str, lock_id: &str) -> CmdResult {
    let broken = engine::unlock(ws, id, lock_id)?;
    ctx.printer.render(&BrokenLock {
        lock_id,
        broken: &broken,
    })?;
    Ok(Exit::Success)
}

/// `sync unlock`: the stale lock broken.
#[derive(Serialize)]
#[serde(transparent)]
struct BrokenLock<'a> {
    #[serde(skip)]
    lock_id: &'a str,
    broken: &'a LockInfo,
}

impl Render for BrokenLock<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let broken = self.broken;
        Ok(out.status(&format!(
            "{} lock {} of sync target {} (held by {}, process {}, no longer running, since {})\n",
            paint(style::GOOD, "broke"),
            self.lock_id,
            broken.target,
            broken.owner,
            broken.pid,
            broken.acquired_at
        ))?)
    }
}
