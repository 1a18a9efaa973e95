use super::*;
use crate::calendar::{Blocked, OnBlocked, plan_from};
use crate::version;
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
            let report = validate(&text, Path::new("generated.yaml"), &cadence).expect("mapping");
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
