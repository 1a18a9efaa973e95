//! The include and exclude patterns of a sync, compiled, and the walk's
//! decisions by them.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};

use crate::sync::model::SyncPath;
use crate::{Error, Result};

/// The include and exclude patterns of a sync (`filters.include` and
/// `filters.exclude` of a `sync_config`), compiled.
///
/// Patterns are gitignore-style globs on `/`-separated paths relative to
/// the sync root:
///
/// - `*` matches within one path component, `?` one character, `[..]` a
///   character class, `**` any number of components (`**/x`, `a/**`,
///   `a/**/b`);
/// - a pattern without a `/` (other than a trailing one) matches a name at
///   any depth (`*.log`, `target/`); a leading `/` or a `/` in the middle
///   anchors it at the root (`/dist`, `docs/*.md`);
/// - a trailing `/` matches directories only;
/// - a pattern that matches a directory matches everything under it.
///
/// A path is selected when it (or a directory above it) matches an include
/// pattern, or the include list is empty, and neither it nor a directory
/// above it matches an exclude pattern: exclude wins. The sync owns only
/// selected paths; it never adds, changes or deletes anything else.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub(super) include: Option<PatternSet>,
    exclude: Option<PatternSet>,
}

/// What the walk does with a directory.
pub(super) enum DirVerdict {
    /// Skip it and everything under it.
    Prune,
    /// Descend; `true` when an include pattern matched it or a directory
    /// above it (so everything under it is included).
    Descend(bool),
}

impl Filters {
    /// Compiles include and exclude patterns; an empty include list selects
    /// everything.
    ///
    /// # Errors
    ///
    /// An [`Error::Input`] naming the pattern when it is empty, could reach
    /// outside the sync root (a `..` component, an absolute path such as
    /// `//srv`, `~/x` or `C:\x`; a single leading `/` only anchors at the
    /// root), has an empty or `.` component, negates (`!x`: list it under
    /// the other key instead) or is not a valid glob.
    pub fn new<I: AsRef<str>, E: AsRef<str>>(include: &[I], exclude: &[E]) -> Result<Filters> {
        Ok(Filters {
            include: PatternSet::build("include", include)?,
            exclude: PatternSet::build("exclude", exclude)?,
        })
    }

    /// Whether the sync owns `path` (a directory when `is_dir`).
    pub fn selects(&self, path: &SyncPath, is_dir: bool) -> bool {
        let bytes = &path.0;
        if bytes.is_empty() {
            return true;
        }
        let mut included = self.include.is_none();
        for (i, b) in bytes.iter().enumerate() {
            if *b != b'/' || i == 0 {
                continue;
            }
            let ancestor = &bytes[..i];
            if matches(self.exclude.as_ref(), ancestor, true) {
                return false;
            }
            if !included && matches(self.include.as_ref(), ancestor, true) {
                included = true;
            }
        }
        if matches(self.exclude.as_ref(), bytes, is_dir) {
            return false;
        }
        included || matches(self.include.as_ref(), bytes, is_dir)
    }

    /// The walk's decision for a directory whose parent was (or was not)
    /// included; consistent with [`Filters::selects`].
    pub(super) fn dir_verdict(&self, rel: &[u8], parent_included: bool) -> DirVerdict {
        if matches(self.exclude.as_ref(), rel, true) {
            return DirVerdict::Prune;
        }
        let Some(include) = &self.include else {
            return DirVerdict::Descend(true);
        };
        if parent_included || include.matches(rel, true) {
            return DirVerdict::Descend(true);
        }
        if include.may_match_under(rel) {
            DirVerdict::Descend(false)
        } else {
            DirVerdict::Prune
        }
    }

    /// The walk's decision for a non-directory whose parent was (or was
    /// not) included.
    pub(super) fn selects_leaf(&self, rel: &[u8], parent_included: bool) -> bool {
        if matches(self.exclude.as_ref(), rel, false) {
            return false;
        }
        parent_included
            || self
                .include
                .as_ref()
                .is_none_or(|inc| inc.matches(rel, false))
    }
}

fn matches(set: Option<&PatternSet>, rel: &[u8], is_dir: bool) -> bool {
    set.is_some_and(|s| s.matches(rel, is_dir))
}

