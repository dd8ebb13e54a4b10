//! Quantiles and fractions of native histograms (`histogram_quantile`,
//! `histogram_fraction`), with exponential interpolation inside exponential buckets and
//! linear interpolation in the zero bucket and in custom buckets.

use model::FloatHistogram;

use super::histo::{bucket_map, is_custom};

/// One bucket with its bounds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    pub(crate) lower: f64,
    pub(crate) upper: f64,
    pub(crate) count: f64,
}

/// Upper bound of exponential bucket `idx` at `schema`.
fn bound(idx: i32, schema: i32) -> f64 {
    (f64::from(idx) * (-f64::from(schema)).exp2()).exp2()
}

/// All buckets in ascending order of their bounds: negative, zero, positive.
pub(crate) fn all_buckets(h: &FloatHistogram) -> Vec<Bucket> {
    let mut out = Vec::new();
    if is_custom(h) {
        for (i, c) in bucket_map(&h.positive_spans, &h.positive_buckets) {
            let i = i as usize;
            let lower = if i == 0 {
                f64::NEG_INFINITY
            } else {
                h.custom_values.get(i - 1).copied().unwrap_or(f64::INFINITY)
            };
            let upper = h.custom_values.get(i).copied().unwrap_or(f64::INFINITY);
            out.push(Bucket {
                lower,
                upper,
                count: c,
            });
        }
        return out;
    }
    for (i, c) in bucket_map(&h.negative_spans, &h.negative_buckets)
        .into_iter()
        .rev()
    {
        out.push(Bucket {
            lower: -bound(i, h.schema),
            upper: -bound(i - 1, h.schema),
            count: c,
        });
    }
    if h.zero_count > 0.0 || h.zero_threshold > 0.0 {
        out.push(Bucket {
            lower: -h.zero_threshold,
            upper: h.zero_threshold,
            count: h.zero_count,
        });
    }
    for (i, c) in bucket_map(&h.positive_spans, &h.positive_buckets) {
        out.push(Bucket {
            lower: bound(i - 1, h.schema),
            upper: bound(i, h.schema),
            count: c,
        });
    }
    out
}

/// What a quantile or fraction of a histogram with NaN observations reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NanNote {
    /// No NaN observations involved.
    None,
    /// The result is NaN because of NaN observations.
    NanResult,
    /// NaN observations skew the result higher (or are left out of fractions).
    Skewed,
}

/// Prometheus's text form of a histogram (as `count_values` uses it):
/// `{count:20, sum:10, [-2,-1):2, [-0.001,0.001]:2, (0.5,1]:1}`.
pub(crate) fn histogram_string(h: &FloatHistogram) -> String {
    use super::annotations::go_g;
    let mut s = format!("{{count:{}, sum:{}", go_g(h.count), go_g(h.sum));
    for b in all_buckets(h) {
        if b.count == 0.0 {
            continue;
        }
        let (open, close) = if !is_custom(h) && b.lower < 0.0 && b.upper > 0.0 {
            ("[", "]")
        } else if b.upper <= 0.0 && !is_custom(h) {
            ("[", ")")
        } else {
            ("(", "]")
        };
        s += &format!(
            ", {open}{},{}{close}:{}",
            go_g(b.lower),
            go_g(b.upper),
            go_g(b.count)
        );
    }
    s + "}"
}

/// The `q` quantile of a native histogram, with a note about NaN observations.
pub(crate) fn histogram_quantile_noted(q: f64, h: &FloatHistogram) -> (f64, NanNote) {
    let v = quantile_inner(q, h);
    if !h.sum.is_nan() || h.count == 0.0 || q.is_nan() || !(0.0..=1.0).contains(&q) {
        return (v, NanNote::None);
    }
    let total: f64 = all_buckets(h).iter().map(|b| b.count).sum();
    if v.is_nan() {
        (v, NanNote::NanResult)
    } else if total < h.count {
        (v, NanNote::Skewed)
    } else {
        (v, NanNote::None)
    }
}

