//! The few native-histogram operations the engine needs so far: scaling, adding and
//! subtracting histograms of one schema, interpolation.

use std::collections::BTreeMap;

use model::histogram::CounterResetHint;
use model::{FloatHistogram, Span};

/// Bucket index to count, from spans and absolute counts.
#[must_use]
pub fn bucket_map(spans: &[Span], counts: &[f64]) -> BTreeMap<i32, f64> {
    let mut out = BTreeMap::new();
    let mut idx = 0i32;
    let mut k = 0usize;
    for s in spans {
        idx += s.offset;
        for _ in 0..s.length {
            if let Some(c) = counts.get(k) {
                out.insert(idx, *c);
            }
            idx += 1;
            k += 1;
        }
    }
    out
}

/// Spans and counts from a bucket map (zero buckets kept when `keep_zero`).
#[must_use]
pub fn from_map(m: &BTreeMap<i32, f64>, keep_zero: bool) -> (Vec<Span>, Vec<f64>) {
    let mut spans: Vec<Span> = Vec::new();
    let mut counts = Vec::new();
    let mut next: Option<i32> = None;
    for (&i, &c) in m {
        if c == 0.0 && !keep_zero {
            continue;
        }
        match (next, spans.last_mut()) {
            (Some(n), Some(last)) if n == i => last.length += 1,
            (Some(n), _) => spans.push(Span {
                offset: i - n,
                length: 1,
            }),
            (None, _) => spans.push(Span {
                offset: i,
                length: 1,
            }),
        }
        counts.push(c);
        next = Some(i + 1);
    }
    (spans, counts)
}

/// `h * factor`.
#[must_use]
pub fn scale(h: &FloatHistogram, factor: f64) -> FloatHistogram {
    let mut out = h.clone();
    out.count *= factor;
    out.sum *= factor;
    out.zero_count *= factor;
    out.positive_buckets.iter_mut().for_each(|b| *b *= factor);
    out.negative_buckets.iter_mut().for_each(|b| *b *= factor);
    if factor < 0.0 {
        out.counter_reset_hint = CounterResetHint::Gauge;
    }
    out
}

/// `h / divisor`; dividing by zero leaves no buckets (and infinite or NaN totals).
#[must_use]
pub fn div(h: &FloatHistogram, divisor: f64) -> FloatHistogram {
    if divisor != 0.0 {
        let mut out = scale(h, 1.0 / divisor);
        if divisor < 0.0 {
            out.counter_reset_hint = CounterResetHint::Gauge;
        }
        return out;
    }
    let mut out = h.clone();
    out.count /= divisor;
    out.sum /= divisor;
    out.zero_count /= divisor;
    out.positive_spans.clear();
    out.positive_buckets.clear();
    out.negative_spans.clear();
    out.negative_buckets.clear();
    out
}

/// Whether the histogram uses custom bucket bounds (schema -53).
#[must_use]
pub fn is_custom(h: &FloatHistogram) -> bool {
    h.schema == -53
}

/// Bucket index at a lower resolution (`from` > `to`), as Prometheus maps them.
fn target_idx(idx: i32, from: i32, to: i32) -> i32 {
    ((idx - 1) >> (from - to)) + 1
}

/// The histogram at a lower (or equal) exponential schema.
#[must_use]
pub fn reduce_schema(h: &FloatHistogram, to: i32) -> FloatHistogram {
    if is_custom(h) || h.schema <= to {
        return h.clone();
    }
    let reduce = |spans: &[Span], counts: &[f64]| {
        let mut m: BTreeMap<i32, f64> = BTreeMap::new();
        for (i, c) in bucket_map(spans, counts) {
            *m.entry(target_idx(i, h.schema, to)).or_insert(0.0) += c;
        }
        from_map(&m, true)
    };
    let mut out = h.clone();
    out.schema = to;
    (out.positive_spans, out.positive_buckets) = reduce(&h.positive_spans, &h.positive_buckets);
    (out.negative_spans, out.negative_buckets) = reduce(&h.negative_spans, &h.negative_buckets);
    out
}

