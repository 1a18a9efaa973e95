//! Tests of the channels: each kind against a real directory, git
//! remote, HTTP server or shell, and the YAML they are configured with.
#![allow(clippy::disallowed_methods)]

use super::http::artifact_url;
use super::*;
use crate::evidence_anchor::ANCHOR_REF;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn read_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read")
}

const AT: &str = "2026-04-20T10:00:00Z";

fn timestamp() -> jiff::Timestamp {
    AT.parse().expect("timestamp")
}

/// Artifacts `a.tar.gz` and `b.zip` in a fresh directory.
fn artifacts_in(dir: &Path) -> Vec<Artifact> {
    std::fs::write(dir.join("a.tar.gz"), b"archive a").expect("write");
    std::fs::write(dir.join("b.zip"), b"zip b, a little longer").expect("write");
    ["a.tar.gz", "b.zip"]
        .iter()
        .map(|n| Artifact::from_file(&dir.join(n)).expect("describe"))
        .collect()
}

fn release(root: &Path, dist: &Path) -> PublishRelease {
    PublishRelease {
        version: "1.2.0".to_owned(),
        tag: "v1.2.0".to_owned(),
        repo_root: root.to_path_buf(),
        artifacts_dir: dist.to_path_buf(),
        artifacts: artifacts_in(dist),
        token: None,
        published_at: timestamp(),
        title: "v1.2.0".to_owned(),
        notes: "## 1.2.0\n".to_owned(),
        prerelease: false,
        package_dirs: Vec::new(),
        artifacts_pending: false,
    }
}

/// Every file under `dir` with its bytes, for before/after comparisons.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                out.insert(path.clone(), Vec::new());
                stack.push(path);
            } else {
                out.insert(path.clone(), read_bytes(&path));
            }
        }
    }
    out
}

fn tree_hash(dir: &Path) -> String {
    let mut bytes = Vec::new();
    for (path, content) in snapshot(dir) {
        bytes.extend(path.display().to_string().as_bytes());
        bytes.push(0);
        bytes.extend(crate::evidence::sha256_hex(&content).as_bytes());
        bytes.push(b'\n');
    }
    crate::evidence::sha256_hex(&bytes)
}

#[test]
fn directory_channel_is_idempotent_and_refuses_conflicts() {
    let root = tempfile::tempdir().expect("tempdir");
    let dist = tempfile::tempdir().expect("tempdir");
    let rel = release(root.path(), dist.path());
    let channel = ChannelConfig::Directory(DirectoryChannel {
        name: "mirror".to_owned(),
        path: PathBuf::from("public/releases"),
        overwrite: false,
    });
    let target = root.path().join("public/releases/1.2.0");

    let first = publish(&channel, &rel).expect("first publish");
    assert_eq!(first.channel, "mirror");
    assert_eq!(first.kind, ChannelKind::Directory);
    assert_eq!(first.published_at, timestamp());
    assert_eq!(
        first.items,
        vec![
            format!("a.tar.gz -> {}", target.join("a.tar.gz").display()),
            format!("b.zip -> {}", target.join("b.zip").display()),
        ]
    );
    assert_eq!(read_bytes(&target.join("a.tar.gz")), b"archive a");

    let before = tree_hash(root.path());
    let second = publish(&channel, &rel).expect("second publish");
    assert_eq!(tree_hash(root.path()), before, "second publish wrote");
    assert!(
        second.items.iter().all(|i| i.ends_with("(already there)")),
        "{second:?}"
    );

    // A different file of the same name is refused, nothing is copied.
    std::fs::write(target.join("b.zip"), b"something else").expect("write");
    std::fs::remove_file(target.join("a.tar.gz")).expect("remove");
    let before = tree_hash(root.path());
    let err = publish(&channel, &rel).expect_err("conflict");
    assert!(
        err.to_string()
            .contains("already published with different content"),
        "{err}"
    );
    assert!(err.to_string().contains("b.zip"), "{err}");
    assert_eq!(tree_hash(root.path()), before, "refused publish wrote");

    // Unless the channel allows overwriting.
    let ChannelConfig::Directory(mut overwrite) = channel.clone() else {
        unreachable!()
    };
    overwrite.overwrite = true;
    let receipt = publish(&ChannelConfig::Directory(overwrite), &rel).expect("overwrite publish");
    assert!(receipt.items[1].ends_with("(replaced)"), "{receipt:?}");
    assert_eq!(read_bytes(&target.join("b.zip")), b"zip b, a little longer");
    assert_eq!(read_bytes(&target.join("a.tar.gz")), b"archive a");
}

