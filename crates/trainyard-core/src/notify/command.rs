//! The `command:` target: `sh -c` in the repository root with the JSON
//! summary on its stdin, stopped (with what it started) after a timeout.

use std::io::{Read, Seek};
use std::path::Path;

use super::{Limits, Notification, seconds};
use crate::deadline::Deadline;
use crate::shell::Shell;
use crate::{Error, Result};

/// Runs `command_line` with the notification on its stdin and in its
/// environment.
pub(super) fn run(
    limits: &Limits,
    root: &Path,
    command_line: &str,
    notification: &Notification,
    payload: &serde_json::Value,
) -> Result<String> {
    let mut input = serde_json::to_vec(payload)
        .map_err(|e| Error::Internal(format!("cannot serialise a notification: {e}")))?;
    input.push(b'\n');
    let mut output = tempfile::tempfile()
        .map_err(|e| Error::environment(format!("cannot create a file for the output: {e}")))?;
    let duplicate = |file: &std::fs::File| {
        file.try_clone()
            .map_err(|e| Error::environment(format!("cannot duplicate a file handle: {e}")))
    };
    let mut running = Shell::new(command_line, root)
        .env("TRAINYARD_SYNC_ID", &notification.sync_id)
        .env("TRAINYARD_SYNC_STATUS", notification.status.as_str())
        .env("TRAINYARD_EXECUTION_ID", &notification.execution_id)
        .spawn_grouped(duplicate(&output)?, duplicate(&output)?, Some(input))
        .map_err(|e| {
            Error::environment(format!("cannot start `sh -c` in {}: {e}", root.display()))
        })?;
    let status = match running.wait_until(Deadline::after(limits.command_timeout)) {
        Ok(Some(status)) => status,
        Ok(None) => {
            return Err(Error::environment(format!(
                "`{command_line}` did not finish within {} and was stopped{}",
                seconds(limits.command_timeout),
                tail(&mut output)
            )));
        }
        Err(e) => {
            running.stop();
            return Err(Error::environment(format!(
                "cannot wait for `{command_line}`: {e}"
            )));
        }
    };
    if status.success() {
        return Ok(format!("`{command_line}` exited 0"));
    }
    let how = match status.code() {
        Some(code) => format!("exited {code}"),
        None => "was killed by a signal".to_owned(),
    };
    Err(Error::environment(format!(
        "`{command_line}` {how}{}",
        tail(&mut output)
    )))
}

/// The last lines of a command's output, as `: ...`, or nothing.
fn tail(output: &mut std::fs::File) -> String {
    let mut text = String::new();
    if output.rewind().is_err() {
        return text;
    }
    let mut bytes = Vec::new();
    let _ = output.take(1 << 20).read_to_end(&mut bytes);
    let all = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = all.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return text;
    }
    let start = lines.len().saturating_sub(5);
    text.push_str(": ");
    text.push_str(&lines[start..].join("\n"));
    text
}
