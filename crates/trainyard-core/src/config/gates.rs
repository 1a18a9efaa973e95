//! `gates:` in `trainyard.yaml`: the gates a user defines over the
//! built-in G-MRG and G-REL, their checks and their thresholds.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::bounded::{ExitStatus, Percent, Timeout};
use crate::{Error, Result};

/// The merge gate, required before a patch release.
pub const MERGE_GATE: &str = "G-MRG";

/// The release gate, required before a minor or major release.
pub const RELEASE_GATE: &str = "G-REL";

/// The default timeout of a command check, in seconds.
pub const DEFAULT_TIMEOUT_SECONDS: Timeout = Timeout::constant(600);

/// The default minimum `success_rate` of a gate, in percent.
pub const DEFAULT_SUCCESS_RATE: f64 = 100.0;

/// The default maximum `rework_rate` of a gate, in percent (G-MRG's
/// built-in definition allows 30).
pub const DEFAULT_REWORK_RATE: f64 = 20.0;

/// The longest gate name accepted, in bytes.
const MAX_GATE_NAME_LEN: usize = 64;

/// `gates:` in `trainyard.yaml`: the gates the user defines, by name.
///
/// Empty by default; [`configured`] lays these over the built-in `G-MRG`
/// and `G-REL` ([`defaults`]), so a gate defined under one of those names
/// replaces the built-in one and any other name adds a gate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct GatesConfig(pub BTreeMap<String, GateConfig>);

impl GatesConfig {
    /// Checks what one key cannot: gate names usable in evidence names,
    /// check names unique within a gate (the thresholds' bounds are
    /// checked as they are read).
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming the key, e.g.
    /// `gates.G-REL.checks[2]: another check is already named `test``.
    pub fn validate(&self) -> Result<()> {
        for (name, gate) in &self.0 {
            validate_gate_name(name).map_err(|e| Error::input(format!("gates.{name}: {e}")))?;
            gate.validate()
                .map_err(|e| Error::input(format!("gates.{name}.{e}")))?;
        }
        Ok(())
    }
}

/// One gate: its checks and its thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// What the gate is for, for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The checks, run in this order except that `parallel` commands run
    /// together; the results keep this order.
    #[serde(default)]
    pub checks: Vec<CheckConfig>,
    /// The minimum percent of checks that ran (were not skipped) that must
    /// pass (default: the built-in gate's of the same name, else 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_rate: Option<Percent>,
    /// The maximum percent of the release range's commits that may be
    /// rework: reverts, `fixup!`/`squash!`/`amend!` commits and commits
    /// that fix a commit of the same range (default: the built-in gate's
    /// of the same name, 30 for G-MRG, else 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rework_rate: Option<Percent>,
    /// Every check that ran must pass.
    #[serde(default = "default_true")]
    pub all_tasks_passed: bool,
}

fn default_true() -> bool {
    true
}

impl GateConfig {
    /// Checks the checks and that their names are unique.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] whose message starts with the key at
    /// fault, relative to the gate: `checks[2]: ...`.
    pub fn validate(&self) -> Result<()> {
        let mut seen = HashSet::new();
        for (i, check) in self.checks.iter().enumerate() {
            check
                .validate()
                .map_err(|e| Error::input(format!("checks[{i}]: {e}")))?;
            if !seen.insert(check.name()) {
                return Err(Error::input(format!(
                    "checks[{i}]: another check is already named `{}`",
                    check.name()
                )));
            }
        }
        Ok(())
    }

    /// The thresholds the gate applies.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            success_rate: self.success_rate.map_or(DEFAULT_SUCCESS_RATE, Percent::get),
            rework_rate: self.rework_rate.map_or(DEFAULT_REWORK_RATE, Percent::get),
            all_tasks_passed: self.all_tasks_passed,
        }
    }
}

/// One check of a gate: a command, or a built-in check.
///
/// In YAML, a command is `{name, run, timeout_seconds, expect_exit,
/// parallel, cwd, env}` (only `run` is required) and a built-in is
/// `{name, builtin}` (only `builtin` is required).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "RawCheck", into = "RawCheck")]
pub enum CheckConfig {
    /// A command run with `sh -c`.
    Command(CommandCheck),
    /// A check trainyard does itself.
    Builtin(BuiltinCheck),
}

