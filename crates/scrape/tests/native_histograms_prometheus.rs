//! The real Prometheus 2.42 (`--enable-feature=native-histograms`) and Firewatch's scrape
//! manager over a real TSDB scrape the same protobuf exporter (native histograms with
//! positive, negative and zero buckets, one of them a float histogram, and a gauge
//! histogram) and hold the same histograms: counts, sums and the observations between bucket
//! boundaries, asked of both through PromQL, agree.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::http::header;
use axum::routing::get;
use discovery::TargetGroup;
use firewatch_scrape::Manager;
use model::exposition::{PROTOBUF_CONTENT_TYPE, proto};
use promql::Value;
use prost::Message;
use testkit::Server;
use tsdb::{Db, DbOptions};

const TEST: &str = "firewatch-scrape::native_histograms_prometheus::prometheus_2_42_and_firewatch_hold_the_same_native_histograms";

fn span(offset: i32, length: u32) -> proto::BucketSpan {
    proto::BucketSpan { offset, length }
}

/// The exposition: constant, so both sides store the same values whenever they scrape.
fn body() -> Vec<u8> {
    let metric = |code: &str, h: proto::Histogram| proto::Metric {
        label: vec![proto::LabelPair {
            name: "code".into(),
            value: code.into(),
        }],
        histogram: Some(h),
        ..proto::Metric::default()
    };
    let integer = proto::Histogram {
        sample_count: 21,
        sample_sum: 13.75,
        schema: Some(3),
        zero_threshold: 0.001,
        zero_count: 2,
        positive_span: vec![span(-2, 3), span(4, 2)],
        positive_delta: vec![1, 2, -1, 3, -2],
        negative_span: vec![span(1, 2)],
        negative_delta: vec![2, -1],
        ..proto::Histogram::default()
    };
    let float = proto::Histogram {
        sample_count_float: 10.5,
        sample_sum: -3.25,
        schema: Some(0),
        zero_threshold: 0.01,
        zero_count_float: 0.5,
        positive_span: vec![span(0, 2), span(2, 1)],
        positive_count: vec![1.5, 2.5, 4.0],
        negative_span: vec![span(0, 1)],
        negative_count: vec![2.0],
        ..proto::Histogram::default()
    };
    let families = [
        proto::MetricFamily {
            name: "rpc_seconds".into(),
            help: "RPC latency.".into(),
            r#type: proto::MetricType::Histogram as i32,
            metric: vec![metric("200", integer.clone()), metric("500", float)],
            ..proto::MetricFamily::default()
        },
        proto::MetricFamily {
            name: "queue_seconds".into(),
            r#type: proto::MetricType::GaugeHistogram as i32,
            metric: vec![metric("200", integer)],
            ..proto::MetricFamily::default()
        },
    ];
    let mut out = Vec::new();
    for f in families {
        f.encode_length_delimited(&mut out).unwrap();
    }
    out
}

/// Counts, sums, and the share of observations between bucket boundaries of every schema
/// (powers of two, either sign), so that no interpolation inside a bucket is involved (its
/// rules changed after 2.42): the stored buckets themselves are compared.
const QUERIES: [&str; 12] = [
    "histogram_count(rpc_seconds)",
    "histogram_sum(rpc_seconds)",
    "histogram_fraction(0.25, 0.5, rpc_seconds)",
    "histogram_fraction(0.5, 1, rpc_seconds)",
    "histogram_fraction(1, 2, rpc_seconds)",
    "histogram_fraction(2, 16, rpc_seconds)",
    "histogram_fraction(-2, -1, rpc_seconds)",
    "histogram_fraction(-8, -2, rpc_seconds)",
    "histogram_fraction(-1, -0.25, rpc_seconds)",
    "histogram_count(queue_seconds)",
    "histogram_sum(queue_seconds)",
    "histogram_fraction(1, 4, queue_seconds)",
];

