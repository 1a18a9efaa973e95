//! The hand-written part of a release's notes: `.trainyard/notes/<version>.yaml`.
//!
//! Parsing is strict, as for `trainyard.yaml`: an unknown key, a bad
//! severity, a CVE id or commit prefix that is not one, or a removal
//! version that is not a version is an error naming the file, line, column
//! and key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use super::{KnownIssue, Severity};
use crate::Result;
use crate::version::Version;

/// The hand-written notes of one release. Every key is optional; the
/// values are merged over what [`build`](super::build) generates from the
/// commits.
///
/// ```yaml
/// highlights: [faster startup, a new `notes` command]
/// known_issues:
///   - issue: the cache is rebuilt once after upgrading
///     workaround: run `trainyard cache warm` ahead of time
/// upgrade_notes: |
///   Run `trainyard migrate` once after upgrading.
/// migrations:
///   0123abc: rename `old_key` to `new_key` in trainyard.yaml
///   drop the --legacy flag: use --modern instead
/// security:
///   CVE-2026-1234: { severity: high, description: path traversal in archives }
/// deprecations:
///   the `sync --fast` flag: { timeline: 3.0.0, replacement: "`sync --mode fast`" }
/// features:
///   89abcde: { title: Release notes, description: generated from commits }
/// contributors: ["@docs-team"]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Handwritten {
    /// The highlights; when given they replace the generated summary.
    pub highlights: Vec<String>,
    /// Known issues of the release.
    pub known_issues: Vec<KnownIssue>,
    /// How to upgrade from the previous version.
    pub upgrade_notes: Option<String>,
    /// Migration steps of breaking changes, keyed by a commit id prefix (at
    /// least 7 hexadecimal digits) or by the breaking change's title. They
    /// win over `Migration:` footers.
    pub migrations: BTreeMap<String, String>,
    /// Severities and descriptions of CVEs, keyed by CVE id. A CVE no
    /// commit names is added as an entry of its own.
    pub security: BTreeMap<CveId, HandwrittenSecurity>,
    /// Removal versions and replacements of deprecated items, keyed by the
    /// item as a `Deprecated:` footer names it. An item no commit names is
    /// added as an entry of its own.
    pub deprecations: BTreeMap<String, HandwrittenDeprecation>,
    /// Titles and descriptions that replace the generated ones of
    /// features, keyed by commit id prefix.
    pub features: BTreeMap<CommitPrefix, FeatureOverride>,
    /// Contributors to add to those found in the commits.
    pub contributors: Vec<String>,
}

/// A hand-written `security:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandwrittenSecurity {
    /// The severity of the vulnerability.
    pub severity: Severity,
    /// What was fixed; replaces the commit's description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A hand-written `deprecations:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandwrittenDeprecation {
    /// When the item goes away.
    pub timeline: Timeline,
    /// What to use instead.
    #[serde(default)]
    pub replacement: Option<String>,
}

/// A hand-written `features:` entry: replacements for the generated title
/// and description of one feature.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureOverride {
    /// The feature's title, instead of the commit description.
    #[serde(default)]
    pub title: Option<String>,
    /// The feature's description, instead of the commit body.
    #[serde(default)]
    pub description: Option<String>,
}

/// The release that removes a deprecated item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timeline {
    /// A version, e.g. `3.0.0` (written with or without a `v`).
    Version(Version),
    /// `next major release`: the major release after the one being made.
    NextMajor,
}

impl Timeline {
    /// Reads a timeline from text: a version (`3.0.0`, `v3.0.0`, `3.0`)
    /// anywhere in it, or else a mention of the next major release.
    pub fn find_in(text: &str) -> Option<Timeline> {
        if let Some(version) = find_version(text) {
            return Some(Timeline::Version(version));
        }
        let lower = text.to_ascii_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        words
            .windows(2)
            .any(|pair| pair[0] == "next" && pair[1] == "major")
            .then_some(Timeline::NextMajor)
    }

    /// The removal version, with `next major release` resolved against the
    /// major release after `base`.
    pub fn resolve(&self, base: &Version) -> Version {
        match self {
            Timeline::Version(version) => version.clone(),
            Timeline::NextMajor => Version::new(base.major + 1, 0, 0),
        }
    }
}

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timeline::Version(version) => write!(f, "{version}"),
            Timeline::NextMajor => f.write_str("next major release"),
        }
    }
}

