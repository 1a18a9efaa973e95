//! The markdown of release sections and of a whole changelog document.

use std::fmt::Write as _;

use super::file;
use super::{Entry, Links, Release};

/// The markdown of one release section, ending with a blank line.
pub fn render_release(release: &Release) -> String {
    let mut out = String::new();
    match (&release.version, &release.date) {
        (Some(version), Some(date)) => {
            let _ = writeln!(out, "## [{version}] - {date}");
        }
        (Some(version), None) => {
            let _ = writeln!(out, "## [{version}]");
        }
        (None, _) => out.push_str("## [Unreleased]\n"),
    }
    out.push('\n');
    for section in &release.groups {
        let _ = writeln!(out, "### {}\n", section.group.title());
        for entry in &section.entries {
            render_entry(&mut out, entry, release.links.as_ref());
        }
        out.push('\n');
    }
    out
}

fn render_entry(out: &mut String, entry: &Entry, links: Option<&Links>) {
    let linked = |text: String| match links {
        Some(links) => links.link_references(&text).into_owned(),
        None => text,
    };
    let reference = |number: u64| match links {
        Some(links) => links.reference_markdown('#', number),
        None => format!("#{number}"),
    };
    out.push_str("- ");
    if entry.breaking.is_some() {
        out.push_str("**BREAKING** ");
    }
    if let Some(scope) = &entry.scope {
        let _ = write!(out, "**{scope}:** ");
    }
    out.push_str(&linked(list_item_text(&entry.description, 2)));
    let mut refs: Vec<String> = Vec::new();
    if let Some(pr) = entry.pr_ref {
        refs.push(reference(pr));
    }
    refs.extend(
        entry
            .issue_refs
            .iter()
            .filter(|n| Some(**n) != entry.pr_ref)
            .map(|n| format!("fixes {}", reference(*n))),
    );
    refs.extend(entry.cves.iter().cloned());
    if !refs.is_empty() {
        let _ = write!(out, " ({})", refs.join(", "));
    }
    if let Some(links) = links {
        let _ = write!(out, " ({})", links.commit_markdown(&entry.id));
    }
    out.push('\n');
    if let Some(breaking) = &entry.breaking
        && breaking != &entry.description
    {
        let _ = writeln!(out, "  - {}", linked(list_item_text(breaking, 4)));
    }
    if let Some(deprecated) = &entry.deprecated {
        let _ = writeln!(out, "  - {}", linked(list_item_text(deprecated, 4)));
    }
}

/// Text for a Markdown list item whose content starts `width` columns in:
/// every line after the first is indented by `width` spaces, so that it
/// stays in the item (and, indented that far, is never read as a heading,
/// fence or link definition of the changelog itself). A run of blank lines
/// becomes one empty line, which does not end the item when indented text
/// follows; blank lines at either end and trailing whitespace are dropped.
pub(super) fn list_item_text(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut after_blank = false;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            after_blank = true;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if after_blank {
                out.push('\n');
            }
            out.extend(std::iter::repeat_n(' ', width));
        }
        after_blank = false;
        out.push_str(line);
    }
    out
}

/// The label of a release's link-reference definition: `unreleased` or
/// the version.
pub fn link_label(release: &Release) -> String {
    match &release.version {
        Some(v) => v.to_string(),
        None => "unreleased".into(),
    }
}

/// A whole changelog document: the Keep a Changelog header, the sections
/// (newest first) and their compare links.
pub fn render_document(releases: &[Release]) -> String {
    let mut out = String::from(file::HEADER);
    for release in releases {
        out.push_str(&render_release(release));
    }
    let links: Vec<String> = releases
        .iter()
        .filter_map(|r| {
            r.compare_url
                .as_ref()
                .map(|url| format!("[{}]: {url}", link_label(r)))
        })
        .collect();
    if !links.is_empty() {
        out.push_str(&links.join("\n"));
        out.push('\n');
    }
    out
}
