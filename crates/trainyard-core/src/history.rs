//! Reading a repository's history: its version tags and its commits.
//!
//! Reads go through `gix`, which walks long histories faster than spawning
//! `git log` and needs no output parsing. Everything that writes (tags,
//! commits, pushes) goes through the user's own `git` elsewhere, so their
//! signing, hooks and credentials apply.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gix::ObjectId;
use serde::Serialize;

use crate::commit::Commit;
use crate::version::{self, Version};
use crate::{Error, Result};

/// An open repository.
#[derive(Clone)]
pub struct Repo {
    repo: gix::Repository,
}

/// A tag that names a version.
#[derive(Debug, Clone, Serialize)]
pub struct VersionTag {
    /// The tag's name, prefix included (`v1.2.0`).
    pub name: String,
    /// The version it names.
    pub version: Version,
    /// The commit it points to (annotated tags peeled).
    pub commit: String,
    #[serde(skip)]
    pub(crate) id: ObjectId,
}

/// A tag that was not taken as a version, and why.
#[derive(Debug, Clone, Serialize)]
pub struct IgnoredTag {
    /// The tag's name.
    pub name: String,
    /// Why it was ignored.
    pub reason: String,
}

impl IgnoredTag {
    /// The tag read as some other prefix before a version (`release-1.2.0`
    /// is `release-` and 1.2.0): everything up to its first digit, and the
    /// rest when that is a version.
    pub fn under_another_prefix(&self) -> Option<(&str, Version)> {
        let digit = self.name.find(|c: char| c.is_ascii_digit())?;
        let (prefix, rest) = self.name.split_at(digit);
        Some((prefix, version::parse(rest).ok()?))
    }
}

/// All tags of a repository, read as versions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TagScan {
    /// Tags that name versions, in ascending precedence.
    pub versions: Vec<VersionTag>,
    /// Tags that do not, with the reason.
    pub ignored: Vec<IgnoredTag>,
}

impl VersionTag {
    /// The commit the tag points to.
    pub fn id(&self) -> ObjectId {
        self.id
    }
}

impl TagScan {
    /// The tags of `refs` named `{prefix}{version}`, the others with the
    /// reason.
    pub fn of(refs: &[(String, ObjectId)], prefix: &str) -> TagScan {
        let mut scan = TagScan::default();
        for (name, target) in refs {
            let Some(text) = name.strip_prefix(prefix) else {
                scan.ignored.push(IgnoredTag {
                    reason: format!("does not start with the tag prefix `{prefix}`"),
                    name: name.clone(),
                });
                continue;
            };
            match version::parse(text) {
                Ok(version) => scan.versions.push(VersionTag {
                    commit: target.to_string(),
                    id: *target,
                    name: name.clone(),
                    version,
                }),
                Err(_) => scan.ignored.push(IgnoredTag {
                    reason: format!(
                        "not a version: {}",
                        version::invalid_reason(text).unwrap_or_default()
                    ),
                    name: name.clone(),
                }),
            }
        }
        scan.versions.sort_by(|a, b| {
            a.version
                .cmp_precedence(&b.version)
                .then_with(|| a.name.cmp(&b.name))
        });
        scan
    }

    /// The highest stable release that sorts before `version`.
    pub fn previous_release(&self, version: &Version) -> Option<&VersionTag> {
        self.versions
            .iter()
            .filter(|t| version::is_stable(&t.version) && t.version.cmp_precedence(version).is_lt())
            .max_by(|a, b| a.version.cmp_precedence(&b.version))
    }

    /// Every tagged version, for pre-release numbering.
    pub fn all_versions(&self) -> Vec<Version> {
        self.versions.iter().map(|t| t.version.clone()).collect()
    }
}

/// A tree's entries: name, id, and whether the entry is a tree.
pub type TreeEntries = Vec<(gix::bstr::BString, ObjectId, bool)>;

/// Where HEAD points.
#[derive(Debug, Clone, Serialize)]
pub struct Head {
    /// The commit, in full hex.
    pub commit: String,
    /// The branch checked out, or `None` when HEAD is detached.
    pub branch: Option<String>,
}

/// A commit read from history before classification.
#[derive(Debug, Clone)]
pub struct RawCommit {
    /// Its id.
    pub id: ObjectId,
    /// Its parents' ids.
    pub parents: Vec<ObjectId>,
    /// Its full message, decoded as UTF-8 (lossily).
    pub message: String,
    /// The author's name, as recorded (see [`Mailmap`] for the canonical
    /// one).
    pub author_name: String,
    /// The author's email, as recorded.
    pub author_email: String,
    /// Committer time, seconds since the Unix epoch.
    pub time: i64,
    /// Its tree.
    pub tree: ObjectId,
}

