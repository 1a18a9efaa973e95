//! A small HTTP server on loopback for the `api` and `registry` endpoint
//! tests: documents and files in memory, ETags, `If-Match` and
//! `If-None-Match` preconditions, JSON listings (an `api` collection as an
//! array of names, a registry directory as nginx's `autoindex_format
//! json`), bearer-token checks and injected 503 answers. Every request
//! is logged with its preconditions, and a `PUT` or `DELETE` of a document
//! that exists is refused (412) unless it carries `If-Match`, so a client
//! that overwrites blindly fails the test instead of passing unnoticed.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct State {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    requests: Mutex<Vec<Logged>>,
    failures: AtomicUsize,
    token: Mutex<Option<String>>,
}

/// A running server; it stops with the test process.
#[derive(Clone)]
pub struct Server {
    pub url: String,
    state: Arc<State>,
}

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    /// Percent-decoded.
    pub path: String,
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
}

impl Logged {
    /// A `PUT` or a `DELETE`.
    pub fn is_write(&self) -> bool {
        self.method == "PUT" || self.method == "DELETE"
    }
}

/// The ETag the server gives a document with this body.
pub fn etag(body: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    format!("\"{:016x}\"", hasher.finish())
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        Server { url, state }
    }

    /// Puts a file (or document) at `path` directly.
    pub fn put(&self, path: &str, body: &[u8]) {
        self.state
            .files
            .lock()
            .expect("lock")
            .insert(path.to_owned(), body.to_vec());
    }

    /// What is at `path`.
    pub fn get(&self, path: &str) -> Option<Vec<u8>> {
        self.state.files.lock().expect("lock").get(path).cloned()
    }

    /// The bodies POSTed to `path`, in order.
    pub fn posts(&self, path: &str) -> Vec<serde_json::Value> {
        let files = self.state.files.lock().expect("lock");
        (0..)
            .map_while(|n| files.get(&format!("{path}#{n}")))
            .map(|body| serde_json::from_slice(body).expect("a JSON body"))
            .collect()
    }

    /// Every path held.
    pub fn paths(&self) -> Vec<String> {
        self.state
            .files
            .lock()
            .expect("lock")
            .keys()
            .cloned()
            .collect()
    }

    /// Requires `Authorization: Bearer <token>`.
    pub fn require_token(&self, token: &str) {
        *self.state.token.lock().expect("lock") = Some(token.to_owned());
    }

    /// Answers the next `n` requests with 503.
    pub fn fail_next(&self, n: usize) {
        self.state.failures.store(n, Ordering::SeqCst);
    }

    /// Every request so far, in the order they arrived.
    pub fn requests(&self) -> Vec<Logged> {
        self.state.requests.lock().expect("lock").clone()
    }
}

/// A request: method, path, headers (lowercase names) and body.
struct Request {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let mut body = Vec::new();
    if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(length) = headers.get("content-length").and_then(|v| v.parse().ok()) {
        body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
    }
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn respond(mut stream: &TcpStream, status: u16, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&path[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(stream: TcpStream, state: &State) {
    let Some(Request {
        method,
        path: raw_path,
        headers,
        body,
    }) = read_request(&stream)
    else {
        return;
    };
    let path = decode(&raw_path);
    state.requests.lock().expect("lock").push(Logged {
        method: method.clone(),
        path: path.clone(),
        if_match: headers.get("if-match").cloned(),
        if_none_match: headers.get("if-none-match").cloned(),
    });
    if state
        .failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        respond(&stream, 503, &[], b"busy");
        return;
    }
    if let Some(token) = state.token.lock().expect("lock").clone()
        && headers.get("authorization") != Some(&format!("Bearer {token}"))
    {
        respond(&stream, 401, &[], b"unauthorized");
        return;
    }
    let mut files = state.files.lock().expect("lock");
    let current = files.get(&path).cloned();
    let precondition_failed = match (
        &current,
        headers.get("if-match"),
        headers.get("if-none-match"),
    ) {
        (Some(_), _, Some(star)) if star == "*" => true,
        (Some(body), Some(tag), _) => *tag != etag(body),
        (None, Some(_), _) => true,
        // Replacing or removing a document requires saying which version.
        (Some(_), None, _) => method == "PUT" || method == "DELETE",
        _ => false,
    };
    match method.as_str() {
        "GET" | "HEAD" => {
            if let Some(body) = current {
                let shown: &[u8] = if method == "HEAD" { b"" } else { &body };
                respond(&stream, 200, &[("ETag", etag(&body))], shown);
                return;
            }
            let dir = format!("{}/", path.trim_end_matches('/'));
            let mut children: BTreeMap<String, bool> = BTreeMap::new();
            for key in files.keys() {
                if let Some(rest) = key.strip_prefix(&dir) {
                    let (name, deeper) = match rest.split_once('/') {
                        Some((name, _)) => (name, true),
                        None => (rest, false),
                    };
                    children.insert(name.to_owned(), deeper);
                }
            }
            if children.is_empty() {
                respond(&stream, 404, &[], b"not found");
            } else if path.ends_with('/') {
                let listing: Vec<serde_json::Value> = children
                    .iter()
                    .map(|(name, dir)| {
                        serde_json::json!({
                            "name": name,
                            "type": if *dir { "directory" } else { "file" },
                        })
                    })
                    .collect();
                respond(
                    &stream,
                    200,
                    &[],
                    serde_json::to_string(&listing).expect("json").as_bytes(),
                );
            } else {
                let names: Vec<&String> = children.keys().collect();
                respond(
                    &stream,
                    200,
                    &[],
                    serde_json::to_string(&names).expect("json").as_bytes(),
                );
            }
        }
        "PUT" => {
            if precondition_failed {
                respond(&stream, 412, &[], b"precondition failed");
                return;
            }
            let created = current.is_none();
            let tag = etag(&body);
            files.insert(path, body);
            respond(
                &stream,
                if created { 201 } else { 200 },
                &[("ETag", tag)],
                b"",
            );
        }
        "DELETE" => {
            if current.is_none() {
                respond(&stream, 404, &[], b"not found");
            } else if precondition_failed {
                respond(&stream, 412, &[], b"precondition failed");
            } else {
                files.remove(&path);
                respond(&stream, 204, &[], b"");
            }
        }
        // A webhook receiver: every POST body is kept, numbered.
        "POST" => {
            let n = files
                .keys()
                .filter(|k| k.starts_with(&format!("{path}#")))
                .count();
            files.insert(format!("{path}#{n}"), body);
            respond(&stream, 200, &[], b"ok");
        }
        _ => respond(&stream, 405, &[], b""),
    }
}
