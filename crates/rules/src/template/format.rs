//! Go's number and time formatting as templates print them (`%.4g`, `%v` of a float64,
//! `time.Time.String()`).

/// Go's `fmt.Sprintf("%.4g", v)` (`1.235e+06`, `+Inf`, `NaN`).
#[must_use]
pub fn go_g4(v: f64) -> String {
    model::gofmt::format_float(v, 'g', 4)
}

/// Go's `%v` of a float64 (`123456`, `1.234567e+06`, `1e-05`).
pub use model::gofmt::float as go_float;

/// Go's `time.Time.String()` of a Unix time in seconds, truncated to milliseconds as
/// Prometheus's `model.Time` does (`2015-06-23 13:19:44.128 +0000 UTC`).
///
/// # Errors
/// A time outside the range of int64 nanoseconds, with Prometheus's message.
pub fn humanize_timestamp(v: f64) -> Result<String, String> {
    let ns = v * 1e9;
    #[allow(clippy::cast_precision_loss)]
    if !(i64::MIN as f64..=i64::MAX as f64).contains(&ns) || ns >= i64::MAX as f64 {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            go_float(v)
        ));
    }
    #[allow(clippy::cast_possible_truncation)]
    let ms = (ns as i64) / 1_000_000;
    let ts = jiff::Timestamp::from_millisecond(ms).map_err(|e| e.to_string())?;
    let dt = jiff::tz::TimeZone::UTC.to_datetime(ts);
    let mut out = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    let frac = ms.rem_euclid(1000);
    if frac != 0 {
        let f = format!("{frac:03}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formats() {
        assert_eq!(go_g4(1.234567), "1.235");
        assert_eq!(
            humanize_timestamp(1_435_065_584.128).unwrap(),
            "2015-06-23 13:19:44.128 +0000 UTC"
        );
        assert_eq!(
            humanize_timestamp(-1.0).unwrap(),
            "1969-12-31 23:59:59 +0000 UTC"
        );
    }
}
