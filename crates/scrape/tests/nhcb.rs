//! `convert_classic_histograms_to_nhcb` end to end through the scrape loop's appender into a
//! real TSDB (`tsdb::Db`), read back through PromQL: classic histograms of text, OpenMetrics
//! and protobuf expositions are stored as native histograms with custom buckets (schema -53)
//! whose quantiles, counts and sums are the classic ones', with their bucket exemplars,
//! marked stale when they vanish; their classic series are kept only with
//! `always_scrape_classic_histograms`, and histograms with a native part stay exponential.

use std::sync::Arc;

use firewatch_scrape::http::BodyFormat;
use firewatch_scrape::scrape_loop::{LoopOptions, ScrapeCache, ScrapeCounts, append_body};
use model::exposition::{Format, proto};
use model::{Labels, MatchOp, Matcher, Sample};
use promql::Value;
use prost::Message;
use storage::{ExemplarQueryable, ValueType};
use tsdb::{Db, DbOptions};

const STEP: i64 = 15_000;

fn t0() -> i64 {
    let now = jiff::Timestamp::now().as_millisecond();
    now - now % 60_000 - 3_600_000
}

fn target() -> Labels {
    model::labels!("job" => "app", "instance" => "h:1")
}

fn opts(keep_classic: bool) -> LoopOptions {
    LoopOptions {
        honor_timestamps: true,
        native_histograms: true,
        always_classic: keep_classic,
        convert_nhcb: true,
        ..LoopOptions::default()
    }
}

fn scrape(
    db: &Db,
    cache: &mut ScrapeCache,
    body: &[u8],
    format: BodyFormat,
    opts: &LoopOptions,
    ts: i64,
) -> ScrapeCounts {
    let mut app = db.appender();
    let counts = append_body(app.as_mut(), cache, body, format, &target(), opts, ts).unwrap();
    app.commit().unwrap();
    counts
}

/// Cumulative bucket counts (le 0.1, 0.5, 1, +Inf) and sum of the `code` histogram at scrape
/// `k`: every bucket's own count grows (at uneven paces), as real observations make them.
fn classic_at(k: u64, code: u64) -> ([u64; 4], f64) {
    let own = [k * (1 + code % 3), 2 * k, k + k / 3, k * code];
    let mut b = [0; 4];
    let mut acc = 0;
    for (i, c) in own.iter().enumerate() {
        acc += c;
        b[i] = acc;
    }
    (b, 0.37 * acc as f64 + 0.5 * k as f64)
}

/// A text exposition (Prometheus text or OpenMetrics) of scrape `k`: `rpc_seconds` for
/// code 200 always and code 500 in the first ten scrapes, and a gauge.
fn text_body(k: u64, openmetrics: bool) -> String {
    let mut out = String::from("# HELP rpc_seconds RPC latency.\n# TYPE rpc_seconds histogram\n");
    let codes: &[u64] = if k < 10 { &[200, 500] } else { &[200] };
    for &code in codes {
        let (b, sum) = classic_at(k, code % 7);
        for (le, c) in ["0.1", "0.5", "1", "+Inf"].iter().zip(b) {
            out.push_str(&format!(
                "rpc_seconds_bucket{{code=\"{code}\",le=\"{le}\"}} {c}"
            ));
            if openmetrics && *le == "0.5" {
                out.push_str(&format!(" # {{trace_id=\"t{k}\"}} 0.25"));
            }
            out.push('\n');
        }
        out.push_str(&format!("rpc_seconds_sum{{code=\"{code}\"}} {sum}\n"));
        out.push_str(&format!("rpc_seconds_count{{code=\"{code}\"}} {}\n", b[3]));
    }
    out.push_str("# TYPE queue_depth gauge\nqueue_depth 3\n");
    if openmetrics {
        out.push_str("# EOF\n");
    }
    out
}

fn instant(db: &Db, query: &str, t: i64) -> Vec<(String, f64)> {
    let res = promql::Engine::default()
        .instant_query(db, query, t)
        .unwrap();
    let Value::Vector(v) = res.value else {
        panic!("{query}: not a vector: {:?}", res.value)
    };
    let mut out: Vec<(String, f64)> = v.into_iter().map(|s| (s.labels.to_string(), s.f)).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The newest sample of the series `name{code=...}`, straight from the TSDB.
fn newest(db: &Db, name: &str, code: &str) -> (ValueType, Option<Sample>) {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let m = [
        Matcher::new(MatchOp::Equal, "__name__", name).unwrap(),
        Matcher::new(MatchOp::Equal, "code", code).unwrap(),
    ];
    let mut last = (ValueType::None, None);
    for s in q.select(true, None, &m).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        loop {
            match it.next() {
                ValueType::None => break,
                ValueType::Float => last = (ValueType::Float, Some(Sample::Float(it.at().1))),
                ValueType::Histogram => {
                    let (_, h) = it.at_histogram();
                    last = (ValueType::Histogram, Some(Sample::Histogram(Arc::new(h))));
                }
                ValueType::FloatHistogram => {
                    let (_, h) = it.at_float_histogram();
                    last = (
                        ValueType::FloatHistogram,
                        Some(Sample::FloatHistogram(Arc::new(h))),
                    );
                }
            }
        }
    }
    last
}

