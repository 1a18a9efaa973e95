use super::file::{SectionKey, SectionUpdate};
use super::render::list_item_text;
use super::*;
use crate::commit::Commit;

fn raw(id: &str, message: &str) -> RawCommit {
    RawCommit {
        id: gix::ObjectId::from_hex(id.as_bytes()).expect("hex id"),
        parents: vec![gix::ObjectId::null(gix::hash::Kind::Sha1)],
        message: message.into(),
        author_name: "A".into(),
        author_email: "a@example.org".into(),
        time: 0,
        tree: gix::ObjectId::null(gix::hash::Kind::Sha1),
    }
}

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const C: &str = "cccccccccccccccccccccccccccccccccccccccc";
const D: &str = "dddddddddddddddddddddddddddddddddddddddd";
const E: &str = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
const F: &str = "ffffffffffffffffffffffffffffffffffffffff";

#[test]
fn groups_in_keep_a_changelog_order_with_reverts_cancelled() {
    let commits = vec![
        raw(
            A,
            "Revert \"feat: flaky thing\"\n\nThis reverts commit cccccccccccccccccccccccccccccccccccccccc.",
        ),
        raw(B, "fix(parser): empty input (#12)\n\nFixes #9"),
        raw(C, "feat: flaky thing"),
        raw(D, "feat(api)!: drop v1\n\nBREAKING CHANGE: use /v2 instead"),
        raw(E, "fix: patch CVE-2026-0001"),
        raw(F, "chore: tidy"),
    ];
    let release = build_release(
        SectionInput {
            version: Some(crate::version::parse("2.0.0").expect("version")),
            tag: None,
            previous_tag: Some("v1.4.0".into()),
            date: Some("2027-01-15".into()),
            prereleases: Vec::new(),
            commits: &commits,
        },
        &ChangelogPolicy::default(),
        Some(&Links::new("https://example.org/o/r", None)),
    );
    insta::assert_snapshot!(render_release(&release), @r"
    ## [2.0.0] - 2027-01-15

    ### Added

    - **BREAKING** **api:** drop v1 ([ddddddd](https://example.org/o/r/commit/dddddddddddddddddddddddddddddddddddddddd))
      - use /v2 instead

    ### Fixed

    - **parser:** empty input (#12, fixes #9) ([bbbbbbb](https://example.org/o/r/commit/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb))

    ### Security

    - patch CVE-2026-0001 (CVE-2026-0001) ([eeeeeee](https://example.org/o/r/commit/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee))

    ");
    let excluded: Vec<_> = release.commits.iter().map(|c| c.excluded).collect();
    assert_eq!(
        excluded,
        vec![
            Some(Exclusion::Revert),
            None,
            Some(Exclusion::Reverted),
            None,
            None,
            Some(Exclusion::Unlisted)
        ]
    );
    assert_eq!(
        release.compare_url.as_deref(),
        Some("https://example.org/o/r/compare/v1.4.0...HEAD")
    );
}

fn release_of(commits: &[RawCommit]) -> Release {
    build_release(
        SectionInput {
            version: None,
            tag: None,
            previous_tag: None,
            date: None,
            prereleases: Vec::new(),
            commits,
        },
        &ChangelogPolicy::default(),
        None,
    )
}

fn exclusions(release: &Release) -> Vec<Option<Exclusion>> {
    release.commits.iter().map(|c| c.excluded).collect()
}

#[test]
fn multi_line_footers_stay_inside_their_list_items() {
    let commits = vec![
        raw(
            A,
            "feat(config)!: move the key\n\n\
             BREAKING CHANGE: the config key moved.\n\
             Use `new_key` instead;\n\
             the old one is ignored.",
        ),
        raw(
            B,
            "feat(api)!: drop v1\n\n\
             BREAKING CHANGE: the v1 endpoints are gone.\n\n\n\
             - call /v2 instead\n\
             ## not a heading",
        ),
        raw(
            C,
            "refactor: new loader\n\n\
             Deprecated: `load_v1`, removed in 3.0.0;\n\
             use `load` instead",
        ),
        raw(D, "fix: after them"),
    ];
    let release = release_of(&commits);
    let markdown = render_release(&release);
    crate::test_markdown::assert_list_items_hold_together(&markdown);
    assert_eq!(crate::test_markdown::list_items(&markdown).len(), 4);
    // Written out by hand: the renderer's output is what is under test.
    let expected = "## [Unreleased]\n\
                    \n\
                    ### Added\n\
                    \n\
                    - **BREAKING** **config:** move the key\n  \
                    - the config key moved.\n    \
                    Use `new_key` instead;\n    \
                    the old one is ignored.\n\
                    - **BREAKING** **api:** drop v1\n  \
                    - the v1 endpoints are gone.\n\
                    \n    \
                    - call /v2 instead\n    \
                    ## not a heading\n\
                    \n\
                    ### Deprecated\n\
                    \n\
                    - new loader\n  \
                    - `load_v1`, removed in 3.0.0;\n    \
                    use `load` instead\n\
                    \n\
                    ### Fixed\n\
                    \n\
                    - after them\n\
                    \n";
    assert_eq!(markdown, expected);
    // The changelog file takes it as one section: a line in an item is
    // no heading of its own.
    let update = SectionUpdate {
        key: SectionKey::Unreleased,
        markdown: markdown.clone(),
        link: None,
    };
    let written = file::update(None, &[update], "CHANGELOG.md").expect("update");
    assert_eq!(
        file::section_text(&written, &SectionKey::Unreleased),
        Some(expected)
    );
}

#[test]
fn list_item_text_indents_continuation_lines() {
    assert_eq!(list_item_text("one line", 2), "one line");
    assert_eq!(list_item_text("a\nb", 2), "a\n  b");
    assert_eq!(
        list_item_text("\n a  \n\n\n\n  b\r\nc\n\n", 4),
        "a\n\n      b\n    c"
    );
    assert_eq!(list_item_text("", 2), "");
}

#[test]
fn a_git_revert_of_an_earlier_release_is_listed_as_changed() {
    let commits = vec![
        raw(
            A,
            "Revert \"fix(parser): handle empty input\"\n\n\
             This reverts commit 1234567890123456789012345678901234567890.",
        ),
        raw(
            B,
            "Revert \"feat: flaky thing\"\n\n\
             This reverts commit cccccccccccccccccccccccccccccccccccccccc.",
        ),
        raw(C, "feat: flaky thing"),
    ];
    let release = release_of(&commits);
    insta::assert_snapshot!(render_release(&release), @r"
    ## [Unreleased]

    ### Changed

    - fix(parser): handle empty input

    ");
    assert_eq!(
        exclusions(&release),
        vec![None, Some(Exclusion::Revert), Some(Exclusion::Reverted)]
    );
}

#[test]
fn a_reverted_revert_cancels_with_its_revert_only() {
    let commits = vec![
        raw(
            A,
            "Reapply \"feat: flaky thing\"\n\n\
             This reverts commit bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.",
        ),
        raw(
            B,
            "Revert \"feat: flaky thing\"\n\n\
             This reverts commit cccccccc.",
        ),
        raw(C, "feat: flaky thing"),
    ];
    // The thing is in: the revert is undone.
    let release = release_of(&commits);
    assert_eq!(
        exclusions(&release),
        vec![Some(Exclusion::Revert), Some(Exclusion::Reverted), None]
    );
    insta::assert_snapshot!(render_release(&release), @r"
    ## [Unreleased]

    ### Added

    - flaky thing

    ");
    // Reverted once more, it is out again.
    let mut four = vec![raw(
        D,
        "Revert \"Reapply \"feat: flaky thing\"\"\n\n\
         This reverts commit aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.",
    )];
    four.extend(commits);
    let release = release_of(&four);
    assert_eq!(
        exclusions(&release),
        vec![
            Some(Exclusion::Revert),
            Some(Exclusion::Reverted),
            Some(Exclusion::Revert),
            Some(Exclusion::Reverted)
        ]
    );
    assert!(release.groups.is_empty());
}

#[test]
fn only_security_fixes_go_to_security() {
    let policy = ChangelogPolicy::default();
    let group = |m: &str| policy.group_of(&Commit::parse("0", m, 1));
    assert_eq!(group("fix: patch CVE-2026-0001"), Ok(Group::Security));
    assert_eq!(group("fix(security): escape names"), Ok(Group::Security));
    assert_eq!(group("security: rotate keys"), Ok(Group::Security));
    assert_eq!(
        group("docs(security): explain our policy"),
        Err(Exclusion::Unlisted)
    );
    assert_eq!(
        group("chore: bump lodash (CVE-2021-23337 is not affecting us)"),
        Err(Exclusion::Unlisted)
    );
    assert_eq!(
        group("test(jest): revert CVE-2020-1234 workaround"),
        Err(Exclusion::Unlisted)
    );
    assert_eq!(
        group("feat(auth): lock accounts (CVE-2026-0002)"),
        Ok(Group::Added)
    );
}

#[test]
fn rules_override_defaults_and_can_skip() {
    let policy = ChangelogPolicy {
        rules: vec![
            GroupRule {
                kind: Some("docs".into()),
                scope: None,
                group: GroupChoice::Group(Group::Changed),
            },
            GroupRule {
                kind: Some("fix".into()),
                scope: Some("ci".into()),
                group: GroupChoice::Skip(Skip::Skip),
            },
        ],
        include_merges: false,
    };
    let group = |m: &str| policy.group_of(&Commit::parse("0", m, 1));
    assert_eq!(group("docs: guide"), Ok(Group::Changed));
    assert_eq!(group("fix(ci): flake"), Err(Exclusion::Unlisted));
    assert_eq!(group("fix: real"), Ok(Group::Fixed));
    assert_eq!(
        group("refactor: x\n\nDeprecated: old api"),
        Ok(Group::Deprecated)
    );
    assert_eq!(group("not conventional"), Err(Exclusion::Nonconforming));
}