/// `a + b` (or `a - b`) at the lower of both schemas; `None` when exponential and custom
/// buckets are mixed or custom bounds differ.
#[must_use]
pub fn combine(a: &FloatHistogram, b: &FloatHistogram, sub: bool) -> Option<FloatHistogram> {
    if is_custom(a) != is_custom(b) {
        return None;
    }
    if is_custom(a) && a.custom_values != b.custom_values {
        let common = common_bounds(&[&a.custom_values, &b.custom_values]);
        return combine(&to_bounds(a, &common), &to_bounds(b, &common), sub);
    }
    let schema = a.schema.min(b.schema);
    let (a, b) = (reduce_schema(a, schema), reduce_schema(b, schema));
    let sign = if sub { -1.0 } else { 1.0 };
    let merge = |sa: &[Span], ca: &[f64], sb: &[Span], cb: &[f64]| {
        let mut m = bucket_map(sa, ca);
        for (i, c) in bucket_map(sb, cb) {
            *m.entry(i).or_insert(0.0) += sign * c;
        }
        m
    };
    let pos = merge(
        &a.positive_spans,
        &a.positive_buckets,
        &b.positive_spans,
        &b.positive_buckets,
    );
    let neg = merge(
        &a.negative_spans,
        &a.negative_buckets,
        &b.negative_spans,
        &b.negative_buckets,
    );
    let mut out = a.clone();
    out.counter_reset_hint = merge_hints(a.counter_reset_hint, b.counter_reset_hint);
    out.count += sign * b.count;
    out.sum += sign * b.sum;
    out.zero_count += sign * b.zero_count;
    out.zero_threshold = out.zero_threshold.max(b.zero_threshold);
    (out.positive_spans, out.positive_buckets) = from_map(&pos, true);
    (out.negative_spans, out.negative_buckets) = from_map(&neg, true);
    Some(out)
}

/// The bounds shared by all custom-bucket layouts (their intersection).
#[must_use]
pub fn common_bounds(all: &[&[f64]]) -> Vec<f64> {
    let mut out: Vec<f64> = all.first().map(|b| b.to_vec()).unwrap_or_default();
    out.retain(|v| all.iter().all(|b| b.contains(v)));
    out
}

/// A custom-bucket histogram re-bucketed onto coarser `bounds` (a subset of its own).
#[must_use]
pub fn to_bounds(h: &FloatHistogram, bounds: &[f64]) -> FloatHistogram {
    let mut m: BTreeMap<i32, f64> = BTreeMap::new();
    for (i, c) in bucket_map(&h.positive_spans, &h.positive_buckets) {
        let upper = h
            .custom_values
            .get(i as usize)
            .copied()
            .unwrap_or(f64::INFINITY);
        let j = bounds.partition_point(|b| *b < upper) as i32;
        *m.entry(j).or_insert(0.0) += c;
    }
    let mut out = h.clone();
    out.custom_values = bounds.to_vec();
    (out.positive_spans, out.positive_buckets) = from_map(&m, true);
    out
}

/// Whether custom-bucket histograms with different bounds meet (they get reconciled).
#[must_use]
pub fn mismatched_bounds(hs: &[&FloatHistogram]) -> bool {
    hs.iter().all(|h| is_custom(h))
        && hs
            .windows(2)
            .any(|w| w[0].custom_values != w[1].custom_values)
}

/// The counter-reset hint of a sum or difference of two histograms.
#[must_use]
pub fn merge_hints(a: CounterResetHint, b: CounterResetHint) -> CounterResetHint {
    use CounterResetHint as H;
    if a == b {
        a
    } else if a == H::Gauge || b == H::Gauge {
        H::Gauge
    } else {
        H::Unknown
    }
}

/// Sums histograms with compensated (Kahan) summation of every component, at the lowest
/// schema; `None` when exponential and custom buckets mix or custom bounds differ.
/// With `mean`, returns the mean instead (switching to an incremental mean per component
/// where the sum would overflow).
#[must_use]
pub fn sum_or_mean(hs: &[&FloatHistogram], mean: bool) -> Option<FloatHistogram> {
    let first = hs.first()?;
    let custom = is_custom(first);
    if hs.iter().any(|h| is_custom(h) != custom) {
        return None;
    }
    if custom && hs.iter().any(|h| h.custom_values != first.custom_values) {
        let all: Vec<&[f64]> = hs.iter().map(|h| h.custom_values.as_slice()).collect();
        let common = common_bounds(&all);
        let converted: Vec<FloatHistogram> = hs.iter().map(|h| to_bounds(h, &common)).collect();
        let refs: Vec<&FloatHistogram> = converted.iter().collect();
        return sum_or_mean(&refs, mean);
    }
    let schema = hs.iter().map(|h| h.schema).min()?;
    let reduced: Vec<FloatHistogram> = hs.iter().map(|h| reduce_schema(h, schema)).collect();
    let agg = |vals: Vec<f64>| -> f64 {
        if mean {
            crate::kernels::over_time::mean(vals.into_iter())
        } else {
            let mut k = crate::kernels::kahan::KahanSum::default();
            vals.into_iter().for_each(|v| k.add(v));
            k.value()
        }
    };
    let buckets = |neg: bool| {
        let maps: Vec<BTreeMap<i32, f64>> = reduced
            .iter()
            .map(|h| {
                if neg {
                    bucket_map(&h.negative_spans, &h.negative_buckets)
                } else {
                    bucket_map(&h.positive_spans, &h.positive_buckets)
                }
            })
            .collect();
        let mut idx: Vec<i32> = maps.iter().flat_map(|m| m.keys().copied()).collect();
        idx.sort_unstable();
        idx.dedup();
        let out: BTreeMap<i32, f64> = idx
            .into_iter()
            .map(|i| {
                (
                    i,
                    agg(maps
                        .iter()
                        .map(|m| m.get(&i).copied().unwrap_or(0.0))
                        .collect()),
                )
            })
            .collect();
        from_map(&out, true)
    };
    let mut out = reduced[0].clone();
    out.count = agg(reduced.iter().map(|h| h.count).collect());
    out.sum = agg(reduced.iter().map(|h| h.sum).collect());
    out.zero_count = agg(reduced.iter().map(|h| h.zero_count).collect());
    out.zero_threshold = reduced.iter().map(|h| h.zero_threshold).fold(0.0, f64::max);
    out.counter_reset_hint = reduced
        .iter()
        .skip(1)
        .fold(reduced[0].counter_reset_hint, |a, h| {
            merge_hints(a, h.counter_reset_hint)
        });
    (out.positive_spans, out.positive_buckets) = buckets(false);
    (out.negative_spans, out.negative_buckets) = buckets(true);
    Some(out)
}

