//! The `api` and `registry` endpoints: read into a local tree so the
//! plan, diff and fingerprint machinery works on them as on a directory,
//! and written with the preconditions the server offers.
//!
//! * `api`: a JSON HTTP API holding configuration documents. `GET
//!   <location>` lists them (an array of names, of objects with a `name`,
//!   or an object of name to document); `GET <location>/<name>` reads one
//!   and its `ETag`. Each becomes `<name>.json`, pretty-printed with sorted
//!   keys, so a diff shows the keys that changed. Writes are `PUT` with
//!   `If-Match: <ETag read when planned>` (or `If-None-Match: *` for a new
//!   document) and `DELETE` with `If-Match`: a document changed since the
//!   plan is answered 412 and reported as a stale plan, never overwritten.
//! * `registry`: a generic package registry laid out
//!   `<location>/<name>/<version>/<file>` (GitLab's generic packages,
//!   raw repositories in Artifactory or Nexus, nginx with WebDAV). Each
//!   level is listed as JSON (`[{"name": …, "type": "directory"|"file"}]`,
//!   nginx's `autoindex_format json`). Uploads are `PUT` (with
//!   `If-None-Match: *` for a new file), each read back and its SHA-256
//!   compared; removals are `DELETE`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::model::{Change, ChangeKind, SyncPath};
use crate::http::{Client, drain};
use crate::{Error, Result};

/// An endpoint read into a temporary directory.
pub(crate) struct Materialized {
    pub(crate) dir: tempfile::TempDir,
    /// Each document's ETag, by path (`api`).
    pub(crate) etags: BTreeMap<String, String>,
}

fn temp() -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("trainyard-endpoint-")
        .tempdir()
        .map_err(|e| Error::environment(format!("cannot create a temporary directory: {e}")))
}

fn join(base: &str, segments: &[&str]) -> String {
    let mut url = base.trim_end_matches('/').to_owned();
    for segment in segments {
        url.push('/');
        url.push_str(&encode(segment));
    }
    url
}

fn encode(segment: &str) -> String {
    let mut out = String::new();
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A name the server gave that can be a path segment here.
fn safe_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(Error::input(format!(
            "{what}: the server listed `{name}`, which is not a usable name"
        )));
    }
    Ok(())
}

fn get_json(client: &Client, url: &str) -> Result<Option<(Value, Option<String>)>> {
    let mut response = client.send("GET", url, || {
        client
            .auth(client.agent.get(url))
            .header("Accept", "application/json")
            .call()
    })?;
    match response.status().as_u16() {
        404 | 410 => Ok(None),
        200..=299 => {
            let etag = response
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let text = response.body_mut().read_to_string().map_err(|e| {
                Error::environment(format!("{}: cannot read GET {url}: {e}", client.label()))
            })?;
            let value = serde_json::from_str(&text).map_err(|e| {
                Error::input(format!(
                    "{}: GET {url} is not JSON: {e} (line {}, column {})",
                    client.label(),
                    e.line(),
                    e.column()
                ))
            })?;
            Ok(Some((value, etag)))
        }
        _ => Err(client.unexpected("GET", url, &response)),
    }
}

