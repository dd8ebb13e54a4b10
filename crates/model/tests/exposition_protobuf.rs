//! The protobuf exposition parser against the text parser: the same metrics encoded with
//! prost (delimited `MetricFamily` messages) and written as text give the same samples and
//! metadata; native histograms (integer and float counts, zero bucket, spans, deltas) come out
//! as model histograms; exemplars are carried.

use std::collections::BTreeSet;

use firewatch_model::exposition::{
    Entry, Format, MetricType, Parser, ProtobufOptions, ProtobufParser, proto,
};
use firewatch_model::histogram::{CounterResetHint, FloatHistogram, Histogram, Span};
use firewatch_model::sample::Sample;
use prost::Message;

/// Sorted label pairs.
type Pairs = Vec<(String, String)>;

/// A sample as `(name, sorted labels, value bits, timestamp)`.
type Flat = (String, Pairs, u64, Option<i64>);

#[derive(Default, Debug)]
struct Parsed {
    samples: BTreeSet<Flat>,
    meta: BTreeSet<(String, String)>,
    histograms: Vec<(String, Pairs, Sample)>,
    exemplars: Vec<(String, Pairs, f64, Option<i64>)>,
}

fn record(out: &mut Parsed, e: Entry<'_, '_>) {
    let sorted = |labels: &[firewatch_model::exposition::LabelPair<'_>]| {
        let mut v: Vec<(String, String)> = labels
            .iter()
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect();
        v.sort();
        v
    };
    match e {
        Entry::Help { name, help } => {
            out.meta.insert((name.to_string(), format!("help {help}")));
        }
        Entry::Type { name, metric_type } => {
            out.meta
                .insert((name.to_string(), format!("type {metric_type:?}")));
        }
        Entry::Unit { name, unit } => {
            out.meta.insert((name.to_string(), format!("unit {unit}")));
        }
        Entry::Series(s) => {
            if let Some(ex) = s.exemplar {
                out.exemplars
                    .push((s.name.to_owned(), sorted(ex.labels), ex.value, ex.timestamp));
            }
            out.samples.insert((
                s.name.to_owned(),
                sorted(s.labels),
                s.value.to_bits(),
                s.timestamp,
            ));
        }
        Entry::Histogram(h) => {
            out.histograms
                .push((h.name.to_owned(), sorted(h.labels), h.sample.clone()));
        }
        Entry::Comment(_) | Entry::Eof => {}
    }
}

fn parse_text(body: &str, format: Format) -> Parsed {
    let mut out = Parsed::default();
    let mut p = Parser::new(body.as_bytes(), format);
    while let Some(e) = p.next_entry().unwrap() {
        record(&mut out, e);
    }
    out
}

fn parse_proto(body: &[u8], options: ProtobufOptions) -> Parsed {
    let mut out = Parsed::default();
    let mut p = ProtobufParser::new(body, options);
    while let Some(e) = p.next_entry().unwrap() {
        record(&mut out, e);
    }
    out
}

fn encode(families: &[proto::MetricFamily]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in families {
        f.encode_length_delimited(&mut out).unwrap();
    }
    out
}

fn lp(name: &str, value: &str) -> proto::LabelPair {
    proto::LabelPair {
        name: name.into(),
        value: value.into(),
    }
}

fn family(
    name: &str,
    help: &str,
    t: proto::MetricType,
    metric: Vec<proto::Metric>,
) -> proto::MetricFamily {
    proto::MetricFamily {
        name: name.into(),
        help: help.into(),
        r#type: t as i32,
        metric,
        unit: String::new(),
    }
}

fn bucket(le: f64, count: u64) -> proto::Bucket {
    proto::Bucket {
        cumulative_count: count,
        upper_bound: le,
        ..proto::Bucket::default()
    }
}

