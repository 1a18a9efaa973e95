//! The `npm` channel.

use serde::{Deserialize, Serialize};

use super::super::{PublishRelease, WithdrawRelease, Withdrawal};
use std::path::{Path, PathBuf};

use super::{Tool, checkout, read_json, run_tool};
use crate::http::Client;
use crate::{Error, Result};

const NPM_REGISTRY: &str = "https://registry.npmjs.org/";

/// `type: npm`: the release's packages published with `npm publish`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NpmChannel {
    /// The channel's name, unique among the channels.
    pub name: String,
    /// The registry URL; the public npm registry by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// A credential reference for the registry token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// The package directories to publish; by default the package's own
    /// in a monorepo, else the root or the workspace members at the
    /// release's version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// `npm publish --access`: `public` or `restricted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// The dist-tag; by default `latest`, or the pre-release's
    /// identifier (`next` for `rc`, `beta`, `alpha`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dist_tag: Option<String>,
}

fn registry(channel: &NpmChannel) -> String {
    let url = channel.registry.as_deref().unwrap_or(NPM_REGISTRY);
    format!("{}/", url.trim_end_matches('/'))
}

/// The dist-tag: the channel's, else `latest` for a stable version, else
/// the pre-release's identifier (`next` for `rc`).
fn dist_tag(channel: &NpmChannel, version: &str) -> String {
    if let Some(tag) = &channel.dist_tag {
        return tag.clone();
    }
    match version.split_once('-') {
        None => "latest".to_owned(),
        Some((_, pre)) => {
            let id = pre.split(['.', '+']).next().unwrap_or(pre);
            let id: String = id.chars().take_while(|c| !c.is_ascii_digit()).collect();
            match id.as_str() {
                "rc" | "" => "next".to_owned(),
                other => other.to_owned(),
            }
        }
    }
}

/// What [`publish`] would do, one step a line, touching nothing.
pub(in crate::channels) fn plan(channel: &NpmChannel, release: &PublishRelease) -> Vec<String> {
    let tag = dist_tag(channel, &release.version);
    let access = channel
        .access
        .as_deref()
        .map_or_else(String::new, |a| format!(" --access {a}"));
    // Named from the working tree's manifests: the release's version is
    // written into them only when it is tagged.
    let dirs: Vec<String> = match packages(channel, &release.repo_root, None, &release.package_dirs)
    {
        Ok(found) if !found.is_empty() => found.into_iter().map(|p| p.name).collect(),
        _ => vec!["the root package (or the workspace's packages)".to_owned()],
    };
    dirs.iter()
        .map(|d| {
            format!(
                "npm publish {d} {} --tag {tag}{access} to {} (skipped if already there)",
                release.version,
                registry(channel)
            )
        })
        .collect()
}

/// A package of the release: its directory in the checkout and name.
struct Package {
    dir: PathBuf,
    name: String,
}

fn manifest(channel: &str, dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join("package.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::input(format!(
            "channel `{channel}`: cannot read {}: {e}",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::input(format!(
            "channel `{channel}`: {} is not JSON: {e}",
            path.display()
        ))
    })
}

