//! Literal values: numbers (Go `ParseInt` base 0, then `ParseFloat`), Prometheus
//! durations (`1h30m`, `100ms`, `1y`) and quoted strings with Go escapes.

use crate::error::DurationError;

/// Milliseconds per duration unit, largest first (the order units must appear in).
const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a Prometheus duration (`5m`, `1h30m`, `1d`, `1w`, `1y`, `100ms`, `0`) into
/// milliseconds. Units must be in decreasing order and appear at most once.
///
/// # Errors
/// [`DurationError`] with Prometheus's texts: `empty duration string`, `not a valid
/// duration string: "..."`, `unknown unit "..." in duration "..."`, `duration out of range`.
pub fn parse_duration(s: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid(s.to_owned());
    match s {
        "0" => return Ok(0),
        "" => return Err(DurationError::Empty),
        _ => {}
    }
    let mut rest = s;
    let mut total: i128 = 0;
    let mut last_unit = usize::MAX;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let value: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        if unit_len == 0 {
            return Err(invalid());
        }
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let Some(idx) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(DurationError::UnknownUnit {
                unit: unit.to_owned(),
                input: s.to_owned(),
            });
        };
        if last_unit != usize::MAX && idx <= last_unit {
            return Err(invalid());
        }
        last_unit = idx;
        // Prometheus keeps durations in int64 nanoseconds.
        total += i128::from(value) * i128::from(UNITS[idx].1);
        if total * 1_000_000 > i128::from(i64::MAX) {
            return Err(DurationError::OutOfRange);
        }
    }
    Ok(total as i64)
}

/// Formats milliseconds as Prometheus does (`1h30m`, `90d`, `1y`, `0s`); years and weeks
/// are used only when they divide the duration exactly. Negative values get a `-`.
#[must_use]
pub fn format_duration(ms: i64) -> String {
    let abs = model::gofmt::model_duration(ms.unsigned_abs());
    if ms < 0 { format!("-{abs}") } else { abs }
}

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Parses a number token as Prometheus does: an integer in Go base-0 syntax (`0x1f`,
/// octal `017`) if possible, else a float (`1.5e3`, `Inf`, `NaN`).
///
/// # Errors
/// The text after `error parsing number: ` in Prometheus's message.
pub fn parse_number(text: &str) -> Result<f64, String> {
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "+inf" | "infinity" => return Ok(f64::INFINITY),
        "nan" => return Ok(f64::NAN),
        _ => {}
    }
    let syntax = || {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            crate::printer::go_quote_str(text)
        )
    };
    if text.contains('_') && !underscore_ok(text) {
        return Err(syntax());
    }
    let clean = text.replace('_', "");
    let int = if let Some(hex) = clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0X"))
    {
        if hex.is_empty() {
            return Err(syntax());
        }
        i64::from_str_radix(hex, 16).ok()
    } else if clean.len() > 1 && clean.starts_with('0') && clean.bytes().all(|b| b.is_ascii_digit())
    {
        i64::from_str_radix(&clean[1..], 8).ok()
    } else {
        clean.parse::<i64>().ok()
    };
    if let Some(i) = int {
        return Ok(i as f64);
    }
    if clean.starts_with("0x") || clean.starts_with("0X") {
        return Err(syntax());
    }
    match clean.parse::<f64>() {
        Ok(f) if f.is_infinite() => Err(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            crate::printer::go_quote_str(text)
        )),
        Ok(f) => Ok(f),
        Err(_) => Err(syntax()),
    }
}

/// Removes the quotes of a string token and resolves its escapes (`\n`, `\x41`, `\101`,
/// `\u00e9`, `\U0001F600`...). Raw (backtick) strings are taken verbatim, minus `\r`.
/// The lexer has already rejected malformed escapes.
#[must_use]
pub fn unquote(token: &str) -> String {
    let Some(quote) = token.chars().next() else {
        return String::new();
    };
    let inner = token.get(1..token.len().saturating_sub(1)).unwrap_or("");
    if quote == '`' {
        return inner.replace('\r', "");
    }
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some(e) = chars.next() else { break };
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '\'' => Some(b'\''),
            '"' => Some(b'"'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let (n, radix, byte) = match e {
            '0'..='7' => (2, 8, true),
            'x' => (2, 16, true),
            'u' => (4, 16, false),
            'U' => (8, 16, false),
            _ => continue,
        };
        let mut v: u32 = if radix == 8 {
            e.to_digit(8).unwrap_or(0)
        } else {
            0
        };
        for _ in 0..n {
            if let Some(d) = chars.next().and_then(|d| d.to_digit(radix)) {
                v = v * radix + d;
            }
        }
        if byte {
            out.push(u8::try_from(v).unwrap_or(u8::MAX));
        } else if let Some(ch) = char::from_u32(v) {
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        }
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_format() {
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("100ms"), Ok(100));
        assert_eq!(parse_duration("1y"), Ok(365 * 86_400_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(
            parse_duration("5m1h").unwrap_err().to_string(),
            "not a valid duration string: \"5m1h\""
        );
        assert_eq!(
            parse_duration("5y1hs").unwrap_err().to_string(),
            "unknown unit \"hs\" in duration \"5y1hs\""
        );
        assert_eq!(
            parse_duration("").unwrap_err().to_string(),
            "empty duration string"
        );
        assert_eq!(
            parse_duration("300y").unwrap_err().to_string(),
            "duration out of range"
        );
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(90 * 86_400_000), "90d");
        assert_eq!(format_duration(14 * 86_400_000), "2w");
        assert_eq!(format_duration(1_500), "1s500ms");
        assert_eq!(format_duration(-60_000), "-1m");
        assert_eq!(format_duration(0), "0s");
    }

    #[test]
    fn numbers_follow_go_rules() {
        assert_eq!(parse_number("0x1f"), Ok(31.0));
        assert_eq!(parse_number("017"), Ok(15.0));
        assert_eq!(parse_number("018"), Ok(18.0));
        assert_eq!(parse_number("1_000"), Ok(1000.0));
        assert_eq!(parse_number("1.5e3"), Ok(1500.0));
        assert!(parse_number("NaN").unwrap().is_nan());
        assert_eq!(parse_number("Inf"), Ok(f64::INFINITY));
        assert!(
            parse_number("1e999")
                .unwrap_err()
                .ends_with("value out of range")
        );
    }

    #[test]
    fn strings_unescape() {
        assert_eq!(unquote(r#""a\"b\n\x41\101\u00e9""#), "a\"b\nAAé");
        assert_eq!(unquote(r"'it\'s'"), "it's");
        assert_eq!(unquote("`raw\\n`"), "raw\\n");
    }
}
