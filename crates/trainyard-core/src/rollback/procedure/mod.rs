//! Carrying a rollback out: the spec's RB-IMM (detect, decide, execute,
//! verify, communicate, document) or RB-PLN (assess, approve, prepare,
//! execute, verify, close), as a state machine persisted in
//! `.trainyard/rollbacks/<id>.yaml` after every step.
//!
//! The execution is journaled there too: each action (the branch, each
//! channel, each config sync) is marked `started` before its effect and
//! `done` after it, and every action can tell from the world whether its
//! effect happened (the branch holds a commit with this rollback's
//! `Rollback-Id:` trailer, the withdrawn directory is in the backup, the
//! config target has the rolled-back fingerprint). So a run killed at any
//! point is finished by `rollback resume`, never done twice.

mod approval;
mod channel;
mod checklist;
mod code;
mod communicate;
mod config;
mod evidence;
mod execute;
mod prepare;
mod report;
mod resume;
mod start;
mod verify;

pub use crate::plan::ApproveRequest;
pub(super) use crate::states::rollback::save;
pub use crate::states::rollback::{
    ActionRecord, FollowUp, RollbackState, Signoff, Status, StepRecord, Trigger, Verification, all,
    load, state_dir,
};
pub use approval::{PlanApproval, approve};
pub(super) use channel::channel_config;
pub use checklist::{CheckedBy, ChecklistRow, Phase, RowStatus, checklist, signoff};
pub(super) use code::short;
pub(crate) use evidence::EvidenceDocument;
pub use evidence::{
    DocumentRequest, EvidenceExecution, EvidenceFollowUp, EvidenceTrigger, EvidenceVerification,
    EvidenceVersions, RollbackEvidence, document, evidence_of,
};
pub use execute::CRASH_AFTER_ENV;
pub(crate) use prepare::copy_tree;
pub use report::RollbackReport;
pub(super) use report::report;
pub use resume::resume;
pub use start::{StartRequest, preview, start};
