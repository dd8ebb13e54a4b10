//! Go's formatting of strings, numbers, durations and sizes, as Prometheus's texts show them:
//! `strconv.Quote` (`%q`), `strconv.FormatFloat` (`%g`, `%e`, `%f`, `%v` of a float64),
//! `url.QueryEscape`, `model.Duration.String`, `time.Duration.String` and
//! `units.Base2Bytes.String`. The one home of these helpers: every crate formats through here.

use std::fmt::Write as _;

mod float;

pub use float::{
    Shortest, Sink, append_float, append_millis_as_seconds, append_shortest_e, append_shortest_f,
    float, format_float,
};

/// A string as Go's `strconv.Quote` (and `%q`) writes it: double quotes; `\a \b \f \n \r \t
/// \v \\ \"` escapes; other non-printable characters as `\xNN` (below 0x80), `\uNNNN` or
/// `\UNNNNNNNN`.
#[must_use]
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    push_quoted(&mut out, s);
    out.push('"');
    out
}

/// Bytes as Go's `%q` of a `[]byte` writes them: valid UTF-8 as [`quote`] does, each byte of
/// an invalid sequence as `\xNN`.
#[must_use]
pub fn quote_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    out.push('"');
    for chunk in b.utf8_chunks() {
        push_quoted(&mut out, chunk.valid());
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out.push('"');
    out
}

fn push_quoted(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_print(c) => out.push(c),
            c if u32::from(c) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if u32::from(c) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
}

/// Go's `strconv.IsPrint` for the characters Prometheus's texts meet: not a control, not a
/// space other than U+0020, not a format character (soft hyphen, zero-width and direction
/// marks, BOM...), not a private-use character.
fn is_print(c: char) -> bool {
    let v = u32::from(c);
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(
            v,
            0xAD | 0x600..=0x605
                | 0x61C
                | 0x6DD
                | 0x70F
                | 0x180E
                | 0x200B..=0x200F
                | 0x2028..=0x202E
                | 0x2060..=0x206F
                | 0xD800..=0xF8FF
                | 0xFEFF
                | 0xFFF9..=0xFFFB
                | 0xE0001
                | 0xE0020..=0xE007F
                | 0xF0000..
        ))
}

/// Go's `url.QueryEscape`: letters, digits and `-_.~` as they are, space as `+`, every other
/// byte as `%XX`.
#[must_use]
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Prometheus's `model.Duration.String` of `ms` milliseconds: the largest units first,
/// years and weeks only when they divide the whole (`90d`, `2w`, `1y`, `1h30m`, `1s500ms`,
/// `0s`).
#[must_use]
pub fn model_duration(ms: u64) -> String {
    const UNITS: [(&str, u64, bool); 7] = [
        ("y", 365 * 86_400_000, true),
        ("w", 7 * 86_400_000, true),
        ("d", 86_400_000, false),
        ("h", 3_600_000, false),
        ("m", 60_000, false),
        ("s", 1000, false),
        ("ms", 1, false),
    ];
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    let mut left = ms;
    for (unit, size, exact) in UNITS {
        if exact && !left.is_multiple_of(size) {
            continue;
        }
        if left >= size {
            let _ = write!(out, "{}{unit}", left / size);
            left %= size;
        }
    }
    out
}

