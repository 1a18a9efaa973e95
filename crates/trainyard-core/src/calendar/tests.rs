use super::cadence::add_days;
use super::*;
use crate::version::{self, Version};
use jiff::civil::{Date, Weekday, date};

#[test]
fn default_cadence_for_three_years() {
    let cadence = CadenceConfig::default();
    for year in [2026, 2027, 2028] {
        let plan = plan_year(&cadence, year);
        assert!(plan.minors.len() >= 25, "{year}: {}", plan.minors.len());
        for pair in plan.minors.windows(2) {
            let gap = pair[0]
                .release_date
                .until(pair[1].release_date)
                .unwrap()
                .get_days();
            assert_eq!(gap, 14, "{year}: {:?}", pair);
        }
        for minor in &plan.minors {
            assert_eq!(minor.release_date.weekday(), Weekday::Friday);
            assert_eq!(minor.rc_date, minor.release_date.yesterday().unwrap());
            assert_eq!(minor.release_date.year(), year);
        }
        assert_eq!(plan.majors.len(), 4);
        for (major, month) in plan.majors.iter().zip([3, 6, 9, 12]) {
            assert_eq!(major.planned_date.weekday(), Weekday::Friday);
            assert_eq!(major.planned_date.month(), month);
            assert!(
                add_days(major.planned_date, 7).month() != month,
                "last Friday"
            );
        }
    }
}

#[test]
fn nothing_lands_on_configured_non_working_days() {
    let holidays: Vec<Blocked> = [2026, 2027, 2028]
        .iter()
        .flat_map(|&y| {
            [
                Blocked::Day(date(y, 12, 25)),
                Blocked::Day(date(y, 1, 1)),
                Blocked::Range {
                    from: date(y, 7, 1),
                    to: date(y, 7, 10),
                    name: Some("summer".into()),
                },
            ]
        })
        .chain([
            Blocked::Day(date(2026, 1, 16)),
            Blocked::Day(date(2027, 3, 26)),
        ])
        .collect();
    for on_blocked in [OnBlocked::PreviousWorkingDay, OnBlocked::Skip] {
        let cadence = CadenceConfig {
            non_working_days: holidays.clone(),
            on_blocked,
            ..CadenceConfig::default()
        };
        for year in [2026, 2027, 2028] {
            let plan = plan_year(&cadence, year);
            for minor in plan.minors.iter().filter(|m| m.skipped.is_none()) {
                assert!(
                    cadence.blocked_reason(minor.release_date).is_none(),
                    "{minor:?}"
                );
                assert!(cadence.blocked_reason(minor.rc_date).is_none(), "{minor:?}");
                assert!(minor.rc_date < minor.release_date);
            }
            for major in &plan.majors {
                assert!(
                    cadence.blocked_reason(major.planned_date).is_none(),
                    "{major:?}"
                );
            }
        }
    }
}

#[test]
fn cycle_lengths_and_months_out_of_bounds_are_refused_where_they_are() {
    let error = |yaml: &str| {
        crate::yaml::parse::<CadenceConfig>(yaml, std::path::Path::new("t.yaml"))
            .expect_err(yaml)
            .to_string()
    };
    assert_eq!(
        error("cycle_weeks: 0\n"),
        "t.yaml:1:14: cycle_weeks: must be between 1 and 52, not 0"
    );
    assert_eq!(
        error("cycle_weeks: 300\n"),
        "t.yaml:1:14: cycle_weeks: must be between 1 and 52, not 300"
    );
    assert_eq!(
        error("major_months: [6, 13]\n"),
        "t.yaml:1:19: major_months[1]: must be between 1 and 12, not 13"
    );
    let weekly: CadenceConfig = crate::yaml::parse(
        "cycle_weeks: 1\nmajor_months: [12]\n",
        std::path::Path::new("t.yaml"),
    )
    .expect("valid");
    let plan = plan_year(&weekly, 2026);
    assert_eq!(plan.majors.len(), 1);
    assert_eq!(plan.majors[0].quarter, "Q4");
    for pair in plan.minors.windows(2) {
        let gap = pair[0]
            .release_date
            .until(pair[1].release_date)
            .unwrap()
            .get_days();
        assert!(
            gap == 7 || pair.iter().any(|m| m.skipped.is_some()),
            "{pair:?}"
        );
    }
}

