//! The HTTP client every network endpoint uses (release channels, sync
//! `api` and `registry` endpoints): timeouts on every phase, TLS verified
//! (rustls with the platform's roots), retries with a doubling pause after
//! a 5xx answer or a connection failure, and errors that say what an
//! answer means. The one retry policy ([`Retry`]) lives here too, for the
//! forge and webhook requests as well.

use std::time::Duration;

use crate::{Error, Result};

/// A response with its body still to read.
pub(crate) type Response = ureq::http::Response<ureq::Body>;

/// A client for one endpoint: `label` names it in every error.
pub(crate) struct Client {
    pub(crate) agent: ureq::Agent,
    label: String,
    authorization: Option<String>,
    retry: Retry,
}

impl Client {
    /// A client for `base_url` (a loopback address bypasses any proxy),
    /// sending `secret` as a bearer token, or as basic credentials when it
    /// has the form `user:password`.
    pub(crate) fn new(label: impl Into<String>, base_url: &str, secret: Option<&str>) -> Self {
        let config = agent_config(base_url)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(300)))
            // A stalled connection fails (and is retried) instead of
            // hanging.
            .timeout_per_read(Some(Duration::from_secs(120)))
            .timeout_per_write(Some(Duration::from_secs(120)));
        Client {
            agent: config.build().new_agent(),
            label: label.into(),
            authorization: secret.map(authorization),
            retry: Retry {
                attempts: 4,
                pause: Duration::from_millis(250),
                transient: Transient::Network,
            },
        }
    }

    /// The same client with another retry pause (tests keep it short).
    #[cfg(test)]
    pub(crate) fn with_backoff(mut self, backoff: Duration) -> Self {
        self.retry.pause = backoff;
        self
    }

    /// What the client is for, as errors name it.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// Adds the credentials to a request.
    pub(crate) fn auth<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.authorization {
            Some(value) => request.header("Authorization", value),
            None => request,
        }
    }

    /// Sends a request, again after a 5xx answer or a connection failure,
    /// up to `attempts` times with a doubling pause.
    pub(crate) fn send(
        &self,
        method: &str,
        url: &str,
        request: impl FnMut() -> std::result::Result<Response, ureq::Error>,
    ) -> Result<Response> {
        let tried = self.retry.run(request);
        tried.outcome.map_err(|e| {
            Error::environment(format!(
                "{}: {method} {url} failed after {} attempt(s): {e}",
                self.label, tried.attempts
            ))
        })
    }

    /// The error for an answer the caller did not expect, saying what the
    /// status means.
    pub(crate) fn unexpected(&self, method: &str, url: &str, response: &Response) -> Error {
        let status = response.status().as_u16();
        let hint = match status {
            401 => "; the credentials were missing or refused",
            403 => "; the credentials do not allow this",
            404 => "; nothing is there",
            409 => "; it conflicts with what the server holds",
            412 => "; it changed since it was read (a stale plan: plan again)",
            _ => "",
        };
        let message = format!(
            "{}: {method} {url} answered HTTP {status}{hint}",
            self.label
        );
        if response.status().is_server_error() {
            Error::environment(format!("{message} after {} attempts", self.retry.attempts))
        } else {
            Error::input(message)
        }
    }
}

fn authorization(secret: &str) -> String {
    use ct_codecs::Encoder as _;
    match secret.split_once(':') {
        Some((user, _)) if !user.is_empty() && !user.contains(' ') => format!(
            "Basic {}",
            ct_codecs::Base64::encode_to_string(secret).unwrap_or_default()
        ),
        _ => format!("Bearer {secret}"),
    }
}

/// Reads and drops the rest of a body, so the connection can be reused.
pub(crate) fn drain(response: &mut Response) {
    let _ = std::io::copy(&mut response.body_mut().as_reader(), &mut std::io::sink());
}

/// An agent's configuration with what every trainyard request shares:
/// statuses are answers, not errors; trainyard's user agent; and no proxy
/// for a loopback address. Callers add their timeouts and redirects.
pub(crate) fn agent_config(url: &str) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(concat!("trainyard/", env!("CARGO_PKG_VERSION")));
    if is_loopback(host_of(url)) {
        config.proxy(None)
    } else {
        config
    }
}

// ----------------------------------------------------------------- retry

/// How a request is retried: after a 5xx answer or a transient failure,
/// up to `attempts` tries in all, with a pause that doubles each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Retry {
    /// Tries in all, the first included.
    pub(crate) attempts: u32,
    /// The pause before the first retry; doubled before each next one.
    pub(crate) pause: Duration,
    /// Which failures are worth another try.
    pub(crate) transient: Transient,
}

/// Which failed attempts a [`Retry`] tries again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transient {
    /// Failures to reach the server (refused, reset, unresolved, a connect
    /// timeout), where the request most likely never arrived: for a POST
    /// that should not arrive twice.
    Connection,
    /// Any failure of the network, every timeout included: for requests
    /// that may safely arrive twice.
    Network,
}

/// The outcome of a retried request: the last attempt's, and how many
/// attempts were made.
pub(crate) struct Tried<T> {
    pub(crate) outcome: std::result::Result<T, ureq::Error>,
    pub(crate) attempts: u32,
}

