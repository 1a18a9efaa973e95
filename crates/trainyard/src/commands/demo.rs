//! `trainyard demo [DIR]`: builds a sandbox and walks a whole release
//! cycle through it, running the real commands (this binary, in the
//! sandbox) and narrating each step.

use std::path::{Path, PathBuf};
use std::process::Command;

use trainyard_core::Error;
use trainyard_core::demo::{self, Sandbox};

use super::{CmdResult, Context, Exit};
use crate::printer::{Printer, paint, style};

/// One narrated command: why, the arguments, the exit codes it may end
/// with.
struct Step<'a> {
    why: &'a str,
    args: Vec<String>,
    codes: &'a [i32],
    /// The key the step signs with (`TRAINYARD_SIGNING_KEY`), relative to
    /// the repository.
    key: Option<String>,
}

pub fn run(ctx: &Context<'_>, dir: Option<&Path>) -> CmdResult {
    let p = ctx.printer;
    let now = match std::env::var("TRAINYARD_NOW") {
        Ok(text) => super::parse_now(&text)?,
        Err(_) => jiff::Timestamp::now(),
    };
    // By default a new directory under the system's temporary one, so
    // the demo can run again and never lands inside a checkout.
    let dir = match dir {
        Some(dir) => ctx.cwd.join(dir),
        None => std::env::temp_dir().join(format!(
            "trainyard-demo-{}-{}",
            jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S"),
            std::process::id()
        )),
    };
    let started = std::time::Instant::now();
    let sandbox = demo::build(&dir, now)?;
    let exe = std::env::current_exe()
        .map_err(|e| Error::environment(format!("cannot find the trainyard binary: {e}")))?;
    let mut out = Narrator {
        p,
        exe,
        sandbox: &sandbox,
    };
    out.heading(&format!(
        "A sandbox in {}: the repository widget/ with three releases and three unreleased commits, a bare remote origin.git/, a release channel dist/ and live-config/, the production configuration a config sync deploys to.",
        sandbox.dir.display()
    ))?;
    let year = now.strftime("%Y").to_string();
    let steps = [
        (
            "1. Where the repository stands",
            vec![
                step(
                    "The release in effect, what is unreleased, today's phase.",
                    &["status"],
                    &[0],
                ),
                step(
                    "The next version, and the commits that decide it.",
                    &["version", "next"],
                    &[0],
                ),
                step(
                    "The year's release calendar, from the default cadence.",
                    &["calendar", "show", "--year", &year],
                    &[0],
                ),
            ],
        ),
        (
            "2. A minor release through a release candidate",
            vec![
                step(
                    "Start the release: the commits call for a minor, so 1.3.0; the feature freeze is declared.",
                    &["release", "start"],
                    &[0],
                ),
                step(
                    "Cut the release candidate: a release branch, the version and the changelog written into it, the release gate G-REL on it.",
                    &["release", "rc"],
                    &[0],
                ),
                step(
                    "The pre-release checklist on the candidate: the release notes are not signed off yet.",
                    &["check"],
                    &[1],
                ),
                step(
                    "First review layer.",
                    &[
                        "signoff",
                        "1.3.0",
                        "--item",
                        "review",
                        "--layer",
                        "1",
                        "--by",
                        "ada@example.org",
                    ],
                    &[0],
                ),
                step(
                    "Second review layer, by someone else.",
                    &[
                        "signoff",
                        "1.3.0",
                        "--item",
                        "review",
                        "--layer",
                        "2",
                        "--by",
                        "grace@example.org",
                    ],
                    &[0],
                ),
                step(
                    "The release notes (RL-08).",
                    &[
                        "signoff",
                        "1.3.0",
                        "--item",
                        "RL-08",
                        "--by",
                        "ada@example.org",
                    ],
                    &[0],
                ),
                step(
                    "Validate: G-REL and the checklist pass.",
                    &["release", "validate"],
                    &[0],
                ),
                step(
                    "Publish: tag, artifacts, the two channels, evidence and provenance.",
                    &["release", "publish"],
                    &[0],
                ),
                step(
                    "Post: the release branch merged back, so main knows 1.3.0.",
                    &["release", "post"],
                    &[0],
                ),
            ],
        ),
    ];
    for (title, list) in &steps {
        out.heading(title)?;
        for s in list {
            out.run(s)?;
        }
    }
    out.heading("3. The config sync: plan, approve, apply")?;
    let planned = out.run(&step(
        "The dry-run: 1.3.0 turns pagination on in production (exit 1: changes planned).",
        &["sync", "plan", "flags"],
        &[1],
    ))?;
    let plan_id = labelled(&planned, "plan")?;
    for s in [
        step(
            "Approval names the plan it approves, by its id.",
            &[
                "sync",
                "approve",
                &plan_id[..16],
                "--by",
                "lin@example.org",
                "--role",
                "release-managers",
            ],
            &[0],
        ),
        step(
            "Apply exactly that plan, then verify and log it.",
            &["sync", "apply", &plan_id[..16]],
            &[0],
        ),
    ] {
        out.run(&s)?;
    }
    out.heading("4. Pagination returns duplicate rows: roll 1.3.0 back")?;
    out.run(&step(
        "The decision matrix: critical and widespread calls for an immediate rollback, approved post-hoc.",
        &["rollback", "assess", "--severity", "critical", "--impact", "widespread"],
        &[0],
    ))?;
    let planned = out.run(&step(
        "The rollback's dry-run: the revert, the channel, the config (exit 1: changes planned).",
        &["rollback", "plan", "--to", "1.2.0"],
        &[1],
    ))?;
    let rollback_id = labelled(&planned, "plan")?;
    out.run(&step(
        "RB-IMM: detect, decide, execute, verify, communicate, document.",
        &[
            "rollback",
            "start",
            &rollback_id[..16],
            "--issue",
            "INC-101",
            "--severity",
            "critical",
            "--impact",
            "widespread",
            "--description",
            "pagination returns duplicate rows",
            "--check",
            "grep -q '\"pagination\": false' ../live-config/flags.json",
        ],
        &[0],
    ))?;
    out.run(&step(
        "Where the repository stands now: 1.2.0 in effect, 1.3.0 withdrawn, and the next version above every tag.",
        &["status"],
        &[0],
    ))?;
    out.heading("5. The evidence trail")?;
    out.run(&step(
        "Every document the cycle wrote, hash-chained: verified.",
        &["evidence", "verify"],
        &[0],
    ))?;
    out.heading("6. The same repository as a team: roles, keys, signed decisions")?;
    // Keys are made with ssh-keygen; a machine without it sees the solo
    // cycle and is told what it missed.
    if has_ssh_keygen() {
        team_part(&mut out, &sandbox)?;
    } else {
        p.data("\nssh-keygen is not installed (Debian: apt-get install openssh-client), so the demo cannot make the team's keys: this part is left out.\n")?;
    }
    out.heading(&format!(
        "Done in {:.1} s. The sandbox stays in place: explore it with\n  cd {}\n  trainyard status\n  trainyard evidence list\n  trainyard release status\n  trainyard sync log\n  trainyard rollback status",
        started.elapsed().as_secs_f64(),
        sandbox.repo.display()
    ))?;
    Ok(Exit::Success)
}