/// Whether `cur` follows a counter reset after `prev` (hints first, then the counts).
#[must_use]
pub fn detect_reset(cur: &FloatHistogram, prev: &FloatHistogram) -> bool {
    use CounterResetHint as H;
    match cur.counter_reset_hint {
        H::CounterReset => return true,
        H::NotCounterReset => return false,
        _ => {}
    }
    if cur.count < prev.count {
        return true;
    }
    if is_custom(cur) != is_custom(prev) {
        return true;
    }
    if is_custom(cur) && cur.custom_values != prev.custom_values {
        // Compare on the bounds both layouts share.
        let common = common_bounds(&[&cur.custom_values, &prev.custom_values]);
        let (c, p) = (to_bounds(cur, &common), to_bounds(prev, &common));
        let cm = bucket_map(&c.positive_spans, &c.positive_buckets);
        return bucket_map(&p.positive_spans, &p.positive_buckets)
            .into_iter()
            .any(|(i, v)| v > cm.get(&i).copied().unwrap_or(0.0));
    }
    if cur.schema > prev.schema
        || cur.zero_threshold < prev.zero_threshold
        || cur.zero_count < prev.zero_count
    {
        return true;
    }
    let p = reduce_schema(prev, cur.schema);
    let decreased = |cs: &[Span], cc: &[f64], ps: &[Span], pc: &[f64]| {
        let cm = bucket_map(cs, cc);
        bucket_map(ps, pc)
            .into_iter()
            .any(|(i, c)| c > cm.get(&i).copied().unwrap_or(0.0))
    };
    decreased(
        &cur.positive_spans,
        &cur.positive_buckets,
        &p.positive_spans,
        &p.positive_buckets,
    ) || decreased(
        &cur.negative_spans,
        &cur.negative_buckets,
        &p.negative_spans,
        &p.negative_buckets,
    )
}

/// Whether two histograms are equal in value (for `changes`).
#[must_use]
pub fn equal(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    let same = |x: BTreeMap<i32, f64>, y: BTreeMap<i32, f64>| {
        let x: Vec<_> = x.into_iter().filter(|(_, c)| *c != 0.0).collect();
        let y: Vec<_> = y.into_iter().filter(|(_, c)| *c != 0.0).collect();
        x == y
    };
    a.schema == b.schema
        && a.count == b.count
        && a.sum.to_bits() == b.sum.to_bits()
        && a.zero_count == b.zero_count
        && a.zero_threshold == b.zero_threshold
        && a.custom_values == b.custom_values
        && same(
            bucket_map(&a.positive_spans, &a.positive_buckets),
            bucket_map(&b.positive_spans, &b.positive_buckets),
        )
        && same(
            bucket_map(&a.negative_spans, &a.negative_buckets),
            bucket_map(&b.negative_spans, &b.negative_buckets),
        )
}

/// `a + (b - a) * frac`.
#[must_use]
pub fn interpolate(a: &FloatHistogram, b: &FloatHistogram, frac: f64) -> Option<FloatHistogram> {
    let diff = combine(b, a, true)?;
    let mut out = combine(a, &scale(&diff, frac), false)?;
    out.counter_reset_hint = b.counter_reset_hint;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_and_scale() {
        let a = FloatHistogram {
            count: 2.0,
            sum: 3.0,
            positive_spans: vec![Span {
                offset: 0,
                length: 2,
            }],
            positive_buckets: vec![1.0, 1.0],
            ..FloatHistogram::default()
        };
        let b = FloatHistogram {
            count: 1.0,
            sum: 1.0,
            positive_spans: vec![Span {
                offset: 3,
                length: 1,
            }],
            positive_buckets: vec![1.0],
            ..FloatHistogram::default()
        };
        let s = combine(&a, &b, false).unwrap();
        assert_eq!(s.count, 3.0);
        assert_eq!(bucket_map(&s.positive_spans, &s.positive_buckets).len(), 3);
        assert_eq!(scale(&s, 2.0).sum, 8.0);
        let mid = interpolate(&a, &s, 0.5).unwrap();
        assert_eq!(mid.count, 2.5);
    }
}
