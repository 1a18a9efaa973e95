//! `trainyard sync ...`: plan, approve, apply.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::Serialize;
use trainyard_core::deadline::Deadline;
use trainyard_core::sync::config::{SyncConfig, Trigger};
use trainyard_core::sync::engine::{self, ApproveRequest};
use trainyard_core::sync::lock::LockInfo;
use trainyard_core::sync::record::{Approval, SyncLog};
use trainyard_core::sync::schedule;
use trainyard_core::versioning::Workspace;

use super::{CliError, CmdResult, Context, Exit};
use crate::cli::SyncCommand;
use crate::github;
use crate::printer::{Block, paint, style};
use crate::render::{HumanOut, Render};

pub fn run(ctx: &Context<'_>, command: &SyncCommand) -> CmdResult {
    let ws = ctx.workspace()?;
    let p = ctx.printer;
    match command {
        SyncCommand::List => {
            let syncs = engine::load_all(&ws)?;
            p.render(&SyncList(syncs.iter().map(|s| &s.config).collect()))?;
            Ok(Exit::Success)
        }
        SyncCommand::Validate { id } => {
            let results = engine::validate(&ws, id.as_deref())?;
            let ok = results.iter().all(|r| r.problems.is_empty());
            p.render(&Validations(&results))?;
            Ok(if ok { Exit::Success } else { Exit::Failure })
        }
        SyncCommand::Plan { id, exact } => {
            let report = engine::plan(&ws, id, *exact)?;
            let plan = &report.plan.plan;
            github::publish(
                p,
                &format!("sync plan {id}"),
                &[
                    ("plan_id", report.plan.plan_id.clone()),
                    ("changes", plan.result.total_changes.to_string()),
                ],
            );
            p.render(&Planned {
                ws: &ws,
                report: &report,
            })?;
            Ok(if plan.result.total_changes == 0 {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
        SyncCommand::Approve {
            decision,
            override_max_delete,
        } => {
            let _lock = ws.lock()?;
            let approval = engine::approve(
                &ws,
                &ApproveRequest {
                    override_max_delete: *override_max_delete,
                    ..decision.request()
                },
            )?;
            p.render(&Decided(&approval))?;
            super::unverified_notice(ctx, &ws)?;
            Ok(Exit::Success)
        }
        SyncCommand::Apply { plan_id } => {
            let report = engine::apply_plan(&ws, plan_id, None)?;
            github::publish(
                p,
                &format!("sync apply {}", report.log.sync_id),
                &[("changes", applied_changes(&report).to_string())],
            );
            p.render(&Applied(&report))?;
            if !report
                .log
                .approval
                .approved_by
                .as_deref()
                .unwrap_or_default()
                .ends_with("(automatic)")
            {
                super::unverified_notice(ctx, &ws)?;
            }
            Ok(verified(&report))
        }
        SyncCommand::Run { id } => {
            let (plan, applied) = engine::run(&ws, id)?;
            let changes = applied.as_ref().map_or(0, applied_changes);
            github::publish(
                p,
                &format!("sync run {id}"),
                &[("changes", changes.to_string())],
            );
            match &applied {
                Some(report) => p.render(&Applied(report))?,
                None => p.render(&InSync { id, plan: &plan })?,
            }
            Ok(applied.as_ref().map_or(Exit::Success, verified))
        }
        SyncCommand::Log { id } => {
            let logs = engine::history(&ws, id.as_deref())?;
            p.render(&History(&logs))?;
            Ok(Exit::Success)
        }
        SyncCommand::Recover { id } => {
            let _lock = ws.lock()?;
            let recovery = engine::recover(&ws, id)?;
            // Then the logs its applies still owe, the recovered ones aside.
            let logged = engine::settle_logs(&ws, id)?;
            p.render(&Recovered {
                recovery: &recovery,
                logged: &logged,
            })?;
            Ok(Exit::Success)
        }
        SyncCommand::Unlock { id, lock_id } => {
            let broken = engine::unlock(&ws, id, lock_id)?;
            p.render(&BrokenLock {
                lock_id,
                broken: &broken,
            })?;
            Ok(Exit::Success)
        }
        SyncCommand::Due { at, on_release } => {
            let at = at.unwrap_or(ws.now);
            let due = schedule::due(&ws, at, on_release.as_deref())?;
            p.render(&DueSyncs { at, due: &due })?;
            Ok(Exit::Success)
        }
        SyncCommand::Daemon { interval, once } => daemon(ctx, ws, *interval, *once),
    }
}

/// `sync list`: the configured syncs, one line each.
#[derive(Serialize)]
#[serde(transparent)]
struct SyncList<'a>(Vec<&'a SyncConfig>);

impl Render for SyncList<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let mut text = String::new();
        for c in &self.0 {
            text.push_str(&format!(
                "{:<20} {:<10} {} {} -> {} {}\n",
                c.sync_id,
                format!("{:?}", c.kind).to_lowercase(),
                c.source.kind.as_str(),
                c.source.location,
                c.target.kind.as_str(),
                c.target.location
            ));
        }
        Ok(out.data(&text)?)
    }
}