/// Whether `ssh-keygen` can be run.
// The demo probes for the tool its team part needs.
#[allow(clippy::disallowed_methods)]
fn has_ssh_keygen() -> bool {
    Command::new("ssh-keygen")
        .arg("-?")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

/// The team part: keys, roles, a refused and a signed approval, an apply.
fn team_part(out: &mut Narrator<'_>, sandbox: &Sandbox) -> Result<(), super::CliError> {
    demo::join_team(sandbox)?;
    let planned = out.run(&step(
        "Until now decisions were whoever they said they were (solo use). The team's roles are now in trainyard.yaml (lin: release-managers; ada, grace: reviewers) and its keys, made by ssh-keygen, in allowed_signers, git's format. A new flag is planned (exit 1).",
        &["sync", "plan", "flags"],
        &[1],
    ))?;
    let plan_id = labelled(&planned, "plan")?;
    let short = &plan_id[..16];
    out.run(&signed(
        "grace signs with her key, but she is not a release manager: refused (exit 2).",
        "grace",
        &["sync", "approve", short, "--role", "release-managers"],
        &[2],
    ))?;
    out.run(&signed(
        "lin approves, and the approval carries her signature.",
        "lin",
        &["sync", "approve", short],
        &[0],
    ))?;
    out.run(&step(
        "The apply checks the signature, the role and that the planner is not the approver; the log names lin and her key.",
        &["sync", "apply", short],
        &[0],
    ))?;
    Ok(())
}

fn step<'a>(why: &'a str, args: &[&str], codes: &'a [i32]) -> Step<'a> {
    Step {
        why,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        codes,
        key: None,
    }
}

/// [`step`] signed with the key of `who` (a name under the sandbox's
/// `keys/`).
fn signed<'a>(why: &'a str, who: &str, args: &[&str], codes: &'a [i32]) -> Step<'a> {
    Step {
        key: Some(format!("../keys/{who}")),
        ..step(why, args, codes)
    }
}

struct Narrator<'a> {
    p: &'a Printer,
    exe: PathBuf,
    sandbox: &'a Sandbox,
}

