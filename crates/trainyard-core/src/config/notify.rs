//! `notify:` in `trainyard.yaml`: how notifications are delivered (the
//! SMTP relay of `email:` targets).

use serde::{Deserialize, Deserializer, Serialize};

use crate::bounded::Port;
use crate::text::lower_first;
use crate::{Error, Result};

/// `notify:` settings: how notifications are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// The SMTP relay that sends `email:` notifications; an `email:`
    /// target needs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpConfig>,
}

impl NotifyConfig {
    /// Checks the settings that parsing alone cannot: see
    /// [`SmtpConfig::validate`].
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming the setting.
    pub fn validate(&self) -> Result<()> {
        match &self.smtp {
            Some(smtp) => smtp.validate(),
            None => Ok(()),
        }
    }
}

/// `notify.smtp`: the relay that sends email notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The relay's host name or address.
    #[serde(deserialize_with = "smtp_host")]
    pub host: String,
    /// The relay's port: 25 by default, usually 587 with `starttls`.
    #[serde(default = "default_port")]
    pub port: Port,
    /// The sender: `trainyard@example.org` or
    /// `Trainyard <trainyard@example.org>`.
    #[serde(deserialize_with = "mailbox")]
    pub from: String,
    /// Whether STARTTLS is required (the relay's certificate is verified);
    /// credentials need it unless the relay is on this machine.
    #[serde(default)]
    pub starttls: bool,
    /// A credential reference (`env:NAME`, `file:PATH`, `command:...`)
    /// whose secret is `user:password`, sent with AUTH PLAIN; never the
    /// secret itself.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "credential_reference"
    )]
    pub credentials: Option<String>,
}

fn default_port() -> Port {
    Port::constant(25)
}

fn smtp_host<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<String, D::Error> {
    let host = String::deserialize(deserializer)?;
    check_host(&host).map_err(serde::de::Error::custom)?;
    Ok(host)
}

fn mailbox<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<String, D::Error> {
    let from = String::deserialize(deserializer)?;
    check_from(&from).map_err(serde::de::Error::custom)?;
    Ok(from)
}

fn credential_reference<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<String>, D::Error> {
    let reference = Option::<String>::deserialize(deserializer)?;
    if let Some(r) = &reference {
        crate::credentials::validate_reference(r).map_err(serde::de::Error::custom)?;
    }
    Ok(reference)
}

fn check_host(host: &str) -> Result<()> {
    if host.trim().is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(Error::input(format!(
            "notify.smtp.host `{host}` is not a host name or address"
        )));
    }
    Ok(())
}

fn check_from(from: &str) -> Result<()> {
    from.parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|e| {
            Error::input(format!(
                "notify.smtp.from `{from}` is not an email address ({})",
                lower_first(&e.to_string())
            ))
        })
}

impl SmtpConfig {
    /// Checks the relay's settings: a host, a sender address, a well-formed credential reference, and no credentials
    /// without `starttls` unless the relay is on this machine (a password
    /// is never sent in clear over the network).
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming the setting.
    pub fn validate(&self) -> Result<()> {
        check_host(&self.host)?;
        check_from(&self.from)?;
        if let Some(reference) = &self.credentials {
            crate::credentials::validate_reference(reference)
                .map_err(|e| Error::input(format!("notify.smtp.credentials: {e}")))?;
            if !self.starttls && !crate::http::is_loopback(self.host.trim_matches(['[', ']'])) {
                return Err(Error::input(format!(
                    "notify.smtp.credentials need notify.smtp.starttls: true, since {} is not this machine and a password is never sent in clear",
                    self.host
                )));
            }
        }
        Ok(())
    }
}
