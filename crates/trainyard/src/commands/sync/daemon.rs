//! `trainyard sync daemon`: the scheduler, run until stopped.
//!
//! Not a report: one line per outcome, written as each sync ends (a JSON
//! object a line with `--json`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use trainyard_core::deadline::Deadline;
use trainyard_core::sync::schedule;
use trainyard_core::versioning::Workspace;

use crate::commands::{CmdResult, Context, Exit};
use crate::printer::{paint, style};

/// `sync daemon`: runs what is due, prints one line per outcome, sleeps;
/// SIGTERM or SIGINT stops it between syncs or while it sleeps.
pub(super) fn run(ctx: &Context<'_>, first: Workspace, interval: u64, once: bool) -> CmdResult {
    let p = ctx.printer;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(|e| {
            trainyard_core::Error::environment(format!("cannot handle signal {signal}: {e}"))
        })?;
    }
    let stopping = || stop.load(Ordering::SeqCst);
    if !once {
        p.status(&format!(
            "sync daemon: looking every {interval}s; SIGTERM or SIGINT stops it\n"
        ))?;
    }
    let mut next = Some(first);
    let mut failed = false;
    loop {
        // A fresh workspace each time: the configuration as it is now.
        let ws = match next.take() {
            Some(ws) => Ok(ws),
            None => ctx.workspace(),
        };
        let ran = ws.and_then(|ws| {
            schedule::run_due_until(&ws, ws.now, None, &stopping).map(|o| (ws.now, o))
        });
        match ran {
            Ok((at, outcomes)) => {
                for outcome in &outcomes {
                    failed |= outcome.status == schedule::Status::Failed;
                    let line = if p.json() {
                        serde_json::to_string(outcome).map_err(std::io::Error::other)?
                    } else {
                        format!("{at} {outcome}")
                    };
                    p.data(&format!("{line}\n"))?;
                }
            }
            Err(e) if once => return Err(e.into()),
            Err(e) => p.status(&format!("{} {e}\n", paint(style::BAD, "error:")))?,
        }
        if once || stopping() {
            break;
        }
        // An interval too long for the clock waits for a signal.
        let until = Deadline::after(Duration::from_secs(interval));
        while !stopping() {
            let left = until.left(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(100)));
        }
        if stopping() {
            break;
        }
    }
    if stopping() {
        p.status("sync daemon: stopped\n")?;
    }
    Ok(if once && failed {
        Exit::Failure
    } else {
        Exit::Success
    })
}
