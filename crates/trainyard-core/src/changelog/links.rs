//! Where the changelog and the release notes link to: a commit's page,
//! a pull request's, merge request's or issue's, and the changes between
//! two tags, in the URL shapes of each forge.
//!
//! The repository is `changelog.repository_url` when configured, else the
//! `origin` remote's. A configured URL on a host no forge name tells gets
//! GitHub-shaped commit and compare links (and no reference links); an
//! `origin` on such a host gets no links at all, unless `changelog.forge`
//! says which forge it is.

use std::borrow::Cow;

use crate::config::changelog::Forge;
use crate::remote_url::{self, HostKind, RemoteUrl};
use crate::workspace::Workspace;

impl Workspace {
    /// The links of the changelog and the release notes, from
    /// `changelog.repository_url` and `changelog.forge`, else from the
    /// `origin` remote; `None` when there is nothing to link to.
    pub fn links(&self) -> Option<Links> {
        let config = &self.config.changelog;
        Links::resolve(config.repository_url.as_deref(), config.forge, || {
            self.origin().cloned()
        })
    }
}

/// The link shapes of one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// The repository's web address, without a trailing `/`.
    base: String,
    /// Its forge; `None` for GitHub-shaped commit and compare links
    /// without reference links.
    forge: Option<Forge>,
}

fn forge_of(kind: HostKind) -> Option<Forge> {
    match kind {
        HostKind::Github => Some(Forge::Github),
        HostKind::Gitlab => Some(Forge::Gitlab),
        HostKind::Gitea => Some(Forge::Gitea),
        HostKind::Bitbucket => Some(Forge::Bitbucket),
        HostKind::Unknown => None,
    }
}

impl Links {
    /// The links of a repository at `base` (`https://host/path`) on
    /// `forge`; `None` means GitHub-shaped commit and compare links only.
    pub fn new(base: &str, forge: Option<Forge>) -> Links {
        Links {
            base: base.trim_end_matches('/').to_owned(),
            forge,
        }
    }

    /// The links for a configured repository URL, a configured forge, and
    /// the `origin` remote (asked for only when no URL is configured).
    pub fn resolve(
        configured: Option<&str>,
        forge: Option<Forge>,
        origin: impl FnOnce() -> Option<RemoteUrl>,
    ) -> Option<Links> {
        if let Some(url) = configured {
            let guessed = remote_url::parse(url).and_then(|r| forge_of(r.kind()));
            return Some(Links::new(url, forge.or(guessed)));
        }
        let origin = origin()?;
        let forge = forge.or_else(|| forge_of(origin.kind()))?;
        Some(Links::new(&origin.web_url(), Some(forge)))
    }

    /// The repository's web address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A commit's page.
    pub fn commit(&self, id: &str) -> String {
        let base = &self.base;
        match self.forge {
            Some(Forge::Gitlab) => format!("{base}/-/commit/{id}"),
            Some(Forge::Bitbucket) => format!("{base}/commits/{id}"),
            Some(Forge::Github | Forge::Gitea) | None => format!("{base}/commit/{id}"),
        }
    }

    /// The page of reference `N` written with `sigil`: `#` (an issue or a
    /// pull request; GitHub and Gitea redirect an issue's page to the pull
    /// request's, Bitbucket numbers only pull requests this way) or `!` (a
    /// GitLab merge request). `None` when the forge has no such reference.
    pub fn reference(&self, sigil: char, number: u64) -> Option<String> {
        let base = &self.base;
        match (self.forge?, sigil) {
            (Forge::Github | Forge::Gitea, '#') => Some(format!("{base}/issues/{number}")),
            (Forge::Gitlab, '#') => Some(format!("{base}/-/issues/{number}")),
            (Forge::Gitlab, '!') => Some(format!("{base}/-/merge_requests/{number}")),
            (Forge::Bitbucket, '#') => Some(format!("{base}/pull-requests/{number}")),
            _ => None,
        }
    }

    /// The link of a release's section: the changes from the previous
    /// release's tag to `tag` (to `HEAD` for changes not tagged yet), or
    /// the tag's own page for a first release, or the history for changes
    /// before any release.
    pub fn compare(&self, previous_tag: Option<&str>, tag: Option<&str>) -> String {
        let base = &self.base;
        let head = tag.unwrap_or("HEAD");
        let forge = self.forge.unwrap_or(Forge::Github);
        match (previous_tag, tag, forge) {
            (Some(previous), _, Forge::Gitlab) => format!("{base}/-/compare/{previous}...{head}"),
            // Bitbucket compares the source (newer) against the
            // destination, separated by a carriage return.
            (Some(previous), _, Forge::Bitbucket) => {
                format!("{base}/branches/compare/{head}%0D{previous}")
            }
            (Some(previous), _, Forge::Github | Forge::Gitea) => {
                format!("{base}/compare/{previous}...{head}")
            }
            (None, Some(tag), Forge::Gitlab) => format!("{base}/-/tags/{tag}"),
            (None, Some(tag), Forge::Bitbucket) => format!("{base}/src/{tag}"),
            (None, Some(tag), Forge::Github | Forge::Gitea) => {
                format!("{base}/releases/tag/{tag}")
            }
            (None, None, Forge::Gitlab) => format!("{base}/-/commits/HEAD"),
            (None, None, Forge::Bitbucket) => format!("{base}/commits"),
            (None, None, Forge::Gitea) => format!("{base}/commits/branch/HEAD"),
            (None, None, Forge::Github) => format!("{base}/commits/HEAD"),
        }
    }

