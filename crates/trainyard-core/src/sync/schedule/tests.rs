use super::due::{ReleaseCall, release_call};
use super::one_sync::is_busy;
use super::state::mark_run;
use super::*;
use crate::Error;
use crate::sync::config::{Schedule, Trigger};
use jiff::{SignedDuration, Timestamp};

#[test]
fn busy_is_a_held_lock_by_its_type_not_by_its_words() {
    let info = super::super::lock::LockInfo {
        id: "0123456789abcdef".into(),
        target: "/srv/site".into(),
        owner: "ops@example.org".into(),
        plan_id: "feedface".into(),
        acquired_at: at("2027-01-13T09:55:00Z"),
        expires_at: at("2027-01-13T10:55:00Z"),
        pid: 1,
        action: super::super::lock::LockAction::Apply,
        sync_id: "nightly".into(),
        repository: None,
        journal: None,
    };
    let held = Error::Locked(Box::new(super::super::lock::LockHeld {
        info,
        path: "/srv/.site.trainyard-lock".into(),
        running: true,
        expired: false,
        hint: "try again once it has finished".into(),
    }));
    assert!(is_busy(&held));
    // Other failures that happen to say "is locked by" are not.
    let store = Error::environment(
        "evidence store /repo/.trainyard/evidence is locked by another trainyard run",
    );
    assert!(!is_busy(&store));
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

/// Steps through `[from, to)` every five minutes as a scheduler would,
/// recording each window run; returns the runs.
fn simulate(
    schedule: &CronSchedule,
    mut last: Option<Timestamp>,
    from: &str,
    to: &str,
) -> Vec<Timestamp> {
    let (mut now, end) = (at(from), at(to));
    let mut runs = Vec::new();
    while now < end {
        if let Some(window) = schedule.window(last, now) {
            runs.push(window.latest);
            last = Some(window.latest);
        }
        now = now
            .checked_add(SignedDuration::from_mins(5))
            .expect("in range");
    }
    runs
}

#[test]
fn a_daily_job_in_the_spring_forward_gap_runs_once_that_day() {
    // Europe/Berlin skips 02:00-03:00 on 2026-03-29.
    let schedule = CronSchedule::new("30 2 * * *", "Europe/Berlin").expect("schedule");
    let saturday = at("2026-03-28T01:30:00Z"); // 02:30 CET
    let runs = simulate(
        &schedule,
        Some(saturday),
        "2026-03-28T02:00:00Z",
        "2026-03-30T01:00:00Z",
    );
    let days: Vec<String> = runs
        .iter()
        .map(|r| schedule.local(*r).date().to_string())
        .collect();
    assert_eq!(days, ["2026-03-29", "2026-03-30"], "{runs:?}");
    // The missing 02:30 runs right after the gap, at 03:00 CEST.
    assert_eq!(runs[0], at("2026-03-29T01:00:00Z"));
    assert_eq!(runs[1], at("2026-03-30T00:30:00Z")); // 02:30 CEST
    // Searching backwards finds the same run.
    let window = schedule.window(None, at("2026-03-29T02:00:00Z"));
    assert_eq!(window.map(|w| w.latest), Some(runs[0]));
}

#[test]
fn a_daily_job_in_the_fall_back_overlap_runs_once_that_day() {
    // Europe/Berlin repeats 02:00-03:00 on 2026-10-25.
    let schedule = CronSchedule::new("30 2 * * *", "Europe/Berlin").expect("schedule");
    let saturday = at("2026-10-24T00:30:00Z"); // 02:30 CEST
    let runs = simulate(
        &schedule,
        Some(saturday),
        "2026-10-24T01:00:00Z",
        "2026-10-26T02:00:00Z",
    );
    let days: Vec<String> = runs
        .iter()
        .map(|r| schedule.local(*r).date().to_string())
        .collect();
    assert_eq!(days, ["2026-10-25", "2026-10-26"], "{runs:?}");
    // The first 02:30 (CEST), not the repeated one (CET).
    assert_eq!(runs[0], at("2026-10-25T00:30:00Z"));
    assert_eq!(runs[1], at("2026-10-26T01:30:00Z")); // 02:30 CET
    // Searching backwards from the repeated hour finds the same run.
    let window = schedule.window(None, at("2026-10-25T01:45:00Z"));
    assert_eq!(window.map(|w| w.latest), Some(runs[0]));
}

#[test]
fn the_time_zone_decides_the_wall_clock() {
    let utc = CronSchedule::new("0 9 * * *", "UTC").expect("utc");
    let tokyo = CronSchedule::new("0 9 * * *", "Asia/Tokyo").expect("tokyo");
    let now = at("2027-01-13T10:00:00Z");
    assert_eq!(utc.latest_until(now), Some(at("2027-01-13T09:00:00Z")));
    assert_eq!(tokyo.latest_until(now), Some(at("2027-01-13T00:00:00Z")));
}

#[test]
fn missed_windows_after_downtime_run_once() {
    let hourly = CronSchedule::new("0 * * * *", "UTC").expect("schedule");
    let last = at("2027-01-10T00:00:00Z");
    let now = at("2027-01-13T10:20:00Z");
    let window = hourly.window(Some(last), now).expect("due");
    assert_eq!(window.first, at("2027-01-10T01:00:00Z"));
    assert_eq!(window.latest, at("2027-01-13T10:00:00Z"));
    assert_eq!(window.missed, 3 * 24 + 10);
    // Once run, nothing more is due until the next hour.
    assert_eq!(hourly.window(Some(window.latest), now), None);
    assert_eq!(
        hourly.window(Some(window.latest), at("2027-01-13T10:59:59Z")),
        None
    );
    assert!(
        hourly
            .window(Some(window.latest), at("2027-01-13T11:00:00Z"))
            .is_some()
    );
    // Every second for a week: counted up to the limit, still once.
    let busy = CronSchedule::new("* * * * * *", "UTC").expect("seconds");
    let window = busy
        .window(Some(at("2027-01-06T10:20:00Z")), now)
        .expect("due");
    assert_eq!(window.missed, MISSED_LIMIT);
    assert_eq!(window.latest, now);
}

#[test]
fn a_sync_that_never_ran_is_due_for_its_latest_window() {
    let daily = CronSchedule::new("0 3 * * *", "UTC").expect("schedule");
    let window = daily.window(None, at("2027-01-13T10:00:00Z")).expect("due");
    assert_eq!(window.latest, at("2027-01-13T03:00:00Z"));
    assert_eq!(window.missed, 1);
}

#[test]
fn on_release_skips_a_withdrawn_version_and_one_already_synced() {
    let state = ScheduleState {
        last_release: Some("1.1.0".into()),
        ..ScheduleState::default()
    };
    let withdrawn = vec!["1.2.0".to_owned()];
    assert_eq!(
        release_call(&state, "1.2.0", &withdrawn),
        ReleaseCall::Withdrawn
    );
    assert_eq!(
        release_call(&state, "v1.2.0", &withdrawn),
        ReleaseCall::Withdrawn
    );
    assert_eq!(
        release_call(&state, "1.1.0", &withdrawn),
        ReleaseCall::AlreadyRan
    );
    assert_eq!(release_call(&state, "1.3.0", &withdrawn), ReleaseCall::Due);
}

#[test]
fn settling_records_the_latest_window_and_the_release() {
    let mut state = ScheduleState {
        last_window: Some(at("2027-01-13T10:00:00Z")),
        owed_release: Some("1.2.0".into()),
        ..ScheduleState::default()
    };
    mark_run(&mut state, Some(at("2027-01-13T09:00:00Z")), Some("1.2.0"));
    assert_eq!(state.last_window, Some(at("2027-01-13T10:00:00Z")));
    assert_eq!(state.last_release.as_deref(), Some("1.2.0"));
    assert_eq!(state.owed_release, None);
}

#[test]
fn schedules_are_checked() {
    let cron = |expression: &str, zone: Option<&str>| {
        check(&Schedule {
            trigger: Trigger::Cron,
            cron: Some(expression.into()),
            timezone: zone.map(str::to_owned),
        })
    };
    assert_eq!(cron("30 2 * * *", Some("Europe/Berlin")), Ok(()));
    assert_eq!(cron("@daily", None), Ok(()));
    let bad = cron("61 2 * * *", None).expect_err("minute 61");
    assert!(
        bad.starts_with("cron: invalid cron expression `61 2 * * *`: "),
        "{bad}"
    );
    assert!(!bad.ends_with('.'), "{bad}");
    let never = cron("0 0 31 2 *", None).expect_err("february 31st");
    assert!(never.contains("never matches"), "{never}");
    assert_eq!(
        cron("0 * * * *", Some("Mars/Olympus")),
        Err("timezone: unknown time zone `Mars/Olympus`".into())
    );
}

#[test]
fn the_state_round_trips() {
    let state = ScheduleState {
        last_window: Some(at("2027-01-13T10:00:00Z")),
        last_release: None,
        owed_release: None,
        pending: Some(Pending {
            plan_id: "ab".repeat(32),
            planned_at: at("2027-01-13T10:00:05Z"),
            window: Some(at("2027-01-13T10:00:00Z")),
            release: None,
        }),
    };
    let text = serde_json::to_string(&state).expect("encode");
    assert!(
        text.contains("\"last_window\":\"2027-01-13T10:00:00Z\""),
        "{text}"
    );
    assert_eq!(
        serde_json::from_str::<ScheduleState>(&text).expect("decode"),
        state
    );
}
