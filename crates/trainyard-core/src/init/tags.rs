//! Which tag format a repository's existing tags follow.

use crate::config::packages::TagFormat;
use crate::version::{self, Version};

/// The formats looked for, in order of preference when as many tags match
/// two of them. The last has no name: one version for all packages.
pub(super) const CANDIDATES: &[&str] = &[
    "{name}-v{version}",
    "{name}@{version}",
    "{name}-{version}",
    "{name}/v{version}",
    "v{version}",
];

/// Whether `tag` is a release tag of one of `names` under `format`.
pub(super) fn matches(format: &TagFormat, names: &[&str], tag: &str) -> bool {
    let per_name = format.as_str().contains("{name}");
    let prefixes: Vec<String> = if per_name {
        names.iter().map(|n| format.prefix_for(n)).collect()
    } else {
        vec![format.prefix_for("")]
    };
    prefixes.iter().any(|prefix| {
        tag.strip_prefix(prefix.as_str())
            .is_some_and(|rest| version::parse(rest).is_ok())
    })
}

/// The candidate format most of `tags` follow and how many do, or the
/// package default and 0 when none does.
pub(super) fn choose(names: &[&str], tags: &[String]) -> (TagFormat, usize) {
    let mut best = (TagFormat::per_package(), 0);
    for candidate in CANDIDATES {
        let Ok(format) = TagFormat::parse(candidate) else {
            continue;
        };
        let count = tags.iter().filter(|t| matches(&format, names, t)).count();
        if count > best.1 {
            best = (format, count);
        }
    }
    best
}

/// The prefix of the highest version among the tags no package claims
/// under `format` (the repository's own releases), as
/// [`crate::history::Repo::tag_prefix_in_use`] reads a prefix: everything
/// before the first digit.
pub(super) fn unclaimed_prefix(
    format: &TagFormat,
    names: &[&str],
    tags: &[String],
) -> Option<String> {
    let per_name = format.as_str().contains("{name}");
    tags.iter()
        .filter(|t| !(per_name && matches(format, names, t)))
        .filter_map(|t| {
            let digit = t.find(|c: char| c.is_ascii_digit())?;
            let (prefix, rest) = t.split_at(digit);
            let version: Version = version::parse(rest).ok()?;
            Some((version, prefix.to_owned()))
        })
        .max_by(|a, b| a.0.cmp_precedence(&b.0))
        .map(|(_, prefix)| prefix)
}