#[test]
fn an_artifact_changed_since_the_build_is_not_published() {
    let root = tempfile::tempdir().expect("tempdir");
    let dist = tempfile::tempdir().expect("tempdir");
    let rel = release(root.path(), dist.path());
    std::fs::write(dist.path().join("b.zip"), b"tampered").expect("write");
    let channel = ChannelConfig::Directory(DirectoryChannel {
        name: "mirror".to_owned(),
        path: PathBuf::from("out"),
        overwrite: false,
    });
    let err = publish(&channel, &rel).expect_err("changed");
    assert!(
        err.to_string().contains("changed since it was built"),
        "{err}"
    );
    assert!(!root.path().join("out/1.2.0/b.zip").exists());
}

#[test]
fn plan_has_no_side_effects() {
    let root = tempfile::tempdir().expect("tempdir");
    let dist = tempfile::tempdir().expect("tempdir");
    let mut rel = release(root.path(), dist.path());
    rel.token = Some("s3cret".to_owned());
    std::fs::create_dir_all(root.path().join("mirror/1.2.0")).expect("mkdir");
    std::fs::write(root.path().join("mirror/1.2.0/b.zip"), b"old").expect("write");
    let channels = [
        ChannelConfig::Directory(DirectoryChannel {
            name: "mirror".to_owned(),
            path: PathBuf::from("mirror"),
            overwrite: false,
        }),
        ChannelConfig::GitRemote(GitRemoteChannel {
            name: "origin".to_owned(),
            remote: "origin".to_owned(),
            push_branch: Some("release/1.2".to_owned()),
        }),
        ChannelConfig::Http(HttpChannel {
            name: "store".to_owned(),
            // Nothing listens here; plan must not try.
            url: "http://127.0.0.1:9/base/".to_owned(),
            credentials: Some("env:TOKEN".to_owned()),
            overwrite: false,
        }),
        ChannelConfig::Command(CommandChannel {
            name: "notify".to_owned(),
            run: "touch ran".to_owned(),
            credentials: Some("env:TOKEN".to_owned()),
            timeout_seconds: Timeout::constant(10),
        }),
    ];
    let before_root = tree_hash(root.path());
    let before_dist = tree_hash(dist.path());
    let plans: Vec<Vec<String>> = channels.iter().map(|c| plan(c, &rel)).collect();
    assert_eq!(tree_hash(root.path()), before_root);
    assert_eq!(tree_hash(dist.path()), before_dist);

    let a = &rel.artifacts[0];
    assert_eq!(
        plans[0][0],
        format!(
            "copy a.tar.gz (sha256 {}) to {}: kept if already identical, refused if different",
            &a.sha256[..12],
            root.path().join("mirror/1.2.0/a.tar.gz").display()
        )
    );
    assert_eq!(plans[1].len(), 3);
    assert!(plans[1][1].starts_with("git push origin refs/tags/v1.2.0:refs/tags/v1.2.0"));
    assert!(plans[1][2].starts_with(
        "git push origin refs/trainyard/evidence:refs/trainyard/evidence when the evidence is anchored"
    ));
    assert!(
        plans[2][0].starts_with("PUT http://127.0.0.1:9/base/1.2.0/a.tar.gz (9 bytes"),
        "{}",
        plans[2][0]
    );
    assert!(plans[3][0].contains("TRAINYARD_TOKEN=<redacted>"));
    for step in plans.iter().flatten() {
        assert!(!step.contains("s3cret"), "{step}");
    }
    assert!(!format!("{rel:?}").contains("s3cret"));
}

