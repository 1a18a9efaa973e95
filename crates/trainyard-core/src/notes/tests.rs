use std::path::Path;

use super::*;
use crate::evidence::render_yaml;

fn id(digit: char) -> String {
    std::iter::repeat_n(digit, 40).collect()
}

fn person(name: &str, email: &str) -> Person {
    Person {
        name: name.into(),
        email: email.into(),
    }
}

/// A commit by `author` with the co-authors its message names.
fn commit(digit: char, author: &Person, message: &str) -> ReleaseCommit {
    let commit = Commit::parse(id(digit), message, 1);
    ReleaseCommit {
        co_authors: co_authors_in_message(message),
        commit,
        author: author.clone(),
    }
}

/// A release with an entry of every kind, newest first.
fn fixture_commits() -> Vec<ReleaseCommit> {
    let ada = person("Ada Lovelace", "ada@example.org");
    let bea = person("Bea Rossi", "bea@example.org");
    let dan = person("Dan Okafor", "dan@example.org");
    vec![
        commit(
            '1',
            &ada,
            "feat(cli): add the `notes` command (#41)\n\n\
             Renders release notes from the commits\nof a release.\n\n\
             Co-authored-by: Bea Rossi <BEA@example.org>\n\
             Co-authored-by: Carl Weber <carl@example.org>",
        ),
        commit(
            '2',
            &bea,
            "perf(history): read commits in parallel (#42)\n\n\
             Halves the time of `trainyard version` on large repositories.",
        ),
        commit(
            '3',
            &ada,
            "fix(api): handle repositories without tags (#43)\n\nFixes #12",
        ),
        commit('4', &dan, "fix: tolerate CRLF line endings in manifests"),
        commit(
            '5',
            &ada,
            "feat(config)!: rename `tag-prefix` to `tag_prefix`\n\n\
             BREAKING CHANGE: the `tag-prefix` key is no longer read\n\
             Migration: rename `tag-prefix` to `tag_prefix` in trainyard.yaml",
        ),
        commit(
            '6',
            &bea,
            "refactor(sync)!: make `--force` require `--yes`\n\n\
             BREAKING CHANGE: `sync --force` alone now fails",
        ),
        commit(
            '7',
            &ada,
            "feat(evidence)!: new evidence layout (#44)\n\n\
             BREAKING CHANGE: documents move under .trainyard/evidence/<kind>/",
        ),
        commit(
            '8',
            &dan,
            "build!: require Rust 1.89\n\n\
             BREAKING CHANGE: older toolchains fail to build; use rustup to install 1.89 instead",
        ),
        commit(
            '9',
            &ada,
            "feat(sync): add the `--mode` option (#45)\n\n\
             Deprecated: the `sync --fast` flag, removed in 3.0.0\n\
             Replacement: `sync --mode fast`",
        ),
        commit(
            'a',
            &bea,
            "chore(config): deprecate the v1 config format\n\n\
             Deprecated: the v1 config format will be removed in the next major release",
        ),
        commit(
            'b',
            &ada,
            "docs: deprecate `--quiet`\n\nDeprecated: `--quiet`",
        ),
        commit(
            'c',
            &bea,
            "fix(security): escape paths in evidence archives\n\n\
             An archive could write outside the evidence directory.\n\n\
             Security: CVE-2026-1111\n\
             Severity: high",
        ),
        commit(
            'd',
            &dan,
            "fix(deps): update the YAML parser for CVE-2026-2222 and CVE-2026-3333 (#46)",
        ),
        commit('e', &ada, "security: compare tokens in constant time"),
        commit(
            'f',
            &person("Eve Martin", "eve@example.org"),
            "Update README",
        ),
        commit(
            '0',
            &person("Ada L.", "ADA@Example.org"),
            "docs: fix a typo in the guide",
        ),
    ]
}

const HANDWRITTEN: &str = "\
highlights:
  - Release notes from commits, with `trainyard notes`
  - A new evidence layout that scales to thousands of releases
known_issues:
  - issue: the first `trainyard sync` after upgrading is slow
    workaround: run `trainyard cache warm` before it
  - issue: Windows paths longer than 260 characters are not supported
upgrade_notes: |
  1. Rename `tag-prefix` to `tag_prefix` in trainyard.yaml.
  2. Run `trainyard evidence migrate`.
