use super::document::{link_def, normalize_label};
use super::*;
use crate::ErrorKind;

const FILE: &str = "CHANGELOG.md";

fn unreleased(markdown: &str, link: Option<&str>) -> SectionUpdate {
    SectionUpdate {
        key: SectionKey::Unreleased,
        markdown: markdown.to_owned(),
        link: link.map(str::to_owned),
    }
}

fn release(version: &str, markdown: &str, link: Option<&str>) -> SectionUpdate {
    SectionUpdate {
        key: SectionKey::Version(version.to_owned()),
        markdown: markdown.to_owned(),
        link: link.map(str::to_owned),
    }
}

fn run(existing: Option<&str>, updates: &[SectionUpdate]) -> String {
    let once = update(existing, updates, FILE).expect("update succeeds");
    let twice = update(Some(&once), updates, FILE).expect("second update succeeds");
    assert_eq!(twice, once, "updating is idempotent");
    once
}

const EXISTING: &str = "# Changelog

All notable changes to this project will be documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

## [Unreleased]

### Added
- **cli:** add --verbose (#9)

## [1.1.0] - 2026-12-01

### Added
- **cli:** add --json output (#7)
  Hand-written note: see the migration guide.

### Fixed  
- typo fixed by hand in *docs*   

## [1.0.0] - 2026-10-01

- First release.

[unreleased]: https://example.com/o/r/compare/v1.1.0...HEAD
[1.1.0]: https://example.com/o/r/compare/v1.0.0...v1.1.0
[1.0.0]: https://example.com/o/r/releases/tag/v1.0.0
";

#[test]
fn new_file_gets_the_header_sections_and_links() {
    let out = run(
        None,
        &[
            unreleased(
                "## [Unreleased]\n\n### Added\n- **cli:** add --json (#12)\n\n",
                Some("https://example.com/o/r/compare/v1.2.0...HEAD"),
            ),
            release(
                "1.2.0",
                "## [1.2.0] - 2027-01-15\n\n### Fixed\n- **core:** fix a crash (#11)\n\n",
                Some("https://example.com/o/r/compare/v1.1.0...v1.2.0"),
            ),
        ],
    );
    assert_eq!(
        out,
        "# Changelog

All notable changes to this project will be documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

## [Unreleased]

### Added
- **cli:** add --json (#12)

## [1.2.0] - 2027-01-15

### Fixed
- **core:** fix a crash (#11)

[unreleased]: https://example.com/o/r/compare/v1.2.0...HEAD
[1.2.0]: https://example.com/o/r/compare/v1.1.0...v1.2.0
"
    );
}

#[test]
fn empty_existing_text_is_a_new_file() {
    let updates = [unreleased("## [Unreleased]\n", None)];
    let from_none = run(None, &updates);
    assert_eq!(run(Some(""), &updates), from_none);
    assert_eq!(run(Some("\n  \n"), &updates), from_none);
    assert_eq!(from_none, format!("{HEADER}## [Unreleased]\n\n"));
}

#[test]
fn replaces_unreleased_and_keeps_a_hand_edited_older_section() {
    let out = run(
        Some(EXISTING),
        &[unreleased(
            "## [Unreleased]\n\n### Added\n- **cli:** add --json (#12)\n\n",
            None,
        )],
    );
    let expected = EXISTING.replace(
        "- **cli:** add --verbose (#9)\n",
        "- **cli:** add --json (#12)\n",
    );
    assert_eq!(out, expected);
    let older = SectionKey::Version("1.1.0".into());
    assert_eq!(section_text(&out, &older), section_text(EXISTING, &older));
    assert!(
        section_text(&out, &older)
            .expect("1.1.0 is there")
            .contains("### Fixed  \n- typo fixed by hand in *docs*   \n")
    );
}

#[test]
fn inserts_a_release_between_unreleased_and_the_older_version() {
    let out = run(
        Some(EXISTING),
        &[
            unreleased(
                "## [Unreleased]\n\n",
                Some("https://example.com/o/r/compare/v1.2.0...HEAD"),
            ),
            release(
                "1.2.0",
                "## [1.2.0] - 2027-01-15\n\n### Added\n- **cli:** add --verbose (#9)\n\n",
                Some("https://example.com/o/r/compare/v1.1.0...v1.2.0"),
            ),
        ],
    );
    let expected = EXISTING
        .replace(
            "## [Unreleased]\n\n### Added\n- **cli:** add --verbose (#9)\n\n",
            "## [Unreleased]\n\n## [1.2.0] - 2027-01-15\n\n### Added\n- **cli:** add --verbose (#9)\n\n",
        )
        .replace(
            "[unreleased]: https://example.com/o/r/compare/v1.1.0...HEAD\n",
            "[unreleased]: https://example.com/o/r/compare/v1.2.0...HEAD\n\
             [1.2.0]: https://example.com/o/r/compare/v1.1.0...v1.2.0\n",
        );
    assert_eq!(out, expected);
}

#[test]
fn inserts_a_release_when_there_is_no_unreleased_section() {
    let existing = "# Changelog\n\nNotes by hand.\n\n## 1.0.0 - 2026-10-01\n\n- First release.\n";
    let out = run(
        Some(existing),
        &[release(
            "1.1.0",
            "## [1.1.0] - 2027-01-15\n\n- More.\n",
            None,
        )],
    );
    assert_eq!(
        out,
        "# Changelog\n\nNotes by hand.\n\n## [1.1.0] - 2027-01-15\n\n- More.\n\n## 1.0.0 - 2026-10-01\n\n- First release.\n"
    );
}

#[test]
fn inserts_into_a_file_with_only_a_header() {
    // No blank line and no final newline after the header.
    let out = run(
        Some("# Changelog\nSome text"),
        &[release(
            "0.1.0",
            "## [0.1.0] - 2027-01-15\n- Start.\n",
            None,
        )],
    );
    assert_eq!(
        out,
        "# Changelog\nSome text\n\n## [0.1.0] - 2027-01-15\n- Start.\n\n"
    );
}

#[test]
fn inserts_unreleased_above_the_first_release() {
    let existing =
        "# Changelog\n\n## [1.0.0] - 2026-10-01\n\n- First.\n\n[1.0.0]: https://x/1.0.0\n";
    let out = run(
        Some(existing),
        &[unreleased(
            "## [Unreleased]\n\n- Next.\n",
            Some("https://x/head"),
        )],
    );
    assert_eq!(
        out,
        "# Changelog\n\n## [Unreleased]\n\n- Next.\n\n## [1.0.0] - 2026-10-01\n\n- First.\n\n\
         [unreleased]: https://x/head\n[1.0.0]: https://x/1.0.0\n"
    );
}

#[test]
fn a_backport_goes_below_newer_versions() {
    let out = run(
        Some(EXISTING),
        &[release(
            "1.0.1",
            "## [1.0.1] - 2027-01-20\n\n- Backport.\n\n",
            Some("https://example.com/o/r/compare/v1.0.0...v1.0.1"),
        )],
    );
    let expected = EXISTING
        .replace(
            "## [1.0.0] - 2026-10-01\n",
            "## [1.0.1] - 2027-01-20\n\n- Backport.\n\n## [1.0.0] - 2026-10-01\n",
        )
        .replace(
            "[1.0.0]: https://example.com/o/r/releases/tag/v1.0.0\n",
            "[1.0.1]: https://example.com/o/r/compare/v1.0.0...v1.0.1\n\
             [1.0.0]: https://example.com/o/r/releases/tag/v1.0.0\n",
        );
    assert_eq!(out, expected);
}

#[test]
fn a_release_goes_above_its_prereleases() {
    let existing = "## [1.0.0-rc.1] - 2026-09-01\n\n- Candidate.\n";
    let out = run(
        Some(existing),
        &[release(
            "1.0.0",
            "## [1.0.0] - 2026-10-01\n\n- Final.\n",
            None,
        )],
    );
    assert_eq!(
        out,
        "## [1.0.0] - 2026-10-01\n\n- Final.\n\n## [1.0.0-rc.1] - 2026-09-01\n\n- Candidate.\n"
    );
}

#[test]
fn a_crlf_file_stays_crlf() {
    let existing = EXISTING.replace('\n', "\r\n");
    let out = run(
        Some(&existing),
        &[
            unreleased("## [Unreleased]\n\n", Some("https://x/head")),
            release(
                "1.2.0",
                "## [1.2.0] - 2027-01-15\n\n- New.\n",
                Some("https://x/1.2.0"),
            ),
        ],
    );
    assert!(
        !out.replace("\r\n", "").contains('\n'),
        "only CRLF line endings"
    );
    assert!(out.contains(
        "## [Unreleased]\r\n\r\n## [1.2.0] - 2027-01-15\r\n\r\n- New.\r\n\r\n## [1.1.0]"
    ));
    assert!(out.ends_with(
        "[unreleased]: https://x/head\r\n[1.2.0]: https://x/1.2.0\r\n[1.1.0]: https://example.com/o/r/compare/v1.0.0...v1.1.0\r\n[1.0.0]: https://example.com/o/r/releases/tag/v1.0.0\r\n"
    ));
    let older = SectionKey::Version("1.1.0".into());
    assert_eq!(section_text(&out, &older), section_text(&existing, &older));
}

#[test]
fn link_definitions_are_replaced_or_added_and_others_kept() {
    let existing = "## [Unreleased]\n\n- Next.\n\n## [1.0.0]\n\n- First.\n\n\
        [Unreleased]:   https://old/head \"Unreleased\"\n\
        [keepachangelog]: https://keepachangelog.com\n\
        [1.0.0]: https://x/1.0.0\n\
        [#3]: https://x/pull/3\n";
    let out = run(
        Some(existing),
        &[
            unreleased("## [Unreleased]\n\n- Next.\n", Some("https://new/head")),
            release(
                "1.1.0",
                "## [1.1.0]\n\n- Middle.\n",
                Some("https://x/1.1.0"),
            ),
            release("0.9.0", "## [0.9.0]\n\n- Old.\n", Some("https://x/0.9.0")),
            release("2.0.0", "## 2.0.0\n\n- Unlinked heading.\n", None),
        ],
    );
    assert!(out.ends_with(
        "[Unreleased]:   https://new/head\n\
        [keepachangelog]: https://keepachangelog.com\n\
        [1.1.0]: https://x/1.1.0\n\
        [1.0.0]: https://x/1.0.0\n\
        [0.9.0]: https://x/0.9.0\n\
        [#3]: https://x/pull/3\n"
    ));
    let sections: Vec<&str> = out.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(
        sections,
        [
            "## [Unreleased]",
            "## 2.0.0",
            "## [1.1.0]",
            "## [1.0.0]",
            "## [0.9.0]"
        ]
    );
}

#[test]
fn a_link_label_follows_the_heading_spelling() {
    let existing = "## [v1.0.0] - 2026-10-01\n\n- First.\n\n[v1.0.0]: https://x/v1.0.0\n";
    let out = run(
        Some(existing),
        &[release(
            "1.1.0",
            "## [v1.1.0] - 2027-01-15\n\n- Next.\n",
            Some("https://x/v1.1.0"),
        )],
    );
    assert!(out.ends_with("[v1.1.0]: https://x/v1.1.0\n[v1.0.0]: https://x/v1.0.0\n"));
}

#[test]
fn definitions_kept_under_a_section_survive_its_replacement() {
    let existing =
        "## [Unreleased]\n\n- See [#3].\n\n[#3]: https://x/pull/3\n\n## [1.0.0]\n\n- First.\n";
    let out = run(
        Some(existing),
        &[unreleased("## [Unreleased]\n\n- Other.\n", None)],
    );
    assert_eq!(
        out,
        "## [Unreleased]\n\n- Other.\n\n[#3]: https://x/pull/3\n\n## [1.0.0]\n\n- First.\n"
    );
}

#[test]
fn a_duplicate_section_is_an_input_error() {
    let existing = "# Changelog\n\n## [1.2.0] - 2027-01-15\n\n- A.\n\n## v1.2.0\n\n- B.\n";
    let error = update(Some(existing), &[], FILE).expect_err("duplicate is refused");
    assert_eq!(error.kind(), ErrorKind::Input);
    assert_eq!(
        error.to_string(),
        "CHANGELOG.md: line 3 and line 7 are both the section for 1.2.0"
    );
    let twice = "## [Unreleased]\n\n## unreleased\n";
    let error = update(Some(twice), &[], FILE).expect_err("duplicate is refused");
    assert_eq!(
        error.to_string(),
        "CHANGELOG.md: line 1 and line 3 are both the section for Unreleased"
    );
}

#[test]
fn an_unclosed_code_block_is_an_input_error() {
    let existing = "## [1.0.0]\n\n```sh\ntrainyard release\n";
    let error = update(Some(existing), &[], FILE).expect_err("unclosed fence is refused");
    assert_eq!(error.kind(), ErrorKind::Input);
    assert_eq!(
        error.to_string(),
        "CHANGELOG.md: line 3 opens a code block that is never closed"
    );
}

#[test]
fn markdown_that_is_not_one_section_for_its_key_is_refused() {
    let cases = [
        release("1.2.0", "- no heading\n", None),
        release("1.2.0", "## [1.3.0]\n", None),
        release("1.2.0", "## [1.2.0]\n\n## [1.1.0]\n", None),
        release("1.2.0", "## [1.2.0]\n\n[#1]: https://x/1\n", None),
        release("1.2.0", "## [1.2.0]\n\n```\n", None),
        unreleased("## [Unreleased]\n", Some("https://x\ny")),
    ];
    for case in cases {
        let error = update(Some(EXISTING), &[case], FILE).expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::Internal, "{error}");
    }
    let error =
        update(None, &[release("1.2", "## [1.2]\n", None)], FILE).expect_err("not a version");
    assert_eq!(error.kind(), ErrorKind::Input);
}

#[test]
fn has_section_accepts_v_on_either_side() {
    let text = "## [Unreleased]\n\n## [1.2.0] - 2027-01-15\n\n## v1.1.0\n\n## 1.0.0\n\n## Older releases\n";
    for version in [
        "1.2.0",
        "v1.2.0",
        "1.1.0",
        "v1.1.0",
        "V1.0.0",
        "unreleased",
        "Unreleased",
    ] {
        assert!(has_section(text, version), "{version}");
    }
    for version in ["1.3.0", "v0.9.0", "1.2.0-rc.1", "1.2"] {
        assert!(!has_section(text, version), "{version}");
    }
    assert!(has_section(text, "older"));
    assert!(!has_section("", "1.0.0"));
}

#[test]
fn heading_styles_are_recognised() {
    let text = "# Changelog\n\n\
        ## unreleased ##\n- a\n\
        ## [v1.3.0](https://x/compare) - 2027-02-01\n- b\n\
        ## v1.2.0 (2027-01-15)\n- c\n\
        ##\t1.1.0 - 2026-12-01\n- d\n\
        ###  [1.0.0] not a section\n";
    let key = |v: &str| SectionKey::Version(v.to_owned());
    assert_eq!(
        section_text(text, &SectionKey::Unreleased),
        Some("## unreleased ##\n- a\n")
    );
    assert_eq!(
        section_text(text, &key("1.3.0")),
        Some("## [v1.3.0](https://x/compare) - 2027-02-01\n- b\n")
    );
    assert_eq!(
        section_text(text, &key("1.2.0")),
        Some("## v1.2.0 (2027-01-15)\n- c\n")
    );
    assert_eq!(
        section_text(text, &key("1.1.0")),
        Some("##\t1.1.0 - 2026-12-01\n- d\n###  [1.0.0] not a section\n")
    );
    assert_eq!(section_text(text, &key("1.0.0")), None);
}

#[test]
fn headings_in_code_blocks_and_comments_are_not_sections() {
    let text = "## [1.1.0]\n\n```md\n## [1.0.0]\n[1.0.0]: https://x\n```\n\n<!--\n## [0.9.0]\n-->\n  ~~~\n## [0.8.0]\n  ~~~~\n";
    assert_eq!(
        section_text(text, &SectionKey::Version("1.1.0".into())),
        Some(text)
    );
    for version in ["1.0.0", "0.9.0", "0.8.0"] {
        assert!(!has_section(text, version), "{version}");
    }
}

#[test]
fn a_file_without_a_final_newline_keeps_its_link_block_style() {
    let existing = "## [1.0.0]\n\n- First.\n\n[1.0.0]: https://x/1.0.0";
    let out = run(
        Some(existing),
        &[unreleased("## [Unreleased]\n", Some("https://x/head"))],
    );
    assert_eq!(
        out,
        "## [Unreleased]\n\n## [1.0.0]\n\n- First.\n\n[unreleased]: https://x/head\n[1.0.0]: https://x/1.0.0"
    );
    let out = run(
        Some(existing),
        &[release("0.9.0", "## [0.9.0]\n", Some("https://x/0.9.0"))],
    );
    assert_eq!(
        out,
        "## [1.0.0]\n\n- First.\n\n## [0.9.0]\n\n[1.0.0]: https://x/1.0.0\n[0.9.0]: https://x/0.9.0"
    );
}

#[test]
fn the_last_update_for_a_release_wins() {
    let out = run(
        None,
        &[
            unreleased("## [Unreleased]\n\n- One.\n", Some("https://x/1")),
            unreleased("## [Unreleased]\n\n- Two.\n", Some("https://x/2")),
        ],
    );
    assert_eq!(
        out,
        format!("{HEADER}## [Unreleased]\n\n- Two.\n\n[unreleased]: https://x/2\n")
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Lines people write by hand, including ones that look like
    /// structure (a heading in a code block, a definition mid-section).
    const HAND_LINES: &[&str] = &[
        "### Added",
        "### Fixed  ",
        "- **cli:** add --json (#12)",
        "- reworded by hand, see [the guide](https://example.com/guide)",
        "  continuation of the item   ",
        "",
        "   ",
        "Some prose.\tWith a tab.",
        "<!-- a note for maintainers -->",
        "<!--\n## [9.9.9]\n-->",
        "```md\n## [Unreleased]\n[unreleased]: https://example.com/in-code\n```",
        "#### A deep heading",
        "# A level-one heading",
        "[#12]: https://example.com/pull/12",
        "[keepachangelog]: https://keepachangelog.com",
        "[unreleased]: https://example.com/hand/head",
        "[1.0.0]: https://example.com/hand/1.0.0",
    ];

    const HEADERS: &[&str] = &[
        HEADER,
        "# Changelog\n",
        "# Changelog",
        "Intro without a heading.\n\n",
        "",
    ];

    const GENERATED_LINES: &[&str] = &[
        "### Added",
        "### Fixed",
        "- **cli:** add --json (#12)",
        "- **core:** fix a crash (#11)",
        "",
    ];

    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
    enum GenKey {
        Unreleased,
        Version(u8, u8, u8, Option<u8>),
    }

    impl GenKey {
        fn text(&self) -> String {
            match self {
                GenKey::Unreleased => "Unreleased".to_owned(),
                GenKey::Version(major, minor, patch, pre) => match pre {
                    Some(n) => format!("{major}.{minor}.{patch}-rc.{n}"),
                    None => format!("{major}.{minor}.{patch}"),
                },
            }
        }

        fn section_key(&self) -> SectionKey {
            match self {
                GenKey::Unreleased => SectionKey::Unreleased,
                GenKey::Version(..) => SectionKey::Version(self.text()),
            }
        }

        fn heading(&self, style: u8) -> String {
            let text = self.text();
            match (self, style % 5) {
                (GenKey::Unreleased, 0 | 1) => "## [Unreleased]".to_owned(),
                (GenKey::Unreleased, 2) => "## Unreleased".to_owned(),
                (GenKey::Unreleased, _) => "## [unreleased]".to_owned(),
                (_, 0) => format!("## [{text}] - 2027-01-15"),
                (_, 1) => format!("## [{text}]"),
                (_, 2) => format!("## {text}"),
                (_, 3) => format!("## v{text}"),
                (_, _) => format!("## [v{text}] - 2027-01-15"),
            }
        }
    }

    fn gen_key() -> impl Strategy<Value = GenKey> {
        prop_oneof![
            1 => Just(GenKey::Unreleased),
            4 => (0u8..2, 0u8..3, 0u8..2, proptest::option::weighted(0.2, 1u8..3))
                .prop_map(|(a, b, c, pre)| GenKey::Version(a, b, c, pre)),
        ]
    }

    /// An existing changelog: header, sections with hand-edited lines
    /// in any order, maybe a link block, LF or CRLF, maybe no final
    /// newline.
    fn gen_file() -> impl Strategy<Value = String> {
        (
            0..HEADERS.len(),
            proptest::collection::btree_set(gen_key(), 0..5),
            proptest::collection::vec(
                (
                    any::<u8>(),
                    proptest::collection::vec(0..HAND_LINES.len(), 0..6),
                ),
                5,
            ),
            proptest::collection::vec(
                prop_oneof![
                    gen_key().prop_map(|k| format!(
                        "[{}]: https://example.com/{}",
                        k.text(),
                        k.text()
                    )),
                    Just("[keepachangelog]: https://keepachangelog.com".to_owned()),
                    Just(String::new()),
                ],
                0..4,
            ),
            any::<bool>(),
            any::<bool>(),
            any::<u64>(),
        )
            .prop_map(|(header, keys, bodies, links, crlf, final_newline, seed)| {
                let mut keys: Vec<GenKey> = keys.into_iter().collect();
                // A deterministic shuffle, so sections come in any order.
                let n = keys.len();
                for i in 0..n {
                    let j = (seed as usize).wrapping_add(i * 7) % n;
                    keys.swap(i, j);
                }
                let mut text = HEADERS[header].to_owned();
                for (key, (style, body)) in keys.iter().zip(bodies) {
                    if !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    text.push_str(&key.heading(style));
                    text.push('\n');
                    for line in body {
                        text.push_str(HAND_LINES[line]);
                        text.push('\n');
                    }
                }
                for link in links {
                    text.push_str(&link);
                    text.push('\n');
                }
                if !final_newline {
                    while text.ends_with('\n') {
                        text.pop();
                    }
                }
                if crlf {
                    text = text.replace('\n', "\r\n");
                }
                text
            })
    }

    /// An update and the lines it is made of: the heading, then the body.
    fn gen_update_lines(with_link: bool) -> impl Strategy<Value = (SectionUpdate, Vec<String>)> {
        (
            gen_key(),
            any::<u8>(),
            proptest::collection::vec(0..GENERATED_LINES.len(), 0..5),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(move |(key, style, body, crlf, link)| {
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut lines = vec![key.heading(style)];
                lines.extend(body.iter().map(|&line| GENERATED_LINES[line].to_owned()));
                let markdown: String = lines.iter().map(|line| format!("{line}{eol}")).collect();
                let update = SectionUpdate {
                    link: (with_link && link)
                        .then(|| format!("https://example.com/compare/{}", key.text())),
                    key: key.section_key(),
                    markdown,
                };
                (update, lines)
            })
    }

    fn gen_update(with_link: bool) -> impl Strategy<Value = SectionUpdate> {
        gen_update_lines(with_link).prop_map(|(update, _)| update)
    }

    /// The section as the file must hold it: the update's lines in the
    /// file's line ending, then a blank line unless the last one is.
    fn expected_section(lines: &[String], eol: &str) -> String {
        let mut text: String = lines.iter().map(|line| format!("{line}{eol}")).collect();
        if lines.last().is_some_and(|line| !line.trim().is_empty()) {
            text.push_str(eol);
        }
        text
    }

    /// The definition lines of the link block, as text.
    fn block_lines(text: &str) -> Vec<String> {
        let doc = Doc::parse(text);
        doc.link_block()
            .iter()
            .map(|&(index, _)| {
                let line = doc.lines[index];
                text[line.start..line.end].to_owned()
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn updating_is_idempotent(
            file in gen_file(),
            updates in proptest::collection::vec(gen_update(true), 0..4),
        ) {
            let once = update(Some(&file), &updates, FILE).expect("file is valid");
            let twice = update(Some(&once), &updates, FILE).expect("output is valid");
            prop_assert_eq!(&twice, &once);
            for u in &updates {
                prop_assert!(section_text(&once, &u.key).is_some());
            }
        }

        #[test]
        fn every_byte_outside_the_owned_section_is_kept(
            file in gen_file(),
            (u, lines) in gen_update_lines(false),
        ) {
            let out = update(Some(&file), std::slice::from_ref(&u), FILE).expect("file is valid");
            // A file that is only whitespace is replaced by the header.
            let file = if file.trim().is_empty() { HEADER.to_owned() } else { file };
            let span = section_span(&out, &u.key).expect("the section is there");
            let (before, after) = (&out[..span.start], &out[span.end..]);
            let eol = if file.contains("\r\n") { "\r\n" } else { "\n" };
            let expected = expected_section(&lines, eol);
            prop_assert_eq!(&out[span.clone()], expected.as_str());
            match section_span(&file, &u.key) {
                Some(old) => {
                    prop_assert_eq!(&file[..old.start], before);
                    prop_assert_eq!(&file[old.end..], after);
                }
                None => {
                    prop_assert!(file.ends_with(after));
                    let kept = &file[..file.len() - after.len()];
                    prop_assert!(before.starts_with(kept));
                    let added = &before[kept.len()..];
                    let separators = [String::new(), eol.to_owned(), eol.repeat(2)];
                    prop_assert!(separators.iter().any(|s| s == added), "added {:?}", added);
                }
            }
        }

        #[test]
        fn other_link_definitions_are_kept_in_order(
            file in gen_file(),
            updates in proptest::collection::vec(gen_update(true), 0..4),
        ) {
            let out = update(Some(&file), &updates, FILE).expect("file is valid");
            let ours: Vec<String> = updates
                .iter()
                .filter(|u| u.link.is_some())
                .map(|u| Prepared::new(u).expect("valid update").label.to_lowercase())
                .collect();
            let others = |text: &str| -> Vec<String> {
                block_lines(text)
                    .into_iter()
                    .filter(|line| {
                        let (label, _) = link_def(line).expect("a definition");
                        !ours.contains(&normalize_label(label))
                    })
                    .collect()
            };
            prop_assert_eq!(others(&file), others(&out));
        }
    }
}