impl Serialize for Timeline {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timeline {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let trimmed = text.trim();
        let exact = trimmed.strip_prefix('v').unwrap_or(trimmed);
        if let Ok(version) = Version::parse(exact) {
            return Ok(Timeline::Version(version));
        }
        match Timeline::find_in(trimmed) {
            // `3.0`: a major and minor version alone
            Some(Timeline::Version(version))
                if exact == format!("{}.{}", version.major, version.minor) =>
            {
                Ok(Timeline::Version(version))
            }
            Some(Timeline::NextMajor) if !trimmed.chars().any(|c| c.is_ascii_digit()) => {
                Ok(Timeline::NextMajor)
            }
            _ => Err(serde::de::Error::custom(format!(
                "invalid removal version `{text}`: expected a version such as 3.0.0 or `next major release`"
            ))),
        }
    }
}

/// A CVE id, `CVE-YYYY-NNNN` with at least four digits after the year.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct CveId(pub String);

impl<'de> Deserialize<'de> for CveId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if is_cve_id(&text) {
            Ok(CveId(text))
        } else {
            Err(serde::de::Error::custom(format!(
                "invalid cve id `{text}`: expected CVE-YYYY-NNNN"
            )))
        }
    }
}

/// The start of a commit id: at least 7 hexadecimal digits, lowercase.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct CommitPrefix(pub String);

impl CommitPrefix {
    /// Whether `id` (a full commit id) starts with this prefix.
    pub fn matches(&self, id: &str) -> bool {
        id.get(..self.0.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(&self.0))
    }
}

impl<'de> Deserialize<'de> for CommitPrefix {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if is_commit_prefix(&text) {
            Ok(CommitPrefix(text.to_ascii_lowercase()))
        } else {
            Err(serde::de::Error::custom(format!(
                "invalid commit id prefix `{text}`: expected at least 7 hexadecimal digits"
            )))
        }
    }
}

