//! `trainyard signoff`: record an approval.

use trainyard_core::signoff::{self, Item, SignoffRequest};
use trainyard_core::version;

use super::{CmdResult, Context, Exit};
use crate::cli::SignoffArgs;
use crate::printer::{paint, style};

pub fn run(ctx: &Context<'_>, args: &SignoffArgs) -> CmdResult {
    let ws = ctx.workspace()?;
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
    if ctx.printer.json() {
        ctx.printer.write_json(&recorded)?;
    } else {
        let layer = recorded
            .layer
            .map(|l| format!(" layer {l}"))
            .unwrap_or_default();
        ctx.printer.status(&format!(
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
        ))?;
        super::unverified_notice(ctx, &ws)?;
    }
    Ok(Exit::Success)
}
