//! VERIFY: smoke tests, the original issue's check, and every target as
//! the earlier release left it.

use super::channel::channel_config;
use super::code::short;
use super::state::{RollbackState, Verification};
use crate::Result;
use crate::channels::ChannelConfig;
use crate::git_cli;
use crate::rollback::plan::{CodePlan, RollbackPlan};
use crate::sync::engine;
use crate::workspace::Workspace;

/// Runs each command with `sh -c` in the repository: whether all passed,
/// and what each did.
pub(super) fn run_commands(
    ws: &Workspace,
    commands: &[String],
    env: &[(&str, &str)],
) -> (bool, Vec<String>) {
    let mut notes = Vec::new();
    let mut ok = true;
    for command in commands {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(&ws.home)
            .envs(env.iter().copied())
            .status();
        match status {
            Ok(s) if s.success() => notes.push(format!("`{command}` passed")),
            Ok(s) => {
                ok = false;
                notes.push(format!(
                    "`{command}` exited with {}",
                    s.code().unwrap_or(-1)
                ));
            }
            Err(e) => {
                ok = false;
                notes.push(format!("`{command}` could not run: {e}"));
            }
        }
    }
    (ok, notes)
}

/// VERIFY: smoke tests, the original issue's check, and every target as
/// the earlier release left it.
pub(super) fn verify(
    ws: &Workspace,
    plan: &RollbackPlan,
    state: &RollbackState,
) -> Result<Verification> {
    let body = &plan.plan;
    let mut details = Vec::new();
    let mut new_issues = Vec::new();
    let env = [("TRAINYARD_VERSION", body.rolled_back_to.as_str())];
    let (smoke_ok, smoke_notes) = run_commands(ws, &ws.config.rollback.smoke_tests, &env);
    if ws.config.rollback.smoke_tests.is_empty() {
        details.push("no smoke tests configured (rollback.smoke_tests)".into());
    }
    details.extend(smoke_notes.iter().map(|n| format!("smoke test {n}")));
    if !smoke_ok {
        new_issues.extend(
            smoke_notes
                .iter()
                .filter(|n| !n.ends_with("passed"))
                .cloned(),
        );
    }
    let issue_resolved = match &state.check {
        Some(check) => {
            let (ok, notes) = run_commands(ws, std::slice::from_ref(check), &env);
            details.extend(notes.into_iter().map(|n| format!("issue check {n}")));
            ok
        }
        None => state.signoffs.iter().any(|s| s.key == "issue-resolved"),
    };
    let mut states_match = true;
    let mut mismatch = |what: String, details: &mut Vec<String>| {
        states_match = false;
        details.push(what.clone());
        new_issues.push(what);
    };
    if let Some(code) = &body.code {
        let branch = code.branch();
        match code {
            CodePlan::DeployBranch { target, .. } => {
                let now = git_cli::commit_of(&ws.home, &format!("refs/heads/{branch}")).ok();
                if now.as_ref() == Some(target) {
                    details.push(format!("{branch} points at {}", body.to_tag));
                } else {
                    mismatch(
                        format!("{branch} does not point at {}", body.to_tag),
                        &mut details,
                    );
                }
            }
            CodePlan::Revert { paths, base, .. } | CodePlan::Restore { paths, base, .. } => {
                let mut args = vec!["diff", "--name-only", base.as_str(), branch, "--"];
                args.extend(paths.iter().map(String::as_str));
                let differing = if paths.is_empty() {
                    String::new()
                } else {
                    git_cli::run(&ws.home, &args)?
                };
                if differing.trim().is_empty() {
                    details.push(format!(
                        "{branch}: the {} path(s) the release changed hold their {} content",
                        paths.len(),
                        body.rolled_back_to
                    ));
                } else {
                    let list: Vec<&str> = differing.lines().collect();
                    mismatch(
                        format!(
                            "{branch}: {} differ from {}: {}",
                            list.len(),
                            body.rolled_back_to,
                            list.join(", ")
                        ),
                        &mut details,
                    );
                }
            }
        }
    }
    for channel in &body.channels {
        if let Some(dir) = &channel.withdraw {
            if dir.exists() {
                mismatch(
                    format!("{}: {} is still there", channel.channel, dir.display()),
                    &mut details,
                );
            } else {
                details.push(format!(
                    "{}: {} withdrawn",
                    channel.channel, body.rolled_back_from
                ));
            }
        }
        if let Ok(ChannelConfig::Directory(c)) = channel_config(ws, &channel.channel) {
            let dir = ws.home.join(&c.path).join(&body.rolled_back_to);
            for artifact in &channel.republish {
                let path = dir.join(&artifact.name);
                match crate::artifacts::Artifact::from_file(&path) {
                    Ok(found) if found.sha256 == artifact.sha256 => {}
                    _ => mismatch(
                        format!(
                            "{}: {} does not hold the recorded sha256 {}",
                            channel.channel,
                            path.display(),
                            short(&artifact.sha256)
                        ),
                        &mut details,
                    ),
                }
            }
            if !channel.republish.is_empty() {
                details.push(format!(
                    "{}: {} artifact(s) of {} match the release evidence",
                    channel.channel,
                    channel.republish.len(),
                    body.rolled_back_to
                ));
            }
        }
    }
    for config in &body.configs {
        let now = engine::target_fingerprint(ws, &config.sync_id)?;
        if now == config.rolled_back_fingerprint {
            details.push(format!(
                "config {}: the target matches {}",
                config.sync_id, body.rolled_back_to
            ));
        } else {
            mismatch(
                format!(
                    "config {}: the target does not match {}",
                    config.sync_id, body.rolled_back_to
                ),
                &mut details,
            );
        }
    }
    Ok(Verification {
        smoke_tests: if smoke_ok { "pass" } else { "fail" }.into(),
        issue_resolved,
        new_issues,
        states_match,
        details,
    })
}