impl Narrator<'_> {
    fn heading(&mut self, text: &str) -> std::io::Result<()> {
        self.p.data(&format!("\n{}\n", paint(style::LABEL, text)))
    }

    // The demo runs this very binary, as a user would.
    #[allow(clippy::disallowed_methods)]
    fn command(&self, args: &[String], key: Option<&str>) -> Result<std::process::Output, Error> {
        let mut command = Command::new(&self.exe);
        command
            .args(args)
            .current_dir(&self.sandbox.repo)
            .env("NO_COLOR", "1")
            .env_remove("TRAINYARD_SIGNING_KEY");
        if let Some(key) = key {
            command.env("TRAINYARD_SIGNING_KEY", key);
        }
        command
            .output()
            .map_err(|e| Error::environment(format!("cannot run {}: {e}", self.exe.display())))
    }

    /// Runs and shows one step; returns what it printed.
    fn run(&mut self, step: &Step<'_>) -> Result<String, super::CliError> {
        let signing = step
            .key
            .as_ref()
            .map(|key| format!("TRAINYARD_SIGNING_KEY={key} "))
            .unwrap_or_default();
        self.p.data(&format!(
            "\n{}\n$ {signing}trainyard {}\n",
            step.why,
            quoted(&step.args)
        ))?;
        let output = self.command(&step.args, step.key.as_deref())?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        self.p.data(&text)?;
        let code = output.status.code().unwrap_or(-1);
        if !step.codes.contains(&code) {
            return Err(Error::environment(format!(
                "the demo stopped: `trainyard {}` exited with {code}; the sandbox is in {}",
                quoted(&step.args),
                self.sandbox.dir.display()
            ))
            .into());
        }
        Ok(text)
    }
}

/// The value after `label` on a `label  value` line of a command's
/// output (the first word).
fn labelled(text: &str, label: &str) -> Result<String, Error> {
    text.lines()
        .find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(label)).then(|| words.next().map(str::to_owned))?
        })
        .filter(|id| id.len() >= 16)
        .ok_or_else(|| Error::Internal(format!("no `{label}` line in: {text}")))
}

/// Arguments as a shell would need them typed.
fn quoted(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty() || a.chars().any(|c| " '\"$*?;&|<>()".contains(c)) {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
