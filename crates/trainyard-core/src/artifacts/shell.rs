//! Running a build or channel command with `sh -c`, its output captured
//! and a deadline that stops it and what it started.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::deadline::Deadline;
use crate::{Error, Result};

/// A shell command to run with a deadline.
pub(crate) struct ShellCommand<'a> {
    /// What it is, for messages: "the build command of artifact `x`".
    pub what: String,
    /// The `sh -c` text.
    pub command: &'a str,
    /// The working directory.
    pub dir: &'a Path,
    /// Variables added to the environment.
    pub env: &'a [(String, String)],
    /// How long it may run.
    pub timeout: Duration,
}

/// Runs a command with `sh -c`, its output captured, stopping it (and the
/// processes it started) at the deadline. Returns its standard output.
///
/// # Errors
///
/// Returns an [`Error::Environment`] when the shell cannot be started, the
/// command exits with a failure, or it runs out of time; the message quotes
/// the end of its output.
pub(crate) fn run_shell(cmd: &ShellCommand<'_>) -> Result<String> {
    let stdout = tempfile::tempfile()
        .map_err(|e| Error::environment(format!("cannot create a temporary file: {e}")))?;
    let stderr = tempfile::tempfile()
        .map_err(|e| Error::environment(format!("cannot create a temporary file: {e}")))?;
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(cmd.command)
        .current_dir(cmd.dir)
        .stdin(Stdio::null())
        .stdout(
            stdout
                .try_clone()
                .map_err(|e| Error::environment(format!("cannot duplicate a file handle: {e}")))?,
        )
        .stderr(
            stderr
                .try_clone()
                .map_err(|e| Error::environment(format!("cannot duplicate a file handle: {e}")))?,
        );
    for (key, value) in cmd.env {
        command.env(key, value);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command.spawn().map_err(|e| {
        Error::environment(format!("cannot start {} `{}`: {e}", cmd.what, cmd.command))
    })?;
    let deadline = Deadline::after(cmd.timeout);
    let mut pause = Duration::from_millis(5);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                return Err(Error::environment(format!(
                    "cannot wait for {} `{}`: {e}",
                    cmd.what, cmd.command
                )));
            }
        }
        if deadline.passed(Instant::now()) {
            #[cfg(unix)]
            {
                // The whole process group: sh and what it started.
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg("--")
                    .arg(format!("-{}", child.id()))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::environment(format!(
                "{} `{}` did not finish within {} s and was stopped{}",
                cmd.what,
                cmd.command,
                cmd.timeout.as_secs(),
                tail_of(&stderr, &stdout)
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    };
    if !status.success() {
        let code = status
            .code()
            .map_or_else(|| "a signal".to_owned(), |c| c.to_string());
        return Err(Error::environment(format!(
            "{} `{}` failed (exit {code}){}",
            cmd.what,
            cmd.command,
            tail_of(&stderr, &stdout)
        )));
    }
    Ok(read_all(&stdout))
}

fn read_all(file: &File) -> String {
    use std::io::Seek;
    let mut file = file;
    let mut text = String::new();
    if file.seek(std::io::SeekFrom::Start(0)).is_ok() {
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    text
}

/// `: <last lines>` of stderr, else of stdout, else nothing.
fn tail_of(stderr: &File, stdout: &File) -> String {
    let err = read_all(stderr);
    let text = if err.trim().is_empty() {
        read_all(stdout)
    } else {
        err
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(10);
    format!(": {}", lines[start..].join("\n"))
}
