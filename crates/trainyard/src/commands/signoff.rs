//! `trainyard signoff`: record an approval.

use serde::Serialize;
use trainyard_core::signoff::{self, Item, Signoff, SignoffRequest};
use trainyard_core::version;

use super::{CliError, CmdResult, Context, Exit};
use crate::cli::SignoffArgs;
use crate::printer::{paint, style};
use crate::render::{HumanOut, Render};

pub fn run(ctx: &Context<'_>, args: &SignoffArgs) -> CmdResult {
    let ws = ctx.unit_workspace("signoff")?;
    let text = args.version.strip_prefix('v').unwrap_or(&args.version);
    let request = SignoffRequest {
        version: version::parse(text)?,
        item: Item::parse(&args.item)?,
        layer: args.layer,
        by: args.by.clone(),
        role: args.role.clone(),
    };
    let _lock = ws.lock()?;
    let recorded = signoff::record(&ws, &request)?;
    ctx.printer.render(&Signed(&recorded))?;
    super::unverified_notice(ctx, &ws)?;
    Ok(Exit::Success)
}

/// The sign-off recorded.
#[derive(Serialize)]
#[serde(transparent)]
struct Signed<'a>(&'a Signoff);

impl Render for Signed<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let recorded = self.0;
        let layer = recorded
            .layer
            .map(|l| format!(" layer {l}"))
            .unwrap_or_default();
        Ok(out.status(&format!(
            "{} {} {}{layer} by {} on {}{}\n",
            paint(style::GOOD, "signed:"),
            recorded.version,
            recorded.item.as_str(),
            recorded.by,
            &recorded.commit[..10],
            recorded
                .signature
                .as_ref()
                .map(|s| format!(", with key {}", s.key))
                .unwrap_or_default()
        ))?)
    }
}
