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

use std::fmt;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use crate::config::notify::{NotifyConfig, SmtpConfig};
use crate::deadline::Deadline;
use crate::http::{Retry, Transient};
use crate::text::lower_first;
use crate::{Error, Result};

/// How long one webhook attempt may take, connection included.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause before the one retry of a webhook.
pub const WEBHOOK_RETRY_PAUSE: Duration = Duration::from_secs(1);
/// How long connecting to the SMTP relay, and each read or write, may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a `command:` target may run before it is stopped.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// What the targets look like, for error messages.
const TARGETS: &str = "https://URL, http://URL, email:ADDRESS, file:PATH or command:COMMAND";

// ---------------------------------------------------------------- targets

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

/// A parsed notification target.
///
/// It prints (in `Debug` too) as written, except a webhook, which prints
/// as `scheme://host/…` since its path or query may hold a token.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// `https://...` or `http://...`: the URL, as written.
    Webhook(String),
    /// `email:ADDRESS`: the address.
    Email(String),
    /// `file:PATH`: the path as written, relative to the repository root.
    File(PathBuf),
    /// `command:CMD`: the command, run with `sh -c`.
    Command(String),
}

impl Target {
    /// `webhook`, `email`, `file` or `command`.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Webhook(_) => "webhook",
            Target::Email(_) => "email",
            Target::File(_) => "file",
            Target::Command(_) => "command",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Webhook(url) => f.write_str(&redact_url(url)),
            Target::Email(address) => write!(f, "email:{address}"),
            Target::File(path) => write!(f, "file:{}", path.display()),
            Target::Command(command) => write!(f, "command:{command}"),
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

/// Parses a notification target, strictly: the syntax only, nothing is
/// contacted or read. An `email:` target also needs `notify.smtp`, which
/// [`validate`] checks.
///
/// # Errors
///
/// Returns an [`Error::Input`] naming the target (a webhook's path and
/// query left out) and saying what is wrong.
pub fn parse_target(text: &str) -> Result<Target> {
    let shown = shown(text);
    if text.trim().is_empty() {
        return Err(Error::input(format!(
            "notification target is empty: write {TARGETS}"
        )));
    }
    if text.trim() != text {
        return Err(Error::input(format!(
            "notification target `{}` has leading or trailing spaces",
            shown.trim()
        )));
    }
    if text.starts_with("https://") || text.starts_with("http://") {
        return parse_webhook(text, &shown);
    }
    let Some((scheme, rest)) = text.split_once(':') else {
        let hint = if text.contains('@') && !text.contains(['/', ' ']) {
            format!(" (for an email, write email:{text})")
        } else {
            String::new()
        };
        return Err(Error::input(format!(
            "notification target `{shown}` has no scheme: write {TARGETS}{hint}"
        )));
    };
    match scheme {
        "email" => {
            if rest.is_empty() {
                return Err(Error::input(
                    "notification target `email:` names no address (write email:ADDRESS)",
                ));
            }
            rest.parse::<lettre::Address>().map_err(|e| {
                Error::input(format!(
                    "notification target `{shown}` is not an email address ({})",
                    lower_first(&e.to_string())
                ))
            })?;
            Ok(Target::Email(rest.to_owned()))
        }
        "file" => {
            if rest.trim().is_empty() {
                return Err(Error::input(
                    "notification target `file:` names no file (write file:PATH)",
                ));
            }
            if rest.contains('\0') {
                return Err(Error::input(format!(
                    "notification target `{shown}` holds a NUL character"
                )));
            }
            Ok(Target::File(PathBuf::from(rest)))
        }
        "command" => {
            if rest.trim().is_empty() {
                return Err(Error::input(
                    "notification target `command:` names no command (write command:COMMAND)",
                ));
            }
            Ok(Target::Command(rest.to_owned()))
        }
        "mailto" => Err(Error::input(format!(
            "notification target `{shown}`: write email:ADDRESS, not mailto:"
        ))),
        _ if is_scheme(scheme) => Err(Error::input(format!(
            "notification target `{shown}` has an unknown scheme `{scheme}:`: write {TARGETS}"
        ))),
        _ => Err(Error::input(format!(
            "notification target `{shown}` is not one of {TARGETS}"
        ))),
    }
}

fn parse_webhook(text: &str, shown: &str) -> Result<Target> {
    // The parser's messages never repeat the URL.
    let uri: ureq::http::Uri = text
        .parse()
        .map_err(|e| Error::input(format!("notification target `{shown}` is not a URL ({e})")))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(Error::input(format!(
            "notification target `{shown}` names no host"
        )));
    }
    Ok(Target::Webhook(text.to_owned()))
}