/// One compiled pattern list.
#[derive(Debug, Clone)]
pub(super) struct PatternSet {
    /// Patterns that match files and directories alike.
    any: GlobSet,
    /// Patterns with a trailing `/`: directories only.
    dirs: GlobSet,
    /// Per pattern, its literal leading components when it is anchored
    /// (`None` when it floats to any depth): the walk prunes directories
    /// that no pattern can reach.
    prefixes: Vec<Option<Vec<Vec<u8>>>>,
}

impl PatternSet {
    fn build<S: AsRef<str>>(list: &'static str, patterns: &[S]) -> Result<Option<PatternSet>> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let mut any = GlobSetBuilder::new();
        let mut dirs = GlobSetBuilder::new();
        let mut prefixes = Vec::with_capacity(patterns.len());
        for raw in patterns {
            let raw = raw.as_ref();
            let parsed = parse_pattern(list, raw)?;
            let glob = GlobBuilder::new(&parsed.glob)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| {
                    Error::input(format!("{list} pattern `{raw}` is not a valid glob: {e}"))
                })?;
            if parsed.dir_only {
                dirs.add(glob);
            } else {
                any.add(glob);
            }
            prefixes.push(parsed.literal_prefix);
        }
        let compile = |b: GlobSetBuilder| {
            b.build()
                .map_err(|e| Error::input(format!("{list} patterns are not valid globs: {e}")))
        };
        Ok(Some(PatternSet {
            any: compile(any)?,
            dirs: compile(dirs)?,
            prefixes,
        }))
    }

    fn matches(&self, rel: &[u8], is_dir: bool) -> bool {
        let candidate = Candidate::new(Path::new(OsStr::from_bytes(rel)));
        self.any.is_match_candidate(&candidate)
            || (is_dir && !self.dirs.is_empty() && self.dirs.is_match_candidate(&candidate))
    }

    /// Whether some pattern could match a path under the directory `rel`.
    pub(super) fn may_match_under(&self, rel: &[u8]) -> bool {
        let dir: Vec<&[u8]> = rel.split(|b| *b == b'/').collect();
        self.prefixes.iter().any(|prefix| match prefix {
            None => true,
            Some(lit) => {
                let n = dir.len().min(lit.len());
                dir[..n]
                    .iter()
                    .zip(&lit[..n])
                    .all(|(d, l)| *d == l.as_slice())
            }
        })
    }
}

/// A pattern translated to globset syntax.
struct ParsedPattern {
    glob: String,
    dir_only: bool,
    literal_prefix: Option<Vec<Vec<u8>>>,
}

fn parse_pattern(list: &str, raw: &str) -> Result<ParsedPattern> {
    let refuse = |why: &str| Err(Error::input(format!("{list} pattern `{raw}` {why}")));
    if raw.is_empty() {
        return Err(Error::input(format!("empty {list} pattern")));
    }
    if raw.contains('\0') {
        return refuse("contains a NUL byte");
    }
    if raw.starts_with('!') {
        return refuse("negates; list the path under the other key (include or exclude) instead");
    }
    let bytes = raw.as_bytes();
    let windows_absolute = bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && bytes.get(2).is_none_or(|b| *b == b'/' || *b == b'\\');
    if raw.starts_with("//") || raw.starts_with('~') || raw.starts_with("\\\\") || windows_absolute
    {
        return refuse(
            "is an absolute path and could reach outside the sync root; patterns are relative \
             to the root (a single leading `/` anchors there)",
        );
    }
    let (body, dir_only) = match raw.strip_suffix('/') {
        Some(rest) => (rest, true),
        None => (raw, false),
    };
    let (body, leading_slash) = match body.strip_prefix('/') {
        Some(rest) => (rest, true),
        None => (body, false),
    };
    if body.is_empty() {
        return refuse("names the root itself; leave include empty to select everything");
    }
    let components: Vec<&str> = body.split('/').collect();
    for c in &components {
        if *c == ".." {
            return refuse("could reach outside the sync root: `..` is not allowed");
        }
        if c.is_empty() || *c == "." {
            return refuse("has an empty or `.` component; write the path without it");
        }
    }
    let anchored = leading_slash || components.len() > 1;
    let glob = if anchored {
        body.to_string()
    } else {
        format!("**/{body}")
    };
    let literal_prefix = anchored.then(|| {
        components
            .iter()
            .take_while(|c| !c.contains(['*', '?', '[', '{', '\\']))
            .map(|c| c.as_bytes().to_vec())
            .collect()
    });
    Ok(ParsedPattern {
        glob,
        dir_only,
        literal_prefix,
    })
}
