//! RL-01, "all PRs merged: no open PRs for release": the open pull requests
//! (GitHub) or merge requests (GitLab) that belong to a release, and the
//! fallback without a forge, the local branches not merged yet.
//!
//! A pull request belongs to a release when its base branch is one of the
//! release's branches (`release/v1.3.0-rc.1`), or its milestone is the
//! version, with or without the tag prefix (`1.3.0`, `v1.3.0`).
//!
//! The forge is asked over HTTPS with the blocking `ureq` client (TLS
//! verified against the bundled web PKI roots): connect timeout 10 s, 30 s
//! per request, two retries with backoff after a 5xx answer or a connection
//! failure, pagination followed (`Link: rel="next"`, GitLab's
//! `X-Next-Page`). The token comes from a credential reference
//! ([`crate::credentials`]) and is sent to the configured API origin only:
//! redirects and pagination links to another host are refused rather than
//! followed, and the token never appears in a message.
//!
//! A refused token and an unknown repository are [`Error::Input`] (exit 2);
//! a failing forge is [`Error::Environment`] (exit 3).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::credentials::{self, Secret};
use crate::http::{Retry, Transient};
use crate::{Error, Result, git_cli};

/// GitHub's API when `api_url` is not set.
pub const GITHUB_API: &str = "https://api.github.com";
/// GitLab's API when `api_url` is not set.
pub const GITLAB_API: &str = "https://gitlab.com/api/v4";

/// Connect timeout of a forge request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a whole forge request (answer and body) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts per request: the first and two retries.
const ATTEMPTS: u32 = 3;
/// Pause before the first retry; doubled before the next.
const BACKOFF: Duration = Duration::from_millis(500);
/// Pages followed at most (100 items each).
const MAX_PAGES: usize = 500;
/// Same-origin redirects followed at most per request.
const MAX_REDIRECTS: usize = 5;
/// Largest answer read.
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// Which forge's API to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    /// GitHub or GitHub Enterprise Server: pull requests.
    Github,
    /// GitLab (gitlab.com or self-managed): merge requests.
    Gitlab,
}

impl ForgeKind {
    /// `github` or `gitlab`.
    pub fn as_str(self) -> &'static str {
        match self {
            ForgeKind::Github => "github",
            ForgeKind::Gitlab => "gitlab",
        }
    }
}

/// `checklist.forge`: the forge asked for open pull requests (RL-01).
///
/// ```yaml
/// checklist:
///   forge:
///     kind: github               # or gitlab
///     repository: acme/app       # GitLab: group/sub/project or a numeric id
///     token: env:GITHUB_TOKEN    # a credential reference, never the token
///     # api_url: https://github.example.com/api/v3
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgeConfig {
    /// `github` or `gitlab`.
    pub kind: ForgeKind,
    /// The API's base URL; `https://api.github.com` or
    /// `https://gitlab.com/api/v4` when not set. Must be `https://` (plain
    /// `http://` only for localhost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// `owner/name` on GitHub; the project's path (`group/sub/project`) or
    /// numeric id on GitLab.
    pub repository: String,
    /// A credential reference to the API token (`env:GITHUB_TOKEN`,
    /// `file:PATH`, `command:CMD`), never the token itself. Without one,
    /// the forge is asked anonymously (public repositories only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl ForgeConfig {
    /// The API's base URL, without a trailing `/`.
    pub fn api_base(&self) -> &str {
        match &self.api_url {
            Some(url) => url.trim().trim_end_matches('/'),
            None => match self.kind {
                ForgeKind::Github => GITHUB_API,
                ForgeKind::Gitlab => GITLAB_API,
            },
        }
    }

    /// Checks the configuration without asking the forge: the repository's
    /// shape for its kind, the API URL (https, or http on localhost), and
    /// the token reference's syntax.
    ///
    /// # Errors
    ///
    /// Returns an [`Error::Input`] naming the `checklist.forge` key at fault.
    pub fn validate(&self) -> Result<()> {
        Origin::of_api(self.api_base())?;
        let repository = self.repository.trim();
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        let segments: Vec<&str> = repository.split('/').collect();
        match self.kind {
            ForgeKind::Github if segments.len() != 2 || !segments.iter().all(|s| segment_ok(s)) => {
                return Err(Error::input(format!(
                    "checklist.forge.repository `{repository}` is not a GitHub repository: write owner/name"
                )));
            }
            ForgeKind::Gitlab
                if !repository.chars().all(|c| c.is_ascii_digit())
                    && (segments.len() < 2 || !segments.iter().all(|s| segment_ok(s))) =>
            {
                return Err(Error::input(format!(
                    "checklist.forge.repository `{repository}` is not a GitLab project: write its path (group/project) or numeric id"
                )));
            }
            _ => {}
        }
        if repository.is_empty() {
            return Err(Error::input("checklist.forge.repository is empty"));
        }
        if let Some(token) = &self.token {
            credentials::validate_reference(token)
                .map_err(|e| Error::input(format!("checklist.forge.token: {e}")))?;
        }
        Ok(())
    }
}

