//! Numbers as the exposition formats write them: Go's `strconv.ParseFloat` syntax (without
//! hex floats and underscores, which Prometheus refuses) and Go's shortest `%g` output.

use std::fmt::Write;

/// The NaN bit pattern Prometheus stores for a parsed `NaN` (`value.NormalNaN`).
pub const NORMAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Parses a float the way Prometheus does; `NaN` becomes [`NORMAL_NAN_BITS`].
#[must_use]
pub fn parse_float(b: &[u8]) -> Option<f64> {
    if let Some(v) = fast_float(b) {
        return Some(v);
    }
    if b.iter()
        .any(|c| matches!(c, b'p' | b'P' | b'_' | b'x' | b'X'))
    {
        return None;
    }
    let s = std::str::from_utf8(b).ok()?;
    let v: f64 = s.parse().ok()?;
    Some(if v.is_nan() {
        f64::from_bits(NORMAL_NAN_BITS)
    } else {
        v
    })
}

/// Clinger's fast path: `[+-]digits[.digits][e[+-]digits]` with at most 15 significant
/// digits and a small power of ten is exactly one rounding, hence correctly rounded.
fn fast_float(b: &[u8]) -> Option<f64> {
    let (neg, mut i) = match b.first()? {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    let mut mant: u64 = 0;
    let mut digits = 0u32;
    let mut exp10: i32 = 0;
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        mant = mant * 10 + u64::from(b[i] - b'0');
        digits += 1;
        i += 1;
        if digits > 15 {
            return None;
        }
    }
    let int_digits = i - start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let fs = i;
        while i < b.len() && b[i].is_ascii_digit() {
            mant = mant * 10 + u64::from(b[i] - b'0');
            digits += 1;
            i += 1;
            if digits > 15 {
                return None;
            }
        }
        frac_digits = i - fs;
        exp10 -= i32::try_from(frac_digits).ok()?;
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let eneg = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let es = i;
        let mut e: i32 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            if e > 1000 {
                return None;
            }
            e = e * 10 + i32::from(b[i] - b'0');
            i += 1;
        }
        if i == es {
            return None;
        }
        exp10 += if eneg { -e } else { e };
    }
    if i != b.len() {
        return None;
    }
    #[allow(clippy::cast_precision_loss)] // at most 15 digits: exact
    let m = mant as f64;
    let v = match exp10 {
        0 => m,
        1..=22 => m * POW10[exp10.unsigned_abs() as usize],
        -22..=-1 => m / POW10[exp10.unsigned_abs() as usize],
        _ => return None,
    };
    Some(if neg { -v } else { v })
}

/// Parses a decimal integer with an optional sign (Go's `strconv.ParseInt(s, 10, 64)`).
#[must_use]
pub fn parse_int(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(i64::from(c - b'0'))?
        } else {
            v.checked_add(i64::from(c - b'0'))?
        };
    }
    Some(v)
}

/// Appends `v` as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes it, with Prometheus's
/// spellings `+Inf`, `-Inf` and `NaN`.
pub fn write_float(out: &mut String, v: f64) {
    // Integers below 1e6 in positional form are the common case; print them directly.
    if v.fract() == 0.0 && v.abs() < 1e6 && v != 0.0 {
        #[allow(clippy::cast_possible_truncation)]
        let _ = write!(out, "{}", v as i64);
        return;
    }
    crate::gofmt::append_float(out, v, 'g', -1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(v: f64) -> String {
        let mut s = String::new();
        write_float(&mut s, v);
        s
    }

    #[test]
    fn go_g_format() {
        assert_eq!(fmt(1.0), "1");
        assert_eq!(fmt(1e6), "1e+06");
        assert_eq!(fmt(123_456.0), "123456");
        assert_eq!(fmt(1_048_576.0), "1.048576e+06");
        assert_eq!(fmt(0.0001), "0.0001");
        assert_eq!(fmt(0.000_012_5), "1.25e-05");
        assert_eq!(fmt(-2.5), "-2.5");
        assert_eq!(fmt(5e-324), "5e-324");
        assert_eq!(fmt(1.5e300), "1.5e+300");
        assert_eq!(fmt(f64::INFINITY), "+Inf");
        assert_eq!(fmt(f64::NEG_INFINITY), "-Inf");
        assert_eq!(fmt(f64::NAN), "NaN");
        assert_eq!(fmt(-0.0), "-0");
        assert_eq!(fmt(0.1), "0.1");
        assert_eq!(fmt(12.345), "12.345");
    }

    #[test]
    fn floats_parse_like_go() {
        for s in [
            "1",
            "-1.5",
            "1e3",
            ".5",
            "5.",
            "1.7976931348623157e308",
            "0.1",
            "+3",
        ] {
            let want: f64 = s.parse().unwrap();
            assert_eq!(parse_float(s.as_bytes()), Some(want), "{s}");
        }
        assert_eq!(parse_float(b"+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_float(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float(b"NaN").map(f64::to_bits), Some(NORMAL_NAN_BITS));
        for bad in ["", ".", "e5", "1_0", "0x1p3", "abc", "1e", "--1"] {
            assert_eq!(parse_float(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(parse_int(b"-15"), Some(-15));
        assert_eq!(parse_int(b"9223372036854775808"), None);
        assert_eq!(parse_int(b"1.5"), None);
    }
}
