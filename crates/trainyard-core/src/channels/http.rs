//! The `http` channel: `PUT {url}/{version}/{file}` for each artifact,
//! then reads it back and compares the SHA-256.

use std::fs::File;

use serde::{Deserialize, Serialize};

use super::{PublishRelease, check_unchanged, is_false, short, version_segment};
use crate::artifacts::{self, Artifact};
use crate::http::{Response, drain};
use crate::{Error, Result};

/// `type: http`: `PUT {url}/{version}/{file}` for each artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpChannel {
    /// The channel's name, unique among the channels.
    pub name: String,
    /// The base URL (`http://` or `https://`).
    pub url: String,
    /// A credential reference, resolved by the caller into the token sent
    /// as `Authorization: Bearer <token>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// Replace an artifact that is already there with different content.
    #[serde(default, skip_serializing_if = "is_false")]
    pub overwrite: bool,
}

/// What [`publish`] would do, one step a line, touching nothing.
pub(super) fn plan(channel: &HttpChannel, release: &PublishRelease) -> Vec<String> {
    let otherwise = if channel.overwrite {
        "replaced if different"
    } else {
        "refused if different"
    };
    let auth = if channel.credentials.is_some() {
        " with a bearer token"
    } else {
        ""
    };
    release
        .artifacts
        .iter()
        .map(|a| {
            format!(
                "PUT {} ({} bytes, sha256 {}){auth}, then read back and compare: kept if already identical, {otherwise}",
                artifact_url(&channel.url, &release.version, &a.name),
                a.size,
                short(&a.sha256)
            )
        })
        .collect()
}

/// `{base}/{version}/{file}`, each segment percent-encoded.
pub(super) fn artifact_url(base: &str, version: &str, file: &str) -> String {
    format!(
        "{}/{}/{}",
        base.trim_end_matches('/'),
        encode_segment(version),
        encode_segment(file)
    )
}

pub(super) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What is at an artifact's URL.
enum Remote {
    Absent,
    Same,
    Different(String),
}

/// The release channel's view of an HTTP server.
struct HttpClient {
    http: crate::http::Client,
}

impl HttpClient {
    fn auth<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        self.http.auth(request)
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        request: impl FnMut() -> std::result::Result<Response, ureq::Error>,
    ) -> Result<Response> {
        self.http.send(method, url, request)
    }

    fn unexpected(&self, method: &str, url: &str, response: &Response) -> Error {
        self.http.unexpected(method, url, response)
    }

    fn remote(&self, url: &str, artifact: &Artifact) -> Result<Remote> {
        let response = self.send("HEAD", url, || self.auth(self.http.agent.head(url)).call())?;
        match response.status().as_u16() {
            404 | 410 => return Ok(Remote::Absent),
            200..=299 => {
                let length = response
                    .headers()
                    .get("content-length")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                if let Some(length) = length
                    && length != artifact.size
                {
                    return Ok(Remote::Different(format!(
                        "{length} bytes, the release's is {}",
                        artifact.size
                    )));
                }
            }
            // Some servers do not answer HEAD; GET decides.
            405 | 501 => {}
            _ => return Err(self.unexpected("HEAD", url, &response)),
        }
        match self.remote_sha256(url)? {
            None => Ok(Remote::Absent),
            Some(sha) if sha == artifact.sha256 => Ok(Remote::Same),
            Some(sha) => Ok(Remote::Different(format!(
                "sha256 {}, the release's is {}",
                short(&sha),
                short(&artifact.sha256)
            ))),
        }
    }

    /// The SHA-256 of what a GET of `url` returns, None on 404/410.
    fn remote_sha256(&self, url: &str) -> Result<Option<String>> {
        let mut response = self.send("GET", url, || self.auth(self.http.agent.get(url)).call())?;
        match response.status().as_u16() {
            404 | 410 => Ok(None),
            200..=299 => {
                let mut reader = response.body_mut().as_reader();
                let (_, sha) = artifacts::hash_reader(&mut reader).map_err(|e| {
                    Error::environment(format!("{}: cannot read GET {url}: {e}", self.http.label()))
                })?;
                Ok(Some(sha))
            }
            _ => Err(self.unexpected("GET", url, &response)),
        }
    }

    fn put(&self, url: &str, artifact: &Artifact) -> Result<()> {
        let mut response = self.send("PUT", url, || {
            let file = File::open(&artifact.path).map_err(ureq::Error::Io)?;
            self.auth(self.http.agent.put(url))
                .header("Content-Type", "application/octet-stream")
                .send(file)
        })?;
        if !response.status().is_success() {
            return Err(self.unexpected("PUT", url, &response));
        }
        drain(&mut response);
        Ok(())
    }
}

/// Uploads each artifact that is not already there and checks what the
/// server then serves, refusing (before uploading anything) artifacts that
/// differ.
pub(super) fn publish(channel: &HttpChannel, release: &PublishRelease) -> Result<Vec<String>> {
    version_segment(&channel.name, &release.version)?;
    let client = HttpClient {
        http: crate::http::Client::new(
            format!("channel `{}`", channel.name),
            &channel.url,
            release.token.as_deref(),
        ),
    };

    // First look at everything, so a refusal uploads nothing.
    let mut states = Vec::with_capacity(release.artifacts.len());
    let mut conflicts = Vec::new();
    for artifact in &release.artifacts {
        let (_, sha) = artifacts::hash_file(&artifact.path)?;
        check_unchanged(&channel.name, artifact, &sha)?;
        let url = artifact_url(&channel.url, &release.version, &artifact.name);
        let state = client.remote(&url, artifact)?;
        if let Remote::Different(how) = &state
            && !channel.overwrite
        {
            conflicts.push(format!("{url} ({how})"));
        }
        states.push((url, state));
    }
    if !conflicts.is_empty() {
        return Err(Error::input(format!(
            "channel `{}`: already published with different content: {}; nothing was uploaded (set overwrite: true to replace)",
            channel.name,
            conflicts.join(", ")
        )));
    }
    let mut items = Vec::with_capacity(states.len());
    for (artifact, (url, state)) in release.artifacts.iter().zip(states) {
        let note = match state {
            Remote::Same => {
                items.push(format!("{} -> {url} (already there)", artifact.name));
                continue;
            }
            Remote::Absent => "",
            Remote::Different(_) => " (replaced)",
        };
        client.put(&url, artifact)?;
        match client.remote_sha256(&url)? {
            Some(sha) if sha == artifact.sha256 => {}
            other => {
                return Err(Error::environment(format!(
                    "channel `{}`: after uploading, {url} has {} instead of sha256 {}",
                    channel.name,
                    other.map_or_else(|| "nothing".to_owned(), |s| format!("sha256 {s}")),
                    artifact.sha256
                )));
            }
        }
        items.push(format!("{} -> {url}{note}", artifact.name));
    }
    Ok(items)
}