/// Prometheus's `humanizeDuration` of `v` seconds (`1d 2h 3m 4s`, `1m 30s`, `1.5s`, `500ms`,
/// `0s`), shared by the rule templates and the Alertmanager's notification templates.
#[must_use]
#[allow(clippy::cast_possible_truncation)]
pub fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return format_float(v, 'g', 4);
    }
    if v == 0.0 {
        return format!("{}s", format_float(v, 'g', 4));
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        let d = v as i64;
        let (secs, mins, hours, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        return if days != 0 {
            format!("{sign}{days}d {hours}h {mins}m {secs}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {mins}m {secs}s")
        } else if mins != 0 {
            format!("{sign}{mins}m {secs}s")
        } else {
            format!("{sign}{}s", format_float(v, 'g', 4))
        };
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", format_float(v, 'g', 4))
}

/// Go's `time.Duration.String` of `nanos` nanoseconds: `1h0m0s`, `1m30s`, `1.5s`, `500ms`,
/// `1.5µs`, `0s`.
#[must_use]
pub fn time_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    if u < 1_000_000_000 {
        // Below a second: one unit with a fraction.
        let (unit, size) = match u {
            0..1000 => ("ns", 1),
            1000..1_000_000 => ("µs", 1000),
            _ => ("ms", 1_000_000),
        };
        return format!("{sign}{}{unit}", fraction(u, size));
    }
    let (h, rest) = (u / 3_600_000_000_000, u % 3_600_000_000_000);
    let (m, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
    let secs = fraction(rest, 1_000_000_000);
    if h > 0 {
        format!("{sign}{h}h{m}m{secs}s")
    } else if m > 0 {
        format!("{sign}{m}m{secs}s")
    } else {
        format!("{sign}{secs}s")
    }
}

/// `n / size` with its fraction, trailing zeros dropped (`1.5`, `2`).
fn fraction(n: u64, size: u64) -> String {
    let (whole, frac) = (n / size, n % size);
    if frac == 0 {
        return whole.to_string();
    }
    let width = size.ilog10() as usize;
    let f = format!("{frac:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

/// Go's `units.Base2Bytes.String`: each binary unit from the largest down with what remains
/// (`4KiB558B`, `512MiB`, `0B`, `-1KiB`).
#[must_use]
pub fn base2_bytes(n: i64) -> String {
    const UNITS: [(&str, u32); 7] = [
        ("EiB", 60),
        ("PiB", 50),
        ("TiB", 40),
        ("GiB", 30),
        ("MiB", 20),
        ("KiB", 10),
        ("B", 0),
    ];
    if n == 0 {
        return "0B".to_owned();
    }
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    let mut left = n.unsigned_abs();
    for (suffix, shift) in UNITS {
        let unit = 1u64 << shift;
        if left >= unit {
            let _ = write!(out, "{}{suffix}", left / unit);
            left %= unit;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case is checked against Go: strconv's ftoa_test.go and quote_test.go, net/url's
    /// QueryEscape tests, time.Duration's and model.Duration's String tests.
    /// Asserts `f(input) == want` for each case, naming the Go function and the input.
    fn check<T: Copy + std::fmt::Debug>(go: &str, cases: &[(T, &str)], f: fn(T) -> String) {
        for &(input, want) in cases {
            assert_eq!(f(input), want, "{go}({input:?})");
        }
    }

    #[test]
    // Go's own test values, written as Go's tests write them (each is exact in binary).
    #[allow(clippy::too_many_lines, clippy::excessive_precision)]
    fn as_go_writes_them() {
        let below1e23 = 99_999_999_999_999_974_834_176.0_f64;
        let above1e23 = 100_000_000_000_000_008_388_608.0_f64;
        let floats: &[(f64, char, i32, &str)] = &[
            (1.0, 'e', 5, "1.00000e+00"),
            (1.0, 'f', 5, "1.00000"),
            (1.0, 'g', 5, "1"),
            (1.0, 'g', -1, "1"),
            (20.0, 'g', -1, "20"),
            (1_234_567.8, 'g', -1, "1.2345678e+06"),
            (200_000.0, 'g', -1, "200000"),
            (2_000_000.0, 'g', -1, "2e+06"),
            (400.0, 'g', 2, "4e+02"),
            (40.0, 'g', 2, "40"),
            (4.0, 'g', 2, "4"),
            (0.4, 'g', 2, "0.4"),
            (0.04, 'g', 2, "0.04"),
            (0.0004, 'g', 2, "0.0004"),
            (0.00004, 'g', 2, "4e-05"),
            (0.000_004, 'g', 2, "4e-06"),
            (0.0, 'e', 5, "0.00000e+00"),
            (0.0, 'f', 5, "0.00000"),
            (0.0, 'g', 5, "0"),
            (0.0, 'g', -1, "0"),
            (-0.0, 'g', -1, "-0"),
            (-1.0, 'e', 5, "-1.00000e+00"),
            (-1.0, 'g', -1, "-1"),
            (12.0, 'e', 5, "1.20000e+01"),
            (12.0, 'g', 5, "12"),
            (123_456_700.0, 'e', 5, "1.23457e+08"),
            (123_456_700.0, 'f', 5, "123456700.00000"),
            (123_456_700.0, 'g', 5, "1.2346e+08"),
            (123_456_700.0, 'g', -1, "1.234567e+08"),
            (1.2345e6, 'g', 5, "1.2345e+06"),
            (1.2345e6, 'e', 3, "1.234e+06"),
            (1.2355e6, 'e', 3, "1.236e+06"),
            (1.2345, 'f', 3, "1.234"),
            (1.2355, 'f', 3, "1.236"),
            (108_678_236_358_137.625, 'g', -1, "1.0867823635813762e+14"),
            (1e23, 'e', 17, "9.99999999999999916e+22"),
            (1e23, 'g', 17, "9.9999999999999992e+22"),
            (1e23, 'e', -1, "1e+23"),
            (1e23, 'f', -1, "100000000000000000000000"),
            (1e23, 'g', -1, "1e+23"),
            (below1e23, 'e', -1, "9.999999999999997e+22"),
            (below1e23, 'f', -1, "99999999999999970000000"),
            (above1e23, 'g', 17, "1.0000000000000001e+23"),
            (above1e23, 'f', -1, "100000000000000010000000"),
            (5e-324, 'g', -1, "5e-324"),
            (-5e-324, 'g', -1, "-5e-324"),
            (32.0, 'g', -1, "32"),
            (32.0, 'g', 0, "3e+01"),
            (1.5, 'E', -1, "1.5E+00"),
            (0.15, 'E', -1, "1.5E-01"),
            (2.5e-7, 'e', -1, "2.5e-07"),
            (1_234_567.0, 'g', 4, "1.235e+06"),
            (0.000_123_4, 'g', 4, "0.0001234"),
            (f64::NAN, 'g', -1, "NaN"),
            (f64::INFINITY, 'g', -1, "+Inf"),
            (f64::NEG_INFINITY, 'e', 3, "-Inf"),
            (1.0, 'x', -1, "%x"),
            (0.0, 'e', -1, "0e+00"),
            (123_456.0, 'e', -1, "1.23456e+05"),
            (1e300, 'e', -1, "1e+300"),
            (12345.0, 'E', -1, "1.2345E+04"),
            (1e21, 'g', -1, "1e+21"),
            (0.00001, 'g', -1, "1e-05"),
        ];
        for &(v, fmt, prec, want) in floats {
            assert_eq!(
                format_float(v, fmt, prec),
                want,
                "FormatFloat({v}, {fmt}, {prec})"
            );
        }

        let quoted: &[(&str, &str)] = &[
            ("\u{7}\u{8}\u{c}\r\n\t\u{b}", r#""\a\b\f\r\n\t\v""#),
            ("\\", r#""\\""#),
            ("abc\u{ff}def", "\"abc\u{ff}def\""),
            ("\u{263a}", "\"\u{263a}\""),
            ("\u{10ffff}", r#""\U0010ffff""#),
            ("\u{4}", r#""\x04""#),
            ("\u{7f}", r#""\x7f""#),
            ("\u{a0}", r#""\u00a0""#),
            ("\u{feff}", r#""\ufeff""#),
            ("\u{200b}", r#""\u200b""#),
            ("\u{fffd}", "\"\u{fffd}\""),
            ("say \"hi\"", r#""say \"hi\"""#),
        ];
        check("strconv.Quote", quoted, quote);
        assert_eq!(quote_bytes(b"a\xffb\xc0"), r#""a\xffb\xc0""#);

        let escaped: &[(&str, &str)] = &[
            ("", ""),
            ("abc", "abc"),
            ("one two", "one+two"),
            ("10%", "10%25"),
            (
                " ?&=#+%!<>#\"{}|\\^[]`☺\t:/@$'(),;",
                "+%3F%26%3D%23%2B%25%21%3C%3E%23%22%7B%7D%7C%5C%5E%5B%5D%60%E2%98%BA%09%3A%2F%40%24%27%28%29%2C%3B",
            ),
            ("a*b~c", "a%2Ab~c"),
        ];
        check("url.QueryEscape", escaped, query_escape);

        let model: &[(u64, &str)] = &[
            (0, "0s"),
            (1000, "1s"),
            (1500, "1s500ms"),
            (90 * 60_000, "1h30m"),
            (7 * 86_400_000, "1w"),
            (8 * 86_400_000, "8d"),
            (90 * 86_400_000, "90d"),
            (365 * 86_400_000, "1y"),
            (2 * 3_600_000 + 5, "2h5ms"),
            (90_000, "1m30s"),
        ];
        check("model.Duration (ms)", model, model_duration);

        let time: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (500_000_000, "500ms"),
            (3_300_000_000, "3.3s"),
            (4 * 60_000_000_000 + 5_000_000_000, "4m5s"),
            (4 * 60_000_000_000 + 5_001_000_000, "4m5.001s"),
            (
                5 * 3_600_000_000_000 + 6 * 60_000_000_000 + 7_001_000_000,
                "5h6m7.001s",
            ),
            (8 * 60_000_000_000 + 1, "8m0.000000001s"),
            (3_600_000_000_000, "1h0m0s"),
            (-1_500_000_000, "-1.5s"),
            (60_000_000_000, "1m0s"),
            (3_630_000_000_000, "1h0m30s"),
            (7_200_000_000_000, "2h0m0s"),
            (7_199_999_000_000, "1h59m59.999s"),
            (74_985_000_000, "1m14.985s"),
            (-90_000_000_000, "-1m30s"),
        ];
        check("time.Duration (ns)", time, time_duration);

        let bytes: &[(i64, &str)] = &[
            (0, "0B"),
            (1, "1B"),
            (1024, "1KiB"),
            (4654, "4KiB558B"),
            (512 << 20, "512MiB"),
            (1 << 60, "1EiB"),
            (-1024, "-1KiB"),
            (1536, "1KiB512B"),
        ];
        check("units.Base2Bytes", bytes, base2_bytes);
    }
}
