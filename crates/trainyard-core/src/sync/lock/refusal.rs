//! The refusal of a lock someone else holds ([`LockHeld`]), with what to
//! do about it: wait for a running holder, recover after one that is gone.

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::acquire::LockRequest;
use super::file::LockInfo;
use super::liveness::FoundLock;
use super::spot::LockSpot;

/// A lock someone else holds: the refusal, typed so that callers (the
/// scheduler) can tell a busy target from other failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHeld {
    /// What the lock says.
    pub info: LockInfo,
    /// The lock file.
    pub path: PathBuf,
    /// Whether a running process holds it (else its holder is gone).
    pub running: bool,
    /// Whether it had expired when it was looked at.
    pub expired: bool,
    /// What to do about it: a command that works as printed, or when to
    /// try again.
    pub hint: String,
}

impl std::fmt::Display for LockHeld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.info;
        let state = match (self.running, self.expired) {
            (true, false) => String::new(),
            (true, true) => format!(", still running past the lock's expiry at {}", i.expires_at),
            (false, _) => ", no longer running".to_owned(),
        };
        write!(
            f,
            "sync target {} is locked by {} (process {}{state}) {} since {} (lock {} {}): {}",
            i.target,
            i.owner,
            i.pid,
            i.doing(),
            i.acquired_at,
            i.id,
            self.path.display(),
            self.hint
        )
    }
}

/// The refusal an apply gets from the lock `found` at `spot`, at `now`,
/// for `asking`.
pub fn refusal(
    spot: &LockSpot,
    found: &FoundLock,
    now: Timestamp,
    asking: &LockRequest,
) -> LockHeld {
    held(spot, &found.info, found.running, now, asking)
}

/// The command that clears the lock `info` of a holder that is gone, for
/// someone in `here`: the recovery of the holder's sync, in the holder's
/// repository (`-C` when that is not `here`).
pub fn recover_command(info: &LockInfo, here: &Path) -> String {
    let at = match &info.repository {
        Some(repository) if repository != here => {
            format!("-C {} ", shell_word(&repository.display().to_string()))
        }
        _ => String::new(),
    };
    format!("trainyard {at}sync recover {}", info.sync_id)
}

/// The refusal for a lock someone else holds, with what to do: wait for
/// a running holder; recover after one that is gone.
pub(super) fn held(
    spot: &LockSpot,
    info: &LockInfo,
    live: bool,
    now: Timestamp,
    asking: &LockRequest,
) -> LockHeld {
    let hint = if live {
        "try again once it has finished".to_owned()
    } else if info.sync_id.is_empty() {
        format!(
            "break it with `trainyard sync unlock {} {}`",
            asking.sync_id, info.id
        )
    } else {
        format!(
            "run `{}`, which finishes or undoes its apply and clears the lock",
            recover_command(info, &asking.repository)
        )
    };
    LockHeld {
        info: info.clone(),
        path: spot.path(),
        running: live,
        expired: info.is_expired(now),
        hint,
    }
}

/// `text` as one shell word: as it is when it is plain, else quoted.
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(&b));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
