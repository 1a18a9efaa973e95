//! Tests of the forge client against a local server: GitHub and GitLab
//! listings, retries, redirects, refusals and the settings.
#![allow(clippy::disallowed_methods)]

use super::client::next_link;
use super::gitlab::encode_component;
use super::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

const TOKEN: &str = "ghp_PlantedForgeToken0123456789abcdef";

// ---------------------------------------------------------- server

/// A request as the test server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

enum Reply {
    /// Status, extra headers, JSON body.
    Answer(u16, Vec<(String, String)>, String),
    /// Close the connection without answering.
    Hang,
}

fn json(status: u16, body: serde_json::Value) -> Reply {
    Reply::Answer(status, Vec::new(), body.to_string())
}

struct Server {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A real HTTP/1.1 server on loopback, answering each request with
/// `handler(base_url, request index, request)` on its own thread.
fn serve(handler: impl Fn(&str, usize, &Seen) -> Reply + Send + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (thread_base, thread_seen) = (base.clone(), Arc::clone(&seen));
    std::thread::spawn(move || {
        for (index, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_owned();
            let target = parts.next().unwrap_or("").to_owned();
            let mut headers = Vec::new();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 {
                    break;
                }
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                if let Some((k, v)) = header.split_once(':') {
                    headers.push((k.trim().to_owned(), v.trim().to_owned()));
                }
            }
            let request = Seen {
                method,
                target,
                headers,
            };
            thread_seen.lock().unwrap().push(request.clone());
            let mut stream = reader.into_inner();
            match handler(&thread_base, index, &request) {
                Reply::Hang => drop(stream),
                Reply::Answer(status, extra, body) => {
                    let mut head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                        body.len()
                    );
                    for (k, v) in extra {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(body.as_bytes());
                    let _ = stream.flush();
                }
            }
        }
    });
    Server { base, seen }
}

fn github_pull(number: u64, base: &str, milestone: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "number": number,
        "title": format!("pull {number}"),
        "html_url": format!("https://github.com/acme/app/pull/{number}"),
        "state": "open",
        "draft": false,
        "base": { "ref": base, "sha": "abc" },
        "head": { "ref": "feature/x" },
        "milestone": milestone.map(|t| serde_json::json!({ "title": t, "number": 3 })),
    })
}

fn gitlab_merge(iid: u64, target: &str, milestone: Option<&str>) -> serde_json::Value {
    serde_json::json!({
        "id": 9000 + iid,
        "iid": iid,
        "title": format!("merge {iid}"),
        "web_url": format!("https://gitlab.com/acme/sub/app/-/merge_requests/{iid}"),
        "state": "opened",
        "target_branch": target,
        "source_branch": "feature/y",
        "milestone": milestone.map(|t| serde_json::json!({ "title": t, "iid": 1 })),
    })
}

/// A temporary directory holding a `chmod 600` token file.
fn token_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    dir
}

fn config(kind: ForgeKind, server: &Server, repository: &str) -> ForgeConfig {
    ForgeConfig {
        kind,
        api_url: Some(format!("{}/api/", server.base)),
        repository: repository.to_owned(),
        token: Some("file:token".to_owned()),
    }
}

fn release() -> ReleaseSelector {
    ReleaseSelector {
        version: "1.3.0".to_owned(),
        tag_prefix: "v".to_owned(),
        branches: vec!["release/v1.3.0-rc.1".to_owned()],
    }
}

fn fetch(config: &ForgeConfig, dir: &Path) -> Result<Vec<PullRequest>> {
    open_pull_requests_with(config, &release(), dir, Duration::from_millis(5))
}

// ---------------------------------------------------------- GitHub

