//! `trainyard calendar ...` with the spec's default cadence.

use crate::support::TestRepo;

fn released_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.commit_at("feat: first", "2025-12-01T12:00:00Z");
    repo.tag("v1.4.0");
    repo
}

#[test]
fn generate_a_year_in_the_spec_schema() {
    let repo = released_repo();
    let run = repo.run(&["calendar", "generate", "--year", "2027"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    insta::assert_snapshot!(run.stdout());
    assert!(
        run.stderr()
            .contains("skipped  2027-03-26: folded into the Q1 major release"),
        "{}",
        run.stderr()
    );
}

#[test]
fn generate_write_stores_the_file_and_evidence_and_validates() {
    let repo = released_repo();
    let run = repo.run(&["calendar", "generate", "--year", "2027", "--write"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let path = repo.path().join("release-calendar-2027.yaml");
    assert!(path.is_file());
    let evidence = repo
        .run(&["--json", "evidence", "list", "--kind", "release_calendar"])
        .json();
    assert_eq!(evidence.as_array().map(Vec::len), Some(1));
    let valid = repo.run(&["calendar", "validate", "release-calendar-2027.yaml"]);
    assert_eq!(valid.code(), 0, "{}", valid.transcript());
}

#[test]
fn hand_broken_calendars_fail_with_their_lines() {
    let repo = released_repo();
    let yaml = repo
        .run(&["calendar", "generate", "--year", "2027"])
        .stdout();
    let first_rc = "rc_date: \"2027-01-14\"";
    let cases = [
        (
            "rc after release",
            yaml.replacen(first_rc, "rc_date: \"2027-01-16\"", 1),
        ),
        (
            "version backwards",
            yaml.replacen("version: \"1.6.0\"", "version: \"1.4.9\"", 1),
        ),
        (
            "wrong year",
            yaml.replacen(
                "release_date: \"2027-01-29\"",
                "release_date: \"2026-01-29\"",
                1,
            ),
        ),
        (
            "unknown status",
            yaml.replacen("status: planned", "status: shipped", 1),
        ),
        (
            "malformed date",
            yaml.replacen(
                "release_date: \"2027-01-15\"",
                "release_date: \"2027-13-45\"",
                1,
            ),
        ),
    ];
    let mut out = String::new();
    for (name, text) in cases {
        assert_ne!(text, yaml, "{name}: the edit applied");
        repo.write("broken.yaml", &text);
        let run = repo.run(&["calendar", "validate", "broken.yaml"]);
        assert_eq!(run.code(), 1, "{name}: {}", run.transcript());
        out.push_str(&format!("# {name}\n{}", run.stdout()));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn status_reconciles_the_calendar_with_tags() {
    let repo = TestRepo::new();
    repo.commit_at("feat: first", "2025-12-01T12:00:00Z");
    repo.tag("v1.4.0");
    repo.commit_at("feat: a", "2026-01-16T12:00:00Z");
    repo.tag("v1.5.0");
    // A hotfix on a release branch, and a patch on the main line.
    repo.git(&["checkout", "-q", "-b", "release/1.5"]);
    repo.commit_at("fix: hot", "2026-01-20T12:00:00Z");
    repo.tag("v1.5.1");
    repo.git(&["checkout", "-q", "main"]);
    repo.commit_at("fix: main line", "2026-01-22T12:00:00Z");
    repo.tag("v1.5.2");
    repo.commit_at("feat: b", "2026-01-29T12:00:00Z");
    repo.tag("v1.6.0-rc.1");
    repo.commit_at("feat: c", "2026-02-09T12:00:00Z");
    repo.tag("v1.7.0-rc.1");
    let run = repo.run_env(
        &["calendar", "status"],
        &[("TRAINYARD_NOW", "2026-02-10T09:00:00Z")],
    );
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let yaml = run.stdout();
    let head: String = yaml.lines().take(30).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!(head);
    assert!(
        run.stderr().contains("1.5.0 as v1.5.0 on 2026-01-16"),
        "{}",
        run.stderr()
    );
}

#[test]
fn next_and_phase_use_the_pinned_clock() {
    let repo = released_repo();
    let next = repo
        .run_env(
            &["--json", "calendar", "next"],
            &[("TRAINYARD_NOW", "2026-01-12T09:00:00Z")],
        )
        .json();
    assert_eq!(next["today"], "2026-01-12");
    assert_eq!(next["phase"]["phase"], "stabilization");
    assert_eq!(next["rc_cut"]["date"], "2026-01-15");
    assert_eq!(next["rc_cut"]["days_until"], 3);
    assert_eq!(next["release"]["date"], "2026-01-16");
    let phase = repo.run(&["calendar", "phase", "--date", "2026-01-15"]);
    assert_eq!(phase.stdout(), "2026-01-15: release candidate cut day\n");
}

#[test]
fn time_zones_decide_the_local_date_across_dst_changes() {
    let repo = released_repo();
    // New Zealand leaves daylight saving on 2026-04-05; 12:30 UTC the day
    // before is already the 5th in Auckland (NZDT, +13).
    repo.write(
        "trainyard.yaml",
        "cadence:\n  time_zone: Pacific/Auckland\n",
    );
    let nz = repo
        .run(&[
            "--json",
            "calendar",
            "phase",
            "--date",
            "2026-04-04T12:30:00Z",
        ])
        .json();
    assert_eq!(nz["date"], "2026-04-05");
    let after = repo
        .run(&[
            "--json",
            "calendar",
            "phase",
            "--date",
            "2026-04-05T12:30:00Z",
        ])
        .json();
    assert_eq!(after["date"], "2026-04-06", "NZST is +12 after the change");
    // Los Angeles starts daylight saving on 2026-03-08.
    repo.write(
        "trainyard.yaml",
        "cadence:\n  time_zone: America/Los_Angeles\n",
    );
    let before = repo
        .run(&[
            "--json",
            "calendar",
            "phase",
            "--date",
            "2026-03-08T07:30:00Z",
        ])
        .json();
    assert_eq!(before["date"], "2026-03-07", "PST is -8");
    let la = repo
        .run(&[
            "--json",
            "calendar",
            "phase",
            "--date",
            "2026-03-09T06:30:00Z",
        ])
        .json();
    assert_eq!(la["date"], "2026-03-08", "PDT is -7");
    // Release days stay Fridays, 14 days apart, whatever the zone.
    for zone in ["Pacific/Auckland", "America/Los_Angeles"] {
        repo.write(
            "trainyard.yaml",
            &format!("cadence:\n  time_zone: {zone}\n  anchor: 2026-03-02\n"),
        );
        let cal = repo
            .run(&["--json", "calendar", "generate", "--year", "2026"])
            .json();
        let minors = cal["release_calendar"]["minor_releases"]
            .as_array()
            .expect("minors")
            .clone();
        let dates: Vec<jiff::civil::Date> = minors
            .iter()
            .map(|m| {
                m["release_date"]
                    .as_str()
                    .expect("date")
                    .parse()
                    .expect("valid")
            })
            .collect();
        for pair in dates.windows(2) {
            assert_eq!(
                pair[0].until(pair[1]).expect("span").get_days(),
                14,
                "{zone}"
            );
            assert_eq!(pair[1].weekday(), jiff::civil::Weekday::Friday, "{zone}");
        }
    }
}

#[test]
fn bad_cadence_config_is_located() {
    let repo = released_repo();
    repo.write("trainyard.yaml", "cadence:\n  time_zone: Mars/Olympus\n");
    let run = repo.run(&["calendar", "next"]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr()
            .contains("trainyard.yaml:2:14: cadence.time_zone: unknown time zone `Mars/Olympus`"),
        "{}",
        run.stderr_clean()
    );
    repo.write("trainyard.yaml", "cadence:\n  anchor: 2026-01-06\n");
    let run = repo.run(&["calendar", "next"]);
    assert!(
        run.stderr()
            .contains("cadence.anchor: expected a Monday, but 2026-01-06 is a tuesday"),
        "{}",
        run.stderr_clean()
    );
}

#[test]
fn ics_export_is_an_icalendar_file() {
    let repo = released_repo();
    let run = repo.run(&["calendar", "export", "--year", "2027", "--format", "ics"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let text = run.stdout();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(text.trim_end().ends_with("END:VCALENDAR"));
    assert!(text.matches("BEGIN:VEVENT").count() > 40);
}

/// The rows of `calendar show` as (date, event, version, status).
fn show_rows(run: &crate::support::Run) -> Vec<(String, String, String, String)> {
    run.stdout()
        .lines()
        .skip(1)
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (date, rest) = words.split_first().expect("a date");
            let event_words = if rest[0] == "rc" || rest[1] == "release" {
                2
            } else {
                1
            };
            let event = rest[..event_words].join(" ");
            let version = rest[event_words].to_owned();
            let status = rest.last().expect("a status").to_string();
            ((*date).to_owned(), event, version, status)
        })
        .collect()
}

fn status_of<'a>(
    rows: &'a [(String, String, String, String)],
    date: &str,
    event: &str,
) -> (&'a str, &'a str) {
    let row = rows
        .iter()
        .find(|r| r.0 == date && r.1 == event)
        .unwrap_or_else(|| panic!("no {event} on {date} in {rows:?}"));
    (row.2.as_str(), row.3.as_str())
}

#[test]
fn show_matches_statuses_per_event_not_per_version() {
    // The quarterly majors share their version with the minor slot folded
    // into them, which is skipped: the majors are still planned.
    let repo = released_repo();
    let run = repo.run(&["calendar", "show", "--year", "2027"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let rows = show_rows(&run);
    for date in ["2027-03-26", "2027-06-25", "2027-09-24", "2027-12-31"] {
        assert_eq!(
            status_of(&rows, date, "major release").1,
            "planned",
            "{}",
            run.stdout()
        );
    }
    // With `on_blocked: skip`, the release after a skipped slot takes the
    // version the skipped slot shows, and is still planned.
    repo.write(
        "trainyard.yaml",
        "cadence:\n  freeze_windows:\n    - { from: 2026-12-21, to: 2027-01-03, name: year-end }\n  on_blocked: skip\n",
    );
    let run = repo.run(&["calendar", "show", "--year", "2027"]);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let rows = show_rows(&run);
    assert_eq!(
        status_of(&rows, "2027-01-14", "rc cut"),
        ("1.5.0", "planned")
    );
    assert_eq!(
        status_of(&rows, "2027-01-15", "minor release"),
        ("1.5.0", "planned")
    );
}

#[test]
fn upcoming_events_are_projected_from_the_release_in_effect() {
    // v1.1.0 long ago; the 2027-01-01 slot passed without a release.
    let repo = TestRepo::new();
    repo.commit("feat: first");
    repo.tag("v1.1.0");
    repo.commit("feat: more");
    let status = repo.run(&["--json", "status"]).json();
    assert_eq!(status["next"], "1.2.0");
    assert_eq!(status["calendar"]["rc_cut"]["version"], "1.2.0");
    assert_eq!(status["calendar"]["rc_cut"]["date"], "2027-01-14");
    assert_eq!(status["calendar"]["release"]["version"], "1.2.0");
    let next = repo.run(&["--json", "calendar", "next"]).json();
    assert_eq!(next["rc_cut"]["version"], "1.2.0");
    assert_eq!(next["release"]["version"], "1.2.0");
    let text = repo.run(&["status"]).stdout();
    assert!(
        text.contains("next rc cut   2027-01-14 for 1.2.0 (in 1 days)"),
        "{text}"
    );
    let run = repo.run(&["calendar", "show", "--year", "2027"]);
    let rows = show_rows(&run);
    assert_eq!(
        status_of(&rows, "2027-01-14", "rc cut"),
        ("1.2.0", "planned")
    );
    assert_eq!(
        status_of(&rows, "2027-01-15", "minor release"),
        ("1.2.0", "planned")
    );
    assert_eq!(
        status_of(&rows, "2027-01-29", "minor release"),
        ("1.3.0", "planned")
    );
    assert_eq!(
        status_of(&rows, "2027-03-26", "major release"),
        ("2.0.0", "planned")
    );
    assert_eq!(
        status_of(&rows, "2027-04-09", "minor release"),
        ("2.1.0", "planned")
    );
}

#[test]
fn a_release_just_made_moves_the_projection_on() {
    let repo = TestRepo::new();
    repo.commit_at("feat: first", "2026-12-01T12:00:00Z");
    repo.tag("v1.0.0");
    // Released today (2027-01-13), in the cycle of the 2027-01-15 slot:
    // that slot's release, made early.
    repo.commit_at("feat: second", "2027-01-13T09:00:00Z");
    repo.tag("v1.1.0");
    let status = repo.run(&["--json", "status"]).json();
    assert_eq!(status["current"], "1.1.0");
    assert_eq!(status["calendar"]["rc_cut"]["date"], "2027-01-28");
    assert_eq!(status["calendar"]["rc_cut"]["version"], "1.2.0");
    assert_eq!(status["calendar"]["release"]["date"], "2027-01-29");
    assert_eq!(status["calendar"]["release"]["version"], "1.2.0");
    // The slot shows the same before and after its date.
    for now in ["2027-01-13T10:00:00Z", "2027-01-20T12:00:00Z"] {
        let run = repo.run_env(
            &["calendar", "show", "--year", "2027"],
            &[("TRAINYARD_NOW", now)],
        );
        let rows = show_rows(&run);
        assert_eq!(
            status_of(&rows, "2027-01-15", "minor release"),
            ("1.1.0", "released"),
            "{now}: {}",
            run.stdout()
        );
        assert_eq!(
            status_of(&rows, "2027-01-29", "minor release"),
            ("1.2.0", "planned"),
            "{now}"
        );
    }
    // Released on its release day: the next release is the one after it.
    let repo = TestRepo::new();
    repo.commit_at("feat: first", "2026-12-01T12:00:00Z");
    repo.tag("v1.0.0");
    repo.commit_at("feat: second", "2027-01-15T09:00:00Z");
    repo.tag("v1.1.0");
    let now = [("TRAINYARD_NOW", "2027-01-15T12:00:00Z")];
    let next = repo.run_env(&["--json", "calendar", "next"], &now).json();
    assert_eq!(next["release"]["date"], "2027-01-29");
    assert_eq!(next["release"]["version"], "1.2.0");
    assert_eq!(next["rc_cut"]["date"], "2027-01-28");
    assert_eq!(next["rc_cut"]["version"], "1.2.0");
    let run = repo.run_env(&["calendar", "show", "--year", "2027"], &now);
    let rows = show_rows(&run);
    assert_eq!(
        status_of(&rows, "2027-01-15", "minor release"),
        ("1.1.0", "released")
    );
    assert_eq!(
        status_of(&rows, "2027-01-29", "minor release"),
        ("1.2.0", "planned")
    );
}

#[test]
fn generate_dry_run_exits_1_only_when_the_file_would_change() {
    let repo = released_repo();
    let args = [
        "calendar",
        "generate",
        "--year",
        "2027",
        "--write",
        "--dry-run",
    ];
    let run = repo.run(&args);
    assert_eq!(run.code(), 1, "no file yet: {}", run.transcript());
    assert!(!repo.path().join("release-calendar-2027.yaml").exists());
    let write = repo.run(&["calendar", "generate", "--year", "2027", "--write"]);
    assert_eq!(write.code(), 0, "{}", write.transcript());
    let before = repo.tree_snapshot();
    let run = repo.run(&args);
    assert_eq!(run.code(), 0, "unchanged: {}", run.transcript());
    crate::support::assert_unchanged(&before, &repo.tree_snapshot());
    repo.write(
        "release-calendar-2027.yaml",
        &run.stdout().replacen("status: planned", "status: rc", 1),
    );
    let run = repo.run(&args);
    assert_eq!(run.code(), 1, "changed: {}", run.transcript());
}

/// A minor in February, patches since and one unreleased fix: the next
/// release is the patch 3.5.6.
fn patch_train() -> TestRepo {
    let repo = TestRepo::new();
    repo.commit_at("feat: start", "2025-11-10T12:00:00Z");
    repo.tag("v3.4.0");
    repo.commit_at("feat: more", "2026-02-13T12:00:00Z");
    repo.tag("v3.5.0");
    for (n, day) in ["03-02", "05-11", "07-20", "09-07", "10-20"]
        .iter()
        .enumerate()
    {
        repo.commit_at(&format!("fix: {n}"), &format!("2026-{day}T12:00:00Z"));
        repo.tag(&format!("v3.5.{}", n + 1));
    }
    repo.commit_at("fix: since", "2026-11-30T12:00:00Z");
    repo
}

const DEC_3: [(&str, &str); 1] = [("TRAINYARD_NOW", "2026-12-03T09:00:00Z")];

/// Every minor and major slot of a `calendar status`/`generate` document
/// as (date, version, status), by date.
fn doc_slots(doc: &serde_json::Value) -> Vec<(String, Option<String>, String)> {
    let cal = &doc["release_calendar"];
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let mut out: Vec<_> = cal["minor_releases"]
        .as_array()
        .expect("minors")
        .iter()
        .map(|m| (&m["release_date"], &m["version"], &m["status"]))
        .chain(
            cal["major_releases"]
                .as_array()
                .expect("majors")
                .iter()
                .map(|m| (&m["planned_date"], &m["version"], &m["status"])),
        )
        .map(|(d, v, s)| (text(d).expect("date"), text(v), text(s).expect("status")))
        .collect();
    out.sort();
    out
}

fn assert_no_version_twice(slots: &[(String, Option<String>, String)]) {
    let mut versions: Vec<&String> = slots.iter().filter_map(|s| s.1.as_ref()).collect();
    let count = versions.len();
    versions.sort();
    versions.dedup();
    assert_eq!(versions.len(), count, "{slots:#?}");
}

/// The next release as each view names it: `calendar show`, `calendar
/// next`, `calendar status`, `status` (its calendar line and its JSON).
fn next_release_everywhere(repo: &TestRepo, env: &[(&str, &str)]) -> Vec<String> {
    let today = repo.run_env(&["--json", "calendar", "next"], env).json();
    let today = today["today"].as_str().expect("today").to_owned();
    let mut names = Vec::new();
    for year in [
        &today[..4],
        &(today[..4].parse::<i32>().expect("year") + 1).to_string(),
    ] {
        let rows = show_rows(&repo.run_env(&["calendar", "show", "--year", year], env));
        if let Some(row) = rows
            .iter()
            .find(|r| r.0 >= today && r.1 != "rc cut" && (r.3 == "planned" || r.3 == "rc"))
        {
            names.push(row.2.clone());
            break;
        }
    }
    let next = repo.run_env(&["--json", "calendar", "next"], env).json();
    names.push(
        next["release"]["version"]
            .as_str()
            .expect("next")
            .to_owned(),
    );
    let status = repo.run_env(&["--json", "calendar", "status"], env).json();
    let first = doc_slots(&status)
        .into_iter()
        .find(|s| s.0 >= today && (s.2 == "planned" || s.2 == "rc"));
    if let Some((_, Some(version), _)) = first {
        names.push(version);
    }
    let text = repo.run_env(&["status"], env).stdout();
    let line = text
        .lines()
        .find(|l| l.starts_with("next release"))
        .expect("a next release line");
    names.push(
        line.split_whitespace()
            .nth(3)
            .expect("a version")
            .to_owned(),
    );
    let json = repo.run_env(&["--json", "status"], env).json();
    names.push(
        json["calendar"]["release"]["version"]
            .as_str()
            .expect("status calendar")
            .to_owned(),
    );
    names
}

#[test]
fn every_view_names_the_version_next_proposes() {
    // The patch train: `version next` says 3.5.6, a patch, and the next
    // (minor) slot carries it.
    let repo = patch_train();
    let next = repo.run_env(&["--json", "version", "next"], &DEC_3).json();
    assert_eq!(next["next"], "3.5.6");
    let names = next_release_everywhere(&repo, &DEC_3);
    assert_eq!(names, vec!["3.5.6"; 5], "{names:?}");
    let text = repo.run_env(&["status"], &DEC_3).stdout();
    assert!(
        text.contains("next release  2026-12-04 3.5.6 (in 1 days)"),
        "{text}"
    );
    assert!(
        text.contains("next rc cut   2026-12-03 for 3.5.6 (in 0 days)"),
        "{text}"
    );
    // A feature: the minor 3.6.0, everywhere.
    repo.commit_at("feat: new", "2026-12-01T12:00:00Z");
    assert_eq!(next_release_everywhere(&repo, &DEC_3), vec!["3.6.0"; 5]);
    // Nothing unreleased: the next minor of the release in effect.
    let repo = released_repo();
    assert_eq!(next_release_everywhere(&repo, &[]), vec!["1.5.0"; 5]);
    // The next slot a major (2026-12-25): it still takes `version next`'s.
    let repo = patch_train();
    let dec_19 = [("TRAINYARD_NOW", "2026-12-19T09:00:00Z")];
    let names = next_release_everywhere(&repo, &dec_19);
    assert_eq!(names, vec!["3.5.6"; 5], "{names:?}");
    let next = repo
        .run_env(&["--json", "calendar", "next"], &dec_19)
        .json();
    assert_eq!(next["release"]["kind"], "major_release");
}

#[test]
fn past_slots_without_a_release_take_no_version() {
    // Before, `calendar status` counted a version for every slot since
    // the start of the year: 6.5.0 in December, seven minors labelled
    // 4.0.0, and majors 4.0.0, 5.0.0, 6.0.0 delayed; `calendar show` had
    // 3.6.0 next and a major 4.0.0 twice.
    let repo = patch_train();
    let status = repo
        .run_env(&["--json", "calendar", "status"], &DEC_3)
        .json();
    let slots = doc_slots(&status);
    assert_no_version_twice(&slots);
    for (day, version, status) in &slots {
        match status.as_str() {
            "released" => assert_eq!(
                (day.as_str(), version.as_deref()),
                ("2026-02-13", Some("3.5.0"))
            ),
            "skipped" | "delayed" => assert_eq!(version, &None, "{day}"),
            _ => assert!(day.as_str() >= "2026-12-03", "{day}"),
        }
    }
    let majors: Vec<_> = slots
        .iter()
        .filter(|s| {
            ["2026-03-27", "2026-06-26", "2026-09-25", "2026-12-25"].contains(&s.0.as_str())
                && s.2 != "skipped"
        })
        .map(|s| (s.1.clone(), s.2.clone()))
        .collect();
    assert_eq!(
        majors,
        [
            (None, "delayed".into()),
            (None, "delayed".into()),
            (None, "delayed".into()),
            (Some("4.0.0".into()), "planned".into())
        ]
    );
    let patches = status["release_calendar"]["patch_releases"]
        .as_array()
        .expect("patches")
        .len();
    assert_eq!(patches, 5);
    let run = repo.run_env(&["calendar", "show"], &DEC_3);
    let rows = show_rows(&run);
    let versions: Vec<&str> = rows
        .iter()
        .filter(|r| r.1 != "rc cut" && r.2 != "-")
        .map(|r| r.2.as_str())
        .collect();
    assert_eq!(
        versions,
        ["3.5.0", "3.5.6", "3.6.0", "4.0.0"],
        "{}",
        run.stdout()
    );
    // The document is a valid calendar.
    repo.run_env(
        &["calendar", "generate", "--year", "2026", "--write"],
        &DEC_3,
    );
    let valid = repo.run_env(
        &["calendar", "validate", "release-calendar-2026.yaml"],
        &DEC_3,
    );
    assert_eq!(valid.code(), 0, "{}", valid.transcript());
}

#[test]
fn a_tag_outside_its_slot_does_not_fill_it() {
    // 1.0.0 in August: before, the Q1 major in March showed it released.
    let repo = TestRepo::new();
    repo.commit_at("feat: first", "2026-08-05T12:00:00Z");
    repo.tag("v1.0.0");
    repo.commit_at("feat: second", "2026-09-04T12:00:00Z");
    repo.tag("v1.1.0");
    repo.commit_at("feat: third", "2026-11-30T12:00:00Z");
    let rows = show_rows(&repo.run_env(&["calendar", "show"], &DEC_3));
    assert_eq!(
        status_of(&rows, "2026-03-27", "major release"),
        ("-", "delayed")
    );
    assert_eq!(
        status_of(&rows, "2026-09-11", "minor release"),
        ("1.1.0", "released")
    );
    assert_eq!(
        status_of(&rows, "2026-12-04", "minor release"),
        ("1.2.0", "planned")
    );
    assert_eq!(
        status_of(&rows, "2026-12-25", "major release"),
        ("2.0.0", "planned")
    );
    // A stored plan is matched by dates too: its 2.0.0 for Q1 stays
    // unreleased although a 2.0.0 tag exists, made in December.
    repo.run_env(
        &[
            "calendar",
            "generate",
            "--year",
            "2026",
            "--from-version",
            "0.9.0",
            "--write",
        ],
        &DEC_3,
    );
    repo.commit_at("feat!: breaking", "2026-12-02T12:00:00Z");
    repo.tag("v2.0.0");
    let status = repo
        .run_env(&["--json", "calendar", "status"], &DEC_3)
        .json();
    let slots = doc_slots(&status);
    let q1 = slots
        .iter()
        .find(|s| s.0 == "2026-03-27" && s.2 != "skipped");
    assert_eq!(
        q1.map(|s| (s.1.clone(), s.2.as_str())),
        Some((None, "delayed"))
    );
    let sep = slots.iter().find(|s| s.0 == "2026-09-11");
    assert_eq!(
        sep.map(|s| (s.1.as_deref(), s.2.as_str())),
        Some((Some("1.1.0"), "released"))
    );
    assert_no_version_twice(&slots);
}

#[test]
fn the_demo_calendar_names_no_version_twice() {
    // Run on 2026-12-03, the demo's calendar showed 2.0.0 for a past Q2
    // major (delayed) and for the Q4 one, and its 1.0.0 of August as the
    // Q1 major released in March.
    let repo = TestRepo::new();
    // 2037 has 2026's calendar. A pinned clock cannot put a plan's expiry
    // off, so a demo pinned to a past day stops at its sync apply once the
    // plan's day has passed: the demo runs on 2037-12-03 instead.
    let dec_3 = [("TRAINYARD_NOW", "2037-12-03T09:00:00Z")];
    // Beside the test repository, in a directory of its own.
    let run = repo.run_env(&["demo", "../tour"], &dec_3);
    assert_eq!(run.code(), 0, "{}", run.transcript());
    let out = run.stdout();
    let table: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("$ trainyard calendar show"))
        .skip(2)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert!(!table.is_empty(), "{out}");
    let releases: Vec<(&str, &str, &str)> = table
        .iter()
        .filter(|l| !l.contains("rc cut"))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w[0], w[3], w[w.len() - 1])
        })
        .collect();
    let mut versions: Vec<&str> = releases.iter().map(|r| r.1).filter(|v| *v != "-").collect();
    let count = versions.len();
    versions.sort_unstable();
    versions.dedup();
    assert_eq!(versions.len(), count, "{}", table.join("\n"));
    assert!(
        releases.contains(&("2037-03-27", "-", "delayed")),
        "{}",
        table.join("\n")
    );
    assert!(
        !releases.iter().any(|r| r.1 == "1.0.0"),
        "1.0.0 was no quarter's major: {}",
        table.join("\n")
    );
}
