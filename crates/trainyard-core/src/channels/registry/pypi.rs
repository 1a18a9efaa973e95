//! The `pypi` channel.

use serde::{Deserialize, Serialize};

use super::super::{PublishRelease, WithdrawRelease, Withdrawal};
use std::path::{Path, PathBuf};

use crate::artifacts;
use std::time::Duration;

use crate::http::{Client, Retry, Transient, drain};
use crate::{Error, Result};

const DEFAULT_UPLOAD_URL: &str = "https://upload.pypi.org/legacy/";
const DEFAULT_INDEX_URL: &str = "https://pypi.org/pypi";
const UPLOAD_ATTEMPTS: u32 = 3;

/// `type: pypi`: the built sdist and wheels uploaded to a package index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PypiChannel {
    /// The channel's name, unique among the channels.
    pub name: String,
    /// The upload API; PyPI's by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_url: Option<String>,
    /// The JSON API asked whether a version is there; PyPI's by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_url: Option<String>,
    /// A credential reference for the API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// The directory of the built distributions, relative to the
    /// repository root (or the package's directory); `dist` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dist: Option<std::path::PathBuf>,
}

/// A built distribution of the release's version.
struct Dist {
    path: PathBuf,
    filename: String,
    /// The normalized project name (PEP 503).
    project: String,
    /// `sdist` or `bdist_wheel`.
    filetype: &'static str,
    /// `source`, or the wheel's python tag.
    pyversion: String,
}

fn upload_url(channel: &PypiChannel) -> &str {
    channel.upload_url.as_deref().unwrap_or(DEFAULT_UPLOAD_URL)
}

fn index_url(channel: &PypiChannel) -> &str {
    channel
        .index_url
        .as_deref()
        .unwrap_or(DEFAULT_INDEX_URL)
        .trim_end_matches('/')
}

/// The dist directory: built files, so read from the working tree (not a
/// checkout of the tag, where they are not).
fn dist_dir(channel: &PypiChannel, release: &PublishRelease) -> PathBuf {
    let base = match release.package_dirs.first() {
        Some(dir) => release.repo_root.join(dir),
        None => release.repo_root.clone(),
    };
    base.join(channel.dist.as_deref().unwrap_or(Path::new("dist")))
}

/// The sdist and wheels in the dist directory whose names carry the
/// release's version, in name order.
fn dists(channel: &PypiChannel, release: &PublishRelease) -> Result<Vec<Dist>> {
    let dir = dist_dir(channel, release);
    let entries = std::fs::read_dir(&dir).map_err(|e| {
        Error::input(format!(
            "channel `{}`: cannot read the distributions in {}: {e}",
            channel.name,
            dir.display()
        ))
    })?;
    let version = normalize_version(&release.version);
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io("read", &dir, e))?.path();
        let Some(filename) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        let parsed = if let Some(stem) = filename.strip_suffix(".tar.gz") {
            stem.rsplit_once('-')
                .map(|(name, v)| (name.to_owned(), v.to_owned(), "sdist", "source".to_owned()))
        } else if let Some(stem) = filename.strip_suffix(".whl") {
            let parts: Vec<&str> = stem.split('-').collect();
            (parts.len() >= 5).then(|| {
                (
                    parts[0].to_owned(),
                    parts[1].to_owned(),
                    "bdist_wheel",
                    parts[parts.len() - 3].to_owned(),
                )
            })
        } else {
            None
        };
        if let Some((name, v, filetype, pyversion)) = parsed
            && normalize_version(&v) == version
        {
            found.push(Dist {
                path,
                filename,
                project: normalize_name(&name),
                filetype,
                pyversion,
            });
        }
    }
    found.sort_by(|a, b| a.filename.cmp(&b.filename));
    if found.is_empty() {
        return Err(Error::input(format!(
            "channel `{}`: no sdist or wheel of version {} in {}; build them first",
            channel.name,
            release.version,
            dir.display()
        )));
    }
    Ok(found)
}

/// PEP 503: lowercase, runs of `-_.` as one `-`.
fn normalize_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// A version as PEP 440 spells it: `1.2.0-rc.1` is `1.2.0rc1`.
fn normalize_version(version: &str) -> String {
    let lower = version.to_ascii_lowercase();
    let Some((release, pre)) = lower.split_once('-') else {
        return lower;
    };
    let pre: String = pre
        .chars()
        .filter(|c| !matches!(c, '.' | '-' | '_'))
        .collect();
    let pre = [
        ("alpha", "a"),
        ("beta", "b"),
        ("c", "rc"),
        ("pre", "rc"),
        ("preview", "rc"),
    ]
    .iter()
    .find_map(|(long, short)| {
        pre.strip_prefix(long)
            .filter(|rest| rest.chars().all(|c| c.is_ascii_digit()))
            .map(|rest| format!("{short}{rest}"))
    })
    .unwrap_or(pre);
    format!("{release}{pre}")
}

/// What [`publish`] would do, one step a line, touching nothing but the
/// dist directory's listing.
pub(in crate::channels) fn plan(channel: &PypiChannel, release: &PublishRelease) -> Vec<String> {
    let url = upload_url(channel);
    match dists(channel, release) {
        Ok(dists) => dists
            .iter()
            .map(|d| match artifacts::hash_file(&d.path) {
                Ok((size, sha)) => format!(
                    "upload {} ({size} bytes, sha256 {}) to {url} unless already there",
                    d.filename,
                    super::super::short(&sha)
                ),
                Err(_) => format!("upload {} to {url} unless already there", d.filename),
            })
            .collect(),
        Err(_) => vec![format!(
            "upload the sdist and wheels of {} from {} to {url} unless already there (none built yet)",
            release.version,
            dist_dir(channel, release).display()
        )],
    }
}

