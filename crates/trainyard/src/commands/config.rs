//! `trainyard config validate|schema`.

use trainyard_core::config::{self, Config};

use super::{CmdResult, Context, Exit};
use crate::cli::ConfigCommand;
use crate::printer::{paint, style};

pub fn run(ctx: &Context<'_>, command: &ConfigCommand) -> CmdResult {
    match command {
        ConfigCommand::Validate => {
            let loaded = config::load(&ctx.cwd, ctx.config_path())?;
            let source = match &loaded.path {
                Some(path) => path.display().to_string(),
                None => "no trainyard.yaml found; the defaults".into(),
            };
            if ctx.printer.json() {
                ctx.printer.write_json(&serde_json::json!({
                    "valid": true,
                    "path": loaded.path,
                    "config": loaded.config,
                }))?;
            } else {
                ctx.printer
                    .status(&format!("{} {source}\n", paint(style::GOOD, "valid:")))?;
            }
            Ok(Exit::Success)
        }
        ConfigCommand::Schema => {
            ctx.printer.write_json(&Config::json_schema())?;
            Ok(Exit::Success)
        }
    }
}
