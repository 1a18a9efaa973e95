//! Commit messages read as Conventional Commits 1.0.
//!
//! Parsing is the `git-conventional` crate's. A message that does not
//! conform is kept, with the reason, so that callers can count and list it:
//! nothing is silently dropped.
//!
//! A revert written by `git revert` (`Revert "<header>"`, or `Reapply
//! "<header>"` for a revert of a revert) is read as a `revert` commit whose
//! description is the header of the commit it reverts, as the Conventional
//! Commits convention for reverts writes it: `Revert "fix(parser): handle
//! empty input"` reads as `revert: fix(parser): handle empty input`, and
//! `Reapply "fix(parser): ..."` as `revert: Revert "fix(parser): ..."`. It
//! has no scope (the reverted header keeps its own), and its body and
//! footers are read as for any commit. So it bumps, and is grouped, like a
//! `revert:` commit.

use std::borrow::Cow;

use serde::Serialize;

/// A commit as trainyard sees it: its id, its message read as a
/// Conventional Commit when it is one, and whether it is a merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commit {
    /// The full hexadecimal object id.
    pub id: String,
    /// The first line of the message.
    pub summary: String,
    /// The commit has more than one parent.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub merge: bool,
    /// The conventional reading of the message, when it conforms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conventional: Option<Conventional>,
    /// Why the message is not a Conventional Commit, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonconforming: Option<String>,
    /// The commit this one reverts, from git's `This reverts commit <id>.`
    /// line, as written (full or abbreviated id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverts: Option<String>,
    /// The pull request number from a trailing `(#N)` in the summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pr_ref: Option<u64>,
    /// Issues named by `Fixes #N`, `Closes #N`, `Resolves #N` or a
    /// `Refs:` footer, in order of appearance, without duplicates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issue_refs: Vec<u64>,
}

/// The parts of a Conventional Commit that decide versions and changelogs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conventional {
    /// The type, lowercased: `feat`, `fix`, `docs`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The scope, if any, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The description after `: `.
    pub description: String,
    /// The body, if any, without footers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Marked with `!` or a `BREAKING CHANGE:` / `BREAKING-CHANGE:` footer.
    pub breaking: bool,
    /// The text of the breaking-change footer, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaking_description: Option<String>,
    /// A security fix: type `security`; a `fix` whose scope is `security`
    /// or whose message names a CVE id; or any commit with a `Security:`
    /// footer. Other commits that mention security or a CVE (`docs`,
    /// `chore`, `test`, ...) are not security fixes.
    pub security: bool,
    /// CVE ids named anywhere in the message, in order of appearance,
    /// whether or not the commit is a security fix.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cves: Vec<String>,
    /// The footers (trailers), as `(token, value)` in message order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub footers: Vec<Footer>,
}

/// One footer (git trailer) of a commit message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Footer {
    /// The token, e.g. `Refs`, `Co-authored-by`, `BREAKING CHANGE`.
    pub token: String,
    /// The value after the separator.
    pub value: String,
}

impl Commit {
    /// Reads a commit from its id, full message and number of parents.
    /// A leading UTF-8 byte order mark, which some editors write, is not
    /// part of the message.
    pub fn parse(id: impl Into<String>, message: &str, parents: usize) -> Self {
        let message = message.strip_prefix('\u{feff}').unwrap_or(message);
        let message = message.trim_end();
        let summary = message.lines().next().unwrap_or("").to_owned();
        let as_revert = git_revert_header(&summary).map(|reverted| {
            let rest = &message[message.find('\n').unwrap_or(message.len())..];
            format!("revert: {reverted}{rest}")
        });
        let conventional_text = as_revert.as_deref().unwrap_or(message);
        let (conventional, nonconforming) = match git_conventional::Commit::parse(conventional_text)
        {
            Ok(parsed) => (Some(Conventional::from_parsed(&parsed, message)), None),
            Err(e) => (None, Some(nonconforming_reason(&e))),
        };
        Commit {
            id: id.into(),
            pr_ref: trailing_pr_ref(&summary),
            summary,
            merge: parents > 1,
            conventional,
            nonconforming,
            reverts: reverted_id(message),
            issue_refs: issue_refs(message),
        }
    }

    /// The summary without a trailing `(#N)` pull request reference.
    pub fn summary_without_pr(&self) -> &str {
        strip_pr_ref(&self.summary)
    }

    /// The abbreviated id used in human output.
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(10)]
    }
}