fn quantile_inner(q: f64, h: &FloatHistogram) -> f64 {
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    if h.count == 0.0 || q.is_nan() {
        return f64::NAN;
    }
    let mut buckets = all_buckets(h);
    let forward = h.sum.is_nan() || q < 0.5;
    if !forward {
        buckets.reverse();
    }
    let mut rank = if forward {
        q * h.count
    } else {
        (1.0 - q) * h.count
    };
    let mut count = 0.0;
    let mut bucket = Bucket {
        lower: 0.0,
        upper: 0.0,
        count: 0.0,
    };
    for b in &buckets {
        if b.count == 0.0 {
            continue;
        }
        bucket = *b;
        count += b.count;
        if count >= rank {
            break;
        }
    }
    let has_neg = !h.negative_buckets.is_empty();
    let has_pos = !h.positive_buckets.is_empty();
    if !is_custom(h) && bucket.lower < 0.0 && bucket.upper > 0.0 {
        if !has_neg && has_pos {
            bucket.lower = 0.0;
        } else if !has_pos && has_neg {
            bucket.upper = 0.0;
        }
    } else if is_custom(h) {
        if bucket.lower == f64::NEG_INFINITY {
            if bucket.upper <= 0.0 {
                return bucket.upper;
            }
            bucket.lower = 0.0;
        } else if bucket.upper == f64::INFINITY {
            return bucket.lower;
        }
    }
    count = count.min(h.count);
    if count < rank {
        if h.sum.is_nan() {
            return f64::NAN;
        }
        return bucket.upper;
    }
    if forward {
        rank -= count - bucket.count;
    } else {
        rank = count - rank;
    }
    let fraction = rank / bucket.count;
    if is_custom(h) || (bucket.lower <= 0.0 && bucket.upper >= 0.0) {
        return bucket.lower + (bucket.upper - bucket.lower) * fraction;
    }
    let log_lower = bucket.lower.abs().log2();
    let log_upper = bucket.upper.abs().log2();
    if bucket.lower > 0.0 {
        (log_lower + (log_upper - log_lower) * fraction).exp2()
    } else {
        -(log_upper + (log_lower - log_upper) * (1.0 - fraction)).exp2()
    }
}

/// Estimated variance of the observations: every bucket's observations are placed at its
/// arithmetic (custom buckets, zero bucket) or geometric (exponential buckets) midpoint.
pub(crate) fn histogram_variance(h: &FloatHistogram) -> f64 {
    let mean = h.sum / h.count;
    let custom = is_custom(h);
    let mut k = crate::kernels::kahan::KahanSum::default();
    for b in all_buckets(h) {
        if b.count == 0.0 {
            continue;
        }
        let val = if custom {
            f64::midpoint(b.upper, b.lower)
        } else if b.lower <= 0.0 && b.upper >= 0.0 {
            0.0
        } else {
            let v = (b.upper * b.lower).sqrt();
            if b.upper < 0.0 { -v } else { v }
        };
        let delta = val - mean;
        k.add(b.count * delta * delta);
    }
    k.value() / h.count
}

/// Where the observations surviving in `[lower, upper]` are assumed to sit.
fn midpoint(lower: f64, upper: f64, positive: bool, linear: bool) -> f64 {
    if lower.is_infinite() {
        if upper.is_infinite() {
            return 0.0;
        }
        return if upper > 0.0 { upper / 2.0 } else { upper };
    }
    if upper.is_infinite() {
        return lower;
    }
    if linear {
        return f64::midpoint(lower, upper);
    }
    let g = (lower * upper).abs().sqrt();
    if positive { g } else { -g }
}

/// Kept count and midpoint of a bucket with an infinite bound.
fn trim_infinite(b: &Bucket, rhs: f64, upper_trim: bool) -> (f64, f64) {
    let zero_if_inf = |x: f64| if x.is_infinite() { 0.0 } else { x };
    if b.lower == f64::NEG_INFINITY {
        if upper_trim {
            if rhs >= b.upper {
                return (b.count, 0.0);
            }
            if rhs > 0.0 && b.upper > 0.0 && b.upper.is_finite() {
                return (b.count * rhs / b.upper, rhs / 2.0);
            }
            if b.upper <= 0.0 {
                return (b.count, rhs);
            }
            return (0.0, zero_if_inf(b.upper));
        }
        if rhs <= b.lower {
            return (b.count, 0.0);
        }
        if rhs >= 0.0 && b.upper > rhs && b.upper.is_finite() {
            return (b.count * (1.0 - rhs / b.upper), f64::midpoint(rhs, b.upper));
        }
        return (0.0, zero_if_inf(b.upper));
    }
    if upper_trim {
        return (0.0, zero_if_inf(b.lower));
    }
    if rhs >= b.lower {
        return (b.count, rhs);
    }
    (0.0, zero_if_inf(b.lower))
}

