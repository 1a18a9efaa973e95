//! The forge release channels' view of a forge's API: the token sent only
//! to the API's origin (and GitHub's upload origin), each forge's auth
//! header, retries, pages, and errors that name the channel and never
//! the token.

use std::path::Path;
use std::time::Duration;

use super::{ForgeReleaseChannel, ReleaseForge};
use crate::forge::client::{Origin, forge_message, next_link};
use crate::http::{Answered, Retry, Transient};
use crate::{Error, Result};

/// Tries per request: the first and two retries.
const ATTEMPTS: u32 = 3;
/// Pause before the first retry, doubled before the next; tests keep
/// it short.
const BACKOFF: Duration = if cfg!(test) {
    Duration::from_millis(2)
} else {
    Duration::from_millis(500)
};
/// Pages followed at most.
const MAX_PAGES: usize = 200;
/// Largest answer read (a GitLab package file read back among them).
const MAX_BODY: u64 = 4 * 1024 * 1024 * 1024;

/// What a request sends.
pub(super) enum Payload<'p> {
    /// Nothing.
    Empty,
    /// A JSON document.
    Json(serde_json::Value),
    /// A file's bytes, `application/octet-stream`.
    File(&'p Path),
    /// Bytes with their content type.
    Bytes(Vec<u8>, String),
}

/// One answer, read in full.
pub(super) struct Answer {
    pub(super) status: u16,
    headers: ureq::http::HeaderMap,
    /// The body's bytes, as sent.
    pub(super) bytes: Vec<u8>,
    /// The body as text (invalid UTF-8 replaced), for JSON and messages.
    pub(super) body: String,
}

impl Answered for Answer {
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

    pub(super) fn is_success(&self) -> bool {
        (200..=299).contains(&self.status)
    }
}

/// A client of one channel's forge, holding its token.
pub(super) struct Api<'a> {
    pub(super) channel: &'a ForgeReleaseChannel,
    /// The API's base URL, without a final `/`.
    pub(super) base: String,
    /// `owner/name` (GitLab: `group/subgroup/name`).
    pub(super) repo: String,
    origins: Vec<Origin>,
    agent: ureq::Agent,
    token: String,
    retry: Retry,
}

/// The API's base URL: configured, else the public service's.
pub(super) fn base_url(channel: &ForgeReleaseChannel) -> String {
    let base = match (&channel.api_url, channel.forge) {
        (Some(url), _) => url.as_str(),
        (None, ReleaseForge::Github) => "https://api.github.com",
        (None, ReleaseForge::Gitlab) => "https://gitlab.com/api/v4",
        // Refused when the configuration is read; said again here.
        (None, ReleaseForge::Gitea) => "",
    };
    base.trim_end_matches('/').to_owned()
}

/// The repository: configured, else the `origin` remote's.
pub(super) fn repository(channel: &ForgeReleaseChannel, repo_root: &Path) -> Option<String> {
    match &channel.repository {
        Some(repo) => Some(repo.trim().trim_matches('/').to_owned()),
        None => crate::remote_url::origin(repo_root).map(|r| r.path),
    }
}

