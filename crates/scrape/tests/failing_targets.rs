//! Targets that fail in every way a real one does, served on 127.0.0.1 and scraped by the scrape
//! manager: each is down with Prometheus's error text and `up` 0, while a healthy target in the
//! same pool keeps being scraped.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::get;
use discovery::TargetGroup;
use firewatch_scrape::{Health, Manager, TargetStatus};
use model::{MatchOp, Matcher};
use storage::memory::MemoryStorage;
use storage::{Queryable, ValueType};

const EXPOSITION: &str = "# TYPE requests_total counter\nrequests_total 7\n";

/// One server with a path per way of failing; returns its address.
async fn targets() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let huge = "x".repeat(64) + " 1\n";
    let app = axum::Router::new()
        .route("/ok", get(|| async { EXPOSITION }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                EXPOSITION
            }),
        )
        .route(
            "/error",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "broken") }),
        )
        .route("/huge", get(move || async move { huge.repeat(40_000) }))
        .route("/garbage", get(|| async { "requests_total{ 7\n" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn group(addr: &str, paths: &[&str]) -> Vec<TargetGroup> {
    let targets = paths
        .iter()
        .map(|p| {
            BTreeMap::from([
                ("__address__".to_owned(), addr.to_owned()),
                ("__metrics_path__".to_owned(), (*p).to_owned()),
                ("case".to_owned(), (*p).to_owned()),
            ])
        })
        .collect();
    vec![TargetGroup {
        source: "test".into(),
        targets,
        labels: BTreeMap::default(),
    }]
}

/// The latest `up` of the target of `job` scraping `path`.
fn up(storage: &MemoryStorage, job: &str, path: &str) -> Option<f64> {
    let q = storage.querier(i64::MIN, i64::MAX).ok()?;
    let matchers = [
        Matcher::new(MatchOp::Equal, "__name__", "up").unwrap(),
        Matcher::new(MatchOp::Equal, "job", job).unwrap(),
        Matcher::new(MatchOp::Equal, "case", path).unwrap(),
    ];
    let mut last = None;
    for s in q.select(false, None, &matchers).ok()? {
        let s = s.ok()?;
        let mut it = s.iter();
        while it.next() == ValueType::Float {
            last = Some(it.at().1);
        }
    }
    last
}

async fn wait_all_scraped(m: &Manager, n: usize) -> Vec<TargetStatus> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = m.active_targets();
        if t.len() == n && t.iter().all(|t| t.last_scrape.is_some()) {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "targets never all scraped: {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_targets_are_down_with_prometheus_errors() {
    let addr = targets().await;
    let yaml = "scrape_configs:\n  - job_name: app\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    body_size_limit: 1MB\n  - job_name: tls\n    scheme: https\n    scrape_interval: 1s\n    scrape_timeout: 1s\n";
    let cfg = config::Config::from_yaml_str(yaml, ".").unwrap();
    let storage = Arc::new(MemoryStorage::new());
    let manager = Manager::new(storage.clone());
    manager.apply_config(&cfg.all_scrape_configs().unwrap());
    manager.sync(HashMap::from([
        (
            "app".to_owned(),
            group(&addr, &["/ok", "/slow", "/error", "/huge", "/garbage"]),
        ),
        ("tls".to_owned(), group(&addr, &["/ok"])),
    ]));
    let targets = wait_all_scraped(&manager, 6).await;
    let by_url: HashMap<String, &TargetStatus> =
        targets.iter().map(|t| (t.scrape_url.clone(), t)).collect();
    let status = |scheme: &str, path: &str| {
        let url = format!("{scheme}://{addr}{path}");
        *by_url
            .get(&url)
            .unwrap_or_else(|| panic!("no target {url}: {by_url:?}"))
    };
    let ok = status("http", "/ok");
    assert_eq!(ok.health, Health::Up, "{}", ok.last_error);
    assert!(ok.last_error.is_empty());
    let cases = [
        ("http", "/slow", "context deadline exceeded"),
        (
            "http",
            "/error",
            "server returned HTTP status 500 Internal Server Error",
        ),
        ("http", "/huge", "body size limit exceeded"),
        ("http", "/garbage", "expected"),
        ("https", "/ok", ""),
    ];
    for (scheme, path, text) in cases {
        let job = if scheme == "https" { "tls" } else { "app" };
        assert_eq!(
            up(&storage, job, path),
            Some(0.0),
            "up of {scheme}://{path}"
        );
        let t = status(scheme, path);
        assert_eq!(t.health, Health::Down, "{scheme}://{path} should be down");
        assert!(
            !t.last_error.is_empty() && t.last_error.contains(text),
            "{scheme}://{path}: {:?} should say {text:?}",
            t.last_error
        );
    }
    // The slow target was cut at its timeout, not waited for.
    assert!(status("http", "/slow").last_scrape_duration < Duration::from_secs(3));
    assert_eq!(up(&storage, "app", "/ok"), Some(1.0));
    manager.stop().await;
}
