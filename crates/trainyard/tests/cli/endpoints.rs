//! `api` and `registry` sync endpoints against a real HTTP server on
//! loopback: plan, approve, apply, verify and log; stale documents; no
//! overwrite of a published version; retries; pre-sync validation; and a
//! planted secret that never shows.

use crate::http_server::{Logged, Server, etag};
use crate::support::TestRepo;

const TOKEN: &str = "s3cret-token-4f9a2b";

fn sync_yaml(id: &str, source: &str, target: &str, options: &str) -> String {
    format!(
        "sync_config:\n  sync_id: {id}\n  name: {id}\n  type: config\n  source: {source}\n  target: {target}\n  options:\n    dry_run_required: true\n    approval_required: true\n    conflict_strategy: theirs\n{options}  filters: {{ include: [], exclude: [] }}\n  schedule: {{ trigger: manual }}\n  notifications: {{ on_success: [], on_failure: [] }}\n"
    )
}

fn write(method: &str, path: &str, if_match: Option<&str>, if_none_match: Option<&str>) -> Logged {
    Logged {
        method: method.to_owned(),
        path: path.to_owned(),
        if_match: if_match.map(str::to_owned),
        if_none_match: if_none_match.map(str::to_owned),
    }
}

/// `sync approve` succeeded and says what it approved: the plan (by its
/// short id), the sync, who, and how many changes.
fn assert_approved(run: &crate::support::Run, plan: &str, sync: &str, changes: usize) {
    assert_eq!(run.code(), 0, "{}", run.transcript());
    assert!(run.stdout().is_empty(), "{}", run.transcript());
    let first = run.stderr().lines().next().unwrap_or_default().to_owned();
    assert_eq!(
        first,
        format!(
            "approved: plan {} of {sync} by ops@example.org ({changes} changes)",
            &plan[..16]
        ),
        "{}",
        run.transcript()
    );
}

fn with_token(repo: &TestRepo, args: &[&str]) -> crate::support::Run {
    repo.run_env(args, &[("API_TOKEN", TOKEN)])
}

/// Every output and every file written under `.trainyard`, for the
/// planted-secret check.
fn assert_secret_absent(repo: &TestRepo, outputs: &[String]) {
    for output in outputs {
        assert!(!output.contains(TOKEN), "the token leaked: {output}");
    }
    for (path, bytes) in crate::support::snapshot_dir(&repo.path().join(".trainyard")) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(TOKEN),
            "the token leaked into {}",
            path.display()
        );
    }
}

