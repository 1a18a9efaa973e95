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

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use jiff::civil::Date;
use serde::Serialize;
use serde::de;
use serde_saphyr::{Location, Spanned};

use crate::yaml::Node;

use crate::calendar::{CadenceConfig, CalendarDocument};
use crate::version::{self, Version};
use crate::{Error, Result};

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

/// How a value reads in a message: a scalar quoted as written, a
/// collection by its kind.
fn describe(text: &str, node: &Spanned<Node>) -> String {
    match &node.value {
        Node::Null => "null".into(),
        Node::Str(s) => format!("the string `{s}`"),
        Node::Seq(_) => "a list".into(),
        Node::Map(_) => "a mapping".into(),
        Node::Bool(_) | Node::Int(_) | Node::UInt(_) | Node::Float(_) => {
            format!("`{}`", scalar_text(text, node).unwrap_or_default())
        }
    }
}

/// The text of a scalar: a string's value, or a number or boolean as the
/// document spelled it (`2.0` stays `2.0`). `None` for null and
/// collections.
fn scalar_text(text: &str, node: &Spanned<Node>) -> Option<String> {
    let written = || {
        let span = node.referenced.span();
        let start = usize::try_from(span.byte_offset()?).ok()?;
        let len = usize::try_from(span.byte_len()?).ok()?;
        text.get(start..start.checked_add(len)?).map(str::to_owned)
    };
    match &node.value {
        Node::Str(s) => Some(s.clone()),
        Node::Bool(b) => Some(written().unwrap_or_else(|| b.to_string())),
        Node::Int(n) => Some(written().unwrap_or_else(|| n.to_string())),
        Node::UInt(n) => Some(written().unwrap_or_else(|| n.to_string())),
        Node::Float(x) => Some(written().unwrap_or_else(|| x.to_string())),
        Node::Null | Node::Seq(_) | Node::Map(_) => None,
    }
}

/// `a.b` or `b` when `a` is empty.
fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// `` `a`, `b` or `c` ``.
fn one_of(words: &[&str]) -> String {
    listed(words, "or")
}

/// `` `a`, `b` and `c` ``.
fn all_of(words: &[&str]) -> String {
    listed(words, "and")
}

fn listed(words: &[&str], last_word: &str) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("{} {last_word} {last}", rest.join(", "))
        }
        _ => quoted.concat(),
    }
}

const TOP_KEYS: &[&str] = &["release_calendar"];
const CALENDAR_KEYS: &[&str] = &["year", "minor_releases", "major_releases", "patch_releases"];
const MINOR_KEYS: &[&str] = &["version", "rc_date", "release_date", "status"];
const MAJOR_KEYS: &[&str] = &["version", "quarter", "planned_date", "status"];
const PATCH_KEYS: &[&str] = &["version", "release_date", "hotfix"];
const MINOR_STATUSES: &[&str] = &["planned", "rc", "released", "skipped"];
const MAJOR_STATUSES: &[&str] = &["planned", "rc", "released", "delayed"];
const QUARTERS: &[&str] = &["Q1", "Q2", "Q3", "Q4"];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Which list an entry is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Minor,
    Major,
    Patch,
}

/// A value that was read, with where it was.
struct Located<T> {
    value: T,
    location: Location,
    key: String,
}

/// What the cross-entry checks need of one entry.
struct Entry {
    kind: Kind,
    version: Option<Located<Version>>,
    /// The release (or planned) date.
    date: Option<Date>,
    /// Whether the entry takes part in the order and duplicate checks: not
    /// a skipped minor, nor one whose status cannot be read.
    scheduled: bool,
    /// Whether its release is still to come: `planned` or `rc`.
    pending: bool,
}

struct Checker<'a> {
    text: &'a str,
    cadence: &'a CadenceConfig,
    problems: Vec<CalendarProblem>,
}