#[test]
fn command_channel_gets_the_release_environment() {
    let root = tempfile::tempdir().expect("tempdir");
    let dist = tempfile::tempdir().expect("tempdir");
    let mut rel = release(root.path(), dist.path());
    rel.token = Some("tok".to_owned());
    let channel = ChannelConfig::Command(CommandChannel {
        name: "notify".to_owned(),
        run: "printf '%s %s %s %s|%s' \"$TRAINYARD_VERSION\" \"$TRAINYARD_TAG\" \"$TRAINYARD_ARTIFACTS_DIR\" \"$TRAINYARD_TOKEN\" \"$TRAINYARD_ARTIFACTS\" > seen.txt; echo announced"
            .to_owned(),
        credentials: Some("env:T".to_owned()),
        timeout_seconds: Timeout::constant(120),
    });
    let receipt = publish(&channel, &rel).expect("publish");
    assert_eq!(receipt.kind, ChannelKind::Command);
    assert_eq!(receipt.items.len(), 1);
    assert!(receipt.items[0].ends_with(": announced"), "{receipt:?}");
    assert_eq!(
        std::fs::read_to_string(root.path().join("seen.txt")).expect("read"),
        format!("1.2.0 v1.2.0 {} tok|a.tar.gz\nb.zip", dist.path().display())
    );

    let failing = ChannelConfig::Command(CommandChannel {
        name: "broken".to_owned(),
        run: "echo upload refused >&2; exit 7".to_owned(),
        credentials: None,
        timeout_seconds: Timeout::constant(120),
    });
    let err = publish(&failing, &rel).expect_err("fails");
    assert!(err.to_string().contains("exit 7"), "{err}");
    assert!(err.to_string().contains("upload refused"), "{err}");
}

// ------------------------------------------------------------ git

use crate::test_git::git;

