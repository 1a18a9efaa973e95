//! Numbers of the configuration files, checked against their bounds as
//! they are read.
//!
//! Every integer of `trainyard.yaml` and of the sync configurations is a
//! [`Bounded`]: a `u64` between two limits that are part of its type, with
//! a unit ([`Seconds`], [`Minutes`], [`Weeks`] or a [`Plain`] number). Its
//! `Deserialize` refuses a value outside the limits with
//! `must be between 1 and 604800 (7 days), not 18446744073709551615`, so the
//! YAML reader reports it at its line, column and key, and nothing after
//! the reading can meet a value that overflows a `Duration`, a date or a
//! port. Its JSON Schema carries `minimum` and `maximum`. Percentages are a
//! [`Percent`]: a finite number from 0 to 100.
//!
//! The bounds of each setting are the aliases below: [`Timeout`],
//! [`PlanTtl`], [`DecisionWindow`], [`CycleWeeks`], [`Month`], [`Port`],
//! [`ExitStatus`] and [`DeleteCount`].

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::{Error, Result};

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// What a [`Bounded`] number counts.
pub trait Unit {
    /// The length of one, in seconds, for a unit of time; `None` for a
    /// plain number.
    const SECONDS: Option<u64>;
}

/// Seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seconds {}

/// Minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Minutes {}

/// Weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weeks {}

/// A number without a unit: a count, a month, a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Plain {}

impl Unit for Seconds {
    const SECONDS: Option<u64> = Some(1);
}

impl Unit for Minutes {
    const SECONDS: Option<u64> = Some(MINUTE);
}

impl Unit for Weeks {
    const SECONDS: Option<u64> = Some(7 * DAY);
}

impl Unit for Plain {
    const SECONDS: Option<u64> = None;
}

/// A timeout of a command (`timeout_seconds` of artifacts, command
/// channels and gate checks): at least a second, at most 7 days.
pub type Timeout = Bounded<Seconds, 1, { 7 * DAY }>;

/// How long a sync plan stays appliable (`plan_ttl_minutes`): at least a
/// minute (a plan of 0 would be born expired), at most 30 days.
pub type PlanTtl = Bounded<Minutes, 1, { 30 * DAY / MINUTE }>;

/// RB-IMM's time to decide (`rollback.decide_within_minutes`): at least a
/// minute, at most a day; a longer wait is no immediate rollback.
pub type DecisionWindow = Bounded<Minutes, 1, { DAY / MINUTE }>;

/// Weeks of a minor release cycle (`cadence.cycle_weeks`): at least one,
/// at most a year's 52.
pub type CycleWeeks = Bounded<Weeks, 1, 52>;

/// A month of the year (`cadence.major_months`), 1 to 12.
pub type Month = Bounded<Plain, 1, 12>;

/// A TCP port (`notify.smtp.port`), 1 to 65535.
pub type Port = Bounded<Plain, 1, 65_535>;

/// A process's exit status (`expect_exit` of gate checks), 0 to 255.
pub type ExitStatus = Bounded<Plain, 0, 255>;

/// How long a run waits for another run's hold on the evidence store
/// (`evidence.lock_wait_seconds`): 0 (not at all) to an hour.
pub type StoreWait = Bounded<Seconds, 0, 3600>;

/// A count of deleted files (`max_delete` of a sync), 0 to a million; a
/// sync without a limit leaves `max_delete` out.
pub type DeleteCount = Bounded<Plain, 0, 1_000_000>;

/// A whole number from `MIN` to `MAX` (both included), counting `U`s.
pub struct Bounded<U, const MIN: u64, const MAX: u64> {
    value: u64,
    unit: PhantomData<fn() -> U>,
}

impl<U: Unit, const MIN: u64, const MAX: u64> Bounded<U, MIN, MAX> {
    /// `value`, when it is within the bounds.
    pub const fn new(value: u64) -> Option<Self> {
        if MIN <= value && value <= MAX {
            Some(Bounded {
                value,
                unit: PhantomData,
            })
        } else {
            None
        }
    }

    /// `value` for a constant: a value out of bounds fails the build
    /// when the result initializes a `const`.
    ///
    /// # Panics
    ///
    /// When `value` is out of bounds.
    pub const fn constant(value: u64) -> Self {
        match Self::new(value) {
            Some(bounded) => bounded,
            None => panic!("a constant out of its bounds"),
        }
    }

