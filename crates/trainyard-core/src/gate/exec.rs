//! Running a gate's commands: `sh -c` with a deadline, output captured.
//!
//! stdout and stderr go to one temporary file, so they interleave as on a
//! terminal and a process left running in the background cannot block the
//! gate by holding a pipe open. Each command leads its own process group;
//! at the deadline the whole group is killed.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::CheckStatus;
use crate::deadline::Deadline;
use crate::shell::Shell;

/// How many bytes of a command's output are kept: the last 64 KiB.
pub const OUTPUT_LIMIT: u64 = 64 * 1024;

/// A command to run.
pub(super) struct Spec {
    /// The `sh -c` text.
    pub run: String,
    /// The directory to run in.
    pub dir: PathBuf,
    /// Variables to set (`Some`) or remove (`None`), in order.
    pub env: Vec<(String, Option<String>)>,
    /// How long it may run.
    pub timeout: Duration,
    /// The exit status that means success.
    pub expect_exit: i32,
}

/// How a command went.
#[derive(Debug)]
pub(super) struct Finished {
    pub status: CheckStatus,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub duration_ms: u64,
    pub detail: String,
    pub output: String,
    pub omitted_bytes: u64,
}

/// Runs `specs` on at most `workers` threads at once; results in the
/// order of `specs`.
pub(super) fn run_many(specs: &[Spec], workers: usize) -> Vec<Finished> {
    let workers = workers.clamp(1, specs.len().max(1));
    if workers == 1 {
        return specs.iter().map(run_one).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Finished>>> =
        Mutex::new(std::iter::repeat_with(|| None).take(specs.len()).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(spec) = specs.get(i) else { break };
                    let done = run_one(spec);
                    if let Ok(mut slots) = results.lock() {
                        slots[i] = Some(done);
                    }
                }
            });
        }
    });
    let slots = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    slots
        .into_iter()
        .map(|slot| {
            slot.unwrap_or_else(|| Finished {
                status: CheckStatus::Failed,
                exit_code: None,
                signal: None,
                duration_ms: 0,
                detail: "the command's worker thread failed".to_owned(),
                output: String::new(),
                omitted_bytes: 0,
            })
        })
        .collect()
}

/// Runs one command to its end or its deadline.
pub(super) fn run_one(spec: &Spec) -> Finished {
    let started = Instant::now();
    let fail = |detail: String| Finished {
        status: CheckStatus::Failed,
        exit_code: None,
        signal: None,
        duration_ms: elapsed_ms(started),
        detail,
        output: String::new(),
        omitted_bytes: 0,
    };
    let (mut log, stdout, stderr) = match output_file() {
        Ok(files) => files,
        Err(e) => return fail(format!("cannot create a file for the output: {e}")),
    };
    let mut shell = Shell::new(&spec.run, &spec.dir);
    for (key, value) in &spec.env {
        shell = match value {
            Some(value) => shell.env(key, value),
            None => shell.env_remove(key),
        };
    }
    let mut running = match shell.spawn_grouped(stdout, stderr, None) {
        Ok(running) => running,
        Err(e) => {
            return fail(format!(
                "cannot start `sh -c` in {}: {e}",
                spec.dir.display()
            ));
        }
    };
    let waited = running.wait_until(Deadline::starting(started, spec.timeout));
    let duration_ms = elapsed_ms(started);
    let (output, omitted_bytes) = tail(&mut log);
    let base = Finished {
        status: CheckStatus::Failed,
        exit_code: None,
        signal: None,
        duration_ms,
        detail: String::new(),
        output,
        omitted_bytes,
    };
    match waited {
        Err(e) => {
            running.stop();
            Finished {
                detail: format!("cannot wait for the command: {e}"),
                ..base
            }
        }
        Ok(None) => Finished {
            status: CheckStatus::TimedOut,
            detail: format!(
                "timed out after {}; its process group was killed",
                human_duration(spec.timeout)
            ),
            ..base
        },
        Ok(Some(status)) => {
            let exit_code = status.code();
            let signal = signal_of(status);
            let (passed, detail) = match (exit_code, signal) {
                (Some(code), _) if code == spec.expect_exit => (true, format!("exit {code}")),
                (Some(code), _) => (false, format!("exit {code}, expected {}", spec.expect_exit)),
                (None, Some(signal)) => (false, format!("killed by signal {signal}")),
                (None, None) => (false, "ended without an exit status".to_owned()),
            };
            Finished {
                status: if passed {
                    CheckStatus::Passed
                } else {
                    CheckStatus::Failed
                },
                exit_code,
                signal,
                detail,
                ..base
            }
        }
    }
}

