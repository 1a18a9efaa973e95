//! Sync configurations in the spec's `sync_config` schema, one per file
//! under `.trainyard/syncs/` (or listed under `syncs:` in trainyard.yaml).
//!
//! The schema is the spec's, key for key; trainyard's own settings live
//! under `options` (`max_delete`, `plan_ttl_minutes`, `smoke_tests`,
//! `secret_patterns`). Parsing is strict, errors name file, line and key,
//! and `dry_run_required` can only be `true` (DR-01).

pub use crate::notify::Notifications;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::Result;
use crate::bounded::{DeleteCount, Percent, PlanTtl};

/// A sync file: a single `sync_config` key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncFile {
    /// The sync.
    pub sync_config: SyncConfig,
}

/// The spec's `sync_config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// A unique id; names plans, logs and locks.
    pub sync_id: String,
    /// A human name.
    pub name: String,
    /// `upstream`, `downstream`, `cross_repo` or `config`.
    #[serde(rename = "type")]
    pub kind: SyncType,
    /// Where changes come from.
    pub source: Endpoint,
    /// Where they go.
    pub target: Endpoint,
    /// How the sync is run.
    pub options: SyncOptions,
    /// Which paths the sync owns.
    #[serde(default)]
    pub filters: Filters,
    /// When it runs.
    #[serde(default)]
    pub schedule: Schedule,
    /// Who hears about it.
    #[serde(default)]
    pub notifications: Notifications,
}

/// The spec's sync types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncType {
    /// Pull from upstream.
    Upstream,
    /// Push to distribution.
    Downstream,
    /// Between related repositories.
    CrossRepo,
    /// Configuration and policies.
    Config,
}

/// The spec's endpoint types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointType {
    /// A git repository (path or URL) and branch.
    Git,
    /// A JSON HTTP API.
    Api,
    /// A directory.
    File,
    /// A package registry.
    Registry,
}

impl EndpointType {
    /// The schema's name.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointType::Git => "git",
            EndpointType::Api => "api",
            EndpointType::File => "file",
            EndpointType::Registry => "registry",
        }
    }
}

/// `source` or `target`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// What kind of endpoint.
    #[serde(rename = "type")]
    pub kind: EndpointType,
    /// A path (relative to the repository root) or URL.
    pub location: String,
    /// The branch, for git.
    #[serde(default)]
    pub branch: Option<String>,
    /// A credential reference (`env:NAME`, `file:PATH`, `command:...`),
    /// never the secret itself.
    #[serde(default, deserialize_with = "credential_reference")]
    pub credentials: Option<String>,
}

fn credential_reference<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<String>, D::Error> {
    let reference = Option::<String>::deserialize(deserializer)?;
    if let Some(r) = &reference {
        crate::credentials::validate_reference(r).map_err(serde::de::Error::custom)?;
    }
    Ok(reference)
}

/// What a sync does with the symlinks of its source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SymlinkPolicy {
    /// Keep links that stay inside the source; refuse one that leaves it.
    #[default]
    Inside,
    /// Refuse any symlink.
    Refuse,
}

/// `options`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncOptions {
    /// Always true (DR-01).
    #[serde(deserialize_with = "always_true")]
    pub dry_run_required: bool,
    /// Whether a plan needs an approval before it is applied.
    pub approval_required: bool,
    /// The role or person who approves.
    #[serde(default)]
    pub approver: Option<String>,
    /// What happens to a path changed on both sides since the last sync.
    #[serde(default)]
    pub conflict_strategy: ConflictStrategy,
    /// A plan deleting more than this (a count, or a percentage such as
    /// `10%` of the target's files) needs an explicit override in its
    /// approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delete: Option<MaxDelete>,
    /// How long a plan stays appliable, in minutes (default 24 hours, at
    /// most 30 days).
    #[serde(default = "default_ttl")]
    pub plan_ttl_minutes: PlanTtl,
    /// Commands run in the target after an apply (smoke tests).
    #[serde(default)]
    pub smoke_tests: Vec<String>,
    /// Symlinks in the source: `inside` (the default) keeps those whose
    /// target stays inside the source and refuses the sync when one points
    /// out of it (`../../etc`, `/etc/passwd`), naming it; `refuse`
    /// refuses every symlink.
    #[serde(default)]
    pub symlinks: SymlinkPolicy,
    /// Regular expressions whose matches are masked in diffs and logs.
    #[serde(default)]
    pub secret_patterns: Vec<String>,
    /// A `registry` target: replace an artifact already published with
    /// other content (never, by default).
    #[serde(default)]
    pub overwrite_published: bool,
}

fn default_ttl() -> PlanTtl {
    PlanTtl::constant(24 * 60)
}

fn always_true<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<bool, D::Error> {
    let value = bool::deserialize(deserializer)?;
    if !value {
        return Err(serde::de::Error::custom(
            "DR-01: all syncs must have a dry-run before execution, so dry_run_required must be true",
        ));
    }
    Ok(value)
}