/// Kept count and midpoint of a bucket split by `rhs`.
fn trim_bucket(b: &Bucket, rhs: f64, upper_trim: bool, positive: bool, linear: bool) -> (f64, f64) {
    if b.lower == f64::NEG_INFINITY || b.upper == f64::INFINITY {
        return trim_infinite(b, rhs, upper_trim);
    }
    let under = if rhs <= b.lower {
        0.0
    } else if rhs >= b.upper {
        b.count
    } else {
        b.count * fraction_below(b, rhs, linear)
    };
    if upper_trim {
        (under, midpoint(b.lower, rhs, positive, linear))
    } else {
        (b.count - under, midpoint(rhs, b.upper, positive, linear))
    }
}

/// `h </ rhs` (`upper_trim`: drop observations above `rhs`) or `h >/ rhs` (drop those
/// below); count and sum are re-estimated from the kept buckets when anything was cut.
pub(crate) fn trim(h: &FloatHistogram, rhs: f64, upper_trim: bool) -> FloatHistogram {
    use super::histo::from_map;
    let custom = is_custom(h);
    let (mut count, mut sum, mut trimmed) = (0.0, 0.0, false);
    let bounds = |i: i32, positive: bool| -> (f64, f64) {
        if custom {
            let lower = if i == 0 {
                f64::NEG_INFINITY
            } else {
                h.custom_values
                    .get(i as usize - 1)
                    .copied()
                    .unwrap_or(f64::INFINITY)
            };
            (
                lower,
                h.custom_values
                    .get(i as usize)
                    .copied()
                    .unwrap_or(f64::INFINITY),
            )
        } else if positive {
            (bound(i - 1, h.schema), bound(i, h.schema))
        } else {
            (-bound(i, h.schema), -bound(i - 1, h.schema))
        }
    };
    let mut side = |spans: &[model::Span], counts: &[f64], positive: bool| {
        let mut m = bucket_map(spans, counts);
        let mut any = false;
        for (i, c) in &mut m {
            if *c == 0.0 {
                continue;
            }
            any = true;
            let (lower, upper) = bounds(*i, positive);
            let b = Bucket {
                lower,
                upper,
                count: *c,
            };
            let whole = if upper_trim {
                upper <= rhs
            } else {
                lower >= rhs
            };
            let partial = if upper_trim { lower < rhs } else { upper > rhs };
            if whole {
                count += *c;
                sum += midpoint(lower, upper, positive, custom) * *c;
            } else if partial {
                let (keep, mid) = trim_bucket(&b, rhs, upper_trim, positive, custom);
                count += keep;
                sum += mid * keep;
                if *c != keep {
                    *c = keep;
                    trimmed = true;
                }
            } else {
                *c = 0.0;
                trimmed = true;
            }
        }
        (m, any)
    };
    let (pos, has_pos) = side(&h.positive_spans, &h.positive_buckets, true);
    let (neg, has_neg) = side(&h.negative_spans, &h.negative_buckets, false);
    let mut out = h.clone();
    if h.zero_count > 0.0 {
        let (mut lower, mut upper) = (-h.zero_threshold, h.zero_threshold);
        if has_neg && !has_pos {
            upper = 0.0;
        }
        if has_pos && !has_neg {
            lower = 0.0;
        }
        let (keep, mid) = if upper_trim {
            if rhs <= lower {
                (0.0, 0.0)
            } else if rhs >= upper {
                (h.zero_count, f64::midpoint(lower, upper))
            } else {
                (
                    h.zero_count * (rhs - lower) / (upper - lower),
                    f64::midpoint(lower, rhs),
                )
            }
        } else if rhs <= lower {
            (h.zero_count, f64::midpoint(lower, upper))
        } else if rhs >= upper {
            (0.0, 0.0)
        } else {
            (
                h.zero_count * (upper - rhs) / (upper - lower),
                f64::midpoint(rhs, upper),
            )
        };
        if keep != h.zero_count {
            out.zero_count = keep;
            trimmed = true;
        }
        sum += mid * keep;
        count += keep;
    }
    if trimmed {
        out.count = count;
        out.sum = sum;
        (out.positive_spans, out.positive_buckets) = from_map(&pos, false);
        (out.negative_spans, out.negative_buckets) = from_map(&neg, false);
    }
    out
}

