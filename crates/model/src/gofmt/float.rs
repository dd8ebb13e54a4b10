//! Go's `strconv.FormatFloat` / `AppendFloat` for float64 (`ftoa.go`, `ftoaryu.go`): `e E f g
//! G` with a precision, or with `-1`, the fewest digits that read back as the value.
//!
//! The shortest digits come from the `zmij` crate (Schubfach, the algorithm serde_json prints
//! floats with). Among the shortest decimals that read back as the value it picks the closest,
//! and of two equally close ones the one with the even last digit, which is Go's rule
//! (`ryuFtoaShortest`). Rust's own `{}` and `{:e}` pick the upper one of such a tie instead:
//! `667082108456853.25` is `667082108456853.2` in Go and here, `667082108456853.3` in Rust's
//! `{}`. The tests check this against an exact oracle on millions of bit patterns.

use std::fmt::Write as _;

/// The shortest decimal that reads back as a finite float's magnitude: `0.d₁d₂…dₙ × 10^dp`
/// (Go's `decimalSlice`: digits without leading or trailing zeros, and the decimal point's
/// position). Zero is the digit `0` with `dp` 1.
#[derive(Debug, Clone, Copy)]
pub struct Shortest {
    digits: [u8; 32],
    len: usize,
    dp: i32,
}

impl Shortest {
    /// The shortest decimal of `|v|`; `v` must be finite.
    #[must_use]
    pub fn of(v: f64) -> Self {
        let mut s = Shortest {
            digits: [b'0'; 32],
            len: 1,
            dp: 1,
        };
        let a = v.abs();
        if a == 0.0 || !a.is_finite() {
            return s;
        }
        // zmij writes `1.5e-7`, `1e+21`, `123.0` or `0.001`: read its digits and exponent.
        let mut buf = zmij::Buffer::new();
        let text = buf.format_finite(a).as_bytes();
        s.len = 0;
        s.dp = 0;
        let mut after_point = false;
        let mut i = 0;
        while i < text.len() {
            let b = text[i];
            i += 1;
            match b {
                b'.' => after_point = true,
                b'0'..=b'9' => {
                    if s.len == 0 && b == b'0' {
                        // A leading zero: before the point it says nothing, after it moves
                        // the point.
                        if after_point {
                            s.dp -= 1;
                        }
                    } else {
                        s.digits[s.len] = b;
                        s.len += 1;
                        if !after_point {
                            s.dp += 1;
                        }
                    }
                }
                b'e' | b'E' => break,
                _ => {}
            }
        }
        let mut exp = 0i32;
        let mut negative = false;
        for &b in &text[i..] {
            match b {
                b'-' => negative = true,
                b'0'..=b'9' => exp = exp * 10 + i32::from(b - b'0'),
                _ => {}
            }
        }
        s.dp += if negative { -exp } else { exp };
        while s.len > 1 && s.digits[s.len - 1] == b'0' {
            s.len -= 1;
        }
        s
    }

    /// The significant digits (ASCII).
    #[must_use]
    pub fn digits(&self) -> &[u8] {
        &self.digits[..self.len]
    }

    /// The exponent of the first digit in scientific notation (`d.ddd × 10^exp`).
    #[must_use]
    pub fn exponent(&self) -> i32 {
        self.dp - 1
    }
}

/// Where formatted text goes: a `String` or a byte buffer (all of it is ASCII).
pub trait Sink {
    /// Appends ASCII bytes.
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for String {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        // Only ASCII is ever put.
        self.push_str(std::str::from_utf8(bytes).unwrap_or_default());
    }
}

const ZEROS: [u8; 64] = [b'0'; 64];

fn put_zeros(out: &mut impl Sink, mut n: usize) {
    while n > 0 {
        let k = n.min(ZEROS.len());
        out.put(&ZEROS[..k]);
        n -= k;
    }
}

/// Writes `NaN`, `+Inf`, `-Inf` or the sign of a negative number; true when nothing else is
/// left to write.
fn put_special_or_sign(out: &mut impl Sink, v: f64) -> bool {
    if v.is_nan() {
        out.put(b"NaN");
        return true;
    }
    if v.is_infinite() {
        out.put(if v > 0.0 { b"+Inf" } else { b"-Inf" });
        return true;
    }
    if v.is_sign_negative() {
        out.put(b"-");
    }
    false
}

/// `digits` as `0.d₁d₂… × 10^dp` without an exponent: `0.0004`, `123`, `1200`, `1.5`.
fn put_positional(out: &mut impl Sink, digits: &[u8], dp: i32) {
    let n = digits.len();
    if dp <= 0 {
        out.put(b"0.");
        put_zeros(out, dp.unsigned_abs() as usize);
        out.put(digits);
        return;
    }
    let point = dp.unsigned_abs() as usize;
    if point >= n {
        out.put(digits);
        put_zeros(out, point - n);
    } else {
        out.put(&digits[..point]);
        out.put(b".");
        out.put(&digits[point..]);
    }
}

