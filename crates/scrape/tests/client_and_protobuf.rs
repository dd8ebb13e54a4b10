//! Scrapes through the manager with the shared HTTP client and the protobuf format: a TLS
//! target that requires client certificates is up with the job's `cert_file`/`key_file`; the
//! same target with a wrong CA is down with Go's error text; a target that only answers
//! protobuf is scraped with `scrape_protocols: [PrometheusProto]`, native histogram included.

#[path = "../../http-client/tests/support/pki.rs"]
mod pki;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use discovery::TargetGroup;
use firewatch_scrape::{Health, Manager, TargetStatus};
use model::exposition::{PROTOBUF_CONTENT_TYPE, proto};
use model::{MatchOp, Matcher};
use prost::Message;
use storage::memory::MemoryStorage;
use storage::{Queryable, ValueType};

fn group(addr: &str) -> Vec<TargetGroup> {
    vec![TargetGroup {
        source: "test".into(),
        targets: vec![BTreeMap::from([(
            "__address__".to_owned(),
            addr.to_owned(),
        )])],
        labels: BTreeMap::default(),
    }]
}

async fn wait_scraped(m: &Manager, n: usize) -> HashMap<String, TargetStatus> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = m.active_targets();
        if t.len() == n && t.iter().all(|t| t.last_scrape.is_some()) {
            return t.into_iter().map(|t| (t.scrape_pool.clone(), t)).collect();
        }
        assert!(Instant::now() < deadline, "targets never scraped: {t:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The last sample of the series `name` of `job`: its value type, float value and
/// histogram count.
/// The type, value (a histogram's count) and start timestamp (0 when unknown) of the newest
/// sample of `name` in `job`.
fn newest(storage: &MemoryStorage, job: &str, name: &str) -> Option<(ValueType, f64, i64)> {
    let q = storage.querier(i64::MIN, i64::MAX).ok()?;
    let matchers = [
        Matcher::new(MatchOp::Equal, "__name__", name).unwrap(),
        Matcher::new(MatchOp::Equal, "job", job).unwrap(),
    ];
    let mut out = None;
    for s in q.select(false, None, &matchers).ok()? {
        let s = s.ok()?;
        let mut it = s.iter();
        loop {
            let vt = it.next();
            let v = match vt {
                ValueType::None => break,
                ValueType::Float => it.at().1,
                ValueType::Histogram => it.at_histogram().1.count as f64,
                ValueType::FloatHistogram => it.at_float_histogram().1.count,
            };
            out = Some((vt, v, it.at_st()));
        }
    }
    out
}

fn last(storage: &MemoryStorage, job: &str, name: &str) -> Option<(ValueType, f64)> {
    newest(storage, job, name).map(|(vt, v, _)| (vt, v))
}

/// The start timestamp stored with the newest sample of `name` in `job` (0 when unknown).
fn last_start(storage: &MemoryStorage, job: &str, name: &str) -> Option<i64> {
    newest(storage, job, name).map(|(_, _, st)| st)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_scrape_and_wrong_ca() {
    let p = pki::pki(&["127.0.0.1"]);
    let router = axum::Router::new().route(
        "/metrics",
        get(|| async { "# TYPE secured_total counter\nsecured_total 42\n" }),
    );
    let addr = pki::serve_tls(router, &p, true).await.to_string();
    let dir = tempfile::tempdir().unwrap();
    let other = pki::pki(&["127.0.0.1"]);
    for (name, pem) in [
        ("ca.crt", &p.ca),
        ("other-ca.crt", &other.ca),
        ("client.crt", &p.client_cert),
        ("client.key", &p.client_key),
    ] {
        std::fs::write(dir.path().join(name), pem).unwrap();
    }
    let d = dir.path().display();
    let yaml = format!(
        "scrape_configs:
  - job_name: mtls
    scheme: https
    scrape_interval: 1s
    scrape_timeout: 1s
    tls_config:
      ca_file: {d}/ca.crt
      cert_file: {d}/client.crt
      key_file: {d}/client.key
  - job_name: wrong-ca
    scheme: https
    scrape_interval: 1s
    scrape_timeout: 1s
    tls_config:
      ca_file: {d}/other-ca.crt
      cert_file: {d}/client.crt
      key_file: {d}/client.key
"
    );
    let cfg = config::Config::from_yaml_str(&yaml, ".").unwrap();
    let storage = Arc::new(MemoryStorage::new());
    let manager = Manager::new(storage.clone());
    manager.apply_config(&cfg.all_scrape_configs().unwrap());
    manager.sync(HashMap::from([
        ("mtls".to_owned(), group(&addr)),
        ("wrong-ca".to_owned(), group(&addr)),
    ]));
    let t = wait_scraped(&manager, 2).await;
    let ok = &t["mtls"];
    assert_eq!(ok.health, Health::Up, "{}", ok.last_error);
    assert_eq!(
        last(&storage, "mtls", "secured_total"),
        Some((ValueType::Float, 42.0))
    );
    let bad = &t["wrong-ca"];
    assert_eq!(bad.health, Health::Down);
    assert_eq!(
        bad.last_error,
        format!(
            "Get \"https://{addr}/metrics\": tls: failed to verify certificate: x509: certificate signed by unknown authority"
        )
    );
    assert_eq!(
        last(&storage, "wrong-ca", "up"),
        Some((ValueType::Float, 0.0))
    );
    manager.stop().await;
}

fn label(name: &str, value: &str) -> proto::LabelPair {
    proto::LabelPair {
        name: name.into(),
        value: value.into(),
    }
}

/// Created timestamps of the counter and the histogram of [`protobuf_body`], in seconds.
const COUNTER_CREATED: i64 = 1_700_000_000;
const HISTOGRAM_CREATED: i64 = 1_700_000_100;

/// A body of delimited families: a counter, a gauge and a native histogram (the counter and
/// the histogram with created timestamps).
fn protobuf_body() -> Vec<u8> {
    let families = [
        proto::MetricFamily {
            name: "jobs_done_total".into(),
            help: "Jobs done.".into(),
            r#type: proto::MetricType::Counter as i32,
            metric: vec![proto::Metric {
                label: vec![label("queue", "a")],
                counter: Some(proto::Counter {
                    value: 17.0,
                    created_timestamp: Some(proto::Timestamp {
                        seconds: COUNTER_CREATED,
                        nanos: 500_000_000,
                    }),
                    ..proto::Counter::default()
                }),
                ..proto::Metric::default()
            }],
            ..proto::MetricFamily::default()
        },
        proto::MetricFamily {
            name: "temperature_celsius".into(),
            r#type: proto::MetricType::Gauge as i32,
            metric: vec![proto::Metric {
                gauge: Some(proto::Gauge { value: 21.5 }),
                ..proto::Metric::default()
            }],
            ..proto::MetricFamily::default()
        },
        proto::MetricFamily {
            name: "latency_seconds".into(),
            r#type: proto::MetricType::Histogram as i32,
            metric: vec![proto::Metric {
                histogram: Some(proto::Histogram {
                    sample_count: 5,
                    sample_sum: 1.25,
                    schema: Some(3),
                    zero_threshold: 1e-128,
                    zero_count: 1,
                    positive_span: vec![proto::BucketSpan {
                        offset: -2,
                        length: 2,
                    }],
                    positive_delta: vec![3, -2],
                    created_timestamp: Some(proto::Timestamp {
                        seconds: HISTOGRAM_CREATED,
                        nanos: 0,
                    }),
                    ..proto::Histogram::default()
                }),
                ..proto::Metric::default()
            }],
            ..proto::MetricFamily::default()
        },
    ];
    let mut out = Vec::new();
    for f in families {
        f.encode_length_delimited(&mut out).unwrap();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_only_target_scraped_with_prometheus_proto() {
    let body = protobuf_body();
    let router = axum::Router::new().route(
        "/metrics",
        get(move |h: HeaderMap| async move {
            let accept = h
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !accept.starts_with(PROTOBUF_CONTENT_TYPE) {
                return (StatusCode::NOT_ACCEPTABLE, "protobuf only").into_response();
            }
            ([(header::CONTENT_TYPE, PROTOBUF_CONTENT_TYPE)], body).into_response()
        }),
    );
    let addr = pki::serve(router).await.to_string();
    let yaml = "scrape_configs:
  - job_name: proto
    scrape_interval: 1s
    scrape_timeout: 1s
    scrape_protocols: [PrometheusProto]
    scrape_native_histograms: true
  - job_name: text
    scrape_interval: 1s
    scrape_timeout: 1s
";
    let cfg = config::Config::from_yaml_str(yaml, ".").unwrap();
    let storage = Arc::new(MemoryStorage::new());
    let manager = Manager::new(storage.clone());
    manager.apply_config(&cfg.all_scrape_configs().unwrap());
    manager.sync(HashMap::from([
        ("proto".to_owned(), group(&addr)),
        ("text".to_owned(), group(&addr)),
    ]));
    let t = wait_scraped(&manager, 2).await;
    let proto_target = &t["proto"];
    assert_eq!(
        proto_target.health,
        Health::Up,
        "{}",
        proto_target.last_error
    );
    assert_eq!(
        last(&storage, "proto", "jobs_done_total"),
        Some((ValueType::Float, 17.0))
    );
    assert_eq!(
        last(&storage, "proto", "temperature_celsius"),
        Some((ValueType::Float, 21.5))
    );
    assert_eq!(
        last(&storage, "proto", "latency_seconds"),
        Some((ValueType::Histogram, 5.0))
    );
    assert_eq!(
        last(&storage, "proto", "scrape_samples_scraped"),
        Some((ValueType::Float, 3.0))
    );
    // Created timestamps are stored as the samples' start timestamps (the in-memory storage
    // keeps them); series without one have none.
    assert_eq!(
        last_start(&storage, "proto", "jobs_done_total"),
        Some(COUNTER_CREATED * 1000 + 500)
    );
    assert_eq!(
        last_start(&storage, "proto", "latency_seconds"),
        Some(HISTOGRAM_CREATED * 1000)
    );
    assert_eq!(
        last_start(&storage, "proto", "temperature_celsius"),
        Some(0)
    );
    // The default protocols do not ask for protobuf: this server refuses them.
    assert_eq!(t["text"].health, Health::Down);
    assert_eq!(
        t["text"].last_error,
        "server returned HTTP status 406 Not Acceptable"
    );
    manager.stop().await;
}
