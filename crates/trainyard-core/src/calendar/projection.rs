//! The projection that gives a year's slots their versions and statuses.

use jiff::civil::Date;

use super::cadence::add_days;
use super::*;
use crate::version::{self, Version};

/// The release window of a slot dated `day`: the release cycle `day` falls
/// in, from its first Monday to the day before the next cycle starts. Only
/// a release dated in its window fills a slot; windows of one kind never
/// overlap, so a release fills one slot at most.
pub fn release_window(cadence: &CadenceConfig, day: Date) -> (Date, Date) {
    let cycle_days = cadence.cycle_weeks.days();
    let days = cadence
        .anchor
        .until(day)
        .map_or(0, |s| i64::from(s.get_days()));
    let start = add_days(cadence.anchor, days.div_euclid(cycle_days) * cycle_days);
    (start, add_days(start, cycle_days - 1))
}

/// The kind of a calendar slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Minor,
    Major,
}

impl Kind {
    /// Whether a release of `v` fills a slot of this kind: `X.Y.0` with
    /// `Y > 0` a minor slot, `X.0.0` a major slot.
    fn fits(self, v: &Version) -> bool {
        v.pre.is_empty() && v.patch == 0 && ((v.minor == 0) == (self == Kind::Major))
    }

    fn bump(self) -> version::Bump {
        match self {
            Kind::Minor => version::Bump::Minor,
            Kind::Major => version::Bump::Major,
        }
    }

    /// The status of a slot that passed without its release.
    fn missed(self) -> &'static str {
        match self {
            Kind::Minor => "skipped",
            Kind::Major => "delayed",
        }
    }
}

/// One slot of a year, in date order.
struct Slot {
    kind: Kind,
    date: Date,
    /// Index into the plan's (or the calendar's) minors or majors.
    index: usize,
    /// Skipped by the cadence (folded into a major, blocked).
    skipped: bool,
}

/// Slots by date; a major before the minor folded into it.
fn slots_of(plan: &YearPlan) -> Vec<Slot> {
    let mut slots: Vec<Slot> = plan
        .minors
        .iter()
        .enumerate()
        .map(|(index, m)| Slot {
            kind: Kind::Minor,
            date: m.release_date,
            index,
            skipped: m.skipped.is_some(),
        })
        .chain(plan.majors.iter().enumerate().map(|(index, m)| Slot {
            kind: Kind::Major,
            date: m.planned_date,
            index,
            skipped: false,
        }))
        .collect();
    slots.sort_by_key(|s| (s.date, s.kind == Kind::Minor));
    slots
}

/// The walk through the slots, from the first year projected on: which
/// releases filled which slot, and the versions given so far.
struct Chain<'a> {
    cadence: &'a CadenceConfig,
    facts: &'a Facts,
    /// Releases by date, then version.
    releases: Vec<&'a KnownRelease>,
    /// Whether a slot took the release of the same index.
    claimed: Vec<bool>,
    /// Whether the first upcoming slot without a release has its version.
    started: bool,
    /// The version later upcoming slots are projected from.
    current: Option<Version>,
    /// The versions upcoming slots were given.
    given: Vec<Version>,
    /// The versions on the slots walked so far, for keeping them in order.
    order: Order,
}

/// The highest version on slots dated before the slot at hand, so that no
/// release fills a slot after one that shows a higher version: the
/// calendar's versions go up with its dates.
#[derive(Default)]
struct Order {
    day: Option<Date>,
    /// The highest version on slots dated before `day`.
    before: Option<Version>,
    /// The highest version on slots dated `day`.
    at: Option<Version>,
}

impl Order {
    fn move_to(&mut self, day: Date) {
        if self.day != Some(day) {
            self.before = higher(self.before.take(), self.at.take());
            self.day = Some(day);
        }
    }

    /// Whether `v` may fill a slot on the day moved to.
    fn allows(&self, v: &Version) -> bool {
        self.before
            .as_ref()
            .is_none_or(|b| v.cmp_precedence(b).is_gt())
    }

    /// A slot on `day` shows `v`.
    fn record(&mut self, day: Date, v: &Version) {
        self.move_to(day);
        self.at = higher(self.at.take(), Some(v.clone()));
    }
}

