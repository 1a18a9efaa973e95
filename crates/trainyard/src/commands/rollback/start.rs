//! `trainyard rollback start`: a rollback carried out from its plan, or
//! previewed with `--dry-run`.

use trainyard_core::Error;
use trainyard_core::rollback::procedure::{self, StartRequest};
use trainyard_core::versioning::Workspace;

use super::progress::show;
use crate::commands::{CmdResult, Context};

pub(super) fn run(
    ctx: &Context<'_>,
    ws: &Workspace,
    request: &StartRequest,
    dry_run: bool,
) -> CmdResult {
    let report = if dry_run {
        procedure::preview(ws, request)?
    } else {
        procedure::start(ws, request)?
    };
    let exit = show(ctx.printer, &report)?;
    crate::commands::unverified_notice(ctx, ws)?;
    Ok(exit)
}

/// `--detected-at`, an RFC 3339 time.
pub(super) fn detected_at(text: Option<&str>) -> Result<Option<jiff::Timestamp>, Error> {
    text.map(|text| {
        text.parse::<jiff::Timestamp>().map_err(|e| {
            Error::input(format!(
                "invalid --detected-at `{text}`: {e} (use RFC 3339, e.g. 2027-01-13T10:00:00Z)"
            ))
        })
    })
    .transpose()
}
