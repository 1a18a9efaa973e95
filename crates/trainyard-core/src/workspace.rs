//! A repository with its configuration: what every operation works on.

use std::path::{Path, PathBuf};

use crate::Result;
use crate::config::BumpPolicy;
use crate::config::{self, Config};
use crate::evidence::{DirStore, EvidenceStore};
use crate::history::Repo;
use crate::manifest::{self, ManifestSpec};
use crate::packages::{self, Unit};
use crate::version::Version;

/// A repository with its configuration: what every operation works on.
pub struct Workspace {
    /// The repository.
    pub repo: Repo,
    /// The top of its working tree.
    pub root: PathBuf,
    /// Its configuration.
    pub config: Config,
    /// The configuration file, if there is one.
    pub config_path: Option<PathBuf>,
    /// Where evidence, release state and locks live: the main repository's
    /// root, even when `root` is a temporary worktree of it.
    pub home: PathBuf,
    /// The time every operation takes as now: release dates of untagged
    /// versions, today's phase, evidence timestamps. The real clock unless
    /// the caller pins it (`TRAINYARD_NOW`) for reproducible output.
    pub now: jiff::Timestamp,
    /// Whether `now` was pinned ([`Workspace::pin_clock`]): then evidence
    /// records it too, so that a run's records are reproducible.
    pub(crate) clock_pinned: bool,
    /// Told when a run waits for another run's hold on the evidence store.
    pub(crate) store_wait_notice: Option<crate::evidence::WaitNotice>,
    /// The package (or fixed group) this view is scoped to: its tags,
    /// manifests, changelog and commits. `None` for the whole repository.
    pub package: Option<Unit>,
    /// The `origin` remote, read once and shared by the views of this
    /// workspace.
    pub(crate) origin: OriginCache,
}

/// The `origin` remote of a workspace, read at most once.
pub(crate) type OriginCache =
    std::sync::Arc<std::sync::OnceLock<Option<crate::remote_url::RemoteUrl>>>;

impl Workspace {
    /// The `origin` remote, if it has a URL [`crate::remote_url::parse`]
    /// reads; git is asked once per workspace.
    pub fn origin(&self) -> Option<&crate::remote_url::RemoteUrl> {
        self.origin
            .get_or_init(|| crate::remote_url::origin(&self.root))
            .as_ref()
    }