#[test]
fn same_samples_as_the_text_parser() {
    let families = vec![
        family(
            "http_requests_total",
            "Requests handled.",
            proto::MetricType::Counter,
            vec![
                proto::Metric {
                    label: vec![lp("method", "get"), lp("code", "200")],
                    counter: Some(proto::Counter {
                        value: 1027.0,
                        ..proto::Counter::default()
                    }),
                    timestamp_ms: 1_395_066_363_000,
                    ..proto::Metric::default()
                },
                proto::Metric {
                    label: vec![lp("method", "post"), lp("code", "400")],
                    counter: Some(proto::Counter {
                        value: 3.0,
                        ..proto::Counter::default()
                    }),
                    ..proto::Metric::default()
                },
            ],
        ),
        family(
            "queue_depth",
            "Items \"waiting\"\\n.",
            proto::MetricType::Gauge,
            vec![proto::Metric {
                gauge: Some(proto::Gauge { value: -4.5 }),
                ..proto::Metric::default()
            }],
        ),
        family(
            "legacy_value",
            "",
            proto::MetricType::Untyped,
            vec![proto::Metric {
                label: vec![lp("path", "C:\\dir\n")],
                untyped: Some(proto::Untyped {
                    value: f64::INFINITY,
                }),
                ..proto::Metric::default()
            }],
        ),
        family(
            "rpc_duration_seconds",
            "RPC latency.",
            proto::MetricType::Summary,
            vec![proto::Metric {
                summary: Some(proto::Summary {
                    sample_count: 2693,
                    sample_sum: 17_560_473.0,
                    quantile: vec![
                        proto::Quantile {
                            quantile: 0.5,
                            value: 4773.0,
                        },
                        proto::Quantile {
                            quantile: 0.99,
                            value: 76_656.0,
                        },
                        proto::Quantile {
                            quantile: 1.0,
                            value: 80_000.0,
                        },
                    ],
                    ..proto::Summary::default()
                }),
                ..proto::Metric::default()
            }],
        ),
        family(
            "request_size_bytes",
            "Sizes.",
            proto::MetricType::Histogram,
            vec![proto::Metric {
                label: vec![lp("handler", "/api")],
                histogram: Some(proto::Histogram {
                    sample_count: 144_320,
                    sample_sum: 53_423.0,
                    bucket: vec![
                        bucket(0.05, 24_054),
                        bucket(0.5, 129_389),
                        bucket(1.0, 133_988),
                    ],
                    ..proto::Histogram::default()
                }),
                ..proto::Metric::default()
            }],
        ),
    ];
    // The text a client writes for the same metrics; `le` and `quantile` as Prometheus
    // normalises them for protobuf (`1.0`), the +Inf bucket the protobuf lacks included.
    let text = r#"# HELP http_requests_total Requests handled.
# TYPE http_requests_total counter
http_requests_total{method="get",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"} 3
# HELP queue_depth Items "waiting"\\n.
# TYPE queue_depth gauge
queue_depth -4.5
# TYPE legacy_value untyped
legacy_value{path="C:\\dir\n"} +Inf
# HELP rpc_duration_seconds RPC latency.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds{quantile="1.0"} 80000
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
# HELP request_size_bytes Sizes.
# TYPE request_size_bytes histogram
request_size_bytes_bucket{handler="/api",le="0.05"} 24054
request_size_bytes_bucket{handler="/api",le="0.5"} 129389
request_size_bytes_bucket{handler="/api",le="1.0"} 133988
request_size_bytes_bucket{handler="/api",le="+Inf"} 144320
request_size_bytes_sum{handler="/api"} 53423
request_size_bytes_count{handler="/api"} 144320
"#;
    let from_text = parse_text(text, Format::Text);
    let from_proto = parse_proto(&encode(&families), ProtobufOptions::default());
    assert_eq!(from_proto.samples.len(), 15);
    assert_eq!(from_proto.samples, from_text.samples);
    assert_eq!(from_proto.meta, from_text.meta);
    assert!(from_proto.histograms.is_empty());
}

fn native(schema: i32) -> proto::Histogram {
    proto::Histogram {
        sample_count: 12,
        sample_sum: 31.5,
        schema: Some(schema),
        zero_threshold: 0.001,
        zero_count: 2,
        negative_span: vec![proto::BucketSpan {
            offset: 0,
            length: 1,
        }],
        negative_delta: vec![1],
        positive_span: vec![
            proto::BucketSpan {
                offset: -1,
                length: 2,
            },
            proto::BucketSpan {
                offset: 3,
                length: 1,
            },
        ],
        positive_delta: vec![4, -2, 3],
        bucket: vec![bucket(1.0, 7), bucket(10.0, 11)],
        ..proto::Histogram::default()
    }
}

#[test]
fn native_histograms_become_model_histograms() {
    let fams = [
        family(
            "latency_seconds",
            "Latency.",
            proto::MetricType::Histogram,
            vec![proto::Metric {
                label: vec![lp("svc", "api")],
                histogram: Some(native(2)),
                timestamp_ms: 1234,
                ..proto::Metric::default()
            }],
        ),
        family(
            "inflight",
            "",
            proto::MetricType::GaugeHistogram,
            vec![proto::Metric {
                histogram: Some(proto::Histogram {
                    sample_count_float: 2.5,
                    sample_sum: 7.0,
                    schema: Some(-1),
                    zero_threshold: 0.5,
                    zero_count_float: 0.5,
                    positive_span: vec![proto::BucketSpan {
                        offset: 1,
                        length: 2,
                    }],
                    positive_count: vec![1.25, 0.75],
                    ..proto::Histogram::default()
                }),
                ..proto::Metric::default()
            }],
        ),
    ];
    let body = encode(&fams);
    let p = parse_proto(&body, ProtobufOptions::default());
    assert!(p.samples.is_empty(), "{:?}", p.samples);
    let expected_int = Histogram {
        counter_reset_hint: CounterResetHint::Unknown,
        schema: 2,
        zero_threshold: 0.001,
        zero_count: 2,
        count: 12,
        sum: 31.5,
        positive_spans: vec![
            Span {
                offset: -1,
                length: 2,
            },
            Span {
                offset: 3,
                length: 1,
            },
        ],
        negative_spans: vec![Span {
            offset: 0,
            length: 1,
        }],
        positive_buckets: vec![4, -2, 3],
        negative_buckets: vec![1],
        custom_values: vec![],
    };
    let expected_float = FloatHistogram {
        counter_reset_hint: CounterResetHint::Gauge,
        schema: -1,
        zero_threshold: 0.5,
        zero_count: 0.5,
        count: 2.5,
        sum: 7.0,
        positive_spans: vec![Span {
            offset: 1,
            length: 2,
        }],
        positive_buckets: vec![1.25, 0.75],
        ..FloatHistogram::default()
    };
    assert_eq!(p.histograms.len(), 2);
    assert_eq!(p.histograms[0].0, "latency_seconds");
    assert_eq!(
        p.histograms[0].1,
        vec![("svc".to_owned(), "api".to_owned())]
    );
    assert_eq!(
        p.histograms[0].2,
        Sample::Histogram(std::sync::Arc::new(expected_int))
    );
    assert_eq!(p.histograms[1].0, "inflight");
    assert_eq!(
        p.histograms[1].2,
        Sample::FloatHistogram(std::sync::Arc::new(expected_float))
    );
    assert!(p.meta.contains(&(
        "inflight".to_owned(),
        format!("type {:?}", MetricType::GaugeHistogram)
    )));

    // Native histograms off: the classic series, as the text format gives them.
    let classic = parse_proto(
        &body,
        ProtobufOptions {
            native_histograms: false,
            keep_classic: false,
        },
    );
    let text = r#"# HELP latency_seconds Latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{svc="api",le="1.0"} 7 1234
latency_seconds_bucket{svc="api",le="10.0"} 11 1234
latency_seconds_bucket{svc="api",le="+Inf"} 12 1234
latency_seconds_sum{svc="api"} 31.5 1234
latency_seconds_count{svc="api"} 12 1234
"#;
    let om = "# TYPE inflight gaugehistogram\ninflight_bucket{le=\"+Inf\"} 2.5\ninflight_gcount 2.5\ninflight_gsum 7.0\n# EOF\n";
    let mut expected = parse_text(text, Format::Text).samples;
    expected.extend(parse_text(om, Format::OpenMetrics).samples);
    assert_eq!(classic.samples, expected);
    assert!(classic.histograms.is_empty());

    // Both: the native histogram and the classic series of the one that has buckets.
    let both = parse_proto(
        &body,
        ProtobufOptions {
            native_histograms: true,
            keep_classic: true,
        },
    );
    assert_eq!(both.histograms.len(), 2);
    assert_eq!(both.samples, parse_text(text, Format::Text).samples);
}

#[test]
fn empty_native_histogram_is_native() {
    // client_golang marks a native histogram without observations with an empty span.
    let fams = [family(
        "idle_seconds",
        "",
        proto::MetricType::Histogram,
        vec![proto::Metric {
            histogram: Some(proto::Histogram {
                schema: Some(3),
                positive_span: vec![proto::BucketSpan {
                    offset: 0,
                    length: 0,
                }],
                ..proto::Histogram::default()
            }),
            ..proto::Metric::default()
        }],
    )];
    let p = parse_proto(&encode(&fams), ProtobufOptions::default());
    assert_eq!(p.histograms.len(), 1);
    let Sample::Histogram(h) = &p.histograms[0].2 else {
        panic!("integer histogram expected: {:?}", p.histograms[0].2);
    };
    assert_eq!((h.schema, h.count), (3, 0));
    assert!(h.positive_spans.is_empty());
}

#[test]
fn exemplars_of_counters_and_buckets() {
    let ex = |value: f64, trace: &str| proto::Exemplar {
        label: vec![lp("trace_id", trace)],
        value,
        timestamp: Some(proto::Timestamp {
            seconds: 1_700_000_000,
            nanos: 500_000_000,
        }),
    };
    let fams = [
        family(
            "orders_total",
            "",
            proto::MetricType::Counter,
            vec![proto::Metric {
                counter: Some(proto::Counter {
                    value: 5.0,
                    exemplar: Some(ex(1.0, "abc")),
                    ..proto::Counter::default()
                }),
                ..proto::Metric::default()
            }],
        ),
        family(
            "size_bytes",
            "",
            proto::MetricType::Histogram,
            vec![proto::Metric {
                histogram: Some(proto::Histogram {
                    sample_count: 1,
                    sample_sum: 3.0,
                    bucket: vec![proto::Bucket {
                        cumulative_count: 1,
                        upper_bound: 4.0,
                        exemplar: Some(ex(3.0, "def")),
                        ..proto::Bucket::default()
                    }],
                    ..proto::Histogram::default()
                }),
                ..proto::Metric::default()
            }],
        ),
    ];
    let p = parse_proto(&encode(&fams), ProtobufOptions::default());
    // The same exemplars written in OpenMetrics.
    let om = "# TYPE orders counter\norders_total 5 # {trace_id=\"abc\"} 1 1700000000.5\n\
              # TYPE size_bytes histogram\nsize_bytes_bucket{le=\"4.0\"} 1 # {trace_id=\"def\"} 3 1700000000.5\n\
              size_bytes_bucket{le=\"+Inf\"} 1\nsize_bytes_sum 3\nsize_bytes_count 1\n# EOF\n";
    let o = parse_text(om, Format::OpenMetrics);
    assert_eq!(p.exemplars.len(), 2);
    assert_eq!(p.exemplars, o.exemplars);
    assert_eq!(p.samples, o.samples);
}

#[test]
fn units_and_garbage() {
    let mut f = family(
        "disk_bytes",
        "Disk.",
        proto::MetricType::Gauge,
        vec![proto::Metric {
            gauge: Some(proto::Gauge { value: 1.0 }),
            ..proto::Metric::default()
        }],
    );
    f.unit = "bytes".into();
    let p = parse_proto(&encode(&[f]), ProtobufOptions::default());
    assert!(
        p.meta
            .contains(&("disk_bytes".to_owned(), "unit bytes".to_owned()))
    );
    // Text is not protobuf: a length prefix pointing past the end is refused.
    let mut parser = ProtobufParser::new(b"# TYPE x counter\nx 1\n", ProtobufOptions::default());
    let err = parser.next_entry().unwrap_err();
    assert!(err.to_string().contains("byte 0"), "{err}");
}

/// The `created_timestamp` of counters, summaries and histograms comes out as the start
/// timestamp of each of their samples (milliseconds); gauges and unset or zero ones have none.
#[test]
fn created_timestamps_are_start_timestamps() {
    let ts = |seconds, nanos| Some(proto::Timestamp { seconds, nanos });
    let native_h = proto::Histogram {
        created_timestamp: ts(1_700_000_002, 0),
        ..native(0)
    };
    let families = vec![
        family(
            "c_total",
            "",
            proto::MetricType::Counter,
            vec![
                proto::Metric {
                    label: vec![lp("a", "1")],
                    counter: Some(proto::Counter {
                        value: 5.0,
                        created_timestamp: ts(1_700_000_000, 250_000_000),
                        ..proto::Counter::default()
                    }),
                    ..proto::Metric::default()
                },
                proto::Metric {
                    label: vec![lp("a", "2")],
                    counter: Some(proto::Counter {
                        value: 1.0,
                        created_timestamp: ts(0, 0),
                        ..proto::Counter::default()
                    }),
                    ..proto::Metric::default()
                },
            ],
        ),
        family(
            "s",
            "",
            proto::MetricType::Summary,
            vec![proto::Metric {
                summary: Some(proto::Summary {
                    sample_count: 1,
                    sample_sum: 2.0,
                    created_timestamp: ts(1_700_000_001, 0),
                    ..proto::Summary::default()
                }),
                ..proto::Metric::default()
            }],
        ),
        family(
            "g",
            "",
            proto::MetricType::Gauge,
            vec![proto::Metric {
                gauge: Some(proto::Gauge { value: 1.0 }),
                ..proto::Metric::default()
            }],
        ),
        family(
            "h",
            "",
            proto::MetricType::Histogram,
            vec![proto::Metric {
                histogram: Some(native_h),
                ..proto::Metric::default()
            }],
        ),
    ];
    let body = encode(&families);
    let mut p = ProtobufParser::new(
        &body,
        ProtobufOptions {
            native_histograms: true,
            keep_classic: false,
        },
    );
    let mut got = Vec::new();
    while let Some(e) = p.next_entry().unwrap() {
        match e {
            Entry::Series(s) => {
                let a = s
                    .labels
                    .first()
                    .map(|l| l.value.to_string())
                    .unwrap_or_default();
                got.push((format!("{}{a}", s.name), s.start_timestamp));
            }
            Entry::Histogram(h) => got.push((h.name.to_owned(), h.start_timestamp)),
            _ => {}
        }
    }
    assert_eq!(
        got,
        [
            ("c_total1".to_owned(), Some(1_700_000_000_250)),
            ("c_total2".to_owned(), None),
            ("s_count".to_owned(), Some(1_700_000_001_000)),
            ("s_sum".to_owned(), Some(1_700_000_001_000)),
            ("g".to_owned(), None),
            ("h".to_owned(), Some(1_700_000_002_000)),
        ]
    );
}
