//! The sync workflow: validate, plan (the sealed dry-run), approve, apply,
//! verify, log; and `run` for unattended syncs.
//!
//! Endpoints are read into directories: a `file` endpoint is its own
//! directory; a `git` endpoint is a fresh clone of its branch in a
//! temporary directory (its `.git` is never part of the tree). Plans,
//! approvals, diffs and logs are evidence documents; the base of the last
//! successful sync (for conflicts) and the hash cache live beside them.

mod approve;
mod approved;
mod conflicts;
mod execute;
mod load;
mod locking;
mod logs;
mod plan;
mod run;
mod sides;

use std::path::PathBuf;

use crate::workspace::Workspace;

pub use crate::plan::ApproveRequest;
pub use approve::{approvals, approve};
pub use approved::ApprovedPlan;
pub use execute::{ApplyReport, apply_plan};
pub use load::{Validation, find, load_all, validate};
pub use locking::{RecoveredApply, Recovery, has_interrupted_apply, recover, target_busy, unlock};
pub use logs::{SettledLog, applied_log, history, settle_logs};
pub use plan::{
    PlanJson, PlanReport, SourceAt, find_plan, plan, plan_contents, plan_from, write_diff,
};
pub use run::{run, run_from};
pub use sides::target_fingerprint;

/// Where sync files, state and caches live.
fn sync_home(ws: &Workspace) -> PathBuf {
    ws.home.join(&ws.config.evidence.dir)
}

fn identity(ws: &Workspace) -> String {
    ws.git_email().unwrap_or_else(|| "unknown".into())
}
