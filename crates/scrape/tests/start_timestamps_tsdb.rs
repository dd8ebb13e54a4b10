//! The protobuf `created_timestamp` of a scraped counter goes through the scrape loop into a
//! real TSDB (`tsdb::Db`) and comes back out of PromQL's `start_timestamp()`, also after the
//! database is reopened (WAL replay); a gauge without one answers no start timestamp.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::header;
use axum::routing::get;
use discovery::TargetGroup;
use firewatch_scrape::Manager;
use model::exposition::{PROTOBUF_CONTENT_TYPE, proto};
use promql::Value;
use prost::Message;
use tsdb::{Db, DbOptions};

/// The counter's created timestamp: an hour before the test, with milliseconds.
fn created_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    (now / 1000 - 3600) * 1000 + 250
}

fn body(created: i64, n: u64) -> Vec<u8> {
    let families = [
        proto::MetricFamily {
            name: "jobs_done_total".into(),
            r#type: proto::MetricType::Counter as i32,
            metric: vec![proto::Metric {
                counter: Some(proto::Counter {
                    value: 10.0 + n as f64,
                    created_timestamp: Some(proto::Timestamp {
                        seconds: created / 1000,
                        nanos: (created % 1000) as i32 * 1_000_000,
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
    ];
    let mut out = Vec::new();
    for f in families {
        f.encode_length_delimited(&mut out).unwrap();
    }
    out
}

/// The values of `query`'s instant vector at `t`.
fn instant(db: &Db, query: &str, t: i64) -> Vec<f64> {
    let engine = promql::Engine::default();
    let res = engine.instant_query(db, query, t).unwrap();
    let Value::Vector(v) = res.value else {
        panic!("{query}: not a vector: {:?}", res.value)
    };
    v.into_iter().map(|s| s.f).collect()
}

/// The timestamp of the newest sample of `up` (the last scrape).
fn last_scrape(db: &Db) -> i64 {
    let now = jiff::Timestamp::now().as_millisecond();
    let t = instant(db, "timestamp(up)", now);
    assert_eq!(t.len(), 1, "{t:?}");
    (t[0] * 1000.0).round() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_timestamps_reach_promql_through_the_tsdb() {
    let created = created_ms();
    let scrapes = Arc::new(AtomicU64::new(0));
    let n = scrapes.clone();
    let router = axum::Router::new().route(
        "/metrics",
        get(move || {
            let k = n.fetch_add(1, Ordering::SeqCst);
            async move {
                (
                    [(header::CONTENT_TYPE, PROTOBUF_CONTENT_TYPE)],
                    body(created, k),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), DbOptions::default()).unwrap());
    let yaml = "scrape_configs:
  - job_name: proto
    scrape_interval: 1s
    scrape_timeout: 1s
    scrape_protocols: [PrometheusProto]
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
    let deadline = Instant::now() + Duration::from_secs(30);
    while scrapes.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < deadline, "never scraped three times");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Queried at the last scrape: stopping marks the series stale afterwards.
    let at = last_scrape(&db);
    manager.stop().await;

    let want = created as f64 / 1000.0;
    let check = |db: &Db, when: &str| {
        let got = instant(db, "start_timestamp(jobs_done_total)", at);
        assert_eq!(got.len(), 1, "{when}: {got:?}");
        assert!((got[0] - want).abs() < 1e-6, "{when}: {got:?}, want {want}");
        // A gauge scraped without a created timestamp has none.
        let gauge = instant(db, "start_timestamp(temperature_celsius)", at);
        assert_eq!(gauge.len(), 1, "{when}: {gauge:?}");
        assert_eq!(gauge[0], 0.0, "{when}: {gauge:?}");
    };
    check(&db, "in the head");
    db.close().unwrap();
    drop(manager);
    drop(db);
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    check(&db, "after the WAL replay");
    db.close().unwrap();
}
