//! `trainyard config validate|schema`.

use std::path::PathBuf;

use serde::Serialize;
use trainyard_core::config::{self, Config};
use trainyard_core::history::Repo;
use trainyard_core::sync::engine;

use super::{CliError, CmdResult, Context, Exit};
use crate::cli::ConfigCommand;
use crate::printer::{paint, style};
use crate::render::{HumanOut, Render};

pub fn run(ctx: &Context<'_>, command: &ConfigCommand) -> CmdResult {
    match command {
        ConfigCommand::Validate => {
            let loaded = config::load(&ctx.cwd, ctx.config_path())?;
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
            ctx.printer.render(&Valid {
                valid: true,
                path: &loaded.path,
                config: &loaded.config,
                syncs,
            })?;
            Ok(Exit::Success)
        }
        ConfigCommand::Schema => {
            ctx.printer.write_json(&Config::json_schema())?;
            Ok(Exit::Success)
        }
    }
}

/// `config validate`: the configuration and the sync files read.
#[derive(Serialize)]
struct Valid<'a> {
    /// Always true: an invalid configuration is an input error.
    valid: bool,
    path: &'a Option<PathBuf>,
    config: &'a Config,
    syncs: Vec<String>,
}

impl Render for Valid<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let source = match self.path {
            Some(path) => path.display().to_string(),
            None => "no trainyard.yaml found; the defaults".into(),
        };
        let mut text = format!("{} {source}\n", paint(style::GOOD, "valid:"));
        for sync in &self.syncs {
            text.push_str(&format!("{} {sync}\n", paint(style::GOOD, "valid:")));
        }
        Ok(out.status(&text)?)
    }
}
