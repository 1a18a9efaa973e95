//! The command line: clap types only. Each command's behaviour lives in
//! `commands/<name>.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Release operations: versions, changelogs, calendars, gates, syncs and
/// rollbacks, with evidence for all of it.
#[derive(Debug, Parser)]
#[command(name = "trainyard", version, about)]
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
    /// Work on one package (or fixed group) of a monorepo: its tags,
    /// manifests, changelog, notes, releases and rollbacks.
    #[arg(long, global = true, value_name = "NAME", env = "TRAINYARD_PACKAGE")]
    pub package: Option<String>,
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
    /// The changelog (Keep a Changelog 1.1.0): unreleased changes, one
    /// release, or all of them; `--write` updates CHANGELOG.md in place.
    Changelog(ChangelogArgs),
    /// Release notes in the spec's template (markdown) or schema (YAML,
    /// JSON), validated.
    Notes(NotesArgs),
    /// The release calendar: generate, reconcile with tags, show, find the
    /// next events and today's phase, validate and export.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Gates: run one and record its result for the commit.
    #[command(subcommand)]
    Gate(GateCommand),
    /// The pre-release checklist, RL-01 to RL-08; exit 1 when a required
    /// item fails.
    Check {
        /// The version (default: the release in progress, else the next
        /// version).
        #[arg(long, value_name = "VERSION")]
        version: Option<String>,
    },
    /// Record a sign-off: who approved what, when, on which commit.
    Signoff(SignoffArgs),
    /// The release workflow: start, rc, validate, publish, post, abort,
    /// status.
    #[command(subcommand)]
    Release(ReleaseCommand),
    /// Sync automation: validate, plan (the dry-run), approve, apply, run,
    /// log, recover.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// A guided tour: builds a sandbox (a repository with releases, a
    /// remote, a release channel, a config target) and runs a whole
    /// release cycle through it, narrated.
    Demo {
        /// Where to build the sandbox (default: a new directory under the
        /// system's temporary directory); it must not exist or be empty.
        dir: Option<PathBuf>,
    },
    /// Rollback: assess (the decision matrix), plan (the dry-run),
    /// approve, start (RB-IMM or RB-PLN), resume, abort, sign off,
    /// document, rehearse, status.
    #[command(subcommand)]
    Rollback(RollbackCommand),
    /// Write a commented trainyard.yaml for this repository.
    Init(InitArgs),
    /// Check or describe the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The evidence store: list, show and verify documents.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Print a shell completion script, e.g.
    /// `trainyard completions bash > /etc/bash_completion.d/trainyard`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a
    /// directory.
    Man {
        /// Write trainyard.1, trainyard-sync.1, ... into DIR instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
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

/// `changelog`
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("scope").multiple(false))]
pub struct ChangelogArgs {
    /// One release (a version; when not tagged yet, the unreleased changes
    /// become that release).
    #[arg(long, group = "scope", value_name = "VERSION")]
    pub version: Option<String>,
    /// Every release in history, newest first.
    #[arg(long, group = "scope")]
    pub all: bool,
    /// Give pre-releases sections of their own.
    #[arg(long)]
    pub include_prereleases: bool,
    /// Update the changelog file in place: only the sections generated
    /// change.
    #[arg(long, conflicts_with = "check")]
    pub write: bool,
    /// With --write: print the diff and change nothing.
    #[arg(long, requires = "write")]
    pub dry_run: bool,
    /// Exit 1 when the changelog file has no section for VERSION.
    #[arg(long, value_name = "VERSION", conflicts_with = "scope")]
    pub check: Option<String>,
}

/// `notes`
#[derive(Debug, Args)]
pub struct NotesArgs {
    /// The release (default: the next version, from the unreleased changes).
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = NotesFormat::Markdown)]
    pub format: NotesFormat,
    /// Exit 1 when the notes are incomplete: a breaking change without a
    /// migration path, a security entry without CVE id or severity, a
    /// deprecation without a removal version.
    #[arg(long)]
    pub check: bool,
    /// Provenance: the commit released (default: the release's commit).
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// Provenance: the build identifier.
    #[arg(long, value_name = "ID")]
    pub build_id: Option<String>,
    /// Provenance: who signed the release.
    #[arg(long, value_name = "SIGNER")]
    pub signed_by: Option<String>,
}

