//! `release validate`: the release gate (G-MRG for patches), the checklist
//! and the two-layer review on the latest candidate; majors also need a
//! human sign-off. Moves the release to `validated` only when all pass.

use super::{Action, Step, StepName, StepPlan, current, require, state_path};
use crate::checklist;
use crate::workspace::Workspace;
use crate::{Error, Result};

pub(super) fn plan(ws: &Workspace) -> Result<StepPlan> {
    let state = current(ws, "validate")?;
    require(
        ws,
        &state,
        &[Step::Rc, Step::Validated],
        "validate",
        "`release rc`",
    )?;
    let last = state.candidate().cloned().ok_or_else(|| {
        Error::input(format!(
            "no release candidate cut: run `{}` first",
            ws.command("release rc")
        ))
    })?;
    let gate = checklist::gate_for(state.bump()).to_owned();
    let actions = vec![
        Action::RunGate {
            gate,
            at: last.tag.clone(),
        },
        Action::Validate {
            at: last.tag.clone(),
        },
        Action::WriteState {
            path: state_path(ws, &state.version),
            step: Step::Validated,
        },
    ];
    Ok(StepPlan {
        version: state.version.clone(),
        step: StepName::Validate,
        actions,
        messages: Vec::new(),
        state,
        candidate: None,
    })
}
