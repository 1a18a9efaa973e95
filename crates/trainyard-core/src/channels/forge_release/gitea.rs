//! Gitea and Forgejo releases: GitHub's shapes mostly, without
//! `make_latest`, and assets uploaded as a multipart form.

use serde_json::{Value, json};

use super::api::{Api, Payload};
use super::{Asset, PublishRelease, Remote, json_str};
use crate::artifacts::Artifact;
use crate::channels::http::encode_segment;
use crate::{Error, Result};

fn remote(value: &Value) -> Remote {
    Remote {
        id: json_str(value, "id"),
        name: json_str(value, "name"),
        body: json_str(value, "body"),
        prerelease: value["prerelease"].as_bool().unwrap_or(false),
        url: json_str(value, "html_url"),
        upload_url: None,
    }
}

fn releases_url(api: &Api<'_>) -> String {
    format!("{}/repos/{}/releases", api.base, api.repo)
}

pub(super) fn find(api: &Api<'_>, tag: &str) -> Result<Option<Remote>> {
    let url = format!("{}/tags/{}", releases_url(api), encode_segment(tag));
    Ok(api.get_optional(&url)?.as_ref().map(remote))
}

pub(super) fn create(api: &Api<'_>, release: &PublishRelease) -> Result<Remote> {
    let body = json!({
        "tag_name": release.tag,
        "name": release.title,
        "body": release.notes,
        "draft": api.channel.draft,
        "prerelease": release.prerelease,
    });
    Ok(remote(&api.call(
        "POST",
        &releases_url(api),
        &Payload::Json(body),
    )?))
}

pub(super) fn update(api: &Api<'_>, old: &Remote, release: &PublishRelease) -> Result<Remote> {
    let url = format!("{}/{}", releases_url(api), old.id);
    let body = json!({
        "name": release.title,
        "body": release.notes,
        "prerelease": release.prerelease,
    });
    Ok(remote(&api.call("PATCH", &url, &Payload::Json(body))?))
}

pub(super) fn assets(api: &Api<'_>, release: &Remote) -> Result<Vec<Asset>> {
    let url = format!("{}/{}/assets", releases_url(api), release.id);
    Ok(api
        .pages(&url)?
        .iter()
        .map(|a| Asset {
            name: json_str(a, "name"),
            size: a["size"].as_u64(),
            sha256: None,
            readable_at: None,
        })
        .collect())
}

pub(super) fn upload(api: &Api<'_>, release: &Remote, artifact: &Artifact) -> Result<()> {
    let url = format!(
        "{}/{}/assets?name={}",
        releases_url(api),
        release.id,
        encode_segment(&artifact.name)
    );
    let bytes = std::fs::read(&artifact.path)
        .map_err(|e| Error::io("read an artifact", &artifact.path, e))?;
    let (body, content_type) = multipart(&artifact.name, &bytes);
    api.call("POST", &url, &Payload::Bytes(body, content_type))?;
    Ok(())
}

/// A `multipart/form-data` body with the one `attachment` field, and its
/// content type.
fn multipart(name: &str, bytes: &[u8]) -> (Vec<u8>, String) {
    // The boundary must not occur in the file; the file's own hash makes
    // that as good as certain.
    let boundary = format!("trainyard-{}", &crate::evidence::sha256_hex(bytes)[..32]);
    let quoted = name.replace(['"', '\r', '\n'], "_");
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"{quoted}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

pub(super) fn demote(api: &Api<'_>, release: &Remote, name: &str) -> Result<()> {
    let url = format!("{}/{}", releases_url(api), release.id);
    api.call(
        "PATCH",
        &url,
        &Payload::Json(json!({"prerelease": true, "name": name})),
    )?;
    Ok(())
}

pub(super) fn delete(api: &Api<'_>, release: &Remote) -> Result<()> {
    let url = format!("{}/{}", releases_url(api), release.id);
    api.call("DELETE", &url, &Payload::Empty)?;
    Ok(())
}
