//! `trainyard calendar validate`: checks a `release_calendar` document (the
//! spec's "Release Calendar Template") and reports every problem, each at
//! its line, column and key, e.g.
//! `release-calendar-2027.yaml:14:16: release_calendar.minor_releases[3].rc_date: ...`.
//!
//! The document is read into a generic tree whose every node knows where it
//! came from, so a malformed date, an unknown key or a missing one is a
//! problem at its line rather than a failure of the whole parse. Only text
//! that is not YAML at all, or not a mapping, is an error.
//!
//! What is checked:
//!
//! - the schema, exactly: `release_calendar: {year, minor_releases,
//!   major_releases, patch_releases}` with the spec's keys per entry; unknown,
//!   duplicate and missing keys, and values of the wrong type;
//! - dates are `YYYY-MM-DD` and in `year`; a minor's `rc_date` may fall in
//!   the year before when its release is in `year` (the first release of a
//!   year can be cut in the last days of the year before);
//! - each minor's `rc_date` is strictly before its `release_date`;
//! - minor RC cuts and releases and major releases fall on working days per
//!   the cadence (skipped minors are exempt, and so are patch releases,
//!   which the spec ships "any time gates pass");
//! - a minor whose status is missing or unknown is checked as if skipped,
//!   so a misspelt `skiped` is one problem rather than a cascade;
//! - versions are SemVer releases of the right shape: minors `X.Y.0` with
//!   `Y > 0`, majors `X.0.0` with `X > 0`, patches `X.Y.Z` with `Z > 0`.
//!   A slot that makes no release has no version (`null`): a skipped minor
//!   (which may instead show any `X.Y.0`) and a delayed major. The next
//!   release, the first minor or major by date still `planned` or `rc`,
//!   may carry any release version `X.Y.Z`: it is the one `version next`
//!   proposes, a patch when the changes call for no more;
//! - minor and major versions strictly increase in release order (by date;
//!   skipped minors excluded); no version appears twice (skipped minors
//!   excluded);
//! - statuses are the spec's (minor: `planned`, `rc`, `released`,
//!   `skipped`; major: `planned`, `rc`, `released`, `delayed`), a major's
//!   `quarter` is `Q1` to `Q4` and matches the month of its planned date,
//!   and `hotfix` is a boolean.
//!
//! A document without problems also loads as a
//! [`CalendarDocument`].

mod checker;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;

use serde::Serialize;
use serde::de;
use serde_saphyr::Spanned;

use crate::yaml::Node;

use crate::calendar::{CadenceConfig, CalendarDocument};
use crate::{Error, Result};

use checker::{Checker, describe};

/// The outcome of validating a release calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationReport {
    /// The calendar's `year`, when it is a valid one.
    pub year: Option<i16>,
    /// How many entries the three release lists hold, valid or not.
    pub entries: usize,
    /// Every problem found, by line and column.
    pub problems: Vec<CalendarProblem>,
}

impl ValidationReport {
    /// Whether the calendar has no problems.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One problem in a release calendar, where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarProblem {
    /// The line, from 1 (0 when unknown).
    pub line: u64,
    /// The column, from 1 (0 when unknown).
    pub column: u64,
    /// The key at fault, e.g. `release_calendar.minor_releases[3].rc_date`;
    /// empty for the document itself.
    pub key: String,
    /// What is wrong: lowercase, no final period.
    pub message: String,
}

impl CalendarProblem {
    /// The problem as one line that names the file:
    /// `release-calendar-2027.yaml:14:16: release_calendar.minor_releases[3].rc_date: ...`.
    pub fn render(&self, origin: &Path) -> String {
        format!("{}:{self}", origin.display())
    }
}

/// `14:16: release_calendar.minor_releases[3].rc_date: message` (the key
/// is left out when empty); see [`CalendarProblem::render`] for the line
/// with the file name.
impl fmt::Display for CalendarProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:", self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, " {}:", self.key)?;
        }
        write!(f, " {}", self.message)
    }
}

/// Validates the text of a release calendar; `origin` names it in errors
/// and `cadence` decides which days are working days. Pure.
///
/// # Errors
///
/// Returns an [`Error::Input`] (`file:line:column: ...`) only when the
/// text is not YAML or its top level is not a mapping; every other problem
/// is in the report.
pub fn validate(text: &str, origin: &Path, cadence: &CadenceConfig) -> Result<ValidationReport> {
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
    };
    let root: Spanned<Node> = match serde_saphyr::from_str_with_options(text, options) {
        Ok(root) => root,
        Err(e) => {
            // The shared reader words syntax errors the same way as for
            // every other file; fall back to this error's own words.
            crate::yaml::parse::<de::IgnoredAny>(text, origin)?;
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            return Err(Error::input(format!(
                "{}:{line}:{column}: {}",
                origin.display(),
                plain_message(&e)
            )));
        }
    };
    if !matches!(root.value, Node::Map(_)) {
        let found = match root.value {
            Node::Null => "an empty document".to_owned(),
            _ => describe(text, &root),
        };
        return Err(Error::input(format!(
            "{}:{}:{}: expected a mapping with the key `release_calendar`, but found {found}",
            origin.display(),
            root.referenced.line(),
            root.referenced.column(),
        )));
    }
    let mut checker = Checker {
        text,
        cadence,
        problems: Vec::new(),
    };
    let report = checker.document(&root);
    let mut problems = checker.problems;
    if problems.is_empty()
        && let Some(problem) = strict_problem(text)
    {
        problems.push(problem);
    }
    problems.sort_by_key(|p| (p.line, p.column));
    Ok(ValidationReport {
        year: report.0,
        entries: report.1,
        problems,
    })
}

/// Loads the document into the strict [`CalendarDocument`] the rest of
/// trainyard reads, and reports where that fails. The checks above should
/// leave nothing for this to find; it keeps "valid" meaning "loads".
fn strict_problem(text: &str) -> Option<CalendarProblem> {
    let mut key = String::new();
    let parsed = serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize::<_, CalendarDocument>(de).map_err(|e| {
            key = e.path().to_string();
            e.into_inner()
        })
    });
    let error = parsed.err()?;
    let (line, column) = error.location().map_or((0, 0), |l| (l.line(), l.column()));
    let key = key.strip_suffix(".?").unwrap_or(&key);
    let key = if matches!(key, "" | "." | "?") {
        ""
    } else {
        key
    };
    Some(CalendarProblem {
        line,
        column,
        key: key.to_owned(),
        message: plain_message(&error),
    })
}

/// The error's own words, without the snippet and trailing position
/// serde-saphyr adds, starting lowercase, no final period.
fn plain_message(error: &serde_saphyr::Error) -> String {
    let rendered = error.without_snippet().to_string();
    let trimmed = rendered
        .rfind(" at line ")
        .map_or(rendered.as_str(), |at| &rendered[..at]);
    let mut message = trimmed.trim().trim_end_matches('.').to_owned();
    if let Some(first) = message.get(..1) {
        let lower = first.to_lowercase();
        message.replace_range(..1, &lower);
    }
    message
}
