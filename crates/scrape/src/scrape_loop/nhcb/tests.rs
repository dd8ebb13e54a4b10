//! Conversion of collected classic histograms (values as Prometheus's `convertnhcb` makes
//! them) and grouping of the series an exposition yields.

use std::borrow::Cow;

use super::*;

fn classic(buckets: &[(f64, f64)], count: Option<f64>, sum: f64) -> ClassicHistogram {
    let mut h = ClassicHistogram::default();
    for &(le, c) in buckets {
        h.set_bucket(le, c);
    }
    if let Some(c) = count {
        h.set_count(c);
    }
    h.set_sum(sum);
    h
}

fn integer(s: Sample) -> Histogram {
    match s {
        Sample::Histogram(h) => (*h).clone(),
        other => panic!("not an integer histogram: {other:?}"),
    }
}

fn float(s: Sample) -> FloatHistogram {
    match s {
        Sample::FloatHistogram(h) => (*h).clone(),
        other => panic!("not a float histogram: {other:?}"),
    }
}

fn span(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

#[test]
fn integer_counts_make_an_integer_histogram_with_short_gaps_kept() {
    let inf = f64::INFINITY;
    let buckets = [
        (0.1, 1.0),
        (0.5, 3.0),
        (1.0, 3.0),
        (2.0, 3.0),
        (5.0, 3.0),
        (10.0, 5.0),
        (20.0, 5.0),
        (50.0, 5.0),
        (inf, 7.0),
    ];
    let h = integer(classic(&buckets, Some(7.0), 12.5).convert().unwrap());
    assert_eq!(h.schema, -53);
    assert_eq!((h.count, h.sum, h.zero_count), (7, 12.5, 0));
    assert_eq!(h.custom_values, [0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0]);
    // Per bucket: 1 2 0 0 0 2 0 0 2. Three empty buckets split the span, two do not.
    assert_eq!(h.positive_spans, [span(0, 2), span(3, 4)]);
    // Absolute 1 2 | 2 0 0 2, delta-encoded.
    assert_eq!(h.positive_buckets, [1, 1, 0, -2, 0, 2]);
    assert!(h.negative_spans.is_empty() && h.negative_buckets.is_empty());
}

#[test]
fn fractional_counts_make_a_float_histogram_without_empty_buckets() {
    let buckets = [(1.0, 0.5), (2.0, 0.5), (4.0, 2.5)];
    let h = float(classic(&buckets, Some(3.0), 4.25).convert().unwrap());
    assert_eq!((h.schema, h.count, h.sum), (-53, 3.0, 4.25));
    // No +Inf bucket written: it is added with the count.
    assert_eq!(h.custom_values, [1.0, 2.0, 4.0]);
    assert_eq!(h.positive_spans, [span(0, 1), span(1, 2)]);
    assert_eq!(h.positive_buckets, [0.5, 2.0, 0.5]);
}

#[test]
fn count_defaults_to_the_highest_bucket_and_buckets_may_come_in_any_order() {
    let h = integer(
        classic(&[(2.0, 4.0), (f64::INFINITY, 6.0), (1.0, 1.0)], None, 9.0)
            .convert()
            .unwrap(),
    );
    assert_eq!(h.count, 6);
    assert_eq!(h.custom_values, [1.0, 2.0]);
    assert_eq!(h.positive_spans, [span(0, 3)]);
    assert_eq!(h.positive_buckets, [1, 2, -1]);

    // Only a count: one +Inf bucket.
    let h = integer(classic(&[], Some(3.0), 1.0).convert().unwrap());
    assert!(h.custom_values.is_empty());
    assert_eq!(
        (h.positive_spans, h.positive_buckets),
        (vec![span(0, 1)], vec![3])
    );

    // A repeated bound keeps its first count.
    let h = integer(
        classic(&[(1.0, 1.0), (1.0, 2.0)], Some(1.0), 0.0)
            .convert()
            .unwrap(),
    );
    assert_eq!(h.custom_values, [1.0]);
    assert_eq!(h.positive_buckets, [1]);

    // All empty: no buckets at all.
    let h = integer(classic(&[(1.0, 0.0)], Some(0.0), 0.0).convert().unwrap());
    assert!(h.positive_spans.is_empty() && h.positive_buckets.is_empty());
    assert_eq!(h.custom_values, [1.0]);
}

#[test]
fn broken_classic_histograms_are_not_converted() {
    let inf = f64::INFINITY;
    assert!(matches!(
        classic(&[(1.0, 5.0), (2.0, 3.0)], None, 0.0).convert(),
        Err(ConvertError::NotCumulative { .. })
    ));
    // Out of order and then too high for the bucket above it.
    assert!(matches!(
        classic(&[(2.0, 3.0), (1.0, 5.0)], None, 0.0).convert(),
        Err(ConvertError::NotCumulative { .. })
    ));
    assert_eq!(
        classic(&[(1.0, 1.0), (inf, 4.0)], Some(5.0), 0.0).convert(),
        Err(ConvertError::CountMismatch {
            count: 5.0,
            inf: 4.0
        })
    );
    assert_eq!(
        classic(&[], None, 2.0).convert(),
        Err(ConvertError::MissingCount)
    );
    assert!(matches!(
        classic(&[(1.0, -1.0)], None, 0.0).convert(),
        Err(ConvertError::NegativeBucketCount { .. })
    ));
    assert_eq!(
        classic(&[], Some(-1.0), 0.0).convert(),
        Err(ConvertError::NegativeCount(-1.0))
    );
}

fn pairs(labels: &[(&'static str, &'static str)]) -> Vec<LabelPair<'static>> {
    labels
        .iter()
        .map(|&(n, v)| LabelPair {
            name: Cow::Borrowed(n),
            value: Cow::Borrowed(v),
        })
        .collect()
}

