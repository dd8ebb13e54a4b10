//! Remote read of Firewatch (`/api/v1/read`) by the real Prometheus 2.42: Firewatch scrapes a
//! target, Prometheus (scraping nothing) reads it through `remote_read`, and its queries answer
//! Firewatch's samples, with Firewatch's external labels added.

#[path = "support/scale_out.rs"]
mod support;

use support::now_secs;
use support::serve_target as serve;
use support::{query_sorted as query, start_firewatch, start_prometheus};

use std::time::{Duration, Instant};

const TEST: &str = "firewatch::remote_read::prometheus_2_42_reads_firewatch";

/// Serves (through `support::scale_out`) a counter that grows by one per scrape.
fn serve_target() -> u16 {
    serve(|n, _| {
        format!(
            "# TYPE rr_requests_total counter\nrr_requests_total{{code=\"200\"}} {n}\nrr_requests_total{{code=\"500\"}} {}\n",
            n / 2
        )
    })
}

#[test]
fn prometheus_2_42_reads_firewatch() {
    let Some(prometheus) = testkit::peer_binary(TEST, "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let target = serve_target();
    let fw = start_firewatch(
        dir.path(),
        "firewatch",
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  external_labels:\n    site: fw\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
        ),
        &[],
    );
    let prom = start_prometheus(
        &prometheus,
        dir.path(),
        "prometheus",
        &format!(
            "remote_read:\n  - url: http://127.0.0.1:{}/api/v1/read\n    read_recent: true\n",
            fw.port
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let selector = "rr_requests_total[8s]";
    loop {
        let at = (now_secs() - 1.0).floor();
        let ours = query(&fw, selector, at);
        let samples: usize = ours
            .iter()
            .map(|s| s["values"].as_array().unwrap().len())
            .sum();
        if ours.len() == 2 && samples >= 10 {
            let theirs = query(&prom, selector, at);
            let with_site: Vec<serde_json::Value> = ours
                .iter()
                .cloned()
                .map(|mut s| {
                    s["metric"]["site"] = serde_json::json!("fw");
                    s
                })
                .collect();
            assert_eq!(theirs, with_site, "Prometheus's remote read differs");
            let q = "sum by (code) (increase(rr_requests_total[5s]))";
            let theirs = query(&prom, q, at);
            assert_eq!(theirs.len(), 2);
            assert_eq!(theirs, query(&fw, q, at));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Firewatch never held the target's samples: {ours:?}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    // A selection that matches nothing reads nothing, and Prometheus stays healthy.
    assert!(query(&prom, "rr_requests_total{code=\"404\"}", now_secs()).is_empty());
    assert!(
        !prom.process.log_text().contains("level=error"),
        "{}",
        prom.process.log_text()
    );
}
