//! `release abort`: deletes the local candidate branches and tags (and the
//! release tag) when nothing was published, and says what it cannot undo.

use super::{Action, Step, StepName, StepPlan, current, state_path};
use crate::Result;
use crate::git_cli;
use crate::workspace::Workspace;

pub(super) fn plan(ws: &Workspace) -> Result<StepPlan> {
    let state = current(ws, "abort")?;
    let mut actions = Vec::new();
    let mut messages = Vec::new();
    let published: Vec<String> = state.publication.channels.keys().cloned().collect();
    let exists =
        |kind: &str, name: &str| git_cli::ref_exists(&ws.home, &format!("refs/{kind}/{name}"));
    if published.is_empty() {
        if let Some(tag) = &state.publication.tag
            && exists("tags", tag)
        {
            actions.push(Action::DeleteTag { tag: tag.clone() });
        }
        for rc in &state.rcs {
            if exists("tags", &rc.tag) {
                actions.push(Action::DeleteTag {
                    tag: rc.tag.clone(),
                });
            }
            if exists("heads", &rc.branch) {
                actions.push(Action::DeleteBranch {
                    branch: rc.branch.clone(),
                });
            }
        }
        if !state.rcs.is_empty() {
            messages
                .push("tags or branches already pushed to a remote are not deleted there".into());
        }
    } else {
        messages.push(format!(
            "already published to {}: not undone; publish a fix or roll back with `{}`",
            published.join(", "),
            ws.command("rollback")
        ));
        messages
            .push("the tags and release branches stay, since published releases name them".into());
    }
    actions.push(Action::WriteState {
        path: state_path(ws, &state.version),
        step: Step::Aborted,
    });
    Ok(StepPlan {
        version: state.version.clone(),
        step: StepName::Abort,
        actions,
        messages,
        state,
        candidate: None,
    })
}