/// Offers `name{labels} value` to `c`; returns whether it was collected and the histogram
/// it finished, if any.
fn offer(
    c: &mut Collector,
    name: &str,
    labels: &[(&'static str, &'static str)],
    value: f64,
) -> (bool, Option<Converted>) {
    let labels = pairs(labels);
    let s = ClassicSeries {
        name,
        labels: &labels,
        value,
        timestamp: None,
        start: 0,
        exemplar: None,
    };
    let mut finished = None;
    let collected = c.offer(&s, &mut finished);
    (collected, finished)
}

#[test]
fn the_collector_groups_series_by_labels_without_le_within_a_histogram_family() {
    let mut c = Collector::default();
    // Not a histogram family: nothing collected.
    c.set_family("rpc_seconds", MetricType::Summary);
    assert!(!c.in_histogram_family());
    assert!(!offer(&mut c, "rpc_seconds_count", &[], 1.0).0);

    c.set_family("rpc_seconds", MetricType::Histogram);
    assert!(c.in_histogram_family());
    let a = [("code", "200"), ("le", "0.5")];
    assert!(offer(&mut c, "rpc_seconds_bucket", &a, 2.0).0);
    let a = [("le", "+Inf"), ("code", "200")];
    assert!(offer(&mut c, "rpc_seconds_bucket", &a, 3.0).0);
    assert!(offer(&mut c, "rpc_seconds_sum", &[("code", "200")], 1.5).0);
    assert!(offer(&mut c, "rpc_seconds_count", &[("code", "200")], 3.0).0);
    // A bucket of other labels ends the first histogram.
    let (collected, done) = offer(
        &mut c,
        "rpc_seconds_bucket",
        &[("code", "500"), ("le", "+Inf")],
        1.0,
    );
    assert!(collected);
    let done = done.expect("the code=200 histogram");
    assert_eq!(done.name, "rpc_seconds");
    assert_eq!(done.labels, pairs(&[("code", "200")]));
    let h = integer(done.sample);
    assert_eq!((h.count, h.sum, h.custom_values), (3, 1.5, vec![0.5]));
    assert_eq!(h.positive_buckets, [2, -1]);

    // A bucket without a readable le, another name, or a series of another family are
    // not part of a classic histogram; each ends the group in progress.
    assert!(!offer(&mut c, "rpc_seconds_bucket", &[("le", "x")], 1.0).0);
    assert!(c.finish().is_none());
    assert!(!offer(&mut c, "rpc_seconds_bucket", &[], 1.0).0);
    assert!(!offer(&mut c, "rpc_seconds_total", &[], 1.0).0);
    assert!(!offer(&mut c, "other_seconds_count", &[], 1.0).0);
    let (_, done) = offer(&mut c, "rpc_seconds_count", &[("code", "500")], 1.0);
    assert!(done.is_none());
    let done = c.finish().expect("the code=500 histogram (count only)");
    assert_eq!(done.labels, pairs(&[("code", "500")]));
    assert_ne!(done.key, Vec::<u8>::new());
    assert!(c.finish().is_none());
}

#[test]
fn classic_series_of_a_native_histogram_stay_classic() {
    let mut c = Collector::default();
    c.set_family("latency_seconds", MetricType::Histogram);
    let labels = pairs(&[("path", "/")]);
    c.native_histogram("latency_seconds", &labels);
    let b = [("path", "/"), ("le", "1")];
    assert!(!offer(&mut c, "latency_seconds_bucket", &b, 1.0).0);
    assert!(!offer(&mut c, "latency_seconds_count", &[("path", "/")], 1.0).0);
    // Another label set of the family is converted.
    assert!(offer(&mut c, "latency_seconds_count", &[("path", "/x")], 1.0).0);
    c.reset();
    assert!(c.finish().is_none());
    assert!(!c.in_histogram_family());
}
