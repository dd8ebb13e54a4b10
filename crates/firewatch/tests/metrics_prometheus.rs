//! `/metrics` against a real Prometheus 2.42's: both servers scrape the same target, answer
//! the same queries, and then every family both export must carry the same help text, type
//! and label names; the families Firewatch adds for scrape pools and targets, service
//! discovery, the engine, HTTP handlers and the process must be there, counting.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use model::exposition::{Format, MetricFamily, parse_families};
use testkit::{Server, urlencode};

const TEST: &str = "firewatch::metrics_prometheus::self_metrics_match_prometheus_2_42";

/// Serves a small exposition on a free loopback port for the life of the process.
fn serve_target() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let body = "# HELP app_requests_total Requests.\n# TYPE app_requests_total counter\napp_requests_total 3\n";
        for mut conn in listener.incoming().flatten() {
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// Families by name, parsed from a `/metrics` body.
fn families(body: &str) -> BTreeMap<String, MetricFamily> {
    parse_families(body.as_bytes(), Format::Text)
        .unwrap_or_else(|e| panic!("unparsable /metrics: {e}\n{body}"))
        .into_iter()
        .map(|f| (f.name.clone(), f))
        .collect()
}

/// The label names of a family's samples, without `__name__` and the `le`/`quantile` of
/// histograms and summaries.
fn label_names(f: &MetricFamily) -> BTreeSet<String> {
    f.samples
        .iter()
        .flat_map(|s| s.labels.iter().map(|l| l.name.to_owned()))
        .filter(|n| !matches!(n.as_str(), "__name__" | "le" | "quantile"))
        .collect()
}

/// Queries, then waits until `/metrics` shows two intervals of the target's scrapes.
fn exercise(server: &Server) -> BTreeMap<String, MetricFamily> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for q in ["up", "rate(app_requests_total[1m])"] {
            let r = server
                .get(&format!("/api/v1/query?query={}", urlencode(q)))
                .unwrap();
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let r = server
            .get("/api/v1/query_range?query=up&start=0&end=60&step=15")
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        let body = server.get("/metrics").unwrap().body;
        let fams = families(&body);
        let intervals = fams
            .get("prometheus_target_interval_length_seconds")
            .and_then(|f| {
                f.samples.iter().find(|s| {
                    s.labels
                        .metric_name()
                        .is_some_and(|n| n.ends_with("_count"))
                })
            })
            .map_or(0.0, |s| s.value);
        if intervals >= 2.0 && fams.contains_key("prometheus_http_requests_total") {
            return fams;
        }
        assert!(
            Instant::now() < deadline,
            "no scrape intervals counted; log:\n{}",
            server.process.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn self_metrics_match_prometheus_2_42() {
    let Some(prometheus) = testkit::peer_binary(TEST, "prometheus") else {
        return;
    };
    let target = serve_target();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let theirs = {
        let prom = Server::start(
            prometheus.to_str().unwrap(),
            &[],
            &dir.path().join("prometheus"),
            &dir.path().join("prometheus/data"),
            &config,
            &[],
        );
        exercise(&prom)
    };
    let fw = Server::start(
        env!("CARGO_BIN_EXE_firewatch"),
        &["server"],
        &dir.path().join("firewatch"),
        &dir.path().join("firewatch/data"),
        &config,
        &[],
    );
    let ours = exercise(&fw);

    let mut compared = Vec::new();
    for (name, f) in &ours {
        let Some(t) = theirs.get(name) else { continue };
        assert_eq!(f.help, t.help, "help of {name}");
        assert_eq!(f.metric_type, t.metric_type, "type of {name}");
        assert_eq!(label_names(f), label_names(t), "label names of {name}");
        compared.push(name.as_str());
    }
    eprintln!(
        "compared {} families; only ours: {:?}",
        compared.len(),
        ours.keys()
            .filter(|n| !theirs.contains_key(*n))
            .collect::<Vec<_>>()
    );
    // Prometheus 2.42 shows 136 families besides go_* and net_conntrack_*.
    assert!(compared.len() >= 60, "only {} compared", compared.len());
    for must in [
        "process_cpu_seconds_total",
        "process_max_fds",
        "process_open_fds",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "process_virtual_memory_bytes",
        "process_virtual_memory_max_bytes",
        "prometheus_engine_queries",
        "prometheus_engine_queries_concurrent_max",
        "prometheus_engine_query_duration_seconds",
        "prometheus_engine_query_log_enabled",
        "prometheus_engine_query_log_failures_total",
        "prometheus_http_request_duration_seconds",
        "prometheus_http_requests_total",
        "prometheus_http_response_size_bytes",
        "prometheus_sd_discovered_targets",
        "prometheus_sd_dns_lookups_total",
        "prometheus_sd_dns_lookup_failures_total",
        "prometheus_sd_failed_configs",
        "prometheus_sd_file_read_errors_total",
        "prometheus_sd_file_scan_duration_seconds",
        "prometheus_sd_http_failures_total",
        "prometheus_sd_received_updates_total",
        "prometheus_sd_updates_total",
        "prometheus_target_interval_length_seconds",
        "prometheus_target_metadata_cache_bytes",
        "prometheus_target_metadata_cache_entries",
        "prometheus_target_scrape_pool_reloads_total",
        "prometheus_target_scrape_pool_sync_total",
        "prometheus_target_scrape_pool_targets",
        "prometheus_target_scrape_pools_total",
        "prometheus_target_scrapes_exceeded_sample_limit_total",
        "prometheus_target_scrapes_sample_out_of_order_total",
        "prometheus_target_sync_length_seconds",
        "prometheus_config_last_reload_successful",
        "prometheus_ready",
        "prometheus_notifications_queue_capacity",
        "prometheus_tsdb_head_series",
        "prometheus_tsdb_head_samples_appended_total",
        "prometheus_tsdb_blocks_loaded",
        "prometheus_tsdb_storage_blocks_bytes",
        "prometheus_tsdb_retention_limit_bytes",
        "prometheus_tsdb_lowest_timestamp",
        "prometheus_rule_evaluation_duration_seconds",
        "prometheus_rule_group_duration_seconds",
        "promhttp_metric_handler_requests_in_flight",
        "promhttp_metric_handler_requests_total",
        "prometheus_template_text_expansions_total",
        "prometheus_template_text_expansion_failures_total",
    ] {
        assert!(
            compared.contains(&must),
            "{must} not compared; ours: {:?}",
            ours.keys()
        );
    }
    // Both discovery managers (scrape and notify) report their failed configurations.
    let names = |f: &MetricFamily| {
        f.samples
            .iter()
            .filter_map(|s| s.labels.get("name").map(str::to_owned))
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        names(&ours["prometheus_sd_failed_configs"]),
        names(&theirs["prometheus_sd_failed_configs"])
    );
    // They count: one target discovered and scraped, queries timed, handlers counted.
    let value = |name: &str, labels: &[(&str, &str)]| {
        ours[name]
            .samples
            .iter()
            .find(|s| {
                s.labels.metric_name() == Some(name)
                    && labels.iter().all(|(k, v)| s.labels.get(k) == Some(v))
            })
            .unwrap_or_else(|| panic!("{name}{labels:?} missing"))
            .value
    };
    assert_eq!(
        value(
            "prometheus_sd_discovered_targets",
            &[("name", "scrape"), ("config", "app")]
        ),
        1.0
    );
    assert_eq!(
        value(
            "prometheus_target_scrape_pool_targets",
            &[("scrape_job", "app")]
        ),
        1.0
    );
    assert_eq!(
        value(
            "prometheus_target_metadata_cache_entries",
            &[("scrape_job", "app")]
        ),
        1.0
    );
    assert!(
        value(
            "prometheus_http_requests_total",
            &[("handler", "/api/v1/query"), ("code", "200")]
        ) >= 2.0
    );
    assert!(
        value(
            "prometheus_http_requests_total",
            &[("handler", "/api/v1/query_range"), ("code", "200")]
        ) >= 1.0
    );
    assert!(value("prometheus_config_last_reload_successful", &[]) == 1.0);
    assert!(value("process_resident_memory_bytes", &[]) > 1e6);
    let start = value("process_start_time_seconds", &[]);
    let now = jiff::Timestamp::now().as_second() as f64;
    assert!(
        start > now - 600.0 && start <= now,
        "start {start}, now {now}"
    );
    let inner = ours["prometheus_engine_query_duration_seconds"]
        .samples
        .iter()
        .find(|s| {
            s.labels.metric_name() == Some("prometheus_engine_query_duration_seconds_count")
                && s.labels.get("slice") == Some("inner_eval")
        })
        .unwrap()
        .value;
    assert!(inner >= 3.0, "inner_eval count {inner}");
    // And in OpenMetrics when asked.
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", fw.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        conn,
        "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: application/openmetrics-text;version=1.0.0\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    conn.read_to_string(&mut raw).unwrap();
    let (head, om) = raw.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    assert!(om.ends_with("# EOF\n"), "{om}");
    parse_families(om.as_bytes(), Format::OpenMetrics).unwrap();
}
