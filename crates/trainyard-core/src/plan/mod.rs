//! The plan kernel that sync and rollback share: a sealed plan (its id is
//! the hash of its body, so an edit shows), its lookup by id prefix in the
//! evidence store, and the decisions (approvals and rejections) recorded
//! on it.
//!
//! A plan is a value: it is made, sealed and recorded, decided on, and
//! then carried out exactly as recorded. Each domain keeps its own body
//! and its own rules for who may decide; what every plan has in common
//! lives here, once.

mod decision;
mod find;
mod sealed;

pub use decision::{ApproveRequest, Decision, already_decided, recorded_decisions, require_reason};
pub use find::{PlanKind, find_sealed};
pub use sealed::{SHORT_ID_LEN, Sealed, short};
