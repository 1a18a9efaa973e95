//! `release rc`: cuts `release/vX.Y.Z-rc.N` from a commit, writes the
//! candidate's version into the manifests and the release's section into
//! the changelog on that branch, tags `vX.Y.Z-rc.N`, and runs the
//! regression gate on it.

use super::{Action, Step, StepName, StepPlan, current, files, require, state_path};
use crate::checklist;
use crate::git_cli;
use crate::ledger::Ledger;
use crate::version;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// The candidate an `rc` plan cuts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    pub(crate) n: u64,
    pub(crate) branch: String,
    pub(crate) tag: String,
    pub(crate) from: String,
}

pub(super) fn plan(ws: &Workspace, from: Option<&str>) -> Result<StepPlan> {
    let state = current(ws, "rc")?;
    require(
        ws,
        &state,
        &[Step::Started, Step::Rc, Step::Validated],
        "rc",
        "`release start`",
    )?;
    let version = state.version()?;
    let tags = ws.repo.version_tags(&ws.config.versioning.tag_prefix)?;
    let ledger = Ledger::read_with(ws, &tags)?;
    if let Some(entry) = ledger.get(&version)
        && entry.tag.is_some()
    {
        return Err(Error::input(format!(
            "release {version} is already tagged ({}): a released version gets no new candidate; abort this release with `trainyard release abort`",
            entry.tag.as_deref().unwrap_or_default()
        )));
    }
    let from_commit = git_cli::commit_of(&ws.root, from.unwrap_or("HEAD"))?;
    let n = state
        .rcs
        .iter()
        .map(|r| r.n)
        .chain(tags.versions.iter().filter_map(|t| {
            (version::release_of(&t.version) == version)
                .then(|| version::channel_of(&t.version))
                .flatten()
                .filter(|(c, _)| *c == version::Channel::Rc)
                .map(|(_, n)| n)
        }))
        .max()
        .unwrap_or(0)
        + 1;
    let rc_version = version::with_prerelease(&version, version::Channel::Rc, n);
    let tag = ws.tag_name(&rc_version);
    let branch = format!("{}{tag}", ws.config.release.branch_prefix);
    if git_cli::ref_exists(&ws.home, &format!("refs/heads/{branch}")) {
        return Err(Error::input(format!(
            "branch {branch} already exists: delete it, or cut the candidate with another number"
        )));
    }
    if git_cli::ref_exists(&ws.home, &format!("refs/tags/{tag}")) {
        return Err(Error::input(format!("tag {tag} already exists")));
    }
    let gate = checklist::gate_for(state.bump()).to_owned();
    let actions = vec![
        Action::CreateBranch {
            branch: branch.clone(),
            at: from_commit.clone(),
        },
        Action::Commit {
            branch: branch.clone(),
            message: format!("chore(release): {tag}"),
            files: files::planned(ws, &from_commit, &rc_version, &version)?,
            version: rc_version.to_string(),
            changelog: version.to_string(),
        },
        Action::Tag {
            tag: tag.clone(),
            at: branch.clone(),
            message: format!("Release candidate {tag}"),
        },
        Action::RunGate {
            gate,
            at: tag.clone(),
        },
        Action::WriteState {
            path: state_path(ws, &state.version),
            step: Step::Rc,
        },
    ];
    Ok(StepPlan {
        version: state.version.clone(),
        step: StepName::Rc,
        actions,
        messages: Vec::new(),
        state,
        candidate: Some(Candidate {
            n,
            branch,
            tag,
            from: from_commit,
        }),
    })
}
