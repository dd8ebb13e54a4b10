//! Reading float samples back, by series, for tests that compare them with what they wrote.

#![allow(dead_code)]

use std::collections::BTreeMap;

use firewatch_tsdb::Db;
use model::Matcher;
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
    let mut out = BTreeMap::new();
    for s in q.select(true, None, &[matcher]).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == ValueType::Float {
            v.push(it.at());
        }
        out.insert(s.labels().to_string(), v);
    }
    out
}
