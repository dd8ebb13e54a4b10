//! The remote write receiver over the real TSDB: 1.0 and 2.0 requests stored and counted, and
//! every kind of bad request refused with its reason and nothing of it stored.

mod common;

use std::path::Path;

use common::dump;
use firewatch_remote::proto::{self, v2};
use firewatch_remote::receiver::{
    CONTENT_TYPE_V2, HEADER_EXEMPLARS_WRITTEN, HEADER_HISTOGRAMS_WRITTEN, HEADER_SAMPLES_WRITTEN,
};
use firewatch_remote::{WriteResponse, handle_write};
use model::{Labels, Matcher};
use prost::Message;
use tsdb::{Db, DbOptions};

const T0: i64 = 1_700_000_000_000;

fn open(dir: &Path) -> Db {
    let opts = DbOptions {
        max_exemplars: 1000,
        ..DbOptions::default()
    };
    Db::open(dir, opts).expect("opening the TSDB")
}

fn label(n: &str, v: &str) -> proto::Label {
    proto::Label {
        name: n.into(),
        value: v.into(),
    }
}

fn snappy(bytes: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(bytes).unwrap()
}

fn v1_series(name: &str, samples: &[(i64, f64)]) -> proto::TimeSeries {
    proto::TimeSeries {
        labels: vec![label("__name__", name), label("job", "rw")],
        samples: samples
            .iter()
            .map(|&(timestamp, value)| proto::Sample { value, timestamp })
            .collect(),
        ..Default::default()
    }
}

fn v1_body(series: Vec<proto::TimeSeries>) -> Vec<u8> {
    snappy(
        &proto::WriteRequest {
            timeseries: series,
            metadata: vec![],
        }
        .encode_to_vec(),
    )
}

fn int_histogram(t: i64, count: u64, deltas: Vec<i64>, spans: Vec<(i32, u32)>) -> proto::Histogram {
    proto::Histogram {
        count: Some(proto::HistogramCount::CountInt(count)),
        sum: 10.0,
        schema: 0,
        zero_threshold: 1e-128,
        zero_count: Some(proto::HistogramZeroCount::ZeroCountInt(1)),
        positive_spans: spans
            .into_iter()
            .map(|(offset, length)| proto::BucketSpan { offset, length })
            .collect(),
        positive_deltas: deltas,
        timestamp: t,
        ..Default::default()
    }
}

/// A 2.0 request: one counter with two samples, a histogram series, an exemplar, metadata.
fn v2_request() -> v2::Request {
    let symbols: Vec<String> = [
        "",
        "__name__",
        "rw2_total",
        "job",
        "rw",
        "trace_id",
        "abc",
        "Requests.",
        "rw2_hist",
    ]
    .map(String::from)
    .to_vec();
    v2::Request {
        symbols,
        timeseries: vec![
            v2::TimeSeries {
                labels_refs: vec![1, 2, 3, 4],
                samples: vec![
                    proto::Sample {
                        value: 1.0,
                        timestamp: T0,
                    },
                    proto::Sample {
                        value: 2.0,
                        timestamp: T0 + 15_000,
                    },
                ],
                exemplars: vec![v2::Exemplar {
                    labels_refs: vec![5, 6],
                    value: 1.0,
                    timestamp: T0,
                }],
                metadata: Some(v2::Metadata {
                    r#type: 1,
                    help_ref: 7,
                    unit_ref: 0,
                }),
                created_timestamp: T0 - 60_000,
                ..Default::default()
            },
            v2::TimeSeries {
                labels_refs: vec![1, 8, 3, 4],
                histograms: vec![int_histogram(T0, 6, vec![2, 1], vec![(0, 2)])],
                ..Default::default()
            },
        ],
    }
}