impl RawCommit {
    /// Reads the message as a Conventional Commit.
    pub fn parse(&self) -> Commit {
        Commit::parse(self.id.to_string(), &self.message, self.parents.len())
    }
}

impl Repo {
    /// Opens the repository that contains `path`, searching upwards.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] when `path` is not inside a git
    /// repository.
    pub fn discover(path: &Path) -> Result<Self> {
        let repo = gix::discover(path).map_err(|e| {
            Error::input(format!(
                "{} is not inside a git repository: {e}",
                path.display()
            ))
        })?;
        let mut repo = repo;
        // Commits are looked up right after the walk yields them.
        repo.object_cache_size_if_unset(8 * 1024 * 1024);
        Ok(Repo { repo })
    }

    /// The same repository for reading a long history's trees once each:
    /// no object cache, and a small cache of the last objects read, which
    /// are the delta bases of the next ones when the trees are read in the
    /// order their delta chains run (see [`Repo::delta_depth`]).
    pub fn for_tree_reads(&self) -> Repo {
        let mut repo = self.repo.clone();
        repo.object_cache_size(None);
        repo.objects.set_pack_cache(|| {
            Box::new(gix::odb::pack::cache::lru::StaticLinkedList::<64>::default())
        });
        Repo { repo }
    }

    /// How many deltas make the object `id` in its pack (0 for an object
    /// stored whole, loose or unreadable). A pack made by `git repack`
    /// stores newer trees whole and older ones as deltas on them; one made
    /// by `git fast-import` the other way round.
    pub fn delta_depth(&self, id: ObjectId) -> u32 {
        self.repo
            .find_header(id)
            .ok()
            .and_then(|header| header.num_deltas())
            .unwrap_or(0)
    }

    /// The top of the working tree, or the git directory of a bare
    /// repository.
    pub fn root(&self) -> PathBuf {
        self.repo
            .workdir()
            .unwrap_or_else(|| self.repo.git_dir())
            .to_path_buf()
    }

    /// The `.git` directory.
    pub fn git_dir(&self) -> PathBuf {
        self.repo.git_dir().to_path_buf()
    }

