//! An approved plan: the only value `apply` takes. Its one constructor is
//! the verification that the plan may be applied now, so code that holds
//! one cannot skip a check.

use super::approve::{approval_of, recorded_approvals};
use super::identity;
use super::load::find;
use super::logs::{applied_log, settle_quietly};
use super::plan::plan_contents;
use crate::evidence::EvidenceStore;
use crate::sync::config::LoadedSync;
use crate::sync::record::{Approval, ConflictResolution, PlanContents, SyncPlan};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// A plan with the approval it is applied under and the change list it
/// applies, once both are known to hold: the plan was made with the
/// sync's current configuration, it is neither rejected nor (when the
/// sync requires it) unapproved, in team mode its approval is signed by a
/// principal who may give it, and it is unused, unexpired, within
/// `max_delete` (or approved beyond it) and free of unresolved conflicts.
#[derive(Debug)]
pub struct ApprovedPlan {
    plan: SyncPlan,
    plan_ref: String,
    sync: LoadedSync,
    approval: Approval,
    contents: PlanContents,
}

impl ApprovedPlan {
    /// Verifies that `plan`, recorded at `plan_ref`, may be applied now,
    /// under its recorded approval or, without one, the `automatic`
    /// approval of this run.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming the plan and what does not hold.
    pub fn verify(
        ws: &Workspace,
        plan: SyncPlan,
        plan_ref: String,
        automatic: Option<Approval>,
    ) -> Result<Self> {
        let sync = find(ws, &plan.plan.sync_id)?;
        settle_quietly(ws, &sync.config.sync_id);
        if sync.hash != plan.plan.config_hash {
            return Err(Error::input(format!(
                "plan {} was made with another version of {}: plan again",
                plan.short_id(),
                sync.path
                    .strip_prefix(&ws.home)
                    .unwrap_or(&sync.path)
                    .display()
            )));
        }
        let store = ws.evidence_store();
        let approval = approval_to_apply(ws, store.as_ref(), &plan, &sync, automatic)?;
        let contents = applicable_contents(ws, &plan, &approval)?;
        Ok(ApprovedPlan {
            plan,
            plan_ref,
            sync,
            approval,
            contents,
        })
    }

    /// The plan.
    pub fn plan(&self) -> &SyncPlan {
        &self.plan
    }

    /// Where the plan is recorded.
    pub fn plan_ref(&self) -> &str {
        &self.plan_ref
    }

    /// The sync, as configured when the plan was verified.
    pub fn sync(&self) -> &LoadedSync {
        &self.sync
    }

    /// The approval it is applied under.
    pub fn approval(&self) -> &Approval {
        &self.approval
    }

    /// What it changes.
    pub fn contents(&self) -> &PlanContents {
        &self.contents
    }
}

/// The approval `plan` is applied under: a rejection refuses it; in team
/// mode a recorded approval is checked as it is used. Without one, the
/// `automatic` approval of this run, or, when the sync does not require
/// approval, one made now.
fn approval_to_apply(
    ws: &Workspace,
    store: &dyn EvidenceStore,
    plan: &SyncPlan,
    sync: &LoadedSync,
    automatic: Option<Approval>,
) -> Result<Approval> {
    let c = &sync.config;
    let short = plan.short_id();
    let recorded = recorded_approvals(store, &plan.plan_id)?;
    let path_of = |approval: &Approval| {
        recorded
            .iter()
            .find(|(a, _)| a == approval)
            .map_or_else(String::new, |(_, path)| path.clone())
    };
    let approvals: Vec<Approval> = recorded.iter().map(|(a, _)| a.clone()).collect();
    if let Some(rejected) = approvals.iter().find(|a| !a.approved) {
        return Err(Error::input(format!(
            "plan {short} was rejected by {} ({}): it can never be applied",
            rejected.approved_by,
            rejected.reason.clone().unwrap_or_default()
        )));
    }
    let team = ws.team()?;
    Ok(
        match (approvals.into_iter().find(|a| a.approved), automatic) {
            // Made by this run (`sync run`, a rollback's verified decision).
            (_, Some(given)) if given.plan_id == plan.plan_id && team.is_some() => given,
            // Recorded earlier: in team mode, checked as it is used.
            (Some(a), _) if !a.automatic || c.options.approval_required => match &team {
                Some(team) => {
                    let verified = crate::sync::decision::check(team, plan, c, &a, &path_of(&a))?;
                    Approval {
                        approved_by: verified.label(),
                        ..a
                    }
                }
                None => a,
            },
            (Some(a), _) => a,
            (None, Some(auto)) if !c.options.approval_required => auto,
            (None, _) if c.options.approval_required => {
                return Err(Error::input(format!(
                    "plan {short} is not approved, and sync {} requires approval: run `trainyard sync approve {short}`",
                    c.sync_id
                )));
            }
            (None, _) => Approval {
                reason: Some("approval not required by the sync's configuration".into()),
                automatic: true,
                ..approval_of(plan, identity(ws), ws.now)
            },
        },
    )
}

/// The change list of `plan`, once it is known to be applicable under
/// `approval`: never applied, not expired, within `max_delete` (or
/// approved beyond it), and without unresolved conflicts.
fn applicable_contents(
    ws: &Workspace,
    plan: &SyncPlan,
    approval: &Approval,
) -> Result<PlanContents> {
    let short = plan.short_id();
    if let Some(log_ref) = applied_log(ws, plan)? {
        return Err(Error::input(format!(
            "plan {short} was already applied ({log_ref}): plans are single-use, plan again"
        )));
    }
    if let Ok(expires) = plan.plan.expires_at.parse::<jiff::Timestamp>()
        && ws.expiry_clock() > expires
    {
        return Err(Error::input(format!(
            "plan {short} expired at {expires}: plan again"
        )));
    }
    if plan.plan.exceeds_max_delete && !approval.override_max_delete {
        return Err(Error::input(format!(
            "plan {short} deletes {} file(s), more than max_delete allows: approve it with --override-max-delete to go ahead",
            plan.plan.result.files_to_delete
        )));
    }
    let contents = plan_contents(ws, plan)?;
    if let Some(conflict) = contents
        .conflicts
        .iter()
        .find(|c| c.resolution == ConflictResolution::Fail)
    {
        return Err(Error::input(format!(
            "plan {short} has {} unresolved conflict(s), e.g. {}: {}",
            contents
                .conflicts
                .iter()
                .filter(|c| c.resolution == ConflictResolution::Fail)
                .count(),
            conflict.path,
            conflict.detail.clone().unwrap_or_default()
        )));
    }
    Ok(contents)
}