/// What a [`Retry`] needs of an answer: its status, and how to let it go
/// before the next attempt.
pub(crate) trait Answered {
    /// The HTTP status.
    fn status_code(&self) -> u16;

    /// Lets go of an answer that is tried again.
    fn discard(self)
    where
        Self: Sized,
    {
    }
}

impl Answered for Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }

    // The body is read so that the connection can be reused.
    fn discard(mut self) {
        drain(&mut self);
    }
}

impl Answered for ureq::http::StatusCode {
    fn status_code(&self) -> u16 {
        self.as_u16()
    }
}

impl Retry {
    /// Runs `attempt` until it gives an answer that is not 5xx, fails in a
    /// way that is not transient, or the attempts run out.
    pub(crate) fn run<T: Answered>(
        &self,
        mut attempt: impl FnMut() -> std::result::Result<T, ureq::Error>,
    ) -> Tried<T> {
        let mut pause = self.pause;
        let mut attempts = 1;
        loop {
            let outcome = attempt();
            let again = match &outcome {
                Ok(answer) => (500..=599).contains(&answer.status_code()),
                Err(e) => is_transient(e, self.transient),
            };
            if !again || attempts >= self.attempts {
                return Tried { outcome, attempts };
            }
            if let Ok(answer) = outcome {
                answer.discard();
            }
            std::thread::sleep(pause);
            pause *= 2;
            attempts += 1;
        }
    }
}

/// Whether a failed attempt is worth another try.
fn is_transient(error: &ureq::Error, transient: Transient) -> bool {
    use ureq::{Error as E, Timeout as T};
    match transient {
        Transient::Connection => matches!(
            error,
            E::Io(_) | E::ConnectionFailed | E::HostNotFound | E::Timeout(T::Connect | T::Resolve)
        ),
        Transient::Network => matches!(
            error,
            E::Io(_) | E::ConnectionFailed | E::Timeout(_) | E::BodyStalled
        ),
    }
}

/// The host of a URL (without user info, port or brackets).
pub(crate) fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    host_port.split(':').next().unwrap_or("")
}

/// Whether a host is this machine.
pub(crate) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// Answers each connection with the next status of `statuses`, and
    /// counts the requests.
    fn server(statuses: Vec<u16>) -> (String, std::thread::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/doc", listener.local_addr().expect("addr"));
        let handle = std::thread::spawn(move || {
            let mut served = 0;
            for status in statuses {
                let (mut stream, _) = listener.accept().expect("accept");
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).expect("line");
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" || line.is_empty() {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).expect("body");
                write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                )
                .expect("write");
                served += 1;
            }
            served
        });
        (url, handle)
    }

    #[test]
    fn a_5xx_is_retried_and_a_4xx_is_explained() {
        let (url, handle) = server(vec![503, 502, 200]);
        let client = Client::new("test", &url, None).with_backoff(Duration::from_millis(5));
        let response = client
            .send("GET", &url, || client.agent.get(&url).call())
            .expect("third time lucky");
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(handle.join().expect("server"), 3);

        let (url, handle) = server(vec![412]);
        let client = Client::new("sync flags target", &url, None);
        let response = client
            .send("PUT", &url, || client.agent.put(&url).send("{}"))
            .expect("answered");
        let error = client.unexpected("PUT", &url, &response);
        assert!(
            error
                .to_string()
                .contains("answered HTTP 412; it changed since it was read"),
            "{error}"
        );
        handle.join().expect("server");
    }

    #[test]
    fn a_dead_server_fails_after_the_attempts() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        drop(listener);
        let client = Client::new("test", &url, None).with_backoff(Duration::from_millis(1));
        let error = client
            .send("GET", &url, || client.agent.get(&url).call())
            .expect_err("nothing listens");
        assert!(
            error.to_string().contains("failed after 4 attempt(s)"),
            "{error}"
        );
    }

    #[test]
    fn the_retry_policy_tries_5xx_and_transient_failures_again() {
        use ureq::http::StatusCode;
        let retry = |transient| Retry {
            attempts: 3,
            pause: Duration::from_millis(1),
            transient,
        };
        let mut calls = 0;
        let tried = retry(Transient::Network).run(|| {
            calls += 1;
            Ok(if calls < 3 {
                StatusCode::BAD_GATEWAY
            } else {
                StatusCode::NOT_FOUND
            })
        });
        assert_eq!((tried.attempts, calls), (3, 3));
        assert_eq!(tried.outcome.expect("answered"), StatusCode::NOT_FOUND);

        let tried = retry(Transient::Network)
            .run(|| -> std::result::Result<StatusCode, _> { Err(ureq::Error::HostNotFound) });
        assert_eq!(tried.attempts, 1);
        let tried = retry(Transient::Connection)
            .run(|| -> std::result::Result<StatusCode, _> { Err(ureq::Error::HostNotFound) });
        assert_eq!(tried.attempts, 3);
        let tried = retry(Transient::Connection).run(|| -> std::result::Result<StatusCode, _> {
            Err(ureq::Error::Timeout(ureq::Timeout::RecvResponse))
        });
        assert_eq!(tried.attempts, 1);
    }

    #[test]
    fn credentials_are_bearer_tokens_or_basic_pairs() {
        assert_eq!(authorization("s3cret"), "Bearer s3cret");
        assert_eq!(authorization("ci:pa:ss"), "Basic Y2k6cGE6c3M=");
    }
}