/// The spec's conflict strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ConflictStrategy {
    /// Apply nothing and list every conflict.
    #[default]
    Fail,
    /// The source wins.
    Theirs,
    /// The target's edit is kept.
    Ours,
    /// Three-way text merge against the base; conflict hunks fail.
    Merge,
}

/// `max_delete`: a count or a percentage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MaxDelete {
    /// At most this many deletions.
    Count(DeleteCount),
    /// At most this percent of the target's files.
    #[serde(serialize_with = "percent")]
    Percent(Percent),
}

fn percent<S: serde::Serializer>(
    value: &Percent,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("{value}%"))
}

impl<'de> Deserialize<'de> for MaxDelete {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bad = || {
            serde::de::Error::custom(format!(
                "expected a count or a percentage such as 10%, but found `{text}`"
            ))
        };
        match text.trim().strip_suffix('%') {
            Some(p) => {
                let p = p.trim().parse::<f64>().map_err(|_| bad())?;
                Percent::new(p).map(MaxDelete::Percent).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "a percentage {}",
                        Percent::out_of_bounds(&text)
                    ))
                })
            }
            None => {
                let n = text.trim().parse::<i128>().map_err(|_| bad())?;
                u64::try_from(n)
                    .ok()
                    .and_then(DeleteCount::new)
                    .map(MaxDelete::Count)
                    .ok_or_else(|| {
                        serde::de::Error::custom(format!(
                            "a count {}",
                            DeleteCount::out_of_bounds(n)
                        ))
                    })
            }
        }
    }
}

impl MaxDelete {
    /// Whether `deletes` of `target_files` exceeds the limit.
    pub fn exceeded(self, deletes: usize, target_files: usize) -> bool {
        match self {
            MaxDelete::Count(n) => u64::try_from(deletes).ok().is_none_or(|d| d > n.get()),
            MaxDelete::Percent(p) => {
                target_files > 0 && (deletes as f64) * 100.0 / (target_files as f64) > p.get()
            }
        }
    }
}

/// `filters`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Gitignore-style globs of the paths the sync owns (all when empty).
    #[serde(default)]
    pub include: Vec<String>,
    /// Globs of paths it leaves alone.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// `schedule`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// `manual`, `on_release` or `cron`.
    pub trigger: Trigger,
    /// The cron expression, for `cron`.
    #[serde(default)]
    pub cron: Option<String>,
    /// The IANA time zone the cron expression is read in (default: the
    /// cadence's `time_zone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            trigger: Trigger::Manual,
            cron: None,
            timezone: None,
        }
    }
}

/// The spec's triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// Run by hand.
    Manual,
    /// Run when a release is published.
    OnRelease,
    /// Run on a cron schedule.
    Cron,
}

/// A sync configuration and the file it came from.
#[derive(Debug, Clone)]
pub struct LoadedSync {
    /// The configuration.
    pub config: SyncConfig,
    /// Its file.
    pub path: PathBuf,
    /// BLAKE3 of the file's bytes, recorded in plans.
    pub hash: String,
}

/// Reads one sync file.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the file, line, column and key.
pub fn read(path: &Path, shown: &Path, home: &Path) -> Result<LoadedSync> {
    let text = crate::yaml::read_text(path, shown)?;
    let file: SyncFile = crate::yaml::parse(&text, shown)?;
    let config = file.sync_config;
    let at = |message: &str| crate::yaml::locate_message(shown, &text, message);
    if config.sync_id.is_empty()
        || !config
            .sync_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(at(&format!(
            "sync_config.sync_id: `{}` must be letters, digits, `-`, `_` or `.`",
            config.sync_id
        )));
    }
    if config
        .options
        .approver
        .as_deref()
        .is_some_and(|a| a.trim().is_empty())
    {
        return Err(at(
            "sync_config.options.approver: empty: name the role or person who approves, or leave the key out",
        ));
    }
    if let Some(problem) = location_problem(&config, home) {
        return Err(at(&problem));
    }
    if config.schedule.trigger == Trigger::Cron && config.schedule.cron.is_none() {
        return Err(at(
            "sync_config.schedule.trigger: a cron trigger needs a cron expression (schedule.cron)",
        ));
    }
    #[cfg(unix)]
    if let Err(problem) = super::schedule::check(&config.schedule) {
        return Err(at(&format!("sync_config.schedule.{problem}")));
    }
    if config.source.kind == EndpointType::Git && config.source.branch.is_none()
        || config.target.kind == EndpointType::Git && config.target.branch.is_none()
    {
        let side = if config.source.kind == EndpointType::Git && config.source.branch.is_none() {
            "source"
        } else {
            "target"
        };
        return Err(at(&format!(
            "sync_config.{side}: a git endpoint needs a branch"
        )));
    }
    Ok(LoadedSync {
        hash: blake3::hash(text.as_bytes()).to_hex().to_string(),
        config,
        path: path.to_path_buf(),
    })
}

