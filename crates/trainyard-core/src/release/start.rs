//! `release start`: decides the version from the ledger and the unreleased
//! commits, and declares the feature freeze.

use super::{Action, Publication, ReleaseState, Step, StepName, StepPlan, state_path};
use crate::checklist;
use crate::ledger::Ledger;
use crate::version::{self, Bump};
use crate::versioning::{self, NextRequest};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// Plans `release start`. Without `kind`, the release is the bump the
/// unreleased commits call for; a lower `kind` is refused unless `force`.
pub(super) fn plan(ws: &Workspace, kind: Option<Bump>, force: bool) -> Result<StepPlan> {
    let ledger = Ledger::read(ws)?;
    if let Some(existing) = ledger.in_progress() {
        let step = existing.release_step.unwrap_or(Step::Started);
        return Err(Error::input(format!(
            "release {} is already in progress ({}): finish it with `{}` or `{}`",
            ws.release_name(&existing.version),
            step.as_str(),
            ws.command(&format!("release {}", step.next_command())),
            ws.command("release abort"),
        )));
    }
    let next = crate::monorepo::plan::next_of(ws, &NextRequest::default())?;
    let computed = next.bump;
    let kind = match kind {
        Some(kind) => kind,
        // A first release is the kind its version looks like: 0.1.0 a
        // minor, 1.0.0 a major, whatever its commits would bump.
        None if next.latest.is_none() && next.release_needed => {
            let first = versioning::first_release(ws)?.version;
            match (first.major, first.minor, first.patch) {
                (_, _, p) if p > 0 => Bump::Patch,
                (_, m, _) if m > 0 => Bump::Minor,
                _ => Bump::Major,
            }
        }
        None if computed == Bump::None || !next.release_needed => {
            return Err(Error::input(format!(
                "nothing to release: no commit since {} calls for a release; name the kind to release anyway (`{}`)",
                next.latest_tag.as_deref().unwrap_or("the start of history"),
                ws.command("release start patch|minor|major")
            )));
        }
        None => computed,
    };
    let mut messages = Vec::new();
    if kind < computed && next.latest.is_some() {
        let deciding = next
            .deciding
            .first()
            .map(|c| format!(" ({} {})", c.short_id(), c.summary))
            .unwrap_or_default();
        if !force {
            return Err(Error::input(format!(
                "the unreleased commits call for a {computed} release{deciding}, not a {}: run `{}`, or add --force to release them as a {}",
                checklist::kind_name(kind),
                ws.command(&format!("release start {computed}")),
                checklist::kind_name(kind)
            )));
        }
        messages.push(format!(
            "the unreleased commits call for a {computed} release{deciding}: started as a {} because of --force",
            checklist::kind_name(kind)
        ));
    }
    let version = if kind == computed && next.release_needed {
        match &next.next {
            Some(next) => version::release_of(next),
            None => versioning::first_release(ws)?.version,
        }
    } else {
        let wanted = match &next.latest {
            Some(latest) => version::bumped(latest, kind),
            None => versioning::first_release(ws)?.version,
        };
        crate::version::next_free(wanted, kind, &ledger.claimed())
    };
    ledger.refuse_claimed(&version, "start a release of")?;
    let head = ws.repo.head()?;
    let state = ReleaseState {
        version: version.to_string(),
        kind: checklist::kind_name(kind).into(),
        step: Step::Started,
        started_by: super::identity(ws),
        started_at: ws.now.to_string(),
        base_branch: head.branch.clone(),
        freeze_commit: Some(head.commit.clone()).filter(|_| kind != Bump::Patch),
        previous_tag: next.latest_tag.clone(),
        rcs: Vec::new(),
        validation: None,
        publication: Publication::default(),
        posted_at: None,
        signatures: std::collections::BTreeMap::new(),
    };
    if kind != Bump::Patch {
        messages.push(format!(
            "feature freeze declared at {}: from now on a feat commit on the release branch fails the freeze check",
            &head.commit[..10]
        ));
    }
    if head.branch.is_none() {
        messages.push(
            "HEAD is detached: `release post` will not merge the release back into a branch".into(),
        );
    }
    Ok(StepPlan {
        version: state.version.clone(),
        step: StepName::Start,
        actions: vec![Action::WriteState {
            path: state_path(ws, &state.version),
            step: Step::Started,
        }],
        messages,
        state,
        candidate: None,
    })
}
