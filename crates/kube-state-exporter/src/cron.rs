//! CronJob schedules as kube-state-metrics reads them (`internal/store/cronjob.go`
//! `parseSchedule`, through netresearch/go-cron's `ParseStandard`, a robfig/cron fork): five fields (minute, hour, day of
//! month, month, day of week) with lists, ranges, steps and names, the `@yearly` ...
//! `@hourly` descriptors and `@every <duration>`, in the CronJob's time zone (`CRON_TZ=`);
//! and the next activation after a time, for `kube_cronjob_next_schedule_time` and
//! `kube_cronjob_schedule_invalid`.

use jiff::tz::TimeZone;
use jiff::{Timestamp, civil};

/// A parsed schedule.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Field sets as bit masks, with whether day of month / week were `*` or `?`.
    Fields {
        /// Minutes 0..59.
        minute: u64,
        /// Hours 0..23.
        hour: u64,
        /// Days of month 1..31.
        dom: u64,
        /// Months 1..12.
        month: u64,
        /// Days of week 0..6 (Sunday 0).
        dow: u64,
        /// Day of month was a star (then both day fields must match).
        dom_star: bool,
        /// Day of week was a star.
        dow_star: bool,
        /// The zone the fields are read in.
        tz: TimeZone,
    },
    /// `@every d`: `d` seconds after the last time.
    Every(i64),
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Parses `schedule` in `time_zone` (none: this machine's zone, as Go's `time.Local`).
///
/// # Errors
/// A message naming what is wrong, as robfig/cron refuses it.
pub fn parse(schedule: &str, time_zone: Option<&str>) -> Result<Schedule, String> {
    let mut spec = schedule.trim();
    let mut tz_name = time_zone.map(str::to_owned);
    if let Some(rest) = spec
        .strip_prefix("CRON_TZ=")
        .or_else(|| spec.strip_prefix("TZ="))
    {
        let (name, rest) = rest
            .split_once(' ')
            .ok_or_else(|| format!("provided bad location {rest}"))?;
        tz_name = Some(name.to_owned());
        spec = rest.trim();
    }
    let tz = match &tz_name {
        Some(name) => {
            TimeZone::get(name).map_err(|e| format!("provided bad location {name}: {e}"))?
        }
        None => TimeZone::system(),
    };
    if let Some(d) = spec.strip_prefix("@every ") {
        let secs = go_duration(d.trim())?;
        return Ok(Schedule::Every(secs.max(1)));
    }
    let spec = match spec {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        s if s.starts_with('@') => return Err(format!("unrecognized descriptor: {s}")),
        s => s,
    };
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: {spec}",
            fields.len()
        ));
    }
    let (dom, dom_star) = field(fields[2], 1, 31, &[])?;
    let (dow, dow_star) = field(fields[4], 0, 6, &DAYS)?;
    Ok(Schedule::Fields {
        minute: field(fields[0], 0, 59, &[])?.0,
        hour: field(fields[1], 0, 23, &[])?.0,
        dom,
        month: field(fields[3], 1, 12, &MONTHS)?.0,
        dow,
        dom_star,
        dow_star,
        tz,
    })
}

/// A field's bits and whether it was `*` / `?`; `names` map to `min + index` (months from 1,
/// days from 0).
fn field(text: &str, min: u32, max: u32, names: &[&str]) -> Result<(u64, bool), String> {
    let mut bits = 0u64;
    let mut star = false;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                Some(s.parse::<u32>().map_err(|_| format!("bad step: {part}"))?),
            ),
            None => (part, None),
        };
        let value = |s: &str| -> Result<u32, String> {
            if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
                return Ok(min + u32::try_from(i).unwrap_or(0));
            }
            s.parse()
                .map_err(|_| format!("failed to parse int from {s}"))
        };
        let (lo, hi) = if range == "*" || range == "?" {
            if step.is_none() {
                star = true;
            }
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            (v, if step.is_some() { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!("{part}: out of range {min}-{max}"));
        }
        let step = step.unwrap_or(1);
        if step == 0 {
            return Err(format!("{part}: step of range should be a positive number"));
        }
        // kube-state-metrics parses with netresearch/go-cron (`validateRangeParams`), which
        // rejects a step as large as its range (`*/120` minutes, `*/32` days).
        if step > 1 && step > hi - lo {
            return Err(format!(
                "{part}: step ({step}) must be less than range size ({})",
                hi - lo + 1
            ));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, star))
}

