//! Scheduled syncs: the spec's `schedule` triggers.
//!
//! A `cron` sync is due when one of its scheduled times falls after the
//! window it last ran for and at or before now, read in its time zone (the
//! schedule's `timezone`, else the cadence's): however many windows were
//! missed, it runs once, for the latest. A sync that never ran is due for
//! its latest scheduled time. An `on_release` sync is due for a release it
//! has not run for, unless that version was rolled back. `manual` syncs
//! never are.
//!
//! What ran is kept per sync in
//! `<evidence dir>/sync-state/<sync id>/schedule.json`, written atomically
//! and only once an outcome is settled, so that a crash runs a window again
//! at most once. A sync that needs approval gets one plan per window,
//! recorded as pending; later runs apply it once an approval of it is
//! recorded, or say that it waits. A target another apply holds is
//! reported as busy and tried again on the next run.

mod cron;
mod due;
mod one_sync;
mod outcome;
mod run;
mod state;
mod zoned;

pub use cron::{CronSchedule, CronWindow, MISSED_LIMIT, check};
pub use due::{Due, due};
pub use outcome::{DueOutcome, Status};
pub use run::{run_due, run_due_until, run_on_release, run_one_on_release};
pub use state::{Pending, ScheduleState, load_state};

#[cfg(test)]
mod tests;
