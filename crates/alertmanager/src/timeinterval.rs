//! Time intervals (`time_intervals:` / `mute_time_intervals:`): times of day, weekdays, days of
//! the month, months, years and a location, and whether an instant falls inside (mirrors
//! Alertmanager's `timeinterval/timeinterval.go`).

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;

use config::yaml::nullable;

use crate::error::TimeIntervalError;

/// A named list of intervals, as in `time_intervals:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedTimeInterval {
    /// The name routes refer to.
    pub name: String,
    /// The intervals; an instant in any of them is in the named interval.
    #[serde(default, deserialize_with = "nullable")]
    pub time_intervals: Vec<TimeInterval>,
}

impl NamedTimeInterval {
    /// Whether `t` is inside any of the intervals.
    #[must_use]
    pub fn contains(&self, t: Timestamp) -> bool {
        self.time_intervals.iter().any(|i| i.contains(t))
    }
}

/// One interval: every given field must hold; an absent field holds always.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeInterval {
    /// Minutes of the day, `[start, end)`.
    #[serde(default, deserialize_with = "nullable")]
    pub times: Vec<TimeRange>,
    /// Weekdays, 0 = Sunday, inclusive ranges.
    #[serde(default, deserialize_with = "nullable")]
    pub weekdays: Vec<Weekdays>,
    /// Days of the month, negative from the end, inclusive ranges.
    #[serde(default, deserialize_with = "nullable")]
    pub days_of_month: Vec<DaysOfMonth>,
    /// Months 1..=12, inclusive ranges.
    #[serde(default, deserialize_with = "nullable")]
    pub months: Vec<Months>,
    /// Years, inclusive ranges.
    #[serde(default, deserialize_with = "nullable")]
    pub years: Vec<Years>,
    /// The zone the fields are read in (UTC when absent).
    #[serde(default)]
    pub location: Option<Location>,
}

fn in_ranges<T>(list: &[T], v: i32, range: impl Fn(&T) -> (i32, i32)) -> bool {
    list.is_empty()
        || list.iter().any(|r| {
            let (b, e) = range(r);
            v >= b && v <= e
        })
}

impl TimeInterval {
    /// Whether `t` is inside this interval.
    #[must_use]
    pub fn contains(&self, t: Timestamp) -> bool {
        let tz = self
            .location
            .as_ref()
            .map_or(TimeZone::UTC, |l| l.0.clone());
        let z = t.to_zoned_datetime(tz);
        let minute = i32::from(z.hour()) * 60 + i32::from(z.minute());
        if !self.times.is_empty()
            && !self
                .times
                .iter()
                .any(|r| minute >= r.start && minute < r.end)
        {
            return false;
        }
        if !self.days_of_month.is_empty() {
            let days = i32::from(z.days_in_month());
            let day = i32::from(z.day());
            let hit = self.days_of_month.iter().any(|r| {
                let b = if r.0 < 0 { days + r.0 + 1 } else { r.0 };
                let e = if r.1 < 0 { days + r.1 + 1 } else { r.1 };
                if b > days {
                    return false;
                }
                let (b, e) = (b.clamp(-days, days), e.clamp(-days, days));
                day >= b && day <= e
            });
            if !hit {
                return false;
            }
        }
        in_ranges(&self.months, i32::from(z.month()), |r| (r.0, r.1))
            && in_ranges(
                &self.weekdays,
                i32::from(z.weekday().to_sunday_zero_offset()),
                |r| (r.0, r.1),
            )
            && in_ranges(&self.years, i32::from(z.year()), |r| (r.0, r.1))
    }
}

/// `start_time`/`end_time` as minutes of the day.
#[derive(Debug, Clone, Copy)]
pub struct TimeRange {
    /// First minute inside.
    pub start: i32,
    /// First minute after.
    pub end: i32,
}