impl Checker<'_> {
    fn problem(&mut self, location: &Location, key: &str, message: impl Into<String>) {
        self.problems.push(CalendarProblem {
            line: location.line(),
            column: location.column(),
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// The values of a mapping's `keys`, in that order; reports a value
    /// that is not a mapping, and unknown, duplicate and missing keys.
    fn fields<'n>(
        &mut self,
        node: &'n Spanned<Node>,
        path: &str,
        keys: &[&str],
    ) -> Option<Vec<Option<&'n Spanned<Node>>>> {
        let Node::Map(entries) = &node.value else {
            let found = describe(self.text, node);
            self.problem(
                &node.referenced,
                path,
                format!(
                    "expected a mapping with the keys {}, but found {found}",
                    all_of(keys)
                ),
            );
            return None;
        };
        let mut values: Vec<Option<&Spanned<Node>>> = vec![None; keys.len()];
        let mut first_line: Vec<u64> = vec![0; keys.len()];
        for (key, value) in entries {
            let Some(name) = scalar_text(self.text, key) else {
                let found = describe(self.text, key);
                self.problem(
                    &key.referenced,
                    path,
                    format!("expected a key {}, but found {found}", one_of(keys)),
                );
                continue;
            };
            let name = name.as_str();
            let Some(slot) = keys.iter().position(|k| *k == name) else {
                self.problem(
                    &key.referenced,
                    &join(path, name),
                    format!("unknown key `{name}`, expected {}", one_of(keys)),
                );
                continue;
            };
            if values[slot].is_some() {
                self.problem(
                    &key.referenced,
                    &join(path, name),
                    format!(
                        "duplicate key `{name}`, first given at line {}",
                        first_line[slot]
                    ),
                );
                continue;
            }
            values[slot] = Some(value);
            first_line[slot] = key.referenced.line();
        }
        for (key, value) in keys.iter().zip(&values) {
            if value.is_none() {
                self.problem(
                    &node.referenced,
                    &join(path, key),
                    format!("missing key `{key}`"),
                );
            }
        }
        Some(values)
    }

    /// The items of a list.
    fn list<'n>(&mut self, node: &'n Spanned<Node>, path: &str) -> &'n [Spanned<Node>] {
        if let Node::Seq(items) = &node.value {
            return items;
        }
        let found = describe(self.text, node);
        self.problem(
            &node.referenced,
            path,
            format!("expected a list, but found {found}"),
        );
        &[]
    }

    /// The text of a scalar meant as a string.
    fn string(&mut self, node: &Spanned<Node>, key: &str, what: &str) -> Option<String> {
        let text = scalar_text(self.text, node);
        if text.is_none() {
            let found = describe(self.text, node);
            self.problem(
                &node.referenced,
                key,
                format!("expected {what}, but found {found}"),
            );
        }
        text
    }

    fn document(&mut self, root: &Spanned<Node>) -> (Option<i16>, usize) {
        let Some(top) = self.fields(root, "", TOP_KEYS) else {
            return (None, 0);
        };
        let Some(calendar) = top[0] else {
            return (None, 0);
        };
        let path = "release_calendar";
        let Some(fields) = self.fields(calendar, path, CALENDAR_KEYS) else {
            return (None, 0);
        };
        let year = fields[0].and_then(|n| self.year(n, &join(path, "year")));
        let mut entries = Vec::new();
        let mut count = 0;
        let lists = [Kind::Minor, Kind::Major, Kind::Patch];
        for (kind, (name, node)) in lists
            .into_iter()
            .zip(CALENDAR_KEYS[1..].iter().zip(&fields[1..]))
        {
            let Some(node) = node else { continue };
            let list_path = join(path, name);
            for (i, item) in self.list(node, &list_path).iter().enumerate() {
                count += 1;
                let item_path = format!("{list_path}[{i}]");
                let entry = match kind {
                    Kind::Minor => self.minor(item, &item_path, year),
                    Kind::Major => self.major(item, &item_path, year),
                    Kind::Patch => self.patch(item, &item_path, year),
                };
                entries.extend(entry);
            }
        }
        self.shapes(&entries);
        self.release_order(&entries);
        self.duplicates(&entries);
        (year, count)
    }

    fn year(&mut self, node: &Spanned<Node>, key: &str) -> Option<i16> {
        let number = match node.value {
            Node::Int(n) => i16::try_from(n).ok(),
            Node::UInt(n) => i16::try_from(n).ok(),
            _ => None,
        };
        match number {
            Some(year) if (1..=9999).contains(&year) => Some(year),
            _ => {
                let found = describe(self.text, node);
                self.problem(
                    &node.referenced,
                    key,
                    format!("expected a whole-number year from 1 to 9999, but found {found}"),
                );
                None
            }
        }
    }

    fn minor(&mut self, node: &Spanned<Node>, path: &str, year: Option<i16>) -> Option<Entry> {
        let fields = self.fields(node, path, MINOR_KEYS)?;
        let status = fields[3].and_then(|n| self.status(n, &join(path, "status"), MINOR_STATUSES));
        // A minor whose status cannot be read is treated as skipped, so a
        // misspelt `skipped` is one problem rather than many.
        let scheduled = status.as_ref().is_some_and(|s| s != "skipped");
        let version = fields[0].and_then(|n| self.version(n, &join(path, "version"), !scheduled));
        let rc = fields[1].and_then(|n| self.date(n, &join(path, "rc_date")));
        let release = fields[2].and_then(|n| self.date(n, &join(path, "release_date")));
        if let Some(year) = year {
            if let Some(release) = &release {
                self.in_year(release, year);
            }
            // A cut may come in the last days of the year before a release
            // early in the year.
            let rc_year_ok = |d: Date| {
                d.year() == year
                    || (d.year() == year - 1
                        && release.as_ref().is_none_or(|r| r.value.year() == year))
            };
            if let Some(rc) = rc.as_ref().filter(|rc| !rc_year_ok(rc.value)) {
                self.in_year(rc, year);
            }
        }
        if let (Some(rc), Some(release)) = (&rc, &release)
            && rc.value >= release.value
        {
            self.problem(
                &rc.location,
                &rc.key,
                format!(
                    "expected a date before the release date {}, but found {}",
                    release.value, rc.value
                ),
            );
        }
        if scheduled {
            for date in rc.iter().chain(&release) {
                self.working_day(date);
            }
        }
        Some(Entry {
            kind: Kind::Minor,
            version,
            date: release.map(|r| r.value),
            scheduled,
            pending: status.as_ref().is_some_and(|s| s == "planned" || s == "rc"),
        })
    }

    fn major(&mut self, node: &Spanned<Node>, path: &str, year: Option<i16>) -> Option<Entry> {
        let fields = self.fields(node, path, MAJOR_KEYS)?;
        let status = fields[3].and_then(|n| self.status(n, &join(path, "status"), MAJOR_STATUSES));
        // A delayed major made no version (nor, so as not to cascade, does
        // one whose status cannot be read).
        let open = status.as_ref().is_none_or(|s| s == "delayed");
        let version = fields[0].and_then(|n| self.version(n, &join(path, "version"), open));
        let quarter = fields[1].and_then(|n| self.quarter(n, &join(path, "quarter")));
        let planned = fields[2].and_then(|n| self.date(n, &join(path, "planned_date")));
        if let Some(planned) = &planned {
            if let Some(year) = year {
                self.in_year(planned, year);
            }
            self.working_day(planned);
        }
        if let (Some(quarter), Some(planned)) = (&quarter, &planned) {
            let month = planned.value.month();
            let expected = (month - 1) / 3 + 1;
            if i8::try_from(quarter.value).ok() != Some(expected) {
                let name = MONTHS[usize::try_from(month - 1).unwrap_or(0)];
                self.problem(
                    &quarter.location,
                    &quarter.key,
                    format!(
                        "expected Q{expected} for the planned date {} in {name}, but found Q{}",
                        planned.value, quarter.value
                    ),
                );
            }
        }
        Some(Entry {
            kind: Kind::Major,
            version,
            date: planned.map(|p| p.value),
            scheduled: true,
            pending: status.as_ref().is_some_and(|s| s == "planned" || s == "rc"),
        })
    }

    fn patch(&mut self, node: &Spanned<Node>, path: &str, year: Option<i16>) -> Option<Entry> {
        let fields = self.fields(node, path, PATCH_KEYS)?;
        let version = fields[0].and_then(|n| self.version(n, &join(path, "version"), false));
        let release = fields[1].and_then(|n| self.date(n, &join(path, "release_date")));
        if let (Some(release), Some(year)) = (&release, year) {
            self.in_year(release, year);
        }
        if let Some(hotfix) = fields[2]
            && !matches!(hotfix.value, Node::Bool(_))
        {
            let found = describe(self.text, hotfix);
            self.problem(
                &hotfix.referenced,
                &join(path, "hotfix"),
                format!("expected `true` or `false`, but found {found}"),
            );
        }
        Some(Entry {
            kind: Kind::Patch,
            version,
            date: release.map(|r| r.value),
            scheduled: true,
            pending: false,
        })
    }

    fn status(&mut self, node: &Spanned<Node>, key: &str, allowed: &[&str]) -> Option<String> {
        let expected = one_of(allowed);
        let status = self.string(node, key, &expected)?;
        if allowed.contains(&status.as_str()) {
            return Some(status);
        }
        self.problem(
            &node.referenced,
            key,
            format!("expected {expected}, but found `{status}`"),
        );
        None
    }

    fn quarter(&mut self, node: &Spanned<Node>, key: &str) -> Option<Located<u8>> {
        let expected = one_of(QUARTERS);
        let quarter = self.string(node, key, &expected)?;
        let Some(index) = QUARTERS.iter().position(|q| *q == quarter) else {
            self.problem(
                &node.referenced,
                key,
                format!("expected {expected}, but found `{quarter}`"),
            );
            return None;
        };
        Some(Located {
            value: u8::try_from(index + 1).unwrap_or(0),
            location: node.referenced,
            key: key.to_owned(),
        })
    }

    fn date(&mut self, node: &Spanned<Node>, key: &str) -> Option<Located<Date>> {
        let text = self.string(node, key, "a date YYYY-MM-DD")?;
        match parse_date(&text) {
            Ok(value) => Some(Located {
                value,
                location: node.referenced,
                key: key.to_owned(),
            }),
            Err(why) => {
                self.problem(&node.referenced, key, why);
                None
            }
        }
    }

    fn in_year(&mut self, date: &Located<Date>, year: i16) {
        if date.value.year() != year {
            self.problem(
                &date.location,
                &date.key,
                format!("expected a date in {year}, but found {}", date.value),
            );
        }
    }

    fn working_day(&mut self, date: &Located<Date>) {
        if let Some(reason) = self.cadence.blocked_reason(date.value) {
            self.problem(
                &date.location,
                &date.key,
                format!("expected a working day, but {reason}"),
            );
        }
    }

    /// The version of an entry; `null` is no version, accepted when
    /// `may_be_null` (an entry that makes no release).
    fn version(
        &mut self,
        node: &Spanned<Node>,
        key: &str,
        may_be_null: bool,
    ) -> Option<Located<Version>> {
        if may_be_null && matches!(node.value, Node::Null) {
            return None;
        }
        let text = self.string(node, key, "a version")?;
        match version::parse(&text) {
            Ok(value) => Some(Located {
                value,
                location: node.referenced,
                key: key.to_owned(),
            }),
            Err(e) => {
                self.problem(&node.referenced, key, e.to_string());
                None
            }
        }
    }

    /// Each version has the shape of its entry's kind. The next release,
    /// the first minor or major by date still `planned` or `rc`, may take
    /// any release version: it is the one `version next` proposes, a patch
    /// when the changes call for no more.
    fn shapes(&mut self, entries: &[Entry]) {
        let next = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind != Kind::Patch && e.pending)
            .filter_map(|(i, e)| Some((e.date?, i)))
            .min()
            .map(|(_, i)| i);
        for (i, entry) in entries.iter().enumerate() {
            let Some(located) = &entry.version else {
                continue;
            };
            let version = &located.value;
            let plain = version.pre.is_empty() && version.build.is_empty();
            let (fits, shape) = match entry.kind {
                _ if Some(i) == next => (plain, "a release version X.Y.Z"),
                // A skipped minor may still show the version of the release
                // that followed it, which may be a major.
                Kind::Minor if !entry.scheduled => {
                    (plain && version.patch == 0, "a release version X.Y.0")
                }
                Kind::Minor => (
                    plain && version.patch == 0 && version.minor > 0,
                    "a minor release version X.Y.0 with Y > 0",
                ),
                Kind::Major => (
                    plain && version.patch == 0 && version.minor == 0 && version.major > 0,
                    "a major release version X.0.0 with X > 0",
                ),
                Kind::Patch => (
                    plain && version.patch > 0,
                    "a patch release version X.Y.Z with Z > 0",
                ),
            };
            if !fits {
                self.problem(
                    &located.location,
                    &located.key,
                    format!("expected {shape}, but found {version}"),
                );
            }
        }
    }

    /// Minor and major versions strictly increase by release date; skipped
    /// minors take no version of their own.
    fn release_order(&mut self, entries: &[Entry]) {
        let mut releases: Vec<(Date, &Located<Version>)> = entries
            .iter()
            .filter(|e| e.kind != Kind::Patch && e.scheduled)
            .filter_map(|e| Some((e.date?, e.version.as_ref()?)))
            .collect();
        releases.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| a.1.value.cmp_precedence(&b.1.value))
        });
        for pair in releases.windows(2) {
            let ((before_date, before), (_, after)) = (pair[0], pair[1]);
            // Equal versions are reported as duplicates.
            if after.value.cmp_precedence(&before.value).is_lt() {
                self.problem(
                    &after.location,
                    &after.key,
                    format!(
                        "expected a version above {}, released earlier on {before_date} \
                         (line {}), but found {}, which goes backwards",
                        before.value,
                        before.location.line(),
                        after.value
                    ),
                );
            }
        }
    }

    /// No version twice, among entries that are not skipped.
    fn duplicates(&mut self, entries: &[Entry]) {
        let mut versions: Vec<&Located<Version>> = entries
            .iter()
            .filter(|e| e.scheduled)
            .filter_map(|e| e.version.as_ref())
            .collect();
        versions.sort_by_key(|v| (v.location.line(), v.location.column()));
        let mut seen: BTreeMap<(u64, u64, u64, String), &Located<Version>> = BTreeMap::new();
        for version in versions {
            let v = &version.value;
            let id = (v.major, v.minor, v.patch, v.pre.to_string());
            if let Some(first) = seen.get(&id) {
                self.problem(
                    &version.location,
                    &version.key,
                    format!(
                        "duplicate version {v}, already given at line {} ({})",
                        first.location.line(),
                        first.key
                    ),
                );
            } else {
                seen.insert(id, version);
            }
        }
    }
}