/// What identifies a release's pull requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseSelector {
    /// The version, without the tag prefix: `1.3.0`.
    pub version: String,
    /// The tag prefix (`v`), so that a milestone `v1.3.0` matches too.
    pub tag_prefix: String,
    /// Base branches that belong to the release, e.g.
    /// `release/v1.3.0-rc.1`. An entry with `*`, `?` or `[` is a glob
    /// (`release/v1.3.0-rc.*`); those characters cannot occur in a branch
    /// name, so an entry without them is an exact name.
    pub branches: Vec<String>,
}

impl ReleaseSelector {
    /// Whether a pull request belongs to the release: its base branch is
    /// one of [`branches`](Self::branches), or its milestone's title is the
    /// version with or without the tag prefix.
    pub fn matches(&self, pr: &PullRequest) -> bool {
        let branch = self.branches.iter().any(|b| {
            if b.contains(['*', '?', '[']) {
                globset::Glob::new(b).is_ok_and(|g| g.compile_matcher().is_match(&pr.base))
            } else {
                *b == pr.base
            }
        });
        let milestone = pr.milestone.as_deref().is_some_and(|title| {
            let title = title.trim();
            !self.version.is_empty()
                && (title == self.version
                    || title
                        .strip_prefix(self.tag_prefix.as_str())
                        .is_some_and(|rest| !self.tag_prefix.is_empty() && rest == self.version))
        });
        branch || milestone
    }
}

/// An open pull request (GitHub) or merge request (GitLab).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PullRequest {
    /// Its number (GitLab: the project-scoped `iid`, as in `!42`).
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Its page on the forge.
    pub url: String,
    /// The branch it would merge into.
    pub base: String,
    /// Its milestone's title, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestone: Option<String>,
}

/// The open pull requests of `config.repository` that belong to `release`,
/// by number. `base_dir` is where a `file:` or `command:` token reference
/// is resolved (the repository).
///
/// # Errors
///
/// - [`Error::Input`] for a bad configuration, an unresolvable token, a
///   refused token (401/403), an unknown repository (404), or a redirect
///   or pagination link to another host;
/// - [`Error::Environment`] when the forge cannot be reached or keeps
///   failing (after retries), or answers something unexpected.
pub fn open_pull_requests(
    config: &ForgeConfig,
    release: &ReleaseSelector,
    base_dir: &Path,
) -> Result<Vec<PullRequest>> {
    open_pull_requests_with(config, release, base_dir, BACKOFF)
}

fn open_pull_requests_with(
    config: &ForgeConfig,
    release: &ReleaseSelector,
    base_dir: &Path,
    backoff: Duration,
) -> Result<Vec<PullRequest>> {
    config.validate()?;
    let token = match &config.token {
        Some(reference) => Some(credentials::resolve(reference, base_dir)?),
        None => None,
    };
    let client = Client::new(config, token, backoff)?;
    let mut all = match config.kind {
        ForgeKind::Github => client.github()?,
        ForgeKind::Gitlab => client.gitlab()?,
    };
    all.retain(|pr| release.matches(pr));
    all.sort_by_key(|pr| pr.number);
    all.dedup_by_key(|pr| pr.number);
    Ok(all)
}

/// Local branches matching any of `patterns` (globs such as `feature/*`,
/// where `*` also matches `/` as in `git branch --list`) whose tip is not
/// merged into `target` (a branch, tag or commit), sorted. An empty
/// `patterns` matches no branch.
///
/// # Errors
///
/// Returns an [`Error::Input`] for an invalid pattern or an unknown
/// `target`, and an [`Error::Environment`] when git fails.
pub fn unmerged_branches(
    repo_root: &Path,
    patterns: &[String],
    target: &str,
) -> Result<Vec<String>> {
    if patterns.is_empty() {
        return Ok(Vec::new());
    }
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in patterns {
        let glob = globset::Glob::new(pattern)
            .map_err(|e| Error::input(format!("invalid branch pattern `{pattern}`: {e}")))?;
        builder.add(glob);
    }
    let set = builder
        .build()
        .map_err(|e| Error::input(format!("invalid branch patterns: {e}")))?;
    if target.is_empty() || target.starts_with('-') {
        return Err(Error::input(format!(
            "`{target}` is not a revision to compare branches with"
        )));
    }
    if git_cli::run(
        repo_root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{target}^{{commit}}"),
        ],
    )
    .is_err()
    {
        return Err(Error::input(format!(
            "`{target}` is not a commit in {}: cannot tell which branches are merged",
            repo_root.display()
        )));
    }
    let out = git_cli::run(
        repo_root,
        &[
            "for-each-ref",
            &format!("--no-merged={target}"),
            "--format=%(refname)",
            "refs/heads/",
            "refs/remotes/",
        ],
    )?;
    // A remote-tracking branch `origin/fix/x` is pending work like a local
    // `fix/x`: the patterns match the name after the remote's.
    let mut branches: Vec<String> = out
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            if let Some(local) = line.strip_prefix("refs/heads/") {
                return set.is_match(local).then(|| local.to_owned());
            }
            let remote = line.strip_prefix("refs/remotes/")?;
            let (_, name) = remote.split_once('/')?;
            (name != "HEAD" && set.is_match(name)).then(|| remote.to_owned())
        })
        .collect();
    branches.sort();
    branches.dedup();
    Ok(branches)
}