/// `e+06`, `e-05`, `E+100`: a sign and at least two digits.
fn put_exponent(out: &mut impl Sink, exp: i32, upper: bool) {
    let mut buf = [0u8; 6];
    buf[0] = if upper { b'E' } else { b'e' };
    buf[1] = if exp < 0 { b'-' } else { b'+' };
    let e = exp.unsigned_abs();
    let len = if e >= 100 {
        buf[2] = b'0' + (e / 100) as u8;
        buf[3] = b'0' + (e / 10 % 10) as u8;
        buf[4] = b'0' + (e % 10) as u8;
        5
    } else {
        buf[2] = b'0' + (e / 10) as u8;
        buf[3] = b'0' + (e % 10) as u8;
        4
    };
    out.put(&buf[..len]);
}

/// `d.ddd` and the exponent.
fn put_scientific(out: &mut impl Sink, digits: &[u8], exp: i32, upper: bool) {
    out.put(&digits[..1]);
    if digits.len() > 1 {
        out.put(b".");
        out.put(&digits[1..]);
    }
    put_exponent(out, exp, upper);
}

/// Go's `strconv.AppendFloat(out, v, 'f', -1, 64)`: the fewest digits that read back as `v`,
/// without an exponent (`0.0000001`, `1000000000000000000000`, `-0`, `NaN`, `+Inf`).
pub fn append_shortest_f(out: &mut impl Sink, v: f64) {
    if put_special_or_sign(out, v) {
        return;
    }
    let s = Shortest::of(v);
    put_positional(out, s.digits(), s.dp);
}

/// Go's `strconv.AppendFloat(out, v, 'e', -1, 64)`: `1e+21`, `1.5e-07`, `0e+00`.
pub fn append_shortest_e(out: &mut impl Sink, v: f64) {
    if put_special_or_sign(out, v) {
        return;
    }
    let s = Shortest::of(v);
    put_scientific(out, s.digits(), s.exponent(), false);
}

