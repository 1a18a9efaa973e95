//! Who approved a sync plan, in team mode (`identity.roles`): an approval
//! or rejection is signed by its actor's key when it is recorded, and
//! checked again where it is used, by `sync apply`: the signature, that
//! the allowed-signers file lets its principal use that key, that the
//! principal holds the role the sync's `approver` names (and any role it
//! claimed), and, with separation of duties, that it is not the plan's
//! author.

use super::config::SyncConfig;
use super::record::{Approval, SyncPlan};
use crate::identity::{Team, Verified};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// Signs `approval` of `plan`, as `by` or as the one principal of the
/// signing key, once the principal is allowed to make it.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the key may not sign as `by`, or the
/// principal may not decide on the plan (see [`check_rules`]).
pub fn sign(
    ws: &Workspace,
    team: &Team,
    plan: &SyncPlan,
    config: &SyncConfig,
    by: Option<&str>,
    mut approval: Approval,
) -> Result<Approval> {
    approval.signature = None;
    // The principal is the key's: sign a draft to learn it, then the
    // decision as it is recorded, under that name.
    let draft = team.sign(ws, by, &approval)?;
    approval.approved_by = draft.principal.clone();
    check_rules(team, plan, config, &approval, "")?;
    let signature = team.sign(ws, Some(&draft.principal), &approval)?;
    approval.signature = Some(signature);
    Ok(approval)
}

/// Checks a recorded approval of `plan` at its point of use: signed, by
/// a principal the allowed-signers file lets use the key, who may make
/// it. `at` names the document in errors.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the document, the principal and
/// what is missing.
pub fn check(
    team: &Team,
    plan: &SyncPlan,
    config: &SyncConfig,
    approval: &Approval,
    at: &str,
) -> Result<Verified> {
    let what = if approval.approved {
        "approval"
    } else {
        "rejection"
    };
    let Some(signature) = &approval.signature else {
        return Err(Error::input(format!(
            "the {what} of plan {} ({at}) by {} is not signed, and decisions are signed in this repository (identity.roles): approve the plan again with a signing key, or plan again",
            plan.short_id(),
            approval.approved_by
        )));
    };
    if signature.principal != approval.approved_by {
        return Err(Error::input(format!(
            "the {what} of plan {} ({at}) says it is by {} but is signed by {}",
            plan.short_id(),
            approval.approved_by,
            signature.principal
        )));
    }
    let mut unsigned = approval.clone();
    unsigned.signature = None;
    let verified = team.verify(&unsigned, signature).map_err(|e| {
        e.within(
            &format!("the {what} of plan {} ({at}): ", plan.short_id()),
            "",
        )
    })?;
    check_rules(team, plan, config, approval, at)?;
    Ok(verified)
}

/// The rules a principal's decision on a plan must keep: the role the
/// sync's `approver` names, the role it claims, separation of duties.
fn check_rules(
    team: &Team,
    plan: &SyncPlan,
    config: &SyncConfig,
    approval: &Approval,
    at: &str,
) -> Result<()> {
    let principal = &approval.approved_by;
    let doc = if at.is_empty() {
        format!("plan {}", plan.short_id())
    } else {
        format!("plan {} ({at})", plan.short_id())
    };
    if let Some(approver) = &config.options.approver {
        team.require(
            principal,
            approver,
            &format!("sync {}'s approver is {approver}; {doc}", config.sync_id),
        )?;
    }
    if let Some(role) = &approval.role {
        team.require(principal, role, &format!("{doc}: the role claimed"))?;
    }
    if team.separation_of_duties && *principal == plan.plan.planned_by {
        return Err(Error::input(format!(
            "{doc} was made by {principal}, who cannot also decide on it: separation of duties (identity.separation_of_duties) needs another principal"
        )));
    }
    Ok(())
}
