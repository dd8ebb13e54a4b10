//! Reading float samples back, by series, for tests that compare them with what they wrote:
//! as floats, or as their bits where NaNs (stale markers among them) must compare equal.

#![allow(dead_code)]

use std::collections::BTreeMap;

use firewatch_tsdb::Db;
use model::{Labels, Matcher};
use storage::{Querier, ValueType};

/// Every float sample of the series `matcher` selects, over all time, by the series' labels.
pub fn float_samples(db: &Db, matcher: Matcher) -> BTreeMap<String, Vec<(i64, f64)>> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    queried_float_samples(q.as_ref(), matcher)
}

/// Every float sample `q` has of the series `matcher` selects, by the series' labels.
pub fn queried_float_samples(
    q: &dyn Querier,
    matcher: Matcher,
) -> BTreeMap<String, Vec<(i64, f64)>> {
    queried(q, &[matcher], |v| v)
}

/// Every float sample of the series `matchers` select, over all time, by the series' labels,
/// each value as its bits (bit-exact: NaNs and stale markers compare as written).
pub fn float_sample_bits(db: &Db, matchers: &[Matcher]) -> BTreeMap<String, Vec<(i64, u64)>> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    queried(q.as_ref(), matchers, f64::to_bits)
}

/// Every float sample `q` has of the series `matchers` select, with the series' labels in
/// the querier's order, each value as its bits.
pub fn queried_float_sample_bits(
    q: &dyn Querier,
    matchers: &[Matcher],
) -> Vec<(Labels, Vec<(i64, u64)>)> {
    series_samples(q, matchers, f64::to_bits)
}

/// Every float sample `q` has of the series `matchers` select, by the series' labels, each
/// value as `value` gives it.
fn queried<V>(
    q: &dyn Querier,
    matchers: &[Matcher],
    value: fn(f64) -> V,
) -> BTreeMap<String, Vec<(i64, V)>> {
    series_samples(q, matchers, value)
        .into_iter()
        .map(|(l, v)| (l.to_string(), v))
        .collect()
}

/// Every float sample `q` has of the series `matchers` select, with the series' labels in
/// the querier's order, each value as `value` gives it.
fn series_samples<V>(
    q: &dyn Querier,
    matchers: &[Matcher],
    value: fn(f64) -> V,
) -> Vec<(Labels, Vec<(i64, V)>)> {
    let mut out = Vec::new();
    for s in q.select(true, None, matchers).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == ValueType::Float {
            let (t, x) = it.at();
            v.push((t, value(x)));
        }
        out.push((s.labels().clone(), v));
    }
    out
}