impl Conventional {
    fn from_parsed(parsed: &git_conventional::Commit<'_>, message: &str) -> Self {
        let kind = parsed.type_().as_str().to_ascii_lowercase();
        let scope = parsed.scope().map(|s| s.as_str().to_owned());
        let footers: Vec<Footer> = parsed
            .footers()
            .iter()
            .map(|f| Footer {
                token: f.token().as_str().to_owned(),
                value: f.value().to_owned(),
            })
            .collect();
        let cves = find_cves(message);
        let fix = kind == "fix";
        let security = kind == "security"
            || (fix
                && scope
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("security")))
            || (fix && !cves.is_empty())
            || footers
                .iter()
                .any(|f| f.token.eq_ignore_ascii_case("security"));
        Conventional {
            kind,
            scope,
            description: parsed.description().to_owned(),
            body: parsed.body().map(str::to_owned),
            breaking: parsed.breaking(),
            breaking_description: parsed
                .breaking_description()
                .filter(|d| *d != parsed.description())
                .map(str::to_owned),
            security,
            cves,
            footers,
        }
    }
}

fn nonconforming_reason(error: &git_conventional::Error) -> String {
    use git_conventional::ErrorKind;
    match error.kind() {
        ErrorKind::MissingType => "no `type: description` summary",
        ErrorKind::InvalidScope => "the scope is not `type(scope): description`",
        ErrorKind::MissingDescription => "the description after `type: ` is missing",
        ErrorKind::InvalidBody => "the body does not start after a blank line",
        ErrorKind::InvalidFooter => "a footer is malformed",
        _ => "the message is not a conventional commit",
    }
    .to_owned()
}

/// `(#123)` at the end of a summary, as squash merges write it.
fn trailing_pr_ref(summary: &str) -> Option<u64> {
    let rest = summary.trim_end().strip_suffix(')')?;
    let open = rest.rfind("(#")?;
    rest[open + 2..].parse().ok()
}

/// `text` without a trailing `(#N)`.
pub(crate) fn strip_pr_ref(text: &str) -> &str {
    let trimmed = text.trim_end();
    match trimmed
        .strip_suffix(')')
        .and_then(|r| r.rfind("(#").map(|i| (r, i)))
    {
        Some((rest, open)) if rest[open + 2..].parse::<u64>().is_ok() => rest[..open].trim_end(),
        _ => trimmed,
    }
}

/// The header of the commit a `git revert` summary reverts: `<header>` for
/// `Revert "<header>"`, and `Revert "<header>"` for `Reapply "<header>"`
/// (what git writes when it reverts a revert). A pull request reference
/// after the closing quote, `Revert "..." (#N)`, is allowed.
fn git_revert_header(summary: &str) -> Option<Cow<'_, str>> {
    let text = strip_pr_ref(summary);
    let quoted = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix('"'))
            .filter(|inner| !inner.trim().is_empty())
    };
    if let Some(header) = quoted("Revert \"") {
        return Some(Cow::Borrowed(header));
    }
    quoted("Reapply \"").map(|header| Cow::Owned(format!("Revert \"{header}\"")))
}

