//! `trainyard man [--dir DIR]`: man pages generated from the command
//! line's own definition: the top-level page on stdout, or one page per
//! command and subcommand written into a directory.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use serde::Serialize;
use trainyard_core::fsutil;

use super::{CmdResult, Context, Exit};
use crate::cli::Cli;
use crate::printer::{paint, style};

/// One rendered page.
struct Page {
    /// `trainyard-sync-plan.1`.
    file: String,
    /// The roff source.
    roff: Vec<u8>,
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
    let page = render(command)?;
    if ctx.printer.json() {
        ctx.printer.write_json(&serde_json::json!({
            "file": page.file,
            "roff": String::from_utf8_lossy(&page.roff),
        }))?;
    } else {
        let mut out = std::io::stdout().lock();
        out.write_all(&page.roff)?;
        out.flush()?;
    }
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

#[derive(Serialize)]
struct Written {
    dir: String,
    written: Vec<String>,
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
    if ctx.printer.json() {
        ctx.printer.write_json(&Written {
            dir: dir.display().to_string(),
            written,
        })?;
    } else {
        let mut out = String::new();
        for path in &written {
            out.push_str(path);
            out.push('\n');
        }
        ctx.printer.data(&out)?;
        ctx.printer.status(&format!(
            "{} {} man page(s) into {}\n",
            paint(style::GOOD, "wrote"),
            written.len(),
            dir.display()
        ))?;
    }
    Ok(Exit::Success)
}