impl CheckConfig {
    /// The check's name, unique within its gate.
    pub fn name(&self) -> &str {
        match self {
            CheckConfig::Command(c) => &c.name,
            CheckConfig::Builtin(b) => &b.name,
        }
    }

    /// Whether it may run alongside other parallel checks.
    pub fn parallel(&self) -> bool {
        match self {
            CheckConfig::Command(c) => c.parallel,
            CheckConfig::Builtin(_) => false,
        }
    }

    /// What kind of check it is.
    pub fn kind(&self) -> CheckKind {
        match self {
            CheckConfig::Command(_) => CheckKind::Command,
            CheckConfig::Builtin(_) => CheckKind::Builtin,
        }
    }

    /// A built-in check under its own name.
    pub fn builtin(builtin: Builtin) -> Self {
        CheckConfig::Builtin(BuiltinCheck {
            name: builtin.as_str().to_owned(),
            builtin,
        })
    }

    /// A command check with the default timeout, exit status 0, not
    /// parallel.
    pub fn command(name: impl Into<String>, run: impl Into<String>) -> Self {
        CheckConfig::Command(CommandCheck {
            name: name.into(),
            run: run.into(),
            timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
            expect_exit: ExitStatus::constant(0),
            parallel: false,
            cwd: None,
            env: BTreeMap::new(),
        })
    }

    fn validate(&self) -> Result<()> {
        RawCheck::from(self.clone()).into_check().map(|_| ())
    }
}

/// A command check: `sh -c <run>` in the checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandCheck {
    /// The check's name (default: the command's first line).
    pub name: String,
    /// The shell command.
    pub run: String,
    /// How long it may run before its process group is killed, in seconds
    /// (default 600, at most 7 days).
    pub timeout_seconds: Timeout,
    /// The exit status that means success (default 0).
    pub expect_exit: ExitStatus,
    /// Whether it may run at the same time as other parallel checks
    /// (default false: it runs alone).
    pub parallel: bool,
    /// The directory to run in, relative to the checkout (default: the
    /// checkout's working directory).
    pub cwd: Option<PathBuf>,
    /// Variables added to its environment.
    pub env: BTreeMap<String, String>,
}

/// A built-in check under a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinCheck {
    /// The check's name (default: the built-in's name).
    pub name: String,
    /// Which built-in.
    pub builtin: Builtin,
}

/// The checks trainyard does itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    /// No uncommitted changes to tracked files (`git status --porcelain
    /// --untracked-files=no`), trainyard's own evidence files aside.
    CleanTree,
    /// Every commit of the release range is a Conventional Commit, a merge
    /// or a revert made by `git revert`.
    ConventionalCommits,
    /// No `feat` commit and no breaking change after the release's freeze
    /// point; skipped when no freeze point is given.
    FeatureFreeze,
    /// The changelog has a section for the version; skipped without a
    /// version.
    ChangelogSection,
    /// Every manifest carries the version; skipped without a version or
    /// without manifests.
    ManifestsAtVersion,
}

impl Builtin {
    /// Its snake_case name, as in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Builtin::CleanTree => "clean_tree",
            Builtin::ConventionalCommits => "conventional_commits",
            Builtin::FeatureFreeze => "feature_freeze",
            Builtin::ChangelogSection => "changelog_section",
            Builtin::ManifestsAtVersion => "manifests_at_version",
        }
    }
}

/// A check as written in YAML, before it is known to be a command or a
/// built-in.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CheckConfig")]
struct RawCheck {
    /// The check's name, unique within the gate (default: the command's
    /// first line, or the built-in's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// A shell command, run with `sh -c` (give this or `builtin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    run: Option<String>,
    /// A built-in check (give this or `run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    builtin: Option<Builtin>,
    /// Commands only: seconds before the command is killed (default 600,
    /// at most 7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timeout_seconds: Option<Timeout>,
    /// Commands only: the exit status that means success (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expect_exit: Option<ExitStatus>,
    /// Commands only: may run at the same time as other parallel checks
    /// (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parallel: Option<bool>,
    /// Commands only: the directory to run in, relative to the checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cwd: Option<PathBuf>,
    /// Commands only: variables added to the environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    env: Option<BTreeMap<String, String>>,
}

