//! The `crates` channel.

use serde::{Deserialize, Serialize};

use super::super::{PublishRelease, WithdrawRelease, Withdrawal};
use std::path::{Path, PathBuf};

use super::{Tool, checkout, package_roots, run_tool, tool_var};
use crate::http::Client;
use crate::{Error, Result};

const CRATES_IO_INDEX: &str = "https://index.crates.io/";

/// `type: crates`: the crates of the release published with `cargo publish`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CratesChannel {
    /// The channel's name, unique among the channels.
    pub name: String,
    /// The registry's name in cargo's configuration; crates.io by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// The registry's index URL (`sparse+https://…`), instead of a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// A credential reference for the registry token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// The crates to publish; by default every publishable workspace
    /// member at the release's version (a package's own in a monorepo).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
}

// Publishing runs the user's `cargo publish -p NAME` with its
// verification: it builds the packaged crate as the registry will serve
// it, which is slower but catches a crate that only builds in the
// workspace. The token goes in the environment
// (`CARGO_REGISTRIES_<NAME>_TOKEN`, or `CARGO_REGISTRY_TOKEN` for
// crates.io), never on the command line. An index given without a
// registry name is defined for cargo as the registry `trainyard`.

/// Where the channel publishes, for messages.
fn target(channel: &CratesChannel) -> String {
    match (&channel.registry, &channel.index) {
        (Some(name), _) => format!("registry `{name}`"),
        (None, Some(index)) => index.clone(),
        (None, None) => CRATES_IO_INDEX.to_owned(),
    }
}

/// What [`publish`] would do, one step a line, writing nothing and asking
/// no registry: the crates are read from the working tree's manifests
/// (the release's version is written into them only when it is tagged).
pub(in crate::channels) fn plan(channel: &CratesChannel, release: &PublishRelease) -> Vec<String> {
    let to = target(channel);
    let names: Vec<String> = if channel.packages.is_empty() {
        match crates(channel, &release.repo_root, None, &release.package_dirs) {
            Ok(found) if !found.is_empty() => found.into_iter().map(|c| c.name).collect(),
            _ => {
                return vec![format!(
                    "cargo publish each publishable workspace crate at {} (in dependency order) to {to} (skipped if already there)",
                    release.version
                )];
            }
        }
    } else {
        channel.packages.clone()
    };
    names
        .iter()
        .map(|name| {
            format!(
                "cargo publish {name} {} to {to} (skipped if already there)",
                release.version
            )
        })
        .collect()
}

/// The registry's sparse index URL, without `sparse+`, ending in `/`.
fn index_url(channel: &CratesChannel, repo_root: &Path) -> Result<String> {
    let index = match (&channel.index, &channel.registry) {
        (Some(index), _) => index.clone(),
        (None, Some(name)) => configured_index(name, repo_root).ok_or_else(|| {
            Error::input(format!(
                "channel `{}`: cargo's configuration has no `registries.{name}.index`; add it or give the channel `index`",
                channel.name
            ))
        })?,
        (None, None) => CRATES_IO_INDEX.to_owned(),
    };
    let url = if index == CRATES_IO_INDEX {
        index
    } else {
        index
            .strip_prefix("sparse+")
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::input(format!(
                    "channel `{}`: index `{index}` is not a sparse index (sparse+https://…); only sparse indexes can be read",
                    channel.name
                ))
            })?
    };
    Ok(format!("{}/", url.trim_end_matches('/')))
}

/// `CARGO_REGISTRIES_<NAME>_…`.
fn registry_var(name: &str, what: &str) -> String {
    format!(
        "CARGO_REGISTRIES_{}_{what}",
        name.to_ascii_uppercase().replace('-', "_")
    )
}

