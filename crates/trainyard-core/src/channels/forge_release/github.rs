//! GitHub releases: found by tag (drafts by listing, as GitHub does not
//! find them by tag), assets uploaded to the release's `upload_url`.

use serde_json::{Value, json};

use super::api::{Api, Payload};
use super::{Asset, PublishRelease, Remote, json_str, make_latest};
use crate::artifacts::Artifact;
use crate::channels::http::encode_segment;
use crate::{Error, Result};

fn remote(value: &Value) -> Remote {
    let upload_url = json_str(value, "upload_url");
    Remote {
        id: json_str(value, "id"),
        name: json_str(value, "name"),
        body: json_str(value, "body"),
        prerelease: value["prerelease"].as_bool().unwrap_or(false),
        url: json_str(value, "html_url"),
        upload_url: (!upload_url.is_empty())
            .then(|| upload_url.split('{').next().unwrap_or_default().to_owned()),
    }
}

fn releases_url(api: &Api<'_>) -> String {
    format!("{}/repos/{}/releases", api.base, api.repo)
}

pub(super) fn find(api: &Api<'_>, tag: &str) -> Result<Option<Remote>> {
    let url = format!("{}/tags/{}", releases_url(api), encode_segment(tag));
    if let Some(value) = api.get_optional(&url)? {
        return Ok(Some(remote(&value)));
    }
    if !api.channel.draft {
        return Ok(None);
    }
    // A draft has no tag yet as far as the lookup by tag goes.
    let listed = api.pages(&format!("{}?per_page=100", releases_url(api)))?;
    Ok(listed
        .iter()
        .find(|r| r["tag_name"].as_str() == Some(tag))
        .map(remote))
}

pub(super) fn create(api: &Api<'_>, release: &PublishRelease) -> Result<Remote> {
    let url = releases_url(api);
    let body = json!({
        "tag_name": release.tag,
        "name": release.title,
        "body": release.notes,
        "draft": api.channel.draft,
        "prerelease": release.prerelease,
        "make_latest": make_latest(api.channel, release).to_string(),
    });
    let answer = api.send("POST", &url, &Payload::Json(body))?;
    if answer.is_success() {
        return Ok(remote(&api.json("POST", &url, &answer)?));
    }
    // Another run created it meanwhile (or a retried POST did).
    if answer.status == 422 && answer.body.contains("already_exists") {
        return find(api, &release.tag)?.ok_or_else(|| {
            Error::environment(format!(
                "channel `{}`: GitHub says the release {} exists but does not find it",
                api.channel.name, release.tag
            ))
        });
    }
    Err(api.refusal("POST", &url, &answer))
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
    let url = format!("{}/{}/assets?per_page=100", releases_url(api), release.id);
    Ok(api
        .pages(&url)?
        .iter()
        .map(|a| Asset {
            name: json_str(a, "name"),
            size: a["size"].as_u64(),
            sha256: a["digest"]
                .as_str()
                .and_then(|d| d.strip_prefix("sha256:"))
                .map(str::to_ascii_lowercase),
            readable_at: None,
        })
        .collect())
}

pub(super) fn upload(api: &Api<'_>, release: &Remote, artifact: &Artifact) -> Result<()> {
    let base = release.upload_url.as_deref().ok_or_else(|| {
        Error::environment(format!(
            "channel `{}`: GitHub gave the release no upload_url",
            api.channel.name
        ))
    })?;
    let url = format!("{base}?name={}", encode_segment(&artifact.name));
    api.call("POST", &url, &Payload::File(&artifact.path))?;
    Ok(())
}

pub(super) fn demote(api: &Api<'_>, release: &Remote, name: &str) -> Result<()> {
    let url = format!("{}/{}", releases_url(api), release.id);
    let body = json!({"prerelease": true, "make_latest": "false", "name": name});
    api.call("PATCH", &url, &Payload::Json(body))?;
    Ok(())
}

pub(super) fn delete(api: &Api<'_>, release: &Remote) -> Result<()> {
    let url = format!("{}/{}", releases_url(api), release.id);
    api.call("DELETE", &url, &Payload::Empty)?;
    Ok(())
}

/// Makes the restored version's release the latest again, when it has
/// one that can be (GitHub refuses drafts and pre-releases).
pub(super) fn restore_latest(api: &Api<'_>, tag: &str) -> Result<Vec<String>> {
    let latest = api.get_optional(&format!("{}/latest", releases_url(api)))?;
    if latest.is_some_and(|l| l["tag_name"].as_str() == Some(tag)) {
        return Ok(vec![format!("release {tag} already the latest")]);
    }
    let url = format!("{}/tags/{}", releases_url(api), encode_segment(tag));
    let Some(restored) = api.get_optional(&url)? else {
        return Ok(vec![format!("no release {tag} to make the latest")]);
    };
    if restored["prerelease"].as_bool() == Some(true) || restored["draft"].as_bool() == Some(true) {
        return Ok(vec![format!(
            "release {tag} left as it is: a draft or pre-release cannot be the latest"
        )]);
    }
    let url = format!("{}/{}", releases_url(api), json_str(&restored, "id"));
    api.call(
        "PATCH",
        &url,
        &Payload::Json(json!({"make_latest": "true"})),
    )?;
    Ok(vec![format!("release {tag} made the latest again")])
}
