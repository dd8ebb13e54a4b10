//! The numbers of query answers, written fast: sample values in Go's shortest `'f'` form
//! straight from zmij's text, and times from a table of the range query's step times
//! formatted once per answer (every series of a range answer has its points on those steps).
//! Both give the bytes of `model::gofmt`, which stays the reference (and the path for the
//! rarer numbers).

use model::gofmt;

/// Appends `f` as Go's `strconv.AppendFloat(out, f, 'f', -1, 64)` does (the bytes of
/// [`gofmt::append_shortest_f`]).
///
/// zmij picks the same shortest digits (its ties go to the even digit, as Go's do) and writes
/// fixed notation for decimal exponents from -5 to 15, always with a point (`100.0`,
/// `0.001234`, `-12.5`): there only the trailing zeros and a bare point are dropped. Other
/// numbers (exponent form, NaN, infinities) go through `gofmt`.
#[inline]
pub(crate) fn append_shortest_f(out: &mut Vec<u8>, f: f64) {
    if f.is_finite() {
        let mut buf = zmij::Buffer::new();
        let text = buf.format_finite(f).as_bytes();
        let mut point = false;
        let mut exponent = false;
        for &b in text {
            point |= b == b'.';
            exponent |= b == b'e';
        }
        if point && !exponent {
            let mut end = text.len();
            while text[end - 1] == b'0' {
                end -= 1;
            }
            if text[end - 1] == b'.' {
                end -= 1;
            }
            out.extend_from_slice(&text[..end]);
            return;
        }
    }
    gofmt::append_shortest_f(out, f);
}

/// The times of a range query's steps (`start + i * step`) as an answer writes them
/// ([`gofmt::append_millis_as_seconds`]), formatted once.
pub struct StepTimes {
    start: i64,
    step: i64,
    /// The texts one after the other.
    text: Vec<u8>,
    /// Where each step's text ends in `text`.
    ends: Vec<usize>,
}

impl StepTimes {
    /// The times of the steps from `start` to `end` every `step` (milliseconds), at most
    /// `max_steps` of them (a range query has at most 11,000).
    #[must_use]
    pub fn new(start: i64, end: i64, step: i64, max_steps: usize) -> Self {
        let n = if step > 0 && end >= start {
            usize::try_from((end - start) / step + 1)
                .unwrap_or(usize::MAX)
                .min(max_steps)
        } else {
            0
        };
        let mut text = Vec::with_capacity(n * 15);
        let mut ends = Vec::with_capacity(n);
        for i in 0..n {
            gofmt::append_millis_as_seconds(&mut text, start + i as i64 * step);
            ends.push(text.len());
        }
        Self {
            start,
            step,
            text,
            ends,
        }
    }

    fn time(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }
}

/// Writes the times of one series' points (in increasing order) from the table when they
/// are steps of it, else as [`gofmt::append_millis_as_seconds`] does.
pub struct TimeWriter<'a> {
    steps: Option<&'a StepTimes>,
    /// The first step not before the last time written.
    next: usize,
}

impl<'a> TimeWriter<'a> {
    /// A writer for one series (its times increase), with the steps' table if any.
    #[must_use]
    pub fn new(steps: Option<&'a StepTimes>) -> Self {
        Self { steps, next: 0 }
    }

    /// Appends the text of `t` (milliseconds).
    #[inline]
    pub fn put(&mut self, out: &mut Vec<u8>, t: i64) {
        if let Some(s) = self.steps {
            let mut i = self.next;
            while i < s.ends.len() && s.time(i) < t {
                i += 1;
            }
            self.next = i;
            if i < s.ends.len() && s.time(i) == t {
                let from = if i == 0 { 0 } else { s.ends[i - 1] };
                out.extend_from_slice(&s.text[from..s.ends[i]]);
                return;
            }
        }
        gofmt::append_millis_as_seconds(out, t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(f: f64) -> Vec<u8> {
        let mut out = Vec::new();
        gofmt::append_shortest_f(&mut out, f);
        out
    }

    fn fast(f: f64) -> Vec<u8> {
        let mut out = Vec::new();
        append_shortest_f(&mut out, f);
        out
    }

    /// The fast path writes gofmt's bytes: on the edges of zmij's fixed notation, special
    /// values, ties, and on pseudo-random bit patterns and decimals of every magnitude.
    #[test]
    // 667082108456853.25 is exact in binary (a tie between ...853.2 and ...853.3).
    #[allow(clippy::excessive_precision)]
    fn shortest_f_is_gofmt() {
        let mut cases = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            100.0,
            1e15,
            1e16,
            9_999_999_999_999_998.0,
            1e21,
            1e-5,
            1e-6,
            9.999_999_999_999_999e-6,
            0.1,
            0.3,
            123.456,
            667_082_108_456_853.25,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            5e-324,
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(f64::from_bits(x));
            // Decimals of a few digits at every magnitude, as samples usually are.
            let digits = (x % 1_000_000) as f64;
            let exp = ((x >> 20) % 40) as i32 - 20;
            cases.push(digits * 10f64.powi(exp));
            cases.push(-(digits / 1000.0));
        }
        for f in cases {
            assert_eq!(
                String::from_utf8(fast(f)).unwrap(),
                String::from_utf8(reference(f)).unwrap(),
                "{f:e} ({:#x})",
                f.to_bits()
            );
        }
    }

    #[test]
    fn times_from_the_table_or_formatted() {
        let steps = StepTimes::new(-1_500, 10_000, 750, 11_000);
        for series in [
            vec![-1_500, -750, 0, 750, 9_750],
            vec![0, 1, 750, 751, 9_750, 10_000, 10_500, 1_000_000_000_123],
            vec![-2_000, -1_500],
        ] {
            let mut w = TimeWriter::new(Some(&steps));
            let (mut got, mut want) = (Vec::new(), Vec::new());
            for t in series {
                w.put(&mut got, t);
                got.push(b' ');
                gofmt::append_millis_as_seconds(&mut want, t);
                want.push(b' ');
            }
            assert_eq!(String::from_utf8(got), String::from_utf8(want));
        }
        assert!(StepTimes::new(10, 0, 5, 100).ends.is_empty());
        assert_eq!(StepTimes::new(0, 1_000_000, 1, 3).ends.len(), 3);
    }
}
