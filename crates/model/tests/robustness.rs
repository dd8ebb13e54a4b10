//! Robustness of the exposition parsers against untrusted scrape bodies (issue 16, item 1):
//! arbitrary bytes and mutated valid expositions (text, OpenMetrics, protobuf) never panic and
//! give entries or an error; what parses re-encodes to a fixed point
//! (`encode(parse(encode(parse(x)))) == encode(parse(x))`). Cases: `FIREWATCH_FUZZ_CASES`.

use std::path::Path;

use firewatch_model::exposition::{
    Format, Parser, ProtobufOptions, ProtobufParser, encode, parse_families, proto,
};
use proptest::prelude::*;
use prost::Message;
use testkit::fuzz::{arbitrary_bytes, fuzz_config, mutated, seed_files};

fn seeds(dir: &str) -> Vec<Vec<u8>> {
    seed_files(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz_seeds")
            .join(dir),
    )
}

/// Drains the streaming parser; `Ok(count)` or the first error.
fn stream(buf: &[u8], format: Format) -> Result<usize, String> {
    let mut p = Parser::new(buf, format);
    let mut n = 0;
    while p.next_entry().map_err(|e| e.to_string())?.is_some() {
        n += 1;
    }
    Ok(n)
}

fn protobuf_entries(buf: &[u8], options: ProtobufOptions) -> Result<usize, String> {
    let mut p = ProtobufParser::new(buf, options);
    let mut n = 0;
    while p.next_entry().map_err(|e| e.to_string())?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// Whole-body checks for one format: both parsers terminate without panicking, and a body
/// that parses re-encodes to a fixed point.
fn check_body(buf: &[u8], format: Format) -> Result<(), TestCaseError> {
    let _ = stream(buf, format);
    if let Ok(families) = parse_families(buf, format) {
        let once = encode(&families, format);
        let again = parse_families(once.as_bytes(), format).map_err(|e| {
            TestCaseError::fail(format!("re-parsing our own encoding failed: {e}\n{once}"))
        })?;
        prop_assert_eq!(encode(&again, format), once);
    }
    Ok(())
}

fn protobuf_seed() -> Vec<u8> {
    let lp = |n: &str, v: &str| proto::LabelPair {
        name: n.into(),
        value: v.into(),
    };
    let families = [
        proto::MetricFamily {
            name: "http_requests_total".into(),
            help: "Requests.".into(),
            r#type: proto::MetricType::Counter as i32,
            metric: vec![proto::Metric {
                label: vec![lp("code", "200")],
                counter: Some(proto::Counter {
                    value: 10.0,
                    ..proto::Counter::default()
                }),
                timestamp_ms: 1_700_000_000_000,
                ..proto::Metric::default()
            }],
            unit: String::new(),
        },
        proto::MetricFamily {
            name: "latency_seconds".into(),
            help: "Latency.".into(),
            r#type: proto::MetricType::Histogram as i32,
            metric: vec![proto::Metric {
                histogram: Some(proto::Histogram {
                    sample_count: 5,
                    sample_sum: 1.5,
                    schema: Some(3),
                    zero_threshold: 1e-128,
                    zero_count: 1,
                    positive_span: vec![proto::BucketSpan {
                        offset: -2,
                        length: 3,
                    }],
                    positive_delta: vec![1, 1, -1],
                    bucket: vec![proto::Bucket {
                        cumulative_count: 3,
                        upper_bound: 0.5,
                        ..proto::Bucket::default()
                    }],
                    ..proto::Histogram::default()
                }),
                ..proto::Metric::default()
            }],
            unit: String::new(),
        },
        proto::MetricFamily {
            name: "rpc_seconds".into(),
            help: String::new(),
            r#type: proto::MetricType::Summary as i32,
            metric: vec![proto::Metric {
                summary: Some(proto::Summary {
                    sample_count: 3,
                    sample_sum: 2.0,
                    quantile: vec![proto::Quantile {
                        quantile: 0.5,
                        value: 0.7,
                    }],
                    ..proto::Summary::default()
                }),
                ..proto::Metric::default()
            }],
            unit: String::new(),
        },
    ];
    let mut out = Vec::new();
    for f in &families {
        f.encode_length_delimited(&mut out)
            .expect("encoding a seed");
    }
    out
}

#[test]
fn protobuf_seed_is_valid() {
    assert!(protobuf_entries(&protobuf_seed(), ProtobufOptions::default()).unwrap() >= 3);
}

#[test]
fn seeds_are_valid() {
    for s in seeds("text") {
        parse_families(&s, Format::Text).expect("text seed parses");
    }
    for s in seeds("openmetrics") {
        parse_families(&s, Format::OpenMetrics).expect("OpenMetrics seed parses");
    }
}

proptest! {
    #![proptest_config(fuzz_config(20000))]

    #[test]
    fn text_mutated(buf in mutated(seeds("text"), 6)) {
        check_body(&buf, Format::Text)?;
    }

    #[test]
    fn openmetrics_mutated(buf in mutated(seeds("openmetrics"), 6)) {
        check_body(&buf, Format::OpenMetrics)?;
    }

    #[test]
    fn exposition_arbitrary(buf in arbitrary_bytes(512)) {
        check_body(&buf, Format::Text)?;
        check_body(&buf, Format::OpenMetrics)?;
        let _ = protobuf_entries(&buf, ProtobufOptions::default());
    }

    #[test]
    fn protobuf_mutated(buf in mutated(vec![protobuf_seed()], 6), classic in any::<bool>()) {
        let options = ProtobufOptions { native_histograms: !classic, keep_classic: classic };
        let _ = protobuf_entries(&buf, options);
    }
}