impl RawCheck {
    fn into_check(self) -> Result<CheckConfig> {
        let label = |name: &Option<String>| {
            name.as_deref()
                .map(|n| format!("check `{n}`"))
                .unwrap_or_else(|| "a check".to_owned())
        };
        if let Some(name) = &self.name
            && (name.trim().is_empty() || name.contains(['\n', '\r']))
        {
            return Err(Error::input(format!(
                "invalid check name {name:?}: it must be one non-empty line"
            )));
        }
        match (self.run, self.builtin) {
            (Some(_), Some(_)) => Err(Error::input(format!(
                "{} has both `run` and `builtin`: give one",
                label(&self.name)
            ))),
            (None, None) => Err(Error::input(format!(
                "{} needs `run` (a command) or `builtin` (one of clean_tree, \
                 conventional_commits, feature_freeze, changelog_section, manifests_at_version)",
                label(&self.name)
            ))),
            (None, Some(builtin)) => {
                let command_only = [
                    ("timeout_seconds", self.timeout_seconds.is_some()),
                    ("expect_exit", self.expect_exit.is_some()),
                    ("parallel", self.parallel.is_some()),
                    ("cwd", self.cwd.is_some()),
                    ("env", self.env.is_some()),
                ];
                if let Some((key, _)) = command_only.iter().find(|(_, set)| *set) {
                    return Err(Error::input(format!(
                        "{}: `{key}` applies to `run` checks only, not to the built-in {}",
                        label(&self.name),
                        builtin.as_str()
                    )));
                }
                Ok(CheckConfig::Builtin(BuiltinCheck {
                    name: self.name.unwrap_or_else(|| builtin.as_str().to_owned()),
                    builtin,
                }))
            }
            (Some(run), None) => {
                if run.trim().is_empty() {
                    return Err(Error::input(format!(
                        "{}: `run` is empty",
                        label(&self.name)
                    )));
                }
                // A multi-line script is named by its first line.
                let name = self.name.unwrap_or_else(|| {
                    run.lines()
                        .map(str::trim)
                        .find(|l| !l.is_empty())
                        .unwrap_or_default()
                        .to_owned()
                });
                let timeout_seconds = self.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
                let expect_exit = self.expect_exit.unwrap_or(ExitStatus::constant(0));
                if let Some(cwd) = &self.cwd
                    && cwd.is_absolute()
                {
                    return Err(Error::input(format!(
                        "check `{name}`: cwd {} must be relative to the checkout",
                        cwd.display()
                    )));
                }
                let env = self.env.unwrap_or_default();
                if let Some(key) = env.keys().find(|k| k.is_empty() || k.contains(['=', '\0'])) {
                    return Err(Error::input(format!(
                        "check `{name}`: invalid environment variable name {key:?}"
                    )));
                }
                Ok(CheckConfig::Command(CommandCheck {
                    name,
                    run,
                    timeout_seconds,
                    expect_exit,
                    parallel: self.parallel.unwrap_or(false),
                    cwd: self.cwd,
                    env,
                }))
            }
        }
    }
}

impl TryFrom<RawCheck> for CheckConfig {
    type Error = Error;

    fn try_from(raw: RawCheck) -> Result<Self> {
        raw.into_check()
    }
}

impl From<CheckConfig> for RawCheck {
    fn from(check: CheckConfig) -> Self {
        match check {
            CheckConfig::Builtin(b) => RawCheck {
                name: Some(b.name),
                builtin: Some(b.builtin),
                ..RawCheck::default()
            },
            CheckConfig::Command(c) => RawCheck {
                name: Some(c.name),
                run: Some(c.run),
                builtin: None,
                timeout_seconds: Some(c.timeout_seconds),
                expect_exit: Some(c.expect_exit),
                parallel: Some(c.parallel),
                cwd: c.cwd,
                env: (!c.env.is_empty()).then_some(c.env),
            },
        }
    }
}

