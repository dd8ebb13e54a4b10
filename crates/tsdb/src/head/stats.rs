//! Head statistics for `/api/v1/status/tsdb`: totals and the postings cardinality tables
//! Prometheus reports (top N by series count, value count and bytes).

use crate::head::Head;
use crate::head::postings::MemPostings;

/// Totals of the head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadSummary {
    /// Series in the head.
    pub num_series: u64,
    /// Distinct label name/value pairs.
    pub num_label_pairs: u64,
    /// Chunks (full and open).
    pub chunk_count: u64,
    /// Oldest sample time (`i64::MAX` when empty).
    pub min_time: i64,
    /// Newest sample time (`i64::MIN` when empty).
    pub max_time: i64,
}

/// Postings cardinality, each table sorted by count descending then name, at most `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cardinality {
    /// Series per metric name.
    pub series_count_by_metric_name: Vec<(String, u64)>,
    /// Distinct values per label name.
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    /// Bytes of values times series, per label name.
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
    /// Series per `name=value` pair.
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
}

fn top(mut v: Vec<(String, u64)>, limit: usize) -> Vec<(String, u64)> {
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(limit);
    v
}

impl MemPostings {
    /// Calls `f(name, value, series)` for every label pair (not the all-series list).
    pub fn for_each_pair(&self, mut f: impl FnMut(&str, &str, usize)) {
        for name in self.label_names() {
            for value in self.label_values(&name) {
                f(&name, &value, self.count(&name, &value));
            }
        }
    }
}

impl Head {
    /// Totals of the head.
    #[must_use]
    pub fn summary(&self) -> HeadSummary {
        let mut pairs = 0u64;
        self.postings.read().for_each_pair(|_, _, _| pairs += 1);
        let mut chunks = 0u64;
        self.series.for_each(|s| {
            let st = s.state.lock();
            chunks += st.full.len() as u64 + u64::from(st.head.is_some());
        });
        HeadSummary {
            num_series: self.num_series() as u64,
            num_label_pairs: pairs,
            chunk_count: chunks,
            min_time: self.min_time(),
            max_time: self.max_time(),
        }
    }

    /// The cardinality tables, `limit` rows each.
    #[must_use]
    pub fn cardinality(&self, limit: usize) -> Cardinality {
        let (mut by_metric, mut pairs) = (Vec::new(), Vec::new());
        let mut values: std::collections::BTreeMap<String, (u64, u64)> =
            std::collections::BTreeMap::new();
        self.postings.read().for_each_pair(|name, value, n| {
            if name == model::METRIC_NAME {
                by_metric.push((value.to_owned(), n as u64));
            }
            pairs.push((format!("{name}={value}"), n as u64));
            let e = values.entry(name.to_owned()).or_default();
            e.0 += 1;
            e.1 += (value.len() * n) as u64;
        });
        Cardinality {
            series_count_by_metric_name: top(by_metric, limit),
            label_value_count_by_label_name: top(
                values.iter().map(|(k, v)| (k.clone(), v.0)).collect(),
                limit,
            ),
            memory_in_bytes_by_label_name: top(
                values.into_iter().map(|(k, v)| (k, v.1)).collect(),
                limit,
            ),
            series_count_by_label_value_pair: top(pairs, limit),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use model::{Sample, labels};
    use storage::Appender;

    use crate::head::{Head, HeadOptions};

    #[test]
    fn summary_and_cardinality() {
        let h = Arc::new(Head::new(HeadOptions::default(), None));
        let mut app = h.appender();
        app.append(
            0,
            &labels!("__name__" => "up", "job" => "a"),
            10,
            Sample::Float(1.0),
        )
        .unwrap();
        app.append(
            0,
            &labels!("__name__" => "up", "job" => "bb"),
            10,
            Sample::Float(1.0),
        )
        .unwrap();
        app.append(
            0,
            &labels!("__name__" => "x", "job" => "a"),
            20,
            Sample::Float(1.0),
        )
        .unwrap();
        app.commit().unwrap();
        let s = h.summary();
        assert_eq!(
            (
                s.num_series,
                s.num_label_pairs,
                s.chunk_count,
                s.min_time,
                s.max_time
            ),
            (3, 4, 3, 10, 20)
        );
        let c = h.cardinality(10);
        assert_eq!(
            c.series_count_by_metric_name,
            vec![("up".to_owned(), 2), ("x".to_owned(), 1)]
        );
        assert_eq!(
            c.label_value_count_by_label_name,
            vec![("__name__".to_owned(), 2), ("job".to_owned(), 2)]
        );
        // job: "a" × 2 series + "bb" × 1 = 4 bytes; __name__: "up" × 2 + "x" × 1 = 5.
        assert_eq!(
            c.memory_in_bytes_by_label_name,
            vec![("__name__".to_owned(), 5), ("job".to_owned(), 4)]
        );
        assert_eq!(
            c.series_count_by_label_value_pair[0],
            ("__name__=up".to_owned(), 2)
        );
        assert_eq!(h.cardinality(1).series_count_by_label_value_pair.len(), 1);
    }
}
