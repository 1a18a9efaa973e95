//! A fake GitHub releases API (and, with another flavour, Gitea's, which
//! has the same shapes): releases found by tag, created, updated and
//! deleted; assets listed two a page with `Link: rel="next"` and
//! uploaded to the release's `upload_url` on this same server.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::http::{Request, Response, Server, page_of};

/// A release the fake holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Its id.
    pub id: u64,
    /// Its tag.
    pub tag: String,
    /// Its name.
    pub name: String,
    /// Its body (markdown).
    pub body: String,
    /// A draft.
    pub draft: bool,
    /// A pre-release.
    pub prerelease: bool,
    /// The latest release (GitHub).
    pub latest: bool,
    /// Its assets, name and bytes, in upload order.
    pub assets: Vec<(String, Vec<u8>)>,
}

/// Which API the fake speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    Github,
    Gitea,
}

#[derive(Default)]
pub(crate) struct State {
    next_id: u64,
    releases: Vec<Release>,
}

/// A fake GitHub holding one repository's releases.
pub struct FakeGithub {
    /// The server; its URL is the API's base URL.
    pub server: Server,
    state: Arc<Mutex<State>>,
}

impl FakeGithub {
    /// Serves the releases of `repo` (`owner/name`) to requests with the
    /// bearer `token`.
    pub fn start(repo: &str, token: &str) -> FakeGithub {
        let (server, state) = start(Flavor::Github, repo, token);
        FakeGithub { server, state }
    }

    /// The API's base URL.
    pub fn api_url(&self) -> String {
        self.server.url.clone()
    }

    /// The releases, in creation order.
    pub fn releases(&self) -> Vec<Release> {
        releases(&self.state)
    }

    /// The release of `tag`.
    pub fn release(&self, tag: &str) -> Option<Release> {
        self.releases().into_iter().find(|r| r.tag == tag)
    }

    /// The assets of the release of `tag`.
    pub fn assets(&self, tag: &str) -> Vec<(String, Vec<u8>)> {
        self.release(tag).map(|r| r.assets).unwrap_or_default()
    }

    /// Adds a published release, the latest when `latest`.
    pub fn add_release(&self, tag: &str, name: &str, latest: bool) {
        add_release(&self.state, tag, name, latest);
    }
}

pub(crate) fn releases(state: &Mutex<State>) -> Vec<Release> {
    state.lock().expect("state").releases.clone()
}

pub(crate) fn add_release(state: &Mutex<State>, tag: &str, name: &str, latest: bool) {
    let mut state = state.lock().expect("state");
    state.next_id += 1;
    if latest {
        state.releases.iter_mut().for_each(|r| r.latest = false);
    }
    let id = state.next_id;
    state.releases.push(Release {
        id,
        tag: tag.to_owned(),
        name: name.to_owned(),
        body: String::new(),
        draft: false,
        prerelease: false,
        latest,
        assets: Vec::new(),
    });
}

pub(crate) fn start(flavor: Flavor, repo: &str, token: &str) -> (Server, Arc<Mutex<State>>) {
    let state = Arc::new(Mutex::new(State::default()));
    let serving = Arc::clone(&state);
    let (repo, token) = (repo.to_owned(), token.to_owned());
    let server =
        Server::start(move |request, base| handle(flavor, &serving, &repo, &token, request, base));
    (server, state)
}

fn error(status: u16, message: &str) -> Response {
    Response::json(status, &json!({"message": message}))
}

fn release_json(flavor: Flavor, base: &str, repo: &str, r: &Release) -> Value {
    let api = match flavor {
        Flavor::Github => base.to_owned(),
        Flavor::Gitea => format!("{base}/api/v1"),
    };
    json!({
        "id": r.id,
        "tag_name": r.tag,
        "name": r.name,
        "body": r.body,
        "draft": r.draft,
        "prerelease": r.prerelease,
        "html_url": format!("{base}/{repo}/releases/tag/{}", r.tag),
        "upload_url": format!("{base}/uploads/repos/{repo}/releases/{}/assets{{?name,label}}", r.id),
        "url": format!("{api}/repos/{repo}/releases/{}", r.id),
        "assets": r.assets.iter().enumerate().map(|(i, a)| asset_json(flavor, base, r, i, a)).collect::<Vec<_>>(),
    })
}