/// The built-in gates: `G-MRG` (clean_tree; rework at most 30 %) and
/// `G-REL` (clean_tree, conventional_commits, feature_freeze; rework at
/// most 20 %), both requiring every check to pass.
pub fn defaults() -> BTreeMap<String, GateConfig> {
    BTreeMap::from([
        (
            MERGE_GATE.to_owned(),
            GateConfig {
                description: "Merge gate: required before a patch release".to_owned(),
                checks: vec![CheckConfig::builtin(Builtin::CleanTree)],
                success_rate: Some(Percent::constant(100.0)),
                rework_rate: Some(Percent::constant(30.0)),
                all_tasks_passed: true,
            },
        ),
        (
            RELEASE_GATE.to_owned(),
            GateConfig {
                description: "Release gate: required before a minor or major release \
                              (a major also needs a human sign-off)"
                    .to_owned(),
                checks: vec![
                    CheckConfig::builtin(Builtin::CleanTree),
                    CheckConfig::builtin(Builtin::ConventionalCommits),
                    CheckConfig::builtin(Builtin::FeatureFreeze),
                ],
                success_rate: Some(Percent::constant(100.0)),
                rework_rate: Some(Percent::constant(20.0)),
                all_tasks_passed: true,
            },
        ),
    ])
}

/// The gates in effect: the built-in ones with the user's laid over them
/// (same name replaces, other names add).
pub fn configured(gates: &GatesConfig) -> BTreeMap<String, GateConfig> {
    let mut all = defaults();
    for (name, gate) in &gates.0 {
        let mut gate = gate.clone();
        // A redefined built-in gate keeps the thresholds it does not set.
        if let Some(built_in) = all.get(name) {
            gate.success_rate = gate.success_rate.or(built_in.success_rate);
            gate.rework_rate = gate.rework_rate.or(built_in.rework_rate);
        }
        all.insert(name.clone(), gate);
    }
    all
}

/// Finds a gate by name among the [`configured`] ones: the exact name,
/// else the only one that matches ignoring ASCII case. Returns its
/// configured name and definition.
///
/// # Errors
///
/// Returns an [`Error::Input`] listing the configured gates when none
/// matches.
pub fn find(gates: &GatesConfig, name: &str) -> Result<(String, GateConfig)> {
    let all = configured(gates);
    if let Some(gate) = all.get(name) {
        return Ok((name.to_owned(), gate.clone()));
    }
    let matches: Vec<_> = all
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .collect();
    if let [(n, gate)] = matches.as_slice() {
        return Ok(((*n).clone(), (*gate).clone()));
    }
    let names: Vec<&str> = all.keys().map(String::as_str).collect();
    Err(Error::input(format!(
        "unknown gate `{name}`: the configured gates are {}",
        names.join(", ")
    )))
}

/// Checks that a gate name can go into an evidence name: ASCII letters,
/// digits, `.`, `_` and `-`, starting with a letter or digit, at most 64
/// bytes.
pub(crate) fn validate_gate_name(name: &str) -> Result<()> {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if first_ok && rest_ok && !name.ends_with('.') && name.len() <= MAX_GATE_NAME_LEN {
        Ok(())
    } else {
        Err(Error::input(format!(
            "invalid gate name {name:?}: use letters, digits, ., _ and -, starting with a \
             letter or digit, at most {MAX_GATE_NAME_LEN} bytes"
        )))
    }
}

/// What kind of check ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// A command run with `sh -c`.
    Command,
    /// A check trainyard does itself.
    Builtin,
}

/// A gate's thresholds, as applied.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// The minimum success rate, in percent.
    pub success_rate: f64,
    /// The maximum rework rate, in percent.
    pub rework_rate: f64,
    /// Whether every check had to pass.
    pub all_tasks_passed: bool,
}
