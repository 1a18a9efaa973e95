//! `trainyard sync list`: the configured syncs.

use serde::Serialize;
use trainyard_core::sync::config::SyncConfig;
use trainyard_core::sync::engine;
use trainyard_core::versioning::Workspace;

use crate::commands::{CliError, CmdResult, Context, Exit};
use crate::render::{HumanOut, Render};

pub(super) fn run(ctx: &Context<'_>, ws: &Workspace) -> CmdResult {
    let syncs = engine::load_all(ws)?;
    ctx.printer
        .render(&SyncList(syncs.iter().map(|s| &s.config).collect()))?;
    Ok(Exit::Success)
}

/// `sync list`: the configured syncs, one line each.
#[derive(Serialize)]
#[serde(transparent)]
struct SyncList<'a>(Vec<&'a SyncConfig>);

impl Render for SyncList<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let mut text = String::new();
        for c in &self.0 {
            text.push_str(&format!(
                "{:<20} {:<10} {} {} -> {} {}\n",
                c.sync_id,
                format!("{:?}", c.kind).to_lowercase(),
                c.source.kind.as_str(),
                c.source.location,
                c.target.kind.as_str(),
                c.target.location
            ));
        }
        Ok(out.data(&text)?)
    }
}
