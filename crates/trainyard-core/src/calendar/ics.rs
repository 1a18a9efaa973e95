//! The release calendar as an iCalendar (RFC 5545) feed, for
//! `trainyard calendar export --format ics`.
//!
//! [`to_ics`] turns a [`ReleaseCalendar`] into a `VCALENDAR` with one
//! all-day `VEVENT` per minor release-candidate cut, minor release, major
//! release and patch release. It is pure: the caller supplies the project
//! name, the tag prefix and the `DTSTAMP` instant.
//!
//! # Stable UIDs
//!
//! Calendar programs recognise an event by its `UID`: importing or
//! re-fetching a feed whose event has a known `UID` updates that event,
//! while a new `UID` adds another one. The calendar is regenerated often
//! and its versions are re-projected each time (a release made, or a slot
//! that passed without one, moves every later version), so no `UID`
//! contains a version. Instead:
//!
//! - a minor release is `minor-release-<ISO week>@<project>.trainyard` and
//!   its cut `rc-cut-<ISO week>@<project>.trainyard`, both keyed by the ISO
//!   week of the release date, e.g. `minor-release-2026-W03@…`. A minor's
//!   cut and release always fall in its cycle's stabilization week, and a
//!   week holds at most one minor release; when a new holiday or freeze
//!   moves the release to an earlier day of that week (or skips it), the
//!   week, and so the `UID`, stays the same, which a `UID` made of the date
//!   would not. Only a change of the cadence's anchor or cycle length gives
//!   new `UID`s;
//! - a major release is `major-<quarter>-<year>@<project>.trainyard`, e.g.
//!   `major-Q1-2026@…`;
//! - a patch release is `patch-<version>@<project>.trainyard`: patch
//!   releases are tags that exist, so their versions do not change.
//!
//! `<project>` is the project name with every byte outside `A-Z`, `a-z`,
//! `0-9`, `-` and `.` percent-encoded, so a `UID` is plain ASCII and needs no
//! escaping. Should two events still get the same `UID` (a hand-edited
//! calendar with two minors in one week), the later ones get `-2`, `-3`, …
//! appended to the part before the `@`.
//!
//! # Statuses
//!
//! `released` gives `STATUS:CONFIRMED`; `planned`, `rc`, `delayed` (and any
//! status trainyard does not know) give `STATUS:TENTATIVE`, except that the
//! cut of a minor in `rc` happened and is `CONFIRMED`. Skipped minors are
//! kept, cut and release both, with `STATUS:CANCELLED`: a subscribed
//! calendar that showed them as planned then marks them cancelled instead
//! of keeping a stale event. Patch releases record tags that exist and are
//! `CONFIRMED`.
//! An entry without a version (`null`: a skipped minor, a delayed major)
//! names no version or tag in its summary and description.
//!
//! Entries whose date is not a valid `YYYY-MM-DD` are left out, since
//! [`to_ics`] cannot fail; a caller that wants such a date reported checks
//! the calendar first.
//!
//! # Format
//!
//! Text values are escaped (`\\`, `\;`, `\,`, `\n`; other control
//! characters but tab are dropped), lines longer than 75 octets are folded
//! with CRLF and one space without ever splitting a UTF-8 character (and,
//! where it can, without ending a physical line in white space, which some
//! readers trim), and every line ends with CRLF.

use jiff::civil::Date;

use crate::calendar::{MajorRelease, MinorRelease, PatchRelease, ReleaseCalendar};

/// The `PRODID` of every calendar trainyard writes.
pub const PRODID: &str = "-//trainyard//release calendar//EN";

/// The longest physical line RFC 5545 allows, in octets, without the CRLF.
const MAX_LINE_OCTETS: usize = 75;

/// What [`to_ics`] needs besides the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcsOptions {
    /// The project's name (e.g. the repository directory's name), used in
    /// the calendar name, in summaries and in `UID`s.
    pub project: String,
    /// The prefix of release tags, e.g. `v`, shown before versions.
    pub tag_prefix: String,
    /// The `DTSTAMP` of every event: when the feed was made. The caller
    /// passes the current instant; tests pass a fixed one.
    pub stamp: jiff::Timestamp,
}