/// Go's `strconv.FormatFloat(v, fmt, prec, 64)` for `fmt` one of `e E f g G`; a negative
/// `prec` means the fewest digits that read back as `v`. `NaN`, `+Inf`, `-Inf` as Go spells
/// them.
#[must_use]
pub fn format_float(v: f64, fmt: char, prec: i32) -> String {
    let mut out = String::with_capacity(24);
    append_float(&mut out, v, fmt, prec);
    out
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(v, 'g', -1, 64)`): `123456`, `1.234567e+06`,
/// `1e-05`.
#[must_use]
pub fn float(v: f64) -> String {
    format_float(v, 'g', -1)
}

/// [`format_float`] appending to `out`.
pub fn append_float(out: &mut String, v: f64, fmt: char, prec: i32) {
    if !matches!(fmt, 'e' | 'E' | 'f' | 'g' | 'G') {
        // Go writes `%` and the verb for an unknown format.
        out.push('%');
        out.push(fmt);
        return;
    }
    if put_special_or_sign(out, v) {
        return;
    }
    let a = v.abs();
    let upper = fmt.is_ascii_uppercase();
    let Ok(p) = usize::try_from(prec) else {
        let s = Shortest::of(a);
        match fmt {
            'f' => put_positional(out, s.digits(), s.dp),
            'e' | 'E' => put_scientific(out, s.digits(), s.exponent(), upper),
            _ => put_g(out, s.digits(), s.exponent(), 6, upper),
        }
        return;
    };
    match fmt {
        // Rust's fixed precision formatting is exact and rounds halves to even, as Go's.
        'f' => {
            let _ = write!(out, "{a:.p$}");
        }
        'e' | 'E' => {
            let s = format!("{a:.p$e}");
            let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
            out.push_str(mant);
            put_exponent(out, exp.parse().unwrap_or(0), upper);
        }
        _ => {
            // The significant digits after rounding, trailing zeros dropped (as Go's `%g`).
            let s = format!("{a:.*e}", p.max(1) - 1);
            let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
            let digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
            let end = digits.iter().rposition(|&d| d != b'0').map_or(1, |i| i + 1);
            let eprec = i32::try_from(p.max(1)).unwrap_or(i32::MAX);
            put_g(out, &digits[..end], exp.parse().unwrap_or(0), eprec, upper);
        }
    }
}

/// Go's `%g` layout of `digits` × 10^exp: the exponent form from 10^eprec and below 1e-04,
/// else positional.
fn put_g(out: &mut String, digits: &[u8], exp: i32, eprec: i32, upper: bool) {
    let zero = digits == b"0";
    if !zero && (exp < -4 || exp >= eprec) {
        put_scientific(out, digits, exp, upper);
    } else {
        put_positional(out, digits, exp + 1);
    }
}

/// Prometheus's timestamps in the JSON API (`jsonutil.MarshalTimestamp`): milliseconds as
/// seconds with exactly three decimals when there is a fraction (`1435781451.781`, `1.500`,
/// `-0.050`), as an integer otherwise (`10`).
pub fn append_millis_as_seconds(out: &mut impl Sink, t: i64) {
    let mut buf = [0u8; 24];
    let mut i = buf.len();
    let abs = t.unsigned_abs();
    let ms = abs % 1000;
    if ms != 0 {
        for d in [ms % 10, ms / 10 % 10, ms / 100] {
            i -= 1;
            buf[i] = b'0' + d as u8;
        }
        i -= 1;
        buf[i] = b'.';
    }
    let mut secs = abs / 1000;
    loop {
        i -= 1;
        buf[i] = b'0' + (secs % 10) as u8;
        secs /= 10;
        if secs == 0 {
            break;
        }
    }
    if t < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    out.put(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortest digits of `|v|` that read back as `v`, the closest to `v`, and of two
    /// equally close the one with the even last digit, found without the shortest
    /// algorithm: Rust's `{:e}` gives the shortest length `n` (its digit choice may differ on
    /// a tie), and Rust's exact `{:.*e}` at `n` digits rounds the exact binary value to the
    /// nearest, halves to even.
    fn oracle(v: f64) -> (String, i32) {
        let a = v.abs();
        let short = format!("{a:e}");
        let (mant, _) = short.split_once('e').unwrap();
        let n = mant.bytes().filter(u8::is_ascii_digit).count();
        let exact = format!("{a:.*e}", n - 1);
        // Below a power of two the interval that reads back is half as wide as above it: the
        // closest n-digit decimal may lie below it, and then the one candidate above is it.
        let chosen = if exact.parse::<f64>() == Ok(a) {
            exact
        } else {
            short
        };
        let (mant, exp) = chosen.split_once('e').unwrap();
        let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
        let digits = digits.trim_end_matches('0');
        (
            if digits.is_empty() { "0" } else { digits }.to_owned(),
            exp.parse().unwrap(),
        )
    }

    /// A deterministic stream of bit patterns: uniform, then biased towards the values where
    /// ties happen (2^20..2^70 with few fraction bits), values with short mantissas, and
    /// decimal fractions with three digits (what scraped samples look like).
    fn bit_patterns(n: usize) -> impl Iterator<Item = f64> {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        (0..n).map(move |i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let bits = match i % 4 {
                0 => x,
                1 => (x & 0x800F_FFFF_FFFF_FFFF) | ((1023 + 20 + (x >> 52) % 50) << 52),
                2 => x & !((1u64 << ((x >> 3) % 52)) - 1),
                _ => ((x % 1_000_000_000_000) as f64 / 1000.0).to_bits(),
            };
            f64::from_bits(bits)
        })
    }

    /// The digits and exponent of a decimal text (`-1.5e-7`, `0.001`, `1200`).
    fn parse_decimal(s: &str) -> (String, i32) {
        let s = s.trim_start_matches('-');
        let (m, e) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().unwrap()),
            None => (s, 0),
        };
        let point = i32::try_from(m.find('.').unwrap_or(m.len())).unwrap();
        let all: String = m.chars().filter(char::is_ascii_digit).collect();
        let lead = i32::try_from(all.len() - all.trim_start_matches('0').len()).unwrap();
        let d = all.trim_start_matches('0').trim_end_matches('0');
        if d.is_empty() {
            return ("0".into(), 0);
        }
        (d.to_owned(), point - lead - 1 + e)
    }

    /// The count of values checked; `FIREWATCH_FLOAT_CASES` raises it (the default keeps the
    /// test at a few seconds in a debug build).
    fn cases() -> usize {
        std::env::var("FIREWATCH_FLOAT_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(6_000_000)
    }

    /// Shortest, closest, ties to even, on millions of bit patterns. Rust's `{}` writes the
    /// same layout as Go's `'f'` with the fewest digits, and the closest of them; where its text
    /// differs from ours, the value must be an exact tie that we resolve to the even digit (as
    /// the exact oracle does) and Rust to the upper one. Every 64th value is checked against the
    /// oracle anyway, and reads back from both `'f'` and `'e'` texts.
    #[test]
    fn shortest_digits_are_gos_on_millions_of_bit_patterns() {
        let (mut checked, mut ties) = (0usize, 0usize);
        let mut ours = Vec::new();
        let mut std = String::new();
        for v in bit_patterns(cases()) {
            if !v.is_finite() {
                continue;
            }
            checked += 1;
            ours.clear();
            append_shortest_f(&mut ours, v);
            std.clear();
            let _ = write!(std, "{v}");
            let same = ours == std.as_bytes();
            if same && checked % 64 != 0 {
                continue;
            }
            let text = std::str::from_utf8(&ours).unwrap();
            let s = Shortest::of(v);
            let digits = (
                String::from_utf8(s.digits().to_vec()).unwrap(),
                s.exponent(),
            );
            assert_eq!(digits, oracle(v), "{v:e}");
            assert_eq!(parse_decimal(text), digits, "{text}");
            assert_eq!(
                text.parse::<f64>().map(f64::to_bits),
                Ok(v.to_bits()),
                "{text}"
            );
            if !same {
                // Rust's choice on a tie: as short, the upper neighbour, the odd digit.
                let theirs = parse_decimal(&std);
                assert_eq!(theirs.0.len(), digits.0.len(), "{v:e}");
                assert_eq!(theirs.1, digits.1, "{v:e}");
                assert_eq!(digits.0.as_bytes()[digits.0.len() - 1] % 2, 0, "{v:e}: odd");
                ties += 1;
            }
            let mut e = Vec::new();
            append_shortest_e(&mut e, v);
            let e = String::from_utf8(e).unwrap();
            assert_eq!(e.parse::<f64>().map(f64::to_bits), Ok(v.to_bits()), "{e}");
            assert_eq!(parse_decimal(&e), digits, "{e}");
        }
        assert!(checked > cases() * 9 / 10, "{checked}");
        // The biased patterns hit ties often: the comparison above is exercised.
        assert!(ties > checked / 1000, "{ties} ties in {checked}");
    }

    /// Texts Go writes (`strconv.AppendFloat`, checked with Go 1.19 and with the real
    /// Prometheus 2.42, which writes sample values this way).
    #[test]
    #[allow(clippy::excessive_precision, clippy::unreadable_literal)]
    fn shortest_texts_as_go_writes_them() {
        let cases: &[(f64, &str, &str)] = &[
            (0.0, "0", "0e+00"),
            (-0.0, "-0", "-0e+00"),
            (1.0, "1", "1e+00"),
            (-1.5, "-1.5", "-1.5e+00"),
            (0.1, "0.1", "1e-01"),
            (0.001, "0.001", "1e-03"),
            (1e-7, "0.0000001", "1e-07"),
            (123.0, "123", "1.23e+02"),
            (1e15, "1000000000000000", "1e+15"),
            (1e21, "1000000000000000000000", "1e+21"),
            (1.5e22, "15000000000000000000000", "1.5e+22"),
            (
                123456789012345680000.0,
                "123456789012345680000",
                "1.2345678901234568e+20",
            ),
            (
                667082108456853.25,
                "667082108456853.2",
                "6.670821084568532e+14",
            ),
            (
                108678236358137.625,
                "108678236358137.62",
                "1.0867823635813762e+14",
            ),
            (
                9007199254740993.0,
                "9007199254740992",
                "9.007199254740992e+15",
            ),
            (5e-324, "", "5e-324"),
            (1.7976931348623157e308, "", "1.7976931348623157e+308"),
            (f64::NAN, "NaN", "NaN"),
            (f64::INFINITY, "+Inf", "+Inf"),
            (f64::NEG_INFINITY, "-Inf", "-Inf"),
        ];
        for (v, f, e) in cases {
            let mut out = Vec::new();
            if !f.is_empty() {
                append_shortest_f(&mut out, *v);
                assert_eq!(String::from_utf8(out.clone()).unwrap(), *f, "'f' {v:e}");
            }
            out.clear();
            append_shortest_e(&mut out, *v);
            assert_eq!(String::from_utf8(out).unwrap(), *e, "'e' {v:e}");
        }
        let mut out = String::new();
        append_shortest_f(&mut out, 5e-324);
        assert_eq!(out, format!("0.{}5", "0".repeat(323)));
        out.clear();
        append_shortest_f(&mut out, f64::MAX);
        assert_eq!(out, format!("17976931348623157{}", "0".repeat(292)));
    }

    #[test]
    fn timestamps_as_prometheus_writes_them() {
        for (t, want) in [
            (0, "0"),
            (10_000, "10"),
            (1500, "1.500"),
            (1050, "1.050"),
            (1005, "1.005"),
            (1_435_781_451_781, "1435781451.781"),
            (-1500, "-1.500"),
            (-50, "-0.050"),
            (-3000, "-3"),
            (i64::MIN, "-9223372036854775.808"),
            (i64::MAX, "9223372036854775.807"),
        ] {
            let mut out = Vec::new();
            append_millis_as_seconds(&mut out, t);
            assert_eq!(String::from_utf8(out).unwrap(), want, "{t}");
        }
    }
}