/// `sync validate`: each sync configuration, valid or with its problems.
#[derive(Serialize)]
#[serde(transparent)]
struct Validations<'a>(&'a [engine::Validation]);

impl Render for Validations<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let mut text = String::new();
        for r in self.0 {
            if r.problems.is_empty() {
                text.push_str(&format!(
                    "{} {} ({})\n",
                    paint(style::GOOD, "valid:"),
                    r.sync_id,
                    r.file
                ));
            }
            for problem in &r.problems {
                text.push_str(&format!(
                    "{} {} ({}): {problem}\n",
                    paint(style::BAD, "invalid:"),
                    r.sync_id,
                    r.file
                ));
            }
        }
        Ok(out.data(&text)?)
    }
}

/// `sync plan`: the recorded diff on stdout, the plan's summary on stderr.
struct Planned<'a> {
    /// Where the diff is read back from.
    ws: &'a Workspace,
    report: &'a engine::PlanReport,
}

impl Serialize for Planned<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        engine::PlanJson::new(self.ws, self.report).serialize(serializer)
    }
}

impl Render for Planned<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let report = self.report;
        let plan = &report.plan.plan;
        // The diff as recorded: written as it is read back, however
        // large.
        engine::write_diff(self.ws, &report.plan, &mut out.data_writer())?;
        let mut block = Block::default();
        block.row(
            "plan",
            format!("{} ({})", report.plan.plan_id, report.plan_ref),
        );
        block.row("changes", plan.diff_summary.clone());
        for conflict in &report.conflicts {
            block.row(
                "conflict",
                format!(
                    "{}: {}{}",
                    conflict.path,
                    conflict.resolution.as_str(),
                    conflict
                        .detail
                        .as_ref()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
            );
        }
        if plan.exceeds_max_delete {
            block.row(
                "max_delete",
                paint(
                    style::WARN,
                    "exceeded: the approval must pass --override-max-delete",
                ),
            );
        }
        if plan.result.total_changes > 0 {
            block.row(
                "next",
                format!("trainyard sync approve {}", report.plan.short_id()),
            );
        }
        Ok(out.status(&block.render())?)
    }
}

/// `sync approve`: the decision recorded on a plan.
#[derive(Serialize)]
#[serde(transparent)]
struct Decided<'a>(&'a Approval);

impl Render for Decided<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let approval = self.0;
        let verb = if approval.approved {
            paint(style::GOOD, "approved:")
        } else {
            paint(style::BAD, "rejected:")
        };
        Ok(out.status(&format!(
            "{verb} plan {} of {} by {} ({} changes){}\n",
            &approval.plan_id[..16],
            approval.sync_id,
            approval.approved_by,
            approval.result.total_changes,
            approval
                .signature
                .as_ref()
                .map(|s| format!(", signed with key {}", s.key))
                .unwrap_or_default()
        ))?)
    }
}

/// `sync run` when there was nothing to apply: the plan that found no
/// changes.
#[derive(Serialize)]
#[serde(transparent)]
struct InSync<'a> {
    #[serde(skip)]
    id: &'a str,
    plan: &'a engine::PlanReport,
}