#[test]
fn a_major_in_a_stabilization_week_folds_the_minor() {
    let plan = plan_year(&CadenceConfig::default(), 2026);
    // 2026-03-27 is the last Friday of March and a minor release day.
    let folded = plan
        .minors
        .iter()
        .find(|m| m.release_date == date(2026, 3, 27))
        .unwrap();
    assert!(
        folded
            .skipped
            .as_deref()
            .unwrap()
            .contains("folded into the Q1 major")
    );
}

#[test]
fn blocked_days_move_or_skip() {
    let mut cadence = CadenceConfig {
        non_working_days: vec![Blocked::Day(date(2026, 1, 16))],
        freeze_windows: vec![Blocked::Range {
            from: date(2026, 12, 21),
            to: date(2027, 1, 1),
            name: Some("year-end".into()),
        }],
        ..CadenceConfig::default()
    };
    let plan = plan_year(&cadence, 2026);
    let moved = plan
        .minors
        .iter()
        .find(|m| m.cycle_start == date(2026, 1, 5))
        .unwrap();
    assert_eq!(moved.release_date, date(2026, 1, 15));
    assert_eq!(moved.rc_date, date(2026, 1, 14));
    assert!(
        plan.minors
            .iter()
            .all(|m| cadence.blocked_reason(m.release_date).is_none())
    );
    cadence.on_blocked = OnBlocked::Skip;
    let plan = plan_year(&cadence, 2026);
    let skipped = plan
        .minors
        .iter()
        .find(|m| m.cycle_start == date(2026, 1, 5))
        .unwrap();
    assert!(
        skipped
            .skipped
            .as_deref()
            .unwrap()
            .contains("non-working day")
    );
    let next_year = plan_year(&cadence, 2027);
    let year_end = next_year
        .minors
        .iter()
        .find(|m| m.release_date == date(2027, 1, 1))
        .unwrap();
    assert!(year_end.skipped.as_deref().unwrap().contains("year-end"));
    // Moving instead would leave the stabilization week: skipped too.
    cadence.on_blocked = OnBlocked::PreviousWorkingDay;
    let next_year = plan_year(&cadence, 2027);
    let year_end = next_year
        .minors
        .iter()
        .find(|m| m.cycle_start == date(2026, 12, 21))
        .unwrap();
    assert!(
        year_end
            .skipped
            .as_deref()
            .unwrap()
            .contains("no working day left"),
        "{year_end:?}"
    );
}

#[test]
fn phases_follow_the_schedule() {
    let cadence = CadenceConfig::default();
    // Cycle from 2026-01-05: sprint week, then stabilization.
    assert_eq!(phase(&cadence, date(2026, 1, 7)), Phase::DevelopmentSprint);
    assert_eq!(phase(&cadence, date(2026, 1, 12)), Phase::Stabilization);
    assert_eq!(phase(&cadence, date(2026, 1, 15)), Phase::RcCutDay);
    assert_eq!(
        phase(&cadence, date(2026, 1, 16)),
        Phase::ReleaseDay {
            kind: "minor".into()
        }
    );
    assert_eq!(
        phase(&cadence, date(2026, 3, 27)),
        Phase::ReleaseDay {
            kind: "major".into()
        }
    );
}

fn v(text: &str) -> Version {
    version::parse(text).unwrap()
}

fn released(version: &str, day: Date) -> KnownRelease {
    KnownRelease {
        version: v(version),
        tag: format!("v{version}"),
        date: day,
        hotfix: false,
    }
}