/// `(labels without job/instance, value)` of a Prometheus instant-query answer.
fn prometheus_answer(prom: &Server, query: &str) -> Vec<(String, f64)> {
    let path = format!(
        "/api/v1/query?query={}",
        query
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            })
            .collect::<String>()
    );
    let r = prom.get(&path).unwrap();
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    // `{"metric":{..."code":"200"...},"value":[<t>,"<v>"]}` per series.
    let mut out: Vec<(String, f64)> = r
        .body
        .split("{\"metric\":")
        .skip(1)
        .map(|series| {
            let code = series
                .split_once("\"code\":\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map_or("", |(c, _)| c)
                .to_owned();
            let value = series
                .split_once("\"value\":[")
                .and_then(|(_, rest)| rest.split_once(",\""))
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(v, _)| v.parse().unwrap())
                .unwrap_or_else(|| panic!("{query}: no value in {series}"));
            (code, value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn firewatch_answer(db: &Db, query: &str) -> Vec<(String, f64)> {
    let now = jiff::Timestamp::now().as_millisecond();
    let res = promql::Engine::default()
        .instant_query(db, query, now)
        .unwrap();
    let Value::Vector(v) = res.value else {
        panic!("{query}: not a vector: {:?}", res.value)
    };
    let mut out: Vec<(String, f64)> = v
        .into_iter()
        .map(|s| (s.labels.get("code").unwrap_or_default().to_owned(), s.f))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_2_42_and_firewatch_hold_the_same_native_histograms() {
    let Some(prometheus) = testkit::peer_binary(TEST, "prometheus") else {
        return;
    };
    let router = axum::Router::new().route(
        "/metrics",
        get(|| async { ([(header::CONTENT_TYPE, PROTOBUF_CONTENT_TYPE)], body()) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let tmp = tempfile::tempdir().unwrap();
    let prom_config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: proto\n    static_configs: [{{targets: ['{addr}']}}]\n"
    );
    let prom = tokio::task::block_in_place(|| {
        Server::start(
            prometheus.to_str().unwrap(),
            &[],
            &tmp.path().join("prometheus"),
            &tmp.path().join("prometheus/data"),
            &prom_config,
            &["--enable-feature=native-histograms"],
        )
    });

    let db = Arc::new(Db::open(&tmp.path().join("firewatch"), DbOptions::default()).unwrap());
    let yaml = "scrape_configs:
  - job_name: proto
    scrape_interval: 1s
    scrape_timeout: 1s
    scrape_protocols: [PrometheusProto]
    scrape_native_histograms: true
";
    let cfg = config::Config::from_yaml_str(yaml, ".").unwrap();
    let manager = Manager::new(db.clone());
    manager.apply_config(&cfg.all_scrape_configs().unwrap());
    manager.sync(HashMap::from([(
        "proto".to_owned(),
        vec![TargetGroup {
            source: "test".into(),
            targets: vec![BTreeMap::from([("__address__".to_owned(), addr)])],
            labels: BTreeMap::default(),
        }],
    )]));

    // Both have scraped once the first query answers two series on each side.
    let ready = |db: &Db, prom: &Server| {
        firewatch_answer(db, QUERIES[0]).len() == 2
            && prometheus_answer(prom, QUERIES[0]).len() == 2
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !tokio::task::block_in_place(|| ready(&db, &prom)) {
        assert!(
            std::time::Instant::now() < deadline,
            "never scraped by both"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut nonzero = 0;
    for q in QUERIES {
        let (ours, theirs) =
            tokio::task::block_in_place(|| (firewatch_answer(&db, q), prometheus_answer(&prom, q)));
        assert!(!ours.is_empty(), "{q}: no answer");
        assert_eq!(ours.len(), theirs.len(), "{q}: {ours:?} vs {theirs:?}");
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(a.0, b.0, "{q}");
            nonzero += usize::from(b.1 != 0.0);
            assert!(
                (a.1 - b.1).abs() <= 1e-9 * b.1.abs().max(1.0),
                "{q}: Firewatch {ours:?} vs Prometheus 2.42 {theirs:?}"
            );
        }
    }
    // Most answers are not 0: the buckets compared hold observations.
    assert!(nonzero >= 12, "only {nonzero} non-zero answers");
    manager.stop().await;
    db.close().unwrap();
    drop(prom);
}