fn parse_hhmm(s: &str) -> Result<i32, TimeIntervalError> {
    let bad = || TimeIntervalError::Time(s.to_owned());
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: i32 = h.parse().map_err(|_| bad())?;
    let m: i32 = m.parse().map_err(|_| bad())?;
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl<'de> Deserialize<'de> for TimeRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            start_time: String,
            end_time: String,
        }
        let r = Raw::deserialize(d)?;
        let start = parse_hhmm(&r.start_time).map_err(serde::de::Error::custom)?;
        let end = parse_hhmm(&r.end_time).map_err(serde::de::Error::custom)?;
        if start >= end {
            return Err(serde::de::Error::custom(TimeIntervalError::EmptyTimeRange));
        }
        Ok(Self { start, end })
    }
}

/// Splits `a:b` (or `a`) and parses both ends with `one`.
fn range(
    s: &str,
    one: impl Fn(&str) -> Result<i32, TimeIntervalError>,
) -> Result<(i32, i32), TimeIntervalError> {
    match s.split_once(':') {
        Some((a, b)) => Ok((one(a.trim())?, one(b.trim())?)),
        None => {
            let v = one(s.trim())?;
            Ok((v, v))
        }
    }
}

/// Weekday names, Sunday first.
pub(crate) const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
/// Month names, January first.
pub(crate) const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn name_index(list: &[&str], s: &str, what: &'static str) -> Result<i32, TimeIntervalError> {
    list.iter()
        .position(|n| n.eq_ignore_ascii_case(s))
        .and_then(|i| i32::try_from(i).ok())
        .ok_or_else(|| TimeIntervalError::Name {
            value: s.to_owned(),
            what,
        })
}

macro_rules! range_type {
    ($(#[$m:meta])* $name:ident, $parse:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name(pub i32, pub i32);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                let parse: fn(&str) -> Result<(i32, i32), TimeIntervalError> = $parse;
                let (a, b) = parse(&s).map_err(serde::de::Error::custom)?;
                Ok(Self(a, b))
            }
        }
    };
}

range_type!(
    /// An inclusive range of weekdays (0 = Sunday).
    Weekdays,
    |s| {
        let (a, b) = range(s, |x| name_index(&WEEKDAYS, x, "day"))?;
        if b < a {
            return Err(TimeIntervalError::WeekdaysReversed);
        }
        Ok((a, b))
    }
);

range_type!(
    /// An inclusive range of months (1 = January), by name or number.
    Months,
    |s| {
        let one = |x: &str| -> Result<i32, TimeIntervalError> {
            if let Ok(n) = x.parse::<i32>() {
                if (1..=12).contains(&n) {
                    return Ok(n);
                }
                return Err(TimeIntervalError::Month(x.to_owned()));
            }
            name_index(&MONTHS, x, "month").map(|i| i + 1)
        };
        let (a, b) = range(s, one)?;
        if b < a {
            return Err(TimeIntervalError::MonthsReversed);
        }
        Ok((a, b))
    }
);

range_type!(
    /// An inclusive range of days of the month; negative counts from the end.
    DaysOfMonth,
    |s| {
        let one = |x: &str| -> Result<i32, TimeIntervalError> {
            match x.parse::<i32>() {
                Ok(n) if n != 0 && (-31..=31).contains(&n) => Ok(n),
                _ => Err(TimeIntervalError::DayOfMonth(x.to_owned())),
            }
        };
        let (a, b) = range(s, one)?;
        if (a > 0 && b > 0 && b < a) || (a < 0 && b < 0 && b < a) {
            return Err(TimeIntervalError::DaysReversed);
        }
        if a < 0 && b > 0 {
            return Err(TimeIntervalError::DaysSignMismatch);
        }
        Ok((a, b))
    }
);

range_type!(
    /// An inclusive range of years.
    Years,
    |s| {
        let one = |x: &str| -> Result<i32, TimeIntervalError> {
            x.parse::<i32>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| TimeIntervalError::Year(x.to_owned()))
        };
        let (a, b) = range(s, one)?;
        if b < a {
            return Err(TimeIntervalError::YearsReversed);
        }
        Ok((a, b))
    }
);

