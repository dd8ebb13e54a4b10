//! Reading a database's float samples back, by series, for tests that compare them with what
//! they wrote.

use std::collections::BTreeMap;

use firewatch_tsdb::Db;
use model::Matcher;
use storage::ValueType;

/// Every float sample of the series `matcher` selects, over all time, by the series' labels.
pub fn float_samples(db: &Db, matcher: Matcher) -> BTreeMap<String, Vec<(i64, f64)>> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
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
