//! The checks over the document's tree: the schema's keys and types,
//! dates, versions and statuses of each entry, and the order and
//! uniqueness of the releases; with how values read in messages.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde_saphyr::{Location, Spanned};

use super::CalendarProblem;
use crate::calendar::CadenceConfig;
use crate::version::{self, Version};
use crate::yaml::Node;

/// How a value reads in a message: a scalar quoted as written, a
/// collection by its kind.
pub(super) fn describe(text: &str, node: &Spanned<Node>) -> String {
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

pub(super) struct Checker<'a> {
    pub(super) text: &'a str,
    pub(super) cadence: &'a CadenceConfig,
    pub(super) problems: Vec<CalendarProblem>,
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

    pub(super) fn document(&mut self, root: &Spanned<Node>) -> (Option<i16>, usize) {
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