#[test]
fn text_classic_histograms_become_custom_bucket_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let mut cache = ScrapeCache::default();
    let t0 = t0();
    let fmt = BodyFormat::Text(Format::Text);
    for k in 0..20u64 {
        let counts = scrape(
            &db,
            &mut cache,
            text_body(k, false).as_bytes(),
            fmt,
            &opts(false),
            t0 + k as i64 * STEP,
        );
        if k == 0 {
            // Two histograms and the gauge; no classic series.
            assert_eq!(
                (counts.scraped, counts.post_relabel, counts.added),
                (3, 3, 3)
            );
        }
    }
    let end = t0 + 19 * STEP;
    assert!(instant(&db, r#"{__name__=~"rpc_seconds_.+"}"#, end).is_empty());

    let (kind, sample) = newest(&db, "rpc_seconds", "200");
    assert_eq!(kind, ValueType::Histogram);
    let Some(Sample::Histogram(h)) = sample else {
        unreachable!()
    };
    let (b, sum) = classic_at(19, 200 % 7);
    assert_eq!(h.schema, -53);
    assert_eq!(h.custom_values, [0.1, 0.5, 1.0]);
    assert_eq!((h.count, h.sum), (b[3], sum));
    let per_bucket: Vec<i64> = {
        let mut acc = 0;
        h.positive_buckets
            .iter()
            .map(|d| {
                acc += d;
                acc
            })
            .collect()
    };
    let want = [b[0], b[1] - b[0], b[2] - b[1], b[3] - b[2]];
    assert_eq!(
        h.positive_spans.iter().map(|s| s.length).sum::<u32>(),
        4,
        "{h:?}"
    );
    assert_eq!(per_bucket, want.map(|v| v as i64));

    // histogram_count and histogram_sum answer the classic _count and _sum.
    let got = instant(&db, "histogram_count(rpc_seconds)", end);
    assert_eq!(
        got,
        [(
            r#"{code="200", instance="h:1", job="app"}"#.to_owned(),
            b[3] as f64
        )]
    );
    let got = instant(&db, "histogram_sum(rpc_seconds)", end);
    assert_eq!(got[0].1, sum);
    // The code=500 histogram vanished after scrape 9: stale from scrape 10 on.
    let at9 = t0 + 9 * STEP;
    assert_eq!(
        instant(&db, r#"histogram_count(rpc_seconds{code="500"})"#, at9).len(),
        1
    );
    assert!(instant(&db, r#"rpc_seconds{code="500"}"#, t0 + 11 * STEP).is_empty());
    assert_eq!(instant(&db, "queue_depth", end).len(), 1);
    db.close().unwrap();
}

#[test]
fn converted_quantiles_match_the_classic_ones_and_keep_exemplars() {
    let dir = tempfile::tempdir().unwrap();
    let options = DbOptions {
        max_exemplars: 1000,
        ..DbOptions::default()
    };
    let db = Db::open(dir.path(), options).unwrap();
    let mut cache = ScrapeCache::default();
    let t0 = t0();
    let fmt = BodyFormat::Text(Format::OpenMetrics);
    for k in 0..20u64 {
        let counts = scrape(
            &db,
            &mut cache,
            text_body(k, true).as_bytes(),
            fmt,
            &opts(true),
            t0 + k as i64 * STEP,
        );
        if k == 0 {
            // Two histograms, their 2 × 6 classic series and the gauge.
            assert_eq!(counts.scraped, 15);
        }
    }
    let at = t0 + 9 * STEP;
    let queries = [
        (
            "histogram_quantile({q}, rpc_seconds)",
            "histogram_quantile({q}, rpc_seconds_bucket)",
        ),
        (
            "histogram_quantile({q}, rate(rpc_seconds[2m]))",
            "histogram_quantile({q}, rate(rpc_seconds_bucket[2m]))",
        ),
    ];
    for (q, (native, classic)) in [0.1, 0.5, 0.75, 0.9, 0.99]
        .into_iter()
        .flat_map(|q| queries.map(|pair| (q, pair)))
    {
        let native = instant(&db, &native.replace("{q}", &q.to_string()), at);
        let classic = instant(&db, &classic.replace("{q}", &q.to_string()), at);
        assert_eq!(native.len(), 2, "{native:?}");
        assert_eq!(native.len(), classic.len());
        for (n, c) in native.iter().zip(&classic) {
            assert_eq!(n.0, c.0);
            assert!(
                (n.1 - c.1).abs() < 1e-9,
                "q={q}: native {n:?} classic {c:?}"
            );
        }
    }
    let rate_count = instant(&db, "histogram_count(rate(rpc_seconds[2m]))", at);
    let classic_rate = instant(&db, "rate(rpc_seconds_count[2m])", at);
    for (n, c) in rate_count.iter().zip(&classic_rate) {
        assert!((n.1 - c.1).abs() < 1e-9, "{n:?} {c:?}");
    }

    // The bucket's exemplar went with the histogram (and with the classic bucket kept).
    let m = vec![Matcher::new(MatchOp::Equal, "__name__", "rpc_seconds").unwrap()];
    let found = db.select_exemplars(t0, t0 + 20 * STEP, &[m]).unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].exemplars.len(), 20, "{:?}", found[0]);
    assert_eq!(found[0].exemplars[3].labels.get("trace_id"), Some("t3"));
    let m = vec![Matcher::new(MatchOp::Equal, "__name__", "rpc_seconds_bucket").unwrap()];
    assert_eq!(
        db.select_exemplars(t0, t0 + 20 * STEP, &[m]).unwrap().len(),
        2
    );
    db.close().unwrap();
}

fn bucket(le: f64, c: u64) -> proto::Bucket {
    proto::Bucket {
        cumulative_count: c,
        upper_bound: le,
        ..proto::Bucket::default()
    }
}

/// A protobuf exposition: `classic_seconds` with classic buckets only, and `mixed_seconds`
/// with both a native (exponential) part and classic buckets.
fn proto_body(k: u64) -> Vec<u8> {
    let histogram = |name: &str, native: bool| proto::MetricFamily {
        name: name.into(),
        r#type: proto::MetricType::Histogram as i32,
        metric: vec![proto::Metric {
            label: vec![proto::LabelPair {
                name: "code".into(),
                value: "200".into(),
            }],
            histogram: Some(proto::Histogram {
                sample_count: 4 * k,
                sample_sum: 1.5 * k as f64,
                bucket: vec![bucket(0.5, k), bucket(1.0, 3 * k)],
                schema: native.then_some(0),
                zero_threshold: if native { 1e-128 } else { 0.0 },
                positive_span: if native {
                    vec![proto::BucketSpan {
                        offset: 0,
                        length: 2,
                    }]
                } else {
                    Vec::new()
                },
                positive_delta: if native {
                    vec![(2 * k) as i64, 0]
                } else {
                    Vec::new()
                },
                ..proto::Histogram::default()
            }),
            ..proto::Metric::default()
        }],
        ..proto::MetricFamily::default()
    };
    let mut out = Vec::new();
    for f in [
        histogram("classic_seconds", false),
        histogram("mixed_seconds", true),
    ] {
        f.encode_length_delimited(&mut out).unwrap();
    }
    out
}

#[test]
fn protobuf_classic_only_histograms_convert_and_native_ones_stay_exponential() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let t0 = t0();
    for keep in [false, true] {
        let mut cache = ScrapeCache::default();
        let start = t0 + if keep { 10 * STEP } else { 0 };
        for k in 1..4u64 {
            let counts = scrape(
                &db,
                &mut cache,
                &proto_body(k),
                BodyFormat::Protobuf,
                &opts(keep),
                start + k as i64 * STEP,
            );
            // The converted histogram and the native one, plus both classic sets when kept.
            assert_eq!(
                counts.scraped,
                if keep { 2 + 2 * 5 } else { 2 },
                "keep={keep}"
            );
        }
        let (kind, sample) = newest(&db, "classic_seconds", "200");
        assert_eq!(kind, ValueType::Histogram);
        let Some(Sample::Histogram(h)) = sample else {
            unreachable!()
        };
        assert_eq!((h.schema, h.count, h.sum), (-53, 12, 4.5));
        assert_eq!(h.custom_values, [0.5, 1.0]);
        assert_eq!(h.positive_buckets, [3, 3, -3]);
        let Some(Sample::Histogram(h)) = newest(&db, "mixed_seconds", "200").1 else {
            panic!()
        };
        assert_eq!(h.schema, 0);
        assert!(h.custom_values.is_empty());
        let classic = newest(&db, "mixed_seconds_bucket", "200").0;
        assert_eq!(
            classic,
            if keep {
                ValueType::Float
            } else {
                ValueType::None
            }
        );
    }
    db.close().unwrap();
}
