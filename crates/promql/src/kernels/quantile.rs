//! Quantiles of values (`quantile`, `quantile_over_time`) and of classic `le` buckets
//! (`histogram_quantile`), with Prometheus's monotonicity fix and interpolation rules.

/// The `q` quantile of `values` (sorted in place; NaN sorts first), interpolating between
/// the two closest ranks. NaN for no values or NaN `q`; ±Inf for `q` outside [0, 1].
pub fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// One classic histogram bucket: its upper bound (`le`) and cumulative count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// The upper bound.
    pub upper_bound: f64,
    /// The cumulative count.
    pub count: f64,
}

/// What [`bucket_quantile`] had to fix in its input.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BucketFixes {
    /// Some bucket counts decreased and were raised to keep counts monotonic.
    pub forced_monotonic: bool,
    /// Tiny floating-point differences were ignored.
    pub fixed_precision: bool,
}

/// Relative tolerance below which bucket count differences are treated as rounding noise.
const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

/// Relative float equality as Prometheus's `almost.Equal` (both NaN counts as equal).
#[must_use]
pub fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    let stale_a = model::is_stale_nan(a);
    let stale_b = model::is_stale_nan(b);
    if stale_a || stale_b {
        return stale_a && stale_b;
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let min_normal = f64::MIN_POSITIVE;
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < min_normal {
        return diff < epsilon * min_normal;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// `histogram_quantile` over classic buckets: sorts, merges equal bounds, forces
/// monotonicity, then interpolates linearly within the bucket holding rank `q * count`.
/// NaN when the highest bound is not +Inf, with fewer than two buckets or no observations.
pub fn bucket_quantile(q: f64, buckets: &mut Vec<Bucket>) -> (f64, BucketFixes) {
    let mut fixes = BucketFixes::default();
    if q.is_nan() {
        return (f64::NAN, fixes);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, fixes);
    }
    if q > 1.0 {
        return (f64::INFINITY, fixes);
    }
    buckets.sort_by(|a, b| {
        a.upper_bound
            .partial_cmp(&b.upper_bound)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if buckets
        .last()
        .is_none_or(|b| b.upper_bound != f64::INFINITY)
    {
        return (f64::NAN, fixes);
    }
    coalesce(buckets);
    fixes = ensure_monotonic(buckets);
    if buckets.len() < 2 {
        return (f64::NAN, fixes);
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 {
        return (f64::NAN, fixes);
    }
    let mut rank = q * observations;
    let n = buckets.len();
    let b = buckets[..n - 1].partition_point(|b| b.count < rank);
    let v = if b == n - 1 {
        buckets[n - 2].upper_bound
    } else if b == 0 && buckets[0].upper_bound <= 0.0 {
        buckets[0].upper_bound
    } else {
        let mut start = 0.0;
        let end = buckets[b].upper_bound;
        let mut count = buckets[b].count;
        if b > 0 {
            start = buckets[b - 1].upper_bound;
            count -= buckets[b - 1].count;
            rank -= buckets[b - 1].count;
        }
        start + (end - start) * (rank / count)
    };
    (v, fixes)
}

/// `histogram_fraction` over classic buckets: the share of observations between `lower`
/// and `upper`, interpolating linearly inside buckets (lower bound 0 unless the first
/// bucket's bound is not positive).
pub fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<Bucket>) -> f64 {
    buckets.sort_by(|a, b| {
        a.upper_bound
            .partial_cmp(&b.upper_bound)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if buckets
        .last()
        .is_none_or(|b| b.upper_bound != f64::INFINITY)
    {
        return f64::NAN;
    }
    coalesce(buckets);
    let count = buckets[buckets.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let mut lower_bound = if buckets[0].upper_bound <= 0.0 {
        f64::NEG_INFINITY
    } else {
        0.0
    };
    for (i, b) in buckets.iter().enumerate() {
        if i > 0 {
            lower_bound = buckets[i - 1].upper_bound;
        }
        let upper_bound = b.upper_bound;
        let interp = |v: f64| {
            if lower_bound == f64::NEG_INFINITY {
                b.count
            } else {
                rank + (b.count - rank) * (v - lower_bound) / (upper_bound - lower_bound)
            }
        };
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = interp(lower);
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = interp(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = b.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

fn coalesce(buckets: &mut Vec<Bucket>) {
    let mut out: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match out.last_mut() {
            Some(last) if last.upper_bound == b.upper_bound => last.count += b.count,
            _ => out.push(*b),
        }
    }
    *buckets = out;
}

fn ensure_monotonic(buckets: &mut [Bucket]) -> BucketFixes {
    let mut fixes = BucketFixes::default();
    let mut prev = buckets[0].count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) {
            b.count = prev;
            fixes.fixed_precision = true;
            continue;
        }
        if curr < prev {
            b.count = prev;
            fixes.forced_monotonic = true;
            continue;
        }
        prev = curr;
    }
    fixes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &[(f64, f64)]) -> Vec<Bucket> {
        v.iter()
            .map(|&(upper_bound, count)| Bucket { upper_bound, count })
            .collect()
    }

    #[test]
    fn quantile_interpolates() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(0.5, &mut v), 2.5);
        assert_eq!(quantile(0.0, &mut v), 1.0);
        assert_eq!(quantile(1.5, &mut v), f64::INFINITY);
        assert!(quantile(0.5, &mut []).is_nan());
    }

    #[test]
    fn bucket_quantile_rules() {
        let mut bs = b(&[(f64::INFINITY, 100.0), (0.1, 50.0), (0.2, 100.0)]);
        let (v, fixes) = bucket_quantile(0.25, &mut bs);
        assert!((v - 0.05).abs() < 1e-12);
        assert_eq!(fixes, BucketFixes::default());
        let (v, _) = bucket_quantile(
            0.99,
            &mut b(&[(0.1, 0.0), (0.2, 0.0), (f64::INFINITY, 10.0)]),
        );
        assert_eq!(v, 0.2, "highest bucket returns the second-highest bound");
        let (v, fixes) = bucket_quantile(
            0.5,
            &mut b(&[(1.0, 10.0), (2.0, 5.0), (f64::INFINITY, 10.0)]),
        );
        assert!(fixes.forced_monotonic);
        assert!((v - 0.5).abs() < 1e-12);
        assert!(
            bucket_quantile(0.5, &mut b(&[(1.0, 1.0), (2.0, 2.0)]))
                .0
                .is_nan()
        );
    }

    #[test]
    fn almost_equal_matches_prometheus() {
        assert!(almost_equal(1.0, 1.0 + 1e-9, 1e-6));
        assert!(!almost_equal(1.0, 1.1, 1e-6));
        assert!(almost_equal(f64::NAN, f64::NAN, 1e-6));
        assert!(!almost_equal(model::STALE_NAN, f64::NAN, 1e-6));
        assert!(!almost_equal(0.0, 1e-300, 1e-6));
    }
}
