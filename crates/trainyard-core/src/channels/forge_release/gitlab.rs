//! GitLab releases: the release named by its tag, each artifact put in
//! the project's generic package registry and linked from the release.
//! GitLab has no pre-releases and tells no sizes of linked files, so
//! a linked file of the project's registry is read back and hashed to
//! compare it.

use serde_json::{Value, json};

use super::api::{Api, Payload};
use super::{Asset, PublishRelease, Remote, json_str, package_name};
use crate::artifacts::{self, Artifact};
use crate::channels::http::encode_segment;
use crate::{Error, Result};

fn project_url(api: &Api<'_>) -> String {
    format!("{}/projects/{}", api.base, encode_segment(&api.repo))
}

fn release_url(api: &Api<'_>, tag: &str) -> String {
    format!("{}/releases/{}", project_url(api), encode_segment(tag))
}

fn remote(value: &Value) -> Remote {
    let tag = json_str(value, "tag_name");
    Remote {
        name: json_str(value, "name"),
        body: json_str(value, "description"),
        prerelease: false,
        url: value["_links"]["self"]
            .as_str()
            .map_or_else(|| tag.clone(), str::to_owned),
        upload_url: None,
        id: tag,
    }
}

pub(super) fn find(api: &Api<'_>, tag: &str) -> Result<Option<Remote>> {
    Ok(api
        .get_optional(&release_url(api, tag))?
        .as_ref()
        .map(remote))
}

pub(super) fn create(api: &Api<'_>, release: &PublishRelease) -> Result<Remote> {
    let url = format!("{}/releases", project_url(api));
    let body = json!({
        "tag_name": release.tag,
        "name": release.title,
        "description": release.notes,
    });
    let answer = api.send("POST", &url, &Payload::Json(body))?;
    if answer.is_success() {
        return Ok(remote(&api.json("POST", &url, &answer)?));
    }
    // Another run created it meanwhile (or a retried POST did).
    if answer.status == 409 {
        return find(api, &release.tag)?.ok_or_else(|| api.refusal("POST", &url, &answer));
    }
    Err(api.refusal("POST", &url, &answer))
}

pub(super) fn update(api: &Api<'_>, old: &Remote, release: &PublishRelease) -> Result<Remote> {
    let body = json!({"name": release.title, "description": release.notes});
    Ok(remote(&api.call(
        "PUT",
        &release_url(api, &old.id),
        &Payload::Json(body),
    )?))
}

pub(super) fn assets(api: &Api<'_>, release: &Remote) -> Result<Vec<Asset>> {
    let url = format!(
        "{}/assets/links?per_page=100",
        release_url(api, &release.id)
    );
    let packages = format!("{}/packages/generic/", project_url(api));
    Ok(api
        .pages(&url)?
        .iter()
        .map(|link| {
            let target = json_str(link, "url");
            Asset {
                name: json_str(link, "name"),
                size: None,
                sha256: None,
                readable_at: target.starts_with(&packages).then_some(target),
            }
        })
        .collect())
}

/// The SHA-256 of a generic package file, `None` when it is gone.
pub(super) fn remote_sha256(api: &Api<'_>, url: &str) -> Result<Option<String>> {
    let answer = api.send("GET", url, &Payload::Empty)?;
    match answer.status {
        404 => Ok(None),
        _ if answer.is_success() => {
            let (_, sha) = artifacts::hash_reader(&mut answer.bytes.as_slice()).map_err(|e| {
                Error::environment(format!(
                    "channel `{}`: cannot read GET {url}: {e}",
                    api.channel.name
                ))
            })?;
            Ok(Some(sha))
        }
        _ => Err(api.refusal("GET", url, &answer)),
    }
}

pub(super) fn upload(
    api: &Api<'_>,
    release: &Remote,
    published: &PublishRelease,
    artifact: &Artifact,
) -> Result<()> {
    let file_url = format!(
        "{}/packages/generic/{}/{}/{}",
        project_url(api),
        encode_segment(&package_name(&api.repo, &published.package_dirs)),
        encode_segment(&published.version),
        encode_segment(&artifact.name)
    );
    api.call("PUT", &file_url, &Payload::File(&artifact.path))?;
    let link = json!({
        "name": artifact.name,
        "url": file_url,
        "direct_asset_path": format!("/{}", artifact.name),
        "link_type": "package",
    });
    let url = format!("{}/assets/links", release_url(api, &release.id));
    api.call("POST", &url, &Payload::Json(link))?;
    Ok(())
}

pub(super) fn demote(api: &Api<'_>, release: &Remote, name: &str, reason: &str) -> Result<()> {
    let reason = if reason.trim().is_empty() {
        "rolled back"
    } else {
        reason.trim()
    };
    let body = json!({
        "name": name,
        "description": format!("**Withdrawn: {reason}**\n\n{}", release.body),
    });
    api.call("PUT", &release_url(api, &release.id), &Payload::Json(body))?;
    Ok(())
}

pub(super) fn delete(api: &Api<'_>, release: &Remote) -> Result<()> {
    api.call("DELETE", &release_url(api, &release.id), &Payload::Empty)?;
    Ok(())
}