fn asset_json(
    flavor: Flavor,
    base: &str,
    release: &Release,
    index: usize,
    (name, bytes): &(String, Vec<u8>),
) -> Value {
    let mut asset = json!({
        "id": release.id * 1000 + index as u64,
        "name": name,
        "size": bytes.len(),
        "browser_download_url": format!("{base}/download/{}/{name}", release.tag),
    });
    if flavor == Flavor::Github {
        asset["digest"] = json!(format!("sha256:{}", sha256_hex(bytes)));
    }
    asset
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn handle(
    flavor: Flavor,
    state: &Mutex<State>,
    repo: &str,
    token: &str,
    request: &Request,
    base: &str,
) -> Response {
    let expected = match flavor {
        Flavor::Github => format!("Bearer {token}"),
        Flavor::Gitea => format!("token {token}"),
    };
    if request.header("authorization") != Some(expected.as_str()) {
        return error(401, "Bad credentials");
    }
    let prefix = match flavor {
        Flavor::Github => "",
        Flavor::Gitea => "/api/v1",
    };
    let path = request.path.as_str();
    let upload = match flavor {
        Flavor::Github => path.strip_prefix("/uploads"),
        Flavor::Gitea => None,
    };
    let Some(rest) = upload
        .or_else(|| path.strip_prefix(prefix))
        .and_then(|p| p.strip_prefix("/repos/"))
        .and_then(|p| p.strip_prefix(repo))
        .and_then(|p| p.strip_prefix("/releases"))
    else {
        return error(404, "Not Found");
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let mut state = state.lock().expect("state");
    let json_of = |r: &Release| release_json(flavor, base, repo, r);
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", []) => {
            let all: Vec<Value> = state.releases.iter().rev().map(json_of).collect();
            paged(request, base, &all)
        }
        ("GET", ["latest"]) if flavor == Flavor::Github => {
            match state.releases.iter().find(|r| r.latest) {
                Some(r) => Response::json(200, &json_of(r)),
                None => error(404, "Not Found"),
            }
        }
        ("GET", ["tags", tag]) => {
            // GitHub does not find drafts by tag.
            match state
                .releases
                .iter()
                .find(|r| r.tag == *tag && !(r.draft && flavor == Flavor::Github))
            {
                Some(r) => Response::json(200, &json_of(r)),
                None => error(404, "Not Found"),
            }
        }
        ("POST", []) => {
            let Some(body) = request.json() else {
                return error(400, "Problems parsing JSON");
            };
            let tag = body["tag_name"].as_str().unwrap_or_default().to_owned();
            if state.releases.iter().any(|r| r.tag == tag) {
                return Response::json(
                    422,
                    &json!({"message": "Validation Failed", "errors": [{"resource": "Release", "code": "already_exists", "field": "tag_name"}]}),
                );
            }
            state.next_id += 1;
            let prerelease = body["prerelease"].as_bool().unwrap_or(false);
            let draft = body["draft"].as_bool().unwrap_or(false);
            let latest = flavor == Flavor::Github
                && !draft
                && !prerelease
                && body["make_latest"].as_str() != Some("false");
            if latest {
                state.releases.iter_mut().for_each(|r| r.latest = false);
            }
            let release = Release {
                id: state.next_id,
                tag,
                name: body["name"].as_str().unwrap_or_default().to_owned(),
                body: body["body"].as_str().unwrap_or_default().to_owned(),
                draft,
                prerelease,
                latest,
                assets: Vec::new(),
            };
            let answer = json_of(&release);
            state.releases.push(release);
            Response::json(201, &answer)
        }
        (method, [id, rest @ ..]) => {
            let Some(index) = state.releases.iter().position(|r| r.id.to_string() == *id) else {
                return error(404, "Not Found");
            };
            match (method, rest) {
                ("GET", []) => Response::json(200, &json_of(&state.releases[index])),
                ("PATCH", []) => {
                    let Some(body) = request.json() else {
                        return error(400, "Problems parsing JSON");
                    };
                    match body["make_latest"].as_str() {
                        Some("true") => {
                            state.releases.iter_mut().for_each(|r| r.latest = false);
                            state.releases[index].latest = true;
                        }
                        Some("false") => state.releases[index].latest = false,
                        _ => {}
                    }
                    let release = &mut state.releases[index];
                    if let Some(name) = body["name"].as_str() {
                        release.name = name.to_owned();
                    }
                    if let Some(text) = body["body"].as_str() {
                        release.body = text.to_owned();
                    }
                    if let Some(prerelease) = body["prerelease"].as_bool() {
                        release.prerelease = prerelease;
                        if prerelease {
                            release.latest = false;
                        }
                    }
                    Response::json(200, &json_of(release))
                }
                ("DELETE", []) => {
                    state.releases.remove(index);
                    Response::bytes(204, Vec::new())
                }
                ("GET", ["assets"]) => {
                    let release = &state.releases[index];
                    let all: Vec<Value> = release
                        .assets
                        .iter()
                        .enumerate()
                        .map(|(i, a)| asset_json(flavor, base, release, i, a))
                        .collect();
                    paged(request, base, &all)
                }
                ("POST", ["assets"]) => {
                    let Some(name) = request.param("name").map(str::to_owned) else {
                        return error(422, "name is required");
                    };
                    let bytes = match flavor {
                        Flavor::Github => {
                            if request.header("content-type") != Some("application/octet-stream") {
                                return error(422, "expected application/octet-stream");
                            }
                            request.body.clone()
                        }
                        Flavor::Gitea => match multipart_attachment(request) {
                            Some(bytes) => bytes,
                            None => return error(400, "no attachment field"),
                        },
                    };
                    let release = &mut state.releases[index];
                    if release.assets.iter().any(|(n, _)| *n == name) {
                        return Response::json(
                            422,
                            &json!({"message": "Validation Failed", "errors": [{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}]}),
                        );
                    }
                    release.assets.push((name, bytes));
                    let i = release.assets.len() - 1;
                    Response::json(
                        201,
                        &asset_json(flavor, base, release, i, &release.assets[i]),
                    )
                }
                _ => error(404, "Not Found"),
            }
        }
        _ => error(404, "Not Found"),
    }
}

