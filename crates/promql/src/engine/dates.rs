//! Calendar functions (`year`, `month`, `day_of_week`...) on Unix seconds, in UTC.

use crate::functions::DateFn;

/// Civil date (year, month 1-12, day 1-31) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The function of a calendar function, mapping Unix seconds to its value.
#[must_use]
pub fn date_fn(f: DateFn) -> fn(i64) -> f64 {
    match f {
        DateFn::Year => |s| civil_from_days(s.div_euclid(86_400)).0 as f64,
        DateFn::Month => |s| civil_from_days(s.div_euclid(86_400)).1 as f64,
        DateFn::DayOfMonth => |s| civil_from_days(s.div_euclid(86_400)).2 as f64,
        DateFn::DaysInMonth => |s| {
            let (y, m, _) = civil_from_days(s.div_euclid(86_400));
            days_in_month(y, m) as f64
        },
        DateFn::DayOfWeek => |s| (s.div_euclid(86_400) + 4).rem_euclid(7) as f64,
        DateFn::DayOfYear => |s| {
            let (y, m, d) = civil_from_days(s.div_euclid(86_400));
            ((1..m).map(|mm| days_in_month(y, mm)).sum::<i64>() + d) as f64
        },
        DateFn::Hour => |s| s.rem_euclid(86_400).div_euclid(3600) as f64,
        DateFn::Minute => |s| s.rem_euclid(3600).div_euclid(60) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        // 2016-02-29T12:34:56Z
        let t = 1_456_749_296;
        assert_eq!(date_fn(DateFn::Year)(t), 2016.0);
        assert_eq!(date_fn(DateFn::Month)(t), 2.0);
        assert_eq!(date_fn(DateFn::DayOfMonth)(t), 29.0);
        assert_eq!(date_fn(DateFn::DaysInMonth)(t), 29.0);
        assert_eq!(date_fn(DateFn::DayOfWeek)(t), 1.0);
        assert_eq!(date_fn(DateFn::DayOfYear)(t), 60.0);
        assert_eq!(date_fn(DateFn::Hour)(t), 12.0);
        assert_eq!(date_fn(DateFn::Minute)(t), 34.0);
        assert_eq!(date_fn(DateFn::Year)(-1), 1969.0);
    }
}
