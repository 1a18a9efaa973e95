//! A channel action: the rolled-back release's directory withdrawn into
//! the backup, the earlier release's artifacts published again.

use std::path::Path;

use super::code::short;
use crate::channels::{self, ChannelConfig};
use crate::rollback::plan::{ChannelPlan, RollbackPlan};
use crate::states::rollback::RollbackState;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// The configuration of channel `name` of a rollback plan.
pub(in crate::rollback) fn channel_config<'a>(
    ws: &'a Workspace,
    name: &str,
) -> Result<&'a ChannelConfig> {
    ws.config
        .release
        .channels
        .iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| {
            Error::input(format!(
                "channel `{name}` of the rollback plan is no longer configured"
            ))
        })
}

/// EXECUTE, a channel action: withdraws the rolled-back release and
/// publishes the earlier one's artifacts again, as the plan says.
pub(super) fn roll_back_channel(
    ws: &Workspace,
    plan: &RollbackPlan,
    state: &RollbackState,
    channel: &ChannelPlan,
) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    if let Some(dir) = &channel.withdraw {
        notes.push(withdraw(plan, state, channel, dir)?);
    }
    if !channel.republish.is_empty() {
        notes.extend(republish(ws, plan, channel)?);
    }
    if !channel.actions.is_empty() {
        let config = channel_config(ws, &channel.channel)?;
        let release = crate::rollback::plan::withdraw_release(
            ws,
            &plan.plan.rolled_back_from,
            &plan.plan.rolled_back_to,
            config.token(&ws.home)?,
            format!(
                "rolled back to {} ({}): {}",
                plan.plan.rolled_back_to, state.trigger.issue_id, state.trigger.description
            ),
        )?;
        notes.extend(
            channels::withdraw(config, &release)?
                .into_iter()
                .map(|line| format!("{}: {line}", channel.channel)),
        );
    }
    notes.extend(
        channel
            .manual
            .iter()
            .map(|m| format!("{}: {m}", channel.channel)),
    );
    Ok(notes)
}

/// Moves the rolled-back release's directory `dir` into the backup; a
/// directory no longer there was moved already.
fn withdraw(
    plan: &RollbackPlan,
    state: &RollbackState,
    channel: &ChannelPlan,
    dir: &Path,
) -> Result<String> {
    let kept = state
        .backup_dir
        .join("channels")
        .join(&channel.channel)
        .join(&plan.plan.rolled_back_from);
    if dir.exists() {
        if let Some(parent) = kept.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
        }
        std::fs::rename(dir, &kept).map_err(|e| Error::io("cannot withdraw", dir, e))?;
    }
    Ok(format!(
        "{}: {} withdrawn (kept in {})",
        channel.channel,
        dir.display(),
        kept.display()
    ))
}

/// Publishes the earlier release's artifacts on the channel again, each
/// checked against the hash its release recorded first.
fn republish(ws: &Workspace, plan: &RollbackPlan, channel: &ChannelPlan) -> Result<Vec<String>> {
    let config = channel_config(ws, &channel.channel)?;
    let mut artifacts = Vec::new();
    for restored in &channel.republish {
        let artifact = crate::artifacts::Artifact::from_file(&restored.path)?;
        if artifact.sha256 != restored.sha256 {
            return Err(Error::input(format!(
                "{} of {} has sha256 {}, not the {} its release recorded: it cannot be published again",
                restored.path.display(),
                plan.plan.rolled_back_to,
                short(&artifact.sha256),
                short(&restored.sha256)
            )));
        }
        artifacts.push(artifact);
    }
    let artifacts_dir = channel
        .republish
        .first()
        .and_then(|a| a.path.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let token = config.token(&ws.home)?;
    let receipt = channels::publish(
        config,
        &channels::PublishRelease {
            version: plan.plan.rolled_back_to.clone(),
            tag: plan.plan.to_tag.clone(),
            repo_root: ws.home.clone(),
            artifacts_dir,
            artifacts,
            token,
            published_at: ws.now,
            title: plan.plan.to_tag.clone(),
            notes: String::new(),
            prerelease: false,
            package_dirs: ws.package_dirs(),
            artifacts_pending: false,
        },
    )?;
    Ok(receipt
        .items
        .into_iter()
        .map(|item| format!("{}: {item}", channel.channel))
        .collect())
}