// ------------------------------------------------------------------ HTTP

/// Scheme, host and port: where the token may be sent.
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    fn parse(url: &str) -> Option<Origin> {
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
    fn of_api(api: &str) -> Result<Origin> {
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

    fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// One answer, read in full.
struct Answer {
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
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    }
}

struct Client<'a> {
    config: &'a ForgeConfig,
    api: String,
    origin: Origin,
    agent: ureq::Agent,
    token: Option<Secret>,
    retry: Retry,
}

impl<'a> Client<'a> {
    fn new(config: &'a ForgeConfig, token: Option<Secret>, backoff: Duration) -> Result<Self> {
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

    fn github(&self) -> Result<Vec<PullRequest>> {
        #[derive(Deserialize)]
        struct Pull {
            number: u64,
            title: String,
            html_url: String,
            base: Base,
            milestone: Option<Milestone>,
        }
        #[derive(Deserialize)]
        struct Base {
            #[serde(rename = "ref")]
            name: String,
        }
        let first = format!(
            "{}/repos/{}/pulls?state=open&per_page=100",
            self.api,
            self.config.repository.trim()
        );
        let pages: Vec<Vec<Pull>> = self.pages(&first, |_| None)?;
        Ok(pages
            .into_iter()
            .flatten()
            .map(|p| PullRequest {
                number: p.number,
                title: p.title,
                url: p.html_url,
                base: p.base.name,
                milestone: p.milestone.map(|m| m.title),
            })
            .collect())
    }

    fn gitlab(&self) -> Result<Vec<PullRequest>> {
        #[derive(Deserialize)]
        struct Merge {
            iid: u64,
            title: String,
            web_url: String,
            target_branch: String,
            milestone: Option<Milestone>,
        }
        let first = format!(
            "{}/projects/{}/merge_requests?state=opened&per_page=100",
            self.api,
            encode_component(self.config.repository.trim())
        );
        let pages: Vec<Vec<Merge>> = self.pages(&first, |answer| {
            // Offset pagination: the next page's number, empty on the last.
            let next = answer.header("x-next-page").filter(|n| !n.is_empty())?;
            let next: u64 = next.parse().ok()?;
            Some(format!("{first}&page={next}"))
        })?;
        Ok(pages
            .into_iter()
            .flatten()
            .map(|m| PullRequest {
                number: m.iid,
                title: m.title,
                url: m.web_url,
                base: m.target_branch,
                milestone: m.milestone.map(|m| m.title),
            })
            .collect())
    }

    /// Every page from `first` on, each decoded as `T`: the next page is
    /// the `Link: rel="next"` URL, else what `fallback_next` makes of the
    /// answer.
    fn pages<T: serde::de::DeserializeOwned>(
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
struct Milestone {
    title: String,
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
fn forge_message(body: &str) -> Option<String> {
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
fn next_link(header: &str) -> Option<String> {
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

/// Percent-encodes everything but unreserved characters, so that
/// `group/project` becomes one path segment, `group%2Fproject`.
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex};

    const TOKEN: &str = "ghp_PlantedForgeToken0123456789abcdef";

    // ---------------------------------------------------------- server

    /// A request as the test server saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        method: String,
        target: String,
        headers: Vec<(String, String)>,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    enum Reply {
        /// Status, extra headers, JSON body.
        Answer(u16, Vec<(String, String)>, String),
        /// Close the connection without answering.
        Hang,
    }

    fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Answer(status, Vec::new(), body.to_string())
    }

    struct Server {
        base: String,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Server {
        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().unwrap().clone()
        }
    }

    /// A real HTTP/1.1 server on loopback, answering each request with
    /// `handler(base_url, request index, request)` on its own thread.
    fn serve(handler: impl Fn(&str, usize, &Seen) -> Reply + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (thread_base, thread_seen) = (base.clone(), Arc::clone(&seen));
        std::thread::spawn(move || {
            for (index, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { continue };
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_owned();
                let target = parts.next().unwrap_or("").to_owned();
                let mut headers = Vec::new();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 {
                        break;
                    }
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = header.split_once(':') {
                        headers.push((k.trim().to_owned(), v.trim().to_owned()));
                    }
                }
                let request = Seen {
                    method,
                    target,
                    headers,
                };
                thread_seen.lock().unwrap().push(request.clone());
                let mut stream = reader.into_inner();
                match handler(&thread_base, index, &request) {
                    Reply::Hang => drop(stream),
                    Reply::Answer(status, extra, body) => {
                        let mut head = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                            body.len()
                        );
                        for (k, v) in extra {
                            head.push_str(&format!("{k}: {v}\r\n"));
                        }
                        head.push_str("\r\n");
                        let _ = stream.write_all(head.as_bytes());
                        let _ = stream.write_all(body.as_bytes());
                        let _ = stream.flush();
                    }
                }
            }
        });
        Server { base, seen }
    }

    fn github_pull(number: u64, base: &str, milestone: Option<&str>) -> serde_json::Value {
        serde_json::json!({
            "number": number,
            "title": format!("pull {number}"),
            "html_url": format!("https://github.com/acme/app/pull/{number}"),
            "state": "open",
            "draft": false,
            "base": { "ref": base, "sha": "abc" },
            "head": { "ref": "feature/x" },
            "milestone": milestone.map(|t| serde_json::json!({ "title": t, "number": 3 })),
        })
    }

    fn gitlab_merge(iid: u64, target: &str, milestone: Option<&str>) -> serde_json::Value {
        serde_json::json!({
            "id": 9000 + iid,
            "iid": iid,
            "title": format!("merge {iid}"),
            "web_url": format!("https://gitlab.com/acme/sub/app/-/merge_requests/{iid}"),
            "state": "opened",
            "target_branch": target,
            "source_branch": "feature/y",
            "milestone": milestone.map(|t| serde_json::json!({ "title": t, "iid": 1 })),
        })
    }

    /// A temporary directory holding a `chmod 600` token file.
    fn token_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        dir
    }

