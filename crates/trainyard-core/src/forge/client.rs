//! Asking a forge over HTTP: the API's origin (the only place the token
//! goes), same-origin redirects and pages, retries, and errors that say
//! what an answer means without showing the token.

use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use super::{ForgeConfig, ForgeKind};
use crate::credentials::Secret;
use crate::http::{Retry, Transient};
use crate::{Error, Result};

/// Connect timeout of a forge request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a whole forge request (answer and body) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts per request: the first and two retries.
const ATTEMPTS: u32 = 3;
/// Pause before the first retry; doubled before the next.
pub(super) const BACKOFF: Duration = Duration::from_millis(500);
/// Pages followed at most (100 items each).
const MAX_PAGES: usize = 500;
/// Same-origin redirects followed at most per request.
const MAX_REDIRECTS: usize = 5;
/// Largest answer read.
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// Scheme, host and port: where the token may be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    pub(crate) fn parse(url: &str) -> Option<Origin> {
        let uri = ureq::http::Uri::from_str(url).ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let host = uri.host()?.to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(match scheme.as_str() {
            "https" => 443,
            _ => 80,
        });
        Some(Origin { scheme, host, port })
    }

    /// The origin of the configured API, which must be https (or http on
    /// localhost).
    pub(crate) fn of_api(api: &str) -> Result<Origin> {
        let origin = Origin::parse(api).filter(|o| !o.host.is_empty()).ok_or_else(|| {
            Error::input(format!(
                "checklist.forge.api_url `{api}` is not a URL (e.g. https://github.example.com/api/v3)"
            ))
        })?;
        match origin.scheme.as_str() {
            "https" => Ok(origin),
            "http" if origin.is_loopback() => Ok(origin),
            _ => Err(Error::input(format!(
                "checklist.forge.api_url `{api}` must use https (plain http only for localhost)"
            ))),
        }
    }

    /// `https` or `http`, lowercased.
    pub(crate) fn scheme(&self) -> &str {
        &self.scheme
    }

    pub(crate) fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// One answer, read in full.
pub(super) struct Answer {
    url: String,
    status: u16,
    headers: ureq::http::HeaderMap,
    body: String,
}

impl crate::http::Answered for Answer {
    fn status_code(&self) -> u16 {
        self.status
    }
}

impl Answer {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    }
}

/// A client of the configured forge's API, holding its token.
pub(super) struct Client<'a> {
    pub(super) config: &'a ForgeConfig,
    pub(super) api: String,
    origin: Origin,
    agent: ureq::Agent,
    token: Option<Secret>,
    retry: Retry,
}

impl<'a> Client<'a> {
    pub(super) fn new(
        config: &'a ForgeConfig,
        token: Option<Secret>,
        backoff: Duration,
    ) -> Result<Self> {
        let api = config.api_base().to_owned();
        let origin = Origin::of_api(&api)?;
        let builder = crate::http::agent_config(&api)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            // Redirects are followed here, to the API's origin only, so a
            // token header never goes anywhere else.
            .max_redirects(0);
        Ok(Client {
            config,
            api,
            origin,
            agent: builder.build().new_agent(),
            token,
            retry: Retry {
                attempts: ATTEMPTS,
                pause: backoff,
                transient: Transient::Network,
            },
        })
    }

    /// Every page from `first` on, each decoded as `T`: the next page is
    /// the `Link: rel="next"` URL, else what `fallback_next` makes of the
    /// answer.
    pub(super) fn pages<T: serde::de::DeserializeOwned>(
        &self,
        first: &str,
        fallback_next: impl Fn(&Answer) -> Option<String>,
    ) -> Result<Vec<T>> {
        let mut pages = Vec::new();
        let mut url = Some(first.to_owned());
        while let Some(current) = url.take() {
            if pages.len() >= MAX_PAGES {
                return Err(Error::environment(format!(
                    "forge {} listed more than {MAX_PAGES} pages of pull requests; stopped at {current}",
                    self.api
                )));
            }
            let answer = self.get(&current)?;
            let page: T = serde_json::from_str(&answer.body).map_err(|e| {
                Error::environment(format!(
                    "forge GET {} answered JSON trainyard does not understand: {e}",
                    answer.url
                ))
            })?;
            pages.push(page);
            let next = answer
                .header("link")
                .and_then(next_link)
                .or_else(|| fallback_next(&answer));
            if let Some(next) = &next {
                self.check_same_origin(next, "a pagination link")?;
            }
            url = next;
        }
        Ok(pages)
    }

