//! VERIFY: smoke tests, the original issue's check, and every target as
//! the earlier release left it.

use super::channel::channel_config;
use super::code::short;
use crate::Result;
use crate::channels::ChannelConfig;
use crate::git_cli;
use crate::rollback::plan::{ChannelPlan, CodePlan, ConfigPlan, RollbackPlan, RollbackPlanBody};
use crate::shell::Shell;
use crate::states::rollback::{RollbackState, Verification};
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
        let status = Shell::new(command, &ws.home)
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
    let mut findings = Findings::default();
    let env = [("TRAINYARD_VERSION", body.rolled_back_to.as_str())];
    let (smoke_ok, smoke_notes) = run_commands(ws, &ws.config.rollback.smoke_tests, &env);
    if ws.config.rollback.smoke_tests.is_empty() {
        findings
            .details
            .push("no smoke tests configured (rollback.smoke_tests)".into());
    }
    findings
        .details
        .extend(smoke_notes.iter().map(|n| format!("smoke test {n}")));
    if !smoke_ok {
        findings.new_issues.extend(
            smoke_notes
                .iter()
                .filter(|n| !n.ends_with("passed"))
                .cloned(),
        );
    }
    let issue_resolved = match &state.check {
        Some(check) => {
            let (ok, notes) = run_commands(ws, std::slice::from_ref(check), &env);
            findings
                .details
                .extend(notes.into_iter().map(|n| format!("issue check {n}")));
            ok
        }
        None => state.signoffs.iter().any(|s| s.key == "issue-resolved"),
    };
    if let Some(code) = &body.code {
        check_branch(ws, body, code, &mut findings)?;
    }
    for channel in &body.channels {
        check_channel(ws, body, channel, &mut findings);
    }
    for config in &body.configs {
        check_config(ws, body, config, &mut findings)?;
    }
    Ok(Verification {
        smoke_tests: if smoke_ok { "pass" } else { "fail" }.into(),
        issue_resolved,
        new_issues: findings.new_issues,
        states_match: findings.states_match,
        details: findings.details,
    })
}

/// What the verification found so far: every check in `details`, and
/// each target that does not match the earlier release a new issue too.
struct Findings {
    details: Vec<String>,
    new_issues: Vec<String>,
    states_match: bool,
}

impl Default for Findings {
    fn default() -> Self {
        Findings {
            details: Vec::new(),
            new_issues: Vec::new(),
            states_match: true,
        }
    }
}

impl Findings {
    fn mismatch(&mut self, what: String) {
        self.states_match = false;
        self.details.push(what.clone());
        self.new_issues.push(what);
    }
}

/// The branch points at the earlier release, or the paths the release
/// changed hold their earlier content.
fn check_branch(
    ws: &Workspace,
    body: &RollbackPlanBody,
    code: &CodePlan,
    findings: &mut Findings,
) -> Result<()> {
    let branch = code.branch();
    match code {
        CodePlan::DeployBranch { target, .. } => {
            let now = git_cli::commit_of(&ws.home, &format!("refs/heads/{branch}")).ok();
            if now.as_ref() == Some(target) {
                findings
                    .details
                    .push(format!("{branch} points at {}", body.to_tag));
            } else {
                findings.mismatch(format!("{branch} does not point at {}", body.to_tag));
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
                findings.details.push(format!(
                    "{branch}: the {} path(s) the release changed hold their {} content",
                    paths.len(),
                    body.rolled_back_to
                ));
            } else {
                let list: Vec<&str> = differing.lines().collect();
                findings.mismatch(format!(
                    "{branch}: {} differ from {}: {}",
                    list.len(),
                    body.rolled_back_to,
                    list.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// The rolled-back release is withdrawn from the channel, and the earlier
/// release's artifacts are there as recorded.
fn check_channel(
    ws: &Workspace,
    body: &RollbackPlanBody,
    channel: &ChannelPlan,
    findings: &mut Findings,
) {
    if let Some(dir) = &channel.withdraw {
        if dir.exists() {
            findings.mismatch(format!(
                "{}: {} is still there",
                channel.channel,
                dir.display()
            ));
        } else {
            findings.details.push(format!(
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
                _ => findings.mismatch(format!(
                    "{}: {} does not hold the recorded sha256 {}",
                    channel.channel,
                    path.display(),
                    short(&artifact.sha256)
                )),
            }
        }
        if !channel.republish.is_empty() {
            findings.details.push(format!(
                "{}: {} artifact(s) of {} match the release evidence",
                channel.channel,
                channel.republish.len(),
                body.rolled_back_to
            ));
        }
    }
}

/// The config target has the earlier release's fingerprint.
fn check_config(
    ws: &Workspace,
    body: &RollbackPlanBody,
    config: &ConfigPlan,
    findings: &mut Findings,
) -> Result<()> {
    let now = engine::target_fingerprint(ws, &config.sync_id)?;
    if now == config.rolled_back_fingerprint {
        findings.details.push(format!(
            "config {}: the target matches {}",
            config.sync_id, body.rolled_back_to
        ));
    } else {
        findings.mismatch(format!(
            "config {}: the target does not match {}",
            config.sync_id, body.rolled_back_to
        ));
    }
    Ok(())
}