/// The id in git's `This reverts commit <id>.` line.
fn reverted_id(message: &str) -> Option<String> {
    let at = message.find("This reverts commit ")?;
    let id: String = message[at + "This reverts commit ".len()..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (id.len() >= 7).then_some(id)
}

/// Issue numbers after the closing keywords forges understand, and in
/// `Refs:` footers.
fn issue_refs(message: &str) -> Vec<u64> {
    const KEYWORDS: [&str; 10] = [
        "fixes", "fixed", "fix", "closes", "closed", "close", "resolves", "resolved", "resolve",
        "refs:",
    ];
    let mut found = Vec::new();
    if !message.contains('#') {
        return found;
    }
    let lower = message.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    for pair in words.windows(2) {
        let keyword = pair[0].trim_end_matches(':');
        let is_keyword = KEYWORDS.contains(&pair[0]) || KEYWORDS.contains(&keyword);
        if !is_keyword {
            continue;
        }
        for part in pair[1].split(',') {
            let number = part
                .trim_start_matches('#')
                .trim_end_matches(|c: char| !c.is_ascii_digit());
            if part.starts_with('#')
                && let Ok(n) = number.parse::<u64>()
                && !found.contains(&n)
            {
                found.push(n);
            }
        }
    }
    found
}

/// Finds `CVE-YYYY-NNNN...` ids in text without a regex: this runs on every
/// commit of a long history, and most messages have no `CVE-` at all.
fn find_cves(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = text[from..].find("CVE-") {
        let start = from + pos;
        let mut i = start + 4;
        let year_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let year_ok = i - year_start == 4 && i < bytes.len() && bytes[i] == b'-';
        if year_ok {
            let seq_start = i + 1;
            let mut j = seq_start;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            let boundary = j == bytes.len() || !bytes[j].is_ascii_alphanumeric();
            let preceded_ok = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
            if j - seq_start >= 4 && boundary && preceded_ok {
                let id = text[start..j].to_owned();
                if !found.contains(&id) {
                    found.push(id);
                }
            }
            from = j.max(start + 4);
        } else {
            from = start + 4;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(message: &str) -> Conventional {
        Commit::parse("0123456789abcdef", message, 1)
            .conventional
            .expect("conventional")
    }

    #[test]
    fn reads_type_scope_and_bang() {
        let c = conv("feat(cli)!: drop the --old flag\n");
        assert_eq!(c.kind, "feat");
        assert_eq!(c.scope.as_deref(), Some("cli"));
        assert!(c.breaking);
        assert_eq!(c.description, "drop the --old flag");
    }

    #[test]
    fn reads_both_breaking_footers() {
        let a = conv("fix: x\n\nBREAKING CHANGE: the `a` option was renamed");
        assert!(a.breaking);
        assert_eq!(
            a.breaking_description.as_deref(),
            Some("the `a` option was renamed")
        );
        let b = conv("refactor(core): y\n\nsome body\n\nBREAKING-CHANGE: gone");
        assert!(b.breaking);
        assert_eq!(b.body.as_deref(), Some("some body"));
    }

    #[test]
    fn security_comes_from_type_scope_footer_or_cve() {
        assert!(conv("security: bump openssl").security);
        assert!(conv("fix(security): escape names").security);
        assert!(conv("fix(Security)!: escape names").security);
        assert!(conv("fix: x\n\nSecurity: CVE-2024-0001").security);
        assert!(conv("chore(deps): bump x\n\nSecurity: GHSA-xxxx").security);
        let c = conv("fix: patch CVE-2023-12345 in parser");
        assert!(c.security);
        assert_eq!(c.cves, vec!["CVE-2023-12345"]);
        let in_body = conv("fix(parser): bound the input\n\nSee CVE-2023-12345.");
        assert!(in_body.security);
        assert!(!conv("fix: mention CVE-20-1 and XCVE-2023-1234").security);
    }

    #[test]
    fn a_commit_that_only_mentions_security_is_not_a_security_fix() {
        assert!(!conv("docs(security): explain our policy").security);
        assert!(!conv("chore(security): rotate the test keys").security);
        let chore = conv("chore: bump lodash (CVE-2021-23337 is not affecting us)");
        assert!(!chore.security);
        assert_eq!(chore.cves, vec!["CVE-2021-23337"]);
        let test = conv("test(jest): revert CVE-2020-1234 workaround");
        assert!(!test.security);
        assert_eq!(test.cves, vec!["CVE-2020-1234"]);
        assert!(!conv("feat(auth): harden login against CVE-2024-0001").security);
    }

    #[test]
    fn trailers_are_kept_in_order() {
        let c = conv("feat: a\n\nRefs: #12\nCo-authored-by: Ada <ada@example.org>");
        let tokens: Vec<_> = c.footers.iter().map(|f| f.token.as_str()).collect();
        assert_eq!(tokens, ["Refs", "Co-authored-by"]);
    }

    #[test]
    fn nonconforming_messages_keep_a_reason() {
        let c = Commit::parse("abc", "Merge pull request #3 from fork/branch-3", 1);
        assert!(c.conventional.is_none());
        assert_eq!(
            c.nonconforming.as_deref(),
            Some("no `type: description` summary")
        );
        assert_eq!(c.summary, "Merge pull request #3 from fork/branch-3");
    }

    #[test]
    fn references_are_read() {
        let c = Commit::parse(
            "abc",
            "fix(api): handle nulls (#412)\n\nFixes #12, closes #13\n\nRefs: #99",
            1,
        );
        assert_eq!(c.pr_ref, Some(412));
        assert_eq!(c.summary_without_pr(), "fix(api): handle nulls");
        assert_eq!(c.issue_refs, vec![12, 13, 99]);
        let r = Commit::parse(
            "def",
            "Revert \"feat: x\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.",
            1,
        );
        assert_eq!(
            r.reverts.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
    }

    #[test]
    fn a_leading_byte_order_mark_is_not_part_of_the_type() {
        let c = Commit::parse("abc", "\u{feff}feat(cli): add --json", 1);
        assert_eq!(c.summary, "feat(cli): add --json");
        let conventional = c.conventional.expect("conventional");
        assert_eq!(conventional.kind, "feat");
        assert_eq!(conventional.scope.as_deref(), Some("cli"));
        // Only a byte order mark that starts the message.
        assert!(
            Commit::parse("abc", " \u{feff}feat: x", 1)
                .conventional
                .is_none()
        );
    }

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn a_git_revert_is_a_revert_of_the_reverted_header() {
        let message = format!(
            "Revert \"fix(parser): handle empty input\"\n\nThis reverts commit {SHA}.\n\n\
             Signed-off-by: Ada <ada@example.org>\n"
        );
        let c = Commit::parse("abc", &message, 1);
        assert_eq!(c.summary, "Revert \"fix(parser): handle empty input\"");
        assert_eq!(c.nonconforming, None);
        assert_eq!(c.reverts.as_deref(), Some(SHA));
        let conventional = c.conventional.expect("conventional");
        assert_eq!(conventional.kind, "revert");
        assert_eq!(conventional.scope, None);
        assert_eq!(conventional.description, "fix(parser): handle empty input");
        assert_eq!(
            conventional.body.as_deref(),
            Some(format!("This reverts commit {SHA}.").as_str())
        );
        assert_eq!(conventional.footers[0].token, "Signed-off-by");
        assert!(!conventional.breaking);
        assert!(!conventional.security);
    }

    #[test]
    fn a_git_revert_of_a_breaking_or_security_fix_is_neither() {
        let breaking = conv(&format!(
            "Revert \"feat(api)!: drop v1\"\n\nThis reverts commit {SHA}."
        ));
        assert_eq!(breaking.description, "feat(api)!: drop v1");
        assert!(!breaking.breaking);
        let security = conv(&format!(
            "Revert \"fix: patch CVE-2026-0001\"\n\nThis reverts commit {SHA}."
        ));
        assert!(!security.security);
        assert_eq!(security.cves, vec!["CVE-2026-0001"]);
    }

    #[test]
    fn reverts_of_reverts_and_forge_reverts_are_read() {
        let twice = Commit::parse(
            "abc",
            &format!(
                "Revert \"Revert \"fix(parser): handle empty input\"\"\n\n\
                 This reverts commit {SHA}."
            ),
            1,
        );
        assert_eq!(twice.reverts.as_deref(), Some(SHA));
        let twice = twice.conventional.expect("conventional");
        assert_eq!(twice.kind, "revert");
        assert_eq!(
            twice.description,
            "Revert \"fix(parser): handle empty input\""
        );
        let reapply = conv(&format!(
            "Reapply \"fix(parser): handle empty input\"\n\nThis reverts commit {SHA}."
        ));
        assert_eq!(reapply.kind, "revert");
        assert_eq!(
            reapply.description,
            "Revert \"fix(parser): handle empty input\""
        );
        let thrice = conv("Revert \"Revert \"Revert \"feat: x\"\"\"");
        assert_eq!(thrice.description, "Revert \"Revert \"feat: x\"\"");
        // A forge's revert button, squash-merged.
        let forge = Commit::parse("abc", "Revert \"feat: add x (#12)\" (#13)", 1);
        assert_eq!(forge.pr_ref, Some(13));
        assert_eq!(
            forge.conventional.expect("conventional").description,
            "feat: add x (#12)"
        );
    }

    #[test]
    fn only_a_whole_quoted_header_makes_a_git_revert() {
        for message in [
            "Revert \"\"",
            "Revert \"",
            "Revert the parser change",
            "Revert \"fix: x\" partly",
            "revert \"fix: x\"",
        ] {
            let c = Commit::parse("abc", message, 1);
            assert!(c.conventional.is_none(), "{message}");
            assert!(c.nonconforming.is_some(), "{message}");
        }
    }

    #[test]
    fn merges_are_flagged() {
        assert!(Commit::parse("abc", "Merge branch 'x'", 2).merge);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parsing_never_panics(message in "\\PC{0,200}", parents in 0usize..3) {
                let c = Commit::parse("id", &message, parents);
                prop_assert!(c.conventional.is_some() != c.nonconforming.is_some());
            }

            #[test]
            fn generated_headers_round_trip(
                kind in "(feat|fix|docs|chore|perf)",
                scope in proptest::option::of("[a-z]{1,8}"),
                bang in any::<bool>(),
                description in "[a-z][a-z ]{0,30}[a-z]",
            ) {
                let header = format!(
                    "{kind}{}{}: {description}",
                    scope.as_ref().map(|s| format!("({s})")).unwrap_or_default(),
                    if bang { "!" } else { "" },
                );
                let c = conv(&header);
                prop_assert_eq!(c.kind, kind);
                prop_assert_eq!(c.scope, scope);
                prop_assert_eq!(c.breaking, bang);
                prop_assert_eq!(c.description, description);
                let revert = conv(&format!("Revert \"{header}\"\n\nThis reverts commit 0123456."));
                prop_assert_eq!(revert.kind, "revert");
                prop_assert_eq!(revert.description, header);
            }
        }
    }
}
