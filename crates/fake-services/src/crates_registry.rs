//! A cargo registry: a sparse index at `/index/`, and the publish
//! (`PUT /api/v1/crates/new`), yank and download API.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::http::{Request, Response, Server};
use crate::pypi::hex;

/// One published version.
#[derive(Debug, Clone)]
pub struct Published {
    /// Its index line.
    pub entry: Value,
    /// The `.crate` file.
    pub file: Vec<u8>,
    /// Whether it is yanked.
    pub yanked: bool,
}

type Crates = BTreeMap<String, Vec<Published>>;

/// A running fake registry accepting `token`.
pub struct FakeCratesRegistry {
    /// The server.
    pub server: Server,
    crates: Arc<Mutex<Crates>>,
}

impl FakeCratesRegistry {
    /// Starts a registry that accepts `token`.
    pub fn start(token: &str) -> FakeCratesRegistry {
        let crates = Arc::new(Mutex::new(Crates::new()));
        let state = Arc::clone(&crates);
        let token = token.to_owned();
        let server = Server::start(move |request, base| {
            handle(request, base, &token, &mut state.lock().expect("crates"))
        });
        FakeCratesRegistry { server, crates }
    }

    /// `sparse+{base}/index/`.
    pub fn index(&self) -> String {
        format!("sparse+{}/index/", self.server.url)
    }

    /// The versions of `name` published so far, in order, with their
    /// yanked flags.
    pub fn versions(&self, name: &str) -> Vec<(String, bool)> {
        self.crates
            .lock()
            .expect("crates")
            .get(name)
            .map(|versions| {
                versions
                    .iter()
                    .map(|p| (p.entry["vers"].as_str().unwrap_or("").to_owned(), p.yanked))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The sparse index's path of a crate's file.
pub fn index_path(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

fn handle(request: &Request, base: &str, token: &str, crates: &mut Crates) -> Response {
    let path = request.path.as_str();
    if request.method == "GET" && path == "/index/config.json" {
        return Response::json(
            200,
            &json!({"dl": format!("{base}/api/v1/crates"), "api": base, "auth-required": false}),
        );
    }
    if request.method == "GET"
        && let Some(rest) = path.strip_prefix("/index/")
    {
        let name = rest.rsplit('/').next().unwrap_or("");
        return match crates.get(name) {
            Some(versions) if index_path(name) == rest => {
                let lines: Vec<String> = versions
                    .iter()
                    .map(|p| {
                        let mut entry = p.entry.clone();
                        entry["yanked"] = json!(p.yanked);
                        entry.to_string()
                    })
                    .collect();
                Response::text(200, &(lines.join("\n") + "\n"))
            }
            _ => Response::text(404, "not found"),
        };
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let ["api", "v1", "crates", name, version, "download"] = segments.as_slice() {
        return match find(crates, name, version) {
            Some(p) => Response::bytes(200, p.file.clone()),
            None => Response::text(404, "not found"),
        };
    }
    if request.header("authorization") != Some(token) {
        return Response::json(403, &json!({"errors": [{"detail": "invalid token"}]}));
    }
    match (request.method.as_str(), segments.as_slice()) {
        ("PUT", ["api", "v1", "crates", "new"]) => publish(&request.body, crates),
        ("DELETE", ["api", "v1", "crates", name, version, "yank"]) => {
            match crates
                .get_mut(*name)
                .and_then(|v| v.iter_mut().find(|p| p.entry["vers"] == **version))
            {
                Some(p) => {
                    p.yanked = true;
                    Response::json(200, &json!({"ok": true}))
                }
                None => Response::json(404, &json!({"errors": [{"detail": "no such version"}]})),
            }
        }
        _ => Response::text(404, "not found"),
    }
}

fn find<'a>(crates: &'a Crates, name: &str, version: &str) -> Option<&'a Published> {
    crates
        .get(name)?
        .iter()
        .find(|p| p.entry["vers"] == version)
}

fn publish(body: &[u8], crates: &mut Crates) -> Response {
    let bad = |detail: &str| Response::json(400, &json!({"errors": [{"detail": detail}]}));
    let read_u32 = |at: usize| {
        body.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let Some(json_len) = read_u32(0) else {
        return bad("short body");
    };
    let Some(metadata) = body
        .get(4..4 + json_len)
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
    else {
        return bad("bad metadata");
    };
    let Some(file) = read_u32(4 + json_len).and_then(|n| body.get(8 + json_len..8 + json_len + n))
    else {
        return bad("bad crate file");
    };
    let name = metadata["name"].as_str().unwrap_or("").to_owned();
    let vers = metadata["vers"].as_str().unwrap_or("").to_owned();
    if find(crates, &name, &vers).is_some() {
        return bad(&format!("crate version `{vers}` is already uploaded"));
    }
    let deps: Vec<Value> = metadata["deps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let renamed = d["explicit_name_in_toml"].as_str();
            json!({
                "name": renamed.unwrap_or(d["name"].as_str().unwrap_or("")),
                "package": renamed.map(|_| d["name"].clone()),
                "req": d["version_req"],
                "features": d["features"],
                "optional": d["optional"],
                "default_features": d["default_features"],
                "target": d["target"],
                "kind": d["kind"],
                "registry": d["registry"],
            })
        })
        .collect();
    let entry = json!({
        "name": name,
        "vers": vers,
        "deps": deps,
        "cksum": hex(&Sha256::digest(file)),
        "features": metadata["features"],
        "yanked": false,
        "links": metadata["links"],
    });
    crates.entry(name).or_default().push(Published {
        entry,
        file: file.to_vec(),
        yanked: false,
    });
    Response::json(
        200,
        &json!({"warnings": {"invalid_categories": [], "invalid_badges": [], "other": []}}),
    )
}
