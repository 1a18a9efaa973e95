//! A package index: the legacy upload API (`POST /legacy/`, multipart)
//! and the JSON API (`GET /pypi/{project}/{version}/json`).

use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::http::{Request, Response, Server};

/// One uploaded file.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The normalized project name.
    pub project: String,
    /// The version.
    pub version: String,
    /// The file's name.
    pub filename: String,
    /// `sdist` or `bdist_wheel`.
    pub filetype: String,
    /// `source` or a wheel's python tag.
    pub pyversion: String,
    /// The SHA-256 the upload declared (and the content has).
    pub sha256: String,
    /// The content.
    pub content: Vec<u8>,
}

/// A running fake index accepting `__token__:{token}`.
pub struct FakePypi {
    /// The server.
    pub server: Server,
    uploads: Arc<Mutex<Vec<Upload>>>,
}

impl FakePypi {
    /// Starts an index that accepts `token`.
    pub fn start(token: &str) -> FakePypi {
        let uploads = Arc::new(Mutex::new(Vec::<Upload>::new()));
        let state = Arc::clone(&uploads);
        let expected = format!("Basic {}", base64(format!("__token__:{token}").as_bytes()));
        let server = Server::start(move |request, _base| {
            handle(request, &expected, &mut state.lock().expect("uploads"))
        });
        FakePypi { server, uploads }
    }

    /// `{base}/legacy/`.
    pub fn upload_url(&self) -> String {
        format!("{}/legacy/", self.server.url)
    }

    /// `{base}/pypi`.
    pub fn index_url(&self) -> String {
        format!("{}/pypi", self.server.url)
    }

    /// Every file uploaded so far.
    pub fn uploads(&self) -> Vec<Upload> {
        self.uploads.lock().expect("uploads").clone()
    }
}

fn handle(request: &Request, expected: &str, uploads: &mut Vec<Upload>) -> Response {
    if request.method == "GET" {
        let parts: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        if let ["pypi", project, version, "json"] = parts.as_slice() {
            let files: Vec<_> = uploads
                .iter()
                .filter(|u| u.project == normalize(project) && u.version == *version)
                .map(|u| {
                    serde_json::json!({
                        "filename": u.filename,
                        "packagetype": u.filetype,
                        "digests": {"sha256": u.sha256},
                    })
                })
                .collect();
            if files.is_empty() {
                return Response::json(404, &serde_json::json!({"message": "Not Found"}));
            }
            return Response::json(
                200,
                &serde_json::json!({"info": {"name": project, "version": version}, "urls": files}),
            );
        }
        return Response::text(404, "not found");
    }
    if request.method != "POST" || request.path != "/legacy/" {
        return Response::text(404, "not found");
    }
    if request.header("authorization") != Some(expected) {
        return Response::text(403, "Invalid or non-existent authentication information");
    }
    let Some(fields) = request
        .header("content-type")
        .and_then(|t| t.split_once("boundary="))
        .map(|(_, b)| parse_multipart(&request.body, b.trim_matches('"')))
    else {
        return Response::text(400, "not multipart/form-data");
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| String::from_utf8_lossy(&f.value).into_owned())
            .unwrap_or_default()
    };
    if field(":action") != "file_upload" || field("protocol_version") != "1" {
        return Response::text(400, "bad action or protocol version");
    }
    let Some(content) = fields.iter().find(|f| f.name == "content") else {
        return Response::text(400, "no content");
    };
    let sha = hex(&Sha256::digest(&content.value));
    if sha != field("sha256_digest") {
        return Response::text(400, "digest mismatch");
    }
    let filename = content.filename.clone().unwrap_or_default();
    if uploads.iter().any(|u| u.filename == filename) {
        return Response::text(400, "File already exists");
    }
    uploads.push(Upload {
        project: normalize(&field("name")),
        version: field("version"),
        filename,
        filetype: field("filetype"),
        pyversion: field("pyversion"),
        sha256: sha,
        content: content.value.clone(),
    });
    Response::text(200, "OK")
}

struct Field {
    name: String,
    filename: Option<String>,
    value: Vec<u8>,
}

fn parse_multipart(body: &[u8], boundary: &str) -> Vec<Field> {
    let delimiter = format!("--{boundary}");
    let mut fields = Vec::new();
    for part in split(body, delimiter.as_bytes()).into_iter().skip(1) {
        if part.starts_with(b"--") {
            break;
        }
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(end) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..end]).into_owned();
        let quoted = |key: &str| {
            head.split(&format!("{key}=\""))
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(str::to_owned)
        };
        fields.push(Field {
            name: quoted(" name").unwrap_or_default(),
            filename: quoted("filename"),
            value: part[end + 4..].to_vec(),
        });
    }
    fields
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    while let Some(at) = find(body, delimiter) {
        parts.push(&body[..at]);
        body = &body[at + delimiter.len()..];
    }
    parts.push(body);
    parts
}

/// PEP 503: lowercase, runs of `-_.` as one `-`.
fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64, `None` when it is not.
pub(crate) fn unbase64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut n = 0u32;
    let mut bits = 0;
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let value = ALPHABET.iter().position(|a| *a == c)? as u32;
        n = n << 6 | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((n >> bits) as u8);
        }
    }
    Some(out)
}
