//! The registry's exposition, byte for byte as client_golang 1.14 (Prometheus 2.42) writes
//! it, and its registration rules.

use std::sync::Arc;

use model::exposition::{MetricFamily, MetricType, parse_families};

use super::*;

/// A registry with one metric of each kind, observed.
fn populated() -> Registry {
    let r = Registry::new();
    r.counter("a_total", "A counter.").inc_by(2.0);
    r.counter("events", "Events.").inc();
    r.gauge("g", "A \"gauge\" with \\ and\nnewline.").set(1.5);
    let h = r.histogram("h_seconds", "Hist.", &[0.1, 1.0]);
    for v in [0.25, 0.5, 3.0] {
        h.observe(v);
    }
    h.observe(0.0);
    r.gauge_vec("lv", "Label values.", &["path"])
        .with_label_values(&["a\"b\\c\nd"])
        .set(1.0);
    let req = r.counter_vec("req_total", "Requests.", &["method", "code"]);
    req.with_label_values(&["get", "500"]).inc_by(3.0);
    req.with_label_values(&["post", "200"]);
    req.with_label_values(&["get", "200"]).inc();
    let s = r.summary("s", "Sum.", &[(0.9, 0.01), (0.5, 0.05)]);
    for v in [3.0, 1.0, 2.0] {
        s.observe(v);
    }
    let _ = r.counter_vec("unused_total", "Never used.", &["x"]);
    r
}

