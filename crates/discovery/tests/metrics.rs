//! Service discovery's metrics count what happens: updates received from providers and
//! sent to the consumer, targets discovered per job, file SD scans and read errors, HTTP SD
//! failures.

use std::time::{Duration, Instant};

use firewatch_discovery::from_config::scrape_jobs;
use firewatch_discovery::{Manager, ManagerOptions, register_sd_metrics};

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

#[tokio::test]
async fn manager_and_mechanism_metrics_count() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.json"), r#"[{"targets": ["a:1"]}]"#).unwrap();
    std::fs::write(dir.path().join("bad.json"), "[{").unwrap();
    // A port nothing listens on: every HTTP SD refresh fails.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let yaml = format!(
        "scrape_configs:\n  - job_name: static\n    static_configs:\n      - targets: ['x:1', 'y:2']\n\
         \x20 - job_name: files\n    file_sd_configs:\n      - files: ['{d}/good.json', '{d}/bad.json']\n\
         \x20 - job_name: http\n    http_sd_configs:\n      - url: http://127.0.0.1:{port}/sd\n",
        d = dir.path().display()
    );
    let cfg = config::Config::from_yaml_str(&yaml, dir.path()).unwrap();
    let jobs = scrape_jobs(cfg.scrape_jobs());

    let registry = metrics::Registry::new();
    register_sd_metrics(&registry);
    let (mgr, mut rx) = Manager::with_registry(
        ManagerOptions {
            name: "scrape".into(),
            update_interval: Duration::from_millis(50),
        },
        &registry,
    );
    assert_eq!(mgr.apply_config(&jobs), 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let _ = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await;
        let text = registry.encode(metrics::Format::Text);
        let files = value(
            &text,
            "prometheus_sd_discovered_targets{config=\"files\",name=\"scrape\"}",
        );
        if files == Some(1.0)
            && value(&text, "prometheus_sd_http_failures_total").is_some_and(|n| n >= 1.0)
        {
            break text;
        }
        assert!(Instant::now() < deadline, "never counted:\n{text}");
    };
    let v = |s: &str| value(&text, s).unwrap_or_else(|| panic!("{s} missing:\n{text}"));
    assert!(
        (v("prometheus_sd_discovered_targets{config=\"static\",name=\"scrape\"}") - 2.0).abs()
            < 1e-9
    );
    assert!(v("prometheus_sd_discovered_targets{config=\"http\",name=\"scrape\"}").abs() < 1e-9);
    assert!(v("prometheus_sd_received_updates_total{name=\"scrape\"}") >= 2.0);
    assert!(v("prometheus_sd_updates_total{name=\"scrape\"}") >= 1.0);
    assert!(v("prometheus_sd_failed_configs{name=\"scrape\"}").abs() < 1e-9);
    assert!(v("prometheus_sd_file_read_errors_total") >= 1.0);
    assert!(v("prometheus_sd_file_scan_duration_seconds_count") >= 1.0);
    // No Kubernetes SD ran: its events family appears only once one is counted.
    assert!(!text.contains("prometheus_sd_kubernetes_events_total"));
    mgr.stop();
}
