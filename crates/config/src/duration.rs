//! Prometheus's duration (`1m30s`, `1d`, `1w`, `1y`, `100ms`) and byte-size (`10MB`) scalars.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration as Prometheus's configuration writes it: `[0-9]+(y|w|d|h|m|s|ms)` units in
/// decreasing order, with no fractions (`1h30m`, `100ms`, `0`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(u64);

const MS: u64 = 1;
const SEC: u64 = 1000 * MS;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;
const YEAR: u64 = 365 * DAY;

/// Units in the order they must appear, with their size in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", YEAR),
    ("w", WEEK),
    ("d", DAY),
    ("h", HOUR),
    ("m", MIN),
    ("s", SEC),
    ("ms", MS),
];

/// The error for a string that is not a Prometheus duration; its text is Prometheus's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid duration string: {0:?}")]
pub struct DurationError(pub String);

impl Duration {
    /// The zero duration.
    pub const ZERO: Duration = Duration(0);

    /// A duration of `ms` milliseconds.
    #[must_use]
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// A duration of `s` seconds.
    #[must_use]
    pub const fn from_secs(s: u64) -> Self {
        Self(s * SEC)
    }

    /// The length in milliseconds.
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Whether this is the zero duration (Prometheus's "unset").
    #[must_use]
    pub const fn is_zero(&self) -> bool {
        self.0 == 0
    }

    /// The same length as a [`std::time::Duration`].
    #[must_use]
    pub const fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }

    /// Parses Prometheus's duration syntax.
    pub fn parse(s: &str) -> Result<Self, DurationError> {
        let err = || DurationError(s.to_string());
        if s == "0" {
            return Ok(Self(0));
        }
        if s.is_empty() {
            return Err(err());
        }
        let b = s.as_bytes();
        let mut i = 0;
        let mut next_unit = 0; // index into UNITS of the first unit still allowed
        let mut total: u64 = 0;
        while i < b.len() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return Err(err());
            }
            let n: u64 = s[start..i].parse().map_err(|_| err())?;
            let ustart = i;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit = &s[ustart..i];
            let pos = UNITS[next_unit..]
                .iter()
                .position(|(u, _)| *u == unit)
                .ok_or_else(err)?;
            let mult = UNITS[next_unit + pos].1;
            next_unit += pos + 1;
            total = n
                .checked_mul(mult)
                .and_then(|v| total.checked_add(v))
                .filter(|v| i64::try_from(*v).is_ok())
                .ok_or_else(err)?;
        }
        Ok(Self(total))
    }
}

impl fmt::Display for Duration {
    /// Prometheus's canonical form (`model.Duration.String`): the largest units first, `0s`
    /// for zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&model::gofmt::model_duration(self.0))
    }
}

impl FromStr for Duration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(|e| crate::yaml::go_error(e.to_string(), None))
    }
}

/// A byte size with base-2 units, as Prometheus's `units.Base2Bytes` reads it: `10MB` and
/// `10MiB` both mean 10×1024² bytes; a bare number is refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Size(i64);

/// The error for a string that is not a byte size; its text is Go's `units` package's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("units: {0}")]
pub struct SizeError(String);

const SIZE_UNITS: [(&str, i64); 7] = [
    ("B", 1),
    ("K", 1 << 10),
    ("M", 1 << 20),
    ("G", 1 << 30),
    ("T", 1 << 40),
    ("P", 1 << 50),
    ("E", 1 << 60),
];

impl Size {
    /// A size of `n` bytes.
    #[must_use]
    pub const fn from_bytes(n: i64) -> Self {
        Self(n)
    }

    /// The size in bytes.
    #[must_use]
    pub const fn bytes(self) -> i64 {
        self.0
    }

    /// Whether this is zero (Prometheus's "no limit" / "unset").
    #[must_use]
    pub const fn is_zero(&self) -> bool {
        self.0 == 0
    }