/// A document as trainyard stores and compares it: pretty, keys sorted,
/// one final newline.
pub(crate) fn canonical(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Reads every document of an `api` endpoint.
pub(crate) fn read_api(client: &Client, base: &str) -> Result<Materialized> {
    let dir = temp()?;
    let mut etags = BTreeMap::new();
    let Some((listing, _)) = get_json(client, base)? else {
        return Ok(Materialized { dir, etags });
    };
    let mut documents: Vec<(String, Option<Value>)> = Vec::new();
    match listing {
        Value::Array(items) => {
            for item in items {
                let name = match &item {
                    Value::String(name) => name.clone(),
                    Value::Object(map) => map
                        .get("name")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            Error::input(format!(
                                "{}: GET {base}: a listed item has no `name`",
                                client.label()
                            ))
                        })?,
                    _ => {
                        return Err(Error::input(format!(
                            "{}: GET {base}: expected a list of names",
                            client.label()
                        )));
                    }
                };
                documents.push((name, None));
            }
        }
        Value::Object(map) => documents.extend(map.into_iter().map(|(k, v)| (k, Some(v)))),
        _ => {
            return Err(Error::input(format!(
                "{}: GET {base}: expected a list or an object of documents",
                client.label()
            )));
        }
    }
    for (name, inline) in documents {
        safe_name(client.label(), &name)?;
        // Each document is read on its own for its ETag, even when the
        // listing holds it.
        let url = join(base, &[&name]);
        let (value, etag) = match get_json(client, &url)? {
            Some(found) => found,
            None => match inline {
                Some(value) => (value, None),
                None => continue,
            },
        };
        let path = format!("{name}.json");
        // A scratch copy in this run's own temporary directory.
        #[allow(clippy::disallowed_methods)]
        std::fs::write(dir.path().join(&path), canonical(&value))
            .map_err(|e| Error::io("cannot write", dir.path().join(&path), e))?;
        if let Some(etag) = etag {
            etags.insert(path, etag);
        }
    }
    Ok(Materialized { dir, etags })
}

fn listing(client: &Client, url: &str) -> Result<Vec<(String, bool)>> {
    let Some((value, _)) = get_json(client, &format!("{url}/"))? else {
        return Ok(Vec::new());
    };
    let items = value.as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for item in items {
        let name = item
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        safe_name(client.label(), &name)?;
        let is_dir = item.get("type").and_then(Value::as_str) == Some("directory");
        out.push((name, is_dir));
    }
    Ok(out)
}

/// Reads every artifact of a `registry` endpoint (three levels: name,
/// version, file).
pub(crate) fn read_registry(client: &Client, base: &str) -> Result<Materialized> {
    let dir = temp()?;
    let base = base.trim_end_matches('/');
    for (name, is_dir) in listing(client, base)? {
        if !is_dir {
            continue;
        }
        for (version, is_dir) in listing(client, &join(base, &[&name]))? {
            if !is_dir {
                continue;
            }
            let folder = dir.path().join(&name).join(&version);
            std::fs::create_dir_all(&folder).map_err(|e| Error::io("cannot create", &folder, e))?;
            for (file, is_dir) in listing(client, &join(base, &[&name, &version]))? {
                if is_dir {
                    continue;
                }
                let url = join(base, &[&name, &version, &file]);
                download(client, &url, &folder.join(&file))?;
            }
        }
    }
    Ok(Materialized {
        dir,
        etags: BTreeMap::new(),
    })
}

fn download(client: &Client, url: &str, to: &Path) -> Result<()> {
    let mut response = client.send("GET", url, || client.auth(client.agent.get(url)).call())?;
    if !response.status().is_success() {
        return Err(client.unexpected("GET", url, &response));
    }
    let mut file = std::fs::File::create(to).map_err(|e| Error::io("cannot create", to, e))?;
    std::io::copy(&mut response.body_mut().as_reader(), &mut file).map_err(|e| {
        Error::environment(format!("{}: cannot read GET {url}: {e}", client.label()))
    })?;
    Ok(())
}

/// What a remote apply did before it stopped, if it stopped.
#[derive(Debug, Default)]
pub(crate) struct RemoteApplied {
    pub(crate) done: Vec<String>,
    pub(crate) error: Option<Error>,
}

fn document_name(path: &SyncPath) -> Result<String> {
    let text = path.to_string();
    match text.strip_suffix(".json") {
        Some(name) if !name.is_empty() && !name.contains('/') => Ok(name.to_owned()),
        _ => Err(Error::input(format!(
            "`{text}` cannot be an api document: documents are `<name>.json` at the top level"
        ))),
    }
}

fn expect_success(
    client: &Client,
    method: &str,
    url: &str,
    mut response: crate::http::Response,
) -> Result<()> {
    if !response.status().is_success() {
        return Err(client.unexpected(method, url, &response));
    }
    drain(&mut response);
    Ok(())
}