    /// A successful GET of `url`, following same-origin redirects.
    fn get(&self, url: &str) -> Result<Answer> {
        let mut url = url.to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let answer = self.get_once(&url)?;
            match answer.status {
                200..=299 => return Ok(answer),
                301 | 302 | 303 | 307 | 308 => {
                    let Some(location) = answer.header("location") else {
                        return Err(self.unexpected(&answer));
                    };
                    let next = if location.starts_with('/') {
                        format!(
                            "{}://{}{location}",
                            self.origin.scheme,
                            authority(&self.origin)
                        )
                    } else {
                        location.to_owned()
                    };
                    self.check_same_origin(&next, "a redirect")?;
                    url = next;
                }
                _ => return Err(self.refusal(&answer)),
            }
        }
        Err(Error::environment(format!(
            "forge {} redirected more than {MAX_REDIRECTS} times, last to {url}",
            self.api
        )))
    }

    /// One GET with retries after a 5xx answer or a connection failure.
    fn get_once(&self, url: &str) -> Result<Answer> {
        // The body is read within the attempt, so a body cut short is
        // retried too.
        let tried = self.retry.run(|| self.try_get(url));
        tried.outcome.map_err(|e| {
            Error::environment(self.scrub(&format!(
                "forge GET {url} failed after {} attempt(s): {e}",
                tried.attempts
            )))
        })
    }

    fn try_get(&self, url: &str) -> std::result::Result<Answer, ureq::Error> {
        let mut request = self.agent.get(url);
        match self.config.kind {
            ForgeKind::Github => {
                request = request
                    .header("Accept", "application/vnd.github+json")
                    .header("X-GitHub-Api-Version", "2022-11-28");
                if let Some(token) = &self.token {
                    request = request.header("Authorization", format!("Bearer {}", token.expose()));
                }
            }
            ForgeKind::Gitlab => {
                request = request.header("Accept", "application/json");
                if let Some(token) = &self.token {
                    request = request.header("PRIVATE-TOKEN", token.expose());
                }
            }
        }
        let mut response = request.call()?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .lossy_utf8(true)
            .read_to_string()?;
        Ok(Answer {
            url: url.to_owned(),
            status,
            headers: response.headers().clone(),
            body,
        })
    }

    fn check_same_origin(&self, url: &str, what: &str) -> Result<()> {
        if Origin::parse(url).as_ref() == Some(&self.origin) {
            return Ok(());
        }
        Err(Error::input(format!(
            "forge {} sent {what} to {url}, outside {}: refusing to send the token there (set checklist.forge.api_url to the forge's API)",
            self.api, self.api
        )))
    }

    /// The error for a non-success, non-redirect answer.
    fn refusal(&self, answer: &Answer) -> Error {
        let token = self.config.token.as_deref();
        match answer.status {
            403 | 429
                if answer.header("x-ratelimit-remaining") == Some("0") || answer.status == 429 =>
            {
                let reset = answer
                    .header("x-ratelimit-reset")
                    .map(|r| format!(" (resets at unix time {r})"))
                    .unwrap_or_default();
                Error::environment(format!(
                    "forge {} rate limit exceeded ({}){reset}{}",
                    self.api,
                    answer.status,
                    if token.is_none() {
                        "; a token raises the limit"
                    } else {
                        ""
                    }
                ))
            }
            401 | 403 => match token {
                Some(reference) => Error::input(format!(
                    "forge {} refused the token ({}): check the token reference {reference}",
                    self.api, answer.status
                )),
                None => Error::input(format!(
                    "forge {} requires a token ({}): set checklist.forge.token to a credential reference such as {}",
                    self.api,
                    answer.status,
                    match self.config.kind {
                        ForgeKind::Github => "env:GITHUB_TOKEN",
                        ForgeKind::Gitlab => "env:GITLAB_TOKEN",
                    }
                )),
            },
            404 => Error::input(format!(
                "forge {}: repository {} not found (404): check checklist.forge.repository{}",
                self.api,
                self.config.repository.trim(),
                if token.is_some() {
                    " and that the token can read it"
                } else {
                    ", and set a token if it is private"
                }
            )),
            _ => self.unexpected(answer),
        }
    }

    fn unexpected(&self, answer: &Answer) -> Error {
        let detail = forge_message(&answer.body)
            .map(|m| format!(": {}", self.scrub(&m)))
            .unwrap_or_default();
        let retried = if (500..=599).contains(&answer.status) {
            format!(" after {} attempts", self.retry.attempts)
        } else {
            String::new()
        };
        Error::environment(format!(
            "forge GET {} answered HTTP {}{retried}{detail}",
            answer.url, answer.status
        ))
    }

    /// `text` with the token, should it occur, replaced by `***`.
    fn scrub(&self, text: &str) -> String {
        match &self.token {
            Some(token) if !token.expose().is_empty() => text.replace(token.expose(), "***"),
            _ => text.to_owned(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Milestone {
    pub(super) title: String,
}

fn authority(origin: &Origin) -> String {
    let default = if origin.scheme == "https" { 443 } else { 80 };
    if origin.port == default {
        origin.host.clone()
    } else {
        format!("{}:{}", origin.host, origin.port)
    }
}

/// The `message` (GitHub) or `message`/`error` (GitLab) of an error body,
/// on one line and at most 200 characters.
pub(crate) fn forge_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let message = value.get("message").or_else(|| value.get("error"))?;
    let text = match message {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return None;
    }
    Some(match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    })
}

/// The `rel="next"` URL of a `Link` header.
pub(crate) fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|param| {
            param.trim().strip_prefix("rel=").is_some_and(|rel| {
                rel.trim_matches('"')
                    .split_whitespace()
                    .any(|r| r == "next")
            })
        });
        is_next.then(|| target.to_owned())
    })
}
