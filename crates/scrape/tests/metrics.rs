//! The scrape metrics count what happens: pools created and reloaded, syncs and targets per
//! job, intervals between scrapes, scrapes refused for their sample or body size limit, and
//! the metadata the targets hold.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use discovery::TargetGroup;
use firewatch_scrape::Manager;
use storage::memory::MemoryStorage;

const EXPOSITION: &str =
    "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n# HELP b B.\n# TYPE b gauge\nb 2\n";

fn group(addr: &str, path: &str) -> Vec<TargetGroup> {
    vec![TargetGroup {
        source: "test".into(),
        targets: vec![BTreeMap::from([
            ("__address__".to_owned(), addr.to_owned()),
            ("__metrics_path__".to_owned(), path.to_owned()),
        ])],
        labels: BTreeMap::default(),
    }]
}

/// The value of the sample line `series` in `text`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_metrics_count_pools_syncs_intervals_and_limits() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app = axum::Router::new()
        .route("/ok", get(|| async { EXPOSITION }))
        .route("/huge", get(|| async { "x 1\n".repeat(400_000) }));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let registry = metrics::Registry::new();
    let storage = Arc::new(MemoryStorage::new());
    let manager = Manager::with_registry(storage, &registry);
    let yaml = |limit: u32| {
        format!(
            "scrape_configs:\n  - job_name: ok\n    scrape_interval: 1s\n\
             \x20 - job_name: limited\n    scrape_interval: 1s\n    sample_limit: {limit}\n\
             \x20 - job_name: huge\n    scrape_interval: 1s\n    body_size_limit: 1KB\n"
        )
    };
    let jobs = |limit| {
        config::Config::from_yaml_str(&yaml(limit), ".")
            .unwrap()
            .all_scrape_configs()
            .unwrap()
    };
    manager.apply_config(&jobs(1));
    manager.sync(HashMap::from([
        ("ok".to_owned(), group(&addr, "/ok")),
        ("limited".to_owned(), group(&addr, "/ok")),
        ("huge".to_owned(), group(&addr, "/huge")),
    ]));
    // Two scrapes of each: one interval observed per loop, and both limited targets refused
    // twice (the loops run independently, so wait for each count, not for one of them).
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = registry.encode(metrics::Format::Text);
        let at_least = |series: &str, n: f64| value(&text, series).is_some_and(|v| v >= n);
        if at_least(
            "prometheus_target_interval_length_seconds_count{interval=\"1s\"}",
            3.0,
        ) && at_least("prometheus_target_scrapes_exceeded_sample_limit_total", 2.0)
            && at_least(
                "prometheus_target_scrapes_exceeded_body_size_limit_total",
                2.0,
            )
        {
            break text;
        }
        assert!(Instant::now() < deadline, "no intervals counted:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let v = |s: &str| value(&text, s).unwrap_or_else(|| panic!("{s} missing:\n{text}"));
    assert!((v("prometheus_target_scrape_pools_total") - 3.0).abs() < 1e-9);
    assert!(v("prometheus_target_scrape_pools_failed_total").abs() < 1e-9);
    for job in ["ok", "limited", "huge"] {
        let sel = format!("{{scrape_job=\"{job}\"}}");
        assert!((v(&format!("prometheus_target_scrape_pool_sync_total{sel}")) - 1.0).abs() < 1e-9);
        assert!((v(&format!("prometheus_target_scrape_pool_targets{sel}")) - 1.0).abs() < 1e-9);
        assert!(
            (v(&format!("prometheus_target_sync_length_seconds_count{sel}")) - 1.0).abs() < 1e-9
        );
    }
    assert!(v("prometheus_target_scrapes_exceeded_sample_limit_total") >= 2.0);
    assert!(v("prometheus_target_scrapes_exceeded_body_size_limit_total") >= 2.0);
    // Two families of metadata on the healthy target.
    assert!((v("prometheus_target_metadata_cache_entries{scrape_job=\"ok\"}") - 2.0).abs() < 1e-9);
    assert!(
        (v("prometheus_target_metadata_cache_bytes{scrape_job=\"ok\"}") - f64::from(7 + 2 + 1 + 2))
            .abs()
            < 1e-9
    );
    assert!(
        text.contains(
            "prometheus_target_interval_length_seconds{interval=\"1s\",quantile=\"0.99\"} "
        )
    );
    // A changed job reloads its pool; a removed job's children go.
    manager.apply_config(&jobs(100)[..2]);
    let text = registry.encode(metrics::Format::Text);
    assert!(
        (value(&text, "prometheus_target_scrape_pool_reloads_total").unwrap() - 1.0).abs() < 1e-9
    );
    assert!(!text.contains("scrape_job=\"huge\""), "{text}");
    manager.stop().await;
}
