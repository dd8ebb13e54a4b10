//! Small native-histogram helpers the script runner needs: bucket maps, combining two
//! histograms of one schema (for `{{A}}+{{B}}xN`) and tolerant comparison.

use std::collections::BTreeMap;

use model::FloatHistogram;

use crate::kernels::quantile::almost_equal;

pub use crate::engine::histo::{bucket_map, from_map};

/// `a + b` (or `a - b`) for histograms of the same schema.
///
/// # Errors
/// When the schemas differ.
pub fn combine(
    a: &FloatHistogram,
    b: &FloatHistogram,
    sub: bool,
) -> Result<FloatHistogram, String> {
    let mut out = crate::engine::histo::combine(a, b, sub)
        .ok_or("cannot combine histograms of different schemas")?;
    out.counter_reset_hint = b.counter_reset_hint;
    Ok(out)
}

/// Compares an expected and an actual histogram as Prometheus's test runner does
/// (compacted buckets, float tolerance 1e-6, hint only when spelled out).
#[must_use]
pub fn histograms_match(exp: &FloatHistogram, act: &FloatHistogram, hint_set: bool) -> bool {
    const EPS: f64 = 1e-6;
    if exp.schema != act.schema
        || !almost_equal(exp.count, act.count, EPS)
        || !almost_equal(exp.sum, act.sum, EPS)
        || !almost_equal(exp.zero_count, act.zero_count, EPS)
        || exp.zero_threshold != act.zero_threshold
    {
        return false;
    }
    if hint_set && exp.counter_reset_hint != act.counter_reset_hint {
        return false;
    }
    if exp.schema == -53 && exp.custom_values != act.custom_values {
        return false;
    }
    let same = |a: BTreeMap<i32, f64>, b: BTreeMap<i32, f64>| {
        let a: Vec<_> = a.into_iter().filter(|(_, c)| *c != 0.0).collect();
        let b: Vec<_> = b.into_iter().filter(|(_, c)| *c != 0.0).collect();
        a.len() == b.len()
            && a.iter()
                .zip(&b)
                .all(|(x, y)| x.0 == y.0 && almost_equal(x.1, y.1, EPS))
    };
    same(
        bucket_map(&exp.positive_spans, &exp.positive_buckets),
        bucket_map(&act.positive_spans, &act.positive_buckets),
    ) && same(
        bucket_map(&exp.negative_spans, &exp.negative_buckets),
        bucket_map(&act.negative_spans, &act.negative_buckets),
    )
}

/// Formats a histogram in the script notation, for failure messages.
#[must_use]
pub fn test_expression(h: &FloatHistogram) -> String {
    let (spans, counts) = from_map(&bucket_map(&h.positive_spans, &h.positive_buckets), false);
    let mut s = format!("{{{{schema:{} count:{} sum:{}", h.schema, h.count, h.sum);
    if h.zero_count != 0.0 {
        s += &format!(" z_bucket:{} z_bucket_w:{}", h.zero_count, h.zero_threshold);
    }
    if !counts.is_empty() {
        s += &format!(" offset:{} buckets:{:?}", spans[0].offset, counts);
    }
    if !h.custom_values.is_empty() {
        s += &format!(" custom_values:{:?}", h.custom_values);
    }
    s + "}}"
}