fn is_scheme(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Checks targets against the configuration: each parses, and an `email:`
/// target has a valid `notify.smtp`. Sync validation calls it for
/// `on_success` and `on_failure`.
///
/// # Errors
///
/// Returns an [`Error::Input`] for the first bad target, naming it, or
/// naming the missing or invalid setting.
pub fn validate(config: &NotifyConfig, targets: &[String]) -> Result<Vec<Target>> {
    let mut parsed = Vec::with_capacity(targets.len());
    for text in targets {
        let target = parse_target(text)?;
        if matches!(target, Target::Email(_)) {
            smtp_for(config, &target)?.validate()?;
        }
        parsed.push(target);
    }
    Ok(parsed)
}

fn smtp_for<'a>(config: &'a NotifyConfig, target: &Target) -> Result<&'a SmtpConfig> {
    config.smtp.as_ref().ok_or_else(|| {
        Error::input(format!(
            "notification target `{target}` needs notify.smtp (host and from) in trainyard.yaml"
        ))
    })
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
        Target::Webhook(url) => webhook(limits, url, payload),
        Target::Email(address) => {
            let smtp = smtp_for(config, target)?;
            email(limits, smtp, root, address, notification)
        }
        Target::File(path) => append(root, path, payload),
        Target::Command(command) => run(limits, root, command, notification, payload),
    }
}

// --------------------------------------------------------------- webhook

fn webhook(limits: &Limits, url: &str, payload: &serde_json::Value) -> Result<String> {
    let shown = redact_url(url);
    let mut payload = payload.clone();
    if let Some(text) = payload.get("text").and_then(|t| t.as_str()) {
        payload["text"] = serde_json::Value::String(slack_escape(text));
    }
    let body = serde_json::to_vec(&payload)
        .map_err(|e| Error::Internal(format!("cannot serialise a notification: {e}")))?;
    let agent = crate::http::agent_config(url)
        .timeout_connect(Some(limits.webhook_timeout))
        .timeout_global(Some(limits.webhook_timeout))
        // A redirect is a failure: the token stays where it was sent.
        .max_redirects(0)
        .build()
        .new_agent();
    // A second try only when the connection failed, so that a hook that
    // received the POST is not told twice.
    let retry = Retry {
        attempts: 2,
        pause: limits.retry_pause,
        transient: Transient::Connection,
    };
    let tried = retry.run(|| {
        let mut response = agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body.as_slice())?;
        crate::http::drain(&mut response);
        Ok(response.status())
    });
    let after = if tried.attempts > 1 {
        format!(" after {} attempts", tried.attempts)
    } else {
        String::new()
    };
    match tried.outcome {
        Ok(status) if status.is_success() => Ok(format!("POST {shown}: HTTP {}", status.as_u16())),
        Ok(status) => Err(Error::environment(format!(
            "webhook {shown} answered HTTP {}{after}",
            status.as_u16()
        ))),
        Err(ureq::Error::Timeout(_)) => Err(Error::environment(format!(
            "webhook {shown} did not answer within {}{after}",
            seconds(limits.webhook_timeout)
        ))),
        Err(e) => Err(Error::environment(format!(
            "webhook {shown} failed{after}: {}",
            lower_first(&e.to_string())
        ))),
    }
}

/// Escapes `&`, `<` and `>` as Slack's message text requires.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `scheme://host[:port]/…`: a URL without its user info, path and query.
fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}/…")
}