#[test]
fn github_lists_release_pulls_across_pages_with_the_token() {
    let server = serve(|base, _, seen| {
        if seen.target.contains("page=2") {
            json(
                200,
                serde_json::json!([
                    github_pull(7, "main", Some("v1.3.0")),
                    github_pull(8, "main", Some("1.4.0")),
                ]),
            )
        } else {
            Reply::Answer(
                200,
                vec![(
                    "Link".to_owned(),
                    format!(
                        "<{base}/api/repositories/1/pulls?state=open&per_page=100&page=2>; rel=\"next\", <{base}/api/repositories/1/pulls?state=open&per_page=100&page=2>; rel=\"last\""
                    ),
                )],
                serde_json::json!([
                    github_pull(12, "release/v1.3.0-rc.1", None),
                    github_pull(11, "main", None),
                    github_pull(5, "main", Some("1.3.0")),
                ])
                .to_string(),
            )
        }
    });
    let dir = token_dir();
    let pulls = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap();
    let numbers: Vec<u64> = pulls.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [5, 7, 12]);
    assert_eq!(
        pulls[2],
        PullRequest {
            number: 12,
            title: "pull 12".to_owned(),
            url: "https://github.com/acme/app/pull/12".to_owned(),
            base: "release/v1.3.0-rc.1".to_owned(),
            milestone: None,
        }
    );
    assert_eq!(pulls[1].milestone.as_deref(), Some("v1.3.0"));

    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(
        seen[0].target,
        "/api/repos/acme/app/pulls?state=open&per_page=100"
    );
    assert_eq!(
        seen[1].target,
        "/api/repositories/1/pulls?state=open&per_page=100&page=2"
    );
    for request in &seen {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(
            request.header("accept"),
            Some("application/vnd.github+json")
        );
        assert!(
            request
                .header("user-agent")
                .unwrap()
                .starts_with("trainyard")
        );
        assert_eq!(request.header("private-token"), None);
    }
}

#[test]
fn github_without_a_token_sends_no_authorization() {
    let server = serve(|_, _, _| json(200, serde_json::json!([])));
    let mut config = config(ForgeKind::Github, &server, "acme/app");
    config.token = None;
    let pulls = fetch(&config, Path::new("/nonexistent")).unwrap();
    assert!(pulls.is_empty());
    assert_eq!(server.seen()[0].header("authorization"), None);
}

#[test]
fn retries_after_a_500_then_succeeds() {
    let server = serve(|_, index, _| {
        if index == 0 {
            json(500, serde_json::json!({ "message": "boom" }))
        } else {
            json(
                200,
                serde_json::json!([github_pull(1, "release/v1.3.0-rc.1", None)]),
            )
        }
    });
    let dir = token_dir();
    let pulls = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap();
    assert_eq!(pulls.len(), 1);
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn retries_after_a_dropped_connection() {
    let server = serve(|_, index, _| {
        if index == 0 {
            Reply::Hang
        } else {
            json(200, serde_json::json!([]))
        }
    });
    let dir = token_dir();
    let pulls = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap();
    assert!(pulls.is_empty());
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn persistent_500_is_an_environment_error_after_three_attempts() {
    let server = serve(|_, _, _| {
        json(
            503,
            serde_json::json!({ "message": "down for maintenance" }),
        )
    });
    let dir = token_dir();
    let err = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Environment);
    assert_eq!(
        err.to_string(),
        format!(
            "forge GET {}/api/repos/acme/app/pulls?state=open&per_page=100 answered HTTP 503 after 3 attempts: down for maintenance",
            server.base
        )
    );
    assert_eq!(server.seen().len(), 3);
}

#[test]
fn refused_token_is_an_input_error_naming_the_reference() {
    let server = serve(|_, _, _| json(401, serde_json::json!({ "message": "Bad credentials" })));
    let dir = token_dir();
    let err = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Input);
    assert_eq!(
        err.to_string(),
        format!(
            "forge {}/api refused the token (401): check the token reference file:token",
            server.base
        )
    );
    // Not retried.
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn missing_token_on_401_says_to_configure_one() {
    let server = serve(|_, _, _| {
        json(
            401,
            serde_json::json!({ "message": "Requires authentication" }),
        )
    });
    let mut config = config(ForgeKind::Github, &server, "acme/app");
    config.token = None;
    let err = fetch(&config, Path::new(".")).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Input);
    assert_eq!(
        err.to_string(),
        format!(
            "forge {}/api requires a token (401): set checklist.forge.token to a credential reference such as env:GITHUB_TOKEN",
            server.base
        )
    );
}

#[test]
fn unknown_repository_is_an_input_error() {
    let server = serve(|_, _, _| json(404, serde_json::json!({ "message": "Not Found" })));
    let dir = token_dir();
    let err = fetch(&config(ForgeKind::Github, &server, "acme/gone"), dir.path()).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Input);
    assert_eq!(
        err.to_string(),
        format!(
            "forge {}/api: repository acme/gone not found (404): check checklist.forge.repository and that the token can read it",
            server.base
        )
    );
}