    /// The number.
    pub const fn get(self) -> u64 {
        self.value
    }

    /// Why `value` is refused: `must be between 1 and 604800 (7 days), not
    /// 0`.
    pub fn out_of_bounds(value: impl fmt::Display) -> String {
        format!("must be {}, not {value}", Self::range())
    }

    /// `between 1 and 604800 (7 days)`.
    fn range() -> String {
        let mut text = format!("between {MIN} and {MAX}");
        if let Some(human) = U::SECONDS.and_then(|unit| in_larger_unit(MAX, unit)) {
            text.push_str(&format!(" ({human})"));
        }
        text
    }

    fn from_wide(value: i128) -> std::result::Result<Self, String> {
        u64::try_from(value)
            .ok()
            .and_then(Self::new)
            .ok_or_else(|| Self::out_of_bounds(value))
    }
}

/// `amount` units of `unit` seconds each, in the largest of days, hours
/// and minutes that is larger than the unit and counts it exactly:
/// 604800 seconds are `7 days`, 1440 minutes `1 day`; `None` when there is
/// no such unit.
fn in_larger_unit(amount: u64, unit: u64) -> Option<String> {
    let seconds = amount.checked_mul(unit)?;
    [(DAY, "day"), (HOUR, "hour"), (MINUTE, "minute")]
        .into_iter()
        .filter(|&(size, _)| size > unit)
        .find(|&(size, _)| seconds % size == 0)
        .map(|(size, name)| {
            let count = seconds / size;
            format!("{count} {name}{}", if count == 1 { "" } else { "s" })
        })
}

impl<const MIN: u64, const MAX: u64> Bounded<Seconds, MIN, MAX> {
    /// The time it stands for.
    pub const fn duration(self) -> Duration {
        Duration::from_secs(self.value)
    }
}

impl<const MIN: u64, const MAX: u64> Bounded<Minutes, MIN, MAX> {
    /// The time it stands for.
    pub fn signed_duration(self) -> jiff::SignedDuration {
        self.value
            .checked_mul(MINUTE)
            .and_then(|seconds| i64::try_from(seconds).ok())
            .map_or(jiff::SignedDuration::MAX, jiff::SignedDuration::from_secs)
    }
}

impl<const MIN: u64, const MAX: u64> Bounded<Weeks, MIN, MAX> {
    /// The number of days in that many weeks.
    pub fn days(self) -> i64 {
        self.value
            .checked_mul(7)
            .and_then(|days| i64::try_from(days).ok())
            .unwrap_or(i64::MAX)
    }
}

impl Month {
    /// The month's number, as dates count it.
    pub fn number(self) -> i8 {
        i8::try_from(self.value).unwrap_or(i8::MAX)
    }
}

impl Port {
    /// The port's number.
    pub fn number(self) -> u16 {
        u16::try_from(self.value).unwrap_or(u16::MAX)
    }
}

impl ExitStatus {
    /// The status, as a process reports it.
    pub fn code(self) -> i32 {
        i32::try_from(self.value).unwrap_or(i32::MAX)
    }
}

impl<U: Unit, const MIN: u64, const MAX: u64> TryFrom<u64> for Bounded<U, MIN, MAX> {
    type Error = Error;

    fn try_from(value: u64) -> Result<Self> {
        Self::new(value).ok_or_else(|| Error::input(Self::out_of_bounds(value)))
    }
}

impl<U, const MIN: u64, const MAX: u64> From<Bounded<U, MIN, MAX>> for u64 {
    fn from(bounded: Bounded<U, MIN, MAX>) -> u64 {
        bounded.value
    }
}

impl<U, const MIN: u64, const MAX: u64> Clone for Bounded<U, MIN, MAX> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<U, const MIN: u64, const MAX: u64> Copy for Bounded<U, MIN, MAX> {}

impl<U, const MIN: u64, const MAX: u64> PartialEq for Bounded<U, MIN, MAX> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<U, const MIN: u64, const MAX: u64> Eq for Bounded<U, MIN, MAX> {}

impl<U, const MIN: u64, const MAX: u64> PartialEq<u64> for Bounded<U, MIN, MAX> {
    fn eq(&self, other: &u64) -> bool {
        self.value == *other
    }
}

impl<U, const MIN: u64, const MAX: u64> PartialOrd for Bounded<U, MIN, MAX> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<U, const MIN: u64, const MAX: u64> Ord for Bounded<U, MIN, MAX> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