fn higher(a: Option<Version>, b: Option<Version>) -> Option<Version> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.cmp_precedence(&a).is_gt() { b } else { a }),
        (a, b) => a.or(b),
    }
}

impl<'a> Chain<'a> {
    fn new(cadence: &'a CadenceConfig, facts: &'a Facts) -> Self {
        let mut releases: Vec<&KnownRelease> = facts.releases.iter().collect();
        releases.sort_by(|a, b| {
            a.date
                .cmp(&b.date)
                .then_with(|| a.version.cmp_precedence(&b.version))
        });
        Chain {
            cadence,
            facts,
            claimed: vec![false; releases.len()],
            releases,
            started: false,
            current: None,
            given: Vec::new(),
            order: Order::default(),
        }
    }

    /// The first release of `kind` in the window of a slot on `day` that
    /// no slot took yet, and that is above the versions of earlier slots;
    /// taken by this one.
    fn fill(&mut self, kind: Kind, day: Date) -> Option<&'a KnownRelease> {
        let (from, to) = release_window(self.cadence, day);
        self.order.move_to(day);
        let i = self.releases.iter().enumerate().position(|(i, r)| {
            !self.claimed[i]
                && from <= r.date
                && r.date <= to
                && kind.fits(&r.version)
                && self.order.allows(&r.version)
        })?;
        let release = self.releases[i];
        self.claimed[i] = true;
        self.order.record(day, &release.version);
        // A release made after the projection started moves it on.
        if self.started
            && self
                .current
                .as_ref()
                .is_none_or(|c| release.version.cmp_precedence(c).is_gt())
        {
            self.current = Some(release.version.clone());
        }
        Some(release)
    }

    /// Whether a tag or an earlier slot has `v` already.
    fn taken(&self, v: &Version) -> bool {
        self.releases.iter().any(|r| r.version == *v) || self.given.contains(v)
    }

    /// `v`, bumped by `kind` until no tag nor slot has it.
    fn free(&self, mut v: Version, kind: Kind) -> Version {
        while self.taken(&v) {
            v = version::bumped(&v, kind.bump());
        }
        v
    }

    /// The version of the next upcoming slot without a release: for the
    /// first, `version next`'s when a release is needed, else the next
    /// minor (major) of the release in effect; after it, the next minor
    /// (major) of the slot before.
    fn give(&mut self, kind: Kind) -> Version {
        let v = match (&self.current, self.started) {
            (Some(current), true) => self.free(version::bumped(current, kind.bump()), kind),
            _ => match &self.facts.next {
                Some(next) if !self.taken(next) => next.clone(),
                _ => {
                    let base = self
                        .facts
                        .in_effect
                        .as_ref()
                        .map_or_else(|| Version::new(0, 0, 0), version::release_of);
                    self.free(version::bumped(&base, kind.bump()), kind)
                }
            },
        };
        self.started = true;
        self.current = Some(v.clone());
        self.given.push(v.clone());
        v
    }

    /// A slot on `day` keeps the version `text` (a stored plan's).
    fn keep(&mut self, day: Date, text: Option<&str>) {
        if let Some(v) = text.and_then(|t| version::parse(t).ok()) {
            self.order.record(day, &v);
        }
    }

    /// `rc` when a release candidate of `version` is tagged, else
    /// `planned`.
    fn upcoming_status(&self, version: Option<&str>) -> &'static str {
        let cut = version
            .and_then(|v| version::parse(v).ok())
            .is_some_and(|v| {
                self.facts.prereleases.iter().any(|p| {
                    version::release_of(p) == v
                        && version::channel_of(p).is_some_and(|(c, _)| c == version::Channel::Rc)
                })
            });
        if cut { "rc" } else { "planned" }
    }

    /// The slots of one year.
    fn year(&mut self, year: i16) -> Projection {
        let plan = plan_year(self.cadence, year);
        let today = self.facts.today;
        let mut minor_releases: Vec<MinorRelease> = plan
            .minors
            .iter()
            .map(|m| MinorRelease {
                version: None,
                rc_date: m.rc_date.to_string(),
                release_date: m.release_date.to_string(),
                status: String::new(),
            })
            .collect();
        let mut major_releases: Vec<MajorRelease> = plan
            .majors
            .iter()
            .map(|m| MajorRelease {
                version: None,
                quarter: m.quarter.clone(),
                planned_date: m.planned_date.to_string(),
                status: String::new(),
            })
            .collect();
        let mut filled = Vec::new();
        for slot in slots_of(&plan) {
            let (version, status): (Option<String>, String) =
                if let Some(release) = self.fill(slot.kind, slot.date) {
                    filled.push(release.clone());
                    (Some(release.version.to_string()), "released".into())
                } else if slot.skipped {
                    (None, "skipped".into())
                } else if slot.date < today {
                    (None, slot.kind.missed().into())
                } else {
                    let given = self.give(slot.kind);
                    self.order.record(slot.date, &given);
                    let v = given.to_string();
                    let status = self.upcoming_status(Some(&v)).to_owned();
                    (Some(v), status)
                };
            match slot.kind {
                Kind::Minor => {
                    let entry = &mut minor_releases[slot.index];
                    entry.version = version;
                    entry.status = status;
                }
                Kind::Major => {
                    let entry = &mut major_releases[slot.index];
                    entry.version = version;
                    entry.status = status;
                }
            }
        }
        let mut calendar = ReleaseCalendar {
            year,
            minor_releases,
            major_releases,
            patch_releases: Vec::new(),
        };
        calendar.patch_releases = patches(&calendar, &self.facts.releases);
        Projection { calendar, filled }
    }
}

