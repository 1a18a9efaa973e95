//! The one place trainyard runs a user's command line: `sh -c` in a
//! directory, with the environment, stdin and output each caller needs.
//! A command with a deadline leads its own process group, so that at the
//! deadline the shell and everything it started are killed together.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use crate::deadline::Deadline;
use crate::{Error, Result};

/// A command line for `sh -c`, run in a directory.
pub(crate) struct Shell {
    command: Command,
}

impl Shell {
    /// `sh -c command_line` in `dir`, with trainyard's own environment.
    // The one place a user's command line becomes a process.
    // The one place a user's command line becomes a process.
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn new(command_line: &str, dir: &Path) -> Self {
        let mut command = Command::new("sh");
        command.arg("-c").arg(command_line).current_dir(dir);
        Shell { command }
    }

    /// Sets a variable of its environment.
    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Sets variables of its environment, in order.
    pub(crate) fn envs<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.command.envs(vars);
        self
    }

    /// Removes a variable from its environment.
    pub(crate) fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.command.env_remove(key);
        self
    }

    /// Runs it to its end on trainyard's own stdin, stdout and stderr: a
    /// check whose output is the user's to read.
    ///
    /// # Errors
    ///
    /// When `sh` cannot be started or waited for.
    pub(crate) fn status(mut self) -> std::io::Result<ExitStatus> {
        self.command.status()
    }

    /// Runs it to its end, its stdin closed, stdout and stderr captured.
    ///
    /// # Errors
    ///
    /// When `sh` cannot be started or waited for.
    pub(crate) fn output(mut self) -> std::io::Result<Output> {
        self.command.output()
    }

    /// Runs it to its end, its stdin closed and only its stdout captured:
    /// its stderr (a prompt, an error) stays trainyard's, for the user.
    ///
    /// # Errors
    ///
    /// When `sh` cannot be started or waited for.
    pub(crate) fn stdout_captured(mut self) -> std::io::Result<Output> {
        self.command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .output()
    }

    /// Starts it as the leader of a new process group, its stdout and
    /// stderr into the files given (two handles of one file interleave
    /// them), its stdin closed or fed `input`. The files are released as
    /// soon as it has started, so only the command holds them open.
    ///
    /// # Errors
    ///
    /// When `sh` cannot be started.
    pub(crate) fn spawn_grouped(
        mut self,
        stdout: File,
        stderr: File,
        input: Option<Vec<u8>>,
    ) -> std::io::Result<Running> {
        let stdin = if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        self.command.stdin(stdin).stdout(stdout).stderr(stderr);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            self.command.process_group(0);
        }
        let mut child = self.command.spawn()?;
        drop(self);
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            // A thread, so a command that does not read its stdin cannot
            // block the wait; a closed pipe is the command's business.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        Ok(Running { child })
    }
}

/// A command started by [`Shell::spawn_grouped`].
pub(crate) struct Running {
    child: Child,
}