    fn unit(u: &str) -> Option<i64> {
        if u == "B" {
            return Some(1);
        }
        let prefix = u.strip_suffix("iB").or_else(|| u.strip_suffix('B'))?;
        SIZE_UNITS
            .iter()
            .skip(1)
            .find(|(p, _)| *p == prefix)
            .map(|(_, m)| *m)
    }

    /// Parses a size such as `512MB`, `1.5GiB` or `1GB512MB`.
    pub fn parse(s: &str) -> Result<Self, SizeError> {
        let orig = s;
        let (neg, mut rest) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        if rest == "0" {
            return Ok(Self(0));
        }
        if rest.is_empty() {
            return Err(SizeError(format!("invalid unit {orig:?}")));
        }
        let mut total = 0f64;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if num_len == 0 {
                return Err(SizeError(format!("invalid unit {orig:?}")));
            }
            let n: f64 = rest[..num_len]
                .parse()
                .map_err(|_| SizeError(format!("invalid unit {orig:?}")))?;
            rest = &rest[num_len..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let mult = Self::unit(unit)
                .ok_or_else(|| SizeError(format!("unknown unit {unit} in {orig}")))?;
            #[allow(clippy::cast_precision_loss)]
            {
                total += n * mult as f64;
            }
        }
        #[allow(clippy::cast_possible_truncation)]
        let v = total as i64;
        Ok(Self(if neg { -v } else { v }))
    }
}

impl fmt::Display for Size {
    /// Go's `Base2Bytes.String()`: the largest units first, `iB` suffixes (`15MiB`, `0B`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&model::gofmt::base2_bytes(self.0))
    }
}

impl FromStr for Size {
    type Err = SizeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(|e| crate::yaml::go_error(e.to_string(), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        for (s, ms, back) in [
            ("0", 0, "0s"),
            ("0s", 0, "0s"),
            ("100ms", 100, "100ms"),
            ("1m30s", 90_000, "1m30s"),
            ("90s", 90_000, "1m30s"),
            ("1d", DAY, "1d"),
            ("1w", WEEK, "1w"),
            ("8d", 8 * DAY, "8d"),
            ("1y", YEAR, "1y"),
            ("400d", 400 * DAY, "400d"),
            ("1h0m5s", HOUR + 5 * SEC, "1h5s"),
            ("2h30m", 2 * HOUR + 30 * MIN, "2h30m"),
        ] {
            let d = Duration::parse(s).unwrap();
            assert_eq!(d.as_millis(), ms, "{s}");
            assert_eq!(d.to_string(), back, "{s}");
        }
    }

    #[test]
    fn bad_durations_are_refused_with_prometheus_text() {
        for s in [
            "", "1", "-1h", "1.5h", "1s1m", "1mm", "1x", "h", "1m1m", " 1m",
        ] {
            let e = Duration::parse(s).unwrap_err();
            assert_eq!(e.to_string(), format!("not a valid duration string: {s:?}"));
        }
    }

    #[test]
    fn sizes_parse_and_print() {
        for (s, n, back) in [
            ("0", 0, "0B"),
            ("10MB", 10 << 20, "10MiB"),
            ("10MiB", 10 << 20, "10MiB"),
            ("1KB", 1024, "1KiB"),
            ("1GB512MB", (1 << 30) + (512 << 20), "1GiB512MiB"),
            ("1.5KB", 1536, "1KiB512B"),
            ("100B", 100, "100B"),
        ] {
            let v = Size::parse(s).unwrap();
            assert_eq!(v.bytes(), n, "{s}");
            assert_eq!(v.to_string(), back, "{s}");
        }
        assert_eq!(
            Size::parse("100").unwrap_err().to_string(),
            "units: unknown unit  in 100"
        );
        assert!(Size::parse("10XB").is_err());
        assert_eq!(Size::parse("-1GB").unwrap().bytes(), -(1 << 30));
    }
}