#[test]
fn rate_limit_is_an_environment_error() {
    let server = serve(|_, _, _| {
        Reply::Answer(
            403,
            vec![
                ("X-RateLimit-Remaining".to_owned(), "0".to_owned()),
                ("X-RateLimit-Reset".to_owned(), "1700000000".to_owned()),
            ],
            serde_json::json!({ "message": "API rate limit exceeded" }).to_string(),
        )
    });
    let dir = token_dir();
    let err = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Environment);
    assert_eq!(
        err.to_string(),
        format!(
            "forge {}/api rate limit exceeded (403) (resets at unix time 1700000000)",
            server.base
        )
    );
}

#[test]
fn other_statuses_are_environment_errors_with_the_forge_message() {
    let server = serve(|_, _, _| json(422, serde_json::json!({ "message": "Validation Failed" })));
    let dir = token_dir();
    let err = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Environment);
    assert_eq!(
        err.to_string(),
        format!(
            "forge GET {}/api/repos/acme/app/pulls?state=open&per_page=100 answered HTTP 422: Validation Failed",
            server.base
        )
    );
}

#[test]
fn malformed_json_is_an_environment_error() {
    let server = serve(|_, _, _| json(200, serde_json::json!({ "not": "a list" })));
    let dir = token_dir();
    let err = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Environment);
    assert!(
        err.to_string().starts_with(&format!(
            "forge GET {}/api/repos/acme/app/pulls?state=open&per_page=100 answered JSON trainyard does not understand: ",
            server.base
        )),
        "{err}"
    );
}

