//! `trainyard init`: write a commented trainyard.yaml for this repository.

use trainyard_core::config::{self, FILE_NAME};
use trainyard_core::history::Repo;
use trainyard_core::init::{self, Detected};
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
    let repo = Repo::discover(&ctx.cwd)?;
    let detected = init::detect_packages(&root, &repo)?;
    // The prefix the release tags already use, `v` for a repository with
    // none yet; in a monorepo, that of the tags no package claims.
    let tag_prefix = if detected.is_empty() {
        repo.tag_prefix_in_use()?
    } else {
        detected.tag_prefix.clone()
    }
    .unwrap_or_else(|| "v".to_owned());
    let text = config::init_template_with_packages(
        &manifests,
        &tag_prefix,
        &detected.package_configs(),
        &detected.groups,
    );
    if ctx.printer.json() {
        ctx.printer.write_json(&serde_json::json!({
            "path": path,
            "written": !args.dry_run,
            "manifests": manifests,
            "packages": detected.packages,
            "groups": detected.groups,
            "tag_format": (!detected.is_empty()).then_some(&detected.tag_format),
            "notes": detected.notes,
            "content": text,
        }))?;
    } else {
        report_packages(ctx, &detected)?;
        if args.dry_run {
            ctx.printer.data(&text)?;
        }
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
            if found.is_empty() && !detected.is_empty() {
                "each package's own".into()
            } else if found.is_empty() {
                "none found".into()
            } else {
                found.join(", ")
            }
        ))?;
    }
    Ok(Exit::Success)
}

/// Says on stderr which packages were found, how they are tagged, and
/// what was left out.
fn report_packages(ctx: &Context<'_>, detected: &Detected) -> std::io::Result<()> {
    if detected.is_empty() {
        return Ok(());
    }
    let mut text = format!(
        "{} {} package{}:\n",
        paint(style::GOOD, "found"),
        detected.packages.len(),
        if detected.packages.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    for package in &detected.packages {
        text.push_str(&format!(
            "  {} ({}, {}{})\n",
            package.config.name,
            package.config.path.display(),
            package.source.as_str(),
            package
                .version
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default()
        ));
    }
    let tags = match detected.matching_tags {
        0 => "no tag follows a known format yet".to_owned(),
        1 => "1 tag follows it".to_owned(),
        n => format!("{n} tags follow it"),
    };
    match detected.groups.first() {
        Some(group) => text.push_str(&format!(
            "tags: {} for all, as fixed group `{}` ({tags})\n",
            detected.tag_format.as_str(),
            group.name
        )),
        None => text.push_str(&format!(
            "tags: {} ({tags})\n",
            detected.tag_format.as_str()
        )),
    }
    for note in &detected.notes {
        text.push_str(&format!("{} {note}\n", paint(style::WARN, "note:")));
    }
    ctx.printer.status(&text)
}