fn facts(today: Date, releases: Vec<KnownRelease>, next: Option<&str>) -> Facts {
    let in_effect = releases
        .iter()
        .map(|r| r.version.clone())
        .max_by(|a, b| a.cmp_precedence(b));
    Facts {
        today,
        releases,
        prereleases: Vec::new(),
        in_effect,
        next: next.map(v),
    }
}

/// (date, version, status) of every minor and major slot, by date.
fn slots(cal: &ReleaseCalendar) -> Vec<(String, Option<String>, String)> {
    let mut out: Vec<_> = cal
        .minor_releases
        .iter()
        .map(|m| (m.release_date.clone(), m.version.clone(), m.status.clone()))
        .chain(
            cal.major_releases
                .iter()
                .map(|m| (m.planned_date.clone(), m.version.clone(), m.status.clone())),
        )
        .collect();
    out.sort();
    out
}

fn slot(cal: &ReleaseCalendar, day: &str) -> (Option<String>, String) {
    let all = slots(cal);
    let found: Vec<_> = all
        .iter()
        .filter(|s| s.0 == day && s.2 != "skipped")
        .chain(all.iter().filter(|s| s.0 == day))
        .collect();
    let s = found.first().unwrap_or_else(|| panic!("no slot on {day}"));
    (s.1.clone(), s.2.clone())
}

fn some(version: &str, status: &str) -> (Option<String>, String) {
    (Some(version.into()), status.into())
}

fn none(status: &str) -> (Option<String>, String) {
    (None, status.into())
}

fn assert_no_version_twice(cal: &ReleaseCalendar) {
    let mut versions: Vec<String> = slots(cal).into_iter().filter_map(|s| s.1).collect();
    let count = versions.len();
    versions.sort();
    versions.dedup();
    assert_eq!(versions.len(), count, "{:#?}", slots(cal));
}

/// A minor in February, then patches until the autumn, and a fix since:
/// `version next` says 3.5.42.
fn patch_train() -> Vec<KnownRelease> {
    let mut releases = vec![
        released("3.4.0", date(2025, 11, 10)),
        released("3.5.0", date(2026, 2, 13)),
    ];
    for n in 1..=41 {
        releases.push(released(
            &format!("3.5.{n}"),
            add_days(date(2026, 2, 16), 6 * n),
        ));
    }
    releases
}

#[test]
fn the_first_upcoming_slot_carries_version_next_whatever_its_kind() {
    let cadence = CadenceConfig::default();
    let today = date(2026, 12, 3);
    let cal = project(&cadence, 2026, &facts(today, patch_train(), Some("3.5.42"))).calendar;
    assert_eq!(slot(&cal, "2026-12-04"), some("3.5.42", "planned"));
    assert_eq!(slot(&cal, "2026-12-18"), some("3.6.0", "planned"));
    assert_eq!(slot(&cal, "2026-12-25"), some("4.0.0", "planned"));
    assert_eq!(slot(&cal, "2026-02-13"), some("3.5.0", "released"));
    // Passed without a release: no version, none used up.
    assert_eq!(slot(&cal, "2026-02-27"), none("skipped"));
    for day in ["2026-03-27", "2026-06-26", "2026-09-25"] {
        assert_eq!(slot(&cal, day), none("delayed"), "{day}");
    }
    assert_no_version_twice(&cal);
    assert_eq!(cal.patch_releases.len(), 41);
    // The next slot a major: it still carries `version next`'s.
    let later = date(2026, 12, 19);
    let cal = project(&cadence, 2026, &facts(later, patch_train(), Some("3.6.0"))).calendar;
    assert_eq!(slot(&cal, "2026-12-25"), some("3.6.0", "planned"));
    let next_year = project(&cadence, 2027, &facts(later, patch_train(), Some("3.6.0")));
    assert_eq!(
        slot(&next_year.calendar, "2027-01-01"),
        some("3.7.0", "planned")
    );
    assert_eq!(
        slot(&next_year.calendar, "2027-03-26"),
        some("4.0.0", "planned")
    );
}