impl<U, const MIN: u64, const MAX: u64> std::hash::Hash for Bounded<U, MIN, MAX> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<U, const MIN: u64, const MAX: u64> fmt::Debug for Bounded<U, MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value, f)
    }
}

impl<U, const MIN: u64, const MAX: u64> fmt::Display for Bounded<U, MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value, f)
    }
}

impl<U, const MIN: u64, const MAX: u64> Serialize for Bounded<U, MIN, MAX> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.value)
    }
}

impl<'de, U: Unit, const MIN: u64, const MAX: u64> Deserialize<'de> for Bounded<U, MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        // Any number, so that a negative one, one beyond u64 or a fraction
        // is refused with the bounds rather than as an unreadable scalar.
        deserializer.deserialize_any(BoundedVisitor::<U, MIN, MAX>(PhantomData))
    }
}

struct BoundedVisitor<U, const MIN: u64, const MAX: u64>(PhantomData<fn() -> U>);

impl<U: Unit, const MIN: u64, const MAX: u64> Visitor<'_> for BoundedVisitor<U, MIN, MAX> {
    type Value = Bounded<U, MIN, MAX>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an integer {}", Bounded::<U, MIN, MAX>::range())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> std::result::Result<Self::Value, E> {
        self.visit_i128(i128::from(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> std::result::Result<Self::Value, E> {
        self.visit_i128(i128::from(value))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> std::result::Result<Self::Value, E> {
        Bounded::from_wide(value).map_err(E::custom)
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> std::result::Result<Self::Value, E> {
        match i128::try_from(value) {
            Ok(value) => self.visit_i128(value),
            Err(_) => Err(E::custom(Bounded::<U, MIN, MAX>::out_of_bounds(value))),
        }
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> std::result::Result<Self::Value, E> {
        if value.fract() != 0.0 || !value.is_finite() {
            return Err(invalid_type(de::Unexpected::Float(value), &self));
        }
        // A whole number too large for an integer: out of bounds anyway.
        Err(E::custom(Bounded::<U, MIN, MAX>::out_of_bounds(
            number_text(value),
        )))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> std::result::Result<Self::Value, E> {
        // A quoted number is still a number.
        match text.trim().parse::<i128>() {
            Ok(value) => self.visit_i128(value),
            Err(_) => Err(invalid_type(de::Unexpected::Str(text), &self)),
        }
    }
}

/// serde's "invalid type" error, raised as a custom one: the YAML reader
/// places those at the value rather than at its key.
fn invalid_type<E: de::Error>(unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> E {
    E::custom(format_args!(
        "invalid type: {unexpected}, expected {expected}"
    ))
}

/// A number as people write it: in full below 2^53, in scientific notation
/// above (where f64 no longer knows every digit).
fn number_text(value: f64) -> String {
    if value.abs() < 9_007_199_254_740_992.0 {
        format!("{value}")
    } else {
        format!("{value:e}")
    }
}

impl<U: Unit, const MIN: u64, const MAX: u64> schemars::JsonSchema for Bounded<U, MIN, MAX> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Integer_{MIN}_to_{MAX}").into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "integer",
            "minimum": MIN,
            "maximum": MAX,
        })
    }
}

/// A percentage: a finite number from 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(f64);

impl Percent {
    /// `value`, when it is a number from 0 to 100.
    pub const fn new(value: f64) -> Option<Self> {
        if 0.0 <= value && value <= 100.0 {
            Some(Percent(value))
        } else {
            None
        }
    }

    /// `value` for a constant: a value out of bounds fails the build when
    /// the result initializes a `const`.
    ///
    /// # Panics
    ///
    /// When `value` is not a number from 0 to 100.
    pub const fn constant(value: f64) -> Self {
        match Self::new(value) {
            Some(percent) => percent,
            None => panic!("a percentage out of its bounds"),
        }
    }

    /// The number of percent.
    pub const fn get(self) -> f64 {
        self.0
    }

    /// Why `value` is refused: `must be between 0 and 100, not 200`.
    pub fn out_of_bounds(value: impl fmt::Display) -> String {
        format!("must be between 0 and 100, not {value}")
    }
}

impl TryFrom<f64> for Percent {
    type Error = Error;

    fn try_from(value: f64) -> Result<Self> {
        Self::new(value).ok_or_else(|| Error::input(Self::out_of_bounds(value)))
    }
}

impl From<Percent> for f64 {
    fn from(percent: Percent) -> f64 {
        percent.0
    }
}

impl PartialEq<f64> for Percent {
    fn eq(&self, other: &f64) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(PercentVisitor)
    }
}

struct PercentVisitor;

impl Visitor<'_> for PercentVisitor {
    type Value = Percent;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a percentage between 0 and 100")
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> std::result::Result<Self::Value, E> {
        Percent::new(value).ok_or_else(|| E::custom(Percent::out_of_bounds(number_text(value))))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> std::result::Result<Self::Value, E> {
        // A quoted number is still a number.
        match text.trim().parse::<f64>() {
            Ok(value) => self.visit_f64(value),
            Err(_) => Err(invalid_type(de::Unexpected::Str(text), &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> std::result::Result<Self::Value, E> {
        self.visit_i128(i128::from(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> std::result::Result<Self::Value, E> {
        self.visit_i128(i128::from(value))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> std::result::Result<Self::Value, E> {
        // Whole numbers from 0 to 100 are exact as f64.
        match u8::try_from(value) {
            Ok(small) if small <= 100 => Ok(Percent(f64::from(small))),
            _ => Err(E::custom(Percent::out_of_bounds(value))),
        }
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> std::result::Result<Self::Value, E> {
        match u8::try_from(value) {
            Ok(small) if small <= 100 => Ok(Percent(f64::from(small))),
            _ => Err(E::custom(Percent::out_of_bounds(value))),
        }
    }
}

impl schemars::JsonSchema for Percent {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Percent".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "number",
            "minimum": 0,
            "maximum": 100,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: serde::de::DeserializeOwned>(text: &str) -> std::result::Result<T, String> {
        crate::yaml::parse::<T>(text, std::path::Path::new("t.yaml")).map_err(|e| e.to_string())
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        timeout: Option<Timeout>,
        ttl: Option<PlanTtl>,
        month: Option<Month>,
        weeks: Option<CycleWeeks>,
        status: Option<ExitStatus>,
        rate: Option<Percent>,
    }

    #[test]
    fn values_within_the_bounds_are_read() {
        let doc: Doc = read("timeout: 1\nttl: 43200\nmonth: 12\nweeks: 1\nstatus: 0\nrate: 99.5\n")
            .expect("valid");
        assert_eq!(doc.timeout.map(Timeout::get), Some(1));
        assert_eq!(doc.ttl.map(PlanTtl::get), Some(43_200));
        assert_eq!(doc.month.map(Month::number), Some(12));
        assert_eq!(doc.weeks.map(CycleWeeks::days), Some(7));
        assert_eq!(doc.status.map(ExitStatus::code), Some(0));
        assert_eq!(doc.rate.map(Percent::get), Some(99.5));
        let doc: Doc = read("timeout: 604800\nrate: 100\n").expect("the upper bounds");
        assert_eq!(
            doc.timeout.map(Timeout::duration),
            Some(Duration::from_secs(604_800))
        );
        assert_eq!(doc.rate.map(Percent::get), Some(100.0));
        let doc: Doc = read("timeout: \"600\"\nrate: '12.5'\n").expect("quoted numbers");
        assert_eq!(doc.timeout.map(Timeout::get), Some(600));
        assert_eq!(doc.rate.map(Percent::get), Some(12.5));
    }

    #[test]
    fn values_out_of_bounds_are_refused_at_their_position() {
        let cases = [
            "timeout: 18446744073709551615\n",
            "timeout: 0\n",
            "timeout: 604801\n",
            "timeout: -1\n",
            "timeout: 340282366920938463463374607431768211456\n",
            "timeout: 1.5\n",
            "timeout: soon\n",
            "timeout: [600]\n",
            "ttl: 0\n",
            "month: 13\n",
            "month: 0\n",
            "weeks: 0\n",
            "status: 256\n",
            "rate: 200\n",
            "rate: -0.5\n",
            "rate: .nan\n",
            "rate: 100.01\n",
            "rate: 1e400\n",
            "rate: most\n",
        ];
        let messages: Vec<String> = cases.iter().map(|c| read::<Doc>(c).expect_err(c)).collect();
        insta::assert_snapshot!(messages.join("\n"), @r#"
        t.yaml:1:10: timeout: must be between 1 and 604800 (7 days), not 18446744073709551615
        t.yaml:1:10: timeout: must be between 1 and 604800 (7 days), not 0
        t.yaml:1:10: timeout: must be between 1 and 604800 (7 days), not 604801
        t.yaml:1:10: timeout: must be between 1 and 604800 (7 days), not -1
        t.yaml:1:10: timeout: must be between 1 and 604800 (7 days), not 3.402823669209385e38
        t.yaml:1:10: timeout: invalid type: floating point `1.5`, expected an integer between 1 and 604800 (7 days)
        t.yaml:1:10: timeout: invalid type: string "soon", expected an integer between 1 and 604800 (7 days)
        t.yaml:1:1: timeout: invalid type: sequence, expected an integer between 1 and 604800 (7 days)
        t.yaml:1:6: ttl: must be between 1 and 43200 (30 days), not 0
        t.yaml:1:8: month: must be between 1 and 12, not 13
        t.yaml:1:8: month: must be between 1 and 12, not 0
        t.yaml:1:8: weeks: must be between 1 and 52, not 0
        t.yaml:1:9: status: must be between 0 and 255, not 256
        t.yaml:1:7: rate: must be between 0 and 100, not 200
        t.yaml:1:7: rate: must be between 0 and 100, not -0.5
        t.yaml:1:7: rate: non-finite float `.nan` rejected by the configured policy
        t.yaml:1:7: rate: must be between 0 and 100, not 100.01
        t.yaml:1:7: rate: non-finite float `1e400` rejected by the configured policy
        t.yaml:1:7: rate: invalid type: string "most", expected a percentage between 0 and 100
        "#);
    }

    #[test]
    fn the_largest_value_is_named_in_days_hours_or_minutes() {
        assert_eq!(in_larger_unit(604_800, 1).as_deref(), Some("7 days"));
        assert_eq!(in_larger_unit(43_200, 60).as_deref(), Some("30 days"));
        assert_eq!(in_larger_unit(1_440, 60).as_deref(), Some("1 day"));
        assert_eq!(in_larger_unit(90, 60), None);
        assert_eq!(in_larger_unit(7_200, 1).as_deref(), Some("2 hours"));
        assert_eq!(in_larger_unit(61, 1), None);
        assert_eq!(in_larger_unit(52, 7 * DAY), None);
        assert_eq!(in_larger_unit(u64::MAX, 60), None);
    }

    #[test]
    fn constructors_keep_the_bounds() {
        assert!(Timeout::new(0).is_none());
        assert!(Timeout::new(u64::MAX).is_none());
        assert_eq!(Timeout::new(30), Some(Timeout::constant(30)));
        assert_eq!(
            Timeout::try_from(0).expect_err("zero").to_string(),
            "must be between 1 and 604800 (7 days), not 0"
        );
        assert!(Percent::new(f64::NAN).is_none());
        assert!(Percent::new(f64::INFINITY).is_none());
        assert_eq!(
            Percent::try_from(200.0).expect_err("200").to_string(),
            "must be between 0 and 100, not 200"
        );
        assert_eq!(Port::constant(25).number(), 25);
    }

    #[test]
    fn durations_cannot_overflow() {
        assert_eq!(
            PlanTtl::constant(1_440).signed_duration(),
            jiff::SignedDuration::from_hours(24)
        );
        assert_eq!(
            Bounded::<Minutes, 0, { u64::MAX }>::constant(u64::MAX).signed_duration(),
            jiff::SignedDuration::MAX
        );
        assert_eq!(
            Bounded::<Weeks, 0, { u64::MAX }>::constant(u64::MAX).days(),
            i64::MAX
        );
    }

    #[test]
    fn they_are_written_as_plain_numbers() {
        let json = serde_json::json!({
            "timeout": Timeout::constant(600),
            "rate": Percent::constant(66.5),
        });
        assert_eq!(json.to_string(), r#"{"timeout":600,"rate":66.5}"#);
    }

    #[test]
    fn the_schema_carries_the_bounds() {
        let schema = serde_json::to_value(schemars::schema_for!(Timeout)).expect("schema");
        assert_eq!(schema["type"], "integer");
        assert_eq!(schema["minimum"], 1);
        assert_eq!(schema["maximum"], 604_800);
        let schema = serde_json::to_value(schemars::schema_for!(Percent)).expect("schema");
        assert_eq!(schema["type"], "number");
        assert_eq!(schema["minimum"], 0);
        assert_eq!(schema["maximum"], 100);
    }
}