/// Release notes formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NotesFormat {
    /// The spec's markdown template.
    Markdown,
    /// The spec's `release_notes` YAML schema.
    Yaml,
    /// The same document as JSON.
    Json,
}

/// `calendar ...`
#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// The year's `release_calendar` from the cadence as it stands today:
    /// past slots as the tags say, the next one at `version next`'s
    /// version.
    Generate {
        /// The year.
        #[arg(long)]
        year: i16,
        /// An explicit plan instead: every slot from this release on, all
        /// planned, no tag read.
        #[arg(long, value_name = "VERSION")]
        from_version: Option<String>,
        /// Store it as evidence and as release-calendar-YYYY.yaml.
        #[arg(long)]
        write: bool,
        /// With --write: print what would be written and change nothing.
        #[arg(long, requires = "write")]
        dry_run: bool,
    },
    /// Reconcile a calendar (default: this year's) with the tags.
    Status {
        /// A release_calendar file (default: release-calendar-YYYY.yaml for
        /// this year, or else this year's calendar as it stands today).
        file: Option<PathBuf>,
    },
    /// This year's calendar as a table, with days until each event.
    Show {
        /// The year (default: this year).
        #[arg(long)]
        year: Option<i16>,
    },
    /// The next release-candidate cut and release.
    Next,
    /// The phase of a day: development sprint, stabilization, RC cut day,
    /// release day or freeze window.
    Phase {
        /// A date (YYYY-MM-DD) or an RFC 3339 time (default: now).
        #[arg(long)]
        date: Option<String>,
    },
    /// Check a release_calendar file; exit 1 with every problem and its
    /// line.
    Validate {
        /// The file.
        file: PathBuf,
    },
    /// Export the year's calendar for calendar applications.
    Export {
        /// The year.
        #[arg(long)]
        year: i16,
        /// The format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Ics)]
        format: ExportFormat,
    },
}

/// Calendar export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// RFC 5545 iCalendar.
    Ics,
}

/// `gate ...`
#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Run a gate's checks on HEAD and record the result; exit 1 when it
    /// fails.
    Run {
        /// The gate, e.g. G-REL or G-MRG.
        name: String,
    },
    /// List the configured gates.
    List,
}

/// `signoff`
#[derive(Debug, Args)]
pub struct SignoffArgs {
    /// The version approved.
    pub version: String,
    /// What is approved: RL-06 (security), RL-08 (notes), review or major.
    #[arg(long)]
    pub item: String,
    /// The review layer, 1 or 2 (review only).
    #[arg(long)]
    pub layer: Option<u8>,
    /// Who approves (default: git's user.email).
    #[arg(long)]
    pub by: Option<String>,
    /// In which role.
    #[arg(long)]
    pub role: Option<String>,
}

