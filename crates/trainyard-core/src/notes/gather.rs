//! Gathering a release's notes from the repository: its commits (merges
//! and cancelled revert pairs left out), their authors through the
//! mailmap, and the hand-written file.

use std::path::PathBuf;

use serde::Serialize;

use super::{
    Handwritten, NotesInput, NotesPolicy, NotesProblem, Person, Provenance, ReleaseCommit,
    ReleaseNotes,
};
use crate::changelog::revert_pairs;
use crate::history::RawCommit;
use crate::version::{Bump, Version};
use crate::versioning::{self, NextRequest};
use crate::workspace::Workspace;
use crate::{Error, Result, releases};

/// `notes`: which release, and the provenance known so far.
#[derive(Debug, Clone, Default)]
pub struct NotesRequest {
    /// The release; `None` means the next version from the unreleased
    /// changes.
    pub version: Option<Version>,
    /// Provenance given on the command line (the commit defaults to the
    /// release's commit).
    pub provenance: Provenance,
}

/// The notes and what is missing from them.
#[derive(Debug, Clone, Serialize)]
pub struct NotesReport {
    /// The notes, in the spec's `release_notes` schema.
    #[serde(flatten)]
    pub notes: ReleaseNotes,
    /// What the notes lack (RL-08 fails on any).
    pub problems: Vec<NotesProblem>,
    /// The hand-written file merged in, if there was one.
    pub handwritten: Option<PathBuf>,
}

/// Gathers and builds a release's notes.
///
/// # Errors
///
/// Returns an [`Error::Input`] for a malformed hand-written file, and an
/// [`Error::Environment`] when the history cannot be read.
pub fn generate(ws: &Workspace, request: &NotesRequest) -> Result<NotesReport> {
    let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    let tip = ws.repo.resolve("HEAD")?;
    let (version, previous, commits, date, commit) = match &request.version {
        Some(v) => match tags.versions.iter().find(|t| t.version == *v) {
            Some(tag) => {
                let range = releases::range_of(&ws.repo, tag, &tags, false)?;
                let date = range
                    .tag_time
                    .and_then(crate::changelog::utc_date)
                    .unwrap_or_else(|| ws.today_utc());
                (
                    v.clone(),
                    tags.previous_release(v).map(|t| t.version.clone()),
                    range.commits,
                    date,
                    tag.commit.clone(),
                )
            }
            None => {
                let state = releases::unreleased(&ws.repo, tip, &tags)?;
                let previous = state.current.map(|t| t.version);
                (
                    v.clone(),
                    previous,
                    state.commits,
                    ws.today_utc(),
                    tip.to_string(),
                )
            }
        },
        None => {
            let next = versioning::next(ws, &NextRequest::default())?;
            let state = releases::unreleased(&ws.repo, tip, &tags)?;
            (
                next.next.clone().or(next.latest.clone()).ok_or_else(|| {
                    crate::Error::input(
                        "no release yet and nothing unreleased: there are no notes to write",
                    )
                })?,
                next.latest,
                state.commits,
                ws.today_utc(),
                tip.to_string(),
            )
        }
    };
    let release_type = release_type(previous.as_ref(), &version);
    let commits = release_commits(ws, &ws.own_commits(commits)?);
    let (handwritten, handwritten_path) = read_handwritten(ws, &version)?;
    let mut provenance = request.provenance.clone();
    provenance.commit.get_or_insert(commit);
    let input = NotesInput {
        version: &version,
        release_date: date,
        release_type,
        previous: previous.as_ref(),
        commits: &commits,
        handwritten: handwritten.as_ref(),
        provenance,
        policy: NotesPolicy::default(),
    };
    let (notes, problems) = super::build_checked(&input);
    Ok(NotesReport {
        notes,
        problems,
        handwritten: handwritten_path,
    })
}

/// Major, minor or patch, by which part changed since the previous
/// release.
fn release_type(previous: Option<&Version>, version: &Version) -> Bump {
    match previous {
        Some(p) if p.major != version.major => Bump::Major,
        Some(p) if p.minor != version.minor => Bump::Minor,
        Some(_) => Bump::Patch,
        None if version.major > 0 && version.minor == 0 && version.patch == 0 => Bump::Major,
        None if version.patch == 0 => Bump::Minor,
        None => Bump::Patch,
    }
}

/// Parses the commits, drops merges and revert pairs, and resolves
/// authors and co-authors through the mailmap.
fn release_commits(ws: &Workspace, raw: &[RawCommit]) -> Vec<ReleaseCommit> {
    let mailmap = ws.repo.mailmap();
    let resolve = |p: &Person| {
        let (name, email) = mailmap.resolve(&p.name, &p.email);
        Person { name, email }
    };
    let parsed: Vec<_> = raw
        .iter()
        .filter(|c| c.parents.len() < 2 || ws.config.versioning.include_merges)
        .map(|c| (c, c.parse()))
        .collect();
    let commits: Vec<_> = parsed.iter().map(|(_, c)| c.clone()).collect();
    let cancelled = revert_pairs(&commits);
    parsed
        .into_iter()
        .filter(|(_, c)| !cancelled.contains_key(c.id.as_str()))
        .map(|(raw, commit)| ReleaseCommit {
            author: resolve(&Person {
                name: raw.author_name.clone(),
                email: raw.author_email.clone(),
            }),
            co_authors: super::co_authors_in_message(&raw.message)
                .iter()
                .map(resolve)
                .collect(),
            commit,
        })
        .collect()
}

fn read_handwritten(
    ws: &Workspace,
    version: &Version,
) -> Result<(Option<Handwritten>, Option<PathBuf>)> {
    // The candidate's own file when it has one (committed with it), else
    // the one in this checkout (notes kept beside the evidence).
    let file = ws.config.notes.dir.join(format!("{version}.yaml"));
    let committed = ws.root.join(&file);
    let path = if committed.exists() || ws.root == ws.home {
        committed
    } else {
        ws.home.join(&file)
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let shown = path
                .strip_prefix(&ws.root)
                .or_else(|_| path.strip_prefix(&ws.home))
                .unwrap_or(&path);
            Ok((Some(super::parse_handwritten(&text, shown)?), Some(path)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((None, None)),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

/// Renders the notes as markdown with the configured template, or the
/// built-in one.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the template and line when it does
/// not render, and an [`Error::Io`] when it cannot be read.
pub fn markdown(ws: &Workspace, notes: &ReleaseNotes) -> Result<String> {
    let prefix = &ws.config.versioning.tag_prefix;
    let links = match ws.links() {
        Some(links) => {
            let tags = ws.repo.version_tags(prefix)?;
            let previous_tag = tags
                .previous_release(&notes.release_notes.version)
                .map(|t| t.name.clone());
            Some(super::NotesLinks {
                links,
                previous_tag,
            })
        }
        None => None,
    };
    match &ws.config.notes.template {
        Some(template) => {
            let path = ws.root.join(template);
            let source = std::fs::read_to_string(&path)
                .map_err(|e| Error::io("cannot read template", &path, e))?;
            let name = template.display().to_string();
            super::render_linked(notes, prefix, Some((&name, &source)), links.as_ref())
        }
        None => super::render_linked(notes, prefix, None, links.as_ref()),
    }
}