migrations:
  '7777777': |
    Run `trainyard evidence migrate` once;
    it moves every document and keeps the hash chain.
security:
  CVE-2026-2222: { severity: critical, description: a crafted YAML file could exhaust memory }
  CVE-2026-9999: { severity: low, description: a timing leak in a dependency }
deprecations:
  '`trainyard legacy-sync`': { timeline: next major release, replacement: '`trainyard sync`' }
features:
  '1111111': { description: 'Renders the spec''s Markdown and YAML from commits and this file.' }
contributors: ['@docs-team', 'Carl Weber']
";

fn handwritten() -> Handwritten {
    parse_handwritten(HANDWRITTEN, Path::new(".trainyard/notes/2.0.0.yaml")).expect("valid")
}

struct Fixture {
    version: Version,
    previous: Version,
    commits: Vec<ReleaseCommit>,
    handwritten: Handwritten,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            version: Version::new(2, 0, 0),
            previous: Version::new(1, 9, 2),
            commits: fixture_commits(),
            handwritten: handwritten(),
        }
    }

    fn input(&self) -> NotesInput<'_> {
        NotesInput {
            version: &self.version,
            release_date: "2026-05-04".into(),
            release_type: Bump::Major,
            previous: Some(&self.previous),
            commits: &self.commits,
            handwritten: Some(&self.handwritten),
            provenance: Provenance {
                commit: Some(id('1')),
                build_id: Some("ci-2077".into()),
                signed_by: Some("release-bot <release@example.org>".into()),
            },
            policy: NotesPolicy::default(),
        }
    }
}

#[test]
fn fixture_release_as_yaml() {
    let fixture = Fixture::new();
    let notes = build(&fixture.input());
    insta::assert_snapshot!(render_yaml(&notes).expect("yaml"));
}

#[test]
fn fixture_release_as_markdown() {
    let fixture = Fixture::new();
    let notes = build(&fixture.input());
    insta::assert_snapshot!(render_markdown(&notes, "v", None).expect("markdown"));
}

#[test]
fn fixture_release_problems() {
    let fixture = Fixture::new();
    let problems = validate(&fixture.input());
    insta::assert_snapshot!(render_yaml(&problems).expect("yaml"));
}

#[test]
fn a_small_history_gives_the_notes_and_problems_written_here() {
    let ada = person("Ada", "ada@example.org");
    let bea = person("Bea", "bea@example.org");
    let commits = [
        commit('1', &ada, "feat(cli): add `--json` (#7)\n\nPrints JSON."),
        commit('2', &bea, "fix: handle empty tags\n\nFixes #3"),
        commit(
            '3',
            &ada,
            "feat!: drop the v1 format\n\nBREAKING CHANGE: v1 files are refused",
        ),
        commit(
            '4',
            &bea,
            "perf: faster scans\n\nScans read each file once.\n\n\
             Deprecated: `--slow`, removed in 2.0.0\n\
             Replacement: `--fast`",
        ),
        commit('5', &ada, "docs: explain scans"),
    ];
    let version = Version::new(1, 1, 0);
    let previous = Version::new(1, 0, 0);
    let input = NotesInput {
        version: &version,
        release_date: "2026-03-01".into(),
        release_type: Bump::Minor,
        previous: Some(&previous),
        commits: &commits,
        handwritten: None,
        provenance: Provenance::default(),
        policy: NotesPolicy::default(),
    };
    let expected_notes = ReleaseNotes {
        release_notes: Notes {
            version: version.clone(),
            release_date: "2026-03-01".into(),
            release_type: ReleaseType::Minor,
            highlights: vec![
                "1 breaking change, 1 new feature, 1 improvement, 1 bug fix, 1 deprecation".into(),
            ],
            changes: Changes {
                features: vec![Feature {
                    title: "add `--json`".into(),
                    description: Some("Prints JSON.".into()),
                    pr_ref: Some("#7".into()),
                }],
                improvements: vec![Improvement {
                    title: "faster scans".into(),
                    description: Some("Scans read each file once.".into()),
                }],
                bug_fixes: vec![BugFix {
                    issue_ref: "#3".into(),
                    description: "handle empty tags".into(),
                }],
                breaking_changes: vec![BreakingChange {
                    title: "drop the v1 format".into(),
                    description: Some("v1 files are refused".into()),
                    migration: None,
                }],
                deprecations: vec![Deprecation {
                    item: "`--slow`".into(),
                    timeline: Some(Version::new(2, 0, 0)),
                    replacement: Some("`--fast`".into()),
                }],
                security: vec![],
            },
            known_issues: vec![],
            upgrade_notes: None,
            contributors: vec!["Ada".into(), "Bea".into()],
            provenance: Provenance::default(),
        },
    };
    let expected_problems = vec![NotesProblem {
        kind: NotesProblemKind::BreakingWithoutMigration,
        commit: id('3'),
        title: "drop the v1 format".into(),
        message: "breaking change `drop the v1 format` has no migration: add a \
                  `Migration:` footer or a `migrations` entry to the hand-written notes"
            .into(),
    }];
    assert_eq!(build(&input), expected_notes);
    assert_eq!(validate(&input), expected_problems);
    assert_eq!(build_checked(&input), (expected_notes, expected_problems));
}

