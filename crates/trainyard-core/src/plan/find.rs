//! Finding a recorded plan by its id or a prefix of it.

use serde::Serialize;

use super::sealed::{SHORT_ID_LEN, Sealed};
use crate::evidence::{Document, EvidenceStore};
use crate::{Error, Result};

/// What kind of plan a lookup is for, as errors name it.
#[derive(Debug, Clone, Copy)]
pub struct PlanKind {
    /// How errors name one (`plan`, `rollback plan`).
    pub noun: &'static str,
    /// What "no such plan" says, before the id (`no sync plan`).
    pub missing: &'static str,
    /// The command that makes one, for the "no such plan" hint.
    pub make: &'static str,
    /// What to do about a plan document edited after it was recorded.
    pub edited_remedy: &'static str,
}

/// Finds the recorded plan of `kind` whose id starts with `id` (at least 8
/// hex digits), with its evidence path.
///
/// # Errors
///
/// Returns an [`Error::Input`] when the id is not 8+ hex digits, when no
/// plan (or more than one) matches, when a matching document was edited
/// after it was recorded or its plan after it was sealed, and when it
/// cannot be read as this kind of plan.
pub fn find_sealed<B>(
    store: &dyn EvidenceStore,
    kind: &PlanKind,
    id: &str,
) -> Result<(Sealed<B>, String)>
where
    B: Serialize,
    Sealed<B>: Document,
{
    let noun = kind.noun;
    if id.len() < 8 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::input(format!(
            "invalid {noun} id `{id}`: expected at least 8 hex digits"
        )));
    }
    let wanted = id.to_ascii_lowercase();
    let mut found: Vec<(Sealed<B>, String)> = Vec::new();
    // Plans are recorded under their short id: only those are parsed.
    let named = &wanted[..wanted.len().min(SHORT_ID_LEN)];
    for recorded in store.parsed_documents::<Sealed<B>>(named)? {
        if !recorded.intact {
            return Err(store.edited(&recorded.record, kind.edited_remedy));
        }
        let plan = match recorded.document {
            Ok(plan) => plan,
            Err(e) => {
                return Err(Error::input(format!(
                    "{e}: a {noun} this trainyard cannot read (recorded by an earlier version?) is never used: plan again"
                )));
            }
        };
        if !plan.plan_id.starts_with(&wanted) {
            continue;
        }
        if !plan.intact() {
            return Err(Error::input(format!(
                "{noun} {id} was edited after it was sealed ({}): plan again",
                recorded.record.path
            )));
        }
        // The same plan recorded twice (made twice in one second) is one
        // plan.
        if !found.iter().any(|(p, _)| p.plan_id == plan.plan_id) {
            found.push((plan, recorded.record.path));
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::input(format!(
            "{} {id}: run `{}`",
            kind.missing, kind.make
        ))),
        n => Err(Error::input(format!(
            "{n} {noun}s start with {id}: give more of the id"
        ))),
    }
}
