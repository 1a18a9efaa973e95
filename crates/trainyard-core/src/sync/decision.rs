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
    // The key says who approves; the roles whether they may.
    let key = ws.signing_key()?;
    approval.approved_by = team.principal_of(&key, by)?;
    check_rules(team, plan, config, &approval, "")?;
    let signature = team.sign_as(&key, approval.approved_by.clone(), &approval)?;
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
    let mut unsigned = approval.clone();
    unsigned.signature = None;
    let verified = team.check_signed(
        &unsigned,
        approval.signature.as_ref(),
        &approval.approved_by,
        &format!(
            "the {what} of plan {} ({at}) by {}",
            plan.short_id(),
            approval.approved_by
        ),
        "approve the plan again with a signing key, or plan again",
    )?;
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