/// `registries.NAME.index` from the environment or cargo's configuration
/// files (the repository's `.cargo/config.toml` and up, then
/// `CARGO_HOME`'s).
fn configured_index(name: &str, repo_root: &Path) -> Option<String> {
    if let Some(index) = tool_var(&registry_var(name, "INDEX")) {
        return Some(index);
    }
    let mut files: Vec<PathBuf> = repo_root
        .ancestors()
        .flat_map(|d| [d.join(".cargo/config.toml"), d.join(".cargo/config")])
        .collect();
    let home = tool_var("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| tool_var("HOME").map(|h| Path::new(&h).join(".cargo")));
    if let Some(home) = home {
        files.extend([home.join("config.toml"), home.join("config")]);
    }
    files.iter().find_map(|file| {
        let text = std::fs::read_to_string(file).ok()?;
        let doc = text.parse::<toml_edit::DocumentMut>().ok()?;
        doc.get("registries")?
            .get(name)?
            .get("index")?
            .as_str()
            .map(str::to_owned)
    })
}

/// cargo's registry arguments and environment, the token included.
fn registry_args(
    channel: &CratesChannel,
    token: Option<&str>,
) -> (Vec<String>, Vec<(String, String)>) {
    let mut env = Vec::new();
    let name = match (&channel.registry, &channel.index) {
        (Some(name), _) => Some(name.clone()),
        (None, Some(_)) => Some("trainyard".to_owned()),
        (None, None) => None,
    };
    if let (Some(name), Some(index)) = (&name, &channel.index) {
        env.push((registry_var(name, "INDEX"), index.clone()));
    }
    if let Some(token) = token {
        let var = name.as_deref().map_or_else(
            || "CARGO_REGISTRY_TOKEN".to_owned(),
            |n| registry_var(n, "TOKEN"),
        );
        env.push((var, token.to_owned()));
    }
    let args = name.map_or_else(Vec::new, |n| vec!["--registry".to_owned(), n]);
    (args, env)
}

/// A crate of the release.
struct Crate {
    name: String,
    /// The workspace crates (among the release's) it depends on.
    deps: Vec<String>,
}

/// The release's crates in dependency order, read with `cargo metadata`
/// in the checkout: those at `version`, or at any version for a plan made
/// before the version is written.
fn crates(
    channel: &CratesChannel,
    checkout: &Path,
    version: Option<&str>,
    package_dirs: &[PathBuf],
) -> Result<Vec<Crate>> {
    let out = run_tool(
        &Tool {
            what: format!("channel `{}`", channel.name),
            program: "cargo",
            args: ["metadata", "--format-version", "1", "--no-deps"]
                .map(str::to_owned)
                .to_vec(),
            dir: checkout,
            env: Vec::new(),
        },
        None,
    )?;
    let metadata: serde_json::Value = serde_json::from_str(&out).map_err(|e| {
        Error::environment(format!(
            "channel `{}`: cargo metadata is not JSON: {e}",
            channel.name
        ))
    })?;
    let base = std::fs::canonicalize(checkout).unwrap_or_else(|_| checkout.to_path_buf());
    let roots = package_roots(&base, package_dirs);
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let members: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut chosen: Vec<Crate> = Vec::new();
    for package in &packages {
        let name = package["name"].as_str().unwrap_or_default();
        let wanted = if channel.packages.is_empty() {
            let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
            let manifest = std::fs::canonicalize(&manifest).unwrap_or(manifest);
            let publishable = package["publish"].as_array().is_none_or(|r| !r.is_empty());
            publishable
                && version.is_none_or(|v| package["version"] == v)
                && roots.iter().any(|r| manifest.starts_with(r))
        } else {
            channel.packages.iter().any(|p| p == name)
        };
        if !wanted {
            continue;
        }
        let deps = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].as_str() != Some("dev") && d["path"].is_string())
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect();
        chosen.push(Crate {
            name: name.to_owned(),
            deps,
        });
    }
    if let Some(missing) = channel
        .packages
        .iter()
        .find(|p| !members.contains(&p.as_str()))
    {
        return Err(Error::input(format!(
            "channel `{}`: `{missing}` is not a crate of the workspace at {}",
            channel.name,
            version.unwrap_or("any version")
        )));
    }
    // Dependencies first, otherwise in the workspace's order.
    let mut ordered: Vec<Crate> = Vec::with_capacity(chosen.len());
    while !chosen.is_empty() {
        let ready = chosen
            .iter()
            .position(|c| {
                c.deps
                    .iter()
                    .all(|d| !chosen.iter().any(|o| &o.name == d) || *d == c.name)
            })
            .ok_or_else(|| {
                Error::input(format!(
                    "channel `{}`: the crates depend on each other in a cycle",
                    channel.name
                ))
            })?;
        ordered.push(chosen.remove(ready));
    }
    Ok(ordered)
}

/// A version as the sparse index lists it.
enum Listed {
    Absent,
    Published,
    Yanked,
}

fn listed(client: &Client, index: &str, name: &str, version: &str) -> Result<Listed> {
    let lower = name.to_ascii_lowercase();
    let prefix = match lower.len() {
        1 => "1".to_owned(),
        2 => "2".to_owned(),
        3 => format!("3/{}", &lower[..1]),
        _ => format!("{}/{}", &lower[..2], &lower[2..4]),
    };
    let url = format!("{index}{prefix}/{lower}");
    let mut response = client.send("GET", &url, || client.agent.get(&url).call())?;
    match response.status().as_u16() {
        404 | 410 => return Ok(Listed::Absent),
        200 => {}
        _ => return Err(client.unexpected("GET", &url, &response)),
    }
    let text = response
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| Error::environment(format!("{}: GET {url}: {e}", client.label())))?;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let entry: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            Error::environment(format!(
                "{}: GET {url}: a line is not JSON: {e}",
                client.label()
            ))
        })?;
        if entry["vers"] == version {
            return Ok(if entry["yanked"] == true {
                Listed::Yanked
            } else {
                Listed::Published
            });
        }
    }
    Ok(Listed::Absent)
}

