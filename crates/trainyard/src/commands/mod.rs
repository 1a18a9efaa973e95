//! One file per command: each turns arguments into a request, calls the
//! core, and renders the report (human or `--json`).

mod calendar;
mod changelog;
mod check;
mod completions;
mod config;
mod demo;
mod evidence;
mod gate;
mod init;
mod man;
mod notes;
mod packages;
mod release;
mod rollback;
mod signoff;
mod status;
mod sync;
mod version;

use std::path::{Path, PathBuf};

use trainyard_core::Error;
use trainyard_core::versioning::Workspace;

use crate::cli::{Cli, Command};
use crate::printer::Printer;

/// How a command that ran to completion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exit 0.
    Success,
    /// Exit 1: a check failed, or changes are pending.
    Failure,
}

pub use crate::error::CliError;

/// The result of a command.
pub type CmdResult = Result<Exit, CliError>;

/// What every command gets: where it runs, its configuration override and
/// its printer.
pub struct Context<'a> {
    /// The directory the command runs in.
    pub cwd: PathBuf,
    /// `--config`, if given.
    pub config: Option<PathBuf>,
    /// `--package`, if given.
    pub package: Option<String>,
    /// The output channel.
    pub printer: &'a Printer,
}

impl Context<'_> {
    /// Opens the repository and configuration. `TRAINYARD_NOW` (an RFC
    /// 3339 time or a date) pins the clock, for reproducible output and
    /// rehearsals.
    pub fn workspace(&self) -> Result<Workspace, Error> {
        let mut ws = Workspace::open(&self.cwd, self.config.as_deref())?;
        if let Some(name) = &self.package {
            ws = ws.for_package(name)?;
        }
        if let Some(pinned) = std::env::var_os("TRAINYARD_NOW") {
            ws.pin_clock(parse_now(&pinned.to_string_lossy())?);
        }
        if !self.printer.json() {
            // A wait for another run's hold on the evidence store is said
            // when it starts, with its bound.
            ws.on_store_wait(trainyard_core::evidence::WaitNotice(std::sync::Arc::new(
                |store: &str, limit: std::time::Duration| {
                    let _ = Printer::new(false).status(&format!(
                        "waiting: the evidence store {store} is held by another trainyard run (for at most {}s, evidence.lock_wait_seconds)\n",
                        limit.as_secs()
                    ));
                },
            )));
        }
        Ok(ws)
    }

    /// As [`Context::workspace`], for a command about one release line: in
    /// a repository with packages, `--package` must name one.
    pub fn unit_workspace(&self, command: &str) -> Result<Workspace, Error> {
        let ws = self.workspace()?;
        if ws.package.is_none() && !ws.config.packages.is_empty() {
            let names: Vec<String> = trainyard_core::packages::units(&ws.config)
                .into_iter()
                .map(|u| u.name)
                .collect();
            return Err(Error::input(format!(
                "`{command}` works on one package here: name it with --package NAME ({})",
                names.join(", ")
            )));
        }
        Ok(ws)
    }

    /// `--config` resolved against the working directory.
    pub fn config_path(&self) -> Option<&Path> {
        self.config.as_deref()
    }
}

/// In solo use (no `identity.roles`), says once, on stderr, that the
/// decisions a command relied on are unverified.
pub fn unverified_notice(ctx: &Context<'_>, ws: &Workspace) -> Result<(), CliError> {
    if ws.config.identity.roles.is_empty() && !ctx.printer.json() {
        ctx.printer
            .status(&format!("note: {}\n", trainyard_core::identity::UNVERIFIED))?;
    }
    Ok(())
}

fn parse_now(text: &str) -> Result<jiff::Timestamp, Error> {
    if let Ok(instant) = text.parse::<jiff::Timestamp>() {
        return Ok(instant);
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            Error::input(format!(
                "TRAINYARD_NOW: invalid time `{text}`: expected YYYY-MM-DD or an RFC 3339 time"
            ))
        })
}

/// Runs the command `cli` names.
pub fn run(cli: &Cli, printer: &Printer) -> CmdResult {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::io("cannot read the working directory", ".", e))?;
    let cwd = match &cli.global.directory {
        Some(dir) => cwd.join(dir),
        None => cwd,
    };
    let config = cli.global.config.as_ref().map(|p| cwd.join(p));
    let ctx = Context {
        cwd,
        config,
        package: cli.global.package.clone(),
        printer,
    };
    match &cli.command {
        Command::Status => status::run(&ctx),
        Command::Version(cmd) => version::run(&ctx, cmd),
        Command::Changelog(args) => changelog::run(&ctx, args),
        Command::Notes(args) => notes::run(&ctx, args),
        Command::Calendar(cmd) => calendar::run(&ctx, cmd),
        Command::Gate(cmd) => gate::run(&ctx, cmd),
        Command::Check { version } => check::run(&ctx, version.as_deref()),
        Command::Signoff(args) => signoff::run(&ctx, args),
        Command::Release(cmd) => release::run(&ctx, cmd),
        Command::Sync(cmd) => sync::run(&ctx, cmd),
        Command::Rollback(cmd) => rollback::run(&ctx, cmd),
        Command::Demo { dir } => demo::run(&ctx, dir.as_deref()),
        Command::Init(args) => init::run(&ctx, args),
        Command::Config(cmd) => config::run(&ctx, cmd),
        Command::Evidence(cmd) => evidence::run(&ctx, cmd),
        Command::Completions { shell } => completions::run(&ctx, *shell),
        Command::Man { dir } => man::run(&ctx, dir.as_deref()),
    }
}
