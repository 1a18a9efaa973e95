//! `trainyard sync ...`: plan, approve, apply.

use trainyard_core::sync::engine::{self, ApproveRequest};

use super::{CmdResult, Context, Exit};
use crate::cli::SyncCommand;
use crate::github;
use crate::printer::{Block, paint, style};

pub fn run(ctx: &Context<'_>, command: &SyncCommand) -> CmdResult {
    let ws = ctx.workspace()?;
    let p = ctx.printer;
    match command {
        SyncCommand::List => {
            let syncs = engine::load_all(&ws)?;
            if p.json() {
                let list: Vec<_> = syncs.iter().map(|s| &s.config).collect();
                p.write_json(&list)?;
            } else {
                let mut out = String::new();
                for s in &syncs {
                    let c = &s.config;
                    out.push_str(&format!(
                        "{:<20} {:<10} {} {} -> {} {}\n",
                        c.sync_id,
                        format!("{:?}", c.kind).to_lowercase(),
                        c.source.kind.as_str(),
                        c.source.location,
                        c.target.kind.as_str(),
                        c.target.location
                    ));
                }
                p.data(&out)?;
            }
            Ok(Exit::Success)
        }
        SyncCommand::Validate { id } => {
            let results = engine::validate(&ws, id.as_deref())?;
            let ok = results.iter().all(|r| r.problems.is_empty());
            if p.json() {
                p.write_json(&results)?;
            } else {
                let mut out = String::new();
                for r in &results {
                    if r.problems.is_empty() {
                        out.push_str(&format!(
                            "{} {} ({})\n",
                            paint(style::GOOD, "valid:"),
                            r.sync_id,
                            r.file
                        ));
                    }
                    for problem in &r.problems {
                        out.push_str(&format!(
                            "{} {} ({}): {problem}\n",
                            paint(style::BAD, "invalid:"),
                            r.sync_id,
                            r.file
                        ));
                    }
                }
                p.data(&out)?;
            }
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
            if p.json() {
                p.write_json(&report)?;
            } else {
                p.data(&report.diff)?;
                let mut block = Block::default();
                block.row(
                    "plan",
                    format!("{} ({})", report.plan.plan_id, report.plan_ref),
                );
                block.row("changes", plan.diff_summary.clone());
                for conflict in &plan.conflicts {
                    block.row(
                        "conflict",
                        format!(
                            "{}: {}{}",
                            conflict.path,
                            conflict.resolution,
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
                block.row(
                    "next",
                    format!("trainyard sync approve {}", report.plan.short_id()),
                );
                p.status(&block.render())?;
            }
            Ok(if plan.result.total_changes == 0 {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
        SyncCommand::Approve {
            plan_id,
            by,
            role,
            reject,
            reason,
            override_max_delete,
        } => {
            let _lock = ws.lock()?;
            let approval = engine::approve(
                &ws,
                &ApproveRequest {
                    plan_id: plan_id.clone(),
                    by: by.clone(),
                    role: role.clone(),
                    reject: *reject,
                    reason: reason.clone(),
                    override_max_delete: *override_max_delete,
                },
            )?;
            if p.json() {
                p.write_json(&approval)?;
            } else {
                let verb = if approval.approved {
                    paint(style::GOOD, "approved:")
                } else {
                    paint(style::BAD, "rejected:")
                };
                p.status(&format!(
                    "{verb} plan {} of {} by {} ({} changes)\n",
                    &approval.plan_id[..16],
                    approval.sync_id,
                    approval.approved_by,
                    approval.result.total_changes
                ))?;
            }
            Ok(Exit::Success)
        }
        SyncCommand::Apply { plan_id } => {
            let report = engine::apply_plan(&ws, plan_id, None)?;
            github::publish(
                p,
                &format!("sync apply {}", report.log.sync_id),
                &[("changes", applied_changes(&report).to_string())],
            );
            render_apply(ctx, &report)?;
            Ok(Exit::Success)
        }
        SyncCommand::Run { id } => {
            let (plan, applied) = engine::run(&ws, id)?;
            let changes = applied.as_ref().map_or(0, applied_changes);
            github::publish(
                p,
                &format!("sync run {id}"),
                &[("changes", changes.to_string())],
            );
            match applied {
                Some(report) => render_apply(ctx, &report)?,
                None if p.json() => p.write_json(&plan)?,
                None => p.status(&format!(
                    "{} sync {id} has no changes\n",
                    paint(style::GOOD, "in sync:")
                ))?,
            }
            Ok(Exit::Success)
        }
        SyncCommand::Log { id } => {
            let logs = engine::history(&ws, id.as_deref())?;
            if p.json() {
                let list: Vec<_> = logs.iter().map(|(l, _)| l).collect();
                p.write_json(&list)?;
            } else {
                let mut out = String::new();
                for (log, path) in &logs {
                    out.push_str(&format!(
                        "{}  {:<16} {:<8} +{} ~{} -{}  {}\n",
                        log.executed_at,
                        log.sync_id,
                        log.execution.status,
                        log.execution.changes_applied.added,
                        log.execution.changes_applied.modified,
                        log.execution.changes_applied.deleted,
                        path
                    ));
                }
                p.data(&out)?;
            }
            Ok(Exit::Success)
        }
        SyncCommand::Recover { id } => {
            let _lock = ws.lock()?;
            let outcome = engine::recover(&ws, id)?;
            if p.json() {
                p.write_json(&outcome)?;
            } else {
                p.status(&format!(
                    "{} {outcome:?}\n",
                    paint(style::GOOD, "recovered:")
                ))?;
            }
            Ok(Exit::Success)
        }
        SyncCommand::Unlock { id, lock_id } => {
            engine::unlock(&ws, id, lock_id)?;
            p.status(&format!(
                "{} lock {lock_id} of {id}\n",
                paint(style::GOOD, "broke")
            ))?;
            Ok(Exit::Success)
        }
    }
}

/// How many paths an apply added, modified and deleted.
fn applied_changes(report: &engine::ApplyReport) -> usize {
    let applied = &report.log.execution.changes_applied;
    applied.added + applied.modified + applied.deleted
}

fn render_apply(ctx: &Context<'_>, report: &engine::ApplyReport) -> std::io::Result<()> {
    if ctx.printer.json() {
        return ctx.printer.write_json(report);
    }
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
    block.row(
        "verified",
        format!(
            "integrity {}, smoke tests {}",
            log.verification.integrity_verified, log.verification.smoke_tests_passed
        ),
    );
    block.row("log", report.log_ref.clone());
    ctx.printer.status(&block.render())
}