/// A `location:` (an IANA zone name, `Local` or `UTC`).
#[derive(Debug, Clone)]
pub struct Location(pub TimeZone);

impl<'de> Deserialize<'de> for Location {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let tz = match s.as_str() {
            "" | "UTC" => Ok(TimeZone::UTC),
            "Local" => Ok(TimeZone::system()),
            name => TimeZone::get(name),
        };
        tz.map(Self)
            .map_err(|_| serde::de::Error::custom(TimeIntervalError::Location(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(yaml: &str) -> TimeInterval {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn range_errors_are_typed_with_alertmanager_texts() {
        let err = |yaml: &str| {
            serde_saphyr::from_str::<TimeInterval>(yaml)
                .unwrap_err()
                .to_string()
        };
        let cases: &[(&str, TimeIntervalError)] = &[
            (
                "times: [{start_time: '25:00', end_time: '26:00'}]",
                TimeIntervalError::Time("25:00".into()),
            ),
            (
                "times: [{start_time: '10:00', end_time: '09:00'}]",
                TimeIntervalError::EmptyTimeRange,
            ),
            (
                "weekdays: ['friday:monday']",
                TimeIntervalError::WeekdaysReversed,
            ),
            (
                "weekdays: ['caturday']",
                TimeIntervalError::Name {
                    value: "caturday".into(),
                    what: "day",
                },
            ),
            ("months: ['13']", TimeIntervalError::Month("13".into())),
            (
                "days_of_month: ['-3:2']",
                TimeIntervalError::DaysSignMismatch,
            ),
            ("years: ['2027:2026']", TimeIntervalError::YearsReversed),
            (
                "location: 'Mars/Olympus'",
                TimeIntervalError::Location("Mars/Olympus".into()),
            ),
        ];
        for (yaml, want) in cases {
            let got = err(yaml);
            assert!(got.contains(&want.to_string()), "{yaml}: {got}");
        }
        assert_eq!(
            parse_hhmm("24:01"),
            Err(TimeIntervalError::Time("24:01".into()))
        );
    }

    #[test]
    fn contains_checks_every_field() {
        let ti = interval(
            "times: [{start_time: '09:00', end_time: '17:00'}]\nweekdays: ['monday:friday']\n\
             days_of_month: ['1:7', '-1']\nmonths: ['january:march', '12']\nyears: ['2026:2027']\n",
        );
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        // Monday 2026-12-07 10:00 UTC: day 7, December, 2026.
        assert!(ti.contains(at("2026-12-07T10:00:00Z")));
        assert!(!ti.contains(at("2026-12-07T17:00:00Z")), "end is exclusive");
        assert!(!ti.contains(at("2026-12-08T10:00:00Z")), "day 8");
        assert!(ti.contains(at("2026-12-31T10:00:00Z")), "last day via -1");
        assert!(!ti.contains(at("2026-12-06T10:00:00Z")), "Sunday");
        assert!(!ti.contains(at("2026-04-01T10:00:00Z")), "April");
        let zoned = interval(
            "times: [{start_time: '09:00', end_time: '10:00'}]\nlocation: Europe/Berlin\n",
        );
        assert!(zoned.contains(at("2026-12-07T08:30:00Z")));
        assert!(!zoned.contains(at("2026-12-07T09:30:00Z")));
    }

    #[test]
    fn refuses_bad_fields() {
        for bad in [
            "times: [{start_time: '10:00', end_time: '09:00'}]",
            "times: [{start_time: '25:00', end_time: '26:00'}]",
            "weekdays: ['funday']",
            "days_of_month: ['0']",
            "months: ['13']",
            "location: Nowhere/Special",
        ] {
            assert!(
                serde_saphyr::from_str::<TimeInterval>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