/// The patch releases (`X.Y.Z`, `Z > 0`) tagged in the calendar's year, by
/// date, but for a version a slot already names.
fn patches(calendar: &ReleaseCalendar, releases: &[KnownRelease]) -> Vec<PatchRelease> {
    let named: Vec<&str> = calendar
        .minor_releases
        .iter()
        .filter_map(|m| m.version.as_deref())
        .chain(
            calendar
                .major_releases
                .iter()
                .filter_map(|m| m.version.as_deref()),
        )
        .collect();
    let mut out: Vec<&KnownRelease> = releases
        .iter()
        .filter(|r| r.date.year() == calendar.year && r.version.patch > 0)
        .filter(|r| !named.contains(&r.version.to_string().as_str()))
        .collect();
    out.sort_by(|a, b| {
        a.date
            .cmp(&b.date)
            .then_with(|| a.version.cmp_precedence(&b.version))
    });
    out.into_iter()
        .map(|r| PatchRelease {
            version: r.version.to_string(),
            release_date: r.date.to_string(),
            hotfix: r.hotfix,
        })
        .collect()
}

/// The calendar of `year` as it stands on `facts.today`: the one
/// projection every view of the calendar shows. Pure.
///
/// Slots are taken in date order, and each gets a version and a status:
///
/// - a slot that a release filled is `released` with that release's
///   version, whenever it is. A release fills a slot when it is dated in
///   the slot's [`release_window`] (its release cycle), is of the slot's
///   kind (a minor release `X.Y.0` with `Y > 0` a minor slot, a major
///   release `X.0.0` a major slot) and is above every version on the slots
///   dated before it, so versions go up with the dates. Each release fills
///   one slot at most, the first such release of a window its slot; one of
///   another kind, a second one in a window, or one that would go backwards
///   fills none (patch releases are listed under `patch_releases`);
/// - a minor slot the cadence skips (folded into a major, blocked) and no
///   release filled is `skipped`, with no version (`null`);
/// - a past slot (release date before today) that no release filled is
///   `skipped` (a minor) or `delayed` (a major), with no version: it made
///   none, and it uses none up. A delayed major does not wait with a
///   version of its own; the next major slot takes the next major;
/// - the first upcoming slot (release date today or later) that no release
///   filled carries exactly the version `version next` proposes when a
///   release is needed (`facts.next`), whatever the slot's kind; without
///   one, the next minor (for a major slot, the next major) of the release
///   in effect;
/// - each later upcoming slot takes the next minor (major) of the version
///   before it (or of a later release that filled a slot in between),
///   passing over versions a tag already has;
/// - an upcoming slot is `rc` when an `-rc.N` tag of its version exists,
///   else `planned`.
///
/// So no version appears on two slots, and every version on a slot is a
/// real release or one still to come. A year after today's continues from
/// the years between. Patch releases of the year are listed as tagged.
pub fn project(cadence: &CadenceConfig, year: i16, facts: &Facts) -> Projection {
    let mut chain = Chain::new(cadence, facts);
    for earlier in facts.today.year().min(year)..year {
        chain.year(earlier);
    }
    chain.year(year)
}

