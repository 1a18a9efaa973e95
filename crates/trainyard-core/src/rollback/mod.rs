//! Rollback: which rollback a situation calls for ([`decision`]), the
//! sealed dry-run of one ([`plan`]), carrying it out through the spec's
//! RB-IMM or RB-PLN procedure with its checklist, verification and
//! `rollback_evidence` ([`procedure`]), undoing one that stopped half-way
//! ([`abort`]), and rehearsing it on scratch copies ([`rehearse`]).

pub mod abort;
pub mod decision;
pub mod plan;
pub mod procedure;
pub mod rehearse;

use serde::{Deserialize, Serialize};

pub use crate::config::rollback::RollbackConfig;
use crate::workspace::Workspace;
use crate::{Error, Result};

/// The spec's rollback types.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The whole release, now (RB-IMM).
    #[default]
    Immediate,
    /// The whole release, on a schedule, after approval (RB-PLN).
    Planned,
    /// Only the named components.
    Partial,
    /// Only the configuration syncs.
    Config,
}

impl Kind {
    /// The type's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Immediate => "immediate",
            Kind::Planned => "planned",
            Kind::Partial => "partial",
            Kind::Config => "config",
        }
    }
}

/// `rollback assess`: the decision for a severity and an impact.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the configured matrix lacks the
/// severity.
pub fn assess(
    ws: &Workspace,
    severity: decision::Severity,
    impact: decision::Impact,
) -> Result<decision::Assessment> {
    let c = &ws.config.rollback;
    decision::assess(&c.matrix, &c.quick_guide, severity, impact)
}

/// The versions rolled back and not superseded: a completed full rollback
/// from them, and no release published after it. Automation (on-release
/// and scheduled syncs) must not deploy them again.
///
/// # Errors
///
/// Returns an error when a rollback or release state cannot be read.
pub fn withdrawn(ws: &Workspace) -> Result<Vec<String>> {
    let rollbacks = procedure::all(ws)?;
    let releases = crate::release::all(ws)?;
    let mut out = Vec::new();
    for rollback in rollbacks {
        if !rollback.is_complete() || matches!(rollback.kind, Kind::Config | Kind::Partial) {
            continue;
        }
        let Ok(from) = crate::version::parse(&rollback.rolled_back_from) else {
            continue;
        };
        let superseded = releases.iter().any(|r| {
            r.publication
                .published_at
                .as_deref()
                .is_some_and(|at| at > rollback.completed_at.as_deref().unwrap_or_default())
                && r.version()
                    .is_ok_and(|v| v.cmp_precedence(&from) == std::cmp::Ordering::Greater)
        });
        if !superseded && !out.contains(&rollback.rolled_back_from) {
            out.push(rollback.rolled_back_from.clone());
        }
    }
    Ok(out)
}

/// Refuses to deploy `version` automatically when it was rolled back.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the rollback when it was.
pub fn refuse_withdrawn(ws: &Workspace, version: &str) -> Result<()> {
    if withdrawn(ws)?.iter().any(|v| v == version) {
        return Err(Error::input(format!(
            "{version} was rolled back: automation does not deploy it again until a newer release supersedes it"
        )));
    }
    Ok(())
}
