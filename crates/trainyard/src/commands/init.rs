//! `trainyard init`: write a commented trainyard.yaml for this repository.

use trainyard_core::config::{self, FILE_NAME};
use trainyard_core::history::Repo;
use trainyard_core::{Error, fsutil, manifest};

use super::{CmdResult, Context, Exit};
use crate::cli::InitArgs;
use crate::printer::{paint, style};

pub fn run(ctx: &Context<'_>, args: &InitArgs) -> CmdResult {
    let root = Repo::discover(&ctx.cwd)?.root();
    let path = root.join(FILE_NAME);
    if path.exists() && !args.force && !args.dry_run {
        return Err(Error::input(format!(
            "{} already exists: pass --force to replace it",
            path.display()
        ))
        .into());
    }
    let manifests = manifest::detect(&root)?;
    // The prefix the release tags already use, `v` for a repository with
    // none yet.
    let tag_prefix = Repo::discover(&ctx.cwd)?
        .tag_prefix_in_use()?
        .unwrap_or_else(|| "v".to_owned());
    let text = config::init_template(&manifests, &tag_prefix);
    if ctx.printer.json() {
        ctx.printer.write_json(&serde_json::json!({
            "path": path,
            "written": !args.dry_run,
            "manifests": manifests,
            "content": text,
        }))?;
    } else if args.dry_run {
        ctx.printer.data(&text)?;
    }
    if args.dry_run {
        return Ok(if path.exists() {
            Exit::Success
        } else {
            Exit::Failure
        });
    }
    fsutil::write_atomic(&path, text.as_bytes())?;
    if !ctx.printer.json() {
        let found: Vec<String> = manifests
            .iter()
            .map(|m| m.path().display().to_string())
            .collect();
        ctx.printer.status(&format!(
            "{} {} (manifests: {})\n",
            paint(style::GOOD, "wrote"),
            path.display(),
            if found.is_empty() {
                "none found".into()
            } else {
                found.join(", ")
            }
        ))?;
    }
    Ok(Exit::Success)
}