/// Writes `changes` to an `api` endpoint, each with its precondition.
/// Stops at the first failure; what was done is listed.
pub(crate) fn apply_api(
    client: &Client,
    base: &str,
    changes: &[Change],
    source_root: &Path,
    etags: &BTreeMap<String, String>,
) -> RemoteApplied {
    let mut applied = RemoteApplied::default();
    for change in changes {
        let result = (|| -> Result<()> {
            let name = document_name(&change.path)?;
            let url = join(base, &[&name]);
            let etag = etags.get(&change.path.to_string());
            match change.kind {
                ChangeKind::Delete => {
                    let response = client.send("DELETE", &url, || {
                        let request = client.auth(client.agent.delete(&url));
                        match etag {
                            Some(tag) => request.header("If-Match", tag).call(),
                            None => request.call(),
                        }
                    })?;
                    expect_success(client, "DELETE", &url, response)
                }
                ChangeKind::Add | ChangeKind::Modify => {
                    let path = change.path.under(source_root);
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| Error::io("cannot read", &path, e))?;
                    let value: Value = serde_json::from_str(&text)
                        .map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
                    let body = serde_json::to_string(&value).unwrap_or_default();
                    let response = client.send("PUT", &url, || {
                        let request = client
                            .auth(client.agent.put(&url))
                            .header("Content-Type", "application/json");
                        let request = match (change.kind, etag) {
                            (ChangeKind::Add, _) => request.header("If-None-Match", "*"),
                            (_, Some(tag)) => request.header("If-Match", tag),
                            (_, None) => request,
                        };
                        request.send(body.as_str())
                    })?;
                    expect_success(client, "PUT", &url, response)
                }
            }
        })();
        match result {
            Ok(()) => applied.done.push(change.path.to_string()),
            Err(e) => {
                applied.error = Some(e);
                break;
            }
        }
    }
    applied
}

/// The SHA-256 (hex) of a file.
fn sha256_of(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
    Ok(crate::evidence::sha256_hex(&bytes))
}

/// Uploads and removes `changes` on a `registry` endpoint; each upload is
/// read back and its SHA-256 compared. Stops at the first failure.
pub(crate) fn apply_registry(
    client: &Client,
    base: &str,
    changes: &[Change],
    source_root: &Path,
) -> RemoteApplied {
    let mut applied = RemoteApplied::default();
    for change in changes {
        let result = (|| -> Result<()> {
            let text = change.path.to_string();
            let segments: Vec<&str> = text.split('/').collect();
            if segments.len() != 3 {
                return Err(Error::input(format!(
                    "`{text}` cannot be a registry artifact: artifacts are `<name>/<version>/<file>`"
                )));
            }
            let url = join(base, &segments);
            if change.kind == ChangeKind::Delete {
                let response = client.send("DELETE", &url, || {
                    client.auth(client.agent.delete(&url)).call()
                })?;
                return expect_success(client, "DELETE", &url, response);
            }
            let path = change.path.under(source_root);
            let expected = sha256_of(&path)?;
            let response = client.send("PUT", &url, || {
                let file = std::fs::File::open(&path).map_err(ureq::Error::Io)?;
                let request = client
                    .auth(client.agent.put(&url))
                    .header("Content-Type", "application/octet-stream");
                let request = if change.kind == ChangeKind::Add {
                    request.header("If-None-Match", "*")
                } else {
                    request
                };
                request.send(file)
            })?;
            expect_success(client, "PUT", &url, response)?;
            // Read back what the registry now serves.
            let back = tempfile::NamedTempFile::new()
                .map_err(|e| Error::environment(format!("cannot create a temporary file: {e}")))?;
            download(client, &url, back.path())?;
            let served = sha256_of(back.path())?;
            if served != expected {
                return Err(Error::environment(format!(
                    "{}: {url} serves sha256 {served} after the upload, not the uploaded {expected}",
                    client.label()
                )));
            }
            Ok(())
        })();
        match result {
            Ok(()) => applied.done.push(change.path.to_string()),
            Err(e) => {
                applied.error = Some(e);
                break;
            }
        }
    }
    applied
}

