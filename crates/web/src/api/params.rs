//! Parsing of the API's time and duration parameters, with Prometheus's rules and error texts.

use model::Timestamp;

/// The earliest time a request may name, used when `start` is omitted: far in the past, but
/// (unlike Prometheus's exact extreme) small enough that range arithmetic cannot overflow.
pub const MIN_TIME: Timestamp = i64::MIN / 1000 + 62_135_596_801 * 1000;
/// The latest time a request may name, used when `end` is omitted (see [`MIN_TIME`]).
pub const MAX_TIME: Timestamp = i64::MAX / 1000 - 62_135_596_801 * 1000;

/// Parses a timestamp given as Unix seconds (with optional fraction) or RFC 3339, into
/// milliseconds. The error text is the part after `invalid parameter "NAME": `.
///
/// # Errors
/// `cannot parse "X" to a valid timestamp`.
pub fn parse_time(s: &str) -> Result<Timestamp, String> {
    if let Ok(secs) = s.parse::<f64>()
        && secs.is_finite()
    {
        let ms = (secs * 1000.0).round();
        if ms >= MIN_TIME as f64 && ms <= MAX_TIME as f64 {
            return Ok(ms as Timestamp);
        }
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    Err(format!("cannot parse {s:?} to a valid timestamp"))
}

/// Parses a duration given as float seconds or a Prometheus duration (`5m`, `1h30m`), into
/// milliseconds.
///
/// # Errors
/// `cannot parse "X" to a valid duration`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let err = || format!("cannot parse {s:?} to a valid duration");
    if let Ok(secs) = s.parse::<f64>() {
        let ms = secs * 1000.0;
        if !ms.is_finite() || ms.abs() >= i64::MAX as f64 {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        return Ok(ms.round() as i64);
    }
    promql::parser::parse_duration(s).map_err(|_| err())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1435781451.781"), Ok(1_435_781_451_781));
        assert_eq!(parse_time("0"), Ok(0));
        assert_eq!(parse_time("-1.5"), Ok(-1500));
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(
            parse_time("2015-07-01T22:10:51+02:00"),
            Ok(1_435_781_451_000)
        );
        assert_eq!(
            parse_time("abc"),
            Err("cannot parse \"abc\" to a valid timestamp".to_owned())
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15"), Ok(15_000));
        assert_eq!(parse_duration("0.5"), Ok(500));
        assert_eq!(parse_duration("1m30s"), Ok(90_000));
        assert!(parse_duration("x").is_err());
    }
}