/// Reads `YYYY-MM-DD` exactly, and says what is wrong otherwise.
fn parse_date(text: &str) -> std::result::Result<Date, String> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    let malformed = || format!("expected a date YYYY-MM-DD, but found `{text}`");
    if !shaped {
        return Err(malformed());
    }
    let number =
        |range: std::ops::Range<usize>| text[range].parse::<i16>().map_err(|_| malformed());
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let month = i8::try_from(month).map_err(|_| malformed())?;
    let day = i8::try_from(day).map_err(|_| malformed())?;
    if !(1..=12).contains(&month) {
        return Err(format!("{}: there is no month {month}", malformed()));
    }
    let first = Date::new(year, month, 1).map_err(|_| malformed())?;
    Date::new(year, month, day).map_err(|_| {
        let name = MONTHS[usize::try_from(month - 1).unwrap_or(0)];
        format!(
            "{}: {name} {year} has {} days",
            malformed(),
            first.days_in_month()
        )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Blocked, OnBlocked, plan_from};
    use jiff::civil::date;

    const VALID: &str = "\
release_calendar:
  year: 2027
  minor_releases:
    - version: 1.5.0
      rc_date: 2027-01-14
      release_date: 2027-01-15
      status: released
    - version: 1.6.0
      rc_date: 2027-01-28
      release_date: 2027-01-29
      status: planned
    - version: 2.0.0
      rc_date: 2027-03-25
      release_date: 2027-03-26
      status: skipped
    - version: 2.1.0
      rc_date: 2027-04-08
      release_date: 2027-04-09
      status: planned
  major_releases:
    - version: 2.0.0
      quarter: Q1
      planned_date: 2027-03-26
      status: planned
  patch_releases:
    - version: 1.5.1
      release_date: 2027-01-20
      hotfix: true
";

    const ORIGIN: &str = "release-calendar-2027.yaml";

    fn check(text: &str) -> ValidationReport {
        validate(text, Path::new(ORIGIN), &CadenceConfig::default()).expect("a mapping")
    }

    /// The problem lines of `VALID` with `from` replaced by `to`.
    fn broken(from: &str, to: &str) -> String {
        assert!(VALID.contains(from), "{from:?} is not in the document");
        lines(&check(&VALID.replacen(from, to, 1)))
    }

    fn lines(report: &ValidationReport) -> String {
        let origin = Path::new(ORIGIN);
        let lines: Vec<String> = report.problems.iter().map(|p| p.render(origin)).collect();
        lines.join("\n")
    }

    #[test]
    fn a_hand_written_calendar_is_valid() {
        let report = check(VALID);
        assert!(report.ok(), "{}", lines(&report));
        assert_eq!(report.year, Some(2027));
        assert_eq!(report.entries, 6);
    }

    #[test]
    fn generated_calendars_round_trip() {
        let blocked = CadenceConfig {
            non_working_days: vec![
                Blocked::Day(date(2026, 1, 16)),
                Blocked::Day(date(2027, 5, 27)),
            ],
            freeze_windows: vec![Blocked::Range {
                from: date(2026, 12, 21),
                to: date(2027, 1, 1),
                name: Some("year-end".into()),
            }],
            ..CadenceConfig::default()
        };
        let skipping = CadenceConfig {
            on_blocked: OnBlocked::Skip,
            ..blocked.clone()
        };
        let base = version::parse("1.4.2").expect("version");
        let mut cut_the_year_before = false;
        for cadence in [CadenceConfig::default(), blocked, skipping] {
            for year in [2026, 2027, 2028] {
                let document = CalendarDocument {
                    release_calendar: plan_from(&cadence, year, &base),
                };
                let text = crate::evidence::render_yaml(&document).expect("yaml");
                let report =
                    validate(&text, Path::new("generated.yaml"), &cadence).expect("mapping");
                assert!(report.ok(), "{year}:\n{}\n{text}", lines(&report));
                assert_eq!(report.year, Some(year));
                let year_before = (year - 1).to_string();
                cut_the_year_before |= document
                    .release_calendar
                    .minor_releases
                    .iter()
                    .any(|m| m.rc_date.starts_with(&year_before) && m.status != "skipped");
                assert_eq!(
                    report.entries,
                    document.release_calendar.minor_releases.len()
                        + document.release_calendar.major_releases.len()
                );
            }
        }
        // 2027's first minor releases on 2027-01-01, cut on 2026-12-31.
        assert!(cut_the_year_before);
    }

    #[test]
    fn an_rc_after_its_release() {
        insta::assert_snapshot!(broken("rc_date: 2027-01-28", "rc_date: 2027-02-01"), @"release-calendar-2027.yaml:9:16: release_calendar.minor_releases[1].rc_date: expected a date before the release date 2027-01-29, but found 2027-02-01");
    }

    #[test]
    fn a_version_going_backwards() {
        insta::assert_snapshot!(broken("version: 1.6.0", "version: 1.4.0"), @"release-calendar-2027.yaml:8:16: release_calendar.minor_releases[1].version: expected a version above 1.5.0, released earlier on 2027-01-15 (line 4), but found 1.4.0, which goes backwards");
    }

    #[test]
    fn a_date_in_the_wrong_year() {
        insta::assert_snapshot!(broken("release_date: 2027-01-20", "release_date: 2026-01-20"), @"release-calendar-2027.yaml:27:21: release_calendar.patch_releases[0].release_date: expected a date in 2027, but found 2026-01-20");
    }

    #[test]
    fn an_unknown_status() {
        insta::assert_snapshot!(broken("status: released", "status: shipped"), @"release-calendar-2027.yaml:7:15: release_calendar.minor_releases[0].status: expected `planned`, `rc`, `released` or `skipped`, but found `shipped`");
    }

    #[test]
    fn a_malformed_date() {
        insta::assert_snapshot!(broken("rc_date: 2027-04-08", "rc_date: 2027-4-8"), @"release-calendar-2027.yaml:17:16: release_calendar.minor_releases[3].rc_date: expected a date YYYY-MM-DD, but found `2027-4-8`");
        insta::assert_snapshot!(broken("release_date: 2027-01-29", "release_date: 2027-02-29"), @"release-calendar-2027.yaml:10:21: release_calendar.minor_releases[1].release_date: expected a date YYYY-MM-DD, but found `2027-02-29`: February 2027 has 28 days");
        insta::assert_snapshot!(broken("release_date: 2027-01-29", "release_date: 2027-13-01"), @"release-calendar-2027.yaml:10:21: release_calendar.minor_releases[1].release_date: expected a date YYYY-MM-DD, but found `2027-13-01`: there is no month 13");
    }

    #[test]
    fn a_bad_version() {
        insta::assert_snapshot!(broken("version: 1.5.0", "version: v1.5"), @"release-calendar-2027.yaml:4:16: release_calendar.minor_releases[0].version: invalid version `v1.5`: unexpected character 'v' while parsing major version number");
        insta::assert_snapshot!(broken("version: 1.5.0", "version: 1.5"), @"release-calendar-2027.yaml:4:16: release_calendar.minor_releases[0].version: invalid version `1.5`: unexpected end of input while parsing minor version number");
    }

    #[test]
    fn a_duplicate_version() {
        insta::assert_snapshot!(broken("version: 1.6.0", "version: 1.5.0"), @"release-calendar-2027.yaml:8:16: release_calendar.minor_releases[1].version: duplicate version 1.5.0, already given at line 4 (release_calendar.minor_releases[0].version)");
    }

    #[test]
    fn a_quarter_that_does_not_match() {
        insta::assert_snapshot!(broken("quarter: Q1", "quarter: Q2"), @"release-calendar-2027.yaml:22:16: release_calendar.major_releases[0].quarter: expected Q1 for the planned date 2027-03-26 in March, but found Q2");
        insta::assert_snapshot!(broken("quarter: Q1", "quarter: Q5"), @"release-calendar-2027.yaml:22:16: release_calendar.major_releases[0].quarter: expected `Q1`, `Q2`, `Q3` or `Q4`, but found `Q5`");
    }

    #[test]
    fn an_unknown_key() {
        insta::assert_snapshot!(broken("      hotfix: true\n", "      hotfix: true\n      notes: urgent\n"), @"release-calendar-2027.yaml:29:7: release_calendar.patch_releases[0].notes: unknown key `notes`, expected `version`, `release_date` or `hotfix`");
        insta::assert_snapshot!(broken("  year: 2027\n", "  year: 2027\n  owner: release-team\n"), @"release-calendar-2027.yaml:3:3: release_calendar.owner: unknown key `owner`, expected `year`, `minor_releases`, `major_releases` or `patch_releases`");
    }

    #[test]
    fn a_missing_key() {
        insta::assert_snapshot!(broken("      planned_date: 2027-03-26\n", ""), @"release-calendar-2027.yaml:21:7: release_calendar.major_releases[0].planned_date: missing key `planned_date`");
        insta::assert_snapshot!(broken("  year: 2027\n", ""), @"release-calendar-2027.yaml:2:3: release_calendar.year: missing key `year`");
    }

    #[test]
    fn a_release_on_a_saturday() {
        insta::assert_snapshot!(broken("release_date: 2027-04-09", "release_date: 2027-04-10"), @"release-calendar-2027.yaml:18:21: release_calendar.minor_releases[3].release_date: expected a working day, but 2027-04-10 is a saturday, not a working day");
    }

    #[test]
    fn blocked_days_come_from_the_cadence() {
        let cadence = CadenceConfig {
            non_working_days: vec![Blocked::Day(date(2027, 1, 29))],
            freeze_windows: vec![Blocked::Range {
                from: date(2027, 3, 22),
                to: date(2027, 3, 26),
                name: Some("quarter-end".into()),
            }],
            ..CadenceConfig::default()
        };
        let report = validate(VALID, Path::new(ORIGIN), &cadence).expect("mapping");
        // The skipped minor on 2027-03-26 is exempt; the major is not.
        insta::assert_snapshot!(lines(&report), @r"
        release-calendar-2027.yaml:10:21: release_calendar.minor_releases[1].release_date: expected a working day, but 2027-01-29 is a non-working day (2027-01-29)
        release-calendar-2027.yaml:23:21: release_calendar.major_releases[0].planned_date: expected a working day, but 2027-03-26 is in the freeze window quarter-end (2027-03-22 to 2027-03-26)
        ");
    }

    #[test]
    fn version_shapes_follow_the_release_kind() {
        // Released, these are not the next release, which may take any
        // release version.
        let text = VALID
            .replacen("version: 1.6.0", "version: 1.6.1", 1)
            .replacen("status: planned", "status: released", 1)
            .replacen(
                "planned_date: 2027-03-26\n      status: planned",
                "planned_date: 2027-03-26\n      status: released",
                1,
            )
            .replacen("version: 2.1.0", "version: 2.1.0-rc.1", 1)
            .replacen(
                "version: 2.0.0\n      quarter",
                "version: 2.1.0\n      quarter",
                1,
            )
            .replacen("version: 1.5.1", "version: 1.6.0", 1);
        insta::assert_snapshot!(lines(&check(&text)), @r"
        release-calendar-2027.yaml:8:16: release_calendar.minor_releases[1].version: expected a minor release version X.Y.0 with Y > 0, but found 1.6.1
        release-calendar-2027.yaml:16:16: release_calendar.minor_releases[3].version: expected a release version X.Y.Z, but found 2.1.0-rc.1
        release-calendar-2027.yaml:16:16: release_calendar.minor_releases[3].version: expected a version above 2.1.0, released earlier on 2027-03-26 (line 21), but found 2.1.0-rc.1, which goes backwards
        release-calendar-2027.yaml:21:16: release_calendar.major_releases[0].version: expected a major release version X.0.0 with X > 0, but found 2.1.0
        release-calendar-2027.yaml:26:16: release_calendar.patch_releases[0].version: expected a patch release version X.Y.Z with Z > 0, but found 1.6.0
        ");
    }

    #[test]
    fn the_next_release_may_take_any_release_version() {
        // `version next` proposes a patch for the next minor slot.
        let report = check(
            &VALID
                .replacen("version: 1.6.0", "version: 1.5.1", 1)
                .replacen(
                    "    - version: 1.5.1\n      release_date: 2027-01-20",
                    "    - version: 1.5.2\n      release_date: 2027-01-20",
                    1,
                ),
        );
        assert!(report.ok(), "{}", lines(&report));
        // Only the first release still to come.
        insta::assert_snapshot!(broken("version: 2.1.0", "version: 2.0.1"), @"release-calendar-2027.yaml:16:16: release_calendar.minor_releases[3].version: expected a minor release version X.Y.0 with Y > 0, but found 2.0.1");
    }

    #[test]
    fn slots_that_make_no_release_have_no_version() {
        let text = VALID
            .replacen("version: 2.0.0\n      rc_date", "version: null\n      rc_date", 1)
            .replacen(
                "version: 2.0.0\n      quarter: Q1\n      planned_date: 2027-03-26\n      status: planned",
                "version: null\n      quarter: Q1\n      planned_date: 2027-03-26\n      status: delayed",
                1,
            );
        let report = check(&text);
        assert!(report.ok(), "{}", lines(&report));
        insta::assert_snapshot!(broken("version: 1.6.0", "version: null"), @"release-calendar-2027.yaml:8:16: release_calendar.minor_releases[1].version: expected a version, but found null");
    }

    #[test]
    fn values_of_the_wrong_type() {
        let text = VALID
            .replacen("year: 2027", "year: \"2027\"", 1)
            .replacen("hotfix: true", "hotfix: \"yes\"", 1)
            .replacen("status: planned", "status: [planned]", 1)
            .replacen("version: 1.5.0", "version: 1.50", 1)
            .replacen(
                "  major_releases:\n",
                "  major_releases: none\n  old_majors:\n",
                1,
            );
        insta::assert_snapshot!(lines(&check(&text)), @r"
        release-calendar-2027.yaml:2:9: release_calendar.year: expected a whole-number year from 1 to 9999, but found the string `2027`
        release-calendar-2027.yaml:4:16: release_calendar.minor_releases[0].version: invalid version `1.50`: unexpected end of input while parsing minor version number
        release-calendar-2027.yaml:11:15: release_calendar.minor_releases[1].status: expected `planned`, `rc`, `released` or `skipped`, but found a list
        release-calendar-2027.yaml:20:19: release_calendar.major_releases: expected a list, but found the string `none`
        release-calendar-2027.yaml:21:3: release_calendar.old_majors: unknown key `old_majors`, expected `year`, `minor_releases`, `major_releases` or `patch_releases`
        release-calendar-2027.yaml:29:15: release_calendar.patch_releases[0].hotfix: expected `true` or `false`, but found the string `yes`
        ");
    }

    #[test]
    fn duplicate_keys_are_problems() {
        insta::assert_snapshot!(broken("      status: released\n", "      status: released\n      status: rc\n"), @"release-calendar-2027.yaml:8:7: release_calendar.minor_releases[0].status: duplicate key `status`, first given at line 7");
    }

    #[test]
    fn every_problem_is_reported() {
        let text = VALID
            .replacen("rc_date: 2027-01-14", "rc_date: 2027-01-16", 1)
            .replacen("version: 2.1.0", "version: 1.2.0", 1)
            .replacen("status: skipped", "status: cancelled", 1)
            .replacen("release_date: 2027-01-20", "release_date: 2027-01-20x", 1);
        // By line, and the unknown status does not cascade into the
        // checks of scheduled minors.
        insta::assert_snapshot!(lines(&check(&text)), @r"
        release-calendar-2027.yaml:5:16: release_calendar.minor_releases[0].rc_date: expected a date before the release date 2027-01-15, but found 2027-01-16
        release-calendar-2027.yaml:5:16: release_calendar.minor_releases[0].rc_date: expected a working day, but 2027-01-16 is a saturday, not a working day
        release-calendar-2027.yaml:15:15: release_calendar.minor_releases[2].status: expected `planned`, `rc`, `released` or `skipped`, but found `cancelled`
        release-calendar-2027.yaml:16:16: release_calendar.minor_releases[3].version: expected a version above 2.0.0, released earlier on 2027-03-26 (line 21), but found 1.2.0, which goes backwards
        release-calendar-2027.yaml:27:21: release_calendar.patch_releases[0].release_date: expected a date YYYY-MM-DD, but found `2027-01-20x`
        ");
    }

    #[test]
    fn only_text_that_is_not_a_yaml_mapping_is_an_error() {
        let cadence = CadenceConfig::default();
        let origin = Path::new(ORIGIN);
        let errors: Vec<String> = [
            "release_calendar: [1, 2\n",
            "- 1\n- 2\n",
            "just words\n",
            "",
            "# only a comment\n",
        ]
        .iter()
        .map(|text| match validate(text, origin, &cadence) {
            Err(e @ Error::Input(_)) => e.to_string(),
            other => panic!("{text:?}: {other:?}"),
        })
        .collect();
        insta::assert_snapshot!(errors.join("\n"), @r"
        release-calendar-2027.yaml:1:19: release_calendar: unclosed bracket '['
        release-calendar-2027.yaml:1:1: expected a mapping with the key `release_calendar`, but found a list
        release-calendar-2027.yaml:1:1: expected a mapping with the key `release_calendar`, but found the string `just words`
        release-calendar-2027.yaml:1:1: expected a mapping with the key `release_calendar`, but found an empty document
        release-calendar-2027.yaml:2:1: expected a mapping with the key `release_calendar`, but found an empty document
        ");
        let report = validate("release_calendar: 2027\n", origin, &cadence).expect("a mapping");
        insta::assert_snapshot!(lines(&report), @"release-calendar-2027.yaml:1:19: release_calendar: expected a mapping with the keys `year`, `minor_releases`, `major_releases` and `patch_releases`, but found `2027`");
    }

    #[test]
    fn the_report_serializes_and_displays() {
        let report = check(&VALID.replacen("quarter: Q1", "quarter: Q3", 1));
        insta::assert_snapshot!(report.problems[0].to_string(), @"22:16: release_calendar.major_releases[0].quarter: expected Q1 for the planned date 2027-03-26 in March, but found Q3");
        insta::assert_json_snapshot!(report, @r#"
        {
          "year": 2027,
          "entries": 6,
          "problems": [
            {
              "line": 22,
              "column": 16,
              "key": "release_calendar.major_releases[0].quarter",
              "message": "expected Q1 for the planned date 2027-03-26 in March, but found Q3"
            }
          ]
        }
        "#);
    }

    #[test]
    fn the_strict_load_is_located() {
        let problem =
            strict_problem("release_calendar:\n  year: 2027\n  colour: red\n").expect("a problem");
        assert_eq!((problem.line, problem.column), (3, 3), "{problem}");
        assert!(strict_problem(VALID).is_none());
    }
}
