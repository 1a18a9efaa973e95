//! `trainyard config validate|schema`.

use trainyard_core::config::{self, Config};
use trainyard_core::history::Repo;
use trainyard_core::sync::engine;

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
            // In a repository, its sync configurations are read too, as
            // strictly; outside one there are none.
            let syncs: Vec<String> = match Repo::discover(&ctx.cwd) {
                Ok(_) => {
                    let ws = ctx.workspace()?;
                    engine::load_all(&ws)?
                        .iter()
                        .map(|s| {
                            s.path
                                .strip_prefix(&ws.home)
                                .unwrap_or(&s.path)
                                .display()
                                .to_string()
                        })
                        .collect()
                }
                Err(_) => Vec::new(),
            };
            if ctx.printer.json() {
                ctx.printer.write_json(&serde_json::json!({
                    "valid": true,
                    "path": loaded.path,
                    "config": loaded.config,
                    "syncs": syncs,
                }))?;
            } else {
                let mut out = format!("{} {source}\n", paint(style::GOOD, "valid:"));
                for sync in &syncs {
                    out.push_str(&format!("{} {sync}\n", paint(style::GOOD, "valid:")));
                }
                ctx.printer.status(&out)?;
            }
            Ok(Exit::Success)
        }
        ConfigCommand::Schema => {
            ctx.printer.write_json(&Config::json_schema())?;
            Ok(Exit::Success)
        }
    }
}