/// Whether `text` can be a commit id prefix: 7 to 64 hexadecimal digits.
pub(super) fn is_commit_prefix(text: &str) -> bool {
    (7..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_cve_id(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.len() >= 4
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// The first version in `text`: `1.2.3`, `v1.2.3` or `1.2` (read as
/// `1.2.0`), standing as a word of its own.
pub(super) fn find_version(text: &str) -> Option<Version> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let boundary = |at: usize| !(bytes[at].is_ascii_alphanumeric() || bytes[at] == b'.');
        let starts_word = i == 0
            || boundary(i - 1)
            || (matches!(bytes[i - 1], b'v' | b'V') && (i == 1 || boundary(i - 2)));
        if !(starts_word && bytes[i].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let mut parts: Vec<u64> = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            let Ok(number) = text[start..j].parse::<u64>() else {
                break;
            };
            parts.push(number);
            let more = parts.len() < 3
                && j + 1 < bytes.len()
                && bytes[j] == b'.'
                && bytes[j + 1].is_ascii_digit();
            if !more {
                break;
            }
            j += 1;
        }
        let ends_word = j == bytes.len() || !(bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_');
        if parts.len() >= 2 && ends_word {
            return Some(Version::new(
                parts[0],
                parts[1],
                parts.get(2).copied().unwrap_or(0),
            ));
        }
        i = j.max(i + 1);
    }
    None
}

/// Parses a hand-written notes file; `origin` names it in error messages.
/// An empty file is an empty [`Handwritten`].
///
/// # Errors
///
/// Returns an [`Error::Input`](crate::Error::Input) of the form
/// `.trainyard/notes/1.2.0.yaml:4:5: security.CVE-2026-1234.severity: unknown variant ...`.
pub fn parse_handwritten(text: &str, origin: &Path) -> Result<Handwritten> {
    if text.trim().is_empty() {
        return Ok(Handwritten::default());
    }
    crate::yaml::parse(text, origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        parse_handwritten(text, Path::new(".trainyard/notes/2.4.0.yaml"))
            .expect_err("invalid notes")
            .to_string()
    }

    #[test]
    fn a_full_file_parses() {
        let text = "\
highlights: [faster startup]
known_issues:
  - issue: the cache is rebuilt once
    workaround: run `trainyard cache warm`
  - issue: no workaround yet
upgrade_notes: |
  Run `trainyard migrate` once.
migrations:
  0123abc: rename the key
  drop the --legacy flag: use --modern
security:
  CVE-2026-1234: { severity: high, description: path traversal }
deprecations:
  the `--fast` flag: { timeline: v3.0.0, replacement: --mode fast }
  old api: { timeline: next major release }
features:
  89ABCDEF: { title: Notes }
contributors: ['@docs-team']
";
        let notes = parse_handwritten(text, Path::new("n.yaml")).expect("valid");
        assert_eq!(notes.highlights, ["faster startup"]);
        assert_eq!(notes.known_issues.len(), 2);
        assert_eq!(notes.known_issues[1].workaround, None);
        assert_eq!(
            notes.upgrade_notes.as_deref(),
            Some("Run `trainyard migrate` once.\n")
        );
        assert_eq!(notes.migrations.len(), 2);
        let cve = CveId("CVE-2026-1234".into());
        assert_eq!(notes.security[&cve].severity, Severity::High);
        assert_eq!(
            notes.deprecations["the `--fast` flag"].timeline,
            Timeline::Version(Version::new(3, 0, 0))
        );
        assert_eq!(notes.deprecations["old api"].timeline, Timeline::NextMajor);
        let prefix = CommitPrefix("89abcdef".into());
        assert!(prefix.matches("89abcdef0123"));
        assert_eq!(notes.features[&prefix].title.as_deref(), Some("Notes"));
        assert_eq!(notes.contributors, ["@docs-team"]);
    }

    #[test]
    fn empty_files_are_empty_notes() {
        let notes = parse_handwritten("\n# nothing yet\n", Path::new("n.yaml")).expect("valid");
        assert_eq!(notes, Handwritten::default());
    }

    #[test]
    fn errors_name_file_line_column_and_key() {
        let cases = [
            "highlights: [a]\nhighligts: [b]\n",
            "security:\n  CVE-2026-1234: { severity: urgent }\n",
            "security:\n  CVE-2026-1234:\n    severity: high\n    score: 9.8\n",
            "security:\n  CVE-26-1: { severity: low }\n",
            "known_issues:\n  - { workaround: none }\n",
            "deprecations:\n  old api: { timeline: soon }\n",
            "features:\n  abc: { title: x }\n",
            "highlights: a\n",
            "migrations:\n  0123abc: one\n  0123abc: two\n",
        ];
        let messages: Vec<String> = cases.iter().map(|c| error_of(c)).collect();
        insta::assert_snapshot!(messages.join("\n"));
    }

    #[test]
    fn plain_scalars_that_look_like_numbers_are_text() {
        let text = "\
migrations:
  7777777: steps
features:
  1234567: { title: x }
  1e10000: { title: y }
deprecations:
  x: { timeline: 3.0 }
";
        let notes = parse_handwritten(text, Path::new("n.yaml")).expect("valid");
        assert_eq!(notes.migrations["7777777"], "steps");
        assert!(notes.features.contains_key(&CommitPrefix("1234567".into())));
        assert!(notes.features.contains_key(&CommitPrefix("1e10000".into())));
        assert_eq!(
            notes.deprecations["x"].timeline,
            Timeline::Version(Version::new(3, 0, 0))
        );
    }

    #[test]
    fn versions_are_found_in_text() {
        let found = |t: &str| find_version(t).map(|v| v.to_string());
        assert_eq!(found("removed in 3.0.0."), Some("3.0.0".into()));
        assert_eq!(found("gone by v4.1"), Some("4.1.0".into()));
        assert_eq!(found("see RFC 7231 and x1.2.3"), None);
        assert_eq!(found("python3.12 only"), None);
        assert_eq!(
            Timeline::find_in("Removed in the Next Major release"),
            Some(Timeline::NextMajor)
        );
        assert_eq!(Timeline::find_in("removed someday"), None);
    }
}