impl Render for InSync<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        Ok(out.status(&format!(
            "{} sync {} has no changes\n",
            paint(style::GOOD, "in sync:"),
            self.id
        ))?)
    }
}

/// `sync log`: the recorded applies, one line each with its log's path.
struct History<'a>(&'a [(SyncLog, String)]);

impl Serialize for History<'_> {
    // The logs alone: where each is stored is for people.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(log, _)| log))
    }
}

impl Render for History<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let mut text = String::new();
        for (log, path) in self.0 {
            text.push_str(&format!(
                "{}  {:<16} {:<8} +{} ~{} -{}  {}\n",
                log.executed_at,
                log.sync_id,
                log.execution.status.as_str(),
                log.execution.changes_applied.added,
                log.execution.changes_applied.modified,
                log.execution.changes_applied.deleted,
                path
            ));
        }
        Ok(out.data(&text)?)
    }
}

/// `sync recover`: what an interrupted apply became, and the logs settled
/// after it.
#[derive(Serialize)]
struct Recovered<'a> {
    #[serde(flatten)]
    recovery: &'a engine::Recovery,
    logged: &'a [engine::SettledLog],
}

impl Render for Recovered<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        use trainyard_core::sync::apply::RecoveryAction;
        let recovery = self.recovery;
        let mut block = Block::default();
        if let Some(gone) = &recovery.cleared_lock {
            block.row(
                "lock",
                format!(
                    "cleared lock {} of {} (process {}, no longer running) since {}",
                    gone.id, gone.owner, gone.pid, gone.acquired_at
                ),
            );
        }
        for applied in &recovery.applies {
            let outcome = &applied.outcome;
            let what = match outcome.action {
                RecoveryAction::RolledBack => format!(
                    "rolled back: the target is as it was before the apply ({} temporary file(s) removed)",
                    outcome.temps_removed
                ),
                RecoveryAction::RolledForward => format!(
                    "rolled forward: the target holds the plan ({} renamed, {} deleted now)",
                    outcome.renamed, outcome.deleted
                ),
                RecoveryAction::AlreadyCommitted => "the apply had finished; nothing to do".into(),
                RecoveryAction::AlreadyAborted => "the apply had been undone; nothing to do".into(),
                RecoveryAction::NothingToRecover => "no interrupted apply".into(),
            };
            if let Some(apply_id) = &outcome.apply_id {
                block.row("apply", format!("{apply_id} (sync {})", applied.sync_id));
            }
            block.row("recovered", what);
            if let Some(log_ref) = &applied.log_ref {
                block.row("log", log_ref.clone());
            }
        }
        if recovery.applies.is_empty() {
            block.row(
                "recovered",
                recovery
                    .note
                    .clone()
                    .unwrap_or_else(|| "no interrupted apply".into()),
            );
        }
        for settled in self.logged {
            block.row(
                "logged",
                format!(
                    "{} ({}), owed by apply {}",
                    settled.log_ref, settled.status, settled.execution_id
                ),
            );
        }
        Ok(out.status(&block.render())?)
    }
}

/// `sync unlock`: the stale lock broken.
#[derive(Serialize)]
#[serde(transparent)]
struct BrokenLock<'a> {
    #[serde(skip)]
    lock_id: &'a str,
    broken: &'a LockInfo,
}

impl Render for BrokenLock<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let broken = self.broken;
        Ok(out.status(&format!(
            "{} lock {} of sync target {} (held by {}, process {}, no longer running, since {})\n",
            paint(style::GOOD, "broke"),
            self.lock_id,
            broken.target,
            broken.owner,
            broken.pid,
            broken.acquired_at
        ))?)
    }
}

/// `sync due`: the syncs due at a time, and why.
#[derive(Serialize)]
#[serde(transparent)]
struct DueSyncs<'a> {
    #[serde(skip)]
    at: Timestamp,
    due: &'a [schedule::Due],
}

