//! `trainyard man [--dir DIR]`: man pages generated from the command
//! line's own definition: the top-level page on stdout, or one page per
//! command and subcommand written into a directory.

use std::path::Path;

use clap::CommandFactory;
use serde::Serialize;
use trainyard_core::fsutil;

use super::{CliError, CmdResult, Context, Exit};
use crate::cli::Cli;
use crate::printer::{paint, style};
use crate::render::{HumanOut, Render, lossy_text};

/// One rendered page; printed, the top-level page.
#[derive(Serialize)]
struct Page {
    /// `trainyard-sync-plan.1`.
    file: String,
    /// The roff source.
    #[serde(serialize_with = "lossy_text")]
    roff: Vec<u8>,
}

impl Render for Page {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        Ok(out.raw_data(&self.roff)?)
    }
}

pub fn run(ctx: &Context<'_>, dir: Option<&Path>) -> CmdResult {
    // Without a help subcommand: `trainyard help` needs no page, and the
    // pages should not point at one that is never written.
    let mut command = Cli::command().disable_help_subcommand(true);
    // Building names subcommands `trainyard-sync`, `trainyard-sync-plan`, ...
    command.build();
    match dir {
        None => top_level(ctx, command),
        Some(dir) => all_pages(ctx, command, &ctx.cwd.join(dir)),
    }
}

fn render(command: clap::Command) -> std::io::Result<Page> {
    let man = clap_mangen::Man::new(command);
    let mut roff = Vec::new();
    man.render(&mut roff)?;
    Ok(Page {
        file: man.get_filename(),
        roff,
    })
}

fn top_level(ctx: &Context<'_>, command: clap::Command) -> CmdResult {
    ctx.printer.render(&render(command)?)?;
    Ok(Exit::Success)
}

/// The page of `command` and of every visible subcommand, depth first.
fn collect(command: &clap::Command, pages: &mut Vec<Page>) -> std::io::Result<()> {
    pages.push(render(command.clone())?);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, pages)?;
    }
    Ok(())
}

/// `man --dir`: the pages written.
#[derive(Serialize)]
struct Written {
    dir: String,
    written: Vec<String>,
}

impl Render for Written {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let mut text = String::new();
        for path in &self.written {
            text.push_str(path);
            text.push('\n');
        }
        out.data(&text)?;
        Ok(out.status(&format!(
            "{} {} man page(s) into {}\n",
            paint(style::GOOD, "wrote"),
            self.written.len(),
            self.dir
        ))?)
    }
}

fn all_pages(ctx: &Context<'_>, command: clap::Command, dir: &Path) -> CmdResult {
    let mut pages = Vec::new();
    collect(&command, &mut pages)?;
    let mut written = Vec::new();
    for page in &pages {
        let path = dir.join(&page.file);
        // Atomic per page: a reader (man, a packager) never sees half a page.
        fsutil::write_atomic(&path, &page.roff)?;
        written.push(path.display().to_string());
    }
    ctx.printer.render(&Written {
        dir: dir.display().to_string(),
        written,
    })?;
    Ok(Exit::Success)
}