#[test]
fn without_the_handwritten_file_more_is_missing() {
    let fixture = Fixture::new();
    let input = NotesInput {
        handwritten: None,
        ..fixture.input()
    };
    let (notes, problems) = build_checked(&input);
    let notes = notes.release_notes;
    assert_eq!(
        notes.highlights,
        [
            "4 breaking changes, 2 new features, 1 improvement, 2 bug fixes, \
          4 security fixes, 3 deprecations"
        ]
    );
    assert!(notes.known_issues.is_empty());
    assert_eq!(notes.upgrade_notes, None);
    let kinds: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.kind.as_str(), p.title.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "breaking_without_migration",
                "make `--force` require `--yes`"
            ),
            ("breaking_without_migration", "new evidence layout"),
            ("deprecation_without_removal_version", "`--quiet`"),
            ("security_without_severity", "CVE-2026-2222"),
            ("security_without_severity", "CVE-2026-3333"),
            ("security_without_cve", "compare tokens in constant time"),
            (
                "security_without_severity",
                "compare tokens in constant time"
            ),
        ]
    );
}

#[test]
fn every_schema_key_is_present_when_empty() {
    let version = Version::new(0, 1, 1);
    let input = NotesInput {
        version: &version,
        release_date: "2026-01-02".into(),
        release_type: Bump::None,
        previous: None,
        commits: &[],
        handwritten: None,
        provenance: Provenance::default(),
        policy: NotesPolicy::default(),
    };
    let notes = build(&input);
    let json = serde_json::to_value(&notes).expect("json");
    let body = &json["release_notes"];
    let keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "version",
            "release_date",
            "release_type",
            "highlights",
            "changes",
            "known_issues",
            "upgrade_notes",
            "contributors",
            "provenance"
        ]
    );
    let changes: Vec<&str> = body["changes"]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        changes,
        [
            "features",
            "improvements",
            "bug_fixes",
            "breaking_changes",
            "deprecations",
            "security"
        ]
    );
    assert_eq!(body["release_type"], "patch");
    assert_eq!(
        body["provenance"],
        serde_json::json!({"commit": null, "build_id": null, "signed_by": null})
    );
    insta::assert_snapshot!(render_yaml(&notes).expect("yaml"), @r#"
    release_notes:
      version: "0.1.1"
      release_date: "2026-01-02"
      release_type: patch
      highlights: []
      changes:
        features: []
        improvements: []
        bug_fixes: []
        breaking_changes: []
        deprecations: []
        security: []
      known_issues: []
      upgrade_notes: null
      contributors: []
      provenance:
        commit: null
        build_id: null
        signed_by: null
    "#);
    let markdown = render_markdown(&notes, "", None).expect("markdown");
    assert_eq!(
        markdown,
        "# Release Notes: 0.1.1\n\n**Release Date**: 2026-01-02\n**Release Type**: Patch\n"
    );
    let again: ReleaseNotes = serde_json::from_value(json).expect("reads back");
    assert_eq!(again, notes);
}