#[test]
fn git_remote_channel_pushes_the_tag_once_and_refuses_a_moved_tag() {
    let home = tempfile::tempdir().expect("tempdir");
    let bare = tempfile::tempdir().expect("tempdir");
    let work = tempfile::tempdir().expect("tempdir");
    let dist = tempfile::tempdir().expect("tempdir");
    git(bare.path(), home.path(), &["init", "--quiet", "--bare"]);
    let w = work.path();
    git(w, home.path(), &["init", "--quiet"]);
    // Local settings, so the git that publish runs sees them too.
    for (key, value) in [
        ("user.name", "Release Bot"),
        ("user.email", "bot@example.com"),
        ("commit.gpgsign", "false"),
        ("tag.gpgsign", "false"),
        ("push.gpgsign", "false"),
    ] {
        git(w, home.path(), &["config", key, value]);
    }
    std::fs::write(w.join("README"), "one\n").expect("write");
    git(w, home.path(), &["add", "README"]);
    git(w, home.path(), &["commit", "--quiet", "-m", "feat: one"]);
    git(w, home.path(), &["branch", "release/1.2"]);
    git(w, home.path(), &["tag", "-a", "v1.2.0", "-m", "v1.2.0"]);
    let remote_url = bare.path().display().to_string();
    git(w, home.path(), &["remote", "add", "origin", &remote_url]);

    let rel = release(w, dist.path());
    let channel = ChannelConfig::GitRemote(GitRemoteChannel {
        name: "origin".to_owned(),
        remote: "origin".to_owned(),
        push_branch: Some("release/1.2".to_owned()),
    });
    let tag_object = git(w, home.path(), &["rev-parse", "refs/tags/v1.2.0"]);

    let first = publish(&channel, &rel).expect("first publish");
    assert_eq!(first.kind, ChannelKind::GitRemote);
    assert_eq!(
        git(bare.path(), home.path(), &["rev-parse", "refs/tags/v1.2.0"]),
        tag_object
    );
    assert_eq!(
        git(
            bare.path(),
            home.path(),
            &["rev-parse", "refs/heads/release/1.2"]
        ),
        git(w, home.path(), &["rev-parse", "HEAD"])
    );
    assert_eq!(
        first.items,
        vec![
            format!(
                "refs/heads/release/1.2 -> origin ({})",
                &git(w, home.path(), &["rev-parse", "HEAD"])[..12]
            ),
            format!("refs/tags/v1.2.0 -> origin ({})", &tag_object[..12]),
        ]
    );

    let second = publish(&channel, &rel).expect("re-push");
    assert!(
        second
            .items
            .iter()
            .all(|i| i.contains("(already there at ")),
        "{second:?}"
    );

    // The evidence anchor goes along, once there is one, and only
    // forward.
    let head = git(w, home.path(), &["rev-parse", "HEAD"]);
    git(w, home.path(), &["update-ref", ANCHOR_REF, &head]);
    let third = publish(&channel, &rel).expect("anchor push");
    assert_eq!(
        third.items.last(),
        Some(&format!("{ANCHOR_REF} -> origin ({})", &head[..12]))
    );
    assert_eq!(
        git(bare.path(), home.path(), &["rev-parse", ANCHOR_REF]),
        head
    );
    let orphan = git(
        w,
        home.path(),
        &["commit-tree", "HEAD^{tree}", "-m", "forged anchor"],
    );
    git(w, home.path(), &["update-ref", ANCHOR_REF, &orphan]);
    let err = publish(&channel, &rel).expect_err("a rewritten anchor");
    assert!(err.to_string().contains("is never force-pushed"), "{err}");
    assert_eq!(
        git(bare.path(), home.path(), &["rev-parse", ANCHOR_REF]),
        head
    );
    git(w, home.path(), &["update-ref", ANCHOR_REF, &head]);

    // Move the tag locally to another commit: the remote one stays.
    std::fs::write(w.join("README"), "two\n").expect("write");
    git(w, home.path(), &["commit", "--quiet", "-am", "fix: two"]);
    git(
        w,
        home.path(),
        &["tag", "-f", "-a", "v1.2.0", "-m", "moved"],
    );
    let plain = ChannelConfig::GitRemote(GitRemoteChannel {
        name: "origin".to_owned(),
        remote: remote_url.clone(),
        push_branch: None,
    });
    let err = publish(&plain, &rel).expect_err("moved tag");
    assert!(
        err.to_string()
            .contains("a tag once published is not moved"),
        "{err}"
    );
    assert_eq!(
        git(bare.path(), home.path(), &["rev-parse", "refs/tags/v1.2.0"]),
        tag_object
    );

    let mut missing = rel.clone();
    missing.tag = "v9.9.9".to_owned();
    let err = publish(&plain, &missing).expect_err("no tag");
    assert!(
        err.to_string().contains("tag v9.9.9 does not exist"),
        "{err}"
    );
}

// ------------------------------------------------------------ http

#[derive(Default)]
struct Store {
    files: HashMap<String, Vec<u8>>,
    /// Answer the next this-many PUTs with 500.
    fail_puts: usize,
    /// `METHOD path` of every request.
    log: Vec<String>,
    authorization: Vec<Option<String>>,
}