/// The packages to publish, read in the checkout: those at `version`, or
/// at any version for a plan made before the version is written.
fn packages(
    channel: &NpmChannel,
    tree: &Path,
    version: Option<&str>,
    package_dirs: &[PathBuf],
) -> Result<Vec<Package>> {
    let explicit: Vec<PathBuf> = if channel.packages.is_empty() {
        package_dirs.to_vec()
    } else {
        channel.packages.iter().map(PathBuf::from).collect()
    };
    let mut dirs = Vec::new();
    if explicit.is_empty() {
        let root = manifest(&channel.name, tree)?;
        let workspaces: Vec<String> = root["workspaces"]
            .as_array()
            .or_else(|| root["workspaces"]["packages"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|w| w.as_str().map(str::to_owned))
            .collect();
        if root["private"] == true && !workspaces.is_empty() {
            for pattern in workspaces {
                let pattern = pattern.trim_end_matches('/');
                match pattern.strip_suffix("/*") {
                    Some(parent) => {
                        let mut found: Vec<PathBuf> = std::fs::read_dir(tree.join(parent))
                            .map_err(|e| Error::io("read", tree.join(parent), e))?
                            .filter_map(|e| e.ok().map(|e| e.path()))
                            .filter(|p| p.join("package.json").is_file())
                            .collect();
                        found.sort();
                        dirs.extend(found);
                    }
                    None => dirs.push(tree.join(pattern)),
                }
            }
            let mut members = Vec::new();
            for dir in dirs {
                let m = manifest(&channel.name, &dir)?;
                if version.is_none_or(|v| m["version"] == v) && m["private"] != true {
                    members.push(dir);
                }
            }
            dirs = members;
        } else {
            dirs.push(tree.to_path_buf());
        }
    } else {
        dirs = explicit.iter().map(|d| tree.join(d)).collect();
    }
    dirs.into_iter()
        .map(|dir| {
            let m = manifest(&channel.name, &dir)?;
            let name = m["name"].as_str().unwrap_or_default().to_owned();
            if let Some(version) = version
                && m["version"] != version
            {
                return Err(Error::input(format!(
                    "channel `{}`: package `{name}` in {} has version {}, the release is {version}",
                    channel.name,
                    dir.display(),
                    m["version"]
                )));
            }
            Ok(Package { dir, name })
        })
        .collect()
}

/// The packument of `name`, `None` when the registry does not know it.
fn packument(client: &Client, registry: &str, name: &str) -> Result<Option<serde_json::Value>> {
    let url = format!("{registry}{}", name.replace('/', "%2f"));
    let mut response = client.send("GET", &url, || {
        client
            .auth(client.agent.get(&url))
            .header("Accept", "application/json")
            .call()
    })?;
    match response.status().as_u16() {
        404 | 410 => Ok(None),
        200 => read_json(client, &url, &mut response).map(Some),
        _ => Err(client.unexpected("GET", &url, &response)),
    }
}

/// A user configuration holding only the token, for `NPM_CONFIG_USERCONFIG`.
fn npmrc(channel: &str, registry: &str, token: Option<&str>) -> Result<tempfile::NamedTempFile> {
    use std::io::Write as _;
    let mut file = tempfile::NamedTempFile::new().map_err(|e| {
        Error::environment(format!(
            "channel `{channel}`: cannot create a temporary file: {e}"
        ))
    })?;
    if let Some(token) = token {
        let nerf = registry.split_once("://").map_or(registry, |(_, r)| r);
        writeln!(file, "//{nerf}:_authToken={token}").map_err(|e| {
            Error::environment(format!("channel `{channel}`: cannot write the npmrc: {e}"))
        })?;
    }
    Ok(file)
}

/// Publishes each package the registry does not have at the version.
pub(in crate::channels) fn publish(
    channel: &NpmChannel,
    release: &PublishRelease,
) -> Result<Vec<String>> {
    let url = registry(channel);
    let tree = checkout(&channel.name, &release.repo_root, &release.tag)?;
    let packages = packages(
        channel,
        tree.path(),
        Some(&release.version),
        &release.package_dirs,
    )?;
    let client = Client::new(
        format!("channel `{}`", channel.name),
        &url,
        release.token.as_deref(),
    );
    let rc = npmrc(&channel.name, &url, release.token.as_deref())?;
    let tag = dist_tag(channel, &release.version);
    let mut items = Vec::with_capacity(packages.len());
    for package in &packages {
        let there = packument(&client, &url, &package.name)?;
        if there.is_some_and(|p| !p["versions"][&release.version].is_null()) {
            items.push(format!(
                "{} {} already published",
                package.name, release.version
            ));
            continue;
        }
        let mut args = ["publish", "--registry", &url, "--tag", &tag]
            .map(str::to_owned)
            .to_vec();
        if let Some(access) = &channel.access {
            args.extend(["--access".to_owned(), access.clone()]);
        }
        run_tool(
            &Tool {
                what: format!("channel `{}`: package `{}`", channel.name, package.name),
                program: "npm",
                args,
                dir: &package.dir,
                env: vec![(
                    "NPM_CONFIG_USERCONFIG".to_owned(),
                    rc.path().display().to_string(),
                )],
            },
            release.token.as_deref(),
        )?;
        items.push(format!(
            "{} {} published to {url} with dist-tag {tag}",
            package.name, release.version
        ));
    }
    Ok(items)
}

/// What [`withdraw`] would do.
pub(in crate::channels) fn withdraw_plan(
    channel: &NpmChannel,
    release: &WithdrawRelease,
) -> Withdrawal {
    let names: Vec<String> =
        match packages(channel, &release.repo_root, None, &release.package_dirs) {
            Ok(found) if !found.is_empty() => found.into_iter().map(|p| p.name).collect(),
            _ => vec!["each package of the release".to_owned()],
        };
    Withdrawal {
        automatic: names
            .iter()
            .map(|name| {
                format!(
                    "npm deprecate {name}@{} on {} (skipped if already deprecated)",
                    release.version,
                    registry(channel)
                )
            })
            .collect(),
        manual: Vec::new(),
    }
}

/// Deprecates the rolled-back version of each package.
pub(in crate::channels) fn withdraw(
    channel: &NpmChannel,
    release: &WithdrawRelease,
) -> Result<Vec<String>> {
    let url = registry(channel);
    let tree = checkout(&channel.name, &release.repo_root, &release.tag)?;
    let packages = packages(
        channel,
        tree.path(),
        Some(&release.version),
        &release.package_dirs,
    )?;
    let client = Client::new(
        format!("channel `{}`", channel.name),
        &url,
        release.token.as_deref(),
    );
    let rc = npmrc(&channel.name, &url, release.token.as_deref())?;
    let mut items = Vec::with_capacity(packages.len());
    for package in &packages {
        let name = &package.name;
        let version = &release.version;
        let Some(there) =
            packument(&client, &url, name)?.filter(|p| !p["versions"][version].is_null())
        else {
            items.push(format!(
                "{name} {version} is not in the registry: nothing to deprecate"
            ));
            continue;
        };
        if there["versions"][version]["deprecated"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
        {
            items.push(format!("{name} {version} already deprecated"));
            continue;
        }
        run_tool(
            &Tool {
                what: format!("channel `{}`: package `{name}`", channel.name),
                program: "npm",
                args: vec![
                    "deprecate".to_owned(),
                    format!("{name}@{version}"),
                    release.reason.clone(),
                    "--registry".to_owned(),
                    url.clone(),
                ],
                dir: tree.path(),
                env: vec![(
                    "NPM_CONFIG_USERCONFIG".to_owned(),
                    rc.path().display().to_string(),
                )],
            },
            release.token.as_deref(),
        )?;
        items.push(format!("deprecated {name} {version}: {}", release.reason));
    }
    Ok(items)
}