#[test]
fn without_changes_the_next_slot_takes_the_next_minor_or_major() {
    let cadence = CadenceConfig::default();
    let releases = vec![released("1.1.0", date(2026, 11, 20))];
    let cal = project(
        &cadence,
        2026,
        &facts(date(2026, 12, 3), releases.clone(), None),
    );
    assert_eq!(slot(&cal.calendar, "2026-11-20"), some("1.1.0", "released"));
    assert_eq!(slot(&cal.calendar, "2026-12-04"), some("1.2.0", "planned"));
    assert_eq!(slot(&cal.calendar, "2026-12-25"), some("2.0.0", "planned"));
    let cal = project(&cadence, 2026, &facts(date(2026, 12, 19), releases, None));
    assert_eq!(slot(&cal.calendar, "2026-12-25"), some("2.0.0", "planned"));
}

#[test]
fn past_slots_show_what_happened_and_nothing_else() {
    // The demo's history seen on 2026-12-03: 1.0.0 in August, 1.1.0 in
    // September, 1.2.0 in October.
    let cadence = CadenceConfig::default();
    let releases = vec![
        released("1.0.0", date(2026, 8, 5)),
        released("1.1.0", date(2026, 9, 4)),
        released("1.2.0", date(2026, 10, 19)),
    ];
    let projection = project(
        &cadence,
        2026,
        &facts(date(2026, 12, 3), releases, Some("1.3.0")),
    );
    let cal = &projection.calendar;
    // No major in March: 1.0.0 came in August, outside every major's
    // release window.
    assert_eq!(slot(cal, "2026-03-27"), none("delayed"));
    assert_eq!(slot(cal, "2026-06-26"), none("delayed"));
    assert_eq!(slot(cal, "2026-09-25"), none("delayed"));
    assert_eq!(slot(cal, "2026-09-11"), some("1.1.0", "released"));
    assert_eq!(slot(cal, "2026-10-23"), some("1.2.0", "released"));
    assert_eq!(slot(cal, "2026-12-04"), some("1.3.0", "planned"));
    assert_eq!(slot(cal, "2026-12-25"), some("2.0.0", "planned"));
    assert_no_version_twice(cal);
    let filled: Vec<String> = projection.filled.iter().map(|r| r.tag.clone()).collect();
    assert_eq!(filled, ["v1.1.0", "v1.2.0"]);
}

#[test]
fn a_release_fills_the_slot_of_its_cycle_for_good() {
    let cadence = CadenceConfig::default();
    let releases = vec![
        released("1.0.0", date(2026, 12, 1)),
        released("1.1.0", date(2027, 1, 13)),
    ];
    // Made on the Wednesday before the cut, seen that day and a week
    // later: the same slot, the same version.
    for today in [date(2027, 1, 13), date(2027, 1, 20)] {
        let cal = project(&cadence, 2027, &facts(today, releases.clone(), None)).calendar;
        assert_eq!(
            slot(&cal, "2027-01-15"),
            some("1.1.0", "released"),
            "{today}"
        );
        assert_eq!(
            slot(&cal, "2027-01-29"),
            some("1.2.0", "planned"),
            "{today}"
        );
    }
    // A second minor in one cycle fills no slot of its own.
    let mut twice = releases.clone();
    twice.push(released("1.2.0", date(2027, 1, 15)));
    let cal = project(&cadence, 2027, &facts(date(2027, 1, 20), twice, None)).calendar;
    assert_eq!(slot(&cal, "2027-01-15"), some("1.1.0", "released"));
    assert_eq!(slot(&cal, "2027-01-29"), some("1.3.0", "planned"));
    assert_no_version_twice(&cal);
}