fn header<'a>(r: &'a WriteResponse, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn v1_request_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let body = v1_body(vec![
        v1_series("rw_a", &[(T0, 1.0), (T0 + 1000, 2.5)]),
        v1_series("rw_b", &[(T0, -3.0)]),
    ]);
    let r = handle_write(&db, Some("application/x-protobuf"), Some("snappy"), &body);
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.headers.is_empty(), "1.0 answers without count headers");
    assert_eq!(
        dump(&db),
        vec![
            format!("{{__name__=\"rw_a\", job=\"rw\"}} {T0}=1 {}=2.5", T0 + 1000),
            format!("{{__name__=\"rw_b\", job=\"rw\"}} {T0}=-3"),
        ]
    );
    // No content type at all: an old sender, 1.0.
    let body = v1_body(vec![v1_series("rw_c", &[(T0, 7.0)])]);
    assert_eq!(handle_write(&db, None, None, &body).status, 204);
    assert_eq!(dump(&db).len(), 3);
}

#[test]
fn v2_request_is_stored_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let body = snappy(&v2_request().encode_to_vec());
    let r = handle_write(&db, Some(CONTENT_TYPE_V2), Some("snappy"), &body);
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(header(&r, HEADER_SAMPLES_WRITTEN), Some("2"));
    assert_eq!(header(&r, HEADER_HISTOGRAMS_WRITTEN), Some("1"));
    assert_eq!(header(&r, HEADER_EXEMPLARS_WRITTEN), Some("1"));
    assert_eq!(
        dump(&db),
        vec![
            format!("{{__name__=\"rw2_hist\", job=\"rw\"}} {T0}=h6"),
            format!(
                "{{__name__=\"rw2_total\", job=\"rw\"}} {T0}=1 {}=2",
                T0 + 15_000
            ),
        ]
    );
    let ex = storage::ExemplarQueryable::select_exemplars(
        &db,
        T0 - 1,
        T0 + 1,
        &[vec![Matcher::equal("__name__", "rw2_total")]],
    )
    .unwrap();
    assert_eq!(ex.len(), 1);
    assert_eq!(
        ex[0].exemplars[0].labels,
        Labels::from_pairs([("trace_id", "abc")])
    );
}

/// A bad request: name, content type, content encoding, body, status, a part of the reason.
type Case<'a> = (
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Vec<u8>,
    u16,
    &'a str,
);

