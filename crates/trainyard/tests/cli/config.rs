//! trainyard.yaml: discovery, strictness, init, validate and schema.

use crate::support::TestRepo;

#[test]
fn malformed_files_name_file_line_column_and_key() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    let cases = [
        "versioning:\n  tag_prefix: v\n  bump_rule: []\n",
        "versioning:\n  bump_rules:\n    - { type: feat, bump: enormous }\n",
        "versioning:\n  initial_version: 1.0\n",
        "versioning:\n  manifests:\n    - { kind: regex, path: v.h, pattern: '(unclosed' }\n",
        "versioning: [\n",
    ];
    let mut out = String::new();
    for case in cases {
        repo.write("trainyard.yaml", case);
        let run = repo.run(&["config", "validate"]);
        assert_eq!(run.code(), 2, "{}", run.transcript());
        out.push_str(&run.stderr_clean());
    }
    insta::assert_snapshot!(out);
}

/// Every number of the configuration is checked against its bounds as it
/// is read, so a value that would overflow later (a timeout of u64::MAX
/// seconds once panicked `release publish` after the tag) is refused with
/// its line, column and key.
#[test]
fn numbers_out_of_bounds_name_file_line_column_and_key() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    let cases = [
        "release:\n  artifacts:\n    - name: bin\n      paths: [bin]\n      timeout_seconds: 18446744073709551615\n",
        "release:\n  artifacts:\n    - { name: bin, paths: [bin], timeout_seconds: 0 }\n",
        "release:\n  channels:\n    - type: command\n      name: tap\n      run: ./tap.sh\n      timeout_seconds: 604801\n",
        "gates:\n  G-REL:\n    checks:\n      - run: make test\n        timeout_seconds: 18446744073709551615\n",
        "gates:\n  G-REL:\n    checks:\n      - { run: make test, expect_exit: -1 }\n",
        "gates:\n  G-MRG:\n    rework_rate: 200\n",
        "gates:\n  G-MRG:\n    success_rate: 100.5\n",
        "cadence:\n  cycle_weeks: 0\n",
        "cadence:\n  major_months: [13]\n",
    ];
    let mut out = String::new();
    for case in cases {
        repo.write("trainyard.yaml", case);
        let run = repo.run(&["config", "validate"]);
        assert_eq!(run.code(), 2, "{}", run.transcript());
        out.push_str(&run.stderr_clean());
    }
    insta::assert_snapshot!(out);
}

/// `config validate` reads the repository's sync configurations as
/// strictly as trainyard.yaml: a plan_ttl_minutes of 0 would give plans
/// born expired.
#[test]
fn sync_configurations_are_validated_with_the_configuration() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    let sync = |options: &str| {
        format!(
            "sync_config:\n  sync_id: flags\n  name: Flags\n  type: config\n\
             \x20 source: {{ type: file, location: config }}\n\
             \x20 target: {{ type: file, location: live }}\n\
             \x20 options:\n    dry_run_required: true\n    approval_required: true\n{options}"
        )
    };
    repo.write(
        ".trainyard/syncs/flags.yaml",
        &sync("    plan_ttl_minutes: 60\n"),
    );
    let valid = repo.run(&["config", "validate"]);
    assert_eq!(valid.code(), 0, "{}", valid.transcript());
    assert!(
        valid
            .stderr()
            .contains("valid: .trainyard/syncs/flags.yaml"),
        "{}",
        valid.transcript()
    );
    let json = repo.run(&["--json", "config", "validate"]);
    assert_eq!(
        json.json()["syncs"],
        serde_json::json!([".trainyard/syncs/flags.yaml"])
    );
    let mut out = String::new();
    for options in [
        "    plan_ttl_minutes: 0\n",
        "    plan_ttl_minutes: 43201\n",
        "    max_delete: 1000001\n",
    ] {
        repo.write(".trainyard/syncs/flags.yaml", &sync(options));
        let run = repo.run(&["config", "validate"]);
        assert_eq!(run.code(), 2, "{}", run.transcript());
        out.push_str(&run.stderr_clean());
    }
    insta::assert_snapshot!(out);
}

