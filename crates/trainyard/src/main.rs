//! The `trainyard` binary: parse arguments, call the core, render the
//! report, map the outcome to an exit code.

mod cli;
mod commands;
mod error;
mod github;
mod printer;
mod render;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Exit;
use crate::error::CliError;
use crate::printer::{Printer, paint, style};

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap's help and version are not errors.
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let printer = Printer::new(cli.global.json);
    match commands::run(&cli, &printer) {
        Ok(Exit::Success) => ExitCode::SUCCESS,
        Ok(Exit::Failure) => ExitCode::from(1),
        Err(CliError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            let code = error.exit_code();
            if printer.json() {
                let _ = printer.write_json(&serde_json::json!({
                    "error": { "kind": error.kind_name(), "message": error.to_string() }
                }));
            }
            let _ = printer.status(&format!("{} {error}\n", paint(style::BAD, "error:")));
            ExitCode::from(code)
        }
    }
}
