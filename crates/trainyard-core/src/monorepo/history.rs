//! `version history` of every package in one pass: the history is walked
//! once, each commit classified once and attributed to its packages once,
//! and each package's releases checked against its own commits.

use serde::Serialize;

use crate::Result;
use crate::packages::attribution::Attributor;
use crate::releases;
use crate::versioning::{self, HistoryReport, RangeSummary};
use crate::workspace::Workspace;

/// One package's release history.
#[derive(Debug, Clone, Serialize)]
pub struct UnitHistory {
    /// The package or fixed group.
    pub package: String,
    /// Its releases, checked.
    #[serde(flatten)]
    pub history: HistoryReport,
}

/// Every package's release history.
#[derive(Debug, Clone, Serialize)]
pub struct PackagesHistory {
    /// One per package or fixed group, in configuration order.
    pub packages: Vec<UnitHistory>,
}

/// Reads the whole history once and checks every package's releases.
///
/// # Errors
///
/// Returns an [`Error::Input`](crate::Error::Input) for a bad revision,
/// and an error when the history cannot be read.
pub fn history_all(ws: &Workspace, rev: Option<&str>) -> Result<PackagesHistory> {
    let tip = ws.repo.resolve(rev.unwrap_or("HEAD"))?;
    let commits = ws.repo.walk_all(tip)?;
    let policy = ws.policy();
    let parsed = crate::parallel::map(&commits, |raw| raw.parse());
    let units = crate::packages::units(&ws.config);
    let belongs = attribute_all(ws, &units, &commits)?;
    let index = releases::index_of(&commits);
    let views: Vec<Workspace> = units
        .iter()
        .map(|u| ws.for_package(&u.name))
        .collect::<Result<_>>()?;
    let edges = super::dependencies::edges(ws, &units, &views)?;
    let refs = ws.repo.tag_refs()?;
    let scans: Vec<crate::history::TagScan> = units
        .iter()
        .map(|u| crate::history::TagScan::of(&refs, &u.tag_prefix))
        .collect();
    let all_released: Vec<Vec<&crate::history::VersionTag>> = scans
        .iter()
        .map(|tags| releases::releases_in(&index, tags, false))
        .collect();
    let owners: Vec<Vec<Option<usize>>> = all_released
        .iter()
        .map(|r| releases::owners(&commits, &index, r))
        .collect();
    let mut packages = Vec::with_capacity(units.len());
    for (u, unit) in units.iter().enumerate() {
        let released = &all_released[u];
        let owner = &owners[u];
        let mut summaries = vec![(0usize, RangeSummary::default()); released.len()];
        let mut unreleased = 0;
        for (i, commit) in parsed.iter().enumerate() {
            if !belongs[i][u] {
                continue;
            }
            match owner[i] {
                Some(n) => {
                    summaries[n].0 += 1;
                    summaries[n].1.add(commit, &policy);
                }
                None => unreleased += 1,
            }
        }
        let floor = ws.config.package_paths.dependents_bump;
        for &(_, d) in edges.iter().filter(|(v, _)| *v == u) {
            let at = |tag: &crate::history::VersionTag| -> Option<usize> {
                dependency_at(index[&tag.id()], &all_released[d], &owners[d], &index)
            };
            // The newest commit of the dependency at or below each commit
            // (the walk lists a linear history newest first).
            let mut newest_below = vec![None; commits.len()];
            let mut seen = None;
            for i in (0..commits.len()).rev() {
                if belongs[i][d] {
                    seen = Some(i);
                }
                newest_below[i] = seen;
            }
            for n in 1..released.len() {
                let (now, before) = (at(released[n]), at(released[n - 1]));
                // The dependency was released since, or has changes of its
                // own that no release of it had by then.
                let due = newest_below[index[&released[n].id()]]
                    .is_some_and(|i| owners[d][i].is_none_or(|k| now.is_none_or(|at| k > at)));
                if now != before || due {
                    summaries[n].1.raised = summaries[n].1.raised.max(floor);
                }
            }
        }
        let ranges: Vec<_> = released
            .iter()
            .zip(summaries)
            .map(|(tag, (count, summary))| (*tag, count, summary))
            .collect();
        packages.push(UnitHistory {
            package: unit.name.clone(),
            history: versioning::history_report(tip.to_string(), &policy, &ranges, unreleased),
        });
    }
    Ok(PackagesHistory { packages })
}

/// For each commit, whether it belongs to each unit: the commits split in
/// one contiguous run per core, each attributed with its own repository
/// handle (a handle's caches are not shared between threads).
fn attribute_all(
    ws: &Workspace,
    units: &[crate::packages::Unit],
    commits: &[crate::history::RawCommit],
) -> Result<Vec<Vec<bool>>> {
    let refs: Vec<&crate::packages::Unit> = units.iter().collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = commits.len().div_ceil(threads).max(1);
    let paths = &ws.config.package_paths;
    let parts: Vec<Result<Vec<Vec<bool>>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = commits
            .chunks(chunk)
            .map(|part| {
                let repo = ws.repo.for_tree_reads();
                let refs = &refs;
                scope.spawn(move || {
                    let mut attributor = Attributor::new(&repo, refs, paths)?;
                    attributor.know_trees(commits);
                    part.iter().map(|c| attributor.units_of(c)).collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(commits.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// The dependency's release in effect at the commit `at`: the one tagged
/// on it, or else the one before the first release that contains it (on
/// a history whose releases follow one another, the latest one
/// reachable).
fn dependency_at(
    at: usize,
    released: &[&crate::history::VersionTag],
    owner: &[Option<usize>],
    index: &gix::hashtable::HashMap<gix::ObjectId, usize>,
) -> Option<usize> {
    if let Some(k) = released.iter().rposition(|t| index[&t.id()] == at) {
        return Some(k);
    }
    match owner[at] {
        Some(0) => None,
        Some(k) => Some(k - 1),
        None => released.len().checked_sub(1),
    }
}
