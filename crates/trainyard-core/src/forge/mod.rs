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
//!
//! The settings and the release's pull requests live here; the HTTP side
//! (origin checks, redirects, pages, errors) in `client`, each forge's
//! listing in `github` and `gitlab`, and the fallback in `branches`.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::credentials;
use crate::{Error, Result};

mod branches;
pub(crate) mod client;
mod github;
mod gitlab;

pub use branches::unmerged_branches;
use client::{BACKOFF, Client, Origin};

/// GitHub's API when `api_url` is not set.
pub const GITHUB_API: &str = "https://api.github.com";
/// GitLab's API when `api_url` is not set.
pub const GITLAB_API: &str = "https://gitlab.com/api/v4";

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

#[cfg(test)]
mod tests;
