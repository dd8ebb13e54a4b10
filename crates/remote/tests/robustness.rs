//! Robustness of the remote-write 1.0/2.0 and remote-read request decoders against untrusted
//! bodies (issue 16, item 1): valid requests mutated before and after snappy compression, and
//! arbitrary bytes, never panic and give series or an error; a valid request decodes to what
//! was encoded. Cases: `FIREWATCH_FUZZ_CASES`.

use firewatch_remote::proto::{self, v2};
use firewatch_remote::read::decode_request;
use firewatch_remote::receiver::{Protocol, decode};
use proptest::prelude::*;
use prost::Message;
use testkit::fuzz::{arbitrary_bytes, fuzz_config, mutated};

fn label(name: &str, value: &str) -> proto::Label {
    proto::Label {
        name: name.into(),
        value: value.into(),
    }
}

fn histogram() -> proto::Histogram {
    proto::Histogram {
        count: Some(proto::HistogramCount::CountInt(5)),
        sum: 2.5,
        schema: 1,
        zero_threshold: 1e-128,
        zero_count: Some(proto::HistogramZeroCount::ZeroCountInt(1)),
        positive_spans: vec![proto::BucketSpan {
            offset: 0,
            length: 2,
        }],
        positive_deltas: vec![2, 0],
        timestamp: 1_700_000_000_000,
        ..proto::Histogram::default()
    }
}

fn v1_seed() -> Vec<u8> {
    proto::WriteRequest {
        timeseries: vec![
            proto::TimeSeries {
                labels: vec![label("__name__", "up"), label("job", "a")],
                samples: vec![
                    proto::Sample {
                        value: 1.0,
                        timestamp: 1_700_000_000_000,
                    },
                    proto::Sample {
                        value: 0.0,
                        timestamp: 1_700_000_015_000,
                    },
                ],
                exemplars: vec![proto::Exemplar {
                    labels: vec![label("trace_id", "abc")],
                    value: 1.0,
                    timestamp: 1_700_000_000_000,
                }],
                histograms: Vec::new(),
            },
            proto::TimeSeries {
                labels: vec![label("__name__", "latency")],
                histograms: vec![histogram()],
                ..proto::TimeSeries::default()
            },
        ],
        metadata: vec![proto::MetricMetadata {
            r#type: 1,
            metric_family_name: "up".into(),
            help: "Up.".into(),
            unit: String::new(),
        }],
    }
    .encode_to_vec()
}

fn v2_seed() -> Vec<u8> {
    v2::Request {
        symbols: vec![
            String::new(),
            "__name__".into(),
            "up".into(),
            "job".into(),
            "a".into(),
            "help".into(),
        ],
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2, 3, 4],
            samples: vec![proto::Sample {
                value: 1.0,
                timestamp: 1_700_000_000_000,
            }],
            histograms: vec![histogram()],
            exemplars: vec![v2::Exemplar {
                labels_refs: vec![3, 4],
                value: 1.0,
                timestamp: 1_700_000_000_000,
            }],
            metadata: Some(v2::Metadata {
                r#type: 2,
                help_ref: 5,
                unit_ref: 0,
            }),
            created_timestamp: 1_699_999_999_000,
        }],
    }
    .encode_to_vec()
}

fn read_seed() -> Vec<u8> {
    proto::ReadRequest {
        queries: vec![proto::Query {
            start_timestamp_ms: 1,
            end_timestamp_ms: 1_700_000_000_000,
            matchers: vec![
                proto::LabelMatcher {
                    r#type: 0,
                    name: "__name__".into(),
                    value: "up".into(),
                },
                proto::LabelMatcher {
                    r#type: 2,
                    name: "job".into(),
                    value: "a|b.*".into(),
                },
            ],
            hints: Some(proto::ReadHints {
                step_ms: 15_000,
                func: "rate".into(),
                start_ms: 1,
                end_ms: 2,
                grouping: vec!["job".into()],
                by: true,
                range_ms: 300_000,
            }),
        }],
        accepted_response_types: vec![0, 1],
    }
    .encode_to_vec()
}

