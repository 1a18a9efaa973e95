//! The webhook target: a POST of the JSON summary, its text escaped for
//! Slack, and the URL (which often holds a token) kept out of messages.

use super::{Limits, Target, seconds};
use crate::http::{Retry, Transient};
use crate::text::lower_first;
use crate::{Error, Result};

/// Posts the JSON summary to `url`.
pub(super) fn post(limits: &Limits, url: &str, payload: &serde_json::Value) -> Result<String> {
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
pub(super) fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}/…")
}

/// Removes a webhook's URL, and its path and query, from a message.
pub(super) fn scrub(message: &str, target: &Target) -> String {
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
