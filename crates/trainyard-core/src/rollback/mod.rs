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

pub use crate::config::rollback::{Kind, RollbackConfig};
pub use crate::ledger::withdrawn;
use crate::workspace::Workspace;
use crate::{Error, Result};

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
