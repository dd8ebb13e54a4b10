//! Helpers shared by the remote write tests (sender and receiver).

use model::{MatchOp, Matcher};
use storage::ValueType;
use tsdb::Db;

/// Every series in `db` with its samples, as text, in the querier's order:
/// `{labels} t=v ...` (histograms as `t=h<count>`, float histograms as `t=fh<count>`).
pub fn dump(db: &Db) -> Vec<String> {
    let q = storage::Queryable::querier(db, i64::MIN / 2, i64::MAX / 2).unwrap();
    let set = q
        .select(
            true,
            None,
            &[Matcher::new(MatchOp::RegexMatch, "__name__", ".+").unwrap()],
        )
        .unwrap();
    let mut out = Vec::new();
    for s in set {
        let s = s.unwrap();
        let mut line = s.labels().to_string();
        let mut it = s.iter();
        loop {
            match it.next() {
                ValueType::None => break,
                ValueType::Float => {
                    let (t, v) = it.at();
                    line.push_str(&format!(" {t}={v}"));
                }
                ValueType::Histogram => {
                    let (t, h) = it.at_histogram();
                    line.push_str(&format!(" {t}=h{}", h.count));
                }
                ValueType::FloatHistogram => {
                    let (t, h) = it.at_float_histogram();
                    line.push_str(&format!(" {t}=fh{}", h.count));
                }
            }
        }
        out.push(line);
    }
    out
}
