//! Building [`MetricFamily`] values: for the registry's own metrics and for [`Collector`]s
//! that compute values at scrape time.
//!
//! Numbers in `le` and `quantile` labels are written as Go's `%g` writes them (`0.005`,
//! `+Inf`); [`Registry::encode`](crate::Registry::encode) rewrites them for OpenMetrics.
//!
//! [`Collector`]: crate::Collector

use model::Labels;
use model::exposition::{FamilySample, MetricFamily, MetricType, write_float};
use model::labels::METRIC_NAME;

/// `v` as client_golang writes a float (`%g`, shortest round trip, `+Inf`).
#[must_use]
pub fn format_float(v: f64) -> String {
    let mut s = String::new();
    write_float(&mut s, v);
    s
}

/// One sample named `name` with sorted `labels` and, optionally, one more label.
pub(crate) fn sample(
    name: &str,
    labels: &[(&str, &str)],
    extra: Option<(&str, &str)>,
    value: f64,
) -> FamilySample {
    let pairs = std::iter::once((METRIC_NAME, name))
        .chain(labels.iter().copied())
        .chain(extra);
    FamilySample {
        labels: Labels::from_pairs(pairs),
        value,
        timestamp: None,
        exemplar: None,
    }
}

/// A family with a help text and no samples yet.
#[must_use]
pub fn new(name: &str, help: &str, metric_type: MetricType) -> MetricFamily {
    MetricFamily {
        name: name.to_owned(),
        help: Some(help.to_owned()),
        metric_type,
        unit: None,
        samples: Vec::new(),
    }
}

/// A counter family with one sample without labels.
#[must_use]
pub fn counter(name: &str, help: &str, value: f64) -> MetricFamily {
    let mut f = new(name, help, MetricType::Counter);
    push(&mut f, &[], value);
    f
}

/// A gauge family with one sample without labels.
#[must_use]
pub fn gauge(name: &str, help: &str, value: f64) -> MetricFamily {
    let mut f = new(name, help, MetricType::Gauge);
    push(&mut f, &[], value);
    f
}

/// Appends a sample named as the family (counters and gauges) with `labels` in any order.
pub fn push(f: &mut MetricFamily, labels: &[(&str, &str)], value: f64) {
    let s = sample(&f.name, labels, None, value);
    f.samples.push(s);
}

/// Appends one histogram: cumulative counts per upper bound (`+Inf` added when missing),
/// then `_sum` and `_count`.
pub fn push_histogram(
    f: &mut MetricFamily,
    labels: &[(&str, &str)],
    cumulative: &[(f64, u64)],
    sum: f64,
    count: u64,
) {
    let bucket = format!("{}_bucket", f.name);
    for &(le, n) in cumulative {
        let le = format_float(le);
        f.samples
            .push(sample(&bucket, labels, Some(("le", &le)), to_f64(n)));
    }
    if cumulative.last().is_none_or(|(le, _)| *le != f64::INFINITY) {
        f.samples
            .push(sample(&bucket, labels, Some(("le", "+Inf")), to_f64(count)));
    }
    push_sum_count(f, labels, sum, count);
}

/// Appends one summary: a sample per `(quantile, value)`, then `_sum` and `_count`.
pub fn push_summary(
    f: &mut MetricFamily,
    labels: &[(&str, &str)],
    quantiles: &[(f64, f64)],
    sum: f64,
    count: u64,
) {
    for &(q, v) in quantiles {
        let q = format_float(q);
        let s = sample(&f.name, labels, Some(("quantile", &q)), v);
        f.samples.push(s);
    }
    push_sum_count(f, labels, sum, count);
}

fn push_sum_count(f: &mut MetricFamily, labels: &[(&str, &str)], sum: f64, count: u64) {
    let s = sample(&format!("{}_sum", f.name), labels, None, sum);
    f.samples.push(s);
    let s = sample(&format!("{}_count", f.name), labels, None, to_f64(count));
    f.samples.push(s);
}

#[allow(clippy::cast_precision_loss)]
fn to_f64(n: u64) -> f64 {
    n as f64
}

#[cfg(test)]
mod tests {
    use model::exposition::encode_text;

    use super::*;

    #[test]
    fn histogram_and_summary_samples_in_client_golangs_order() {
        let mut h = new("h", "A histogram.", MetricType::Histogram);
        push_histogram(&mut h, &[("job", "x")], &[(0.5, 1), (1.0, 2)], 1.25, 3);
        let mut s = new("s", "A summary.", MetricType::Summary);
        push_summary(&mut s, &[], &[(0.5, 0.25), (0.99, f64::NAN)], 0.0, 0);
        assert_eq!(
            encode_text(&[h, s]),
            "# HELP h A histogram.\n# TYPE h histogram\n\
             h_bucket{job=\"x\",le=\"0.5\"} 1\nh_bucket{job=\"x\",le=\"1\"} 2\n\
             h_bucket{job=\"x\",le=\"+Inf\"} 3\nh_sum{job=\"x\"} 1.25\nh_count{job=\"x\"} 3\n\
             # HELP s A summary.\n# TYPE s summary\n\
             s{quantile=\"0.5\"} 0.25\ns{quantile=\"0.99\"} NaN\ns_sum 0\ns_count 0\n"
        );
    }
}