impl Render for DueSyncs<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        if self.due.is_empty() {
            out.status(&format!("no sync is due at {}\n", self.at))?;
            return Ok(());
        }
        let mut text = String::new();
        for d in self.due {
            let trigger = match d.trigger {
                Trigger::Manual => "manual",
                Trigger::OnRelease => "on_release",
                Trigger::Cron => "cron",
            };
            text.push_str(&format!("{:<20} {trigger:<10} {}\n", d.sync_id, d.why));
        }
        Ok(out.data(&text)?)
    }
}

/// `sync daemon`: runs what is due, prints one line per outcome, sleeps;
/// SIGTERM or SIGINT stops it between syncs or while it sleeps.
fn daemon(ctx: &Context<'_>, first: Workspace, interval: u64, once: bool) -> CmdResult {
    let p = ctx.printer;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(|e| {
            trainyard_core::Error::environment(format!("cannot handle signal {signal}: {e}"))
        })?;
    }
    let stopping = || stop.load(Ordering::SeqCst);
    if !once {
        p.status(&format!(
            "sync daemon: looking every {interval}s; SIGTERM or SIGINT stops it\n"
        ))?;
    }
    let mut next = Some(first);
    let mut failed = false;
    loop {
        // A fresh workspace each time: the configuration as it is now.
        let ws = match next.take() {
            Some(ws) => Ok(ws),
            None => ctx.workspace(),
        };
        let ran = ws.and_then(|ws| {
            schedule::run_due_until(&ws, ws.now, None, &stopping).map(|o| (ws.now, o))
        });
        match ran {
            Ok((at, outcomes)) => {
                for outcome in &outcomes {
                    failed |= outcome.status == schedule::Status::Failed;
                    let line = if p.json() {
                        serde_json::to_string(outcome).map_err(std::io::Error::other)?
                    } else {
                        format!("{at} {outcome}")
                    };
                    p.data(&format!("{line}\n"))?;
                }
            }
            Err(e) if once => return Err(e.into()),
            Err(e) => p.status(&format!("{} {e}\n", paint(style::BAD, "error:")))?,
        }
        if once || stopping() {
            break;
        }
        // An interval too long for the clock waits for a signal.
        let until = Deadline::after(Duration::from_secs(interval));
        while !stopping() {
            let left = until.left(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(100)));
        }
        if stopping() {
            break;
        }
    }
    if stopping() {
        p.status("sync daemon: stopped\n")?;
    }
    Ok(if once && failed {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// How many paths an apply added, modified and deleted.
fn applied_changes(report: &engine::ApplyReport) -> usize {
    let applied = &report.log.execution.changes_applied;
    applied.added + applied.modified + applied.deleted
}

/// Exit 1 when the smoke tests failed: the changes are applied, but a
/// check did not pass.
fn verified(report: &engine::ApplyReport) -> Exit {
    if report.log.verification.smoke_tests_passed {
        Exit::Success
    } else {
        Exit::Failure
    }
}

/// `sync apply`, and `sync run` when it applied: what changed, who
/// approved it, what was verified and who was told.
#[derive(Serialize)]
#[serde(transparent)]
struct Applied<'a>(&'a engine::ApplyReport);

impl Render for Applied<'_> {
    fn human(&self, out: &HumanOut<'_>) -> Result<(), CliError> {
        let report = self.0;
        let log = &report.log;
        let mut block = Block::default();
        block.row(
            "applied",
            format!(
                "+{} ~{} -{} to {}",
                log.execution.changes_applied.added,
                log.execution.changes_applied.modified,
                log.execution.changes_applied.deleted,
                log.sync_id
            ),
        );
        if let Some(by) = &log.approval.approved_by {
            block.row("approved", by.clone());
        }
        block.row(
            "verified",
            format!(
                "integrity {}, smoke tests {}",
                log.verification.integrity_verified, log.verification.smoke_tests_passed
            ),
        );
        block.row("log", report.log_ref.clone());
        for delivery in &report.notifications {
            block.row(
                "notified",
                if delivery.ok {
                    format!("{}: {}", delivery.target, delivery.message)
                } else {
                    format!(
                        "{} {}: {}",
                        paint(style::WARN, "failed"),
                        delivery.target,
                        delivery.message
                    )
                },
            );
        }
        Ok(out.status(&block.render())?)
    }
}