/// Each bad request: its content type, body, the status and a part of the reason.
#[test]
fn bad_requests_are_refused_and_store_nothing() {
    let good_v1 = v1_body(vec![v1_series("rw_ok", &[(T0, 1.0)])]);
    let raw_v1 = proto::WriteRequest {
        timeseries: vec![v1_series("rw_ok", &[(T0, 1.0)])],
        metadata: vec![],
    }
    .encode_to_vec();
    let mut out_of_range = v2_request();
    out_of_range.timeseries[1].labels_refs = vec![1, 8, 3, 42];
    let mut odd_refs = v2_request();
    odd_refs.timeseries[1].labels_refs = vec![1, 8, 3];
    let mut bad_exemplar_ref = v2_request();
    bad_exemplar_ref.timeseries[0].exemplars[0].labels_refs = vec![5, 99];
    let mut bad_help_ref = v2_request();
    bad_help_ref.timeseries[0]
        .metadata
        .as_mut()
        .unwrap()
        .help_ref = 100;
    let hist = |h: proto::Histogram| {
        let mut series = v1_series("rw_hist", &[]);
        series.histograms = vec![h];
        // A good series first: it must not be stored either.
        v1_body(vec![v1_series("rw_ok", &[(T0, 1.0)]), series])
    };
    let mut float_with_deltas = int_histogram(T0, 6, vec![2, 1], vec![(0, 2)]);
    float_with_deltas.count = Some(proto::HistogramCount::CountFloat(6.0));
    let mut bad_schema = int_histogram(T0, 6, vec![2, 1], vec![(0, 2)]);
    bad_schema.schema = 9;
    let mut dup = v1_series("rw_dup", &[(T0, 1.0)]);
    dup.labels.push(label("job", "again"));
    let mut nolabels = v1_series("x", &[(T0, 1.0)]);
    nolabels.labels.clear();
    let cases: Vec<Case> = vec![
        (
            "truncated snappy",
            None,
            None,
            good_v1[..good_v1.len() - 4].to_vec(),
            400,
            "snappy",
        ),
        (
            "not snappy at all",
            None,
            None,
            raw_v1.clone(),
            400,
            "snappy",
        ),
        (
            "wrong protobuf",
            None,
            None,
            snappy(b"\x0a\xff\xff\xff\xff\x0f garbage"),
            400,
            "prometheus.WriteRequest",
        ),
        (
            "2.0 body sent as 1.0 decodes wrongly",
            Some(CONTENT_TYPE_V2),
            None,
            snappy(&raw_v1[..raw_v1.len() - 3]),
            400,
            "io.prometheus.write.v2.Request",
        ),
        (
            "out-of-range label symbol",
            Some(CONTENT_TYPE_V2),
            None,
            snappy(&out_of_range.encode_to_vec()),
            400,
            "symbol reference 42 out of range",
        ),
        (
            "odd label symbol count",
            Some(CONTENT_TYPE_V2),
            None,
            snappy(&odd_refs.encode_to_vec()),
            400,
            "odd number of symbol references",
        ),
        (
            "out-of-range exemplar symbol",
            Some(CONTENT_TYPE_V2),
            None,
            snappy(&bad_exemplar_ref.encode_to_vec()),
            400,
            "symbol reference 99",
        ),
        (
            "out-of-range help symbol",
            Some(CONTENT_TYPE_V2),
            None,
            snappy(&bad_help_ref.encode_to_vec()),
            400,
            "help_ref symbol reference 100",
        ),
        (
            "buckets do not match spans",
            None,
            None,
            hist(int_histogram(T0, 6, vec![2, 1], vec![(0, 3)])),
            400,
            "spans need 3 positive buckets, have 2",
        ),
        (
            "negative bucket",
            None,
            None,
            hist(int_histogram(T0, 6, vec![2, -3], vec![(0, 2)])),
            400,
            "negative observation count",
        ),
        (
            "count not the buckets' sum",
            None,
            None,
            hist(int_histogram(T0, 9, vec![2, 1], vec![(0, 2)])),
            400,
            "the count is 9",
        ),
        (
            "float histogram with deltas",
            None,
            None,
            hist(float_with_deltas),
            400,
            "integer bucket deltas",
        ),
        (
            "schema out of range",
            None,
            None,
            hist(bad_schema),
            400,
            "schema 9 out of range",
        ),
        (
            "duplicate label name",
            None,
            None,
            v1_body(vec![v1_series("rw_ok", &[(T0, 1.0)]), dup]),
            400,
            "duplicate label name \"job\"",
        ),
        (
            "empty label set",
            None,
            None,
            v1_body(vec![v1_series("rw_ok", &[(T0, 1.0)]), nolabels]),
            400,
            "timeseries[1]: empty label set",
        ),
        (
            "unknown content type",
            Some("application/json"),
            None,
            good_v1.clone(),
            415,
            "unsupported content type",
        ),
        (
            "unknown proto",
            Some("application/x-protobuf;proto=io.prometheus.write.v3.Request"),
            None,
            good_v1.clone(),
            415,
            "unsupported proto",
        ),
        (
            "unknown encoding",
            None,
            Some("gzip"),
            good_v1.clone(),
            415,
            "only snappy",
        ),
    ];
    for (name, ct, enc, body, status, reason) in cases {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        let r = handle_write(&db, ct, enc, &body);
        assert_eq!(r.status, status, "{name}: {}", r.body);
        assert!(
            r.body.contains(reason),
            "{name}: reason {:?} lacks {reason:?}",
            r.body
        );
        assert_eq!(
            dump(&db),
            Vec::<String>::new(),
            "{name}: something was stored"
        );
    }
}

#[test]
fn out_of_order_sample_rolls_back_the_whole_request() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let first = v1_body(vec![v1_series("rw_a", &[(T0 + 10_000, 1.0)])]);
    assert_eq!(handle_write(&db, None, None, &first).status, 204);
    let before = dump(&db);
    // rw_b is new and fine, rw_a goes back in time: the whole request is refused.
    let second = v1_body(vec![
        v1_series("rw_b", &[(T0, 1.0)]),
        v1_series("rw_a", &[(T0 + 20_000, 2.0), (T0 + 5_000, 3.0)]),
    ]);
    let r = handle_write(&db, None, None, &second);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("rw_a"), "{}", r.body);
    assert_eq!(dump(&db), before);
}