fn snappy(raw: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(raw)
        .expect("snappy compression")
}

fn all_decoders(body: &[u8]) {
    let _ = decode(Protocol::V1, body);
    let _ = decode(Protocol::V2, body);
    let _ = decode_request(body);
}

#[test]
fn seeds_decode() {
    let v1 = decode(Protocol::V1, &snappy(&v1_seed())).expect("v1 seed");
    assert_eq!(v1.len(), 2);
    assert_eq!(
        v1[0].floats,
        vec![(1_700_000_000_000, 1.0), (1_700_000_015_000, 0.0)]
    );
    assert_eq!(v1[1].histograms.len(), 1);
    let v2 = decode(Protocol::V2, &snappy(&v2_seed())).expect("v2 seed");
    assert_eq!(v2.len(), 1);
    assert_eq!(v2[0].start, 1_699_999_999_000);
    assert_eq!(v2[0].exemplars.len(), 1);
    let read = decode_request(&snappy(&read_seed())).expect("read seed");
    assert_eq!(
        read,
        proto::ReadRequest::decode(read_seed().as_slice()).unwrap()
    );
}

/// A snappy header claiming a 4 GiB body must be refused before anything that size is
/// allocated.
#[test]
fn huge_claimed_decompressed_length_is_an_error() {
    // Varint 0xFFFF_FFFF (the largest length snappy allows) and one literal byte.
    let body = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, b'x'];
    for err in [
        decode(Protocol::V1, &body).unwrap_err(),
        decode(Protocol::V2, &body).unwrap_err(),
        decode_request(&body).unwrap_err(),
    ] {
        assert!(
            err.to_string()
                .contains("snappy header claims 4294967295 decompressed bytes"),
            "{err}"
        );
    }
}

proptest! {
    #![proptest_config(fuzz_config(5000))]

    #[test]
    fn protobuf_mutated(raw in mutated(vec![v1_seed(), v2_seed(), read_seed()], 6)) {
        all_decoders(&snappy(&raw));
    }

    #[test]
    fn snappy_mutated(body in mutated(vec![snappy(&v1_seed()), snappy(&v2_seed()), snappy(&read_seed())], 4)) {
        all_decoders(&body);
    }

    /// The snappy length bound never refuses what the encoder produced.
    #[test]
    fn highly_compressible_bodies_decode(n in 0usize..200_000, byte in any::<u8>()) {
        let raw = vec![byte; n];
        let packed = snappy(&raw);
        prop_assert_eq!(firewatch_remote::codec::decompress(&packed).unwrap(), raw);
    }

    #[test]
    fn arbitrary_bodies(body in arbitrary_bytes(256)) {
        all_decoders(&body);
        all_decoders(&snappy(&body));
    }
}

/// Regression (found by `protobuf_mutated`): an exemplar label with an empty name panicked
/// in `Labels` (debug builds); it is now an error naming the series.
#[test]
fn exemplar_label_with_empty_name_is_an_error() {
    let v1 = proto::WriteRequest {
        timeseries: vec![proto::TimeSeries {
            labels: vec![label("__name__", "up")],
            exemplars: vec![proto::Exemplar {
                labels: vec![label("", "x")],
                value: 1.0,
                timestamp: 1,
            }],
            ..proto::TimeSeries::default()
        }],
        metadata: Vec::new(),
    };
    let err = decode(Protocol::V1, &snappy(&v1.encode_to_vec())).unwrap_err();
    assert!(
        err.to_string()
            .contains("timeseries[0]: exemplar label with an empty name"),
        "{err}"
    );
    let v2 = v2::Request {
        symbols: vec![String::new(), "__name__".into(), "up".into()],
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2],
            exemplars: vec![v2::Exemplar {
                labels_refs: vec![0, 2],
                value: 1.0,
                timestamp: 1,
            }],
            ..v2::TimeSeries::default()
        }],
    };
    let err = decode(Protocol::V2, &snappy(&v2.encode_to_vec())).unwrap_err();
    assert!(
        err.to_string()
            .contains("exemplar label with an empty name"),
        "{err}"
    );
}