/// What is wrong with where a file sync writes, if anything: a target
/// that is its own source, inside it or around it (an apply would feed on
/// itself), or inside the repository's `.git` (a hook would run) or
/// trainyard's own records. Paths are compared after resolving symlinks
/// of the parts that exist.
fn location_problem(config: &SyncConfig, home: &Path) -> Option<String> {
    if config.target.kind != EndpointType::File {
        return None;
    }
    let target = resolved(&home.join(&config.target.location));
    let location = &config.target.location;
    if config.source.kind == EndpointType::File {
        let source = resolved(&home.join(&config.source.location));
        let what = if target == source {
            Some("is the source")
        } else if target.starts_with(&source) {
            Some("is inside the source")
        } else if source.starts_with(&target) {
            Some("holds the source")
        } else {
            None
        };
        if let Some(what) = what {
            return Some(format!(
                "sync_config.target.location: `{location}` {what} `{}`: a sync must write somewhere else",
                config.source.location
            ));
        }
    }
    let home = resolved(home);
    for (dir, whose) in [
        (".git", "git's own directory"),
        (".trainyard", "trainyard's records"),
    ] {
        let inner = home.join(dir);
        if target.starts_with(&inner) || inner.starts_with(&target) && target != home {
            return Some(format!(
                "sync_config.target.location: `{location}` is or holds {whose} ({dir}/): a sync never writes there"
            ));
        }
    }
    if target == home {
        return Some(format!(
            "sync_config.target.location: `{location}` is the repository itself: a sync writes to a directory of its own"
        ));
    }
    None
}

/// `path` with `.`/`..` resolved and symlinks of its existing part
/// followed; the part that does not exist yet is kept as written.
fn resolved(path: &Path) -> PathBuf {
    let lexical = crate::fsutil::lexical(path);
    let mut existing = lexical.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return lexical,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sync_file(options: &str) -> String {
        format!(
            "sync_config:\n  sync_id: s\n  name: S\n  type: config\n\
             \x20 source: {{ type: file, location: a }}\n\
             \x20 target: {{ type: file, location: b }}\n\
             \x20 options:\n    dry_run_required: true\n    approval_required: false\n{options}"
        )
    }

    fn read_options(options: &str) -> std::result::Result<SyncOptions, String> {
        crate::yaml::parse::<SyncFile>(&sync_file(options), Path::new("s.yaml"))
            .map(|f| f.sync_config.options)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn options_default_and_read_within_their_bounds() {
        let options = read_options("").expect("defaults");
        assert_eq!(options.plan_ttl_minutes.get(), 24 * 60);
        assert_eq!(options.max_delete, None);
        let options =
            read_options("    plan_ttl_minutes: 43200\n    max_delete: 0\n").expect("the bounds");
        assert_eq!(
            options.plan_ttl_minutes.signed_duration(),
            jiff::SignedDuration::from_hours(30 * 24)
        );
        assert_eq!(
            options.max_delete,
            Some(MaxDelete::Count(DeleteCount::constant(0)))
        );
        let options = read_options("    max_delete: \"12.5%\"\n").expect("a percentage");
        assert_eq!(
            options.max_delete,
            Some(MaxDelete::Percent(Percent::constant(12.5)))
        );
        assert_eq!(
            serde_json::to_value(options.max_delete).expect("json"),
            serde_json::json!("12.5%")
        );
    }

    #[test]
    fn options_out_of_bounds_name_line_column_and_key() {
        let cases = [
            "    plan_ttl_minutes: 0\n",
            "    plan_ttl_minutes: 18446744073709551615\n",
            "    max_delete: -1\n",
            "    max_delete: 1000001\n",
            "    max_delete: \"200%\"\n",
            "    max_delete: lots\n",
        ];
        let messages: Vec<String> = cases
            .iter()
            .map(|c| read_options(c).expect_err(c))
            .collect();
        insta::assert_snapshot!(messages.join("\n"), @r"
        s.yaml:10:23: sync_config.options.plan_ttl_minutes: must be between 1 and 43200 (30 days), not 0
        s.yaml:10:23: sync_config.options.plan_ttl_minutes: must be between 1 and 43200 (30 days), not 18446744073709551615
        s.yaml:10:17: sync_config.options.max_delete: a count must be between 0 and 1000000, not -1
        s.yaml:10:17: sync_config.options.max_delete: a count must be between 0 and 1000000, not 1000001
        s.yaml:10:17: sync_config.options.max_delete: a percentage must be between 0 and 100, not 200%
        s.yaml:10:17: sync_config.options.max_delete: expected a count or a percentage such as 10%, but found `lots`
        ");
    }

    #[test]
    fn max_delete_counts_and_percentages() {
        let count = MaxDelete::Count(DeleteCount::constant(2));
        assert!(!count.exceeded(2, 10));
        assert!(count.exceeded(3, 10));
        let percent = MaxDelete::Percent(Percent::constant(10.0));
        assert!(!percent.exceeded(1, 10));
        assert!(percent.exceeded(2, 10));
        assert!(!percent.exceeded(5, 0));
    }
}
