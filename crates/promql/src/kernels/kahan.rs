//! Kahan–Neumaier compensated summation, as Prometheus uses for sums and means.

/// Adds `inc` to the running sum `sum` with compensation `c`; returns the new `(sum, c)`.
/// Once the sum overflows to an infinity the compensation is reset to 0.
///
/// Prometheus keeps its version out of line (`//go:noinline`) so that Go's compiler cannot
/// fuse its operations; Rust never fuses or reorders float operations, so inlined it gives
/// the same results, without a call per value of a sum.
#[must_use]
#[inline]
pub fn inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// A running compensated sum.
#[derive(Debug, Clone, Copy, Default)]
pub struct KahanSum {
    sum: f64,
    c: f64,
}

impl KahanSum {
    /// Adds a value.
    pub fn add(&mut self, v: f64) {
        (self.sum, self.c) = inc(v, self.sum, self.c);
    }

    /// The compensated total (the raw sum when it overflowed).
    #[must_use]
    pub fn value(&self) -> f64 {
        if self.sum.is_infinite() {
            self.sum
        } else {
            self.sum + self.c
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensates_lost_low_bits() {
        let mut k = KahanSum::default();
        let mut naive = 0.0;
        for v in [1e16, 1.0, -1e16, 1.0] {
            k.add(v);
            naive += v;
        }
        assert_eq!(k.value(), 2.0);
        assert_ne!(naive, 2.0);
    }

    #[test]
    fn overflow_keeps_infinity() {
        let mut k = KahanSum::default();
        k.add(f64::MAX);
        k.add(f64::MAX);
        assert_eq!(k.value(), f64::INFINITY);
    }
}
