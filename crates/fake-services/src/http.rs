//! A small HTTP/1.1 server on loopback: one thread a connection, one
//! request a connection (`Connection: close`), a request log, and
//! injected failures.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`…
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string (after `?`), empty when none.
    pub query: String,
    /// Headers, names lowercased.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// A query parameter's value (not percent-decoded).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }

    /// The body as JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers to send (`Content-Length` is added).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// An answer with `status` and a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// An answer with `status` and a plain-text body.
    pub fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// An answer with `status` and raw bytes.
    pub fn bytes(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/octet-stream".into())],
            body,
        }
    }

    /// The same answer with one more header.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

type Handler = dyn Fn(&Request, &str) -> Response + Send + Sync;

struct Shared {
    handler: Box<Handler>,
    log: Mutex<Vec<String>>,
    /// (method, path prefix, status, remaining count)
    failures: Mutex<Vec<(String, String, u16, usize)>>,
}

/// A running server; it stops with the test process.
#[derive(Clone)]
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shared: Arc<Shared>,
}

impl Server {
    /// Starts a server whose `handler` answers each request; the second
    /// argument is the server's own base URL (for links it returns).
    pub fn start(handler: impl Fn(&Request, &str) -> Response + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            log: Mutex::new(Vec::new()),
            failures: Mutex::new(Vec::new()),
        });
        let serving = Arc::clone(&shared);
        let base = url.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&serving);
                let base = base.clone();
                std::thread::spawn(move || serve(stream, &shared, &base));
            }
        });
        Server { url, shared }
    }

    /// Every request received so far, `METHOD /path?query` each.
    pub fn log(&self) -> Vec<String> {
        self.shared.log.lock().expect("log").clone()
    }

    /// The requests received so far whose line starts with `prefix`
    /// (e.g. `POST /repos/`).
    pub fn requests(&self, prefix: &str) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|line| line.starts_with(prefix))
            .collect()
    }

    /// Answers the next `count` `method` requests whose path (with its
    /// query, `/upload?name=b.zip`) starts with `path_prefix` with
    /// `status`, before the handler sees them.
    pub fn fail(&self, method: &str, path_prefix: &str, status: u16, count: usize) {
        self.shared.failures.lock().expect("failures").push((
            method.to_owned(),
            path_prefix.to_owned(),
            status,
            count,
        ));
    }
}

fn serve(stream: TcpStream, shared: &Shared, base: &str) {
    let Ok(request) = read_request(&stream) else {
        return;
    };
    let line = if request.query.is_empty() {
        format!("{} {}", request.method, request.path)
    } else {
        format!("{} {}?{}", request.method, request.path, request.query)
    };
    shared.log.lock().expect("log").push(line.clone());
    let target = line.split_once(' ').map_or("", |(_, t)| t);
    let injected = {
        let mut failures = shared.failures.lock().expect("failures");
        failures
            .iter_mut()
            .find(|(method, prefix, _, left)| {
                *left > 0 && *method == request.method && target.starts_with(prefix.as_str())
            })
            .map(|(_, _, status, left)| {
                *left -= 1;
                *status
            })
    };
    let response = match injected {
        Some(status) => Response::text(status, "injected failure"),
        None => (shared.handler)(&request, base),
    };
    write_response(stream, &response);
}

fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let mut body = Vec::new();
    if let Some(length) = headers
        .get("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), query.to_owned()),
        None => (target, String::new()),
    };
    Ok(Request {
        method,
        path,
        query,
        headers,
        body,
    })
}

fn write_response(mut stream: TcpStream, response: &Response) {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        reason(response.status),
        response.body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&response.body);
    let _ = stream.flush();
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Items `page` (from 1) of a list served `per_page` at a time, and
/// whether a page follows.
pub fn page_of<T: Clone>(items: &[T], page: usize, per_page: usize) -> (Vec<T>, bool) {
    let start = page.saturating_sub(1) * per_page;
    let end = (start + per_page).min(items.len());
    let slice = items.get(start..end).map(<[T]>::to_vec).unwrap_or_default();
    (slice, end < items.len())
}
