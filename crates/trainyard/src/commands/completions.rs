//! `trainyard completions SHELL`: a completion script generated from the
//! command line's own definition, so it never drifts from it.

use clap::CommandFactory;
use clap_complete::Shell;
use serde::Serialize;

use super::{CliError, CmdResult, Context, Exit};
use crate::cli::Cli;
use crate::render::{HumanOut, Render, lossy_text};

pub fn run(ctx: &Context<'_>, shell: Shell) -> CmdResult {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "trainyard", &mut script);
    ctx.printer.render(&Script {
        shell: shell.to_string(),
        script,
    })?;
    Ok(Exit::Success)
}

/// A shell's completion script.
#[derive(Serialize)]
struct Script {
    shell: String,
    #[serde(serialize_with = "lossy_text")]
    script: Vec<u8>,
}

impl Render for Script {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        Ok(out.raw_data(&self.script)?)
    }
}
