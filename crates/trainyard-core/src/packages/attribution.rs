//! Which commits belong to which package: a commit belongs to a package
//! when it changes something under the package's paths (or the shared
//! ones), leaving out ignored files, or when its scope is the package's.
//!
//! A commit's change at a path is read by comparing the tree entry at that
//! path in the commit and in its first parent: the same id means nothing
//! under it changed, so no commit is diffed in full and a history of any
//! length costs a few tree reads per commit, shared by every package.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use gix::ObjectId;
use gix::bstr::{BString, ByteSlice};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::Unit;
use crate::config::packages::PackagePathsConfig;
use crate::history::{RawCommit, Repo, TreeEntries};
use crate::{Error, Result};

/// The paths and scopes that make a commit one unit's.
#[derive(Debug, Clone)]
pub struct PathScope {
    /// Indexes into the attributor's path table: the unit's own paths and
    /// the shared ones.
    paths: Vec<usize>,
    scopes: Vec<String>,
}

/// Attributes commits to units, reading each tree once for all of them.
pub struct Attributor<'r> {
    repo: &'r Repo,
    /// Every distinct path any unit counts, split into components.
    table: Vec<Vec<BString>>,
    scopes: Vec<PathScope>,
    ignored: Option<GlobSet>,
    trees: TreeCache,
    probes: HashMap<ObjectId, Rc<Vec<Option<ObjectId>>>>,
}

impl<'r> Attributor<'r> {
    /// An attributor for `units` with the repository's shared and ignored
    /// paths.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] for an ignored pattern that does not
    /// parse.
    pub fn new(repo: &'r Repo, units: &[&Unit], paths: &PackagePathsConfig) -> Result<Self> {
        let mut table: Vec<Vec<BString>> = Vec::new();
        let mut index_of = |path: &Path| -> usize {
            let parts = components(path);
            match table.iter().position(|p| *p == parts) {
                Some(i) => i,
                None => {
                    table.push(parts);
                    table.len() - 1
                }
            }
        };
        let shared: Vec<usize> = paths.shared.iter().map(|p| index_of(p)).collect();
        let scopes = units
            .iter()
            .map(|unit| PathScope {
                paths: unit
                    .paths
                    .iter()
                    .map(|p| index_of(p))
                    .chain(shared.iter().copied())
                    .collect(),
                scopes: unit.scopes.iter().map(|s| s.to_ascii_lowercase()).collect(),
            })
            .collect();
        let ignored = if paths.ignored.is_empty() {
            None
        } else {
            let mut set = GlobSetBuilder::new();
            for (i, pattern) in paths.ignored.iter().enumerate() {
                let glob = GlobBuilder::new(pattern)
                    .literal_separator(true)
                    .build()
                    .map_err(|e| {
                        Error::input(format!("package_paths.ignored[{i}]: `{pattern}`: {e}"))
                    })?;
                set.add(glob);
            }
            Some(
                set.build()
                    .map_err(|e| Error::input(format!("package_paths.ignored: {e}")))?,
            )
        };
        Ok(Attributor {
            repo,
            table,
            scopes,
            ignored,
            trees: TreeCache::default(),
            probes: HashMap::new(),
        })
    }

    /// For each unit (in the order given to [`Attributor::new`]), whether
    /// `commit` belongs to it.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when a tree cannot be read.
    pub fn units_of(&mut self, commit: &RawCommit) -> Result<Vec<bool>> {
        let mine = self.probe(commit.tree)?;
        let parent = match commit.parents.first() {
            Some(p) => Some(self.probe(self.repo.tree_of(*p)?)?),
            None => None,
        };
        let changed: Vec<bool> = (0..self.table.len())
            .map(|i| {
                let before = parent.as_ref().and_then(|p| p[i]);
                let after = mine[i];
                if before == after {
                    return Ok(false);
                }
                match &self.ignored {
                    None => Ok(true),
                    Some(_) => self.changes_beyond_ignored(i, before, after),
                }
            })
            .collect::<Result<_>>()?;
        let scope = commit
            .parse()
            .conventional
            .and_then(|c| c.scope)
            .map(|s| s.to_ascii_lowercase());
        Ok(self
            .scopes
            .iter()
            .map(|unit| {
                unit.paths.iter().any(|&i| changed[i])
                    || scope.as_ref().is_some_and(|s| unit.scopes.contains(s))
            })
            .collect())
    }

    /// The commits of `commits` that belong to the first unit.
    ///
    /// # Errors
    ///
    /// As [`Attributor::units_of`].
    pub fn keep_own(&mut self, commits: Vec<RawCommit>) -> Result<Vec<RawCommit>> {
        let mut out = Vec::with_capacity(commits.len());
        for commit in commits {
            if self.units_of(&commit)?.first().copied().unwrap_or(false) {
                out.push(commit);
            }
        }
        Ok(out)
    }

    /// The entry id at every table path in the tree `tree`, memoised: a
    /// commit's tree is probed again as its child's parent.
    fn probe(&mut self, tree: ObjectId) -> Result<Rc<Vec<Option<ObjectId>>>> {
        if let Some(found) = self.probes.get(&tree) {
            return Ok(Rc::clone(found));
        }
        let mut out = Vec::with_capacity(self.table.len());
        for i in 0..self.table.len() {
            let mut at = Some(tree);
            for part in &self.table[i] {
                let Some(id) = at else { break };
                at = self.trees.entry(self.repo, id, part.as_bstr())?;
            }
            out.push(at);
        }
        if self.probes.len() > 16_384 {
            self.probes.clear();
        }
        let out = Rc::new(out);
        self.probes.insert(tree, Rc::clone(&out));
        Ok(out)
    }

    /// Whether the change between `before` and `after` at table path `i`
    /// touches a file no ignored pattern matches.
    fn changes_beyond_ignored(
        &self,
        i: usize,
        before: Option<ObjectId>,
        after: Option<ObjectId>,
    ) -> Result<bool> {
        let prefix: PathBuf = self.table[i]
            .iter()
            .map(|p| p.to_str_lossy().into_owned())
            .collect();
        let mut changed = Vec::new();
        self.repo
            .changed_paths(before, after, &prefix, &mut changed)?;
        let ignored = self.ignored.as_ref();
        Ok(changed
            .iter()
            .any(|path| ignored.is_none_or(|set| !set.is_match(path))))
    }
}

/// A path's components as tree entry names.
fn components(path: &Path) -> Vec<BString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(BString::from(part.to_string_lossy().as_bytes())),
            _ => None,
        })
        .collect()
}

/// Decoded trees by id: a tree's entries are looked up by name many times
/// (once per package path under it, once per commit that shares it).
#[derive(Default)]
struct TreeCache {
    trees: HashMap<ObjectId, Rc<TreeEntries>>,
}

impl TreeCache {
    /// The id of the entry `name` in the tree `tree`; `None` when there is
    /// no such entry, or the tree is not a tree (a file where a directory
    /// was).
    fn entry(
        &mut self,
        repo: &Repo,
        tree: ObjectId,
        name: &gix::bstr::BStr,
    ) -> Result<Option<ObjectId>> {
        let entries = match self.trees.get(&tree) {
            Some(found) => Rc::clone(found),
            None => {
                let read = Rc::new(repo.tree_entries(tree)?);
                if self.trees.len() > 16_384 {
                    self.trees.clear();
                }
                self.trees.insert(tree, Rc::clone(&read));
                read
            }
        };
        Ok(entries
            .iter()
            .find(|(n, _, _)| n.as_bstr() == name)
            .map(|(_, id, _)| *id))
    }
}