#[test]
fn follows_same_origin_redirects_with_the_token() {
    let server = serve(|base, _, seen| {
        if seen.target.starts_with("/api/repos/") {
            Reply::Answer(
                301,
                vec![(
                    "Location".to_owned(),
                    format!("{base}/api/repositories/42/pulls?state=open&per_page=100"),
                )],
                "{}".to_owned(),
            )
        } else {
            json(
                200,
                serde_json::json!([github_pull(3, "release/v1.3.0-rc.1", None)]),
            )
        }
    });
    let dir = token_dir();
    let pulls = fetch(
        &config(ForgeKind::Github, &server, "acme/renamed"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(pulls.len(), 1);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[1].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[test]
fn links_and_redirects_to_another_host_are_refused() {
    let elsewhere = serve(|_, _, _| json(200, serde_json::json!([])));
    let target = format!(
        "{}/steal?page=2",
        elsewhere.base.replace("127.0.0.1", "localhost")
    );
    let link_target = target.clone();
    let server = serve(move |_, _, _| {
        Reply::Answer(
            200,
            vec![("Link".to_owned(), format!("<{link_target}>; rel=\"next\""))],
            "[]".to_owned(),
        )
    });
    let dir = token_dir();
    let err = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Input);
    assert_eq!(
        err.to_string(),
        format!(
            "forge {0}/api sent a pagination link to {target}, outside {0}/api: refusing to send the token there (set checklist.forge.api_url to the forge's API)",
            server.base
        )
    );

    let redirect_target = target.clone();
    let server = serve(move |_, _, _| {
        Reply::Answer(
            302,
            vec![("Location".to_owned(), redirect_target.clone())],
            "{}".to_owned(),
        )
    });
    let err = fetch(&config(ForgeKind::Github, &server, "acme/app"), dir.path()).unwrap_err();
    assert!(err.to_string().contains("sent a redirect to"), "{err}");
    assert!(elsewhere.seen().is_empty(), "the other host was asked");
}

/// Every error of the forge path, formatted, holds no token, even when
/// the forge echoes it.
#[test]
fn the_token_never_appears_in_any_error() {
    let statuses = [401u16, 403, 404, 418, 422, 429, 500];
    let server = serve(|_, _, seen| {
        let status: u16 = seen
            .target
            .split("status=")
            .nth(1)
            .and_then(|s| s.split('&').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(200);
        json(
            status,
            serde_json::json!({ "message": format!("token {TOKEN} is no good") }),
        )
    });
    let dir = token_dir();
    for status in statuses {
        for kind in [ForgeKind::Github, ForgeKind::Gitlab] {
            let mut config = config(kind, &server, "acme/app");
            config.api_url = Some(format!("{}/status={status}&", server.base));
            let err = fetch(&config, dir.path()).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(TOKEN), "{status}: {shown}");
            assert!(!shown.contains("PlantedForgeToken"), "{status}: {shown}");
        }
    }
    // And in the credential and configuration errors on the way there.
    let mut config = config(ForgeKind::Github, &server, "acme/app");
    config.token = Some(TOKEN.to_owned());
    let err = fetch(&config, dir.path()).unwrap_err();
    assert!(!format!("{err} {err:?}").contains(TOKEN), "{err}");
}

// ---------------------------------------------------------- GitLab

#[test]
fn gitlab_lists_release_merge_requests_with_x_next_page() {
    let server = serve(|_, _, seen| {
        if seen.target.ends_with("&page=2") {
            Reply::Answer(
                200,
                vec![("X-Next-Page".to_owned(), String::new())],
                serde_json::json!([gitlab_merge(4, "main", Some("v1.3.0"))]).to_string(),
            )
        } else {
            Reply::Answer(
                200,
                vec![
                    ("X-Next-Page".to_owned(), "2".to_owned()),
                    ("X-Page".to_owned(), "1".to_owned()),
                ],
                serde_json::json!([
                    gitlab_merge(9, "release/v1.3.0-rc.1", None),
                    gitlab_merge(8, "main", Some("1.2.0")),
                ])
                .to_string(),
            )
        }
    });
    let dir = token_dir();
    let pulls = fetch(
        &config(ForgeKind::Gitlab, &server, "acme/sub/app"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(
        pulls,
        [
            PullRequest {
                number: 4,
                title: "merge 4".to_owned(),
                url: "https://gitlab.com/acme/sub/app/-/merge_requests/4".to_owned(),
                base: "main".to_owned(),
                milestone: Some("v1.3.0".to_owned()),
            },
            PullRequest {
                number: 9,
                title: "merge 9".to_owned(),
                url: "https://gitlab.com/acme/sub/app/-/merge_requests/9".to_owned(),
                base: "release/v1.3.0-rc.1".to_owned(),
                milestone: None,
            },
        ]
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].target,
        "/api/projects/acme%2Fsub%2Fapp/merge_requests?state=opened&per_page=100"
    );
    assert_eq!(
        seen[1].target,
        "/api/projects/acme%2Fsub%2Fapp/merge_requests?state=opened&per_page=100&page=2"
    );
    for request in &seen {
        assert_eq!(request.header("private-token"), Some(TOKEN));
        assert_eq!(request.header("authorization"), None);
    }
}

#[test]
fn gitlab_follows_link_headers_and_numeric_ids() {
    let server = serve(|base, _, seen| {
        if seen.target.contains("id_after") {
            json(
                200,
                serde_json::json!([gitlab_merge(2, "release/v1.3.0-rc.1", None)]),
            )
        } else {
            Reply::Answer(
                200,
                vec![(
                    "Link".to_owned(),
                    format!("<{base}/api/projects/77/merge_requests?id_after=5>; rel=\"next\""),
                )],
                serde_json::json!([gitlab_merge(1, "release/v1.3.0-rc.1", None)]).to_string(),
            )
        }
    });
    let dir = token_dir();
    let pulls = fetch(&config(ForgeKind::Gitlab, &server, "77"), dir.path()).unwrap();
    assert_eq!(pulls.iter().map(|p| p.number).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(
        server.seen()[0].target,
        "/api/projects/77/merge_requests?state=opened&per_page=100"
    );
}

#[test]
fn gitlab_refused_token_names_the_reference() {
    let server = serve(|_, _, _| json(403, serde_json::json!({ "message": "403 Forbidden" })));
    let dir = token_dir();
    let err = fetch(&config(ForgeKind::Gitlab, &server, "acme/app"), dir.path()).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Input);
    assert_eq!(
        err.to_string(),
        format!(
            "forge {}/api refused the token (403): check the token reference file:token",
            server.base
        )
    );
}

// ---------------------------------------------------------- config

#[test]
fn config_defaults_and_validation() {
    let mut config = ForgeConfig {
        kind: ForgeKind::Github,
        api_url: None,
        repository: "acme/app".to_owned(),
        token: Some("env:GITHUB_TOKEN".to_owned()),
    };
    assert_eq!(config.api_base(), "https://api.github.com");
    config.validate().unwrap();
    config.kind = ForgeKind::Gitlab;
    assert_eq!(config.api_base(), "https://gitlab.com/api/v4");
    config.validate().unwrap();

    let cases: Vec<(ForgeConfig, &str)> = vec![
        (
            ForgeConfig {
                kind: ForgeKind::Github,
                repository: "acme".into(),
                ..config.clone()
            },
            "checklist.forge.repository `acme` is not a GitHub repository: write owner/name",
        ),
        (
            ForgeConfig {
                kind: ForgeKind::Github,
                repository: "a/b/c".into(),
                ..config.clone()
            },
            "checklist.forge.repository `a/b/c` is not a GitHub repository: write owner/name",
        ),
        (
            ForgeConfig {
                kind: ForgeKind::Gitlab,
                repository: "app".into(),
                ..config.clone()
            },
            "checklist.forge.repository `app` is not a GitLab project: write its path (group/project) or numeric id",
        ),
        (
            ForgeConfig {
                api_url: Some("http://github.example.com/api/v3".into()),
                ..config.clone()
            },
            "checklist.forge.api_url `http://github.example.com/api/v3` must use https (plain http only for localhost)",
        ),
        (
            ForgeConfig {
                api_url: Some("github.example.com".into()),
                ..config.clone()
            },
            "checklist.forge.api_url `github.example.com` is not a URL (e.g. https://github.example.com/api/v3)",
        ),
        (
            ForgeConfig {
                token: Some("ghp_abcdef".into()),
                ..config.clone()
            },
            "checklist.forge.token: credential references must be env:, file: or command:, never the secret itself",
        ),
    ];
    for (config, message) in cases {
        let err = config.validate().unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Input);
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn config_deserialises_strictly() {
    let config: ForgeConfig = serde_json::from_value(serde_json::json!({
        "kind": "gitlab",
        "repository": "group/project",
        "token": "env:GITLAB_TOKEN",
    }))
    .unwrap();
    assert_eq!(config.kind, ForgeKind::Gitlab);
    assert_eq!(config.api_url, None);
    let err = serde_json::from_value::<ForgeConfig>(serde_json::json!({
        "kind": "github",
        "repository": "a/b",
        "tokn": "env:X",
    }))
    .unwrap_err();
    assert!(err.to_string().contains("unknown field `tokn`"), "{err}");
    assert!(
        serde_json::from_value::<ForgeConfig>(serde_json::json!({
            "kind": "bitbucket",
            "repository": "a/b",
        }))
        .is_err()
    );
}

#[test]
fn selector_matches_branches_globs_and_milestones() {
    let pr = |base: &str, milestone: Option<&str>| PullRequest {
        number: 1,
        title: String::new(),
        url: String::new(),
        base: base.to_owned(),
        milestone: milestone.map(str::to_owned),
    };
    let mut selector = release();
    assert!(selector.matches(&pr("release/v1.3.0-rc.1", None)));
    assert!(!selector.matches(&pr("release/v1.3.0-rc.2", None)));
    assert!(selector.matches(&pr("main", Some("1.3.0"))));
    assert!(selector.matches(&pr("main", Some("v1.3.0"))));
    assert!(!selector.matches(&pr("main", Some("v1.3.0.1"))));
    assert!(!selector.matches(&pr("main", Some("1.3"))));
    assert!(!selector.matches(&pr("main", None)));
    selector.branches = vec!["release/v1.3.0-rc.*".to_owned()];
    assert!(selector.matches(&pr("release/v1.3.0-rc.2", None)));
    assert!(!selector.matches(&pr("release/v1.4.0-rc.1", None)));
    selector.tag_prefix = String::new();
    assert!(!selector.matches(&pr("main", Some("v1.3.0"))));
}

#[test]
fn link_header_parsing() {
    assert_eq!(
        next_link("<https://x/a?page=2>; rel=\"next\", <https://x/a?page=5>; rel=\"last\""),
        Some("https://x/a?page=2".to_owned())
    );
    assert_eq!(
        next_link("<https://x/a?page=1>; rel=\"prev\", <https://x/a?page=3>; rel=\"next last\""),
        Some("https://x/a?page=3".to_owned())
    );
    assert_eq!(next_link("<https://x/a?page=1>; rel=\"first\""), None);
    assert_eq!(
        encode_component("group/sub project"),
        "group%2Fsub%20project"
    );
}
