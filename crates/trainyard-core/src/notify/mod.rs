//! Notifications of sync runs: the targets of the spec's
//! `sync_config.notifications` (`on_success`, `on_failure`).
//!
//! A target is one of:
//!
//! - `https://...` or `http://...`: a webhook, sent a POST of the JSON
//!   summary, whose `text` field is Slack-compatible (incoming webhooks of
//!   Slack, Mattermost and the like show it) and whose other fields are
//!   the notification's (`sync_id`, `status`, `counts`, ...);
//! - `email:ADDRESS`: a plain-text email through the SMTP relay of
//!   `notify.smtp` in trainyard.yaml;
//! - `file:PATH`: one JSON line appended per notification, the path
//!   relative to the repository root;
//! - `command:CMD`: `sh -c CMD` run in the repository root, the JSON
//!   summary on its stdin and `TRAINYARD_SYNC_ID`, `TRAINYARD_SYNC_STATUS`
//!   and `TRAINYARD_EXECUTION_ID` in its environment.
//!
//! [`send`] never fails and never panics: each target's outcome is a
//! [`Delivery`], and a failed notification never turns a successful sync
//! into a failed one. Every network call has a timeout (a webhook 10 s,
//! tried once more after 1 s on a 5xx answer or a connection error; SMTP
//! 30 s per step), and TLS certificates are verified. A webhook URL often
//! holds a token: messages and deliveries show it as `scheme://host/…`.
//!
//! The settings, the notification and the deliveries live here; parsing
//! targets in `target`, and each kind of target in a file of its own.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::config::notify::{NotifyConfig, SmtpConfig};
use crate::{Error, Result};

mod command;
mod email;
mod file;
mod target;
mod webhook;

pub use target::{Target, parse_target, validate};
use target::{shown, smtp_for};
use webhook::scrub;

/// How long one webhook attempt may take, connection included.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause before the one retry of a webhook.
pub const WEBHOOK_RETRY_PAUSE: Duration = Duration::from_secs(1);
/// How long connecting to the SMTP relay, and each read or write, may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a `command:` target may run before it is stopped.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

// --------------------------------------------------------------- settings

/// The `notifications` of a sync: whom to tell of each outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// Told on success.
    #[serde(default)]
    pub on_success: Vec<String>,
    /// Told on failure.
    #[serde(default)]
    pub on_failure: Vec<String>,
}

/// `sync_log.execution.changes_applied`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ChangesApplied {
    /// Paths added.
    pub added: usize,
    /// Paths modified.
    pub modified: usize,
    /// Paths deleted.
    pub deleted: usize,
}

/// The targets a run with this status notifies: `on_success` for a
/// success, `on_failure` otherwise.
pub fn targets_for(notifications: &Notifications, status: Status) -> &[String] {
    if status.is_success() {
        &notifications.on_success
    } else {
        &notifications.on_failure
    }
}

// ---------------------------------------------------------- notification

/// How a sync run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Everything was applied.
    Success,
    /// Some of it was applied.
    Partial,
    /// Nothing was applied.
    Failed,
    /// The run was refused before it started (an expired plan, a missing
    /// approval, a held lock).
    Refused,
}

impl Status {
    /// `success`, `partial`, `failed` or `refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Partial => "partial",
            Status::Failed => "failed",
            Status::Refused => "refused",
        }
    }

    /// Whether it is a success (the `on_success` targets are told).
    pub fn is_success(self) -> bool {
        self == Status::Success
    }

    fn verb(self) -> &'static str {
        match self {
            Status::Success => "succeeded",
            Status::Partial => "partially succeeded",
            Status::Failed => "failed",
            Status::Refused => "was refused",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "success" => Ok(Status::Success),
            "partial" => Ok(Status::Partial),
            "failed" => Ok(Status::Failed),
            "refused" => Ok(Status::Refused),
            _ => Err(Error::input(format!(
                "unknown sync status `{text}`: expected success, partial, failed or refused"
            ))),
        }
    }
}

/// What a notification says about a sync run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The sync's id.
    pub sync_id: String,
    /// The run's execution id.
    pub execution_id: String,
    /// How it ended.
    pub status: Status,
    /// One line on what happened.
    pub summary: String,
    /// Where the run's log is (an evidence path), if it has one.
    pub log_ref: Option<String>,
    /// What was applied.
    pub counts: ChangesApplied,
    /// What went wrong.
    pub errors: Vec<String>,
}

