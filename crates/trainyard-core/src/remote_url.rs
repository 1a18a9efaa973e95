//! Where a git remote points: its host and repository path, read from the
//! URL shapes forges hand out (`git@github.com:owner/name.git`,
//! `ssh://git@host:2222/group/sub/name`, `https://host/owner/name.git`),
//! credentials left out. The changelog's links and the forge release
//! channels take the repository from the `origin` remote this way when
//! it is not configured.

use std::path::Path;

/// A remote's host and repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUrl {
    /// The host, lowercased, without user or port (`github.com`).
    pub host: String,
    /// The repository path without `.git` (`owner/name`,
    /// `group/subgroup/name` on GitLab).
    pub path: String,
}

/// Which forge a host is, as far as its name tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// github.com, or a host named `github.*`.
    Github,
    /// gitlab.com, or a host named `gitlab.*`.
    Gitlab,
    /// codeberg.org, or a host named `gitea.*` or `forgejo.*`.
    Gitea,
    /// bitbucket.org.
    Bitbucket,
    /// Anything else.
    Unknown,
}

impl RemoteUrl {
    /// The repository's web address, `https://host/path`.
    pub fn web_url(&self) -> String {
        format!("https://{}/{}", self.host, self.path)
    }

    /// Which forge the host is.
    pub fn kind(&self) -> HostKind {
        let host = self.host.as_str();
        let first = host.split('.').next().unwrap_or_default();
        if host == "github.com" || first == "github" {
            HostKind::Github
        } else if host == "gitlab.com" || first == "gitlab" {
            HostKind::Gitlab
        } else if host == "codeberg.org" || first == "gitea" || first == "forgejo" {
            HostKind::Gitea
        } else if host == "bitbucket.org" {
            HostKind::Bitbucket
        } else {
            HostKind::Unknown
        }
    }
}

/// Reads a remote URL; `None` for a local path or a shape without a host
/// and a repository path.
pub fn parse(url: &str) -> Option<RemoteUrl> {
    let url = url.trim();
    let (authority, path) = if let Some((scheme, rest)) = url.split_once("://") {
        if !matches!(
            scheme.to_ascii_lowercase().as_str(),
            "https" | "http" | "ssh" | "git" | "git+ssh" | "ssh+git"
        ) {
            return None;
        }
        rest.split_once('/')?
    } else {
        // scp-like `user@host:path`; a Windows drive or a local path has
        // no host before its colon.
        let (authority, path) = url.split_once(':')?;
        if authority.is_empty() || authority.contains('/') {
            return None;
        }
        (authority, path)
    };
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if let Some(rest) = host_port.strip_prefix('[') {
        rest.split_once(']')?.0
    } else {
        host_port.split(':').next().unwrap_or_default()
    }
    .to_ascii_lowercase();
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if host.is_empty() || host.contains(char::is_whitespace) || segments.len() < 2 {
        return None;
    }
    if segments.iter().any(|s| *s == "." || *s == "..") {
        return None;
    }
    Some(RemoteUrl {
        host,
        path: segments.join("/"),
    })
}

/// The `origin` remote of the repository at `root`, if it has one that
/// [`parse`] reads.
pub fn origin(root: &Path) -> Option<RemoteUrl> {
    let url = crate::git_cli::run(root, &["remote", "get-url", "origin"]).ok()?;
    parse(url.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(host: &str, path: &str) -> Option<RemoteUrl> {
        Some(RemoteUrl {
            host: host.into(),
            path: path.into(),
        })
    }

    #[test]
    fn the_shapes_forges_hand_out_name_the_same_repository() {
        for url in [
            "git@github.com:acme/widget.git",
            "git@github.com:acme/widget",
            "ssh://git@github.com/acme/widget.git",
            "ssh://git@github.com:22/acme/widget.git",
            "https://github.com/acme/widget.git",
            "https://github.com/acme/widget/",
            "https://x-access-token:secret@github.com/acme/widget.git",
            "git://github.com/acme/widget.git",
            "HTTPS://GitHub.com/acme/widget",
        ] {
            assert_eq!(parse(url), at("github.com", "acme/widget"), "{url}");
        }
        assert_eq!(
            parse("https://gitlab.example.org/group/sub/tool.git"),
            at("gitlab.example.org", "group/sub/tool")
        );
        assert_eq!(parse("ssh://git@[::1]:2222/o/r"), at("::1", "o/r"));
    }

    #[test]
    fn local_paths_and_other_schemes_are_not_remotes() {
        for url in [
            "/srv/git/widget.git",
            "../widget",
            "file:///srv/w.git",
            "C:/w",
            "host:",
            "https://github.com/only",
            "https://h/a/../b",
        ] {
            assert_eq!(parse(url), None, "{url}");
        }
    }

    #[test]
    fn hosts_say_which_forge() {
        let kind = |url: &str| parse(url).expect(url).kind();
        assert_eq!(kind("git@github.com:a/b"), HostKind::Github);
        assert_eq!(kind("https://github.example.com/a/b"), HostKind::Github);
        assert_eq!(kind("https://gitlab.com/a/b/c"), HostKind::Gitlab);
        assert_eq!(kind("https://codeberg.org/a/b"), HostKind::Gitea);
        assert_eq!(kind("git@bitbucket.org:a/b.git"), HostKind::Bitbucket);
        assert_eq!(kind("https://git.example.com/a/b"), HostKind::Unknown);
    }

    proptest! {
        #[test]
        fn every_shape_of_a_repository_reads_back_as_it(
            host in "[a-z][a-z0-9]{0,8}(\\.[a-z]{2,5}){1,2}",
            segments in proptest::collection::vec("[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}", 2..4),
            port in proptest::option::of(1u16..65535),
        ) {
            prop_assume!(segments.iter().all(|s| s != "." && s != ".." && !s.ends_with(".git")));
            let path = segments.join("/");
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let expected = at(&host, &path);
            prop_assert_eq!(parse(&format!("git@{host}:{path}.git")), expected.clone());
            prop_assert_eq!(parse(&format!("ssh://git@{host}{port}/{path}.git")), expected.clone());
            prop_assert_eq!(parse(&format!("https://user:pw@{host}{port}/{path}")), expected);
        }
    }
}