/// Uploads each distribution the index does not list for the version yet.
pub(in crate::channels) fn publish(
    channel: &PypiChannel,
    release: &PublishRelease,
) -> Result<Vec<String>> {
    let dists = dists(channel, release)?;
    let secret = release.token.as_deref().map(|t| format!("__token__:{t}"));
    let label = format!("channel `{}`", channel.name);
    let upload = upload_url(channel);
    let client = Client::new(label.clone(), upload, secret.as_deref());
    let reader = Client::new(label, index_url(channel), None);
    let version = normalize_version(&release.version);
    let mut there: Vec<(String, Vec<String>)> = Vec::new();
    let mut items = Vec::with_capacity(dists.len());
    for dist in &dists {
        let files = match there.iter().find(|(p, _)| *p == dist.project) {
            Some((_, files)) => files.clone(),
            None => {
                let files = listed(&reader, index_url(channel), &dist.project, &version)?;
                there.push((dist.project.clone(), files.clone()));
                files
            }
        };
        if files.contains(&dist.filename) {
            items.push(format!(
                "{} {} already published",
                dist.filename, release.version
            ));
            continue;
        }
        let content = std::fs::read(&dist.path).map_err(|e| Error::io("read", &dist.path, e))?;
        let (size, sha) = (content.len(), hex_sha256(&content));
        let (content_type, body) = multipart(dist, &version, &sha, &content);
        // Three tries: an index refuses a file it already has, so a retry
        // after a 5xx cannot store it twice.
        let tried = Retry {
            attempts: UPLOAD_ATTEMPTS,
            pause: Duration::from_millis(250),
            transient: Transient::Connection,
        }
        .run(|| {
            client
                .auth(client.agent.post(upload))
                .header("Content-Type", &content_type)
                .send(&body[..])
        });
        let mut response = tried.outcome.map_err(|e| {
            Error::environment(format!(
                "channel `{}`: POST {upload} failed after {} attempt(s) uploading {}: {e}",
                channel.name, tried.attempts, dist.filename
            ))
        })?;
        if !response.status().is_success() {
            let error = client.unexpected("POST", upload, &response);
            return Err(match error {
                Error::Input(m) => Error::Input(format!("{m} (uploading {})", dist.filename)),
                Error::Environment(m) => {
                    Error::Environment(format!("{m} (uploading {})", dist.filename))
                }
                other => other,
            });
        }
        drain(&mut response);
        items.push(format!(
            "{} {} uploaded to {upload} ({size} bytes, sha256 {})",
            dist.filename,
            release.version,
            super::super::short(&sha)
        ));
    }
    Ok(items)
}

/// The file names the index lists for `project` at `version`; none when
/// it does not know them.
fn listed(client: &Client, index: &str, project: &str, version: &str) -> Result<Vec<String>> {
    let url = format!("{index}/{project}/{version}/json");
    let mut response = client.send("GET", &url, || client.agent.get(&url).call())?;
    match response.status().as_u16() {
        404 | 410 => Ok(Vec::new()),
        200 => {
            let body = super::read_json(client, &url, &mut response)?;
            Ok(body["urls"]
                .as_array()
                .map(|urls| {
                    urls.iter()
                        .filter_map(|u| u["filename"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default())
        }
        _ => Err(client.unexpected("GET", &url, &response)),
    }
}

/// The multipart/form-data body of the legacy upload API.
fn multipart(dist: &Dist, version: &str, sha: &str, content: &[u8]) -> (String, Vec<u8>) {
    // A boundary from the content's digest cannot occur in the content.
    let boundary = format!("trainyard-{sha}");
    let mut body = Vec::with_capacity(content.len() + 1024);
    let fields = [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("metadata_version", "2.1"),
        ("name", dist.project.as_str()),
        ("version", version),
        ("filetype", dist.filetype),
        ("pyversion", dist.pyversion.as_str()),
        ("sha256_digest", sha),
    ];
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"{}\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            dist.filename
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// What [`withdraw`] would do: the index's API cannot yank.
pub(in crate::channels) fn withdraw_plan(
    channel: &PypiChannel,
    release: &WithdrawRelease,
) -> Withdrawal {
    let project = channel_project(channel, release);
    Withdrawal {
        automatic: Vec::new(),
        manual: vec![format!(
            "yank {project} {} on the index's web page (its API offers no yank)",
            release.version
        )],
    }
}

/// The project's name as the dist directory has it, else the channel's.
fn channel_project(channel: &PypiChannel, release: &WithdrawRelease) -> String {
    let probe = PublishRelease {
        version: release.version.clone(),
        tag: release.tag.clone(),
        repo_root: release.repo_root.clone(),
        artifacts_dir: PathBuf::new(),
        artifacts: Vec::new(),
        token: None,
        published_at: jiff::Timestamp::UNIX_EPOCH,
        title: String::new(),
        notes: String::new(),
        prerelease: false,
        package_dirs: release.package_dirs.clone(),
        artifacts_pending: false,
    };
    dists(channel, &probe)
        .ok()
        .and_then(|d| d.into_iter().next())
        .map_or_else(|| "the project".to_owned(), |d| d.project)
}

/// Withdraws a rolled-back version: nothing the tool can do.
pub(in crate::channels) fn withdraw(
    channel: &PypiChannel,
    release: &WithdrawRelease,
) -> Result<Vec<String>> {
    let _ = (channel, release);
    Ok(Vec::new())
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