/// The `STATUS` of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Tentative,
    Confirmed,
    Cancelled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Tentative => "TENTATIVE",
            Status::Confirmed => "CONFIRMED",
            Status::Cancelled => "CANCELLED",
        }
    }

    /// The status of a release whose calendar status is `status`.
    fn of_release(status: &str) -> Status {
        match status {
            "released" => Status::Confirmed,
            "skipped" => Status::Cancelled,
            _ => Status::Tentative,
        }
    }

    /// The status of the cut of a minor whose calendar status is `status`.
    fn of_cut(status: &str) -> Status {
        match status {
            "released" | "rc" => Status::Confirmed,
            "skipped" => Status::Cancelled,
            _ => Status::Tentative,
        }
    }
}

/// One all-day event, before rendering.
struct Event {
    /// The `UID` before the `@`.
    key: String,
    date: Date,
    summary: String,
    description: String,
    status: Status,
}

/// Renders `calendar` as an iCalendar feed: CRLF line endings, folded
/// lines, one all-day event per minor release-candidate cut, minor
/// release, major release and patch release, sorted by date. See the
/// [module documentation](self) for the `UID`s and statuses.
pub fn to_ics(calendar: &ReleaseCalendar, options: &IcsOptions) -> String {
    let mut events: Vec<Event> = Vec::new();
    for minor in &calendar.minor_releases {
        minor_events(minor, options, &mut events);
    }
    for major in &calendar.major_releases {
        events.extend(major_event(major, calendar.year, options));
    }
    for patch in &calendar.patch_releases {
        events.extend(patch_event(patch, options));
    }
    // Stable: events of one day keep the order above.
    events.sort_by_key(|e| e.date);

    let domain = format!("{}.trainyard", uid_part(&options.project));
    let stamp = options.stamp.strftime("%Y%m%dT%H%M%SZ").to_string();
    let mut used: Vec<String> = Vec::with_capacity(events.len());
    let mut out = String::new();
    push_line(&mut out, "BEGIN:VCALENDAR");
    push_line(&mut out, "VERSION:2.0");
    push_line(&mut out, &format!("PRODID:{PRODID}"));
    push_line(&mut out, "CALSCALE:GREGORIAN");
    push_line(&mut out, "METHOD:PUBLISH");
    push_line(
        &mut out,
        &format!(
            "X-WR-CALNAME:{}",
            escape_text(&format!("{} releases {}", options.project, calendar.year))
        ),
    );
    for event in &events {
        let mut key = event.key.clone();
        let mut n = 1;
        while used.contains(&key) {
            n += 1;
            key = format!("{}-{n}", event.key);
        }
        used.push(key.clone());
        push_line(&mut out, "BEGIN:VEVENT");
        push_line(&mut out, &format!("UID:{key}@{domain}"));
        push_line(&mut out, &format!("DTSTAMP:{stamp}"));
        push_line(
            &mut out,
            &format!("DTSTART;VALUE=DATE:{}", ics_date(event.date)),
        );
        // The end of an all-day event is exclusive; without one the event
        // lasts its start day, which only 9999-12-31 needs.
        if let Ok(end) = event.date.tomorrow() {
            push_line(&mut out, &format!("DTEND;VALUE=DATE:{}", ics_date(end)));
        }
        push_line(
            &mut out,
            &format!("SUMMARY:{}", escape_text(&event.summary)),
        );
        push_line(
            &mut out,
            &format!("DESCRIPTION:{}", escape_text(&event.description)),
        );
        push_line(&mut out, &format!("STATUS:{}", event.status.as_str()));
        push_line(&mut out, "SEQUENCE:0");
        push_line(&mut out, "TRANSP:TRANSPARENT");
        push_line(&mut out, "END:VEVENT");
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

/// The cut and the release of a minor.
fn minor_events(minor: &MinorRelease, options: &IcsOptions, events: &mut Vec<Event>) {
    let rc = parse_date(&minor.rc_date);
    let release = parse_date(&minor.release_date);
    // Both events belong to the slot of the release's week.
    let Some(week) = release.or(rc).map(iso_week) else {
        return;
    };
    let project = &options.project;
    let skipped = minor.status == "skipped";
    let version = minor.version.as_deref().unwrap_or_default();
    let tag = tag_of(&options.tag_prefix, version);
    let facts = facts(&minor.status, version, &tag);
    if let Some(date) = rc {
        let summary = if skipped {
            format!("{project} release candidate cut skipped")
        } else {
            format!("{project}{} release candidate cut", spaced(&tag))
        };
        events.push(Event {
            key: format!("rc-cut-{week}"),
            date,
            summary,
            description: format!("{facts}\nRelease: {}", minor.release_date),
            status: Status::of_cut(&minor.status),
        });
    }
    if let Some(date) = release {
        let summary = if skipped {
            format!("{project} minor release skipped")
        } else {
            format!("{project}{} minor release", spaced(&tag))
        };
        events.push(Event {
            key: format!("minor-release-{week}"),
            date,
            summary,
            description: format!("{facts}\nRelease candidate cut: {}", minor.rc_date),
            status: Status::of_release(&minor.status),
        });
    }
}

/// A major release.
fn major_event(major: &MajorRelease, year: i16, options: &IcsOptions) -> Option<Event> {
    let date = parse_date(&major.planned_date)?;
    let version = major.version.as_deref().unwrap_or_default();
    let tag = tag_of(&options.tag_prefix, version);
    let delayed = if major.status == "delayed" {
        ", delayed"
    } else {
        ""
    };
    Some(Event {
        key: format!("major-{}-{year}", uid_part(&major.quarter)),
        date,
        summary: format!(
            "{}{} major release ({}{delayed})",
            options.project,
            spaced(&tag),
            major.quarter
        ),
        description: format!(
            "{}\nQuarter: {}",
            facts(&major.status, version, &tag),
            major.quarter
        ),
        status: Status::of_release(&major.status),
    })
}

/// A patch release: a tag that exists.
fn patch_event(patch: &PatchRelease, options: &IcsOptions) -> Option<Event> {
    let date = parse_date(&patch.release_date)?;
    let tag = tag_of(&options.tag_prefix, &patch.version);
    let key = if patch.version.is_empty() {
        format!("patch-{}", patch.release_date)
    } else {
        format!("patch-{}", uid_part(&patch.version))
    };
    let kind = if patch.hotfix { " (hotfix)" } else { "" };
    Some(Event {
        key,
        date,
        summary: format!("{}{} patch release{kind}", options.project, spaced(&tag)),
        description: format!(
            "{}\nHotfix: {}",
            facts("released", &patch.version, &tag),
            if patch.hotfix { "yes" } else { "no" }
        ),
        status: Status::Confirmed,
    })
}

/// The description lines every release shares.
fn facts(status: &str, version: &str, tag: &str) -> String {
    if version.is_empty() {
        format!("Status: {status}")
    } else {
        format!("Status: {status}\nVersion: {version}\nTag: {tag}")
    }
}

/// The tag of `version`, or nothing for an entry without a version.
fn tag_of(prefix: &str, version: &str) -> String {
    if version.is_empty() {
        String::new()
    } else {
        format!("{prefix}{version}")
    }
}

/// ` <text>`, or nothing for empty text.
fn spaced(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(" {text}")
    }
}

/// A `YYYY-MM-DD` date, strictly: no time, no extended years.
fn parse_date(text: &str) -> Option<Date> {
    text.parse::<Date>()
        .ok()
        .filter(|d| (1..=9999).contains(&d.year()) && d.to_string() == text)
}

/// `2026-W03`.
fn iso_week(date: Date) -> String {
    let week = date.iso_week_date();
    format!("{:04}-W{:02}", week.year(), week.week())
}

/// `20260116`.
fn ics_date(date: Date) -> String {
    date.strftime("%Y%m%d").to_string()
}

/// `text` with every byte outside `A-Za-z0-9-.` percent-encoded; `project`
/// when empty.
fn uid_part(text: &str) -> String {
    if text.is_empty() {
        return "project".into();
    }
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Escapes a TEXT value (RFC 5545, 3.3.11): backslash, semicolon and comma
/// get a backslash, line breaks (LF, CRLF or CR) become `\n`, and control
/// characters other than tab, which TEXT cannot hold, are dropped.
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\\n");
            }
            '\t' => out.push('\t'),
            c if c.is_ascii_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends a content line, folded (RFC 5545, 3.1): physical lines of at
/// most 75 octets, continuation lines starting with one space, never a
/// UTF-8 character split, every line ended by CRLF.
fn push_line(out: &mut String, line: &str) {
    let mut rest = line;
    let mut room = MAX_LINE_OCTETS;
    while rest.len() > room {
        let mut cut = room;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        // Readers that trim each physical line would lose white space at
        // its end: break before it when the line has anything else.
        let kept = rest[..cut].trim_end_matches([' ', '\t']).len();
        if kept > 0 {
            cut = kept;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        room = MAX_LINE_OCTETS - 1;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{self, CadenceConfig};
    use crate::version;
    use ical::parser::ical::component::{IcalCalendar, IcalEvent};

    fn stamp() -> jiff::Timestamp {
        "2026-01-02T03:04:05.678Z".parse().unwrap()
    }

    fn options(project: &str) -> IcsOptions {
        IcsOptions {
            project: project.into(),
            tag_prefix: "v".into(),
            stamp: stamp(),
        }
    }

    fn minor(version: &str, rc: &str, release: &str, status: &str) -> MinorRelease {
        MinorRelease {
            version: Some(version.into()).filter(|v: &String| !v.is_empty()),
            rc_date: rc.into(),
            release_date: release.into(),
            status: status.into(),
        }
    }

    fn major(version: &str, quarter: &str, date: &str, status: &str) -> MajorRelease {
        MajorRelease {
            version: Some(version.into()).filter(|v: &String| !v.is_empty()),
            quarter: quarter.into(),
            planned_date: date.into(),
            status: status.into(),
        }
    }

    /// Two minors (one released), a minor folded into the Q1 major, the
    /// major and a hotfix.
    fn small() -> ReleaseCalendar {
        ReleaseCalendar {
            year: 2026,
            minor_releases: vec![
                minor("1.3.0", "2026-01-15", "2026-01-16", "released"),
                minor("1.4.0", "2026-01-29", "2026-01-30", "planned"),
                minor("2.0.0", "2026-03-26", "2026-03-27", "skipped"),
            ],
            major_releases: vec![major("2.0.0", "Q1", "2026-03-27", "planned")],
            patch_releases: vec![PatchRelease {
                version: "1.3.1".into(),
                release_date: "2026-01-21".into(),
                hotfix: true,
            }],
        }
    }

    fn parse(ics: &str) -> IcalCalendar {
        let mut parser = ical::IcalParser::new(ics.as_bytes());
        let calendar = parser
            .next()
            .expect("one calendar")
            .expect("valid iCalendar");
        assert!(parser.next().is_none(), "a single calendar");
        calendar
    }

    fn prop<'e>(event: &'e IcalEvent, name: &str) -> &'e ical::property::Property {
        let mut found = event.properties.iter().filter(|p| p.name == name);
        let property = found
            .next()
            .unwrap_or_else(|| panic!("no {name} in {event:?}"));
        assert!(found.next().is_none(), "one {name}");
        property
    }

    fn value(event: &IcalEvent, name: &str) -> String {
        prop(event, name).value.clone().unwrap_or_default()
    }

    /// The inverse of [`escape_text`], as a reader does it.
    fn unescape(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n' | 'N') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => panic!("dangling backslash in {text:?}"),
                }
            } else {
                assert!(c != ';' && c != ',', "unescaped {c:?} in {text:?}");
                out.push(c);
            }
        }
        out
    }

    fn uids(ics: &str) -> Vec<String> {
        parse(ics).events.iter().map(|e| value(e, "UID")).collect()
    }

    #[test]
    fn events_have_the_summaries_dates_and_header() {
        let ics = to_ics(&small(), &options("trainyard"));
        let cal = parse(&ics);
        let header: Vec<(String, String)> = cal
            .properties
            .iter()
            .map(|p| (p.name.clone(), p.value.clone().unwrap_or_default()))
            .collect();
        let expected = [
            ("VERSION", "2.0"),
            ("PRODID", PRODID),
            ("CALSCALE", "GREGORIAN"),
            ("METHOD", "PUBLISH"),
            ("X-WR-CALNAME", "trainyard releases 2026"),
        ];
        assert_eq!(
            header,
            expected.map(|(n, v)| (n.to_owned(), v.to_owned())).to_vec()
        );
        assert_eq!(cal.events.len(), 8);
        let rows: Vec<(String, String, String)> = cal
            .events
            .iter()
            .map(|e| {
                for name in ["DTSTART", "DTEND"] {
                    let params = prop(e, name).params.clone();
                    assert_eq!(params, Some(vec![("VALUE".into(), vec!["DATE".into()])]));
                }
                (
                    value(e, "DTSTART"),
                    value(e, "DTEND"),
                    unescape(&value(e, "SUMMARY")),
                )
            })
            .collect();
        let expected = [
            (
                "20260115",
                "20260116",
                "trainyard v1.3.0 release candidate cut",
            ),
            ("20260116", "20260117", "trainyard v1.3.0 minor release"),
            (
                "20260121",
                "20260122",
                "trainyard v1.3.1 patch release (hotfix)",
            ),
            (
                "20260129",
                "20260130",
                "trainyard v1.4.0 release candidate cut",
            ),
            ("20260130", "20260131", "trainyard v1.4.0 minor release"),
            (
                "20260326",
                "20260327",
                "trainyard release candidate cut skipped",
            ),
            ("20260327", "20260328", "trainyard minor release skipped"),
            (
                "20260327",
                "20260328",
                "trainyard v2.0.0 major release (Q1)",
            ),
        ];
        let expected: Vec<(String, String, String)> = expected
            .iter()
            .map(|(s, e, m)| ((*s).to_owned(), (*e).to_owned(), (*m).to_owned()))
            .collect();
        assert_eq!(rows, expected);
        for event in &cal.events {
            assert_eq!(value(event, "DTSTAMP"), "20260102T030405Z");
            assert_eq!(value(event, "SEQUENCE"), "0");
            assert!(unescape(&value(event, "DESCRIPTION")).starts_with("Status: "));
        }
        let release = &cal.events[1];
        assert_eq!(
            unescape(&value(release, "DESCRIPTION")),
            "Status: released\nVersion: 1.3.0\nTag: v1.3.0\nRelease candidate cut: 2026-01-15"
        );
    }

    #[test]
    fn statuses_follow_the_calendar() {
        let calendar = ReleaseCalendar {
            year: 2026,
            minor_releases: vec![
                minor("1.3.0", "2026-01-15", "2026-01-16", "released"),
                minor("1.4.0", "2026-01-29", "2026-01-30", "rc"),
                minor("1.5.0", "2026-02-12", "2026-02-13", "planned"),
                minor("1.6.0", "2026-02-26", "2026-02-27", "skipped"),
            ],
            major_releases: vec![
                major("2.0.0", "Q1", "2026-03-27", "released"),
                major("3.0.0", "Q2", "2026-06-26", "delayed"),
            ],
            patch_releases: Vec::new(),
        };
        let cal = parse(&to_ics(&calendar, &options("p")));
        let statuses: Vec<(String, String)> = cal
            .events
            .iter()
            .map(|e| (value(e, "UID"), value(e, "STATUS")))
            .collect();
        let expected = [
            ("rc-cut-2026-W03@p.trainyard", "CONFIRMED"),
            ("minor-release-2026-W03@p.trainyard", "CONFIRMED"),
            ("rc-cut-2026-W05@p.trainyard", "CONFIRMED"),
            ("minor-release-2026-W05@p.trainyard", "TENTATIVE"),
            ("rc-cut-2026-W07@p.trainyard", "TENTATIVE"),
            ("minor-release-2026-W07@p.trainyard", "TENTATIVE"),
            ("rc-cut-2026-W09@p.trainyard", "CANCELLED"),
            ("minor-release-2026-W09@p.trainyard", "CANCELLED"),
            ("major-Q1-2026@p.trainyard", "CONFIRMED"),
            ("major-Q2-2026@p.trainyard", "TENTATIVE"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(u, s)| ((*u).to_owned(), (*s).to_owned()))
            .collect();
        assert_eq!(statuses, expected);
        assert_eq!(
            unescape(&value(&cal.events[9], "SUMMARY")),
            "p v3.0.0 major release (Q2, delayed)"
        );
    }

    #[test]
    fn uids_are_unique_and_do_not_depend_on_versions() {
        let cadence = CadenceConfig::default();
        let plan = calendar::plan_year(&cadence, 2026);
        let project = |base: &str| {
            let base = version::parse(base).unwrap();
            let mut cal = calendar::plan_from(&cadence, 2026, &base);
            cal.patch_releases.push(PatchRelease {
                version: "1.4.3".into(),
                release_date: "2026-02-03".into(),
                hotfix: false,
            });
            cal
        };
        let before = to_ics(&project("1.4.2"), &options("trainyard"));
        let after = to_ics(&project("4.1.0"), &options("trainyard"));
        assert_ne!(before, after, "the versions differ");
        let uids_before = uids(&before);
        let mut unique = uids_before.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), uids_before.len(), "{uids_before:?}");
        assert_eq!(
            uids_before.len(),
            2 * plan.minors.len() + plan.majors.len() + 1
        );
        assert_eq!(uids_before, uids(&after));
    }

    #[test]
    fn uids_survive_a_release_moved_within_its_week_or_skipped() {
        let mut calendar = small();
        let before = uids(&to_ics(&calendar, &options("p")));
        // A holiday on 2026-01-16 moves the release and its cut a day
        // earlier; later the minor of 2026-01-30 is skipped instead.
        calendar.minor_releases[0].rc_date = "2026-01-14".into();
        calendar.minor_releases[0].release_date = "2026-01-15".into();
        calendar.minor_releases[1].status = "skipped".into();
        calendar.minor_releases[1].version = None;
        assert_eq!(before, uids(&to_ics(&calendar, &options("p"))));
    }

    #[test]
    fn duplicate_slots_still_get_unique_uids() {
        let mut calendar = small();
        let extra = minor("1.3.5", "2026-01-13", "2026-01-14", "planned");
        calendar.minor_releases.push(extra);
        let all = uids(&to_ics(&calendar, &options("p")));
        assert!(all.contains(&"minor-release-2026-W03@p.trainyard".to_owned()));
        assert!(all.contains(&"minor-release-2026-W03-2@p.trainyard".to_owned()));
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), all.len());
    }

    #[test]
    fn project_names_are_escaped() {
        let project = "a,b;c\\d\ne\r\nf\u{7}";
        let ics = to_ics(&small(), &options(project));
        assert!(ics.contains("SUMMARY:a\\,b\\;c\\\\d\\ne\\nf v1.3.0 release candidate cut\r\n"));
        let cal = parse(&ics);
        assert_eq!(cal.events.len(), 8);
        let name = &cal
            .properties
            .iter()
            .find(|p| p.name == "X-WR-CALNAME")
            .unwrap();
        let name = unescape(name.value.as_deref().unwrap());
        assert_eq!(name, "a,b;c\\d\ne\nf releases 2026");
        let event = &cal.events[0];
        assert_eq!(
            unescape(&value(event, "SUMMARY")),
            "a,b;c\\d\ne\nf v1.3.0 release candidate cut"
        );
        assert_eq!(
            value(event, "UID"),
            "rc-cut-2026-W03@a%2Cb%3Bc%5Cd%0Ae%0D%0Af%07.trainyard"
        );
        assert!(!ics.contains('\u{7}'));
    }

    /// Splits the raw output into physical lines, checking CRLF endings and
    /// that each line is whole UTF-8 of at most 75 octets.
    fn physical_lines(ics: &str) -> Vec<&str> {
        let body = ics.strip_suffix("\r\n").expect("a final CRLF");
        let lines: Vec<&str> = body.split("\r\n").collect();
        for line in &lines {
            assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
            assert!(
                line.len() <= MAX_LINE_OCTETS,
                "{} octets: {line:?}",
                line.len()
            );
            assert!(std::str::from_utf8(line.as_bytes()).is_ok());
        }
        // Splitting the bytes, not the string, proves no character spans a
        // fold.
        for bytes in ics.as_bytes().split(|b| *b == b'\n') {
            assert!(std::str::from_utf8(bytes).is_ok(), "a split character");
        }
        lines
    }

    #[test]
    fn long_summaries_fold_without_splitting_characters() {
        // Every padding puts one of the multi-byte characters across the
        // 75th octet at some point.
        for pad in 0..12 {
            let project = format!(
                "{}é€🚂 release-train-for-the-very-long-named-repository-é€🚂-and friends,",
                "x".repeat(pad)
            );
            let ics = to_ics(&small(), &options(&project));
            let lines = physical_lines(&ics);
            assert!(lines.iter().any(|l| l.starts_with(' ')), "something folded");
            let unfolded = ics.replace("\r\n ", "");
            let summary = format!(
                "SUMMARY:{} v1.3.0 release candidate cut\r\n",
                escape_text(&project)
            );
            assert!(unfolded.contains(&summary), "{pad}: {unfolded}");
            let cal = parse(&ics);
            assert_eq!(
                unescape(&value(&cal.events[0], "SUMMARY")),
                format!("{project} v1.3.0 release candidate cut")
            );
        }
    }

    #[test]
    fn folds_keep_white_space_off_line_ends() {
        let mut out = String::new();
        let line = format!("SUMMARY:{}  {}", "a".repeat(65), "b".repeat(20));
        push_line(&mut out, &line);
        assert_eq!(
            out,
            format!("SUMMARY:{}\r\n   {}\r\n", "a".repeat(65), "b".repeat(20))
        );
        // Runs of nothing but spaces: hard folds.
        let mut out = String::new();
        push_line(&mut out, &format!("X:{}", " ".repeat(200)));
        let lines = physical_lines(&out);
        assert_eq!(
            lines,
            ["X:", &" ".repeat(75), &" ".repeat(75), &" ".repeat(53)]
        );
        assert_eq!(
            out.replace("\r\n ", ""),
            format!("X:{}\r\n", " ".repeat(200))
        );
        // Exactly 75 octets stay on one line.
        let mut out = String::new();
        push_line(&mut out, &"z".repeat(75));
        assert_eq!(out, format!("{}\r\n", "z".repeat(75)));
    }

    #[test]
    fn dtstamp_is_utc_and_bad_dates_are_left_out() {
        let mut calendar = small();
        calendar.minor_releases[1].release_date = "2026-02-30".into();
        calendar.minor_releases[1].rc_date = "2026-01-29T10:00".into();
        calendar.major_releases[0].planned_date = "soon".into();
        let opts = IcsOptions {
            stamp: "2026-07-01T01:30:00+02:00".parse().unwrap(),
            ..options("p")
        };
        let cal = parse(&to_ics(&calendar, &opts));
        assert_eq!(cal.events.len(), 5);
        for event in &cal.events {
            assert_eq!(value(event, "DTSTAMP"), "20260630T233000Z");
        }
    }

    #[test]
    fn snapshot_of_a_small_calendar() {
        let calendar = ReleaseCalendar {
            year: 2026,
            minor_releases: vec![minor("1.3.0", "2026-01-15", "2026-01-16", "planned")],
            major_releases: vec![major("2.0.0", "Q1", "2026-03-27", "planned")],
            patch_releases: Vec::new(),
        };
        let ics = to_ics(&calendar, &options("trainyard"));
        physical_lines(&ics);
        insta::assert_snapshot!(ics.replace("\r\n", "\n"), @r"
        BEGIN:VCALENDAR
        VERSION:2.0
        PRODID:-//trainyard//release calendar//EN
        CALSCALE:GREGORIAN
        METHOD:PUBLISH
        X-WR-CALNAME:trainyard releases 2026
        BEGIN:VEVENT
        UID:rc-cut-2026-W03@trainyard.trainyard
        DTSTAMP:20260102T030405Z
        DTSTART;VALUE=DATE:20260115
        DTEND;VALUE=DATE:20260116
        SUMMARY:trainyard v1.3.0 release candidate cut
        DESCRIPTION:Status: planned\nVersion: 1.3.0\nTag: v1.3.0\nRelease: 2026-01-
         16
        STATUS:TENTATIVE
        SEQUENCE:0
        TRANSP:TRANSPARENT
        END:VEVENT
        BEGIN:VEVENT
        UID:minor-release-2026-W03@trainyard.trainyard
        DTSTAMP:20260102T030405Z
        DTSTART;VALUE=DATE:20260116
        DTEND;VALUE=DATE:20260117
        SUMMARY:trainyard v1.3.0 minor release
        DESCRIPTION:Status: planned\nVersion: 1.3.0\nTag: v1.3.0\nRelease candidate
          cut: 2026-01-15
        STATUS:TENTATIVE
        SEQUENCE:0
        TRANSP:TRANSPARENT
        END:VEVENT
        BEGIN:VEVENT
        UID:major-Q1-2026@trainyard.trainyard
        DTSTAMP:20260102T030405Z
        DTSTART;VALUE=DATE:20260327
        DTEND;VALUE=DATE:20260328
        SUMMARY:trainyard v2.0.0 major release (Q1)
        DESCRIPTION:Status: planned\nVersion: 2.0.0\nTag: v2.0.0\nQuarter: Q1
        STATUS:TENTATIVE
        SEQUENCE:0
        TRANSP:TRANSPARENT
        END:VEVENT
        END:VCALENDAR
        ");
    }
}