    fn config(kind: ForgeKind, server: &Server, repository: &str) -> ForgeConfig {
        ForgeConfig {
            kind,
            api_url: Some(format!("{}/api/", server.base)),
            repository: repository.to_owned(),
            token: Some("file:token".to_owned()),
        }
    }

    fn release() -> ReleaseSelector {
        ReleaseSelector {
            version: "1.3.0".to_owned(),
            tag_prefix: "v".to_owned(),
            branches: vec!["release/v1.3.0-rc.1".to_owned()],
        }
    }

    fn fetch(config: &ForgeConfig, dir: &Path) -> Result<Vec<PullRequest>> {
        open_pull_requests_with(config, &release(), dir, Duration::from_millis(5))
    }

    // ---------------------------------------------------------- GitHub

    #[test]
    fn github_lists_release_pulls_across_pages_with_the_token() {
        let server = serve(|base, _, seen| {
            if seen.target.contains("page=2") {
                json(
                    200,
                    serde_json::json!([
                        github_pull(7, "main", Some("v1.3.0")),
                        github_pull(8, "main", Some("1.4.0")),
                    ]),
                )
            } else {
                Reply::Answer(
                    200,
                    vec![(
                        "Link".to_owned(),
                        format!(
                            "<{base}/api/repositories/1/pulls?state=open&per_page=100&page=2>; rel=\"next\", <{base}/api/repositories/1/pulls?state=open&per_page=100&page=2>; rel=\"last\""
                        ),
                    )],
                    serde_json::json!([
                        github_pull(12, "release/v1.3.0-rc.1", None),
                        github_pull(11, "main", None),
                        github_pull(5, "main", Some("1.3.0")),
                    ])
                    .to_string(),
                )
            }
        });
        let dir = token_dir();
        let pulls = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap();
        let numbers: Vec<u64> = pulls.iter().map(|p| p.number).collect();
        assert_eq!(numbers, [5, 7, 12]);
        assert_eq!(
            pulls[2],
            PullRequest {
                number: 12,
                title: "pull 12".to_owned(),
                url: "https://github.com/acme/app/pull/12".to_owned(),
                base: "release/v1.3.0-rc.1".to_owned(),
                milestone: None,
            }
        );
        assert_eq!(pulls[1].milestone.as_deref(), Some("v1.3.0"));

        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].method, "GET");
        assert_eq!(
            seen[0].target,
            "/api/repos/acme/app/pulls?state=open&per_page=100"
        );
        assert_eq!(
            seen[1].target,
            "/api/repositories/1/pulls?state=open&per_page=100&page=2"
        );
        for request in &seen {
            assert_eq!(
                request.header("authorization"),
                Some(format!("Bearer {TOKEN}").as_str())
            );
            assert_eq!(
                request.header("accept"),
                Some("application/vnd.github+json")
            );
            assert!(
                request
                    .header("user-agent")
                    .unwrap()
                    .starts_with("trainyard")
            );
            assert_eq!(request.header("private-token"), None);
        }
    }

    #[test]
    fn github_without_a_token_sends_no_authorization() {
        let server = serve(|_, _, _| json(200, serde_json::json!([])));
        let mut config = config(ForgeKind::Github, &server, "acme/app");
        config.token = None;
        let pulls = fetch(&config, Path::new("/nonexistent")).unwrap();
        assert!(pulls.is_empty());
        assert_eq!(server.seen()[0].header("authorization"), None);
    }

    #[test]
    fn retries_after_a_500_then_succeeds() {
        let server = serve(|_, index, _| {
            if index == 0 {
                json(500, serde_json::json!({ "message": "boom" }))
            } else {
                json(
                    200,
                    serde_json::json!([github_pull(1, "release/v1.3.0-rc.1", None)]),
                )
            }
        });
        let dir = token_dir();
        let pulls = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap();
        assert_eq!(pulls.len(), 1);
        assert_eq!(server.seen().len(), 2);
    }

    #[test]
    fn retries_after_a_dropped_connection() {
        let server = serve(|_, index, _| {
            if index == 0 {
                Reply::Hang
            } else {
                json(200, serde_json::json!([]))
            }
        });
        let dir = token_dir();
        let pulls = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap();
        assert!(pulls.is_empty());
        assert_eq!(server.seen().len(), 2);
    }

    #[test]
    fn persistent_500_is_an_environment_error_after_three_attempts() {
        let server = serve(|_, _, _| {
            json(
                503,
                serde_json::json!({ "message": "down for maintenance" }),
            )
        });
        let dir = token_dir();
        let err = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Environment);
        assert_eq!(
            err.to_string(),
            format!(
                "forge GET {}/api/repos/acme/app/pulls?state=open&per_page=100 answered HTTP 503 after 3 attempts: down for maintenance",
                server.base
            )
        );
        assert_eq!(server.seen().len(), 3);
    }

    #[test]
    fn refused_token_is_an_input_error_naming_the_reference() {
        let server =
            serve(|_, _, _| json(401, serde_json::json!({ "message": "Bad credentials" })));
        let dir = token_dir();
        let err = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert_eq!(
            err.to_string(),
            format!(
                "forge {}/api refused the token (401): check the token reference file:token",
                server.base
            )
        );
        // Not retried.
        assert_eq!(server.seen().len(), 1);
    }

    #[test]
    fn missing_token_on_401_says_to_configure_one() {
        let server = serve(|_, _, _| {
            json(
                401,
                serde_json::json!({ "message": "Requires authentication" }),
            )
        });
        let mut config = config(ForgeKind::Github, &server, "acme/app");
        config.token = None;
        let err = fetch(&config, Path::new(".")).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert_eq!(
            err.to_string(),
            format!(
                "forge {}/api requires a token (401): set checklist.forge.token to a credential reference such as env:GITHUB_TOKEN",
                server.base
            )
        );
    }

    #[test]
    fn unknown_repository_is_an_input_error() {
        let server = serve(|_, _, _| json(404, serde_json::json!({ "message": "Not Found" })));
        let dir = token_dir();
        let err = fetch(&config(ForgeKind::Github, &server, "acme/gone"), dir.path()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert_eq!(
            err.to_string(),
            format!(
                "forge {}/api: repository acme/gone not found (404): check checklist.forge.repository and that the token can read it",
                server.base
            )
        );
    }

    #[test]
    fn rate_limit_is_an_environment_error() {
        let server = serve(|_, _, _| {
            Reply::Answer(
                403,
                vec![
                    ("X-RateLimit-Remaining".to_owned(), "0".to_owned()),
                    ("X-RateLimit-Reset".to_owned(), "1700000000".to_owned()),
                ],
                serde_json::json!({ "message": "API rate limit exceeded" }).to_string(),
            )
        });
        let dir = token_dir();
        let err = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Environment);
        assert_eq!(
            err.to_string(),
            format!(
                "forge {}/api rate limit exceeded (403) (resets at unix time 1700000000)",
                server.base
            )
        );
    }

    #[test]
    fn other_statuses_are_environment_errors_with_the_forge_message() {
        let server =
            serve(|_, _, _| json(422, serde_json::json!({ "message": "Validation Failed" })));
        let dir = token_dir();
        let err = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Environment);
        assert_eq!(
            err.to_string(),
            format!(
                "forge GET {}/api/repos/acme/app/pulls?state=open&per_page=100 answered HTTP 422: Validation Failed",
                server.base
            )
        );
    }

    #[test]
    fn malformed_json_is_an_environment_error() {
        let server = serve(|_, _, _| json(200, serde_json::json!({ "not": "a list" })));
        let dir = token_dir();
        let err = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Environment);
        assert!(
            err.to_string().starts_with(&format!(
                "forge GET {}/api/repos/acme/app/pulls?state=open&per_page=100 answered JSON trainyard does not understand: ",
                server.base
            )),
            "{err}"
        );
    }

    #[test]
    fn follows_same_origin_redirects_with_the_token() {
        let server = serve(|base, _, seen| {
            if seen.target.starts_with("/api/repos/") {
                Reply::Answer(
                    301,
                    vec![(
                        "Location".to_owned(),
                        format!("{base}/api/repositories/42/pulls?state=open&per_page=100"),
                    )],
                    "{}".to_owned(),
                )
            } else {
                json(
                    200,
                    serde_json::json!([github_pull(3, "release/v1.3.0-rc.1", None)]),
                )
            }
        });
        let dir = token_dir();
        let pulls = fetch(
            &config(ForgeKind::Github, &server, "acme/renamed"),
            dir.path(),
        )
        .unwrap();
        assert_eq!(pulls.len(), 1);
        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(
            seen[1].header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }

    #[test]
    fn links_and_redirects_to_another_host_are_refused() {
        let elsewhere = serve(|_, _, _| json(200, serde_json::json!([])));
        let target = format!(
            "{}/steal?page=2",
            elsewhere.base.replace("127.0.0.1", "localhost")
        );
        let link_target = target.clone();
        let server = serve(move |_, _, _| {
            Reply::Answer(
                200,
                vec![("Link".to_owned(), format!("<{link_target}>; rel=\"next\""))],
                "[]".to_owned(),
            )
        });
        let dir = token_dir();
        let err = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert_eq!(
            err.to_string(),
            format!(
                "forge {0}/api sent a pagination link to {target}, outside {0}/api: refusing to send the token there (set checklist.forge.api_url to the forge's API)",
                server.base
            )
        );

        let redirect_target = target.clone();
        let server = serve(move |_, _, _| {
            Reply::Answer(
                302,
                vec![("Location".to_owned(), redirect_target.clone())],
                "{}".to_owned(),
            )
        });
        let err = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap_err();
        assert!(err.to_string().contains("sent a redirect to"), "{err}");
        assert!(elsewhere.seen().is_empty(), "the other host was asked");
    }

    /// Every error of the forge path, formatted, holds no token, even when
    /// the forge echoes it.
    #[test]
    fn the_token_never_appears_in_any_error() {
        let statuses = [401u16, 403, 404, 418, 422, 429, 500];
        let server = serve(|_, _, seen| {
            let status: u16 = seen
                .target
                .split("status=")
                .nth(1)
                .and_then(|s| s.split('&').next())
                .and_then(|s| s.parse().ok())
                .unwrap_or(200);
            json(
                status,
                serde_json::json!({ "message": format!("token {TOKEN} is no good") }),
            )
        });
        let dir = token_dir();
        for status in statuses {
            for kind in [ForgeKind::Github, ForgeKind::Gitlab] {
                let mut config = config(kind, &server, "acme/app");
                config.api_url = Some(format!("{}/status={status}&", server.base));
                let err = fetch(&config, dir.path()).unwrap_err();
                let shown = format!("{err} {err:?}");
                assert!(!shown.contains(TOKEN), "{status}: {shown}");
                assert!(!shown.contains("PlantedForgeToken"), "{status}: {shown}");
            }
        }
        // And in the credential and configuration errors on the way there.
        let mut config = config(ForgeKind::Github, &server, "acme/app");
        config.token = Some(TOKEN.to_owned());
        let err = fetch(&config, dir.path()).unwrap_err();
        assert!(!format!("{err} {err:?}").contains(TOKEN), "{err}");
    }

    // ---------------------------------------------------------- GitLab

    #[test]
    fn gitlab_lists_release_merge_requests_with_x_next_page() {
        let server = serve(|_, _, seen| {
            if seen.target.ends_with("&page=2") {
                Reply::Answer(
                    200,
                    vec![("X-Next-Page".to_owned(), String::new())],
                    serde_json::json!([gitlab_merge(4, "main", Some("v1.3.0"))]).to_string(),
                )
            } else {
                Reply::Answer(
                    200,
                    vec![
                        ("X-Next-Page".to_owned(), "2".to_owned()),
                        ("X-Page".to_owned(), "1".to_owned()),
                    ],
                    serde_json::json!([
                        gitlab_merge(9, "release/v1.3.0-rc.1", None),
                        gitlab_merge(8, "main", Some("1.2.0")),
                    ])
                    .to_string(),
                )
            }
        });
        let dir = token_dir();
        let pulls = fetch(
            &config(ForgeKind::Gitlab, &server, "acme/sub/app"),
            dir.path(),
        )
        .unwrap();
        assert_eq!(
            pulls,
            [
                PullRequest {
                    number: 4,
                    title: "merge 4".to_owned(),
                    url: "https://gitlab.com/acme/sub/app/-/merge_requests/4".to_owned(),
                    base: "main".to_owned(),
                    milestone: Some("v1.3.0".to_owned()),
                },
                PullRequest {
                    number: 9,
                    title: "merge 9".to_owned(),
                    url: "https://gitlab.com/acme/sub/app/-/merge_requests/9".to_owned(),
                    base: "release/v1.3.0-rc.1".to_owned(),
                    milestone: None,
                },
            ]
        );
        let seen = server.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(
            seen[0].target,
            "/api/projects/acme%2Fsub%2Fapp/merge_requests?state=opened&per_page=100"
        );
        assert_eq!(
            seen[1].target,
            "/api/projects/acme%2Fsub%2Fapp/merge_requests?state=opened&per_page=100&page=2"
        );
        for request in &seen {
            assert_eq!(request.header("private-token"), Some(TOKEN));
            assert_eq!(request.header("authorization"), None);
        }
    }

    #[test]
    fn gitlab_follows_link_headers_and_numeric_ids() {
        let server = serve(|base, _, seen| {
            if seen.target.contains("id_after") {
                json(
                    200,
                    serde_json::json!([gitlab_merge(2, "release/v1.3.0-rc.1", None)]),
                )
            } else {
                Reply::Answer(
                    200,
                    vec![(
                        "Link".to_owned(),
                        format!("<{base}/api/projects/77/merge_requests?id_after=5>; rel=\"next\""),
                    )],
                    serde_json::json!([gitlab_merge(1, "release/v1.3.0-rc.1", None)]).to_string(),
                )
            }
        });
        let dir = token_dir();
        let pulls = fetch(&config(ForgeKind::Gitlab, &server, "77"), dir.path()).unwrap();
        assert_eq!(pulls.iter().map(|p| p.number).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(
            server.seen()[0].target,
            "/api/projects/77/merge_requests?state=opened&per_page=100"
        );
    }

    #[test]
    fn gitlab_refused_token_names_the_reference() {
        let server = serve(|_, _, _| json(403, serde_json::json!({ "message": "403 Forbidden" })));
        let dir = token_dir();
        let err = fetch(&config(ForgeKind::Gitlab, &server, "acme/app"), dir.path()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert_eq!(
            err.to_string(),
            format!(
                "forge {}/api refused the token (403): check the token reference file:token",
                server.base
            )
        );
    }

    // ---------------------------------------------------------- config

    #[test]
    fn config_defaults_and_validation() {
        let mut config = ForgeConfig {
            kind: ForgeKind::Github,
            api_url: None,
            repository: "acme/app".to_owned(),
            token: Some("env:GITHUB_TOKEN".to_owned()),
        };
        assert_eq!(config.api_base(), "https://api.github.com");
        config.validate().unwrap();
        config.kind = ForgeKind::Gitlab;
        assert_eq!(config.api_base(), "https://gitlab.com/api/v4");
        config.validate().unwrap();

        let cases: Vec<(ForgeConfig, &str)> = vec![
            (
                ForgeConfig {
                    kind: ForgeKind::Github,
                    repository: "acme".into(),
                    ..config.clone()
                },
                "checklist.forge.repository `acme` is not a GitHub repository: write owner/name",
            ),
            (
                ForgeConfig {
                    kind: ForgeKind::Github,
                    repository: "a/b/c".into(),
                    ..config.clone()
                },
                "checklist.forge.repository `a/b/c` is not a GitHub repository: write owner/name",
            ),
            (
                ForgeConfig {
                    kind: ForgeKind::Gitlab,
                    repository: "app".into(),
                    ..config.clone()
                },
                "checklist.forge.repository `app` is not a GitLab project: write its path (group/project) or numeric id",
            ),
            (
                ForgeConfig {
                    api_url: Some("http://github.example.com/api/v3".into()),
                    ..config.clone()
                },
                "checklist.forge.api_url `http://github.example.com/api/v3` must use https (plain http only for localhost)",
            ),
            (
                ForgeConfig {
                    api_url: Some("github.example.com".into()),
                    ..config.clone()
                },
                "checklist.forge.api_url `github.example.com` is not a URL (e.g. https://github.example.com/api/v3)",
            ),
            (
                ForgeConfig {
                    token: Some("ghp_abcdef".into()),
                    ..config.clone()
                },
                "checklist.forge.token: credential references must be env:, file: or command:, never the secret itself",
            ),
        ];
        for (config, message) in cases {
            let err = config.validate().unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Input);
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn config_deserialises_strictly() {
        let config: ForgeConfig = serde_json::from_value(serde_json::json!({
            "kind": "gitlab",
            "repository": "group/project",
            "token": "env:GITLAB_TOKEN",
        }))
        .unwrap();
        assert_eq!(config.kind, ForgeKind::Gitlab);
        assert_eq!(config.api_url, None);
        let err = serde_json::from_value::<ForgeConfig>(serde_json::json!({
            "kind": "github",
            "repository": "a/b",
            "tokn": "env:X",
        }))
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `tokn`"), "{err}");
        assert!(
            serde_json::from_value::<ForgeConfig>(serde_json::json!({
                "kind": "bitbucket",
                "repository": "a/b",
            }))
            .is_err()
        );
    }

    #[test]
    fn selector_matches_branches_globs_and_milestones() {
        let pr = |base: &str, milestone: Option<&str>| PullRequest {
            number: 1,
            title: String::new(),
            url: String::new(),
            base: base.to_owned(),
            milestone: milestone.map(str::to_owned),
        };
        let mut selector = release();
        assert!(selector.matches(&pr("release/v1.3.0-rc.1", None)));
        assert!(!selector.matches(&pr("release/v1.3.0-rc.2", None)));
        assert!(selector.matches(&pr("main", Some("1.3.0"))));
        assert!(selector.matches(&pr("main", Some("v1.3.0"))));
        assert!(!selector.matches(&pr("main", Some("v1.3.0.1"))));
        assert!(!selector.matches(&pr("main", Some("1.3"))));
        assert!(!selector.matches(&pr("main", None)));
        selector.branches = vec!["release/v1.3.0-rc.*".to_owned()];
        assert!(selector.matches(&pr("release/v1.3.0-rc.2", None)));
        assert!(!selector.matches(&pr("release/v1.4.0-rc.1", None)));
        selector.tag_prefix = String::new();
        assert!(!selector.matches(&pr("main", Some("v1.3.0"))));
    }

    #[test]
    fn link_header_parsing() {
        assert_eq!(
            next_link("<https://x/a?page=2>; rel=\"next\", <https://x/a?page=5>; rel=\"last\""),
            Some("https://x/a?page=2".to_owned())
        );
        assert_eq!(
            next_link(
                "<https://x/a?page=1>; rel=\"prev\", <https://x/a?page=3>; rel=\"next last\""
            ),
            Some("https://x/a?page=3".to_owned())
        );
        assert_eq!(next_link("<https://x/a?page=1>; rel=\"first\""), None);
        assert_eq!(
            encode_component("group/sub project"),
            "group%2Fsub%20project"
        );
    }

    // ---------------------------------------------------------- git

    use crate::test_git::git;

    fn repo_with_branches() -> (tempfile::TempDir, PathBuf) {
        let home = tempfile::tempdir().unwrap();
        let repo = home.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        git(&repo, home.path(), &["init", "--quiet"]);
        git(
            &repo,
            home.path(),
            &["commit", "--quiet", "--allow-empty", "-m", "initial"],
        );
        for (branch, merged) in [
            ("feature/done", true),
            ("feature/open", false),
            ("feature/deep/nested", false),
            ("fix/bug", false),
            ("experiment", false),
        ] {
            git(
                &repo,
                home.path(),
                &["checkout", "--quiet", "-b", branch, "main"],
            );
            git(
                &repo,
                home.path(),
                &["commit", "--quiet", "--allow-empty", "-m", branch],
            );
            git(&repo, home.path(), &["checkout", "--quiet", "main"]);
            if merged {
                git(
                    &repo,
                    home.path(),
                    &["merge", "--quiet", "--no-ff", "-m", "merge", branch],
                );
            }
        }
        (home, repo)
    }

    #[test]
    fn unmerged_branches_lists_matching_branches_not_merged() {
        let (home, repo) = repo_with_branches();
        let patterns = vec!["feature/*".to_owned(), "fix/*".to_owned()];
        let branches = unmerged_branches(&repo, &patterns, "main").unwrap();
        assert_eq!(branches, ["feature/deep/nested", "feature/open", "fix/bug"]);

        // Against a commit id; after merging, the branch is gone from the list.
        git(
            &repo,
            home.path(),
            &["merge", "--quiet", "--no-ff", "-m", "merge", "fix/bug"],
        );
        let head = git(&repo, home.path(), &["rev-parse", "HEAD"]);
        let branches = unmerged_branches(&repo, &patterns, &head).unwrap();
        assert_eq!(branches, ["feature/deep/nested", "feature/open"]);

        assert!(unmerged_branches(&repo, &[], "main").unwrap().is_empty());
    }

    #[test]
    fn unmerged_branches_include_remote_tracking_ones() {
        let (home, repo) = repo_with_branches();
        // A clone's view: branches of `origin` that were never checked out
        // here, one merged, two not, and the remote's HEAD.
        let bare = home.path().join("origin.git");
        git(
            &repo,
            home.path(),
            &[
                "clone",
                "--quiet",
                "--bare",
                repo.to_str().unwrap(),
                bare.to_str().unwrap(),
            ],
        );
        let clone = home.path().join("clone");
        git(
            &repo,
            home.path(),
            &[
                "clone",
                "--quiet",
                bare.to_str().unwrap(),
                clone.to_str().unwrap(),
            ],
        );
        let branches = unmerged_branches(&clone, &["fix/*".to_owned()], "main").unwrap();
        assert_eq!(branches, ["origin/fix/bug"]);
        let all = ["feature/*".to_owned(), "fix/*".to_owned()];
        let branches = unmerged_branches(&clone, &all, "main").unwrap();
        assert_eq!(
            branches,
            [
                "origin/feature/deep/nested",
                "origin/feature/open",
                "origin/fix/bug"
            ]
        );
    }

    #[test]
    fn unmerged_branches_errors() {
        let (_home, repo) = repo_with_branches();
        let err = unmerged_branches(&repo, &["feature/*".to_owned()], "nope").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert_eq!(
            err.to_string(),
            format!(
                "`nope` is not a commit in {}: cannot tell which branches are merged",
                repo.display()
            )
        );
        let err = unmerged_branches(&repo, &["feature/*".to_owned()], "--all").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`--all` is not a revision to compare branches with"
        );
        let err = unmerged_branches(&repo, &["feature/[".to_owned()], "main").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert!(
            err.to_string()
                .starts_with("invalid branch pattern `feature/[`: "),
            "{err}"
        );
    }
}
