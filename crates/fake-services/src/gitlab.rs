//! A fake GitLab releases API under `/api/v4`: releases named by their
//! tag, release links listed two a page with `X-Next-Page`, and the
//! project's generic package registry the links point into.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::http::{Request, Response, Server, page_of};

/// A release link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Where it points.
    pub url: String,
    /// `/FILE`, the permanent path under the release.
    pub direct_asset_path: String,
    /// `package`, `other`…
    pub link_type: String,
}

/// A release the fake holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Its tag.
    pub tag: String,
    /// Its name.
    pub name: String,
    /// Its description (markdown).
    pub description: String,
    /// Its links, in creation order.
    pub links: Vec<Link>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    releases: Vec<Release>,
    /// `{package}/{version}/{file}` → bytes.
    packages: BTreeMap<String, Vec<u8>>,
}

/// A fake GitLab holding one project's releases and generic packages.
pub struct FakeGitlab {
    /// The server.
    pub server: Server,
    state: Arc<Mutex<State>>,
}

impl FakeGitlab {
    /// Serves the project `path` (`group/name`) to requests with the
    /// `PRIVATE-TOKEN` `token`.
    pub fn start(path: &str, token: &str) -> FakeGitlab {
        let state = Arc::new(Mutex::new(State::default()));
        let serving = Arc::clone(&state);
        let project = path.replace('/', "%2F");
        let token = token.to_owned();
        let server =
            Server::start(move |request, base| handle(&serving, &project, &token, request, base));
        FakeGitlab { server, state }
    }

    /// The API's base URL, `{server}/api/v4`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v4", self.server.url)
    }

    /// The releases, in creation order.
    pub fn releases(&self) -> Vec<Release> {
        self.state.lock().expect("state").releases.clone()
    }

    /// The release of `tag`.
    pub fn release(&self, tag: &str) -> Option<Release> {
        self.releases().into_iter().find(|r| r.tag == tag)
    }

    /// The release of `tag`'s links, each with the bytes of the package
    /// file it points to (empty when it points elsewhere).
    pub fn assets(&self, tag: &str) -> Vec<(String, Vec<u8>)> {
        let state = self.state.lock().expect("state");
        let Some(release) = state.releases.iter().find(|r| r.tag == tag) else {
            return Vec::new();
        };
        release
            .links
            .iter()
            .map(|link| {
                let bytes = link
                    .url
                    .split_once("/packages/generic/")
                    .and_then(|(_, key)| state.packages.get(key))
                    .cloned()
                    .unwrap_or_default();
                (link.name.clone(), bytes)
            })
            .collect()
    }

    /// The generic package files, `{package}/{version}/{file}` each.
    pub fn package_files(&self) -> Vec<String> {
        let state = self.state.lock().expect("state");
        state.packages.keys().cloned().collect()
    }
}

fn error(status: u16, message: &str) -> Response {
    Response::json(status, &json!({"message": message}))
}

fn release_json(base: &str, project: &str, r: &Release) -> Value {
    json!({
        "tag_name": r.tag,
        "name": r.name,
        "description": r.description,
        "_links": {"self": format!("{base}/{}/-/releases/{}", project.replace("%2F", "/"), r.tag)},
        "assets": {"links": r.links.iter().map(link_json).collect::<Vec<_>>()},
    })
}

fn link_json(link: &Link) -> Value {
    json!({
        "id": link.id,
        "name": link.name,
        "url": link.url,
        "direct_asset_url": link.url,
        "link_type": link.link_type,
    })
}

fn handle(
    state: &Mutex<State>,
    project: &str,
    token: &str,
    request: &Request,
    base: &str,
) -> Response {
    if request.header("private-token") != Some(token) {
        return error(401, "401 Unauthorized");
    }
    let Some(rest) = request
        .path
        .strip_prefix("/api/v4/projects/")
        .and_then(|p| p.strip_prefix(project))
    else {
        return error(404, "404 Project Not Found");
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let mut state = state.lock().expect("state");
    match (request.method.as_str(), segments.as_slice()) {
        ("PUT", ["packages", "generic", package, version, file]) => {
            let key = format!("{package}/{version}/{file}");
            state.packages.insert(key, request.body.clone());
            Response::json(201, &json!({"message": "201 Created"}))
        }
        ("GET", ["packages", "generic", package, version, file]) => {
            match state.packages.get(&format!("{package}/{version}/{file}")) {
                Some(bytes) => Response::bytes(200, bytes.clone()),
                None => error(404, "404 Not Found"),
            }
        }
        ("POST", ["releases"]) => {
            let Some(body) = request.json() else {
                return error(400, "400 Bad request");
            };
            let tag = body["tag_name"].as_str().unwrap_or_default().to_owned();
            if state.releases.iter().any(|r| r.tag == tag) {
                return error(409, "Release already exists");
            }
            let release = Release {
                tag,
                name: body["name"].as_str().unwrap_or_default().to_owned(),
                description: body["description"].as_str().unwrap_or_default().to_owned(),
                links: Vec::new(),
            };
            let answer = release_json(base, project, &release);
            state.releases.push(release);
            Response::json(201, &answer)
        }
        (method, ["releases", tag, rest @ ..]) => {
            let Some(index) = state.releases.iter().position(|r| r.tag == *tag) else {
                return error(404, "404 Not Found");
            };
            match (method, rest) {
                ("GET", []) => {
                    Response::json(200, &release_json(base, project, &state.releases[index]))
                }
                ("PUT", []) => {
                    let Some(body) = request.json() else {
                        return error(400, "400 Bad request");
                    };
                    let release = &mut state.releases[index];
                    if let Some(name) = body["name"].as_str() {
                        release.name = name.to_owned();
                    }
                    if let Some(text) = body["description"].as_str() {
                        release.description = text.to_owned();
                    }
                    Response::json(200, &release_json(base, project, release))
                }
                ("DELETE", []) => {
                    let release = state.releases.remove(index);
                    Response::json(200, &release_json(base, project, &release))
                }
                ("GET", ["assets", "links"]) => {
                    let all: Vec<Value> =
                        state.releases[index].links.iter().map(link_json).collect();
                    let page: usize = request
                        .param("page")
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(1);
                    let (slice, more) = page_of(&all, page, 2);
                    let next = if more {
                        (page + 1).to_string()
                    } else {
                        String::new()
                    };
                    Response::json(200, &Value::Array(slice)).with_header("X-Next-Page", &next)
                }
                ("POST", ["assets", "links"]) => {
                    let Some(body) = request.json() else {
                        return error(400, "400 Bad request");
                    };
                    let name = body["name"].as_str().unwrap_or_default().to_owned();
                    if state.releases[index].links.iter().any(|l| l.name == name) {
                        return error(400, "name has already been taken");
                    }
                    state.next_id += 1;
                    let link = Link {
                        id: state.next_id,
                        name,
                        url: body["url"].as_str().unwrap_or_default().to_owned(),
                        direct_asset_path: body["direct_asset_path"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        link_type: body["link_type"].as_str().unwrap_or("other").to_owned(),
                    };
                    let answer = link_json(&link);
                    state.releases[index].links.push(link);
                    Response::json(201, &answer)
                }
                _ => error(404, "404 Not Found"),
            }
        }
        _ => error(404, "404 Not Found"),
    }
}
