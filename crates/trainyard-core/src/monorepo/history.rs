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
    let units = crate::packages::units(&ws.config);
    let (commits, belongs) = walk_and_attribute(ws, &units, tip, 2048)?;
    let policy = ws.policy();
    let parsed = crate::parallel::map(&commits, |raw| raw.parse());
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
    let owners: Vec<Vec<Option<usize>>> =
        crate::parallel::map(&all_released, |r| releases::owners(&commits, &index, r));
    let indexes: Vec<usize> = (0..units.len()).collect();
    let floor = ws.config.package_paths.dependents_bump;
    let tip = tip.to_string();
    // Each package's releases are checked on their own, on all cores.
    let packages = crate::parallel::map(&indexes, |&u| {
        let unit = &units[u];
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
        UnitHistory {
            package: unit.name.clone(),
            history: versioning::history_report(tip.clone(), &policy, &ranges, unreleased),
        }
    });
    Ok(PackagesHistory { packages })
}

/// Walks the whole history from `tip` and says, for each commit, whether
/// it belongs to each unit. The trees are read while the walk goes on: the
/// walk hands batches of commits round to one reader per core, each with
/// its own repository handle, `batch` commits at a time; the comparisons
/// with parents come after.
pub(super) fn walk_and_attribute(
    ws: &Workspace,
    units: &[crate::packages::Unit],
    tip: gix::ObjectId,
    batch_size: usize,
) -> Result<(Vec<crate::history::RawCommit>, Vec<Vec<bool>>)> {
    type Probed = Vec<Option<gix::ObjectId>>;
    let refs: Vec<&crate::packages::Unit> = units.iter().collect();
    let attributor = Attributor::new(&ws.repo, &refs, &ws.config.package_paths)?;
    let prober = attributor.prober();
    let readers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (commits, probed) = std::thread::scope(|scope| -> Result<_> {
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..readers {
            let (send, receive) = std::sync::mpsc::channel::<Vec<(usize, gix::ObjectId)>>();
            let repo = ws.repo.for_tree_reads();
            let prober = &prober;
            senders.push(send);
            handles.push(scope.spawn(move || -> Result<Vec<(usize, Probed)>> {
                let mut out = Vec::new();
                for mut batch in receive {
                    if chains_run_to_older(&repo, &batch) {
                        batch.reverse();
                    }
                    for (i, tree) in batch {
                        out.push((i, prober.probe(&repo, tree)?));
                    }
                }
                Ok(out)
            }));
        }
        let mut batch = Vec::with_capacity(batch_size);
        let (mut seen, mut turn) = (0usize, 0usize);
        let walked = ws.repo.walk_all_with(tip, |commit| {
            batch.push((seen, commit.tree));
            seen += 1;
            if batch.len() >= batch_size {
                // A reader that stopped on an error reports it when joined.
                let _ = senders[turn % readers].send(std::mem::take(&mut batch));
                turn += 1;
            }
        });
        let _ = senders[turn % readers].send(batch);
        drop(senders);
        let mut probed: Vec<Probed> = vec![Vec::new(); seen];
        for handle in handles {
            let part = handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            for (i, found) in part {
                probed[i] = found;
            }
        }
        Ok((walked?, probed))
    })?;
    let index = releases::index_of(&commits);
    let belongs = commits
        .iter()
        .enumerate()
        .map(|(i, commit)| match commit.parents.first() {
            None => attributor.decide(commit, &probed[i], None),
            Some(p) => match index.get(p) {
                Some(&j) => attributor.decide(commit, &probed[i], Some(&probed[j])),
                // A parent outside the walk (past a shallow boundary).
                None => {
                    let theirs = prober.probe(&ws.repo, ws.repo.tree_of(*p)?)?;
                    attributor.decide(commit, &probed[i], Some(&theirs))
                }
            },
        })
        .collect::<Result<_>>()?;
    Ok((commits, belongs))
}

/// Whether the delta chains of the trees of `batch` (commits newest
/// first) end in older trees: then they are read oldest first, so that each
/// tree's delta base is the tree read just before it. A few neighbours
/// vote: a tree one delta deeper than its parent's is based on it.
pub(super) fn chains_run_to_older(
    repo: &crate::history::Repo,
    batch: &[(usize, gix::ObjectId)],
) -> bool {
    let depths: Vec<u32> = batch
        .iter()
        .take(9)
        .map(|(_, tree)| repo.delta_depth(*tree))
        .collect();
    let votes: i32 = depths
        .windows(2)
        .map(|pair| match pair[0].cmp(&pair[1]) {
            std::cmp::Ordering::Greater => 1,
            std::cmp::Ordering::Less => -1,
            std::cmp::Ordering::Equal => 0,
        })
        .sum();
    votes > 0
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