/// An explicit plan of `year`: every slot the cadence does not skip takes
/// the next minor (major) of the slot before, the first counting from
/// `from`; all are `planned`, skipped minors `skipped` with no version.
/// No tag is read: `calendar status` reconciles such a plan. Pure.
pub fn plan_from(cadence: &CadenceConfig, year: i16, from: &Version) -> ReleaseCalendar {
    let plan = plan_year(cadence, year);
    let mut current = version::release_of(from);
    let mut minor_releases: Vec<MinorRelease> = plan
        .minors
        .iter()
        .map(|m| MinorRelease {
            version: None,
            rc_date: m.rc_date.to_string(),
            release_date: m.release_date.to_string(),
            status: "skipped".into(),
        })
        .collect();
    let mut major_releases: Vec<MajorRelease> = plan
        .majors
        .iter()
        .map(|m| MajorRelease {
            version: None,
            quarter: m.quarter.clone(),
            planned_date: m.planned_date.to_string(),
            status: "planned".into(),
        })
        .collect();
    for slot in slots_of(&plan).iter().filter(|s| !s.skipped) {
        current = version::bumped(&current, slot.kind.bump());
        let version = Some(current.to_string());
        match slot.kind {
            Kind::Minor => {
                minor_releases[slot.index].version = version;
                minor_releases[slot.index].status = "planned".into();
            }
            Kind::Major => major_releases[slot.index].version = version,
        }
    }
    ReleaseCalendar {
        year,
        minor_releases,
        major_releases,
        patch_releases: Vec::new(),
    }
}

/// A stored calendar's statuses set from the tags, by the rules of
/// [`project`]: each entry is matched to the release window of its date,
/// and an entry a release filled is `released` with that release's version
/// (the real one, whatever the file planned). A past entry no release
/// filled is `skipped` (minor) or `delayed` (major) and loses its version;
/// an upcoming one keeps the file's version and is `rc` when an `-rc.N` tag
/// of it exists, else `planned` (an upcoming minor the file skips stays
/// `skipped`). Entries whose date is not a date are left as they are.
/// Patch releases of the year are listed as tagged. Pure.
pub fn reconcile(cadence: &CadenceConfig, calendar: &ReleaseCalendar, facts: &Facts) -> Projection {
    let mut chain = Chain::new(cadence, facts);
    // A later year's file follows the years between, as its projection
    // did: their slots claim their releases and order the versions.
    for earlier in facts.today.year().min(calendar.year)..calendar.year {
        chain.year(earlier);
    }
    // The file's own year is not walked: its versions come from the file.
    chain.started = true;
    let mut calendar = calendar.clone();
    let mut slots: Vec<Slot> = calendar
        .minor_releases
        .iter()
        .enumerate()
        .filter_map(|(index, m)| {
            Some(Slot {
                kind: Kind::Minor,
                date: m.release_date.parse().ok()?,
                index,
                skipped: m.status == "skipped",
            })
        })
        .chain(
            calendar
                .major_releases
                .iter()
                .enumerate()
                .filter_map(|(index, m)| {
                    Some(Slot {
                        kind: Kind::Major,
                        date: m.planned_date.parse().ok()?,
                        index,
                        skipped: false,
                    })
                }),
        )
        .collect();
    slots.sort_by_key(|s| (s.date, s.kind == Kind::Minor));
    let mut filled = Vec::new();
    for slot in slots {
        let (version, status) = match slot.kind {
            Kind::Minor => {
                let m = &mut calendar.minor_releases[slot.index];
                (&mut m.version, &mut m.status)
            }
            Kind::Major => {
                let m = &mut calendar.major_releases[slot.index];
                (&mut m.version, &mut m.status)
            }
        };
        if let Some(release) = chain.fill(slot.kind, slot.date) {
            filled.push(release.clone());
            *version = Some(release.version.to_string());
            *status = "released".into();
        } else if slot.date < facts.today {
            *version = None;
            *status = slot.kind.missed().into();
        } else if !slot.skipped {
            *status = chain.upcoming_status(version.as_deref()).into();
            chain.keep(slot.date, version.as_deref());
        }
    }
    calendar.patch_releases = patches(&calendar, &facts.releases);
    Projection { calendar, filled }
}