#[test]
fn versions_go_up_with_the_dates() {
    // 2025-06-27, the Q2 major, falls in the sprint week of the cycle
    // whose minor releases on 2025-07-04: 1.1.0 came first, then 2.0.0,
    // both in that cycle. The major slot is earlier, so it takes 2.0.0
    // and the minor slot cannot show the lower 1.1.0 after it.
    let cadence = CadenceConfig::default();
    let releases = vec![
        released("1.0.0", date(2025, 6, 2)),
        released("1.1.0", date(2025, 6, 24)),
        released("2.0.0", date(2025, 6, 30)),
    ];
    let cal = project(&cadence, 2025, &facts(date(2025, 12, 1), releases, None)).calendar;
    assert_eq!(slot(&cal, "2025-06-27"), some("2.0.0", "released"));
    assert_eq!(slot(&cal, "2025-07-04"), none("skipped"));
    assert_eq!(slot(&cal, "2025-12-05"), some("2.1.0", "planned"));
}

#[test]
fn majors_fill_major_slots_and_minors_minor_ones() {
    let cadence = CadenceConfig::default();
    let releases = vec![
        released("1.4.0", date(2026, 12, 18)),
        released("2.0.0", date(2027, 3, 24)),
        released("2.1.0", date(2027, 4, 9)),
    ];
    let cal = project(
        &cadence,
        2027,
        &facts(date(2027, 4, 14), releases, Some("2.1.1")),
    );
    let cal = &cal.calendar;
    assert_eq!(slot(cal, "2027-03-26"), some("2.0.0", "released"));
    assert_eq!(slot(cal, "2027-04-09"), some("2.1.0", "released"));
    assert_eq!(slot(cal, "2027-03-12"), none("skipped"));
    assert_eq!(slot(cal, "2027-04-23"), some("2.1.1", "planned"));
    assert_eq!(slot(cal, "2027-05-07"), some("2.2.0", "planned"));
    assert_eq!(slot(cal, "2027-06-25"), some("3.0.0", "planned"));
}

#[test]
fn projected_versions_pass_over_tagged_ones() {
    // 2.0.0 tagged on another line long ago; HEAD is on 1.x.
    let cadence = CadenceConfig::default();
    let mut facts = facts(
        date(2027, 1, 13),
        vec![
            released("2.0.0", date(2025, 5, 1)),
            released("1.5.0", date(2026, 12, 18)),
        ],
        Some("1.6.0"),
    );
    facts.in_effect = Some(v("1.5.0"));
    let cal = project(&cadence, 2027, &facts).calendar;
    assert_eq!(slot(&cal, "2027-01-15"), some("1.6.0", "planned"));
    assert_eq!(slot(&cal, "2027-03-26"), some("3.0.0", "planned"));
    assert_no_version_twice(&cal);
}

#[test]
fn an_rc_tag_makes_an_upcoming_slot_rc() {
    let cadence = CadenceConfig::default();
    let mut facts = facts(
        date(2026, 2, 10),
        vec![released("1.5.0", date(2026, 1, 16))],
        Some("1.7.0"),
    );
    facts.prereleases = vec![v("1.6.0-rc.1"), v("1.7.0-rc.1"), v("1.8.0-beta.1")];
    let cal = project(&cadence, 2026, &facts).calendar;
    // 1.6.0 was cut but never released: the slot passed, skipped.
    assert_eq!(slot(&cal, "2026-01-30"), none("skipped"));
    assert_eq!(slot(&cal, "2026-02-13"), some("1.7.0", "rc"));
    assert_eq!(slot(&cal, "2026-02-27"), some("1.8.0", "planned"));
}

