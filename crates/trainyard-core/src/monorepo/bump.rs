//! `version bump` in a monorepo: one package's version, or every package
//! due for a release, written with their dependents' requirements and the
//! lockfiles in one plan.

use serde::Serialize;

use super::plan::{next_all, next_of};
use crate::manifest::{self, BumpPlan, ManifestSpec, PackageBump};
use crate::version::Version;
use crate::versioning::{self, BumpReport, BumpRequest, BumpTarget};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// Every manifest of the repository but those of `except`: where
/// requirements on a bumped package may be, the root's included.
fn other_manifests(ws: &Workspace, except: &[&str]) -> Result<Vec<ManifestSpec>> {
    let mut out = manifest::detect(&ws.root)?;
    for unit in crate::packages::units(&ws.config) {
        if except.contains(&unit.name.as_str()) {
            continue;
        }
        out.extend(crate::packages::manifests_of(&ws.root, &unit)?);
    }
    Ok(out)
}

/// Plans the bump of the package `ws` is scoped to: its version chosen
/// as `version next --package` chooses it (dependencies included), its
/// manifests, its dependents' requirements on it and the lockfiles.
///
/// # Errors
///
/// As [`versioning::plan_bump`].
pub fn plan_one(ws: &Workspace, request: &BumpRequest) -> Result<BumpReport> {
    if ws.package.is_none() {
        return versioning::plan_bump(ws, request);
    }
    let auto = next_of(ws, &versioning::next_request_for(request))?;
    versioning::plan_bump_after(ws, request, auto, |specs, version| {
        plan_files(ws, specs, version)
    })
}

/// The edits that write `version` into `specs`: in a package's view, its
/// dependents' requirements on it and the lockfiles too.
///
/// # Errors
///
/// Returns an error when a manifest or lockfile is missing or malformed,
/// or a requirement cannot be rewritten.
pub fn plan_files(ws: &Workspace, specs: &[ManifestSpec], version: &Version) -> Result<BumpPlan> {
    let Some(unit) = &ws.package else {
        return manifest::plan_bump(&ws.root, specs, version);
    };
    let others = other_manifests(ws, &[unit.name.as_str()])?;
    manifest::plan_package_bumps(
        &ws.root,
        &[PackageBump {
            specs: specs.to_vec(),
            version: version.clone(),
        }],
        &others,
    )
}

/// One package's part of a monorepo bump.
#[derive(Debug, Clone, Serialize)]
pub struct PackageVersion {
    /// The package or fixed group.
    pub package: String,
    /// Its latest release, if any.
    pub current: Option<Version>,
    /// The version written.
    pub version: Version,
    /// Its tag.
    pub tag: String,
}

/// Every due package's version and the edits that write them.
#[derive(Debug, Clone, Serialize)]
pub struct MonorepoBump {
    /// The packages bumped.
    pub packages: Vec<PackageVersion>,
    /// The edits, one per file.
    pub plan: BumpPlan,
}

/// Plans the bump of every package due for a release, each to its next
/// version, in one plan.
///
/// # Errors
///
/// Returns an [`Error::Input`] when no package is due, or when the target
/// is not the commits' own (`--major`, `--set` ... name one package), and
/// as [`versioning::plan_bump`].
pub fn plan_all(ws: &Workspace, request: &BumpRequest) -> Result<MonorepoBump> {
    if request.target != BumpTarget::Auto {
        return Err(Error::input(
            "--major, --minor, --patch, --pre and --set choose one package's version: name it with --package",
        ));
    }
    let all = next_all(ws, &versioning::next_request_for(request))?;
    let mut packages = Vec::new();
    let mut bumps = Vec::new();
    for unit in all.packages.iter().filter(|p| p.next.release_needed) {
        let Some(version) = unit.next.next.clone() else {
            continue;
        };
        let view = ws.for_package(&unit.package)?;
        let specs = view.manifests()?;
        versioning::refuse_backwards(&view, &specs, &version)?;
        packages.push(PackageVersion {
            package: unit.package.clone(),
            current: unit.next.latest.clone(),
            tag: view.tag_name(&version),
            version: version.clone(),
        });
        bumps.push(PackageBump { specs, version });
    }
    if packages.is_empty() {
        return Err(Error::input(
            "nothing to release: no package has a commit that calls for a new version",
        ));
    }
    let names: Vec<&str> = packages.iter().map(|p| p.package.as_str()).collect();
    let plan = manifest::plan_package_bumps(&ws.root, &bumps, &other_manifests(ws, &names)?)?;
    if !request.allow_dirty {
        versioning::refuse_dirty(ws, &plan)?;
    }
    Ok(MonorepoBump { packages, plan })
}

/// Writes a planned monorepo bump and records one `version_bump`
/// evidence document per package, each with the whole diff.
///
/// # Errors
///
/// As [`versioning::apply_bump`].
pub fn apply_all(ws: &Workspace, bump: &MonorepoBump) -> Result<Vec<String>> {
    manifest::apply(&ws.root, &bump.plan)?;
    let mut evidence = Vec::new();
    for package in &bump.packages {
        let view = ws.for_package(&package.package)?;
        let report = BumpReport {
            current: package.current.clone(),
            version: package.version.clone(),
            plan: bump.plan.clone(),
        };
        evidence.extend(versioning::record_bump(&view, &report)?);
    }
    Ok(evidence)
}