impl Running {
    /// Waits for it to end, until `deadline`. `None` when the deadline
    /// came first: it and its process group are then killed and reaped.
    ///
    /// # Errors
    ///
    /// When it cannot be waited for; it is left running, for the caller
    /// to [`stop`](Self::stop) or not.
    pub(crate) fn wait_until(&mut self, deadline: Deadline) -> std::io::Result<Option<ExitStatus>> {
        let mut pause = Duration::from_millis(2);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            let now = Instant::now();
            if deadline.passed(now) {
                self.stop();
                return Ok(None);
            }
            std::thread::sleep(pause.min(deadline.left(now)));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Kills it and what it started (its process group), and reaps it.
    pub(crate) fn stop(&mut self) {
        kill_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills the process group led by `pid`: the shell and what it started.
// `kill` with a negative pid signals a whole group, which std cannot.
#[allow(clippy::disallowed_methods)]
fn kill_group(pid: u32) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg("--")
            .arg(format!("-{pid}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    #[cfg(not(unix))]
    let _ = pid;
}

/// Sends SIGKILL to the process `pid` with the shell's own `kill`, so no
/// kill binary needs to be installed.
// A fixed command line of trainyard's, not a user's.
#[allow(clippy::disallowed_methods)]
pub(crate) fn kill_by_shell(pid: u32) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -KILL {pid}"))
        .status();
}

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
    let duplicate = |file: &File| {
        file.try_clone()
            .map_err(|e| Error::environment(format!("cannot duplicate a file handle: {e}")))
    };
    let shell = Shell::new(cmd.command, cmd.dir).envs(cmd.env.iter().map(|(k, v)| (k, v)));
    let mut running = shell
        .spawn_grouped(duplicate(&stdout)?, duplicate(&stderr)?, None)
        .map_err(|e| {
            Error::environment(format!("cannot start {} `{}`: {e}", cmd.what, cmd.command))
        })?;
    let status = running
        .wait_until(Deadline::after(cmd.timeout))
        .map_err(|e| {
            Error::environment(format!(
                "cannot wait for {} `{}`: {e}",
                cmd.what, cmd.command
            ))
        })?;
    let Some(status) = status else {
        return Err(Error::environment(format!(
            "{} `{}` did not finish within {} s and was stopped{}",
            cmd.what,
            cmd.command,
            cmd.timeout.as_secs(),
            tail_of(&stderr, &stdout)
        )));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_too_long_for_the_clock_is_no_limit() {
        let work = tempfile::tempdir().expect("tempdir");
        let stdout = run_shell(&ShellCommand {
            what: "a command".to_owned(),
            command: "echo built",
            dir: work.path(),
            env: &[],
            timeout: Duration::MAX,
        })
        .expect("runs");
        assert_eq!(stdout, "built\n");
    }

    #[cfg(unix)]
    #[test]
    fn at_the_deadline_the_whole_group_is_killed() {
        use std::io::BufRead;
        use std::os::fd::OwnedFd;
        let work = tempfile::tempdir().expect("tempdir");
        let (reader, writer) = std::io::pipe().expect("pipe");
        let out = File::from(OwnedFd::from(writer));
        let err = out.try_clone().expect("clone");
        // The shell and its background child hold the pipe's write end;
        // both sleep far longer than any test, so only the kill ends them.
        let mut running = Shell::new("sleep 600 & echo started; sleep 600", work.path())
            .spawn_grouped(out, err, None)
            .expect("starts");
        // Each line of the pipe, then an empty one at its end, which comes
        // once every holder of the write end is gone.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(reader);
            loop {
                let mut line = String::new();
                let end = reader.read_line(&mut line).map_or(true, |n| n == 0);
                if tx.send(line).is_err() || end {
                    break;
                }
            }
        });
        let patience = Duration::from_secs(120);
        // The deadline starts once the background child exists.
        let line = rx.recv_timeout(patience).expect("the shell started");
        assert_eq!(line, "started\n");
        let status = running
            .wait_until(Deadline::after(Duration::from_millis(200)))
            .expect("waits");
        assert!(status.is_none());
        // The background child was killed with the shell.
        let rest = rx
            .recv_timeout(patience)
            .expect("the background child outlived the kill");
        assert_eq!(rest, "");
    }

    #[test]
    fn input_reaches_stdin_and_both_streams_one_file() {
        let work = tempfile::tempdir().expect("tempdir");
        let mut out = tempfile::tempfile().expect("tempfile");
        let err = out.try_clone().expect("clone");
        let mut running = Shell::new("cat; echo oops >&2", work.path())
            .spawn_grouped(out.try_clone().expect("clone"), err, Some(b"in\n".to_vec()))
            .expect("starts");
        let status = running
            .wait_until(Deadline::after(Duration::from_secs(30)))
            .expect("waits")
            .expect("ends");
        assert!(status.success());
        use std::io::Seek;
        out.rewind().expect("rewind");
        let mut text = String::new();
        out.read_to_string(&mut text).expect("read");
        assert_eq!(text, "in\noops\n");
    }
}