/// `release ...`
#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Start a release: decide the version, declare the feature freeze.
    Start {
        /// patch, minor or major (default: what the unreleased commits
        /// call for).
        kind: Option<String>,
        /// Release as a lower kind than the commits call for.
        #[arg(long)]
        force: bool,
        /// Print what would happen and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Cut a release candidate: branch, version, changelog, tag, gate.
    Rc {
        /// Cut from this commit (default: HEAD).
        #[arg(long, value_name = "REV")]
        from: Option<String>,
        /// Print what would happen and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Validate the latest candidate: gate, checklist, two-layer review.
    Validate {
        /// Print what would happen and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Tag, build artifacts, publish to every channel (resumable).
    Publish {
        /// Print what would happen and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Merge the release back into its branch, announce, update the
    /// calendar, run the on_release syncs.
    Post {
        /// Print what would happen and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Abandon the release in progress, undoing what is local.
    Abort {
        /// Print what would happen and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Where each release stands.
    Status,
}

/// `rollback ...`
#[derive(Debug, Subcommand)]
pub enum RollbackCommand {
    /// Which rollback the situation calls for, and who approves it.
    Assess {
        /// The issue's severity.
        #[arg(long, value_enum)]
        severity: SeverityArg,
        /// Its user impact.
        #[arg(long, value_enum)]
        impact: ImpactArg,
    },
    /// The dry-run: what a rollback would change, sealed and recorded;
    /// exit 1 when it changes something.
    Plan {
        /// The release to go back to.
        #[arg(long, value_name = "VERSION")]
        to: String,
        /// The release to roll back (default: the latest published).
        #[arg(long, value_name = "VERSION")]
        from: Option<String>,
        /// The rollback type.
        #[arg(long = "type", value_enum, default_value_t = RollbackKindArg::Immediate)]
        kind: RollbackKindArg,
        /// For a partial rollback: a configured component or a path
        /// (repeatable).
        #[arg(long = "component", value_name = "NAME")]
        components: Vec<String>,
    },
    /// Approve (or reject) a rollback plan.
    Approve(DecisionArgs),
    /// Carry a plan out: RB-IMM or RB-PLN, as the matrix decides.
    Start {
        /// The plan id.
        plan_id: String,
        /// The issue that triggered the rollback.
        #[arg(long)]
        issue: String,
        /// Its severity.
        #[arg(long, value_enum)]
        severity: SeverityArg,
        /// Its user impact.
        #[arg(long, value_enum)]
        impact: ImpactArg,
        /// What happened.
        #[arg(long)]
        description: String,
        /// When it was detected (RFC 3339; default: now).
        #[arg(long, value_name = "TIME")]
        detected_at: Option<String>,
        /// Who detected it.
        #[arg(long)]
        detected_by: Option<String>,
        /// Who decides and runs the rollback (default: git's user.email).
        #[arg(long)]
        by: Option<String>,
        /// A command that passes once the original issue is gone.
        #[arg(long, value_name = "COMMAND")]
        check: Option<String>,
        /// Print the procedure, the approval it waits for and the actions
        /// it would carry out, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Go on with a rollback: after its approval, a fix, or a crash.
    Resume {
        /// The rollback id.
        id: String,
    },
    /// Undo a rollback that stopped half-way, back to where it began.
    Abort {
        /// The rollback id.
        id: String,
    },
    /// Sign off a manual checklist item of a rollback.
    Signoff {
        /// The rollback id.
        id: String,
        /// The item's key (e.g. stakeholders-notified).
        #[arg(long)]
        item: String,
        /// Who (default: git's user.email).
        #[arg(long)]
        by: Option<String>,
    },
    /// Record the root cause and prevention actions in the evidence.
    Document {
        /// The rollback id.
        id: String,
        /// The root cause.
        #[arg(long)]
        root_cause: String,
        /// A prevention action (repeatable).
        #[arg(long = "prevention", value_name = "ACTION")]
        prevention: Vec<String>,
        /// A post-mortem document.
        #[arg(long, value_name = "PATH")]
        post_mortem: Option<String>,
    },
    /// Rehearse rolling a release back on scratch copies (checklist RL-07).
    Rehearse {
        /// The release to roll back (published, or the one in progress).
        #[arg(long, value_name = "VERSION")]
        version: String,
        /// The release to go back to (default: the one before it).
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
    },
    /// The rollbacks, or one with its checklist.
    Status {
        /// One rollback.
        id: Option<String>,
    },
}

/// An issue's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SeverityArg {
    /// Critical.
    Critical,
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

/// An issue's user impact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImpactArg {
    /// Widespread.
    Widespread,
    /// Significant.
    Significant,
    /// Limited.
    Limited,
    /// Minimal.
    Minimal,
}

/// A rollback type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RollbackKindArg {
    /// The whole release, now.
    Immediate,
    /// The whole release, after approval.
    Planned,
    /// Only the named components.
    Partial,
    /// Only the configuration syncs.
    Config,
}

/// `sync ...`
#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Check sync configurations: schema, DR-01, filters, credentials,
    /// source reachable, target readable.
    Validate {
        /// One sync (default: all).
        id: Option<String>,
    },
    /// The dry-run: every change, sealed and recorded; exit 1 when there
    /// are changes, like `diff`.
    Plan {
        /// The sync.
        id: String,
        /// Read every file, trusting no cached hash (a cached plan trusts
        /// files whose size, mtime, inode and ctime are unchanged).
        #[arg(long)]
        exact: bool,
    },
    /// Approve (or reject) a plan.
    Approve {
        #[command(flatten)]
        decision: DecisionArgs,
        /// Allow deletions beyond max_delete.
        #[arg(long)]
        override_max_delete: bool,
    },
    /// Apply an approved plan.
    Apply {
        /// The plan id.
        plan_id: String,
    },
    /// Plan, approve automatically, apply and verify (syncs that need no
    /// approval).
    Run {
        /// The sync.
        id: String,
    },
    /// The sync logs.
    Log {
        /// One sync (default: all).
        id: Option<String>,
    },
    /// The configured syncs.
    List,
    /// Finish or undo an interrupted apply from its journal, under the
    /// target's lock, and clear the lock a dead apply left.
    Recover {
        /// The sync.
        id: String,
    },
    /// Break the lock a dead apply left on the sync's target, by its id
    /// (never a running apply's).
    Unlock {
        /// The sync.
        id: String,
        /// The lock's id, as the refusal named it.
        lock_id: String,
    },
    /// The scheduled syncs due now (or at --at), and why: cron syncs with
    /// a scheduled time since their last run, on_release syncs for
    /// --on-release, plans the scheduler made that wait for approval.
    Due {
        /// The time to ask about, RFC 3339 (default: now).
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        at: Option<jiff::Timestamp>,
        /// A release just published: lists the on_release syncs due for it.
        #[arg(long, value_name = "VERSION")]
        on_release: Option<String>,
    },
    /// Run the scheduled syncs as they fall due: one line per outcome;
    /// stops cleanly on SIGTERM or SIGINT once the sync in progress is
    /// done.
    Daemon {
        /// Seconds between two looks at the schedule.
        #[arg(long, value_name = "SECONDS", default_value_t = 60,
              value_parser = clap::value_parser!(u64).range(1..))]
        interval: u64,
        /// Run what is due once and exit (1 when a sync failed).
        #[arg(long)]
        once: bool,
    },
}

/// An RFC 3339 time for `--at`.
fn parse_time(text: &str) -> Result<jiff::Timestamp, String> {
    text.parse::<jiff::Timestamp>().map_err(|_| {
        format!("invalid time `{text}`: expected an RFC 3339 time such as 2027-01-13T02:30:00Z")
    })
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
    /// Check the configuration and, in a repository, the sync
    /// configurations; exit 2 with the file, line, column and key of the
    /// first error.
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
    /// Check every document against the hash-chained index, and the index
    /// against its anchors in git (refs/trainyard/evidence); exit 1 on any
    /// problem.
    Verify {
        /// Also fetch REMOTE's refs/trainyard/evidence and check against it
        /// (e.g. origin), which catches a rewritten local anchor ref.
        #[arg(long, value_name = "REMOTE")]
        against: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}

/// A decision on a plan: `sync approve` and `rollback approve`.
#[derive(Debug, Args)]
pub struct DecisionArgs {
    /// The plan id (at least 8 hex digits).
    pub plan_id: String,
    /// Who approves (default: git's user.email).
    #[arg(long)]
    pub by: Option<String>,
    /// In which role (the one the sync's approver or the rollback matrix
    /// names).
    #[arg(long)]
    pub role: Option<String>,
    /// Reject the plan: it can never be carried out.
    #[arg(long, requires = "reason")]
    pub reject: bool,
    /// Why.
    #[arg(long)]
    pub reason: Option<String>,
}

impl DecisionArgs {
    /// The request these arguments make.
    pub fn request(&self) -> trainyard_core::plan::ApproveRequest {
        trainyard_core::plan::ApproveRequest {
            plan_id: self.plan_id.clone(),
            by: self.by.clone(),
            role: self.role.clone(),
            reject: self.reject,
            reason: self.reason.clone(),
            override_max_delete: false,
        }
    }
}