#[test]
fn a_user_template_replaces_the_builtin_one() {
    let fixture = Fixture::new();
    let notes = build(&fixture.input());
    let template = "\
{{ tag }} ({{ release_notes.release_type }}), {{ release_notes.release_date }}
{% for f in release_notes.changes.features %}
* {{ f.title }}{{ ' ' ~ f.pr_ref if f.pr_ref else '' }}
{% endfor %}
{% for s in release_notes.changes.security %}
* {{ s.cve or 'no cve' }}: {{ s.severity or 'unknown' }}
{% endfor %}
thanks to {{ release_notes.contributors | length }} people
";
    let rendered =
        render_markdown(&notes, "release-", Some(("short.md.j2", template))).expect("renders");
    insta::assert_snapshot!(rendered, @r"
    release-2.0.0 (major), 2026-05-04
    * add the `notes` command #41
    * add the `--mode` option #45
    * CVE-2026-1111: high
    * CVE-2026-2222: critical
    * CVE-2026-3333: unknown
    * no cve: unknown
    * CVE-2026-9999: low
    thanks to 6 people
    ");
}

#[test]
fn template_errors_name_the_template_and_line() {
    let fixture = Fixture::new();
    let notes = build(&fixture.input());
    let cases = [
        (
            "syntax.md.j2",
            "# {{ tag }}\n\n{% for f in release_notes.changes.features %}\n- {{ f.title }}\n",
        ),
        (
            "undefined.md.j2",
            "# {{ tag }}\n\n{{ release_notes.verison }}\n",
        ),
        ("filter.md.j2", "line one\nline two\n{{ tag | shout }}\n"),
        (
            "render.md.j2",
            "{% for x in release_notes.highlights %}\n{{ x + 1 }}\n{% endfor %}\n",
        ),
    ];
    let messages: Vec<String> = cases
        .iter()
        .map(|&(name, source)| {
            let error = render_markdown(&notes, "v", Some((name, source))).expect_err("fails");
            assert_eq!(error.kind(), crate::ErrorKind::Input);
            error.to_string()
        })
        .collect();
    insta::assert_snapshot!(messages.join("\n"));
}

#[test]
fn co_authors_come_from_footers() {
    let message = "feat: pair on it\n\nCo-authored-by: Bea Rossi <bea@example.org>\n\
                   co-authored-by: Carl <carl@example.org>\nSigned-off-by: Ada <ada@example.org>";
    let parsed = Commit::parse(id('1'), message, 1);
    let expected = vec![
        person("Bea Rossi", "bea@example.org"),
        person("Carl", "carl@example.org"),
    ];
    assert_eq!(co_authors(&parsed), expected);
    assert_eq!(co_authors_in_message(message), expected);
    let plain = "Pair on it\n\nCo-authored-by: Bea Rossi <bea@example.org>";
    assert!(co_authors(&Commit::parse(id('2'), plain, 1)).is_empty());
    assert_eq!(
        co_authors_in_message(plain),
        [person("Bea Rossi", "bea@example.org")]
    );
    assert_eq!(Person::parse("  "), None);
    assert_eq!(
        Person::parse("Just A Name"),
        Some(person("Just A Name", ""))
    );
}

#[test]
fn contributors_are_unique_by_email_and_sorted() {
    let fixture = Fixture::new();
    let notes = build(&fixture.input()).release_notes;
    assert_eq!(
        notes.contributors,
        [
            "@docs-team",
            "Ada Lovelace",
            "Bea Rossi",
            "Carl Weber",
            "Dan Okafor",
            "Eve Martin"
        ]
    );
}

#[test]
fn deprecation_footers_split_into_item_and_removal() {
    let cases = [
        "the `sync --fast` flag, removed in 3.0.0",
        "the v1 config format will be removed in the next major release",
        "`config.mode` (to be removed in v4.1)",
        "Python 3.8 support; it is scheduled for removal in 5.0.0",
        "`--quiet`",
        "removed in 3.0.0",
        "the `old` API until 3.0.0.",
    ];
    let split: Vec<String> = cases
        .iter()
        .map(|c| {
            let (item, removal) = split_deprecation(c);
            let timeline = removal
                .and_then(Timeline::find_in)
                .map(|t| t.resolve(&Version::new(2, 4, 1)).to_string());
            format!("{item} | {removal:?} | {timeline:?}")
        })
        .collect();
    insta::assert_snapshot!(split.join("\n"), @r#"
    the `sync --fast` flag | Some("removed in 3.0.0") | Some("3.0.0")
    the v1 config format | Some("removed in the next major release") | Some("3.0.0")
    `config.mode` | Some("removed in v4.1") | Some("4.1.0")
    Python 3.8 support | Some("removal in 5.0.0") | Some("5.0.0")
    `--quiet` | None | None
     | Some("removed in 3.0.0") | Some("3.0.0")
    the `old` API | Some("until 3.0.0") | Some("3.0.0")
    "#);
}

#[test]
fn a_deprecation_footer_that_is_only_a_removal_clause_takes_the_item_from_the_header() {
    let version = Version::new(2, 4, 1);
    let ada = person("Ada", "ada@example.org");
    let commits = [
        commit(
            '1',
            &ada,
            "docs: deprecate `--quiet`\n\nDeprecated: removed in 3.0.0.",
        ),
        commit(
            '2',
            &ada,
            "feat: add `config.level`\n\nDeprecated: `config.mode` (to be removed in v4.1)",
        ),
    ];
    let input = NotesInput {
        version: &version,
        release_date: "2026-01-02".into(),
        release_type: Bump::Minor,
        previous: None,
        commits: &commits,
        handwritten: None,
        provenance: Provenance::default(),
        policy: NotesPolicy::default(),
    };
    let notes = build(&input);
    let markdown = render_markdown(&notes, "v", None).expect("markdown");
    let section = markdown
        .split("## Deprecations\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("a deprecations section");
    assert_eq!(
        section,
        "- **`--quiet`**: to be removed in v3.0.0\n\
         - **`config.mode`**: to be removed in v4.1.0",
        "{markdown}"
    );
}

#[test]
fn a_bad_severity_footer_is_a_problem() {
    let version = Version::new(1, 0, 1);
    let commits = [commit(
        '1',
        &person("Ada", "ada@example.org"),
        "fix: reject bad input (CVE-2026-4444)\n\nSeverity: urgent",
    )];
    let input = NotesInput {
        version: &version,
        release_date: "2026-01-02".into(),
        release_type: Bump::Patch,
        previous: None,
        commits: &commits,
        handwritten: None,
        provenance: Provenance::default(),
        policy: NotesPolicy::default(),
    };
    let problems = validate(&input);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].kind, NotesProblemKind::SecurityWithoutSeverity);
    assert_eq!(problems[0].commit, id('1'));
    assert_eq!(
        problems[0].message,
        "`CVE-2026-4444` has severity `urgent`, which is not one of critical, high, medium, low"
    );
    assert_eq!(
        build(&input).release_notes.changes.security[0]
            .description
            .as_deref(),
        Some("reject bad input (CVE-2026-4444)")
    );
}

#[test]
fn multi_line_texts_stay_inside_their_list_items() {
    let version = Version::new(2, 0, 0);
    let ada = person("Ada", "ada@example.org");
    let commits = [
        commit(
            '1',
            &ada,
            "feat(config)!: move the key\n\n\
             BREAKING CHANGE: the config key moved.\n\
             Use `new_key` instead;\n\
             the old one is ignored.",
        ),
        commit(
            '2',
            &ada,
            "feat(api)!: drop v1\n\n\
             BREAKING CHANGE: the v1 endpoints are gone.\n\
             Migration: call /v2\n\n\
             - with the same payload\n\
             ## and the same token",
        ),
        commit('3', &ada, "feat(cli): add --json"),
        commit(
            '4',
            &ada,
            "fix(tls): reject short keys (CVE-2026-5151)\n\nSeverity: high",
        ),
        commit('5', &ada, "fix: after them"),
    ];
    let handwritten = parse_handwritten(
        "highlights:\n  - |\n    Faster startup.\n    Measured on large repositories.\n\
         known_issues:\n  - issue: |\n      Exports are slow\n      on large projects\n    \
         workaround: |\n      Export per project.\n\n      Or wait.\n\
         security:\n  CVE-2026-5151:\n    severity: high\n    description: |\n      \
         Short keys were accepted.\n      Now they are refused.\n\
         deprecations:\n  \"`load_v1`\":\n    timeline: 3.0.0\n    replacement: |\n      \
         `load`,\n      with the same arguments\n\
         features:\n  '3333333':\n    title: |\n      JSON output\n      for scripts\n    \
         description: |\n      Every command takes --json.\n\n      ## Even this one\n\
         contributors: [\"Docs\\nTeam\"]\n",
        Path::new("2.0.0.yaml"),
    )
    .expect("valid");
    let input = NotesInput {
        version: &version,
        release_date: "2026-05-04".into(),
        release_type: Bump::Major,
        previous: None,
        commits: &commits,
        handwritten: Some(&handwritten),
        provenance: Provenance {
            commit: Some(id('1')),
            build_id: Some("ci-1".into()),
            signed_by: Some("release-bot\n<release@example.org>".into()),
        },
        policy: NotesPolicy::default(),
    };
    let markdown = render_markdown(&build(&input), "v", None).expect("markdown");
    crate::test_markdown::assert_list_items_hold_together(&markdown);
    // highlight, feature, bug fix, 2 breaking changes, deprecation,
    // security fix, known issue, contributors, 3 provenance lines
    assert_eq!(
        crate::test_markdown::list_items(&markdown).len(),
        12,
        "{markdown}"
    );
    insta::assert_snapshot!(markdown, @r"
    # Release Notes: v2.0.0

    **Release Date**: 2026-05-04
    **Release Type**: Major

    ## Highlights
    - Faster startup.
      Measured on large repositories.

    ## New Features
    - **JSON output
      for scripts**: Every command takes --json.

      ## Even this one

    ## Bug Fixes
    - **5555555555**: after them

    ## Breaking Changes
    - **move the key**: the config key moved. Use `new_key` instead; the old one is ignored.
      - Migration: the config key moved.
        Use `new_key` instead;
        the old one is ignored.
    - **drop v1**: the v1 endpoints are gone.
      - Migration: call /v2

        - with the same payload
        ## and the same token

    ## Deprecations
    - **`load_v1`**: to be removed in v3.0.0; use `load`,
      with the same arguments instead

    ## Security
    - **CVE-2026-5151** (high): Short keys were accepted.
      Now they are refused.

    ## Known Issues
    - **Exports are slow
      on large projects**
      - Workaround: Export per project.

        Or wait.

    ## Contributors
    - Ada, Docs
      Team

    ## Provenance
    - Commit: 1111111111111111111111111111111111111111
    - Build: ci-1
    - Signed: release-bot
      <release@example.org>
");
}

#[test]
fn a_commit_that_only_mentions_a_cve_is_no_security_entry() {
    let version = Version::new(1, 1, 0);
    let ada = person("Ada", "ada@example.org");
    let commits = [
        commit('1', &ada, "docs(security): explain our policy"),
        commit(
            '2',
            &ada,
            "chore: bump lodash (CVE-2021-23337 is not affecting us)",
        ),
        commit('3', &ada, "test(jest): revert CVE-2020-1234 workaround"),
        commit('4', &ada, "fix(parser): bound the input (CVE-2026-0001)"),
    ];
    let input = NotesInput {
        version: &version,
        release_date: "2026-01-02".into(),
        release_type: Bump::Patch,
        previous: None,
        commits: &commits,
        handwritten: None,
        provenance: Provenance::default(),
        policy: NotesPolicy::default(),
    };
    let (notes, problems) = build_checked(&input);
    let cves: Vec<Option<&str>> = notes
        .release_notes
        .changes
        .security
        .iter()
        .map(|s| s.cve.as_deref())
        .collect();
    assert_eq!(cves, [Some("CVE-2026-0001")]);
    assert!(problems.iter().all(|p| p.commit == id('4')), "{problems:?}");
}

#[test]
fn the_policy_decides_the_sections() {
    let version = Version::new(1, 1, 0);
    let ada = person("Ada", "ada@example.org");
    let commits = [
        commit('1', &ada, "style: reformat"),
        commit('2', &ada, "perf: cache lookups"),
        commit('3', &ada, "docs: explain notes"),
    ];
    let policy = NotesPolicy {
        features: vec!["feat".into(), "docs".into()],
        improvements: vec!["style".into()],
        bug_fixes: vec![],
    };
    let input = NotesInput {
        version: &version,
        release_date: "2026-01-02".into(),
        release_type: Bump::Minor,
        previous: None,
        commits: &commits,
        handwritten: None,
        provenance: Provenance::default(),
        policy,
    };
    let changes = build(&input).release_notes.changes;
    let features: Vec<&str> = changes.features.iter().map(|f| f.title.as_str()).collect();
    let improvements: Vec<&str> = changes
        .improvements
        .iter()
        .map(|i| i.title.as_str())
        .collect();
    assert_eq!(features, ["explain notes"]);
    assert_eq!(improvements, ["reformat"]);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Commit ids for up to 15 commits, one hexadecimal digit each.
    const DIGITS: &[char] = &[
        '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f',
    ];

    /// A generated Conventional Commit with what the test knows about it.
    #[derive(Debug, Clone)]
    struct Generated {
        kind: &'static str,
        breaking: bool,
        migration: bool,
        words: String,
    }

    impl Generated {
        /// The subject: numbered, so no subject is part of another.
        fn subject(&self, index: usize) -> String {
            format!("s{index} {}", self.words)
        }

        fn message(&self, index: usize) -> String {
            let bang = if self.breaking { "!" } else { "" };
            let mut message = format!("{}{bang}: {}", self.kind, self.subject(index));
            if self.breaking {
                message.push_str("\n\nBREAKING CHANGE: the old behaviour is gone");
                if self.migration {
                    message.push_str("\nMigration: use the new behaviour");
                }
            }
            message
        }

        /// The section this commit belongs to by the default policy, as
        /// the Markdown heading names it.
        fn section(&self) -> Option<&'static str> {
            if self.breaking {
                return Some("Breaking Changes");
            }
            match self.kind {
                "feat" => Some("New Features"),
                "perf" | "refactor" => Some("Improvements"),
                "fix" => Some("Bug Fixes"),
                _ => None,
            }
        }
    }

    fn generated() -> impl Strategy<Value = Generated> {
        (
            prop::sample::select(vec!["feat", "fix", "perf", "refactor", "docs", "chore"]),
            any::<bool>(),
            any::<bool>(),
            "[a-z]{1,8}( [a-z]{1,8}){0,3}",
        )
            .prop_map(|(kind, breaking, migration, words)| Generated {
                kind,
                breaking,
                migration,
                words,
            })
    }

    /// The Markdown's `## ` sections by heading.
    fn sections(markdown: &str) -> Vec<(&str, &str)> {
        markdown
            .split("\n## ")
            .skip(1)
            .map(|part| part.split_once('\n').unwrap_or((part, "")))
            .collect()
    }

    /// The counts the generated highlight names, by label.
    fn highlight_counts(highlight: &str) -> Vec<(String, usize)> {
        highlight
            .split(", ")
            .map(|part| {
                let (n, label) = part.split_once(' ').expect("`N label`");
                (label.to_owned(), n.parse().expect("a count"))
            })
            .collect()
    }

    fn message() -> impl Strategy<Value = String> {
        let header = "(feat|fix|perf|docs|security)(\\(security\\))?!?: \\PC{1,30}";
        let footer = "(Deprecated|Severity|Migration|Replacement|BREAKING CHANGE|Co-authored-by): \\PC{0,40}";
        prop_oneof![
            (header, proptest::collection::vec(footer, 0..4))
                .prop_map(|(h, f)| format!("{h}\n\n{}", f.join("\n"))),
            "\\PC{0,120}",
        ]
    }

    fn input<'a>(version: &'a Version, commits: &'a [ReleaseCommit]) -> NotesInput<'a> {
        NotesInput {
            version,
            release_date: "2026-01-02".into(),
            release_type: Bump::Minor,
            previous: None,
            commits,
            handwritten: None,
            provenance: Provenance::default(),
            policy: NotesPolicy::default(),
        }
    }

    proptest! {
        #[test]
        fn every_commit_lands_once_in_the_section_of_its_type(
            generated in proptest::collection::vec(generated(), 0..DIGITS.len()),
        ) {
            let author = person("Ada", "ada@example.org");
            let commits: Vec<ReleaseCommit> = generated
                .iter()
                .enumerate()
                .map(|(i, g)| commit(DIGITS[i], &author, &g.message(i)))
                .collect();
            let version = Version::new(1, 2, 3);
            let input = input(&version, &commits);
            let (notes, problems) = build_checked(&input);
            let markdown = render_markdown(&notes, "v", None).expect("markdown");
            let sections = sections(&markdown);
            for (i, g) in generated.iter().enumerate() {
                let subject = g.subject(i);
                let found: Vec<&str> = sections
                    .iter()
                    .filter(|(_, body)| body.contains(&subject))
                    .map(|(heading, _)| *heading)
                    .collect();
                prop_assert_eq!(found, g.section().into_iter().collect::<Vec<_>>(), "{}", markdown);
                if let Some((_, body)) = sections.iter().find(|(h, _)| Some(*h) == g.section()) {
                    prop_assert_eq!(body.matches(&subject).count(), 1, "{}", markdown);
                }
            }
            // The breaking commits without a migration, and only they, are problems.
            let unmigrated: Vec<String> = generated
                .iter()
                .enumerate()
                .filter(|(_, g)| g.breaking && !g.migration)
                .map(|(i, _)| id(DIGITS[i]))
                .collect();
            let problem_commits: Vec<String> = problems.iter().map(|p| p.commit.clone()).collect();
            prop_assert_eq!(problem_commits, unmigrated);
            // The highlight counts each section's commits.
            let count = |section: &str| {
                generated.iter().filter(|g| g.section() == Some(section)).count()
            };
            let expected: Vec<(String, usize)> = [
                ("breaking change", "breaking changes", count("Breaking Changes")),
                ("new feature", "new features", count("New Features")),
                ("improvement", "improvements", count("Improvements")),
                ("bug fix", "bug fixes", count("Bug Fixes")),
            ]
            .into_iter()
            .filter(|(_, _, n)| *n > 0)
            .map(|(one, many, n)| ((if n == 1 { one } else { many }).to_owned(), n))
            .collect();
            let highlights = &notes.release_notes.highlights;
            if expected.is_empty() {
                prop_assert!(highlights.is_empty(), "{:?}", highlights);
            } else {
                prop_assert_eq!(highlights.len(), 1);
                prop_assert_eq!(highlight_counts(&highlights[0]), expected);
            }
        }

        #[test]
        fn any_commits_build_check_and_render(messages in proptest::collection::vec(message(), 0..DIGITS.len())) {
            let author = person("Ada", "ada@example.org");
            let commits: Vec<ReleaseCommit> = messages
                .iter()
                .enumerate()
                .map(|(i, m)| commit(DIGITS[i], &author, m))
                .collect();
            let version = Version::new(1, 2, 3);
            let input = input(&version, &commits);
            let (notes, problems) = build_checked(&input);
            let ids: Vec<String> = commits.iter().map(|c| c.commit.id.clone()).collect();
            for problem in &problems {
                prop_assert!(ids.contains(&problem.commit), "{:?}", problem);
            }
            let markdown = render_markdown(&notes, "v", None).expect("markdown");
            prop_assert!(
                markdown.starts_with("# Release Notes: v1.2.3\n\n**Release Date**: 2026-01-02\n**Release Type**: Minor\n"),
                "{}",
                markdown
            );
            // Every section the notes have is a heading, in the template's order.
            let changes = &notes.release_notes.changes;
            let present: Vec<&str> = [
                ("Highlights", !notes.release_notes.highlights.is_empty()),
                ("New Features", !changes.features.is_empty()),
                ("Improvements", !changes.improvements.is_empty()),
                ("Bug Fixes", !changes.bug_fixes.is_empty()),
                ("Breaking Changes", !changes.breaking_changes.is_empty()),
                ("Deprecations", !changes.deprecations.is_empty()),
                ("Security", !changes.security.is_empty()),
                ("Contributors", !notes.release_notes.contributors.is_empty()),
            ]
            .into_iter()
            .filter(|(_, present)| *present)
            .map(|(heading, _)| heading)
            .collect();
            let headings: Vec<&str> = markdown
                .lines()
                .filter_map(|l| l.strip_prefix("## "))
                .collect();
            prop_assert_eq!(headings, present, "{}", markdown);
            // The YAML reads back as the same notes.
            let yaml = render_yaml(&notes).expect("yaml");
            let again: ReleaseNotes = serde_saphyr::from_str(&yaml).expect("reads back");
            prop_assert_eq!(again, notes);
        }
    }
}