    /// Whether this is a shallow clone.
    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow().unwrap_or(false)
    }

    /// Where HEAD points.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] when the repository has no commit yet.
    pub fn head(&self) -> Result<Head> {
        let id = self.repo.head_id().map_err(|_| {
            Error::input(format!(
                "{}: the repository has no commits yet",
                self.root().display()
            ))
        })?;
        let branch = self
            .repo
            .head_name()
            .ok()
            .flatten()
            .map(|name| name.shorten().to_string());
        Ok(Head {
            commit: id.to_string(),
            branch,
        })
    }

    /// Resolves a revision (`HEAD`, a branch, a tag, a hash) to a commit.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming the revision when it does not
    /// resolve to a commit.
    pub fn resolve(&self, rev: &str) -> Result<ObjectId> {
        let id = self
            .repo
            .rev_parse_single(rev)
            .map_err(|e| Error::input(format!("cannot resolve revision `{rev}`: {e}")))?;
        let commit = id
            .object()
            .and_then(|o| o.peel_to_kind(gix::object::Kind::Commit))
            .map_err(|e| Error::input(format!("revision `{rev}` is not a commit: {e}")))?;
        Ok(commit.id)
    }

    /// Reads every tag and keeps those named `{prefix}{version}`.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when the references cannot be read.
    pub fn version_tags(&self, prefix: &str) -> Result<TagScan> {
        Ok(TagScan::of(&self.tag_refs()?, prefix))
    }

    /// Every tag's name and the commit it points to (annotated tags
    /// peeled), to read as versions under several prefixes at once.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when the references cannot be read.
    pub fn tag_refs(&self) -> Result<Vec<(String, ObjectId)>> {
        let env = |e: &dyn std::fmt::Display| {
            Error::environment(format!("cannot read the repository's tags: {e}"))
        };
        let platform = self.repo.references().map_err(|e| env(&e))?;
        let tags = platform.tags().map_err(|e| env(&e))?;
        let tags = tags.peeled().map_err(|e| env(&e))?;
        let mut out = Vec::new();
        for reference in tags {
            let reference = reference.map_err(|e| env(&e))?.detach();
            let name = reference.name.shorten().to_string();
            if let Some(target) = reference
                .peeled
                .or_else(|| reference.target.try_id().map(|id| id.to_owned()))
            {
                out.push((name, target));
            }
        }
        Ok(out)
    }

    /// The tag prefix this repository's release tags use, read from the
    /// tags: every tag that is some prefix before a version (`v1.2.0`,
    /// `1.2.0`, `release-1.2.0`) counts, and the prefix of the highest
    /// version wins (so a project that dropped the `v` years ago is read
    /// as it tags today). `None` when no tag names a version.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when the references cannot be read.
    pub fn tag_prefix_in_use(&self) -> Result<Option<String>> {
        let scan = self.version_tags("")?;
        let mut best: Option<(Version, String)> = scan
            .versions
            .into_iter()
            .map(|tag| (tag.version, String::new()))
            .max_by(|a, b| a.0.cmp_precedence(&b.0));
        for (prefix, version) in scan
            .ignored
            .iter()
            .filter_map(IgnoredTag::under_another_prefix)
        {
            if best
                .as_ref()
                .is_none_or(|(top, _)| version.cmp_precedence(top).is_gt())
            {
                best = Some((version, prefix.to_owned()));
            }
        }
        Ok(best.map(|(_, prefix)| prefix))
    }

    /// Walks the commits reachable from `tip` but not from any of `hidden`,
    /// newest first.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when an object cannot be read
    /// (a shallow clone's boundary is not an error: the walk stops there).
    pub fn walk(&self, tip: ObjectId, hidden: &[ObjectId]) -> Result<Vec<RawCommit>> {
        let env = |e: &dyn std::fmt::Display| {
            Error::environment(format!("cannot walk the history from {tip}: {e}"))
        };
        let walk = self
            .repo
            .rev_walk([tip])
            .with_hidden(hidden.iter().copied())
            .all()
            .map_err(|e| env(&e))?;
        let mut out = Vec::new();
        for info in walk {
            out.push(self.read(info.map_err(|e| env(&e))?)?);
        }
        Ok(out)
    }

    /// The committer time of a commit, seconds since the Unix epoch.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when the commit cannot be read.
    pub fn commit_time(&self, id: ObjectId) -> Result<i64> {
        let commit = self
            .repo
            .find_commit(id)
            .map_err(|e| Error::environment(format!("cannot read commit {id}: {e}")))?;
        let time = commit
            .time()
            .map_err(|e| Error::environment(format!("cannot read commit {id}: {e}")))?;
        Ok(time.seconds)
    }

    /// Whether `ancestor` is reachable from `descendant`.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when the history cannot be read.
    pub fn is_ancestor(&self, ancestor: ObjectId, descendant: ObjectId) -> Result<bool> {
        if ancestor == descendant {
            return Ok(true);
        }
        let base = self.repo.merge_base(ancestor, descendant).map_err(|e| {
            Error::environment(format!("cannot compare {ancestor} and {descendant}: {e}"))
        });
        Ok(matches!(base, Ok(Some(id)) if id.detach() == ancestor))
    }

    /// Reads every commit reachable from `tip`, each exactly once, tip
    /// first and then depth-first along first parents (newest first on a
    /// linear history). Cheaper than [`Repo::walk`] for whole histories:
    /// every commit is inflated and parsed once.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when a commit cannot be read (a
    /// shallow clone's boundary is not an error: the walk stops there).
    pub fn walk_all(&self, tip: ObjectId) -> Result<Vec<RawCommit>> {
        self.walk_all_with(tip, |_| {})
    }

    /// As [`Repo::walk_all`], telling `each` of every commit as it is read,
    /// so that work on the commits can start while the walk goes on.
    ///
    /// # Errors
    ///
    /// As [`Repo::walk_all`].
    pub fn walk_all_with(
        &self,
        tip: ObjectId,
        mut each: impl FnMut(&RawCommit),
    ) -> Result<Vec<RawCommit>> {
        let shallow = self.repo.shallow_commits().ok().flatten();
        let is_boundary = |id: &ObjectId| {
            shallow
                .as_ref()
                .is_some_and(|s| s.binary_search(id).is_ok())
        };
        let mut seen: gix::hashtable::HashSet<ObjectId> = gix::hashtable::HashSet::default();
        let mut stack = vec![tip];
        seen.insert(tip);
        let mut out = Vec::new();
        while let Some(id) = stack.pop() {
            let unreadable = |e: &dyn std::fmt::Display| {
                Error::environment(format!("cannot read commit {id}: {e}"))
            };
            let commit = self.repo.find_commit(id).map_err(|e| unreadable(&e))?;
            let decoded = commit.decode().map_err(|e| unreadable(&e))?;
            let parents: Vec<ObjectId> = if is_boundary(&id) {
                Vec::new()
            } else {
                decoded.parents().collect()
            };
            let author = decoded.author().map_err(|e| unreadable(&e))?;
            let time = decoded.time().map_err(|e| unreadable(&e))?;
            for parent in parents.iter().rev() {
                if seen.insert(*parent) {
                    stack.push(*parent);
                }
            }
            let commit = RawCommit {
                id,
                message: String::from_utf8_lossy(decoded.message).into_owned(),
                author_name: author.name.to_string().trim().to_owned(),
                author_email: author.email.to_string().trim().to_owned(),
                time: time.seconds,
                tree: decoded.tree(),
                parents,
            };
            each(&commit);
            out.push(commit);
        }
        Ok(out)
    }

    /// Walks the commits reachable from `tip`, breadth first (newest first
    /// on a linear history), without crossing a commit for which `keep`
    /// returns `false`: such a commit is neither returned nor are its
    /// ancestors visited through it. Each commit is inflated and parsed
    /// once, for its parents and its message alike.
    ///
    /// # Errors
    ///
    /// As [`Repo::walk`].
    pub fn walk_until(
        &self,
        tip: ObjectId,
        mut keep: impl FnMut(&gix::oid) -> bool,
    ) -> Result<Vec<RawCommit>> {
        let shallow = self.repo.shallow_commits().ok().flatten();
        let is_boundary = |id: &ObjectId| {
            shallow
                .as_ref()
                .is_some_and(|s| s.binary_search(id).is_ok())
        };
        let mut seen: gix::hashtable::HashSet<ObjectId> = gix::hashtable::HashSet::default();
        let mut queue = std::collections::VecDeque::from([tip]);
        seen.insert(tip);
        let mut out = Vec::new();
        while let Some(id) = queue.pop_front() {
            let commit = self.decode(id, is_boundary(&id))?;
            for parent in &commit.parents {
                if seen.insert(*parent) && keep(parent) {
                    queue.push_back(*parent);
                }
            }
            out.push(commit);
        }
        Ok(out)
    }

    /// The tree of a commit.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when the commit cannot be read.
    pub fn tree_of(&self, commit: ObjectId) -> Result<ObjectId> {
        let unreadable = |e: &dyn std::fmt::Display| {
            Error::environment(format!("cannot read commit {commit}: {e}"))
        };
        let found = self.repo.find_commit(commit).map_err(|e| unreadable(&e))?;
        Ok(found.tree_id().map_err(|e| unreadable(&e))?.detach())
    }

    /// Calls `each` with the name and id of every entry of the tree `id`,
    /// without copying them; nothing when `id` is not a tree.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when the object cannot be read.
    pub fn each_entry(
        &self,
        id: ObjectId,
        mut each: impl FnMut(&gix::bstr::BStr, &gix::oid),
    ) -> Result<()> {
        let unreadable =
            |e: &dyn std::fmt::Display| Error::environment(format!("cannot read tree {id}: {e}"));
        let object = self.repo.find_object(id).map_err(|e| unreadable(&e))?;
        if object.kind != gix::object::Kind::Tree {
            return Ok(());
        }
        for entry in gix::objs::TreeRefIter::from_bytes(&object.data, id.kind()) {
            let entry = entry.map_err(|e| unreadable(&e))?;
            each(entry.filename, entry.oid);
        }
        Ok(())
    }

    /// The entries of the tree `id` (name, id, whether a tree), or none
    /// when `id` is not a tree.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when the object cannot be read.
    pub fn tree_entries(&self, id: ObjectId) -> Result<TreeEntries> {
        Ok(self.entries_if_tree(id)?.unwrap_or_default())
    }

    fn entries_if_tree(&self, id: ObjectId) -> Result<Option<TreeEntries>> {
        let unreadable =
            |e: &dyn std::fmt::Display| Error::environment(format!("cannot read tree {id}: {e}"));
        let object = self.repo.find_object(id).map_err(|e| unreadable(&e))?;
        if object.kind != gix::object::Kind::Tree {
            return Ok(None);
        }
        let tree = object.into_tree();
        let decoded = tree.decode().map_err(|e| unreadable(&e))?;
        Ok(Some(
            decoded
                .entries
                .iter()
                .map(|e| (e.filename.to_owned(), e.oid.to_owned(), e.mode.is_tree()))
                .collect(),
        ))
    }

    /// The files that differ between two versions of the entry at
    /// `prefix` (`None` where it does not exist), each as a path from the
    /// root, pushed onto `out`.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`] when a tree cannot be read.
    pub fn changed_paths(
        &self,
        before: Option<ObjectId>,
        after: Option<ObjectId>,
        prefix: &Path,
        out: &mut Vec<PathBuf>,
    ) -> Result<()> {
        if before == after {
            return Ok(());
        }
        let read = |id: Option<ObjectId>| id.map(|id| self.entries_if_tree(id)).transpose();
        let (old, new) = (read(before)?, read(after)?);
        let old_is_file = before.is_some() && old.as_ref().is_some_and(Option::is_none);
        let new_is_file = after.is_some() && new.as_ref().is_some_and(Option::is_none);
        if old_is_file || new_is_file {
            out.push(prefix.to_path_buf());
        }
        let old = old.flatten().unwrap_or_default();
        let new = new.flatten().unwrap_or_default();
        let mut names: Vec<&gix::bstr::BString> =
            old.iter().chain(new.iter()).map(|(n, _, _)| n).collect();
        names.sort();
        names.dedup();
        let find = |side: &[(gix::bstr::BString, ObjectId, bool)], name: &gix::bstr::BString| {
            side.iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, id, _)| *id)
        };
        for name in names {
            let child = prefix.join(gix::bstr::ByteSlice::to_str_lossy(name.as_slice()).as_ref());
            self.changed_paths(find(&old, name), find(&new, name), &child, out)?;
        }
        Ok(())
    }

    fn read(&self, info: gix::revision::walk::Info<'_>) -> Result<RawCommit> {
        let commit = info
            .object()
            .map_err(|e| Error::environment(format!("cannot read commit {}: {e}", info.id)))?;
        let unreadable = |e: &dyn std::fmt::Display| {
            Error::environment(format!("cannot read commit {}: {e}", info.id))
        };
        let author = commit.author().map_err(|e| unreadable(&e))?;
        let time = commit.time().map_err(|e| unreadable(&e))?;
        Ok(RawCommit {
            id: info.id,
            parents: info.parent_ids.iter().copied().collect(),
            message: String::from_utf8_lossy(commit.message_raw_sloppy()).into_owned(),
            author_name: author.name.to_string().trim().to_owned(),
            author_email: author.email.to_string().trim().to_owned(),
            time: time.seconds,
            tree: commit.tree_id().map_err(|e| unreadable(&e))?.detach(),
        })
    }

    /// Reads one commit: its parents (none past a shallow boundary), its
    /// message, author and time.
    fn decode(&self, id: ObjectId, boundary: bool) -> Result<RawCommit> {
        let unreadable =
            |e: &dyn std::fmt::Display| Error::environment(format!("cannot read commit {id}: {e}"));
        let commit = self.repo.find_commit(id).map_err(|e| unreadable(&e))?;
        let decoded = commit.decode().map_err(|e| unreadable(&e))?;
        let parents: Vec<ObjectId> = if boundary {
            Vec::new()
        } else {
            decoded.parents().collect()
        };
        let author = decoded.author().map_err(|e| unreadable(&e))?;
        let time = decoded.time().map_err(|e| unreadable(&e))?;
        Ok(RawCommit {
            id,
            message: String::from_utf8_lossy(decoded.message).into_owned(),
            author_name: author.name.to_string().trim().to_owned(),
            author_email: author.email.to_string().trim().to_owned(),
            time: time.seconds,
            tree: decoded.tree(),
            parents,
        })
    }
}

/// The repository's `.mailmap`, which maps the names and emails people
/// committed under to the ones they go by.
pub struct Mailmap {
    snapshot: gix::mailmap::Snapshot,
}

impl Mailmap {
    /// The canonical name and email for a recorded pair.
    pub fn resolve(&self, name: &str, email: &str) -> (String, String) {
        let signature = gix::actor::SignatureRef {
            name: name.into(),
            email: email.into(),
            time: "",
        };
        let resolved = self.snapshot.resolve(signature);
        (resolved.name.to_string(), resolved.email.to_string())
    }
}

impl Repo {
    /// Reads `.mailmap` (and `mailmap.file`/`mailmap.blob` if configured);
    /// an absent or unreadable one maps everybody to themselves.
    pub fn mailmap(&self) -> Mailmap {
        Mailmap {
            snapshot: self.repo.open_mailmap(),
        }
    }
}

/// The tags that point at each commit, for lookups during a walk.
pub fn tags_by_commit(tags: &[VersionTag]) -> HashMap<ObjectId, Vec<&VersionTag>> {
    let mut map: HashMap<ObjectId, Vec<&VersionTag>> = HashMap::with_capacity(tags.len());
    for tag in tags {
        map.entry(tag.id).or_default().push(tag);
    }
    map
}
