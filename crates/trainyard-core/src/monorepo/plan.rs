//! The next version of every package at once: each from its own commits,
//! then raised where a package it depends on is released.

use serde::Serialize;

use crate::Result;
use crate::packages::{Unit, UnitKind};
use crate::version::Bump;
use crate::versioning::{self, NextReport, NextRequest};
use crate::workspace::Workspace;

/// One package's (or fixed group's) next version.
#[derive(Debug, Clone, Serialize)]
pub struct UnitNext {
    /// The package's or fixed group's name.
    pub package: String,
    /// A package or a fixed group.
    pub kind: UnitKind,
    /// The packages it releases.
    pub members: Vec<String>,
    /// The packages (or fixed groups) it depends on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Its next version and why.
    #[serde(flatten)]
    pub next: NextReport,
}

/// Every package's next version.
#[derive(Debug, Clone, Serialize)]
pub struct PackagesNext {
    /// One per package or fixed group, in configuration order.
    pub packages: Vec<UnitNext>,
}

impl PackagesNext {
    /// The entry of `name`.
    pub fn get(&self, name: &str) -> Option<&UnitNext> {
        self.packages.iter().find(|p| p.package == name)
    }
}

/// Computes every unit's next version: its own commits' bump, raised to
/// `package_paths.dependents_bump` for a package whose dependency is
/// about to be released, or was released since the package last was.
///
/// # Errors
///
/// As [`versioning::next`], and when a manifest cannot be read.
pub fn next_all(ws: &Workspace, request: &NextRequest) -> Result<PackagesNext> {
    let units = crate::packages::units(&ws.config);
    let views: Vec<Workspace> = units
        .iter()
        .map(|u| ws.for_package(&u.name))
        .collect::<Result<_>>()?;
    let mut reports: Vec<NextReport> = views
        .iter()
        .map(|view| versioning::next(view, request))
        .collect::<Result<_>>()?;
    let edges = super::dependencies::edges(ws, &units, &views)?;
    let floor = ws.config.package_paths.dependents_bump;
    if floor > Bump::None {
        // Each pass settles one more level of the dependency graph.
        for _ in 0..units.len() {
            let mut raised = false;
            for &(dependent, dependency) in &edges {
                let Some(why) = passed_on(&views, &reports, &units, dependent, dependency)? else {
                    continue;
                };
                let current = &mut reports[dependent];
                if current.release_needed && current.bump >= floor {
                    // Due anyway: the dependency is still a reason.
                    if !current.because.contains(&why) {
                        current.because.push(why);
                    }
                    continue;
                }
                let mut raised_request = request.clone();
                raised_request.at_least = Some((floor, why));
                reports[dependent] = versioning::next(&views[dependent], &raised_request)?;
                raised = true;
            }
            if !raised {
                break;
            }
        }
    }
    Ok(PackagesNext {
        packages: units
            .iter()
            .zip(reports)
            .enumerate()
            .map(|(i, (unit, mut next))| {
                // The entry names its package once.
                next.package = None;
                UnitNext {
                    package: unit.name.clone(),
                    kind: unit.kind,
                    members: unit.members.clone(),
                    depends_on: edges
                        .iter()
                        .filter(|(from, _)| *from == i)
                        .map(|(_, to)| units[*to].name.clone())
                        .collect(),
                    next,
                }
            })
            .collect(),
    })
}

/// The next version of the package `ws` is scoped to, with what its
/// dependencies pass on.
///
/// # Errors
///
/// As [`next_all`].
pub fn next_of(ws: &Workspace, request: &NextRequest) -> Result<NextReport> {
    let Some(unit) = &ws.package else {
        return versioning::next(ws, request);
    };
    let all = next_all(ws, request)?;
    match all.get(&unit.name) {
        Some(found) => {
            let mut next = found.next.clone();
            next.package = Some(unit.name.clone());
            Ok(next)
        }
        None => versioning::next(ws, request),
    }
}

/// Why `dependent` gets a release from `dependency`, if it does: the
/// dependency is about to be released, or was released since the
/// dependent last was.
fn passed_on(
    views: &[Workspace],
    reports: &[NextReport],
    units: &[Unit],
    dependent: usize,
    dependency: usize,
) -> Result<Option<String>> {
    let name = &units[dependency].name;
    let theirs = &reports[dependency];
    if theirs.release_needed
        && let Some(next) = &theirs.next
    {
        let from = theirs
            .latest
            .as_ref()
            .map_or_else(|| "unreleased".to_owned(), ToString::to_string);
        return Ok(Some(format!("dependency {name} {from} → {next}")));
    }
    let (Some(their_latest), Some(our_tag)) = (&theirs.latest, &reports[dependent].latest_tag)
    else {
        return Ok(None);
    };
    let view = &views[dependency];
    let ours = views[dependent].repo.resolve(our_tag)?;
    let tags = view.repo.version_tags(&view.config.versioning.tag_prefix)?;
    let mut at_our_release = None;
    for tag in tags
        .versions
        .iter()
        .rev()
        .filter(|t| crate::version::is_stable(&t.version))
    {
        if view.repo.is_ancestor(tag.id(), ours)? {
            at_our_release = Some(tag.version.clone());
            break;
        }
    }
    if at_our_release.as_ref() == Some(their_latest) {
        return Ok(None);
    }
    let from = at_our_release.map_or_else(|| "unreleased".to_owned(), |v| v.to_string());
    Ok(Some(format!("dependency {name} {from} → {their_latest}")))
}
