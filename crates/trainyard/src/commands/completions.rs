//! `trainyard completions SHELL`: a completion script generated from the
//! command line's own definition, so it never drifts from it.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use super::{CmdResult, Context, Exit};
use crate::cli::Cli;

pub fn run(ctx: &Context<'_>, shell: Shell) -> CmdResult {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "trainyard", &mut script);
    if ctx.printer.json() {
        ctx.printer.write_json(&serde_json::json!({
            "shell": shell.to_string(),
            "script": String::from_utf8_lossy(&script),
        }))?;
    } else {
        // Raw bytes: the printer's colour handling has no business with a
        // script.
        let mut out = std::io::stdout().lock();
        out.write_all(&script)?;
        out.flush()?;
    }
    Ok(Exit::Success)
}
