//! `load_with_nhcb`: classic histograms (`X_bucket{le=...}`, `X_count`, `X_sum`) of a load
//! block converted, per timestamp, into native histograms with custom buckets stored as `X`.

use std::collections::BTreeMap;

use model::{FloatHistogram, Labels, Span};

use super::series_desc::SeqValue;

/// One classic histogram being collected at one timestamp.
#[derive(Default)]
struct Temp {
    buckets: Vec<(f64, f64)>,
    count: Option<f64>,
    sum: f64,
}

impl Temp {
    fn convert(mut self) -> Option<FloatHistogram> {
        self.buckets
            .sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        if self.buckets.windows(2).any(|w| w[1].1 < w[0].1) {
            return None;
        }
        let count = self
            .count
            .or_else(|| self.buckets.last().map(|b| b.1))
            .unwrap_or(0.0);
        if self.buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
            self.buckets.push((f64::INFINITY, count));
        }
        let mut prev = 0.0;
        let mut counts = Vec::with_capacity(self.buckets.len());
        for (_, c) in &self.buckets {
            counts.push(c - prev);
            prev = *c;
        }
        Some(FloatHistogram {
            schema: -53,
            count,
            sum: self.sum,
            positive_spans: vec![Span {
                offset: 0,
                length: counts.len() as u32,
            }],
            positive_buckets: counts,
            custom_values: self.buckets[..self.buckets.len() - 1]
                .iter()
                .map(|b| b.0)
                .collect(),
            ..FloatHistogram::default()
        })
    }
}

/// The custom-bucket histogram series of the classic histograms among `series`, with the
/// timestamps of their samples.
pub(crate) fn convert(
    series: &[(Labels, Vec<SeqValue>)],
    step_ms: i64,
) -> Vec<(Labels, Vec<(i64, FloatHistogram)>)> {
    let mut temps: BTreeMap<Labels, BTreeMap<i64, Temp>> = BTreeMap::new();
    for (labels, values) in series {
        let Some(name) = labels.metric_name() else {
            continue;
        };
        let (kind, base) = if let Some(b) = name.strip_suffix("_bucket") {
            (0, b)
        } else if let Some(b) = name.strip_suffix("_count") {
            (1, b)
        } else if let Some(b) = name.strip_suffix("_sum") {
            (2, b)
        } else {
            continue;
        };
        let le = if kind == 0 {
            match labels
                .get("le")
                .and_then(|v| crate::engine::functions::parse_go_float(v).ok())
            {
                Some(le) if !le.is_nan() => Some(le),
                _ => continue,
            }
        } else {
            None
        };
        let mut b = labels.builder();
        b.del("le");
        b.set(model::METRIC_NAME, base);
        let key = b.labels();
        let per_ts = temps.entry(key).or_default();
        for (i, v) in values.iter().enumerate() {
            let SeqValue::Float(f) = v else { continue };
            let t = per_ts.entry(i as i64 * step_ms).or_default();
            match (kind, le) {
                (0, Some(le)) => t.buckets.push((le, *f)),
                (1, _) => t.count = Some(*f),
                _ => t.sum = *f,
            }
        }
    }
    temps
        .into_iter()
        .map(|(l, per_ts)| {
            (
                l,
                per_ts
                    .into_iter()
                    .filter_map(|(t, tmp)| tmp.convert().map(|h| (t, h)))
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}
