//! `version history` of every package in one pass: the history is walked
//! once, each commit classified once and attributed to its packages once,
//! and each package's releases checked against its own commits.

use serde::Serialize;

use super::attribution::Attributor;
use crate::Result;
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
    let units = super::units(&ws.config);
    let refs: Vec<&super::Unit> = units.iter().collect();
    let mut attributor = Attributor::new(&ws.repo, &refs, &ws.config.package_paths)?;
    let belongs: Vec<Vec<bool>> = commits
        .iter()
        .map(|c| attributor.units_of(c))
        .collect::<Result<_>>()?;
    let index = releases::index_of(&commits);
    let mut packages = Vec::with_capacity(units.len());
    for (u, unit) in units.iter().enumerate() {
        let tags = ws.repo.version_tags(&unit.tag_prefix)?;
        let released = releases::releases_in(&index, &tags, false);
        let owner = releases::owners(&commits, &index, &released);
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
