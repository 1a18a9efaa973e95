//! The `email:` target: a plain-text email through the SMTP relay of
//! `notify.smtp`.

use std::path::Path;

use super::{Limits, Notification, SmtpConfig};
use crate::text::lower_first;
use crate::{Error, Result};

/// Emails `notification` to `address` through the relay.
pub(super) fn send(
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
