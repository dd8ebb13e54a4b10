//! Start-timestamp lines of a `load` command (`metric{labels}@st <offsets>`), as Prometheus's
//! `promql/promqltest/test.go` reads them: each offset is a duration relative to the time of
//! the sample at the same position of the following series line (`_` = no start timestamp).

use super::series_desc::parse_duration;

/// Whether `line` is a start-timestamp line: its first word ends with `@st`.
pub(crate) fn is_st_line(line: &str) -> bool {
    line.split_whitespace()
        .next()
        .is_some_and(|w| w.ends_with("@st"))
}

/// Splits a start-timestamp line into its series part (without `@st`) and its offsets.
///
/// # Errors
/// A message naming the item that is not an offset sequence.
pub(crate) fn parse_st_line(line: &str) -> Result<(&str, Vec<Option<i64>>), String> {
    let line = line.trim();
    let (series, rest) = line
        .split_once(char::is_whitespace)
        .ok_or("invalid @st line: missing value sequence")?;
    let series = series.strip_suffix("@st").unwrap_or(series);
    let mut out = Vec::new();
    for item in rest.split_whitespace() {
        out.extend(parse_item(item).map_err(|e| format!("invalid ST item {item:?}: {e}"))?);
    }
    Ok((series, out))
}

/// One item: `_`, `_xN`, `<dur>`, `<dur>xN`, `<dur>+<dur>xN` or `<dur>-<dur>xN` (the
/// repeated forms give N+1 offsets, except `_xN` which gives N).
fn parse_item(item: &str) -> Result<Vec<Option<i64>>, String> {
    if item == "_" {
        return Ok(vec![None]);
    }
    if let Some(n) = item.strip_prefix("_x") {
        let n: usize = n.parse().map_err(|_| "invalid repeat count")?;
        if n == 0 {
            return Err("invalid repeat count".to_owned());
        }
        return Ok(vec![None; n]);
    }
    let (base, rest) = duration_prefix(item)?;
    if rest.is_empty() {
        return Ok(vec![Some(base)]);
    }
    let count = |s: &str| {
        s.parse::<usize>()
            .map_err(|_| "invalid repeat count".to_owned())
    };
    if let Some(n) = rest.strip_prefix('x') {
        return Ok(vec![Some(base); count(n)? + 1]);
    }
    let negative = match rest.as_bytes()[0] {
        b'+' => false,
        b'-' => true,
        c => {
            return Err(format!(
                "unexpected character {:?} after duration",
                c as char
            ));
        }
    };
    let (delta, rest) = duration_prefix(&rest[1..])?;
    let delta = if negative { -delta } else { delta };
    let n = rest
        .strip_prefix('x')
        .ok_or("expected 'x<count>' after step duration")?;
    Ok((0..=count(n)?)
        .map(|i| Some(base + delta * i as i64))
        .collect())
}

/// A signed duration at the start of `s` (digits and a unit, which never contains `x`) in
/// milliseconds, and what follows it.
fn duration_prefix(s: &str) -> Result<(i64, &str), String> {
    let (sign, body) = match s.as_bytes().first() {
        Some(b'-') => (-1, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        Some(_) => (1, s),
        None => return Err("empty duration".to_owned()),
    };
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(format!("expected digits in duration {s:?}"));
    }
    let unit = body[digits..]
        .bytes()
        .take_while(|c| c.is_ascii_alphabetic() && *c != b'x')
        .count();
    let text = &body[..digits + unit];
    let ms = parse_duration(text).map_err(|e| format!("invalid duration {text:?}: {e}"))?;
    Ok((sign * ms, &body[digits + unit..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_expand_as_prometheus_does() {
        let cases: &[(&str, &[Option<i64>])] = &[
            (
                "_ _ -1mx2",
                &[None, None, Some(-60_000), Some(-60_000), Some(-60_000)],
            ),
            ("-30s-1mx2", &[Some(-30_000), Some(-90_000), Some(-150_000)]),
            ("0-1mx1 1ms", &[Some(0), Some(-60_000), Some(1)]),
            (
                "-0msx1 +1m _x2",
                &[Some(0), Some(0), Some(60_000), None, None],
            ),
            (
                "-59999ms 10s+1sx1",
                &[Some(-59_999), Some(10_000), Some(11_000)],
            ),
        ];
        for (text, want) in cases {
            let line = format!("m{{a=\"b\"}}@st {text}");
            assert!(is_st_line(&line));
            let (series, got) = parse_st_line(&line).unwrap();
            assert_eq!(series, "m{a=\"b\"}");
            assert_eq!(&got, want, "{text}");
        }
        assert!(!is_st_line("m{a=\"b\"} 1 2"));
        for bad in [
            "m@st",
            "m@st 1mx",
            "m@st _x0",
            "m@st 1m*2",
            "m@st x",
            "m@st 1m+1m",
        ] {
            assert!(parse_st_line(bad).is_err(), "{bad}");
        }
    }
}
