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
use crate::history::{RawCommit, Repo};
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
    prober: Prober,
    probes: HashMap<ObjectId, Rc<Vec<Option<ObjectId>>>>,
    /// Commit trees already known, so a parent's is not read again.
    commit_trees: HashMap<ObjectId, ObjectId>,
    /// Whether any unit claims commits by scope (else messages are not
    /// read at all).
    by_scope: bool,
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
        let scopes: Vec<PathScope> = units
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
        let mut trie: Vec<Vec<(BString, usize)>> = vec![Vec::new()];
        let leaf: Vec<usize> = table
            .iter()
            .map(|parts| {
                let mut node = 0;
                for part in parts {
                    node = match trie[node].iter().find(|(n, _)| n == part) {
                        Some((_, child)) => *child,
                        None => {
                            trie.push(Vec::new());
                            let child = trie.len() - 1;
                            trie[node].push((part.clone(), child));
                            child
                        }
                    };
                }
                node
            })
            .collect();
        let by_scope = scopes.iter().any(|s: &PathScope| !s.scopes.is_empty());
        Ok(Attributor {
            repo,
            table,
            by_scope,
            commit_trees: HashMap::new(),
            scopes,
            ignored,
            prober: Prober { trie, leaf },
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
            Some(p) => {
                let tree = match self.commit_trees.get(p) {
                    Some(tree) => *tree,
                    None => self.repo.tree_of(*p)?,
                };
                Some(self.probe(tree)?)
            }
            None => None,
        };
        self.decide(commit, &mine, parent.as_deref().map(Vec::as_slice))
    }

    /// For each unit, whether `commit` belongs to it, given the entries
    /// [`Prober::probe`] found at the table's paths in its tree (`mine`)
    /// and in its first parent's (`None` for a root commit).
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when a tree cannot be read.
    pub fn decide(
        &self,
        commit: &RawCommit,
        mine: &[Option<ObjectId>],
        parent: Option<&[Option<ObjectId>]>,
    ) -> Result<Vec<bool>> {
        let changed: Vec<bool> = (0..self.table.len())
            .map(|i| {
                let before = parent.and_then(|p| p[i]);
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
        let scope = if self.by_scope {
            commit
                .parse()
                .conventional
                .and_then(|c| c.scope)
                .map(|s| s.to_ascii_lowercase())
        } else {
            None
        };
        Ok(self
            .scopes
            .iter()
            .map(|unit| {
                unit.paths.iter().any(|&i| changed[i])
                    || scope.as_ref().is_some_and(|s| unit.scopes.contains(s))
            })
            .collect())
    }

    /// What reads the table's paths in a tree, to use on another thread
    /// with another repository handle.
    pub fn prober(&self) -> Prober {
        self.prober.clone()
    }

    /// Remembers the trees of `commits`, which are parents of others in
    /// the same walk.
    pub fn know_trees(&mut self, commits: &[RawCommit]) {
        self.commit_trees
            .extend(commits.iter().map(|c| (c.id, c.tree)));
    }

    /// The commits of `commits` that belong to the first unit.
    ///
    /// # Errors
    ///
    /// As [`Attributor::units_of`].
    pub fn keep_own(&mut self, commits: Vec<RawCommit>) -> Result<Vec<RawCommit>> {
        self.know_trees(&commits);
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
        let out = Rc::new(self.prober.probe(self.repo, tree)?);
        if self.probes.len() > 16_384 {
            self.probes.clear();
        }
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

/// Reads the entry ids at a table of paths in a tree.
#[derive(Debug, Clone)]
pub struct Prober {
    /// The table's paths as a tree of names: each node's children, by
    /// entry name; node 0 is the root.
    trie: Vec<Vec<(BString, usize)>>,
    /// The trie node of each table path.
    leaf: Vec<usize>,
}

impl Prober {
    /// The entry id at every table path in the tree `tree`. Each tree on
    /// the way is read once, whatever the number of paths under it; a
    /// path below a missing entry (or below a file) has none.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when a tree cannot be read.
    pub fn probe(&self, repo: &Repo, tree: ObjectId) -> Result<Vec<Option<ObjectId>>> {
        let mut reached: Vec<Option<ObjectId>> = vec![None; self.trie.len()];
        reached[0] = Some(tree);
        let mut stack = vec![(0usize, tree)];
        let mut found = Vec::new();
        while let Some((node, id)) = stack.pop() {
            let children = &self.trie[node];
            found.clear();
            repo.each_entry(id, |name, oid| {
                if let Some((_, child)) = children.iter().find(|(n, _)| n.as_bstr() == name) {
                    found.push((*child, oid.to_owned()));
                }
            })?;
            for &(child, oid) in &found {
                reached[child] = Some(oid);
                if !self.trie[child].is_empty() {
                    stack.push((child, oid));
                }
            }
        }
        Ok(self.leaf.iter().map(|&node| reached[node]).collect())
    }
}