    /// `[#N](url)` for a reference, or the reference as text when the
    /// forge has no page for it.
    pub fn reference_markdown(&self, sigil: char, number: u64) -> String {
        match self.reference(sigil, number) {
            Some(url) => format!("[{sigil}{number}]({url})"),
            None => format!("{sigil}{number}"),
        }
    }

    /// `[abcdef1](url)`: a commit's abbreviated id linked to its page.
    pub fn commit_markdown(&self, id: &str) -> String {
        let short = &id[..id.len().min(7)];
        format!("[{short}]({})", self.commit(id))
    }

    /// `text` with every reference the forge has pages for (`#N`, and
    /// `!N` on GitLab) turned into a Markdown link. A reference is a sigil
    /// at the start or after a character that is not a letter, digit or
    /// one of `_&/[`, followed by digits that a letter, digit or `_` does
    /// not continue; text in backticks is left alone, as it is code.
    pub fn link_references<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.forge.is_none() || !text.contains(['#', '!']) {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len() + 32);
        let mut changed = false;
        let mut in_code = false;
        let mut previous: Option<char> = None;
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            let after = &rest[c.len_utf8()..];
            if c == '`' {
                in_code = !in_code;
            } else if !in_code
                && (c == '#' || c == '!')
                && previous.is_none_or(|p| !(p.is_alphanumeric() || "_&/[".contains(p)))
            {
                let digits =
                    after.len() - after.trim_start_matches(|d: char| d.is_ascii_digit()).len();
                let continued = after[digits..]
                    .chars()
                    .next()
                    .is_some_and(|n| n.is_alphanumeric() || n == '_');
                if digits > 0
                    && !continued
                    && let Ok(number) = after[..digits].parse::<u64>()
                    && let Some(url) = self.reference(c, number)
                {
                    out.push_str(&format!("[{c}{}]({url})", &after[..digits]));
                    changed = true;
                    previous = Some('0');
                    rest = &after[digits..];
                    continue;
                }
            }
            out.push(c);
            previous = Some(c);
            rest = after;
        }
        if changed {
            Cow::Owned(out)
        } else {
            Cow::Borrowed(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "0123456789abcdef0123456789abcdef01234567";

    fn on(forge: Forge) -> Links {
        Links::new("https://forge.example/acme/widget/", Some(forge))
    }

    #[test]
    fn github_shapes() {
        let l = on(Forge::Github);
        let base = "https://forge.example/acme/widget";
        assert_eq!(l.commit(ID), format!("{base}/commit/{ID}"));
        assert_eq!(l.reference('#', 12), Some(format!("{base}/issues/12")));
        assert_eq!(l.reference('!', 12), None);
        assert_eq!(
            l.compare(Some("v1.0.0"), Some("v1.1.0")),
            format!("{base}/compare/v1.0.0...v1.1.0")
        );
        assert_eq!(
            l.compare(Some("v1.0.0"), None),
            format!("{base}/compare/v1.0.0...HEAD")
        );
        assert_eq!(
            l.compare(None, Some("v1.0.0")),
            format!("{base}/releases/tag/v1.0.0")
        );
        assert_eq!(l.compare(None, None), format!("{base}/commits/HEAD"));
    }

    #[test]
    fn gitlab_shapes() {
        let l = on(Forge::Gitlab);
        let base = "https://forge.example/acme/widget";
        assert_eq!(l.commit(ID), format!("{base}/-/commit/{ID}"));
        assert_eq!(l.reference('#', 7), Some(format!("{base}/-/issues/7")));
        assert_eq!(
            l.reference('!', 7),
            Some(format!("{base}/-/merge_requests/7"))
        );
        assert_eq!(
            l.compare(Some("v1.0.0"), Some("v1.1.0")),
            format!("{base}/-/compare/v1.0.0...v1.1.0")
        );
        assert_eq!(
            l.compare(None, Some("v1.0.0")),
            format!("{base}/-/tags/v1.0.0")
        );
        assert_eq!(l.compare(None, None), format!("{base}/-/commits/HEAD"));
    }

    #[test]
    fn gitea_shapes() {
        let l = on(Forge::Gitea);
        let base = "https://forge.example/acme/widget";
        assert_eq!(l.commit(ID), format!("{base}/commit/{ID}"));
        assert_eq!(l.reference('#', 3), Some(format!("{base}/issues/3")));
        assert_eq!(l.reference('!', 3), None);
        assert_eq!(
            l.compare(Some("v1"), Some("v2")),
            format!("{base}/compare/v1...v2")
        );
        assert_eq!(
            l.compare(None, Some("v1")),
            format!("{base}/releases/tag/v1")
        );
    }

    #[test]
    fn bitbucket_shapes() {
        let l = on(Forge::Bitbucket);
        let base = "https://forge.example/acme/widget";
        assert_eq!(l.commit(ID), format!("{base}/commits/{ID}"));
        assert_eq!(l.reference('#', 5), Some(format!("{base}/pull-requests/5")));
        assert_eq!(l.reference('!', 5), None);
        assert_eq!(
            l.compare(Some("v1.0.0"), Some("v1.1.0")),
            format!("{base}/branches/compare/v1.1.0%0Dv1.0.0")
        );
        assert_eq!(
            l.compare(None, Some("v1.0.0")),
            format!("{base}/src/v1.0.0")
        );
    }

    #[test]
    fn an_unknown_host_links_commits_and_changes_only_when_configured() {
        let configured = Links::resolve(Some("https://git.example.com/a/b"), None, || {
            panic!("a configured URL needs no remote")
        })
        .expect("configured");
        assert_eq!(
            configured.commit(ID),
            format!("https://git.example.com/a/b/commit/{ID}")
        );
        assert_eq!(configured.reference('#', 1), None);
        assert_eq!(configured.link_references("see #1"), "see #1");
        let origin = || remote_url::parse("git@git.example.com:a/b.git");
        assert_eq!(Links::resolve(None, None, origin), None);
        assert_eq!(
            Links::resolve(None, Some(Forge::Gitlab), origin),
            Some(Links::new(
                "https://git.example.com/a/b",
                Some(Forge::Gitlab)
            ))
        );
    }

    #[test]
    fn the_forge_comes_from_the_configured_url_or_the_origin() {
        let gitlab = Links::resolve(Some("https://gitlab.com/g/s/r"), None, || None);
        assert_eq!(
            gitlab,
            Some(Links::new("https://gitlab.com/g/s/r", Some(Forge::Gitlab)))
        );
        let origin = Links::resolve(None, None, || {
            remote_url::parse("git@github.com:acme/widget.git")
        });
        assert_eq!(
            origin,
            Some(Links::new(
                "https://github.com/acme/widget",
                Some(Forge::Github)
            ))
        );
        let overridden =
            Links::resolve(Some("https://github.com/a/b"), Some(Forge::Gitea), || None);
        assert_eq!(overridden.map(|l| l.forge), Some(Some(Forge::Gitea)));
        assert_eq!(Links::resolve(None, None, || None), None);
    }

    #[test]
    fn references_become_links_where_they_are_references() {
        let l = on(Forge::Gitlab);
        let base = "https://forge.example/acme/widget";
        assert_eq!(
            l.link_references("fix #12 and !3 (#4)"),
            format!(
                "fix [#12]({base}/-/issues/12) and [!3]({base}/-/merge_requests/3) ([#4]({base}/-/issues/4))"
            )
        );
        for text in [
            "C#1", "a#1", "#1a", "#_", "`#1`", "x&#1;", "path/#1", "[#1]", "!", "#", "#x",
        ] {
            assert_eq!(l.link_references(text), text, "{text}");
        }
        assert_eq!(on(Forge::Github).link_references("!3"), "!3");
    }

    /// One piece of a generated subject: plain text or a reference.
    fn piece() -> impl Strategy<Value = (String, Option<(char, u64)>)> {
        prop_oneof![
            "[a-zA-Z .,:()-]{0,8}".prop_map(|t| (t, None)),
            (prop_oneof![Just('#'), Just('!')], 0u64..100_000)
                .prop_map(|(s, n)| (format!("{s}{n}"), Some((s, n)))),
        ]
    }

    proptest! {
        #[test]
        fn every_reference_gets_exactly_one_link(
            pieces in proptest::collection::vec(piece(), 0..8),
        ) {
            // References stand apart from the text around them.
            let text = pieces.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(" ");
            let refs: Vec<(char, u64)> = pieces.iter().filter_map(|(_, r)| *r).collect();
            let l = on(Forge::Gitlab);
            let linked = l.link_references(&text);
            for (sigil, n) in &refs {
                let link = format!("[{sigil}{n}]({})", l.reference(*sigil, *n).expect("gitlab"));
                let wanted = refs.iter().filter(|r| **r == (*sigil, *n)).count();
                prop_assert_eq!(linked.matches(&link).count(), wanted, "{}", linked);
            }
            prop_assert_eq!(linked.matches("](").count(), refs.len());
            let unlinked = on(Forge::Github).link_references(&text);
            let hashes = refs.iter().filter(|(s, _)| *s == '#').count();
            prop_assert_eq!(unlinked.matches("](").count(), hashes);
        }

        #[test]
        fn text_without_references_is_unchanged(
            text in "[^#!]{0,40}",
            sigils in "[a-z#! ()]{0,40}",
        ) {
            let l = on(Forge::Gitlab);
            prop_assert!(matches!(l.link_references(&text), Cow::Borrowed(t) if t == text));
            // Sigils without digits after them are no references either.
            prop_assert!(matches!(l.link_references(&sigils), Cow::Borrowed(t) if t == sigils));
        }
    }
}