/// The keys that differ between two JSON documents, one line each:
/// `~ .a.b: old -> new`, `+ .c: value`, `- .d: value`.
pub(crate) fn key_changes(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(before, after, "", &mut out);
    out
}

fn walk(before: &Value, after: &Value, at: &str, out: &mut Vec<String>) {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, old) in a {
                let path = format!("{at}.{key}");
                match b.get(key) {
                    Some(new) => walk(old, new, &path, out),
                    None => out.push(format!("- {path}: {old}")),
                }
            }
            for (key, new) in b {
                if !a.contains_key(key) {
                    out.push(format!("+ {at}.{key}: {new}"));
                }
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!(
            "~ {}: {a} -> {b}",
            if at.is_empty() { "." } else { at }
        )),
    }
}

/// The structural summary of an `api` plan: for every changed document,
/// its changed keys.
pub(crate) fn summarize(changes: &[&Change], source_root: &Path, target_root: &Path) -> String {
    let read = |root: &Path, path: &SyncPath| -> Value {
        std::fs::read_to_string(path.under(root))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)
    };
    let mut out = String::new();
    for change in changes {
        let (before, after) = match change.kind {
            ChangeKind::Add => (Value::Null, read(source_root, &change.path)),
            ChangeKind::Delete => (read(target_root, &change.path), Value::Null),
            ChangeKind::Modify => (
                read(target_root, &change.path),
                read(source_root, &change.path),
            ),
        };
        let verb = match change.kind {
            ChangeKind::Add => "new document",
            ChangeKind::Delete => "document removed",
            ChangeKind::Modify => "document changed",
        };
        out.push_str(&format!("{verb}: {}\n", change.path));
        if change.kind == ChangeKind::Modify {
            for line in key_changes(&before, &after) {
                out.push_str(&format!("  {line}\n"));
            }
        }
    }
    out
}

/// Copies the JSON documents of a directory in canonical form (for an
/// `api` sync whose other side is a directory).
pub(crate) fn canonical_copy(root: &Path, filters: &super::tree::Filters) -> Result<Materialized> {
    let dir = temp()?;
    if !root.is_dir() {
        return Ok(Materialized {
            dir,
            etags: BTreeMap::new(),
        });
    }
    let snapshot = super::tree::scan(root, filters, None)?.snapshot;
    for path in snapshot.paths() {
        let path = super::model::SyncPath(path.to_vec());
        let text = path.to_string();
        if !text.ends_with(".json") || text.contains('/') {
            continue;
        }
        let file = path.under(root);
        let content =
            std::fs::read_to_string(&file).map_err(|e| Error::io("cannot read", &file, e))?;
        let value: Value = serde_json::from_str(&content).map_err(|e| {
            Error::input(format!(
                "{}:{}:{}: not a JSON document: {e}",
                file.display(),
                e.line(),
                e.column()
            ))
        })?;
        // A scratch copy in this run's own temporary directory.
        #[allow(clippy::disallowed_methods)]
        std::fs::write(dir.path().join(&text), canonical(&value))
            .map_err(|e| Error::io("cannot write", dir.path().join(&text), e))?;
    }
    Ok(Materialized {
        dir,
        etags: BTreeMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_changes_name_each_key() {
        let before = json!({"a": 1, "b": {"c": true, "d": "x"}, "gone": 0});
        let after = json!({"a": 1, "b": {"c": false, "d": "x"}, "new": [1]});
        assert_eq!(
            key_changes(&before, &after),
            ["~ .b.c: true -> false", "- .gone: 0", "+ .new: [1]"]
        );
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(
            join("http://h/api/", &["a b", "1.0+x"]),
            "http://h/api/a%20b/1.0%2Bx"
        );
        assert!(safe_name("t", "..").is_err());
        assert!(safe_name("t", "a/b").is_err());
    }
}