#[test]
fn an_explicit_plan_counts_from_its_version() {
    let cadence = CadenceConfig::default();
    let cal = plan_from(&cadence, 2026, &v("1.4.2"));
    assert_eq!(slot(&cal, "2026-01-02"), some("1.5.0", "planned"));
    assert_eq!(slot(&cal, "2026-01-16"), some("1.6.0", "planned"));
    assert_eq!(slot(&cal, "2026-03-27"), some("2.0.0", "planned"));
    let folded = cal
        .minor_releases
        .iter()
        .find(|m| m.release_date == "2026-03-27")
        .unwrap();
    assert_eq!(
        (folded.version.as_deref(), folded.status.as_str()),
        (None, "skipped")
    );
    assert_eq!(slot(&cal, "2026-04-10"), some("2.1.0", "planned"));
    assert_no_version_twice(&cal);
}

#[test]
fn a_stored_plan_is_reconciled_by_dates() {
    let cadence = CadenceConfig::default();
    let plan = plan_from(&cadence, 2026, &v("1.4.2"));
    // 1.5.0 came out in the cycle of the 2026-01-16 slot, which planned
    // 1.6.0; a 2.0.0 was tagged in May on another line.
    let mut facts = facts(
        date(2026, 2, 10),
        vec![
            released("1.5.0", date(2026, 1, 16)),
            released("2.0.0", date(2025, 5, 1)),
        ],
        Some("1.6.0"),
    );
    facts.prereleases = vec![v("1.8.0-rc.1")];
    let reconciled = reconcile(&cadence, &plan, &facts);
    let cal = &reconciled.calendar;
    assert_eq!(slot(cal, "2026-01-02"), none("skipped"));
    assert_eq!(slot(cal, "2026-01-16"), some("1.5.0", "released"));
    assert_eq!(slot(cal, "2026-01-30"), none("skipped"));
    // Upcoming entries keep the file's versions.
    assert_eq!(slot(cal, "2026-02-13"), some("1.8.0", "rc"));
    assert_eq!(slot(cal, "2026-02-27"), some("1.9.0", "planned"));
    // A tag of the planned version outside the slot's window does not
    // make it released.
    assert_eq!(slot(cal, "2026-03-27"), some("2.0.0", "planned"));
    assert_eq!(reconciled.filled.len(), 1);
    // A user's skip of an upcoming slot stands.
    let mut skipped = plan.clone();
    skipped.minor_releases[4].status = "skipped".into();
    let cal = reconcile(&cadence, &skipped, &facts).calendar;
    assert_eq!(cal.minor_releases[4].status, "skipped");
}

