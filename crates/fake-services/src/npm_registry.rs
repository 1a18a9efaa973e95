//! An npm registry: `GET /{name}` packuments, `PUT /{name}` for publish
//! (a packument with `_attachments`) and for deprecate (the packument
//! sent back with `deprecated` set), and `GET /{name}/-/{file}` tarballs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::http::{Request, Response, Server};
use crate::pypi::unbase64;

#[derive(Default)]
struct State {
    packuments: BTreeMap<String, Value>,
    tarballs: BTreeMap<String, Vec<u8>>,
}

/// A running fake registry accepting `Bearer {token}`.
pub struct FakeNpmRegistry {
    /// The server.
    pub server: Server,
    state: Arc<Mutex<State>>,
}

impl FakeNpmRegistry {
    /// Starts a registry that accepts `token`.
    pub fn start(token: &str) -> FakeNpmRegistry {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let expected = format!("Bearer {token}");
        let server = Server::start(move |request, _base| {
            handle(request, &expected, &mut shared.lock().expect("state"))
        });
        FakeNpmRegistry { server, state }
    }

    /// `{base}/`.
    pub fn url(&self) -> String {
        format!("{}/", self.server.url)
    }

    /// The versions of `name` published so far.
    pub fn versions(&self, name: &str) -> Vec<String> {
        self.packument(name)
            .and_then(|p| {
                p["versions"]
                    .as_object()
                    .map(|v| v.keys().cloned().collect())
            })
            .unwrap_or_default()
    }

    /// The dist-tags of `name`.
    pub fn dist_tags(&self, name: &str) -> BTreeMap<String, String> {
        self.packument(name)
            .and_then(|p| {
                p["dist-tags"].as_object().map(|tags| {
                    tags.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                        .collect()
                })
            })
            .unwrap_or_default()
    }

    /// The deprecation message of `name@version`, if any.
    pub fn deprecated(&self, name: &str, version: &str) -> Option<String> {
        self.packument(name)?["versions"][version]["deprecated"]
            .as_str()
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
    }

    /// The stored tarball files' names.
    pub fn tarballs(&self) -> Vec<String> {
        self.state
            .lock()
            .expect("state")
            .tarballs
            .keys()
            .cloned()
            .collect()
    }

    fn packument(&self, name: &str) -> Option<Value> {
        self.state
            .lock()
            .expect("state")
            .packuments
            .get(name)
            .cloned()
    }
}

fn decode(path: &str) -> String {
    path.replace("%2f", "/")
        .replace("%2F", "/")
        .replace("%40", "@")
}

fn handle(request: &Request, expected: &str, state: &mut State) -> Response {
    let path = decode(request.path.trim_start_matches('/'));
    if let Some((name, file)) = path.split_once("/-/") {
        return match state.tarballs.get(&format!("{name}/{file}")) {
            Some(bytes) if request.method == "GET" => Response::bytes(200, bytes.clone()),
            _ => Response::json(404, &json!({"error": "not_found"})),
        };
    }
    let name = path;
    match request.method.as_str() {
        "GET" => match state.packuments.get(&name) {
            Some(p) => Response::json(200, p),
            None => Response::json(404, &json!({"error": "not_found"})),
        },
        "PUT" => {
            if request.header("authorization") != Some(expected) {
                return Response::json(401, &json!({"error": "unauthorized"}));
            }
            let Some(body) = request.json() else {
                return Response::json(400, &json!({"error": "not JSON"}));
            };
            let attachments = body["_attachments"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            if attachments.is_empty() {
                update(state, &name, &body)
            } else {
                publish(state, &name, &body, &attachments)
            }
        }
        _ => Response::json(405, &json!({"error": "method not allowed"})),
    }
}

fn publish(
    state: &mut State,
    name: &str,
    body: &Value,
    attachments: &serde_json::Map<String, Value>,
) -> Response {
    let packument = state
        .packuments
        .entry(name.to_owned())
        .or_insert_with(|| json!({"_id": name, "name": name, "versions": {}, "dist-tags": {}}));
    for (version, manifest) in body["versions"].as_object().into_iter().flatten() {
        if !packument["versions"][version].is_null() {
            return Response::json(
                403,
                &json!({"error": format!("cannot publish over the previously published version {version}")}),
            );
        }
        packument["versions"][version] = manifest.clone();
    }
    for (tag, version) in body["dist-tags"].as_object().into_iter().flatten() {
        packument["dist-tags"][tag] = version.clone();
    }
    for (file, attachment) in attachments {
        let Some(bytes) = attachment["data"].as_str().and_then(unbase64) else {
            return Response::json(400, &json!({"error": "bad attachment"}));
        };
        let file = file.rsplit('/').next().unwrap_or(file);
        state.tarballs.insert(format!("{name}/{file}"), bytes);
    }
    Response::json(201, &json!({"ok": true}))
}

fn update(state: &mut State, name: &str, body: &Value) -> Response {
    let Some(packument) = state.packuments.get_mut(name) else {
        return Response::json(404, &json!({"error": "not_found"}));
    };
    for (version, manifest) in body["versions"].as_object().into_iter().flatten() {
        if packument["versions"][version].is_null() {
            continue;
        }
        packument["versions"][version]["deprecated"] =
            manifest.get("deprecated").cloned().unwrap_or(Value::Null);
    }
    Response::json(200, &json!({"ok": true}))
}