impl Notification {
    /// The human text: what happened, the counts, the log and the errors,
    /// a line each.
    pub fn text(&self) -> String {
        let mut out = format!("trainyard sync `{}` {}", self.sync_id, self.status.verb());
        if !self.summary.is_empty() {
            out.push_str(": ");
            out.push_str(&self.summary);
        }
        out.push_str(&format!(
            "\n{} added, {} modified, {} deleted (execution {})",
            self.counts.added, self.counts.modified, self.counts.deleted, self.execution_id
        ));
        if let Some(log) = &self.log_ref {
            out.push_str(&format!("\nlog: {log}"));
        }
        if !self.errors.is_empty() {
            out.push_str("\nerrors:");
            for error in &self.errors {
                out.push_str(&format!("\n- {error}"));
            }
        }
        out
    }

    /// An email's subject.
    pub fn subject(&self) -> String {
        format!("[trainyard] sync {}: {}", self.sync_id, self.status)
    }

    /// The JSON summary every target gets (a webhook's body, a file's
    /// line, a command's stdin): `text` ([`Notification::text`]), the
    /// notification's fields and `sent_at`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::json!({ "text": self.text() });
        if let (Some(object), Ok(serde_json::Value::Object(fields))) =
            (value.as_object_mut(), serde_json::to_value(self))
        {
            object.extend(fields);
            object.insert(
                "sent_at".to_owned(),
                serde_json::Value::String(jiff::Timestamp::now().to_string()),
            );
        }
        value
    }
}

/// What became of one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The target as shown: as written, a webhook as `scheme://host/…`.
    pub target: String,
    /// Whether it was delivered.
    pub ok: bool,
    /// What happened, or why it failed.
    pub message: String,
}

// ------------------------------------------------------------------ send

/// The time limits of a delivery (tests shorten them).
#[derive(Debug, Clone, Copy)]
struct Limits {
    webhook_timeout: Duration,
    retry_pause: Duration,
    smtp_timeout: Duration,
    command_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            webhook_timeout: WEBHOOK_TIMEOUT,
            retry_pause: WEBHOOK_RETRY_PAUSE,
            smtp_timeout: SMTP_TIMEOUT,
            command_timeout: COMMAND_TIMEOUT,
        }
    }
}

/// Sends `notification` to each of `targets`, one after the other, and
/// says what became of each. `root` is the repository root: where `file:`
/// paths start, where commands run and where credential references are
/// resolved.
///
/// Never fails and never panics: a bad target or a failed delivery is a
/// [`Delivery`] whose `ok` is false, for the caller to log. No message
/// shows a webhook's path or query.
pub fn send(
    config: &NotifyConfig,
    root: &Path,
    targets: &[String],
    notification: &Notification,
) -> Vec<Delivery> {
    send_with(&Limits::default(), config, root, targets, notification)
}

fn send_with(
    limits: &Limits,
    config: &NotifyConfig,
    root: &Path,
    targets: &[String],
    notification: &Notification,
) -> Vec<Delivery> {
    let payload = notification.to_json();
    targets
        .iter()
        .map(|text| match parse_target(text) {
            Err(e) => Delivery {
                target: shown(text),
                ok: false,
                message: e.to_string(),
            },
            Ok(target) => {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    deliver(limits, config, root, &target, notification, &payload)
                }));
                let (ok, message) = match outcome {
                    Ok(Ok(message)) => (true, message),
                    Ok(Err(e)) => (false, e.to_string()),
                    Err(_) => (
                        false,
                        format!("internal error: sending to {target} panicked"),
                    ),
                };
                Delivery {
                    target: target.to_string(),
                    ok,
                    message: scrub(&message, &target),
                }
            }
        })
        .collect()
}

fn deliver(
    limits: &Limits,
    config: &NotifyConfig,
    root: &Path,
    target: &Target,
    notification: &Notification,
    payload: &serde_json::Value,
) -> Result<String> {
    match target {
        Target::Webhook(url) => webhook::post(limits, url, payload),
        Target::Email(address) => {
            let smtp = smtp_for(config, target)?;
            email::send(limits, smtp, root, address, notification)
        }
        Target::File(path) => file::append(root, path, payload),
        Target::Command(command) => command::run(limits, root, command, notification, payload),
    }
}

/// A duration as messages show it: `10 s`, or `400 ms` when not whole
/// seconds.
fn seconds(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

#[cfg(test)]
mod tests;