    /// Opens the repository containing `cwd` and loads its configuration
    /// (`explicit` when given, else `trainyard.yaml` found upwards).
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`](crate::Error::Input) when `cwd` is not in a repository or the
    /// configuration is invalid.
    pub fn open(cwd: &Path, explicit_config: Option<&Path>) -> Result<Self> {
        let repo = Repo::discover(cwd)?;
        let root = repo.root();
        let loaded = config::load(cwd, explicit_config)?;
        Ok(Workspace {
            repo,
            home: root.clone(),
            root,
            config: loaded.config,
            config_path: loaded.path,
            now: jiff::Timestamp::now(),
            clock_pinned: false,
            store_wait_notice: None,
            package: None,
            origin: OriginCache::default(),
        })
    }

    /// The manifests to read and write: the configured ones, or those found
    /// at the root.
    ///
    /// # Errors
    ///
    /// Returns an error when a manifest at the root is malformed.
    pub fn manifests(&self) -> Result<Vec<ManifestSpec>> {
        match &self.config.versioning.manifests {
            Some(list) => Ok(list.clone()),
            None => manifest::detect(&self.root),
        }
    }

    /// Who is running trainyard: git's `user.email`, if set.
    pub fn git_email(&self) -> Option<String> {
        crate::git_cli::run(&self.home, &["config", "user.email"])
            .map(|s| s.trim().to_owned())
            .ok()
            .filter(|s| !s.is_empty())
    }

    /// Today's date in the cadence's time zone.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`](crate::Error::Input) for an unknown time zone.
    pub fn today(&self) -> Result<jiff::civil::Date> {
        self.config.cadence.date_of(self.now)
    }

    /// Today as `YYYY-MM-DD` in UTC, for dates written into documents.
    pub fn today_utc(&self) -> String {
        self.now.strftime("%Y-%m-%d").to_string()
    }

    /// Now as a compact UTC stamp for document names: `20261124T071500Z`.
    pub fn stamp(&self) -> String {
        self.now.strftime("%Y%m%dT%H%M%SZ").to_string()
    }

    /// The clock that decides whether something has expired: the later of
    /// the workspace's clock and the real one, so that a pinned clock
    /// (`TRAINYARD_NOW`) may bring an expiry on but never put it off.
    pub fn expiry_clock(&self) -> jiff::Timestamp {
        self.now.max(jiff::Timestamp::now())
    }

    /// The real time, to the second: the time of record of what really
    /// happens (an apply), which a pinned clock does not decide.
    pub fn real_now() -> jiff::Timestamp {
        let now = jiff::Timestamp::now();
        jiff::Timestamp::from_second(now.as_second()).unwrap_or(now)
    }

    /// Takes `now` as the time of every operation, and of every evidence
    /// record, for reproducible output (`TRAINYARD_NOW`).
    pub fn pin_clock(&mut self, now: jiff::Timestamp) {
        self.now = now;
        self.clock_pinned = true;
    }

    /// The team of this repository, or `None` in solo use (no roles
    /// configured).
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`](crate::Error::Input) when roles are
    /// configured but the allowed-signers file is missing or does not
    /// parse.
    pub fn team(&self) -> crate::Result<Option<crate::identity::Team>> {
        crate::identity::Team::configured(&self.home, &self.config.identity)
    }

    /// The key this run signs with: `TRAINYARD_SIGNING_KEY`, else
    /// `identity.signing_key`, else git's `user.signingkey`.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`](crate::Error::Input) when none is set,
    /// or the one set holds no key.
    pub fn signing_key(&self) -> crate::Result<crate::identity::SigningKey> {
        crate::identity::signing_key_of(&self.home, &self.config.identity)
    }

    /// The evidence store configured for this repository, anchoring each
    /// write's head in the repository (see the `evidence_anchor` module).
    pub fn evidence_store(&self) -> Box<dyn EvidenceStore> {
        let mut store = DirStore::new(self.home.join(&self.config.evidence.dir))
            .with_lock_wait(self.config.evidence.lock_wait_seconds.duration());
        if self.clock_pinned {
            store = store.with_clock(self.now);
        }
        if let Some(notice) = &self.store_wait_notice {
            store = store.with_wait_notice(notice.clone());
        }
        // Every write anchors the new head in git (refs/trainyard/evidence).
        if let Some(anchorer) = crate::evidence_anchor::Anchorer::new(
            &self.home,
            &self.home.join(&self.config.evidence.dir),
        )
        .map(|a| {
            let a = a.signing_for(&self.config.identity);
            if self.clock_pinned {
                a.dated(self.now)
            } else {
                a
            }
        }) {
            store = store.with_after_write(anchorer.hook());
        }
        Box::new(store)
    }

    /// Tells `notice` whenever a run has to wait for another run's hold on
    /// the evidence store (the CLI says so on stderr).
    pub fn on_store_wait(&mut self, notice: crate::evidence::WaitNotice) {
        self.store_wait_notice = Some(notice);
    }

    /// The same workspace seen from another checkout of the repository (a
    /// temporary worktree at a release commit): files are read there,
    /// while evidence, state and locks stay at home.
    ///
    /// # Errors
    ///
    /// Returns an error when `dir` is not a checkout of a repository.
    pub fn view_at(&self, dir: &Path) -> Result<Workspace> {
        let repo = Repo::discover(dir)?;
        Ok(Workspace {
            root: repo.root(),
            repo,
            home: self.home.clone(),
            config: self.config.clone(),
            config_path: self.config_path.clone(),
            now: self.now,
            clock_pinned: self.clock_pinned,
            store_wait_notice: self.store_wait_notice.clone(),
            package: self.package.clone(),
            origin: self.origin.clone(),
        })
    }

    /// Takes the lock that lets one trainyard run at a time change this
    /// repository. It lives in the git directory, so it never shows as a
    /// change in the working tree.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Environment`](crate::Error::Environment) when another run holds it.
    pub fn lock(&self) -> Result<crate::fsutil::RunLock> {
        let git_dir = Repo::discover(&self.home)?.git_dir();
        crate::fsutil::RunLock::acquire(&git_dir.join("trainyard.lock"))
    }

    /// The same repository scoped to one package or fixed group: its tag
    /// prefix, manifests (found in its directories unless configured),
    /// changelog and hand-written notes replace the repository's, and
    /// only the commits that are its own count.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`](crate::Error::Input) when `name` is no
    /// package or fixed group, and an error when a manifest found in a
    /// package's directory is malformed.
    pub fn for_package(&self, name: &str) -> Result<Workspace> {
        let unit = packages::find(&self.config, name)?;
        let mut config = self.config.clone();
        config.versioning.tag_prefix = unit.tag_prefix.clone();
        config.versioning.manifests = Some(packages::manifests_of(&self.root, &unit)?);
        config.changelog.path = unit.changelog.clone();
        // A view of a view starts from the repository's notes directory.
        let notes = match &self.package {
            Some(_) => self.config.notes.dir.parent().unwrap_or(Path::new("")),
            None => self.config.notes.dir.as_path(),
        };
        config.notes.dir = notes.join(unit.file_name());
        Ok(Workspace {
            repo: self.repo.clone(),
            root: self.root.clone(),
            home: self.home.clone(),
            config,
            config_path: self.config_path.clone(),
            now: self.now,
            clock_pinned: self.clock_pinned,
            store_wait_notice: self.store_wait_notice.clone(),
            package: Some(unit),
            origin: self.origin.clone(),
        })
    }

    /// The command line that runs `args` on this view, to paste as it is:
    /// `trainyard --package NAME <args>` for a package's view.
    pub fn command(&self, args: &str) -> String {
        match &self.package {
            Some(unit) => format!("trainyard --package {} {args}", unit.name),
            None => format!("trainyard {args}"),
        }
    }

    /// The directories of this view's packages, relative to the root:
    /// a package's (a fixed group's members'); none for the repository.
    pub fn package_dirs(&self) -> Vec<PathBuf> {
        self.package
            .as_ref()
            .map(|unit| unit.dirs.clone())
            .unwrap_or_default()
    }

    /// How messages name this view's release `version`: `parser 0.2.0` for
    /// a package's, `0.2.0` for the repository's.
    pub fn release_name(&self, version: &impl std::fmt::Display) -> String {
        match &self.package {
            Some(unit) => format!("{} {version}", unit.name),
            None => version.to_string(),
        }
    }

    /// The commits of `commits` that count for this view: all of them for
    /// the whole repository, a package's own for a package.
    ///
    /// # Errors
    ///
    /// Returns an error when a tree cannot be read or an ignored pattern
    /// does not parse.
    pub fn own_commits(
        &self,
        commits: Vec<crate::history::RawCommit>,
    ) -> Result<Vec<crate::history::RawCommit>> {
        match &self.package {
            None => Ok(commits),
            Some(unit) => packages::attribution::Attributor::new(
                &self.repo,
                &[unit],
                &self.config.package_paths,
            )?
            .keep_own(commits),
        }
    }

    /// In a linked package's view, the commits of `commits` that belong to
    /// any member of its group: they decide its bump.
    ///
    /// # Errors
    ///
    /// As [`Workspace::own_commits`].
    pub fn linked_commits(
        &self,
        commits: Vec<crate::history::RawCommit>,
    ) -> Result<Vec<crate::history::RawCommit>> {
        match &self.package {
            Some(unit) if unit.is_linked() => packages::attribution::Attributor::new(
                &self.repo,
                &[&unit.as_linked()],
                &self.config.package_paths,
            )?
            .keep_own(commits),
            _ => self.own_commits(commits),
        }
    }

    /// In a package's view, whether the tag `name` is another package's
    /// release tag (a version after another unit's prefix), so not worth
    /// a note.
    pub fn is_other_units_tag(&self, name: &str) -> bool {
        let Some(own) = &self.package else {
            return false;
        };
        packages::units(&self.config)
            .iter()
            .filter(|u| u.name != own.name)
            .any(|u| {
                name.strip_prefix(u.tag_prefix.as_str())
                    .is_some_and(|rest| crate::version::parse(rest).is_ok())
            })
    }

    /// `history` with only the commits that count for this view, in every
    /// release and in the unreleased part (one attribution pass for all).
    ///
    /// # Errors
    ///
    /// As [`Workspace::own_commits`].
    pub fn own_history(
        &self,
        mut history: crate::releases::ReleaseHistory,
    ) -> Result<crate::releases::ReleaseHistory> {
        let Some(unit) = &self.package else {
            return Ok(history);
        };
        let mut attributor = packages::attribution::Attributor::new(
            &self.repo,
            &[unit],
            &self.config.package_paths,
        )?;
        for range in &mut history.releases {
            range.commits = attributor.keep_own(std::mem::take(&mut range.commits))?;
        }
        history.unreleased = attributor.keep_own(std::mem::take(&mut history.unreleased))?;
        Ok(history)
    }

    /// A name for this view's documents about `version`: the version, led
    /// by the package's name in a package view (`core-1.2.0`), so that two
    /// packages' documents of one version stay apart.
    pub fn scoped_name(&self, version: &str) -> String {
        match &self.package {
            Some(unit) => format!("{}-{version}", unit.file_name()),
            None => version.to_owned(),
        }
    }

    pub(crate) fn policy(&self) -> BumpPolicy {
        self.config.versioning.policy()
    }

    /// The tag a version gets: `<tag_prefix><version>`.
    pub fn tag_name(&self, version: &Version) -> String {
        format!("{}{version}", self.config.versioning.tag_prefix)
    }
}