/// `items` two a page, with a `Link: rel="next"` header while more
/// follow.
fn paged(request: &Request, base: &str, items: &[Value]) -> Response {
    let page: usize = request
        .param("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    let (slice, more) = page_of(items, page, 2);
    let response = Response::json(200, &Value::Array(slice));
    if !more {
        return response;
    }
    let query: Vec<&str> = request
        .query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("page="))
        .collect();
    let mut next = format!("{base}{}?", request.path);
    for part in query {
        next.push_str(part);
        next.push('&');
    }
    next.push_str(&format!("page={}", page + 1));
    response.with_header("Link", &format!("<{next}>; rel=\"next\""))
}

/// The `attachment` field of a `multipart/form-data` body.
fn multipart_attachment(request: &Request) -> Option<Vec<u8>> {
    let content_type = request.header("content-type")?;
    let boundary = content_type.split("boundary=").nth(1)?.trim_matches('"');
    let delimiter = format!("--{boundary}");
    let body = &request.body;
    let mut parts = Vec::new();
    let mut at = 0;
    while let Some(found) = find(&body[at..], delimiter.as_bytes()) {
        parts.push(at + found);
        at += found + delimiter.len();
    }
    for pair in parts.windows(2) {
        let part = &body[pair[0] + delimiter.len()..pair[1]];
        let head_end = find(part, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&part[..head_end]);
        if head.contains("name=\"attachment\"") {
            let content = &part[head_end + 4..];
            return Some(content.strip_suffix(b"\r\n").unwrap_or(content).to_vec());
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