#[test]
fn a_later_years_calendar_reconciles_as_it_was_projected() {
    // 1.1.0 is released on the Monday that opens the cycle of the next
    // year's first slot, before the year's last major: the projection of
    // the next year orders its slots after that major, and so must the
    // reconciliation of that projection.
    let cadence = CadenceConfig::default();
    let mut releases = vec![released("1.0.0", date(2025, 6, 2))];
    releases.push(released("1.1.0", date(2025, 12, 22)));
    let facts = Facts {
        today: date(2025, 12, 22),
        releases,
        prereleases: Vec::new(),
        in_effect: Some(v("1.1.0")),
        next: None,
    };
    let cal = project(&cadence, 2026, &facts).calendar;
    assert_eq!(reconcile(&cadence, &cal, &facts).calendar, cal);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A linear history: from 1.0.0 on 2025-06-02, each step some days
    /// later with a patch, minor or major bump.
    fn history() -> impl Strategy<Value = Vec<KnownRelease>> {
        proptest::collection::vec((1i64..40, 0u8..10), 0..30).prop_map(|steps| {
            let mut day = date(2025, 6, 2);
            let mut current = v("1.0.0");
            let mut out = vec![released("1.0.0", day)];
            for (gap, kind) in steps {
                day = add_days(day, gap);
                let bump = match kind {
                    0..=4 => version::Bump::Patch,
                    5..=8 => version::Bump::Minor,
                    _ => version::Bump::Major,
                };
                current = version::bumped(&current, bump);
                out.push(released(&current.to_string(), day));
            }
            out
        })
    }

    proptest! {
        #[test]
        fn every_view_of_the_projection_agrees(
            history in history(),
            offset in 0i64..900,
            next_bump in 0u8..4,
            year_shift in -1i16..2,
        ) {
            let cadence = CadenceConfig::default();
            let today = add_days(date(2025, 6, 2), offset);
            let known: Vec<KnownRelease> =
                history.into_iter().filter(|r| r.date <= today).collect();
            let in_effect = known.last().map(|r| r.version.clone());
            let base = in_effect.clone().unwrap_or_else(|| Version::new(0, 0, 0));
            let next = match next_bump {
                0 => None,
                1 => Some(version::bumped(&base, version::Bump::Patch)),
                2 => Some(version::bumped(&base, version::Bump::Minor)),
                _ => Some(version::bumped(&base, version::Bump::Major)),
            };
            let facts = Facts {
                today,
                releases: known.clone(),
                prereleases: Vec::new(),
                in_effect: in_effect.clone(),
                next: next.clone(),
            };
            let year = today.year() + year_shift;
            let cal = project(&cadence, year, &facts).calendar;
            // Reconciling the projection on the same day changes nothing.
            prop_assert_eq!(&reconcile(&cadence, &cal, &facts).calendar, &cal);
            let all = slots(&cal);
            // No version twice.
            let mut versions: Vec<String> = all.iter().filter_map(|s| s.1.clone()).collect();
            let count = versions.len();
            versions.sort();
            versions.dedup();
            prop_assert_eq!(versions.len(), count, "{:#?}", all);
            for (day, version, status) in &all {
                let day: Date = day.parse().unwrap();
                let tagged = version
                    .as_ref()
                    .and_then(|text| known.iter().find(|r| r.version.to_string() == *text));
                match status.as_str() {
                    // Released slots are real tags, made in the slot's
                    // window.
                    "released" => {
                        let release = tagged.expect("a released slot names a tag");
                        let (from, to) = release_window(&cadence, day);
                        prop_assert!(from <= release.date && release.date <= to);
                    }
                    // Slots that made nothing name nothing.
                    "skipped" | "delayed" => prop_assert!(version.is_none()),
                    // Slots to come: a version no tag has, above the
                    // release in effect.
                    _ => {
                        prop_assert!(day >= today);
                        let version = v(version.as_deref().expect("a planned version"));
                        prop_assert!(tagged.is_none(), "{} is tagged", version);
                        if let Some(current) = &in_effect {
                            prop_assert!(version.cmp_precedence(current).is_gt());
                        }
                    }
                }
            }
            // The first upcoming slot without a release, this year or
            // the next, carries `version next`'s version.
            let mut ahead: Vec<(String, Option<String>, String)> = Vec::new();
            let mut major_days: Vec<String> = Vec::new();
            for y in [today.year(), today.year() + 1] {
                let cal = project(&cadence, y, &facts).calendar;
                ahead.extend(slots(&cal));
                major_days.extend(cal.major_releases.iter().map(|m| m.planned_date.clone()));
            }
            let first = ahead
                .iter()
                .find(|s| s.0 >= today.to_string() && (s.2 == "planned" || s.2 == "rc"))
                .expect("a slot ahead");
            match &next {
                Some(next) => prop_assert_eq!(first.1.clone(), Some(next.to_string())),
                None => {
                    let major = major_days.contains(&first.0);
                    let bump = if major { version::Bump::Major } else { version::Bump::Minor };
                    prop_assert_eq!(
                        first.1.clone(),
                        Some(version::bumped(&base, bump).to_string())
                    );
                }
            }
            // And the document is a valid calendar.
            let text = crate::evidence::render_yaml(&CalendarDocument {
                release_calendar: cal.clone(),
            })
            .unwrap();
            let report = crate::calendar::validate::validate(
                &text,
                std::path::Path::new("projected.yaml"),
                &cadence,
            )
            .unwrap();
            prop_assert!(report.ok(), "{:?}\n{}", report.problems, text);
        }
    }
}
