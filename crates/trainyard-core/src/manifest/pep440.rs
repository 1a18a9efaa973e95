//! PEP 440 versions and specifiers, as far as checking that a Python
//! requirement admits a release version needs: release segments, pre-,
//! post- and development releases (local versions are ignored), and the
//! operators `==` (with `.*`), `!=`, `<`, `<=`, `>`, `>=`, `~=` and `===`.

use std::cmp::Ordering;

/// A parsed PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    release: Vec<u64>,
    /// `a`, `b` or `rc` (as 0, 1, 2) and its number.
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
}

impl Version {
    /// Parses a version leniently, as PEP 440 normalizes it (`v1.0`,
    /// `1.0.0-rc.1`, `1.0alpha2`, `1.0.post1`, `1.0.dev3`); `None` when it
    /// is not one.
    pub(crate) fn parse(text: &str) -> Option<Version> {
        let text = text.trim().to_ascii_lowercase();
        let text = text.strip_prefix('v').unwrap_or(&text);
        let text = text.split('+').next().unwrap_or(text);
        let mut release = Vec::new();
        let mut rest = text;
        loop {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                return None;
            }
            release.push(rest[..digits].parse().ok()?);
            rest = &rest[digits..];
            match rest.strip_prefix('.') {
                Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
                _ => break,
            }
        }
        let mut version = Version {
            release,
            pre: None,
            post: None,
            dev: None,
        };
        while !rest.is_empty() {
            let r = rest.trim_start_matches(['.', '-', '_']);
            let word_len = r.len()
                - r.trim_start_matches(|c: char| c.is_ascii_alphabetic())
                    .len();
            let word = &r[..word_len];
            let after = r[word_len..].trim_start_matches(['.', '-', '_']);
            let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let number = if digits == 0 {
                0
            } else {
                after[..digits].parse().ok()?
            };
            match word {
                "a" | "alpha" => version.pre = Some((0, number)),
                "b" | "beta" => version.pre = Some((1, number)),
                "c" | "rc" | "pre" | "preview" => version.pre = Some((2, number)),
                "post" | "rev" | "r" => version.post = Some(number),
                "dev" => version.dev = Some(number),
                _ => return None,
            }
            rest = &after[digits..];
        }
        Some(version)
    }

    fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// The release segments padded with zeros to `len`.
    fn padded(&self, len: usize) -> Vec<u64> {
        let mut r = self.release.clone();
        r.resize(len.max(r.len()), 0);
        r
    }

    /// A key ordering versions as PEP 440 does: a development release
    /// before its pre-releases, those before the release, then post.
    fn key(&self, len: usize) -> (Vec<u64>, (u8, u64), u64, (u8, u64)) {
        let mut release = self.padded(len);
        while release.len() > len && release.last() == Some(&0) {
            release.pop();
        }
        let pre = match (self.pre, self.post, self.dev) {
            (Some((kind, n)), _, _) => (kind + 1, n),
            (None, None, Some(_)) => (0, 0),
            _ => (4, 0),
        };
        let post = self.post.map_or(0, |p| p + 1);
        let dev = self.dev.map_or((1, 0), |d| (0, d));
        (release, pre, post, dev)
    }

    fn compare(&self, other: &Version) -> Ordering {
        let len = self.release.len().max(other.release.len());
        self.key(len).cmp(&other.key(len))
    }
}

/// Whether the specifier set `spec` (comma-separated clauses) admits
/// `version`; `None` when a clause does not parse. An empty set admits
/// every version.
pub(crate) fn admits(spec: &str, version: &Version) -> Option<bool> {
    let mut all = true;
    for clause in spec.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        all &= clause_admits(clause, version)?;
    }
    Some(all)
}

fn clause_admits(clause: &str, v: &Version) -> Option<bool> {
    let op_len = clause.len() - clause.trim_start_matches(['=', '~', '>', '<', '!']).len();
    let (op, text) = (&clause[..op_len], clause[op_len..].trim());
    if op == "===" {
        return Some(Version::parse(text).as_ref() == Some(v));
    }
    if let Some(prefix) = text.strip_suffix(".*") {
        let prefix = Version::parse(prefix)?;
        let matches = v.padded(prefix.release.len())[..prefix.release.len()] == prefix.release[..];
        return match op {
            "==" => Some(matches),
            "!=" => Some(!matches),
            _ => None,
        };
    }
    let target = Version::parse(text)?;
    let order = v.compare(&target);
    Some(match op {
        "==" => order == Ordering::Equal,
        "!=" => order != Ordering::Equal,
        ">=" => order != Ordering::Less,
        "<=" => order != Ordering::Greater,
        ">" => order == Ordering::Greater,
        "<" => order == Ordering::Less && (target.is_prerelease() || !v.is_prerelease()),
        "~=" => {
            if target.release.len() < 2 {
                return None;
            }
            let prefix = &target.release[..target.release.len() - 1];
            order != Ordering::Less && v.padded(prefix.len())[..prefix.len()] == prefix[..]
        }
        _ => return None,
    })
}
