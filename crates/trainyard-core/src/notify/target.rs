//! Notification targets: how `https://`, `email:`, `file:` and `command:`
//! targets are written, parsed and checked against `notify.smtp`.

use std::fmt;
use std::path::PathBuf;

use super::webhook::redact_url;
use super::{NotifyConfig, SmtpConfig};
use crate::text::lower_first;
use crate::{Error, Result};

/// What the targets look like, for error messages.
const TARGETS: &str = "https://URL, http://URL, email:ADDRESS, file:PATH or command:COMMAND";

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

pub(super) fn smtp_for<'a>(config: &'a NotifyConfig, target: &Target) -> Result<&'a SmtpConfig> {
    config.smtp.as_ref().ok_or_else(|| {
        Error::input(format!(
            "notification target `{target}` needs notify.smtp (host and from) in trainyard.yaml"
        ))
    })
}

/// A target as error messages show it: a URL redacted, anything else cut
/// before its first `/` or `?` unless it is a file or command target, and
/// at most 80 characters.
pub(super) fn shown(text: &str) -> String {
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