/// A target as error messages show it: a URL redacted, anything else cut
/// before its first `/` or `?` unless it is a file or command target, and
/// at most 80 characters.
fn shown(text: &str) -> String {
    let text = if text.contains("://") {
        redact_url(text)
    } else if text.starts_with("file:") || text.starts_with("command:") {
        text.to_owned()
    } else {
        match text.find(['/', '?']) {
            Some(i) => format!("{}/…", &text[..i]),
            None => text.to_owned(),
        }
    };
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(79).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// Removes a webhook's URL, and its path and query, from a message.
fn scrub(message: &str, target: &Target) -> String {
    let Target::Webhook(url) = target else {
        return message.to_owned();
    };
    let shown = redact_url(url);
    let mut out = message.replace(url.as_str(), &shown);
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    if let Some(i) = rest.find(['/', '?', '#']) {
        let secret = &rest[i..];
        if secret.len() > 1 {
            out = out.replace(secret, "/…");
        }
    }
    out
}

// ----------------------------------------------------------------- email

fn email(
    limits: &Limits,
    smtp: &SmtpConfig,
    root: &Path,
    address: &str,
    notification: &Notification,
) -> Result<String> {
    use lettre::Transport as _;
    use lettre::message::{Mailbox, Message, header::ContentType};
    use lettre::transport::smtp::SmtpTransport;
    use lettre::transport::smtp::authentication::{Credentials, Mechanism};
    use lettre::transport::smtp::client::{Tls, TlsParameters};

    smtp.validate()?;
    let relay = format!("{}:{}", smtp.host, smtp.port);
    let from = smtp.from.parse::<Mailbox>().map_err(|e| {
        Error::input(format!(
            "notify.smtp.from `{}` is not an email address ({})",
            smtp.from,
            lower_first(&e.to_string())
        ))
    })?;
    let to = address.parse::<Mailbox>().map_err(|e| {
        Error::input(format!(
            "`{address}` is not an email address ({})",
            lower_first(&e.to_string())
        ))
    })?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(notification.subject())
        .header(ContentType::TEXT_PLAIN)
        .body(format!("{}\n", notification.text()))
        .map_err(|e| Error::input(format!("cannot write the email to {address}: {e}")))?;
    let mut builder = SmtpTransport::builder_dangerous(smtp.host.as_str())
        .port(smtp.port.number())
        .timeout(Some(limits.smtp_timeout));
    builder = if smtp.starttls {
        let tls = TlsParameters::new(smtp.host.clone()).map_err(|e| {
            Error::environment(format!("cannot set up TLS for the relay {relay}: {e}"))
        })?;
        builder.tls(Tls::Required(tls))
    } else {
        builder.tls(Tls::None)
    };
    if let Some(reference) = &smtp.credentials {
        let secret = crate::credentials::resolve(reference, root)?;
        let Some((user, password)) = secret.expose().split_once(':') else {
            return Err(Error::input(format!(
                "notify.smtp.credentials ({}) must hold user:password",
                crate::credentials::Reference::parse(reference)?
            )));
        };
        builder = builder
            .credentials(Credentials::new(user.to_owned(), password.to_owned()))
            .authentication(vec![Mechanism::Plain]);
    }
    builder.build().send(&message).map_err(|e| {
        Error::environment(format!(
            "email to {address} through {relay} failed: {}",
            lower_first(&e.to_string())
        ))
    })?;
    Ok(format!("emailed {address} through {relay}"))
}

// ------------------------------------------------------------------ file

fn append(root: &Path, path: &Path, payload: &serde_json::Value) -> Result<String> {
    let full = root.join(path);
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
    }
    let mut line = serde_json::to_string(payload)
        .map_err(|e| Error::Internal(format!("cannot serialise a notification: {e}")))?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&full)
        .map_err(|e| Error::io("cannot open", &full, e))?;
    // One write of the whole line, so that lines of concurrent runs do not
    // interleave.
    file.write_all(line.as_bytes())
        .map_err(|e| Error::io("cannot append to", &full, e))?;
    Ok(format!("appended a line to {}", path.display()))
}

// --------------------------------------------------------------- command

fn run(
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
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(command_line)
        .current_dir(root)
        .env("TRAINYARD_SYNC_ID", &notification.sync_id)
        .env("TRAINYARD_SYNC_STATUS", notification.status.as_str())
        .env("TRAINYARD_EXECUTION_ID", &notification.execution_id)
        .stdin(Stdio::piped())
        .stdout(duplicate(&output)?)
        .stderr(duplicate(&output)?);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command.spawn().map_err(|e| {
        Error::environment(format!("cannot start `sh -c` in {}: {e}", root.display()))
    })?;
    drop(command);
    if let Some(mut stdin) = child.stdin.take() {
        // A thread, so a command that does not read its stdin cannot block
        // the wait below; a closed pipe is the command's business.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let deadline = Deadline::after(limits.command_timeout);
    let mut pause = Duration::from_millis(2);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                stop(&mut child);
                return Err(Error::environment(format!(
                    "cannot wait for `{command_line}`: {e}"
                )));
            }
        }
        let now = Instant::now();
        if deadline.passed(now) {
            stop(&mut child);
            return Err(Error::environment(format!(
                "`{command_line}` did not finish within {} and was stopped{}",
                seconds(limits.command_timeout),
                tail(&mut output)
            )));
        }
        std::thread::sleep(pause.min(deadline.left(now)));
        pause = (pause * 2).min(Duration::from_millis(50));
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