/// An HTTP/1.1 server on loopback storing PUT bodies in memory; one
/// request per connection. It stops when dropped, and after at most
/// 200 connections in any case.
struct TestServer {
    base: String,
    store: Arc<Mutex<Store>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl TestServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let store = Arc::new(Mutex::new(Store::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (Arc::clone(&store), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming().take(200) {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let _ = serve(stream, &s);
                }
            }
        });
        TestServer {
            base: format!("http://{addr}/store"),
            store,
            stop,
            addr,
        }
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().expect("lock")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(stream: TcpStream, store: &Mutex<Store>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut length = 0usize;
    let mut authorization = None;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "authorization" => authorization = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let (status, payload, head_length) = {
        let mut store = store.lock().expect("lock");
        store.log.push(format!("{method} {path}"));
        store.authorization.push(authorization);
        match method.as_str() {
            "PUT" if store.fail_puts > 0 => {
                store.fail_puts -= 1;
                ("500 Internal Server Error", b"try again".to_vec(), None)
            }
            "PUT" => {
                store.files.insert(path, body);
                ("201 Created", Vec::new(), None)
            }
            "GET" => match store.files.get(&path) {
                Some(bytes) => ("200 OK", bytes.clone(), None),
                None => ("404 Not Found", b"no such file".to_vec(), None),
            },
            "HEAD" => match store.files.get(&path) {
                Some(bytes) => ("200 OK", Vec::new(), Some(bytes.len())),
                None => ("404 Not Found", Vec::new(), Some(0)),
            },
            _ => ("405 Method Not Allowed", Vec::new(), None),
        }
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        head_length.unwrap_or(payload.len())
    )?;
    out.write_all(&payload)?;
    out.flush()
}

#[test]
fn http_channel_uploads_retries_and_verifies() {
    let server = TestServer::start();
    let root = tempfile::tempdir().expect("tempdir");
    let dist = tempfile::tempdir().expect("tempdir");
    let mut rel = release(root.path(), dist.path());
    rel.token = Some("s3cret".to_owned());
    let channel = ChannelConfig::Http(HttpChannel {
        name: "store".to_owned(),
        url: format!("{}/", server.base),
        credentials: Some("env:STORE_TOKEN".to_owned()),
        overwrite: false,
    });
    server.store().fail_puts = 1;

    let receipt = publish(&channel, &rel).expect("publish");
    assert_eq!(receipt.kind, ChannelKind::Http);
    assert_eq!(
        receipt.items,
        vec![
            format!("a.tar.gz -> {}/1.2.0/a.tar.gz", server.base),
            format!("b.zip -> {}/1.2.0/b.zip", server.base),
        ]
    );
    {
        let store = server.store();
        assert_eq!(store.files["/store/1.2.0/a.tar.gz"], b"archive a");
        assert_eq!(store.files["/store/1.2.0/b.zip"], b"zip b, a little longer");
        let puts = store.log.iter().filter(|l| l.starts_with("PUT ")).count();
        assert_eq!(puts, 3, "one 500 then two uploads: {:?}", store.log);
        assert!(
            store
                .authorization
                .iter()
                .all(|a| a.as_deref() == Some("Bearer s3cret")),
            "{:?}",
            store.authorization
        );
    }

    // Again: nothing is uploaded.
    let before = server.store().log.len();
    let again = publish(&channel, &rel).expect("re-publish");
    assert!(
        again.items.iter().all(|i| i.ends_with("(already there)")),
        "{again:?}"
    );
    assert!(
        server.store().log[before..]
            .iter()
            .all(|l| !l.starts_with("PUT ")),
        "{:?}",
        server.store().log
    );
}

#[test]
fn http_channel_refuses_a_different_existing_artifact() {
    let server = TestServer::start();
    let root = tempfile::tempdir().expect("tempdir");
    let dist = tempfile::tempdir().expect("tempdir");
    let rel = release(root.path(), dist.path());
    {
        let mut store = server.store();
        // Same size as b.zip, different bytes: HEAD cannot tell.
        store.files.insert(
            "/store/1.2.0/b.zip".to_owned(),
            b"zip B, a little longer".to_vec(),
        );
        // Different size: HEAD tells.
        store
            .files
            .insert("/store/1.2.0/a.tar.gz".to_owned(), b"old".to_vec());
    }
    let channel = ChannelConfig::Http(HttpChannel {
        name: "store".to_owned(),
        url: server.base.clone(),
        credentials: None,
        overwrite: false,
    });
    let err = publish(&channel, &rel).expect_err("conflict");
    let text = err.to_string();
    assert!(
        text.contains("already published with different content"),
        "{text}"
    );
    assert!(
        text.contains("a.tar.gz (3 bytes, the release's is 9)"),
        "{text}"
    );
    assert!(text.contains("b.zip (sha256 "), "{text}");
    assert!(
        server.store().log.iter().all(|l| !l.starts_with("PUT ")),
        "{:?}",
        server.store().log
    );

    let ChannelConfig::Http(mut overwrite) = channel else {
        unreachable!()
    };
    overwrite.overwrite = true;
    let receipt = publish(&ChannelConfig::Http(overwrite), &rel).expect("overwrite");
    assert!(
        receipt.items.iter().all(|i| i.ends_with("(replaced)")),
        "{receipt:?}"
    );
    assert_eq!(
        server.store().files["/store/1.2.0/b.zip"],
        b"zip b, a little longer"
    );
}

#[test]
fn http_channel_gives_up_on_a_server_that_keeps_failing() {
    let server = TestServer::start();
    let root = tempfile::tempdir().expect("tempdir");
    let dist = tempfile::tempdir().expect("tempdir");
    let mut rel = release(root.path(), dist.path());
    rel.artifacts.truncate(1);
    server.store().fail_puts = 10;
    let channel = ChannelConfig::Http(HttpChannel {
        name: "store".to_owned(),
        url: server.base.clone(),
        credentials: None,
        overwrite: false,
    });
    let err = publish(&channel, &rel).expect_err("gives up");
    assert!(
        err.to_string()
            .contains("answered HTTP 500 after 4 attempts"),
        "{err}"
    );
    assert_eq!(server.store().fail_puts, 6);
}

#[test]
fn a_bad_key_of_a_channel_is_reported_at_its_line_and_column() {
    let error = |yaml: &str| {
        crate::yaml::parse::<Vec<ChannelConfig>>(yaml, Path::new("c.yaml"))
            .expect_err(yaml)
            .to_string()
    };
    let cases = [
        "- type: command\n  name: c\n  run: x\n  timeout_seconds: 18446744073709551615\n",
        "- type: command\n  name: c\n  run: x\n  timeout_seconds: 0\n",
        "- type: directory\n  name: m\n  path: x\n  overwrite: maybe\n",
        "- type: directory\n  name: m\n  path: x\n  colour: red\n",
        "- type: directory\n  name: m\n  path: x\n  push_branch: main\n",
        "- type: git_remote\n  name: o\n",
        "- type: ftp\n  name: m\n",
        "- name: m\n  path: x\n",
    ];
    let messages: Vec<String> = cases.iter().map(|c| error(c)).collect();
    insta::assert_snapshot!(messages.join("\n"), @r"
    c.yaml:4:20: [0].timeout_seconds: must be between 1 and 604800 (7 days), not 18446744073709551615
    c.yaml:4:20: [0].timeout_seconds: must be between 1 and 604800 (7 days), not 0
    c.yaml:4:14: [0].overwrite: invalid boolean
    c.yaml:4:3: [0].colour: unknown field `colour`, expected one of type, name, path, remote, push_branch, url, run, credentials, overwrite, timeout_seconds, api_url, repository, draft, make_latest, on_rollback, registry, index, packages, access, dist_tag, upload_url, index_url, dist
    c.yaml:1:3: [0]: channel `m`: `push_branch` does not apply to a directory channel, expected one of type, name, path, overwrite
    c.yaml:1:3: [0]: channel `o`: a git_remote channel needs `remote`
    c.yaml:1:9: [0].type: unknown variant `ftp`, expected one of directory, git_remote, http, command, github, gitlab, gitea, crates, npm, pypi
    c.yaml:2:3: [0]: missing field `type`
    ");
}

#[test]
fn channels_read_back_what_they_write() {
    let channels = vec![
        ChannelConfig::Directory(DirectoryChannel {
            name: "mirror".to_owned(),
            path: PathBuf::from("/srv"),
            overwrite: true,
        }),
        ChannelConfig::GitRemote(GitRemoteChannel {
            name: "origin".to_owned(),
            remote: "origin".to_owned(),
            push_branch: None,
        }),
        ChannelConfig::Http(HttpChannel {
            name: "store".to_owned(),
            url: "https://example.com/app".to_owned(),
            credentials: Some("env:T".to_owned()),
            overwrite: false,
        }),
        ChannelConfig::Command(CommandChannel {
            name: "tap".to_owned(),
            run: "./tap.sh".to_owned(),
            credentials: None,
            timeout_seconds: Timeout::constant(90),
        }),
    ];
    let json = serde_json::to_value(&channels).expect("json");
    assert_eq!(json[0]["type"], "directory");
    assert_eq!(json[3]["timeout_seconds"], 90);
    let back: Vec<ChannelConfig> = serde_json::from_value(json).expect("back");
    assert_eq!(back, channels);
}

#[test]
fn channel_yaml_shapes_and_validation() {
    let yaml = r#"
- type: directory
  name: mirror
  path: /srv/releases
- type: git_remote
  name: origin
  remote: origin
  push_branch: release/1.2
- type: http
  name: store
  url: https://artifacts.example.com/app
  credentials: env:TOKEN
  overwrite: true
- type: command
  name: notify
  run: ./announce.sh
"#;
    let channels: Vec<ChannelConfig> = serde_saphyr::from_str(yaml).expect("parse");
    assert_eq!(channels.len(), 4);
    assert_eq!(channels[1].kind(), ChannelKind::GitRemote);
    assert_eq!(channels[2].credentials(), Some("env:TOKEN"));
    let ChannelConfig::Command(command) = &channels[3] else {
        unreachable!()
    };
    assert_eq!(command.timeout_seconds, DEFAULT_COMMAND_TIMEOUT_SECONDS);
    validate(&channels).expect("valid");

    let unknown = "- type: directory\n  name: m\n  path: x\n  colour: red\n";
    assert!(serde_saphyr::from_str::<Vec<ChannelConfig>>(unknown).is_err());
    let bad_type = "- type: ftp\n  name: m\n";
    assert!(serde_saphyr::from_str::<Vec<ChannelConfig>>(bad_type).is_err());

    let mut twice = channels.clone();
    twice.push(channels[0].clone());
    assert!(
        validate(&twice)
            .expect_err("dup")
            .to_string()
            .contains("used twice")
    );
    let bad_url = ChannelConfig::Http(HttpChannel {
        name: "x".to_owned(),
        url: "ftp://host/x".to_owned(),
        credentials: None,
        overwrite: false,
    });
    assert!(validate(&[bad_url]).is_err());

    let receipt = ChannelReceipt {
        channel: "mirror".to_owned(),
        kind: ChannelKind::GitRemote,
        published_at: timestamp(),
        items: vec!["x".to_owned()],
    };
    let json = serde_json::to_string(&receipt).expect("json");
    assert_eq!(
        json,
        r#"{"channel":"mirror","kind":"git_remote","published_at":"2026-04-20T10:00:00Z","items":["x"]}"#
    );
    assert_eq!(
        serde_json::from_str::<ChannelReceipt>(&json).expect("back"),
        receipt
    );
}

#[test]
fn urls_are_encoded_and_hosts_recognised() {
    use crate::http::{host_of, is_loopback};
    assert_eq!(
        artifact_url("https://h/base/", "1.0.0+build.1", "my file.tgz"),
        "https://h/base/1.0.0%2Bbuild.1/my%20file.tgz"
    );
    assert_eq!(host_of("http://user:pw@127.0.0.1:8080/x"), "127.0.0.1");
    assert_eq!(host_of("http://[::1]:80/"), "::1");
    assert!(is_loopback("localhost") && is_loopback("::1") && !is_loopback("example.com"));
}