/// What publishing and yanking share: the index, a checkout of the tag
/// (kept while cargo runs in it), the release's crates there, and how
/// cargo names the registry.
struct Session {
    index: String,
    tree: crate::git_cli::Worktree,
    crates: Vec<Crate>,
    client: Client,
    registry: Vec<String>,
    env: Vec<(String, String)>,
}

impl Session {
    fn open(
        channel: &CratesChannel,
        repo_root: &Path,
        tag: &str,
        version: &str,
        package_dirs: &[PathBuf],
        token: Option<&str>,
    ) -> Result<Session> {
        let index = index_url(channel, repo_root)?;
        let tree = checkout(&channel.name, repo_root, tag)?;
        let crates = crates(channel, tree.path(), Some(version), package_dirs)?;
        let client = Client::new(format!("channel `{}`", channel.name), &index, None);
        let (registry, env) = registry_args(channel, token);
        Ok(Session {
            index,
            tree,
            crates,
            client,
            registry,
            env,
        })
    }
}

/// Publishes, in dependency order, the crates the registry lacks.
pub(in crate::channels) fn publish(
    channel: &CratesChannel,
    release: &PublishRelease,
) -> Result<Vec<String>> {
    let Session {
        index,
        tree,
        crates,
        client,
        registry,
        env,
    } = Session::open(
        channel,
        &release.repo_root,
        &release.tag,
        &release.version,
        &release.package_dirs,
        release.token.as_deref(),
    )?;
    let mut items = Vec::with_capacity(crates.len());
    for krate in &crates {
        let name = &krate.name;
        if !matches!(
            listed(&client, &index, name, &release.version)?,
            Listed::Absent
        ) {
            items.push(format!("{name} {} already published", release.version));
            continue;
        }
        let mut args = vec!["publish".to_owned(), "-p".to_owned(), name.clone()];
        args.extend(registry.iter().cloned());
        run_tool(
            &Tool {
                what: format!("channel `{}`: crate `{name}`", channel.name),
                program: "cargo",
                args,
                dir: tree.path(),
                env: env.clone(),
            },
            release.token.as_deref(),
        )?;
        items.push(format!(
            "{name} {} published to {}",
            release.version,
            target(channel)
        ));
    }
    Ok(items)
}

/// What [`withdraw`] would do.
pub(in crate::channels) fn withdraw_plan(
    channel: &CratesChannel,
    release: &WithdrawRelease,
) -> Withdrawal {
    let to = target(channel);
    let names: Vec<String> = if channel.packages.is_empty() {
        crates(channel, &release.repo_root, None, &release.package_dirs)
            .map(|found| found.into_iter().rev().map(|c| c.name).collect())
            .unwrap_or_default()
    } else {
        channel.packages.clone()
    };
    let automatic = if names.is_empty() {
        vec![format!(
            "yank each workspace crate at {} from {to} (skipped if already yanked)",
            release.version
        )]
    } else {
        names
            .iter()
            .map(|name| {
                format!(
                    "yank {name} {} from {to} (skipped if already yanked)",
                    release.version
                )
            })
            .collect()
    };
    Withdrawal {
        automatic,
        manual: Vec::new(),
    }
}

/// Yanks the rolled-back version of each crate, dependents first.
pub(in crate::channels) fn withdraw(
    channel: &CratesChannel,
    release: &WithdrawRelease,
) -> Result<Vec<String>> {
    let Session {
        index,
        tree,
        crates,
        client,
        registry,
        env,
    } = Session::open(
        channel,
        &release.repo_root,
        &release.tag,
        &release.version,
        &release.package_dirs,
        release.token.as_deref(),
    )?;
    let mut items = Vec::with_capacity(crates.len());
    for krate in crates.iter().rev() {
        let name = &krate.name;
        match listed(&client, &index, name, &release.version)? {
            Listed::Absent => {
                items.push(format!(
                    "{name} {} is not in the registry: nothing to yank",
                    release.version
                ));
                continue;
            }
            Listed::Yanked => {
                items.push(format!("{name} {} already yanked", release.version));
                continue;
            }
            Listed::Published => {}
        }
        let mut args = vec![
            "yank".to_owned(),
            "--version".to_owned(),
            release.version.clone(),
            name.clone(),
        ];
        args.extend(registry.iter().cloned());
        run_tool(
            &Tool {
                what: format!("channel `{}`: crate `{name}`", channel.name),
                program: "cargo",
                args,
                dir: tree.path(),
                env: env.clone(),
            },
            release.token.as_deref(),
        )?;
        items.push(format!("yanked {name} {}", release.version));
    }
    Ok(items)
}