/// Kills a command and what it started (its process group).
fn stop(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg("--")
            .arg(format!("-{}", child.id()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn seconds(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounded::Port;
    use std::io::{BufRead, BufReader};
    use std::net::{TcpListener, TcpStream};
    use std::thread::JoinHandle;

    const TOKEN: &str = "T0KEN5ecretXoxb0123456789";

    fn notification(status: Status) -> Notification {
        Notification {
            sync_id: "docs-upstream".to_owned(),
            execution_id: "exec-42".to_owned(),
            status,
            summary: "applied plan p-7 to docs".to_owned(),
            log_ref: Some(".trainyard/evidence/sync/docs-upstream/exec-42.yaml".to_owned()),
            counts: ChangesApplied {
                added: 3,
                modified: 1,
                deleted: 2,
            },
            errors: Vec::new(),
        }
    }

    fn quick() -> Limits {
        Limits {
            webhook_timeout: Duration::from_secs(5),
            retry_pause: Duration::from_millis(20),
            smtp_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(10),
        }
    }

    fn targets(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| (*t).to_owned()).collect()
    }

    // --------------------------------------------------------- http server

    /// One HTTP request as the test server read it.
    struct Request {
        line: String,
        headers: Vec<String>,
        body: Vec<u8>,
    }

    fn read_request(stream: &TcpStream) -> Request {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut line = String::new();
        reader.read_line(&mut line).expect("request line");
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).expect("header");
            if header == "\r\n" || header.is_empty() {
                break;
            }
            if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().expect("length");
            }
            headers.push(header.trim_end().to_owned());
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        Request {
            line: line.trim_end().to_owned(),
            headers,
            body,
        }
    }

    /// Answers `statuses.len()` requests, one per connection, and gives
    /// back the requests and the listener (to check nothing else came).
    fn http_server(statuses: Vec<u16>) -> (u16, JoinHandle<(Vec<Request>, TcpListener)>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for status in statuses {
                let (mut stream, _) = listener.accept().expect("accept");
                seen.push(read_request(&stream));
                write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                )
                .expect("answer");
            }
            (seen, listener)
        });
        (port, handle)
    }

    fn no_more_connections(listener: &TcpListener) {
        listener.set_nonblocking(true).expect("nonblocking");
        std::thread::sleep(Duration::from_millis(100));
        match listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok(_) => panic!("a second request came"),
            Err(e) => panic!("accept: {e}"),
        }
    }

    // -------------------------------------------------------------- webhook

    #[test]
    fn a_webhook_receives_one_post_with_the_text_and_the_fields() {
        let (port, server) = http_server(vec![200]);
        let url = format!("http://127.0.0.1:{port}/services/{TOKEN}?token={TOKEN}");
        let mut n = notification(Status::Success);
        n.errors = vec!["a <b> & c".to_owned()];
        let deliveries = send_with(
            &quick(),
            &NotifyConfig::default(),
            Path::new("."),
            &[url],
            &n,
        );
        let (requests, listener) = server.join().expect("server");
        no_more_connections(&listener);

        assert_eq!(deliveries.len(), 1);
        let d = &deliveries[0];
        assert!(d.ok, "{d:?}");
        assert_eq!(d.target, format!("http://127.0.0.1:{port}/…"));
        assert_eq!(
            d.message,
            format!("POST http://127.0.0.1:{port}/…: HTTP 200")
        );

        assert_eq!(requests.len(), 1);
        let request = &requests[0];
        assert_eq!(
            request.line,
            format!("POST /services/{TOKEN}?token={TOKEN} HTTP/1.1")
        );
        assert!(
            request
                .headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case("content-type: application/json")),
            "{:?}",
            request.headers
        );
        let body: serde_json::Value = serde_json::from_slice(&request.body).expect("json");
        assert_eq!(
            body["text"],
            "trainyard sync `docs-upstream` succeeded: applied plan p-7 to docs\n\
             3 added, 1 modified, 2 deleted (execution exec-42)\n\
             log: .trainyard/evidence/sync/docs-upstream/exec-42.yaml\n\
             errors:\n- a &lt;b&gt; &amp; c"
        );
        assert_eq!(body["sync_id"], "docs-upstream");
        assert_eq!(body["execution_id"], "exec-42");
        assert_eq!(body["status"], "success");
        assert_eq!(body["summary"], "applied plan p-7 to docs");
        assert_eq!(
            body["log_ref"],
            ".trainyard/evidence/sync/docs-upstream/exec-42.yaml"
        );
        assert_eq!(
            body["counts"],
            serde_json::json!({"added": 3, "modified": 1, "deleted": 2})
        );
        assert_eq!(body["errors"], serde_json::json!(["a <b> & c"]));
        assert!(body["sent_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    }

    #[test]
    fn a_webhook_answering_500_is_tried_twice_and_fails() {
        let (port, server) = http_server(vec![500, 500]);
        let url = format!("http://127.0.0.1:{port}/hook/{TOKEN}");
        let started = Instant::now();
        let deliveries = send_with(
            &quick(),
            &NotifyConfig::default(),
            Path::new("."),
            &[url],
            &notification(Status::Failed),
        );
        let (requests, listener) = server.join().expect("server");
        no_more_connections(&listener);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(requests.len(), 2);
        let d = &deliveries[0];
        assert!(!d.ok);
        assert_eq!(
            d.message,
            format!("webhook http://127.0.0.1:{port}/… answered HTTP 500 after 2 attempts")
        );
        assert!(!d.message.contains(TOKEN) && !d.target.contains(TOKEN));
    }

    #[test]
    fn a_webhook_answering_404_is_not_retried() {
        let (port, server) = http_server(vec![404]);
        let url = format!("http://127.0.0.1:{port}/hook");
        let deliveries = send_with(
            &quick(),
            &NotifyConfig::default(),
            Path::new("."),
            &[url],
            &notification(Status::Failed),
        );
        let (_, listener) = server.join().expect("server");
        no_more_connections(&listener);
        assert!(!deliveries[0].ok);
        assert!(deliveries[0].message.ends_with("answered HTTP 404"));
    }

    #[test]
    fn a_dead_webhook_fails_within_the_timeout_with_the_default_limits() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let url = format!("http://127.0.0.1:{port}/services/{TOKEN}");
        let started = Instant::now();
        let deliveries = send(
            &NotifyConfig::default(),
            Path::new("."),
            &[url],
            &notification(Status::Success),
        );
        // Refused twice, with the 1 s pause between.
        assert!(
            started.elapsed() < WEBHOOK_TIMEOUT,
            "{:?}",
            started.elapsed()
        );
        let d = &deliveries[0];
        assert!(!d.ok);
        assert!(
            d.message.starts_with(&format!(
                "webhook http://127.0.0.1:{port}/… failed after 2 attempts: "
            )),
            "{}",
            d.message
        );
        assert!(!d.message.contains(TOKEN) && !d.target.contains(TOKEN));
    }

    #[test]
    fn a_silent_webhook_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            // Accepts and reads, and never answers.
            let (stream, _) = listener.accept().expect("accept");
            let _ = read_request(&stream);
            std::thread::sleep(Duration::from_secs(2));
        });
        let limits = Limits {
            webhook_timeout: Duration::from_millis(400),
            ..quick()
        };
        let started = Instant::now();
        let url = format!("http://127.0.0.1:{port}/x/{TOKEN}");
        let deliveries = send_with(
            &limits,
            &NotifyConfig::default(),
            Path::new("."),
            &[url],
            &notification(Status::Success),
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        let d = &deliveries[0];
        assert!(!d.ok);
        assert_eq!(
            d.message,
            format!("webhook http://127.0.0.1:{port}/… did not answer within 400 ms")
        );
        assert!(!d.message.contains(TOKEN));
        server.join().expect("server");
    }

    #[test]
    fn a_token_never_shows_in_a_delivery_or_a_target() {
        let url = format!("https://user:{TOKEN}@hooks.example.org/services/{TOKEN}?t={TOKEN}");
        let target = parse_target(&url).expect("valid");
        assert_eq!(target.to_string(), "https://hooks.example.org/…");
        assert!(!format!("{target:?}").contains(TOKEN));
        let message = format!("POST {url} failed; path /services/{TOKEN}?t={TOKEN}");
        assert!(!scrub(&message, &target).contains(TOKEN));
        // A URL without its scheme is refused without being repeated.
        let e = parse_target(&format!("hooks.example.org/services/{TOKEN}")).expect_err("bad");
        assert!(!e.to_string().contains(TOKEN), "{e}");
        let e = parse_target(&format!("https://hooks.example.org/a b/{TOKEN}")).expect_err("bad");
        assert!(!e.to_string().contains(TOKEN), "{e}");
    }

    // ----------------------------------------------------------- file, command

    #[test]
    fn a_file_target_appends_one_json_line_per_notification() {
        let dir = tempfile::tempdir().expect("dir");
        let list = targets(&["file:.trainyard/notifications.jsonl"]);
        let config = NotifyConfig::default();
        let first = send(&config, dir.path(), &list, &notification(Status::Success));
        assert!(first[0].ok, "{first:?}");
        assert_eq!(first[0].target, "file:.trainyard/notifications.jsonl");
        assert_eq!(
            first[0].message,
            "appended a line to .trainyard/notifications.jsonl"
        );
        let second = send(&config, dir.path(), &list, &notification(Status::Partial));
        assert!(second[0].ok, "{second:?}");
        let text = std::fs::read_to_string(dir.path().join(".trainyard/notifications.jsonl"))
            .expect("read");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["status"], "success");
        assert_eq!(lines[1]["status"], "partial");
        assert_eq!(lines[1]["sync_id"], "docs-upstream");
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn a_command_gets_the_json_on_stdin_and_the_environment() {
        let dir = tempfile::tempdir().expect("dir");
        let list = targets(&[
            "command:cat > got.json && printf '%s %s' \"$TRAINYARD_SYNC_ID\" \"$TRAINYARD_SYNC_STATUS\" > env.txt",
        ]);
        let deliveries = send_with(
            &quick(),
            &NotifyConfig::default(),
            dir.path(),
            &list,
            &notification(Status::Refused),
        );
        assert!(deliveries[0].ok, "{deliveries:?}");
        assert!(deliveries[0].message.ends_with("exited 0"));
        let got: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("got.json")).expect("stdin"),
        )
        .expect("json");
        assert_eq!(got["status"], "refused");
        assert_eq!(got["execution_id"], "exec-42");
        assert!(
            got["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("trainyard sync `docs-upstream` was refused"))
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("env.txt")).expect("env"),
            "docs-upstream refused"
        );
    }

    #[test]
    fn a_failing_or_hanging_command_is_a_failed_delivery() {
        let dir = tempfile::tempdir().expect("dir");
        let limits = Limits {
            command_timeout: Duration::from_millis(300),
            ..quick()
        };
        let list = targets(&[
            "command:echo no route to chat >&2; exit 3",
            "command:sleep 20",
        ]);
        let started = Instant::now();
        let deliveries = send_with(
            &limits,
            &NotifyConfig::default(),
            dir.path(),
            &list,
            &notification(Status::Failed),
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(!deliveries[0].ok);
        assert_eq!(
            deliveries[0].message,
            "`echo no route to chat >&2; exit 3` exited 3: no route to chat"
        );
        assert!(!deliveries[1].ok);
        assert_eq!(
            deliveries[1].message,
            "`sleep 20` did not finish within 300 ms and was stopped"
        );
    }

    #[test]
    fn a_command_timeout_too_long_for_the_clock_is_no_limit() {
        let dir = tempfile::tempdir().expect("dir");
        let limits = Limits {
            command_timeout: Duration::MAX,
            ..quick()
        };
        let deliveries = send_with(
            &limits,
            &NotifyConfig::default(),
            dir.path(),
            &targets(&["command:true"]),
            &notification(Status::Failed),
        );
        assert!(deliveries[0].ok, "{:?}", deliveries[0].message);
    }

    // ---------------------------------------------------------------- email

    /// What the SMTP test server saw.
    struct Mail {
        commands: Vec<String>,
        data: String,
    }

    /// Speaks enough SMTP to accept one message.
    fn smtp_server(auth: bool) -> (u16, JoinHandle<Mail>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut mail = Mail {
                commands: Vec::new(),
                data: String::new(),
            };
            stream.write_all(b"220 test ESMTP\r\n").expect("greet");
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).expect("line") == 0 {
                    break;
                }
                let line = line.trim_end().to_owned();
                let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
                mail.commands.push(line);
                let answer: &[u8] = match verb.as_str() {
                    "EHLO" if auth => b"250-test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
                    "EHLO" => b"250-test\r\n250 8BITMIME\r\n",
                    "AUTH" => b"235 2.7.0 accepted\r\n",
                    "DATA" => {
                        stream.write_all(b"354 go on\r\n").expect("354");
                        loop {
                            let mut data = String::new();
                            reader.read_line(&mut data).expect("data");
                            if data == ".\r\n" || data.is_empty() {
                                break;
                            }
                            mail.data.push_str(&data);
                        }
                        b"250 2.0.0 queued\r\n"
                    }
                    "QUIT" => {
                        stream.write_all(b"221 bye\r\n").expect("221");
                        break;
                    }
                    _ => b"250 ok\r\n",
                };
                stream.write_all(answer).expect("answer");
            }
            mail
        });
        (port, handle)
    }

    fn smtp_config(port: u16) -> NotifyConfig {
        NotifyConfig {
            smtp: Some(SmtpConfig {
                host: "127.0.0.1".to_owned(),
                port: Port::try_from(u64::from(port)).expect("a listening port"),
                from: "Trainyard <trainyard@example.org>".to_owned(),
                starttls: false,
                credentials: None,
            }),
        }
    }

    #[test]
    fn an_email_reaches_the_relay_with_subject_and_body() {
        let (port, server) = smtp_server(false);
        let mut n = notification(Status::Failed);
        n.errors = vec!["conflict on docs/index.md".to_owned()];
        let deliveries = send_with(
            &quick(),
            &smtp_config(port),
            Path::new("."),
            &targets(&["email:ops@example.org"]),
            &n,
        );
        let mail = server.join().expect("server");
        assert!(deliveries[0].ok, "{deliveries:?}");
        assert_eq!(deliveries[0].target, "email:ops@example.org");
        assert_eq!(
            deliveries[0].message,
            format!("emailed ops@example.org through 127.0.0.1:{port}")
        );
        assert!(
            mail.commands
                .iter()
                .any(|c| c == "MAIL FROM:<trainyard@example.org>")
        );
        assert!(
            mail.commands
                .iter()
                .any(|c| c == "RCPT TO:<ops@example.org>")
        );
        assert!(!mail.commands.iter().any(|c| c.starts_with("AUTH")));
        let data = mail.data.replace("\r\n", "\n");
        assert!(
            data.contains("Subject: [trainyard] sync docs-upstream: failed\n"),
            "{data}"
        );
        assert!(data.contains("To: ops@example.org\n"), "{data}");
        assert!(
            data.contains(
                "trainyard sync `docs-upstream` failed: applied plan p-7 to docs\n\
                 3 added, 1 modified, 2 deleted (execution exec-42)\n"
            ),
            "{data}"
        );
        assert!(data.contains("- conflict on docs/index.md"), "{data}");
    }

    #[test]
    fn an_email_authenticates_with_the_resolved_credentials() {
        use ct_codecs::Decoder as _;
        let (port, server) = smtp_server(true);
        let mut config = smtp_config(port);
        if let Some(smtp) = config.smtp.as_mut() {
            smtp.credentials = Some("command:printf 'ci-bot:s3cret'".to_owned());
        }
        let deliveries = send_with(
            &quick(),
            &config,
            Path::new("."),
            &targets(&["email:ops@example.org"]),
            &notification(Status::Success),
        );
        let mail = server.join().expect("server");
        assert!(deliveries[0].ok, "{deliveries:?}");
        assert!(!deliveries[0].message.contains("s3cret"));
        let auth = mail
            .commands
            .iter()
            .find(|c| c.starts_with("AUTH PLAIN "))
            .expect("auth");
        let decoded =
            ct_codecs::Base64::decode_to_vec(&auth["AUTH PLAIN ".len()..], None).expect("base64");
        assert_eq!(decoded, b"\0ci-bot\0s3cret");
    }

    #[test]
    fn an_email_to_a_dead_relay_fails_quietly() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let deliveries = send_with(
            &quick(),
            &smtp_config(port),
            Path::new("."),
            &targets(&["email:ops@example.org", "file:"]),
            &notification(Status::Success),
        );
        assert!(!deliveries[0].ok);
        assert!(
            deliveries[0].message.starts_with(&format!(
                "email to ops@example.org through 127.0.0.1:{port} failed: "
            )),
            "{}",
            deliveries[0].message
        );
        // A bad target is a failed delivery too, and the others still go.
        assert!(!deliveries[1].ok);
        assert_eq!(
            deliveries[1].message,
            "notification target `file:` names no file (write file:PATH)"
        );
    }

    #[test]
    fn an_email_target_needs_the_smtp_settings() {
        let list = targets(&["file:n.jsonl", "email:ops@example.org"]);
        let e = validate(&NotifyConfig::default(), &list).expect_err("no relay");
        assert_eq!(
            e.to_string(),
            "notification target `email:ops@example.org` needs notify.smtp (host and from) in trainyard.yaml"
        );
        let deliveries = send(
            &NotifyConfig::default(),
            Path::new("."),
            &list[1..],
            &notification(Status::Success),
        );
        assert!(!deliveries[0].ok);
        assert_eq!(deliveries[0].message, e.to_string());
        let parsed = validate(&smtp_config(25), &list).expect("valid");
        assert_eq!(
            parsed,
            vec![
                Target::File(PathBuf::from("n.jsonl")),
                Target::Email("ops@example.org".to_owned())
            ]
        );
    }

    #[test]
    fn the_port_is_bounded_when_read() {
        let read = |yaml: &str| {
            crate::yaml::parse::<NotifyConfig>(yaml, Path::new("t.yaml")).map_err(|e| e.to_string())
        };
        let smtp = "smtp:\n  host: relay\n  from: ci@example.org\n";
        let config = read(smtp).expect("default port");
        assert_eq!(config.smtp.map(|s| s.port.number()), Some(25));
        for (port, message) in [
            (
                "0",
                "t.yaml:4:9: smtp.port: must be between 1 and 65535, not 0",
            ),
            (
                "65536",
                "t.yaml:4:9: smtp.port: must be between 1 and 65535, not 65536",
            ),
        ] {
            assert_eq!(
                read(&format!("{smtp}  port: {port}\n")).expect_err(port),
                message
            );
        }
    }

    #[test]
    fn credentials_need_starttls_unless_the_relay_is_local() {
        let mut smtp = SmtpConfig {
            host: "relay.example.org".to_owned(),
            port: Port::constant(587),
            from: "ci@example.org".to_owned(),
            starttls: false,
            credentials: Some("env:SMTP_LOGIN".to_owned()),
        };
        let e = smtp.validate().expect_err("clear text");
        assert_eq!(
            e.to_string(),
            "notify.smtp.credentials need notify.smtp.starttls: true, since relay.example.org is not this machine and a password is never sent in clear"
        );
        smtp.starttls = true;
        smtp.validate().expect("with starttls");
        smtp.starttls = false;
        smtp.host = "localhost".to_owned();
        smtp.validate().expect("local relay");
    }

    // ---------------------------------------------------------------- parse

    #[test]
    fn targets_parse_strictly_with_clear_errors() {
        assert_eq!(
            parse_target("https://hooks.example.org/x").expect("https"),
            Target::Webhook("https://hooks.example.org/x".to_owned())
        );
        assert_eq!(
            parse_target("command:notify-send done").expect("command"),
            Target::Command("notify-send done".to_owned())
        );
        let cases = [
            (
                "",
                "notification target is empty: write https://URL, http://URL, email:ADDRESS, file:PATH or command:COMMAND",
            ),
            (
                " file:x",
                "notification target `file:x` has leading or trailing spaces",
            ),
            ("https://", "notification target `https:///…` is not a URL"),
            (
                "https://hooks.example.org/a b",
                "notification target `https://hooks.example.org/…` is not a URL",
            ),
            (
                "ops@example.org",
                "notification target `ops@example.org` has no scheme: write https://URL, http://URL, email:ADDRESS, file:PATH or command:COMMAND (for an email, write email:ops@example.org)",
            ),
            (
                "email:",
                "notification target `email:` names no address (write email:ADDRESS)",
            ),
            (
                "email:ops",
                "notification target `email:ops` is not an email address",
            ),
            (
                "email:Ops <ops@example.org>",
                "notification target `email:Ops <ops@example.org>` is not an email address",
            ),
            (
                "file:",
                "notification target `file:` names no file (write file:PATH)",
            ),
            (
                "command:",
                "notification target `command:` names no command (write command:COMMAND)",
            ),
            (
                "mailto:ops@example.org",
                "notification target `mailto:ops@example.org`: write email:ADDRESS, not mailto:",
            ),
            (
                "slack:#releases",
                "notification target `slack:#releases` has an unknown scheme `slack:`: write https://URL, http://URL, email:ADDRESS, file:PATH or command:COMMAND",
            ),
            (
                "ftp://files.example.org/drop",
                "notification target `ftp://files.example.org/…` has an unknown scheme `ftp:`",
            ),
        ];
        for (text, expected) in cases {
            let message = parse_target(text).expect_err(text).to_string();
            assert!(
                message.starts_with(expected),
                "{text:?}: {message:?} does not start with {expected:?}"
            );
            assert!(!message.ends_with('.'), "{message}");
            assert!(
                message.chars().next().is_some_and(|c| !c.is_uppercase()),
                "{message}"
            );
        }
    }

    #[test]
    fn the_status_decides_the_targets() {
        let notifications = Notifications {
            on_success: targets(&["file:ok.jsonl"]),
            on_failure: targets(&["file:bad.jsonl"]),
        };
        assert_eq!(
            targets_for(&notifications, Status::Success),
            ["file:ok.jsonl"]
        );
        for status in [Status::Partial, Status::Failed, Status::Refused] {
            assert_eq!(targets_for(&notifications, status), ["file:bad.jsonl"]);
            assert_eq!(status.as_str().parse::<Status>().expect("status"), status);
        }
        assert!("done".parse::<Status>().is_err());
    }

    #[test]
    fn the_smtp_settings_parse_from_trainyard_yaml() {
        let config = crate::config::parse(
            "notify:\n  smtp:\n    host: relay.example.org\n    from: ci@example.org\n",
            Path::new("trainyard.yaml"),
        )
        .expect("valid");
        let smtp = config.notify.smtp.expect("smtp");
        assert_eq!(smtp.port, 25);
        assert!(!smtp.starttls);
        assert_eq!(smtp.credentials, None);

        let error = |text: &str| {
            crate::config::parse(text, Path::new("trainyard.yaml"))
                .expect_err(text)
                .to_string()
        };
        let e =
            error("notify:\n  smtp:\n    host: relay\n    from: ci@example.org\n    tls: yes\n");
        assert!(e.contains("notify.smtp.tls: unknown field `tls`"), "{e}");
        let e = error("notify:\n  smtp:\n    host: relay\n    from: nobody\n");
        assert!(
            e.contains("notify.smtp.from: notify.smtp.from `nobody` is not an email address"),
            "{e}"
        );
        let e = error(
            "notify:\n  smtp:\n    host: relay\n    from: ci@example.org\n    credentials: hunter2\n",
        );
        assert!(
            e.contains("notify.smtp.credentials: credential references must be"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }
}
