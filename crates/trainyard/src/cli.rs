//! The command line: clap types only. Each command's behaviour lives in
//! `commands/<name>.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Release operations: versions, changelogs, calendars, gates, syncs and
/// rollbacks, with evidence for all of it.
#[derive(Debug, Parser)]
#[command(name = "trainyard", version, about, propagate_version = true)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print one JSON document on stdout instead of human output.
    #[arg(long, global = true)]
    pub json: bool,
    /// Use this configuration file instead of the trainyard.yaml found by
    /// walking up from the working directory.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run as if started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub directory: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Where this repository stands: current version, unreleased changes,
    /// next version and why, manifests.
    Status,
    /// Versions: next, bump, history, and validate/compare/sort for scripts.
    #[command(subcommand)]
    Version(VersionCommand),
    /// Write a commented trainyard.yaml for this repository.
    Init(InitArgs),
    /// Check or describe the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The evidence store: list, show and verify documents.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
}

/// `trainyard version ...`
#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// The next version and the commits that decided it.
    Next(NextArgs),
    /// Write the next (or a chosen) version into every manifest.
    Bump(BumpArgs),
    /// Every release's bump, decided from its commits and checked against
    /// its tag.
    History(HistoryArgs),
    /// Check versions; exit 1 if any is invalid.
    Validate {
        /// Versions to check.
        #[arg(required = true)]
        versions: Vec<String>,
    },
    /// Compare two versions by precedence: prints `<`, `=` or `>`.
    Compare {
        /// The first version.
        a: String,
        /// The second version.
        b: String,
    },
    /// Sort versions read from stdin, one per line, in ascending precedence.
    Sort,
}

/// `version next`
#[derive(Debug, Args)]
pub struct NextArgs {
    /// Make a pre-release: alpha, beta or rc.
    #[arg(long, value_name = "CHANNEL")]
    pub pre: Option<String>,
    /// Append build metadata (`+META`).
    #[arg(long, value_name = "META")]
    pub build: Option<String>,
    /// Compute from this revision instead of HEAD.
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
}

/// `version bump`
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("target").multiple(false))]
pub struct BumpArgs {
    /// Bump the major version of the current release.
    #[arg(long, group = "target")]
    pub major: bool,
    /// Bump the minor version of the current release.
    #[arg(long, group = "target")]
    pub minor: bool,
    /// Bump the patch version of the current release.
    #[arg(long, group = "target")]
    pub patch: bool,
    /// Make the next pre-release on a channel: alpha, beta or rc.
    #[arg(long, group = "target", value_name = "CHANNEL")]
    pub pre: Option<String>,
    /// Write exactly this version.
    #[arg(long, group = "target", value_name = "VERSION")]
    pub set: Option<String>,
    /// Print the diff and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Edit manifests even when they have uncommitted changes.
    #[arg(long)]
    pub allow_dirty: bool,
}

/// `version history`
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Read the history from this revision instead of HEAD.
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// Exit 1 when a release's version is not what its commits call for.
    #[arg(long)]
    pub check: bool,
}

/// `init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Replace an existing trainyard.yaml.
    #[arg(long)]
    pub force: bool,
    /// Print the file and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the configuration; exit 2 with the file, line, column and key
    /// of the first error.
    Validate,
    /// Print the JSON Schema of trainyard.yaml.
    Schema,
}

/// `evidence ...`
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// List recorded documents.
    List {
        /// Only documents of this kind.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Print one document.
    Show {
        /// The document's kind (e.g. version_bump).
        kind: String,
        /// The document's name.
        name: String,
    },
    /// Check every document against the hash-chained index; exit 1 on any
    /// problem.
    Verify,
}