impl<'a> Api<'a> {
    pub(super) fn new(
        channel: &'a ForgeReleaseChannel,
        token: Option<&str>,
        repo_root: &Path,
    ) -> Result<Self> {
        let name = &channel.name;
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::input(format!(
                    "channel `{name}`: needs credentials (e.g. credentials: env:{})",
                    match channel.forge {
                        ReleaseForge::Github => "GITHUB_TOKEN",
                        ReleaseForge::Gitlab => "GITLAB_TOKEN",
                        ReleaseForge::Gitea => "GITEA_TOKEN",
                    }
                ))
            })?
            .to_owned();
        let base = base_url(channel);
        let origin = Origin::parse(&base).ok_or_else(|| {
            Error::input(format!(
                "channel `{name}`: api_url `{base}` is not a URL (e.g. https://gitea.example.com/api/v1)"
            ))
        })?;
        if origin.scheme() != "https" && !(origin.scheme() == "http" && origin.is_loopback()) {
            return Err(Error::input(format!(
                "channel `{name}`: api_url `{base}` must use https (plain http only for localhost)"
            )));
        }
        let repo = repository(channel, repo_root)
            .filter(|r| r.contains('/'))
            .ok_or_else(|| {
                Error::input(format!(
                    "channel `{name}`: no repository: set `repository: owner/name` or an `origin` remote"
                ))
            })?;
        let mut origins = vec![origin];
        // github.com takes uploads on another host; Enterprise Server on
        // its own.
        if channel.forge == ReleaseForge::Github
            && let Some(uploads) = Origin::parse("https://uploads.github.com")
            && Origin::parse("https://api.github.com").as_ref() == origins.first()
        {
            origins.push(uploads);
        }
        let agent = crate::http::agent_config(&base)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(300)))
            .timeout_per_read(Some(Duration::from_secs(120)))
            .timeout_per_write(Some(Duration::from_secs(120)))
            // Redirects would carry the token elsewhere.
            .max_redirects(0)
            .build()
            .new_agent();
        Ok(Api {
            channel,
            base,
            repo,
            origins,
            agent,
            token,
            retry: Retry {
                attempts: ATTEMPTS,
                pause: BACKOFF,
                transient: Transient::Network,
            },
        })
    }

    fn label(&self) -> String {
        format!("channel `{}`", self.channel.name)
    }

    /// `text` with the token, should it occur, replaced by `***`.
    fn scrub(&self, text: &str) -> String {
        text.replace(&self.token, "***")
    }

    /// Sends a request, again after a 5xx answer or a failure to connect
    /// (any network failure for requests other than POST), and reads the
    /// answer whatever its status.
    pub(super) fn send(&self, method: &str, url: &str, payload: &Payload<'_>) -> Result<Answer> {
        if !Origin::parse(url).is_some_and(|o| self.origins.contains(&o)) {
            return Err(Error::input(format!(
                "{}: the forge pointed to {url}, outside {}: refusing to send the token there",
                self.label(),
                self.base
            )));
        }
        let retry = Retry {
            // A POST that may have arrived is not sent twice.
            transient: if method == "POST" {
                Transient::Connection
            } else {
                self.retry.transient
            },
            ..self.retry
        };
        let tried = retry.run(|| self.attempt(method, url, payload));
        tried.outcome.map_err(|e| {
            Error::environment(self.scrub(&format!(
                "{}: {method} {url} failed after {} attempt(s): {e}",
                self.label(),
                tried.attempts
            )))
        })
    }

    fn attempt(
        &self,
        method: &str,
        url: &str,
        payload: &Payload<'_>,
    ) -> std::result::Result<Answer, ureq::Error> {
        let mut response = match method {
            "GET" => self.headers(self.agent.get(url)).call()?,
            "DELETE" => self.headers(self.agent.delete(url)).call()?,
            _ => {
                let request = match method {
                    "POST" => self.agent.post(url),
                    "PUT" => self.agent.put(url),
                    _ => self.agent.patch(url),
                };
                let request = self.headers(request);
                match payload {
                    Payload::Empty => request.send_empty()?,
                    Payload::Json(value) => request
                        .header("Content-Type", "application/json")
                        .send(value.to_string())?,
                    Payload::File(path) => {
                        let file = std::fs::File::open(path)?;
                        request
                            .header("Content-Type", "application/octet-stream")
                            .send(file)?
                    }
                    Payload::Bytes(bytes, content_type) => request
                        .header("Content-Type", content_type)
                        .send(&bytes[..])?,
                }
            }
        };
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()?;
        Ok(Answer {
            status,
            headers: response.headers().clone(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        })
    }

    fn headers<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match self.channel.forge {
            ReleaseForge::Github => request
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28")
                .header("Authorization", format!("Bearer {}", self.token)),
            ReleaseForge::Gitlab => request
                .header("Accept", "application/json")
                .header("PRIVATE-TOKEN", &self.token),
            ReleaseForge::Gitea => request
                .header("Accept", "application/json")
                .header("Authorization", format!("token {}", self.token)),
        }
    }

    /// A request that must succeed, its answer decoded as JSON (`null`
    /// for an empty body).
    pub(super) fn call(
        &self,
        method: &str,
        url: &str,
        payload: &Payload<'_>,
    ) -> Result<serde_json::Value> {
        let answer = self.send(method, url, payload)?;
        if !answer.is_success() {
            return Err(self.refusal(method, url, &answer));
        }
        self.json(method, url, &answer)
    }

    /// A GET whose 404 means "not there".
    pub(super) fn get_optional(&self, url: &str) -> Result<Option<serde_json::Value>> {
        let answer = self.send("GET", url, &Payload::Empty)?;
        match answer.status {
            404 => Ok(None),
            _ if answer.is_success() => self.json("GET", url, &answer).map(Some),
            _ => Err(self.refusal("GET", url, &answer)),
        }
    }

    pub(super) fn json(
        &self,
        method: &str,
        url: &str,
        answer: &Answer,
    ) -> Result<serde_json::Value> {
        if answer.body.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_str(&answer.body).map_err(|e| {
            Error::environment(format!(
                "{}: {method} {url} answered JSON trainyard does not understand: {e}",
                self.label()
            ))
        })
    }

    /// Every item of every page from `first` on: the next page is the
    /// `Link: rel="next"` URL, else GitLab's `X-Next-Page`.
    pub(super) fn pages(&self, first: &str) -> Result<Vec<serde_json::Value>> {
        let mut items = Vec::new();
        let mut url = Some(first.to_owned());
        let mut pages = 0;
        while let Some(current) = url.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(Error::environment(format!(
                    "{}: more than {MAX_PAGES} pages listed; stopped at {current}",
                    self.label()
                )));
            }
            let answer = self.send("GET", &current, &Payload::Empty)?;
            if !answer.is_success() {
                return Err(self.refusal("GET", &current, &answer));
            }
            match self.json("GET", &current, &answer)? {
                serde_json::Value::Array(page) => items.extend(page),
                serde_json::Value::Null => {}
                _ => {
                    return Err(Error::environment(format!(
                        "{}: GET {current} answered something other than a list",
                        self.label()
                    )));
                }
            }
            url = answer.header("link").and_then(next_link).or_else(|| {
                let next: u64 = answer.header("x-next-page")?.parse().ok()?;
                Some(with_page(first, next))
            });
        }
        Ok(items)
    }

    /// The error for an answer that is not a success, saying what it
    /// means: a refused token or missing repository is the user's to fix,
    /// a failing forge the environment's.
    pub(super) fn refusal(&self, method: &str, url: &str, answer: &Answer) -> Error {
        let label = self.label();
        let status = answer.status;
        let detail = forge_message(&answer.body)
            .map(|m| format!(": {}", self.scrub(&m)))
            .unwrap_or_default();
        match status {
            403 | 429 if status == 429 || answer.header("x-ratelimit-remaining") == Some("0") => {
                Error::environment(format!(
                    "{label}: {method} {url} hit the forge's rate limit (HTTP {status}); try again later"
                ))
            }
            401 | 403 => Error::input(format!(
                "{label}: the forge refused the token (HTTP {status} for {method} {url}){detail}; check the channel's credentials and that the token may write releases"
            )),
            404 => Error::input(format!(
                "{label}: repository `{}` not found at {} (HTTP 404 for {method} {url}); check `repository` and that the token can read it",
                self.repo, self.base
            )),
            500..=599 => Error::environment(format!(
                "{label}: {method} {url} answered HTTP {status} after {} attempts{detail}",
                self.retry.attempts
            )),
            _ => Error::input(format!(
                "{label}: {method} {url} answered HTTP {status}{detail}"
            )),
        }
    }
}

/// `url` with `page=N` added to its query.
fn with_page(url: &str, page: u64) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}page={page}")
}