#[test]
fn config_is_found_by_walking_up() {
    let repo = TestRepo::new();
    repo.write("trainyard.yaml", "versioning:\n  tag_prefix: rel-\n");
    repo.write("sub/dir/file.txt", "x");
    repo.commit("feat: first");
    repo.tag("rel-2.0.0");
    repo.commit("fix: x");
    let run = repo.run_in(
        &repo.path().join("sub/dir"),
        &["--json", "version", "next"],
        None,
    );
    assert_eq!(run.json()["next"], "2.0.1");
}

#[test]
fn a_missing_explicit_config_is_an_error_a_missing_default_is_not() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    assert_eq!(repo.run(&["config", "validate"]).code(), 0);
    let run = repo.run(&["--config", "nope.yaml", "config", "validate"]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains("config file") && run.stderr().contains("nope.yaml does not exist")
    );
}

#[test]
fn init_takes_the_tag_prefix_the_release_tags_use() {
    // A project that dropped the `v` some releases ago, as renovate did:
    // its newest tags decide, and the next version follows them.
    let repo = TestRepo::new();
    repo.write("README", "x\n");
    repo.commit("feat: first");
    repo.tag("v1.0.0");
    repo.write("a", "a\n");
    repo.commit("feat: second");
    repo.tag("v1.1.0");
    repo.write("b", "b\n");
    repo.commit("feat: third");
    repo.tag("2.0.0");
    repo.write("c", "c\n");
    repo.commit("fix: fourth");
    // Without a configuration the prefix is `v`, and the next version
    // says why it looks wrong.
    let before = repo.run(&["--json", "version", "next"]).json();
    assert!(
        before["notes"].as_array().expect("notes").iter().any(|n| n
            .as_str()
            .is_some_and(|n| n.contains("set versioning.tag_prefix to \"\""))),
        "{before}"
    );
    let run = repo.run(&["init"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let text = std::fs::read_to_string(repo.path().join("trainyard.yaml")).expect("written");
    assert!(text.contains("  tag_prefix: \"\"\n"), "{text}");
    let next = repo.run(&["version", "next"]);
    assert_eq!(next.code(), 0, "{}", next.transcript());
    assert!(next.stdout().starts_with("2.0.1"), "{}", next.transcript());
    // Tags with a `v` only: the prefix stays `v`.
    let repo = TestRepo::new();
    repo.write("README", "x\n");
    repo.commit("feat: first");
    repo.tag("v0.3.0");
    assert_eq!(repo.run(&["init"]).code(), 0);
    let text = std::fs::read_to_string(repo.path().join("trainyard.yaml")).expect("written");
    assert!(text.contains("  tag_prefix: v\n"), "{text}");
}

#[test]
fn init_writes_a_commented_config_listing_the_manifests() {
    let repo = TestRepo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"x\"\nversion = \"0.2.0\"\n",
    );
    repo.write("VERSION", "0.2.0\n");
    repo.commit("feat: first");
    let run = repo.run(&["init"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let text = std::fs::read_to_string(repo.path().join("trainyard.yaml")).expect("written");
    assert!(
        text.contains("- { kind: cargo, path: Cargo.toml }"),
        "{text}"
    );
    assert!(
        text.contains("- { kind: version_file, path: VERSION }"),
        "{text}"
    );
    assert!(
        text.lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .count()
            > 5
    );
    assert_eq!(repo.run(&["config", "validate"]).code(), 0);
    // A second init refuses to overwrite.
    let again = repo.run(&["init"]);
    assert_eq!(again.code(), 2);
    assert!(again.stderr().contains("--force"));
}

#[test]
fn init_dry_run_writes_nothing() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    let before = repo.tree_snapshot();
    let run = repo.run(&["init", "--dry-run"]);
    assert!(run.stdout().contains("versioning:"));
    crate::support::assert_unchanged(&before, &repo.tree_snapshot());
}

#[test]
fn init_proposes_the_packages_of_a_cargo_workspace() {
    let repo = TestRepo::new();
    repo.write(
        "Cargo.toml",
        "[workspace]\nresolver = \"3\"\nmembers = [\"crates/*\"]\n\n[workspace.package]\nversion = \"0.2.0\"\n",
    );
    for (name, version) in [
        ("a", "\"0.1.0\""),
        ("b", "\"0.2.0\""),
        ("c", "{ workspace = true }"),
    ] {
        repo.write(
            &format!("crates/{name}/Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\nversion = {version}\nedition = \"2024\"\n"),
        );
        repo.write(&format!("crates/{name}/src/lib.rs"), "\n");
    }
    repo.commit("feat: first");
    repo.tag("a-v0.1.0");
    repo.tag("b-v0.2.0");
    // The JSON report carries what was found.
    let json = repo.run(&["--json", "init", "--dry-run"]).json();
    let names: Vec<&str> = json["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["a", "b", "c"], "{json}");
    assert_eq!(json["packages"][0]["source"], "cargo", "{json}");
    assert_eq!(json["packages"][2]["version"], "0.2.0", "{json}");
    assert_eq!(json["tag_format"], "{name}-v{version}", "{json}");
    let run = repo.run(&["init"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let stderr = run.stderr();
    assert!(stderr.contains("found 3 packages:"), "{stderr}");
    assert!(stderr.contains("  a (crates/a, cargo 0.1.0)"), "{stderr}");
    assert!(
        stderr.contains("tags: {name}-v{version} (2 tags follow it)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("note: c takes the workspace's version"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(repo.path().join("trainyard.yaml")).expect("written");
    insta::assert_snapshot!(text);
    let check = repo.run(&["config", "validate"]);
    assert_eq!(check.code(), 0, "{}", check.transcript());
}

#[test]
fn schema_is_json_schema_of_the_config() {
    let repo = TestRepo::new();
    let run = repo.run(&["config", "schema"]);
    assert_eq!(run.code(), 0);
    let schema = run.json();
    assert!(
        schema["$schema"]
            .as_str()
            .is_some_and(|s| s.contains("json-schema.org"))
    );
    assert!(schema["properties"]["versioning"].is_object());
    assert!(schema.to_string().contains("tag_prefix"));
}

/// What spans a key or reads oddly is an error at its line and column
/// too, not a value silently dropped: a mistyped key of a freeze window,
/// a range that ends before it starts, two checks of one name, a file
/// that is not UTF-8 (bad input, exit 2, not a failure of the machine).
#[test]
fn semantic_errors_name_file_line_column_and_key() {
    let repo = TestRepo::new();
    repo.commit("feat: first");
    let cases: [&[u8]; 6] = [
        b"cadence:\n  freeze_windows:\n    - { from: 2026-12-21, too: 2027-01-01, name: year-end }\n",
        b"cadence:\n  freeze_windows:\n    - { from: 2027-01-21, to: 2027-01-01 }\n",
        b"cadence:\n  non_working_days: [2026-12-25, 2026-13-01]\n",
        b"gates:\n  G-REL:\n    checks:\n      - { name: tests, run: \"true\" }\n      - { name: tests, run: \"false\" }\n",
        b"cadence:\n  anchor: 2026-01-06\n",
        b"versioning:\n  tag_prefix: \"v\xff\"\n",
    ];
    let mut out = String::new();
    for case in cases {
        std::fs::write(repo.path().join("trainyard.yaml"), case).expect("write");
        let run = repo.run(&["config", "validate"]);
        assert_eq!(run.code(), 2, "{}", run.transcript());
        out.push_str(&run.stderr_clean());
    }
    insta::assert_snapshot!(out, @r"
    error: [TMP]/repo/trainyard.yaml:3:27: cadence.freeze_windows[0].too: unknown field `too`, expected one of from, to, name
    error: [TMP]/repo/trainyard.yaml:3:7: cadence.freeze_windows[0]: the range 2027-01-21 to 2027-01-01 ends before it starts
    error: [TMP]/repo/trainyard.yaml:2:34: cadence.non_working_days[1]: `2026-13-01` is not a date (YYYY-MM-DD): failed to parse two digit integer as month: parameter 'month' is not in the required range of 1..=12
    error: [TMP]/repo/trainyard.yaml:5:9: gates.G-REL.checks[1]: another check is already named `tests`
    error: [TMP]/repo/trainyard.yaml:2:11: cadence.anchor: expected a Monday, but 2026-01-06 is a tuesday
    error: [TMP]/repo/trainyard.yaml:2:17: not UTF-8 text (byte 0xff): save the file as UTF-8
    ");
}

/// Where a sync writes is checked as it is read: never into its own
/// source, around it, into `.git` (a hook would run) or trainyard's
/// records, or over the repository; an empty approver and an id that is
/// a path are refused at their line.
#[test]
fn a_sync_that_would_write_where_it_must_not_is_refused() {
    let repo = TestRepo::new();
    repo.write("config/flags.json", "{}\n");
    repo.write("config/sub/x.json", "{}\n");
    repo.commit("feat: first");
    let sync = |id: &str, source: &str, target: &str, extra: &str| {
        format!(
            "sync_config:\n  sync_id: {id}\n  name: S\n  type: config\n\
             \x20 source: {{ type: file, location: {source} }}\n\
             \x20 target: {{ type: file, location: {target} }}\n\
             \x20 options: {{ dry_run_required: true, approval_required: true{extra} }}\n\
             \x20 filters: {{ include: [], exclude: [] }}\n\
             \x20 schedule: {{ trigger: manual }}\n\
             \x20 notifications: {{ on_success: [], on_failure: [] }}\n"
        )
    };
    let cases = [
        sync("s", "config", "config", ""),
        sync("s", "config", "config/out", ""),
        sync("s", "config/sub", "config", ""),
        sync("s", "config", ".git/hooks", ""),
        sync("s", "config", ".trainyard/evidence", ""),
        sync("s", "config", ".", ""),
        sync("s", "config", "../live", ", approver: ''"),
        sync("/etc", "config", "../live", ""),
    ];
    let mut out = String::new();
    for case in cases {
        repo.write(".trainyard/syncs/s.yaml", &case);
        for args in [&["sync", "validate"][..], &["sync", "plan", "s"][..]] {
            let run = repo.run(args);
            assert_eq!(run.code(), 2, "{args:?}: {}", run.transcript());
            if args[1] == "validate" {
                out.push_str(&run.stderr_clean());
            }
        }
    }
    insta::assert_snapshot!(out, @r"
    error: .trainyard/syncs/s.yaml:6:35: sync_config.target.location: `config` is the source `config`: a sync must write somewhere else
    error: .trainyard/syncs/s.yaml:6:35: sync_config.target.location: `config/out` is inside the source `config`: a sync must write somewhere else
    error: .trainyard/syncs/s.yaml:6:35: sync_config.target.location: `config` holds the source `config/sub`: a sync must write somewhere else
    error: .trainyard/syncs/s.yaml:6:35: sync_config.target.location: `.git/hooks` is or holds git's own directory (.git/): a sync never writes there
    error: .trainyard/syncs/s.yaml:6:35: sync_config.target.location: `.trainyard/evidence` is or holds trainyard's records (.trainyard/): a sync never writes there
    error: .trainyard/syncs/s.yaml:6:35: sync_config.target.location: `.` holds the source `config`: a sync must write somewhere else
    error: .trainyard/syncs/s.yaml:7:73: sync_config.options.approver: empty: name the role or person who approves, or leave the key out
    error: .trainyard/syncs/s.yaml:2:12: sync_config.sync_id: `/etc` must be letters, digits, `-`, `_` or `.`
    ");
    // A log of a sync that is neither configured nor logged is a mistake.
    repo.write(
        ".trainyard/syncs/s.yaml",
        &sync("s", "config", "../live", ""),
    );
    for id in ["../../x", "nope"] {
        let run = repo.run(&["sync", "log", id]);
        assert_eq!(run.code(), 2, "{id}: {}", run.transcript());
    }
    assert_eq!(repo.run(&["sync", "log", "s"]).code(), 0);
}