/// A Go duration (`1h30m`, `90s`, `1.5h`) in whole seconds.
fn go_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("failed to parse duration @every {text}");
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..end].parse().map_err(|_| bad())?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_end..];
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(total.round() as i64)
}

impl Schedule {
    /// The first activation strictly after `after` (none within five years).
    #[must_use]
    pub fn next(&self, after: Timestamp) -> Option<Timestamp> {
        let (minute, hour, dom, month, dow, dom_star, dow_star, tz) = match self {
            Schedule::Every(secs) => {
                return after
                    .checked_add(jiff::SignedDuration::from_secs(*secs))
                    .ok();
            }
            Schedule::Fields {
                minute,
                hour,
                dom,
                month,
                dow,
                dom_star,
                dow_star,
                tz,
            } => (minute, hour, dom, month, dow, dom_star, dow_star, tz),
        };
        let has = |bits: u64, v: i8| bits & (1 << v) != 0;
        let start = after.to_zoned_datetime(tz.clone()).date();
        let mut day: civil::Date = start;
        for _ in 0..(5 * 366) {
            let dom_ok = has(*dom, day.day());
            let dow_ok = has(*dow, day.weekday().to_sunday_zero_offset());
            let day_ok = if *dom_star || *dow_star {
                dom_ok && dow_ok
            } else {
                dom_ok || dow_ok
            };
            if has(*month, day.month()) && day_ok {
                for h in 0..24i8 {
                    if !has(*hour, h) {
                        continue;
                    }
                    for m in 0..60i8 {
                        if !has(*minute, m) {
                            continue;
                        }
                        let Ok(z) = day.at(h, m, 0, 0).to_zoned_datetime(tz.clone()) else {
                            continue;
                        };
                        if z.timestamp() > after {
                            return Some(z.timestamp());
                        }
                    }
                }
            }
            day = day.tomorrow().ok()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(spec: &str, tz: Option<&str>, after: &str) -> String {
        let s = parse(spec, tz).unwrap();
        let t: Timestamp = after.parse().unwrap();
        s.next(t).unwrap().to_string()
    }

    #[test]
    fn next_activations() {
        let utc = Some("UTC");
        for (spec, tz, after, want) in [
            (
                "0 3 * * *",
                utc,
                "2025-01-02T03:05:00Z",
                "2025-01-03T03:00:00Z",
            ),
            (
                "0 3 * * *",
                utc,
                "2025-01-02T02:59:59Z",
                "2025-01-02T03:00:00Z",
            ),
            (
                "*/15 * * * *",
                utc,
                "2025-01-02T03:00:00Z",
                "2025-01-02T03:15:00Z",
            ),
            (
                "0 0 29 2 *",
                utc,
                "2025-03-01T00:00:00Z",
                "2028-02-29T00:00:00Z",
            ),
            (
                "30 9 * * MON-FRI",
                utc,
                "2025-01-03T10:00:00Z",
                "2025-01-06T09:30:00Z",
            ),
            // Day of month OR day of week when neither is a star.
            (
                "0 0 13 * FRI",
                utc,
                "2025-01-01T00:00:00Z",
                "2025-01-03T00:00:00Z",
            ),
            (
                "@hourly",
                utc,
                "2025-01-02T03:04:05Z",
                "2025-01-02T04:00:00Z",
            ),
            (
                "@every 1h30m",
                utc,
                "2025-01-02T03:04:05Z",
                "2025-01-02T04:34:05Z",
            ),
            (
                "0 3 * * *",
                Some("Europe/Paris"),
                "2025-01-02T03:05:00Z",
                "2025-01-03T02:00:00Z",
            ),
            (
                "CRON_TZ=Asia/Tokyo 0 9 * * *",
                None,
                "2025-01-02T00:00:00Z",
                "2025-01-03T00:00:00Z",
            ),
        ] {
            assert_eq!(next(spec, tz, after), want, "{spec} after {after}");
        }
    }

    #[test]
    fn invalid() {
        for (spec, tz) in [
            ("0 3 * *", None),
            ("61 * * * *", None),
            ("0 3 * * 8", None),
            ("*/0 * * * *", None),
            ("*/120 4-22 * * *", None),
            ("0 1 */32,1-7 * 3", None),
            ("@sometimes", None),
            ("@every xyz", None),
            ("0 3 * * *", Some("Mars/Olympus")),
            ("a b c d e", None),
        ] {
            assert!(parse(spec, tz).is_err(), "{spec} {tz:?}");
        }
    }
}