fn api_fixture() -> (TestRepo, Server) {
    let server = Server::start();
    server.require_token(TOKEN);
    server.put(
        "/api/flags",
        br#"{"pagination": false, "limit": 10, "beta": {"csv": true}}"#,
    );
    server.put("/api/retired", br#"{"on": true}"#);
    let repo = TestRepo::new();
    repo.write(
        "config/flags.json",
        "{\n  \"beta\": { \"csv\": false },\n  \"limit\": 10,\n  \"pagination\": true\n}\n",
    );
    repo.write("config/quotas.json", "{\"max\": 5}\n");
    repo.commit("feat: flags");
    repo.write(
        ".trainyard/syncs/flags.yaml",
        &sync_yaml(
            "flags",
            "{ type: file, location: config }",
            &format!(
                "{{ type: api, location: \"{}/api\", credentials: \"env:API_TOKEN\" }}",
                server.url
            ),
            "",
        ),
    );
    (repo, server)
}

#[test]
fn an_api_sync_plans_by_key_applies_with_preconditions_and_catches_stale_documents() {
    let (repo, server) = api_fixture();
    let flags_tag = etag(&server.get("/api/flags").expect("flags"));
    let retired_tag = etag(&server.get("/api/retired").expect("retired"));
    let mut outputs = Vec::new();
    let validated = with_token(&repo, &["sync", "validate", "flags"]);
    assert_eq!(validated.code(), 0, "{}", validated.transcript());
    let plan = with_token(&repo, &["sync", "plan", "flags"]);
    assert_eq!(plan.code(), 1, "{}", plan.transcript());
    let diff = plan.stdout();
    // Structural: the keys that changed, not a whole-document rewrite.
    assert!(diff.contains("document changed: flags.json"), "{diff}");
    assert!(diff.contains("~ .beta.csv: true -> false"), "{diff}");
    assert!(diff.contains("~ .pagination: false -> true"), "{diff}");
    assert!(
        !diff.contains(".limit"),
        "unchanged keys are not shown: {diff}"
    );
    assert!(diff.contains("new document: quotas.json"), "{diff}");
    assert!(diff.contains("document removed: retired.json"), "{diff}");
    outputs.push(plan.transcript());
    let id = with_token(&repo, &["--json", "sync", "plan", "flags"]).json()["plan_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let before = server.paths();
    let approved = with_token(&repo, &["sync", "approve", &id, "--by", "ops@example.org"]);
    assert_approved(&approved, &id, "flags", 3);
    outputs.push(approved.transcript());
    assert_eq!(
        server.paths(),
        before,
        "planning and approving write nothing"
    );
    let applied = with_token(&repo, &["--json", "sync", "apply", &id]);
    assert_eq!(applied.code(), 0, "{}", applied.transcript());
    outputs.push(applied.transcript());
    let log = applied.json();
    assert_eq!(log["log"]["execution"]["status"], "success");
    assert_eq!(log["log"]["verification"]["integrity_verified"], true);
    let flags: serde_json::Value =
        serde_json::from_slice(&server.get("/api/flags").expect("flags")).expect("json");
    assert_eq!(flags["pagination"], true);
    assert_eq!(flags["beta"]["csv"], false);
    assert!(server.get("/api/quotas").is_some());
    assert!(server.get("/api/retired").is_none());
    // Writes carried their preconditions: the ETag read when planned for
    // a document replaced or removed, `If-None-Match: *` for a new one.
    let mut writes: Vec<Logged> = server
        .requests()
        .into_iter()
        .filter(Logged::is_write)
        .collect();
    writes.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(
        writes,
        [
            write("PUT", "/api/flags", Some(&flags_tag), None),
            write("PUT", "/api/quotas", None, Some("*")),
            write("DELETE", "/api/retired", Some(&retired_tag), None),
        ],
    );

    // A document changed on the server between plan and apply: stale.
    repo.write("config/quotas.json", "{\"max\": 6}\n");
    let id = with_token(&repo, &["--json", "sync", "plan", "flags"]).json()["plan_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let approved = with_token(&repo, &["sync", "approve", &id, "--by", "ops@example.org"]);
    assert_approved(&approved, &id, "flags", 1);
    server.put("/api/quotas", br#"{"max": 99}"#);
    let seen = server.requests().len();
    let stale = with_token(&repo, &["sync", "apply", &id]);
    assert_eq!(stale.code(), 2, "{}", stale.transcript());
    assert!(stale.stderr().contains("is stale"), "{}", stale.stderr());
    assert_eq!(
        server.get("/api/quotas").expect("quotas"),
        br#"{"max": 99}"#,
        "never overwritten"
    );
    // The stale document is caught before anything is written: the apply
    // read the server again and wrote nothing.
    let during = &server.requests()[seen..];
    assert!(during.iter().all(|r| !r.is_write()), "{during:?}");
    assert!(during.iter().any(|r| r.path == "/api/quotas"), "{during:?}");
    outputs.push(stale.transcript());
    assert_secret_absent(&repo, &outputs);
}

#[test]
fn a_registry_sync_uploads_reads_back_and_never_overwrites_a_published_version() {
    let server = Server::start();
    server.put("/packages/widget/1.0.0/widget.tgz", b"one");
    let repo = TestRepo::new();
    repo.write("dist/widget/1.0.0/widget.tgz", "one");
    repo.write("dist/widget/1.1.0/widget.tgz", "one point one");
    repo.write("dist/widget/1.1.0/SHA256SUMS", "sums\n");
    repo.commit("chore: artifacts");
    repo.write(
        ".trainyard/syncs/packages.yaml",
        &sync_yaml(
            "packages",
            "{ type: file, location: dist }",
            &format!(
                "{{ type: registry, location: \"{}/packages\" }}",
                server.url
            ),
            "",
        ),
    );
    let plan = repo.run(&["--json", "sync", "plan", "packages"]);
    assert_eq!(plan.code(), 1, "{}", plan.transcript());
    let id = plan.json()["plan_id"].as_str().expect("id").to_owned();
    let shown = repo.run(&["sync", "plan", "packages"]).stdout();
    assert!(
        shown.contains("upload widget/1.1.0/widget.tgz (sha256 "),
        "{shown}"
    );
    assert_approved(
        &repo.run(&["sync", "approve", &id, "--by", "ops@example.org"]),
        &id,
        "packages",
        2,
    );
    // The registry is briefly unavailable: the client retries.
    server.fail_next(2);
    let applied = repo.run(&["--json", "sync", "apply", &id]);
    assert_eq!(applied.code(), 0, "{}", applied.transcript());
    assert_eq!(
        applied.json()["log"]["verification"]["integrity_verified"],
        true
    );
    assert_eq!(
        server
            .get("/packages/widget/1.1.0/widget.tgz")
            .expect("uploaded"),
        b"one point one"
    );
    // Each upload was read back.
    let gets = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == "/packages/widget/1.1.0/widget.tgz")
        .count();
    assert!(gets >= 1);
    // Every upload is of a new file, and says so: a published file is
    // never replaced.
    let writes: Vec<Logged> = server
        .requests()
        .into_iter()
        .filter(Logged::is_write)
        .collect();
    assert!(!writes.is_empty());
    for logged in &writes {
        assert_eq!(logged.method, "PUT", "{logged:?}");
        assert_eq!(logged.if_none_match.as_deref(), Some("*"), "{logged:?}");
        assert_eq!(logged.if_match, None, "{logged:?}");
    }
    // A published version with other content is never overwritten.
    repo.write("dist/widget/1.1.0/widget.tgz", "tampered");
    let refused = repo.run(&["sync", "plan", "packages"]);
    assert_eq!(refused.code(), 2, "{}", refused.transcript());
    assert!(
        refused
            .stderr()
            .contains("a published version is never overwritten"),
        "{}",
        refused.stderr()
    );
}

#[test]
fn pre_sync_validation_stops_a_run_before_the_dry_run() {
    // An unreachable source, a missing credential, an unreadable target.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        drop(listener);
        url
    };
    let server = Server::start();
    server.require_token(TOKEN);
    let repo = TestRepo::new();
    repo.write("config/a.json", "{}\n");
    repo.commit("feat: config");
    let unattended = "    approval_required: false\n";
    for (id, source, target) in [
        (
            "unreachable",
            format!("{{ type: api, location: \"{dead}/api\" }}"),
            "{ type: file, location: out }".to_owned(),
        ),
        (
            "nocredential",
            "{ type: file, location: config }".to_owned(),
            format!(
                "{{ type: api, location: \"{}/api\", credentials: \"env:MISSING_TOKEN\" }}",
                server.url
            ),
        ),
        (
            "unreadable",
            "{ type: file, location: config }".to_owned(),
            "{ type: file, location: no/such/dir }".to_owned(),
        ),
    ] {
        let yaml = sync_yaml(id, &source, &target, "")
            .replace("    approval_required: true\n", unattended);
        repo.write(&format!(".trainyard/syncs/{id}.yaml"), &yaml);
    }
    for (id, expected) in [
        ("unreachable", "failed after"),
        ("nocredential", "MISSING_TOKEN"),
        ("unreadable", "is not a readable directory"),
    ] {
        let run = repo.run(&["sync", "run", id]);
        assert_eq!(run.code(), 2, "{id}: {}", run.transcript());
        assert!(
            run.stderr().contains("fails pre-sync validation"),
            "{}",
            run.stderr()
        );
        assert!(run.stderr().contains(expected), "{id}: {}", run.stderr());
        // No dry-run was made, and the refusal is logged.
        let plans = repo
            .run(&["--json", "evidence", "list", "--kind", "sync_plan"])
            .json();
        assert_eq!(plans.as_array().map(Vec::len), Some(0), "{id}");
        let logs = repo.run(&["--json", "sync", "log", id]).json();
        assert_eq!(logs[0]["execution"]["status"], "failed", "{id}: {logs}");
    }
}

#[test]
fn a_webhook_hears_each_outcome_and_a_dead_one_fails_nothing() {
    let server = Server::start();
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        drop(listener);
        url
    };
    let repo = TestRepo::new();
    repo.write("src/a.txt", "a\n");
    repo.commit("feat: a");
    let yaml = sync_yaml(
        "mirror",
        "{ type: file, location: src }",
        "{ type: file, location: out }",
        "",
    )
    .replace("    approval_required: true\n", "    approval_required: false\n")
    .replace(
        "notifications: { on_success: [], on_failure: [] }",
        &format!(
            "notifications: {{ on_success: [\"{url}/ok\", \"{dead}\"], on_failure: [\"{url}/failed\"] }}",
            url = server.url
        ),
    );
    repo.write(".trainyard/syncs/mirror.yaml", &yaml);
    std::fs::create_dir_all(repo.path().join("out")).expect("out");
    let run = repo.run(&["sync", "run", "mirror"]);
    assert_eq!(
        run.code(),
        0,
        "a dead webhook fails nothing: {}",
        run.transcript()
    );
    assert!(run.stderr().contains("notified"), "{}", run.stderr());
    let posts = server.posts("/ok");
    assert_eq!(posts.len(), 1, "one notification per outcome");
    assert_eq!(posts[0]["status"], "success");
    assert_eq!(posts[0]["sync_id"], "mirror");
    assert!(
        posts[0]["text"].as_str().expect("text").contains("mirror"),
        "{}",
        posts[0]
    );
    assert!(server.posts("/failed").is_empty());
    // The failed delivery is on record.
    let notes = repo
        .run(&["--json", "evidence", "list", "--kind", "sync_notification"])
        .json();
    assert_eq!(notes.as_array().map(Vec::len), Some(1), "{notes}");
    // A failing run tells on_failure.
    std::fs::remove_dir_all(repo.path().join("out")).expect("rm");
    std::fs::write(
        repo.path().join("out"),
        "a file where a directory should be",
    )
    .expect("file");
    repo.write("src/b.txt", "b\n");
    let failed = repo.run(&["sync", "run", "mirror"]);
    assert_ne!(failed.code(), 0, "{}", failed.transcript());
    let posts = server.posts("/failed");
    assert_eq!(posts.len(), 1, "{}", failed.transcript());
    assert_ne!(posts[0]["status"], "success");
}