/// `5 s`, or `300 ms` when not a whole number of seconds.
fn human_duration(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A temporary file and two handles to it for stdout and stderr. The
/// handles share one file offset, so the streams interleave.
fn output_file() -> std::io::Result<(File, File, File)> {
    let file = tempfile::tempfile()?;
    let stdout = file.try_clone()?;
    let stderr = file.try_clone()?;
    Ok((file, stdout, stderr))
}

#[cfg(unix)]
fn signal_of(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn signal_of(_: ExitStatus) -> Option<i32> {
    None
}

/// The last [`OUTPUT_LIMIT`] bytes of the output file as text, cleaned,
/// and how many earlier bytes were left out.
fn tail(file: &mut File) -> (String, u64) {
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(OUTPUT_LIMIT);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_ok() {
        let _ = file.take(OUTPUT_LIMIT).read_to_end(&mut bytes);
    }
    let mut omitted = start;
    if start > 0 {
        // Start at a line boundary when one is near, else at a character.
        let cut = match bytes.iter().take(1024).position(|b| *b == b'\n') {
            Some(newline) => newline + 1,
            None => bytes
                .iter()
                .position(|b| (*b & 0xC0) != 0x80)
                .unwrap_or(bytes.len()),
        };
        bytes.drain(..cut);
        omitted += cut as u64;
    }
    let text = clean(&String::from_utf8_lossy(&bytes));
    if omitted > 0 {
        (
            format!("[trainyard: {omitted} earlier bytes of output omitted]\n{text}"),
            omitted,
        )
    } else {
        (text, 0)
    }
}

/// Removes terminal escape sequences, turns carriage returns into line
/// ends and drops other control characters but tabs, so the output reads
/// well in YAML and JSON.
pub(super) fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek() {
                // CSI: ESC [ parameters intermediates final (0x40..=0x7E).
                Some('[') => {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC: ESC ] ... BEL or ESC \.
                Some(']') => {
                    chars.next();
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                // Two-character escapes.
                Some(_) => {
                    chars.next();
                }
                None => {}
            },
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A timeout (ms) for a command that is to finish: only a hung one
    /// reaches it, however busy the machine.
    const PATIENT: u64 = 120_000;

    fn spec(run: &str, timeout_ms: u64) -> Spec {
        Spec {
            run: run.to_owned(),
            dir: std::env::temp_dir(),
            env: vec![("GATE_TEST_VAR".to_owned(), Some("seen".to_owned()))],
            timeout: Duration::from_millis(timeout_ms),
            expect_exit: 0,
        }
    }

    #[test]
    fn gate_exec_passes_fails_and_keeps_interleaved_output() {
        let ok = run_one(&spec(
            "echo out; echo err >&2; echo $GATE_TEST_VAR",
            PATIENT,
        ));
        assert_eq!(ok.status, CheckStatus::Passed, "{ok:?}");
        assert_eq!(ok.exit_code, Some(0));
        assert_eq!(ok.output, "out\nerr\nseen\n");
        assert_eq!(ok.detail, "exit 0");

        let bad = run_one(&spec("echo nope; exit 3", PATIENT));
        assert_eq!(bad.status, CheckStatus::Failed);
        assert_eq!(bad.exit_code, Some(3));
        assert_eq!(bad.detail, "exit 3, expected 0");
        assert_eq!(bad.output, "nope\n");

        let mut expected = spec("exit 3", PATIENT);
        expected.expect_exit = 3;
        assert_eq!(run_one(&expected).status, CheckStatus::Passed);
    }

    #[test]
    fn gate_exec_takes_a_timeout_too_long_for_the_clock() {
        let mut forever = spec("echo done", 0);
        forever.timeout = Duration::MAX;
        let done = run_one(&forever);
        assert_eq!(done.status, CheckStatus::Passed, "{done:?}");
        assert_eq!(done.output, "done\n");
    }

    #[test]
    fn gate_exec_kills_the_process_group_at_the_deadline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("pid");
        // A grandchild in the background would outlive a plain kill of sh;
        // it and sh wait far longer than any test, so only the kill at the
        // deadline ends them. The deadline is the one under test; it has
        // to leave sh time to print and record the grandchild.
        let run = format!(
            "echo started; sleep 600 & echo $! > {}; wait",
            pid_file.display()
        );
        // A busy machine may not let sh get that far before the deadline:
        // then it is tried again with a longer one.
        let mut seconds = 2;
        let pid = loop {
            let _ = std::fs::remove_file(&pid_file);
            let done = run_one(&spec(&run, seconds * 1_000));
            assert_eq!(done.status, CheckStatus::TimedOut, "{done:?}");
            assert_eq!(done.exit_code, None);
            assert_eq!(
                done.detail,
                format!("timed out after {seconds} s; its process group was killed")
            );
            let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
            if !pid.trim().is_empty() {
                assert_eq!(done.output, "started\n");
                break pid;
            }
            assert!(seconds < 64, "sh never recorded the grandchild");
            seconds *= 2;
        };
        let stat = PathBuf::from(format!("/proc/{}/stat", pid.trim()));
        // Killed means gone, or a zombie waiting for init to reap it.
        let gone = || {
            std::fs::read_to_string(&stat).map_or(true, |s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
        };
        let waited = Instant::now();
        while !gone() {
            assert!(
                waited.elapsed() < Duration::from_secs(60),
                "the background process {} was not killed",
                pid.trim()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn gate_exec_reports_a_missing_directory_as_a_failure() {
        let mut missing = spec("true", 1000);
        missing.dir = PathBuf::from("/nonexistent/trainyard/gate");
        let done = run_one(&missing);
        assert_eq!(done.status, CheckStatus::Failed);
        assert!(done.detail.starts_with("cannot start"), "{}", done.detail);
    }

    #[test]
    fn gate_exec_keeps_the_tail_of_long_output() {
        // 100 000 numbered lines: about 590 KB.
        let done = run_one(&spec("seq 1 100000", PATIENT));
        assert_eq!(done.status, CheckStatus::Passed);
        assert!(done.omitted_bytes > 0);
        assert!(done.output.len() <= OUTPUT_LIMIT as usize + 100);
        assert!(done.output.starts_with(&format!(
            "[trainyard: {} earlier bytes of output omitted]\n",
            done.omitted_bytes
        )));
        assert!(done.output.ends_with("99999\n100000\n"));
        let first_kept = done.output.lines().nth(1).expect("a line");
        assert!(first_kept.parse::<u32>().is_ok(), "{first_kept:?}");
    }

    #[test]
    fn gate_exec_cleans_terminal_output() {
        assert_eq!(
            clean("\u{1b}[1;32mok\u{1b}[0m\r\nprogress 50%\rprogress 100%\n\u{7}bell\ttab"),
            "ok\nprogress 50%\nprogress 100%\nbell\ttab"
        );
        assert_eq!(clean("\u{1b}]0;title\u{7}text"), "text");
    }

    #[test]
    fn gate_exec_runs_many_in_order() {
        let specs: Vec<Spec> = (0..5)
            .map(|i| spec(&format!("echo {i}"), PATIENT))
            .collect();
        let done = run_many(&specs, 2);
        let outputs: Vec<&str> = done.iter().map(|d| d.output.as_str()).collect();
        assert_eq!(outputs, ["0\n", "1\n", "2\n", "3\n", "4\n"]);
    }
}