const TEXT: &str = "\
# HELP a_total A counter.
# TYPE a_total counter
a_total 2
# HELP events Events.
# TYPE events counter
events 1
# HELP g A \"gauge\" with \\\\ and\\nnewline.
# TYPE g gauge
g 1.5
# HELP h_seconds Hist.
# TYPE h_seconds histogram
h_seconds_bucket{le=\"0.1\"} 1
h_seconds_bucket{le=\"1\"} 3
h_seconds_bucket{le=\"+Inf\"} 4
h_seconds_sum 3.75
h_seconds_count 4
# HELP lv Label values.
# TYPE lv gauge
lv{path=\"a\\\"b\\\\c\\nd\"} 1
# HELP req_total Requests.
# TYPE req_total counter
req_total{code=\"200\",method=\"get\"} 1
req_total{code=\"200\",method=\"post\"} 0
req_total{code=\"500\",method=\"get\"} 3
# HELP s Sum.
# TYPE s summary
s{quantile=\"0.5\"} 2
s{quantile=\"0.9\"} 3
s_sum 6
s_count 3
";

const OPENMETRICS: &str = "\
# HELP a A counter.
# TYPE a counter
a_total 2.0
# HELP events Events.
# TYPE events counter
events_total 1.0
# HELP g A \\\"gauge\\\" with \\\\ and\\nnewline.
# TYPE g gauge
g 1.5
# HELP h_seconds Hist.
# TYPE h_seconds histogram
h_seconds_bucket{le=\"0.1\"} 1
h_seconds_bucket{le=\"1.0\"} 3
h_seconds_bucket{le=\"+Inf\"} 4
h_seconds_sum 3.75
h_seconds_count 4
# HELP lv Label values.
# TYPE lv gauge
lv{path=\"a\\\"b\\\\c\\nd\"} 1.0
# HELP req Requests.
# TYPE req counter
req_total{code=\"200\",method=\"get\"} 1.0
req_total{code=\"200\",method=\"post\"} 0.0
req_total{code=\"500\",method=\"get\"} 3.0
# HELP s Sum.
# TYPE s summary
s{quantile=\"0.5\"} 2.0
s{quantile=\"0.9\"} 3.0
s_sum 6.0
s_count 3
# EOF
";

#[test]
fn text_as_client_golang_writes_it() {
    assert_eq!(populated().encode(Format::Text), TEXT);
}

#[test]
fn openmetrics_as_client_golang_writes_it() {
    assert_eq!(populated().encode(Format::OpenMetrics), OPENMETRICS);
}

/// The model's parsers read both encodings back to the same samples.
#[test]
fn both_encodings_parse_back_alike() {
    let r = populated();
    let text = parse_families(r.encode(Format::Text).as_bytes(), Format::Text).unwrap();
    let om = parse_families(
        r.encode(Format::OpenMetrics).as_bytes(),
        Format::OpenMetrics,
    )
    .unwrap();
    assert_eq!(text.len(), 7);
    assert_eq!(text.len(), om.len());
    for (t, o) in text.iter().zip(&om) {
        assert_eq!(t.metric_type, o.metric_type, "{}", t.name);
        assert_eq!(t.help, o.help, "{}", t.name);
        assert_eq!(t.samples.len(), o.samples.len(), "{}", t.name);
        for (a, b) in t.samples.iter().zip(&o.samples) {
            assert_eq!(a.value.to_bits(), b.value.to_bits(), "{}", a.labels);
        }
    }
    let g = text.iter().find(|f| f.name == "g").unwrap();
    assert_eq!(g.help.as_deref(), Some("A \"gauge\" with \\ and\nnewline."));
    let lv = text.iter().find(|f| f.name == "lv").unwrap();
    assert_eq!(lv.samples[0].labels.get("path"), Some("a\"b\\c\nd"));
}

#[test]
fn registering_again_shares_the_metric() {
    let r = Registry::new();
    let a = r.counter_vec("x_total", "X.", &["k"]);
    let b = r.counter_vec("x_total", "X.", &["k"]);
    a.with_label_values(&["1"]).inc();
    b.with_label_values(&["1"]).inc();
    assert!((a.with_label_values(&["1"]).get() - 2.0).abs() < f64::EPSILON);
    let h1 = r.histogram("h", "H.", DEFAULT_BUCKETS);
    let h2 = r.histogram("h", "H.", DEFAULT_BUCKETS);
    h1.observe(1.0);
    assert_eq!(h2.count(), 1);
    assert!(a.remove_label_values(&["1"]));
    assert!(!a.remove_label_values(&["1"]));
    assert!(!r.encode(Format::Text).contains("x_total"));
}

#[test]
#[should_panic(expected = "registered twice")]
fn registering_another_shape_panics() {
    let r = Registry::new();
    let _ = r.counter_vec("x_total", "X.", &["k"]);
    let _ = r.counter_vec("x_total", "X.", &["other"]);
}

#[test]
#[should_panic(expected = "registered twice")]
fn registering_another_type_panics() {
    let r = Registry::new();
    let _ = r.counter("x", "X.");
    let _ = r.gauge("x", "X.");
}

#[test]
#[should_panic(expected = "2 label values given for 1 label names")]
fn wrong_number_of_label_values_panics() {
    let r = Registry::new();
    let _ = r
        .gauge_vec("g", "G.", &["a"])
        .with_label_values(&["1", "2"]);
}

#[test]
fn collectors_merge_sort_and_const_labels_apply() {
    let r = Registry::with_const_labels(&[("instance", "me")]);
    r.gauge_vec("up", "Up.", &["job"])
        .with_label_values(&["b"])
        .set(1.0);
    r.register_collector(Arc::new(|out: &mut Vec<MetricFamily>| {
        let mut f = family::new("up", "Up.", MetricType::Gauge);
        family::push(&mut f, &[("job", "a")], 0.0);
        out.push(f);
        let mut f = family::new("c_total", "Collected.", MetricType::Counter);
        family::push(&mut f, &[("z", "2")], 2.0);
        family::push(&mut f, &[("z", "1")], 1.0);
        out.push(f);
        // Another type under a registered name is dropped.
        out.push(family::counter("up", "Up.", 5.0));
        // Empty families are left out.
        out.push(family::new("empty", "Nothing.", MetricType::Gauge));
    }));
    assert_eq!(
        r.encode(Format::Text),
        "# HELP c_total Collected.\n# TYPE c_total counter\n\
         c_total{instance=\"me\",z=\"1\"} 1\nc_total{instance=\"me\",z=\"2\"} 2\n\
         # HELP up Up.\n# TYPE up gauge\n\
         up{instance=\"me\",job=\"b\"} 1\nup{instance=\"me\",job=\"a\"} 0\n"
    );
}

#[test]
fn summary_without_observations_answers_nan() {
    let r = Registry::new();
    let v = r.summary_vec(
        "prometheus_engine_query_duration_seconds",
        "Query timings",
        &["slice"],
        DEFAULT_OBJECTIVES,
    );
    let _ = v.with_label_values(&["inner_eval"]);
    assert_eq!(
        r.encode(Format::Text),
        "# HELP prometheus_engine_query_duration_seconds Query timings\n\
         # TYPE prometheus_engine_query_duration_seconds summary\n\
         prometheus_engine_query_duration_seconds{quantile=\"0.5\",slice=\"inner_eval\"} NaN\n\
         prometheus_engine_query_duration_seconds{quantile=\"0.9\",slice=\"inner_eval\"} NaN\n\
         prometheus_engine_query_duration_seconds{quantile=\"0.99\",slice=\"inner_eval\"} NaN\n\
         prometheus_engine_query_duration_seconds_sum{slice=\"inner_eval\"} 0\n\
         prometheus_engine_query_duration_seconds_count{slice=\"inner_eval\"} 0\n"
    );
}

#[test]
fn hot_path_is_shared_across_threads() {
    let r = Registry::new();
    let c = r.counter("n_total", "N.");
    let h = r.histogram("d", "D.", &exponential_buckets(1.0, 2.0, 4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (c, h) = (c.clone(), h.clone());
            std::thread::spawn(move || {
                for i in 0..1_000 {
                    c.inc();
                    h.observe(f64::from(i % 10));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!((c.get() - 4_000.0).abs() < f64::EPSILON);
    assert_eq!(h.count(), 4_000);
    let text = r.encode(Format::Text);
    assert!(text.contains("d_bucket{le=\"8\"} 3600\n"), "{text}");
}
