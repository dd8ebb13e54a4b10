//! The head's metrics carry the help texts and types Prometheus 2.42 gives them: a real
//! Prometheus with an out-of-order window scrapes itself and a target exposing a sample
//! from hours ago (counted as too old), and every family both export is compared.

mod db_common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use firewatch_tsdb::head::{Head, HeadOptions};
use model::{Sample, labels};

/// `# HELP` and `# TYPE` lines by family name.
fn families(text: &str) -> BTreeMap<String, (String, String)> {
    let mut out: BTreeMap<String, (String, String)> = BTreeMap::new();
    for line in text.lines() {
        for (prefix, is_help) in [("# HELP ", true), ("# TYPE ", false)] {
            if let Some(rest) = line.strip_prefix(prefix) {
                let (name, what) = rest.split_once(' ').unwrap();
                let e = out.entry(name.to_owned()).or_default();
                if is_help {
                    e.0 = what.to_owned();
                } else {
                    e.1 = what.to_owned();
                }
            }
        }
    }
    out
}

/// Serves `body` as a metrics page on a free loopback port, for the life of the process.
fn serve(body: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
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

#[test]
fn head_metrics_match_prometheus_help_and_types() {
    if !testkit::peers(
        "tsdb::metrics_prometheus::head_metrics_match_prometheus_help_and_types",
        &["prometheus"],
    ) {
        return;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Three hours old: behind a 10 minute window, so Prometheus counts it as too old.
    let target = serve(format!("fw_old_sample 1 {}\n", now - 3 * 3_600_000));
    let tmp = tempfile::tempdir().unwrap();
    let prom = db_common::Prometheus::start_with(&tmp.path().join("data"), &[], |port| {
        format!(
            "global:\n  scrape_interval: 1s\nstorage:\n  tsdb:\n    out_of_order_time_window: 10m\n\
             scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n\
             \x20 - job_name: old\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
        )
    });
    // Wait until Prometheus has appended samples and refused the old one.
    let deadline = Instant::now() + Duration::from_secs(30);
    let theirs = loop {
        let text = prom.get("/metrics").unwrap();
        if text.contains("prometheus_tsdb_too_old_samples_total{")
            && text.contains("prometheus_tsdb_head_samples_appended_total{")
        {
            break families(&text);
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never counted the old sample; log:\n{}",
            prom.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    prom.stop();

    // Our head, brought to the same state: samples appended, one too old, WAL and WBL on.
    let dir = tempfile::tempdir().unwrap();
    let head = Arc::new(
        Head::open(
            HeadOptions {
                ooo_window: 600_000,
                ..HeadOptions::default()
            },
            dir.path(),
            firewatch_tsdb::wal::WalOptions::default(),
            i64::MIN,
        )
        .unwrap(),
    );
    let mut app = head.appender();
    let s = labels!("__name__" => "up");
    storage::Appender::append(&mut app, 0, &s, now, Sample::Float(1.0)).unwrap();
    storage::Appender::commit(&mut app).unwrap();
    let mut app = head.appender();
    assert!(
        storage::Appender::append(&mut app, 0, &s, now - 3 * 3_600_000, Sample::Float(1.0))
            .is_err()
    );
    let ours = families(&head.metrics_text());

    let mut compared = Vec::new();
    for (name, (help, typ)) in &ours {
        if let Some((their_help, their_type)) = theirs.get(name) {
            assert_eq!(help, their_help, "help of {name}");
            assert_eq!(typ, their_type, "type of {name}");
            compared.push(name.as_str());
        }
    }
    for must in [
        "prometheus_tsdb_head_samples_appended_total",
        "prometheus_tsdb_head_out_of_order_samples_appended_total",
        "prometheus_tsdb_too_old_samples_total",
        "prometheus_tsdb_head_series_created_total",
        "prometheus_tsdb_wal_page_flushes_total",
        "prometheus_tsdb_wal_fsync_duration_seconds",
        "prometheus_tsdb_out_of_order_wbl_segment_current",
        "prometheus_tsdb_out_of_order_wbl_writes_failed_total",
    ] {
        assert!(
            compared.contains(&must),
            "{must} not compared: {compared:?}"
        );
    }
    head.close().unwrap();
}