/// Share of bucket `b` below `v`, linearly or exponentially interpolated.
fn fraction_below(b: &Bucket, v: f64, linear: bool) -> f64 {
    if v <= b.lower {
        return 0.0;
    }
    if v >= b.upper {
        return 1.0;
    }
    if linear || (b.lower <= 0.0 && b.upper >= 0.0) {
        return (v - b.lower) / (b.upper - b.lower);
    }
    if b.lower > 0.0 {
        (v.log2() - b.lower.log2()) / (b.upper.log2() - b.lower.log2())
    } else {
        ((-b.lower).log2() - (-v).log2()) / ((-b.lower).log2() - (-b.upper).log2())
    }
}

/// `histogram_fraction(lower, upper, h)`: the share of observations between the bounds.
pub(crate) fn histogram_fraction(lower: f64, upper: f64, h: &FloatHistogram) -> f64 {
    if h.count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let has_neg = !h.negative_buckets.is_empty();
    let has_pos = !h.positive_buckets.is_empty();
    let custom = is_custom(h);
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    for mut b in all_buckets(h) {
        let mut zero_bucket = false;
        if b.lower <= 0.0 && b.upper >= 0.0 {
            zero_bucket = true;
            if !has_neg && has_pos {
                b.lower = 0.0;
            } else if !has_pos && has_neg {
                b.upper = 0.0;
            }
        }
        let interp = |v: f64| {
            if (custom || zero_bucket) && b.lower == f64::NEG_INFINITY {
                b.count
            } else {
                rank + b.count * fraction_below(&b, v, custom || zero_bucket)
            }
        };
        if !lower_set && b.lower >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && b.lower >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && b.lower < lower && b.upper > lower {
            lower_rank = interp(lower);
            lower_set = true;
        }
        if !upper_set && b.lower < upper && b.upper > upper {
            upper_rank = interp(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank += b.count;
    }
    // NaN observations are in no bucket: they count for no fraction.
    let count = if h.sum.is_nan() {
        all_buckets(h).iter().map(|b| b.count).sum()
    } else {
        h.count
    };
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / h.count
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::Span;

    #[test]
    fn quantile_and_fraction_of_exponential_buckets() {
        // Schema 0: buckets (0.5,1], (1,2], (2,4] with 1, 2, 1 observations.
        let h = FloatHistogram {
            count: 4.0,
            sum: 8.0,
            positive_spans: vec![Span {
                offset: 0,
                length: 3,
            }],
            positive_buckets: vec![1.0, 2.0, 1.0],
            ..FloatHistogram::default()
        };
        assert!(
            (histogram_quantile_noted(0.5, &h).0 - 2f64.sqrt()).abs() < 1e-12,
            "exponential interpolation"
        );
        assert!((histogram_fraction(1.0, 2.0, &h) - 0.5).abs() < 1e-12);
        assert_eq!(histogram_fraction(2.0, 1.0, &h), 0.0);
    }

    #[test]
    fn trim_keeps_observations_below_or_above() {
        let h = FloatHistogram {
            count: 4.0,
            sum: 8.0,
            positive_spans: vec![Span {
                offset: 0,
                length: 3,
            }],
            positive_buckets: vec![1.0, 2.0, 1.0],
            ..FloatHistogram::default()
        };
        let t = trim(&h, 2.0, true);
        assert_eq!(t.count, 3.0);
        assert!((t.sum - (0.5f64.sqrt() + 2.0 * 2f64.sqrt())).abs() < 1e-12);
        let t = trim(&h, 0.5, false);
        assert_eq!(t, h, "nothing below the lowest bucket: unchanged");
    }
}
