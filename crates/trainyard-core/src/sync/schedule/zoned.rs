//! jiff's zoned times in the form croner searches, resolving the wall
//! clock's gaps and folds in their time zone.

use std::cmp::Ordering;

use croner::errors::CronError;
use jiff::tz::AmbiguousOffset;
use jiff::{SignedDuration, ZonedDateTime};

/// A zoned time as croner searches it (croner's own support is for an
/// older jiff).
#[derive(Debug, Clone)]
pub(super) struct Zoned(pub(super) ZonedDateTime);

fn small(n: i8) -> u32 {
    u32::from(n.unsigned_abs())
}

impl croner::CronDateTime for Zoned {
    fn to_civil(&self) -> croner::CivilDateTime {
        let dt = self.0.datetime();
        croner::CivilDateTime::new(
            croner::CivilDate::from_parts_unchecked(
                i32::from(dt.year()),
                small(dt.month()),
                small(dt.day()),
            ),
            croner::CivilTime::from_parts_unchecked(
                small(dt.hour()),
                small(dt.minute()),
                small(dt.second()),
            ),
        )
    }

    fn civil_weekday(&self) -> croner::Weekday {
        croner::Weekday::from_days_from_sunday(small(self.0.weekday().to_sunday_zero_offset()))
    }

    fn resolve_civil(
        &self,
        civil: croner::CivilDateTime,
    ) -> std::result::Result<croner::Resolution<Self>, CronError> {
        let part = |n: u32| i8::try_from(n).map_err(|_| CronError::InvalidDate);
        let datetime = jiff::civil::DateTime::new(
            i16::try_from(civil.year()).map_err(|_| CronError::InvalidDate)?,
            part(civil.month())?,
            part(civil.day())?,
            part(civil.hour())?,
            part(civil.minute())?,
            part(civil.second())?,
            0,
        )
        .map_err(|_| CronError::InvalidDate)?;
        let ambiguous = self.0.time_zone().to_ambiguous_zoned_datetime(datetime);
        Ok(match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { .. } => croner::Resolution::Single(Zoned(
                ambiguous
                    .unambiguous()
                    .map_err(|_| CronError::InvalidTime)?,
            )),
            AmbiguousOffset::Fold { .. } => croner::Resolution::Ambiguous(
                Zoned(
                    ambiguous
                        .clone()
                        .earlier()
                        .map_err(|_| CronError::InvalidTime)?,
                ),
                Zoned(ambiguous.later().map_err(|_| CronError::InvalidTime)?),
            ),
            AmbiguousOffset::Gap { .. } => croner::Resolution::Gap,
        })
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(SignedDuration::from_secs(seconds))
            .ok()
            .map(Zoned)
    }

    fn cmp_instant(&self, other: &Self) -> Ordering {
        self.0.timestamp().cmp(&other.0.timestamp())
    }
}
