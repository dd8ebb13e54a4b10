//! Firewatch's remote write sender (`remote_write`) into the real Prometheus 2.42
//! (`--web.enable-remote-write-receiver`): every sample Firewatch scraped arrives once, with
//! the external labels and after write_relabel_configs; the receiver stopped ~10 s and
//! restarted on the same port and data loses nothing (the queue retries with backoff).

#[path = "support/scale_out.rs"]
mod support;

use support::now_secs;
use support::serve_target as serve;
use support::{start_firewatch, start_prometheus};

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::{Process, urlencode};

const TEST: &str = "firewatch::remote_write_sender::prometheus_2_42_receives_every_sample_once";

/// Serves (through `support::scale_out`) a counter that grows by one per scrape, and a series dropped by relabeling.
fn serve_target() -> u16 {
    serve(|n, _| {
        format!("# TYPE rws_total counter\nrws_total {n}\n# TYPE rws_secret gauge\nrws_secret 1\n")
    })
}

/// Starts the receiver on `port` with its data in `data`, ready.
fn receiver(prometheus: &Path, work: &Path, port: u16, run: u32) -> Process {
    std::fs::create_dir_all(work).unwrap();
    let cfg = work.join("prometheus.yml");
    std::fs::write(&cfg, "global:\n  scrape_interval: 1h\n").unwrap();
    let mut cmd = Command::new(prometheus);
    cmd.arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            work.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver");
    let mut p = Process::spawn("prometheus", cmd, &work.join(format!("run{run}.log")));
    let deadline = Instant::now() + Duration::from_secs(60);
    while testkit::get_ok(port, "/-/ready").is_none() {
        assert!(p.is_running(), "prometheus exited: {}", p.log_text());
        assert!(Instant::now() < deadline, "prometheus not ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    p
}

/// `[(t, v)]` of the range query `rws_total{...}[range]` at `at` on `port`.
fn samples(port: u16, selector: &str, at: f64) -> Vec<(f64, String)> {
    let r = testkit::http(
        port,
        "GET",
        &format!("/api/v1/query?query={}&time={at}", urlencode(selector)),
        None,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let Some(s) = v["data"]["result"]
        .as_array()
        .and_then(|a| a.first())
        .cloned()
    else {
        return Vec::new();
    };
    s["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn prometheus_2_42_receives_every_sample_once() {
    let Some(prometheus) = testkit::peer_binary(TEST, "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    let recv_dir = dir.path().join("receiver");
    let first = receiver(&prometheus, &recv_dir, port, 1);
    let target = serve_target();
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: rws\n    interval: 1s\n    rules:\n      - record: rws:doubled\n        expr: rws_total * 2\n",
    )
    .unwrap();
    let rules = rules.display();
    let fw = start_firewatch(
        dir.path(),
        "firewatch",
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  external_labels:\n    origin: fw\nrule_files: ['{rules}']\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\nremote_write:\n  - url: http://127.0.0.1:{port}/api/v1/write\n    name: recv\n    write_relabel_configs:\n      - source_labels: [__name__]\n        regex: rws_secret\n        action: drop\n    queue_config:\n      min_shards: 2\n      batch_send_deadline: 1s\n      min_backoff: 100ms\n      max_backoff: 1s\n"
        ),
        &[],
    );
    // Let samples flow, then stop the receiver ~10 s while Firewatch keeps scraping.
    let ours_sel = "rws_total[10m]";
    let theirs_sel = "rws_total{origin=\"fw\",job=\"app\"}[10m]";
    let deadline = Instant::now() + Duration::from_secs(60);
    while samples(port, theirs_sel, now_secs()).len() < 5 {
        assert!(
            Instant::now() < deadline,
            "no samples arrived: {}",
            fw.process.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    first.terminate();
    std::thread::sleep(Duration::from_secs(10));
    let _second = receiver(&prometheus, &recv_dir, port, 2);
    std::thread::sleep(Duration::from_secs(3));
    let at = now_secs() - 2.0;
    // Everything Firewatch holds up to `at` arrives, once, with the same values.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ours = samples(fw.port, ours_sel, at);
        let theirs = samples(port, theirs_sel, at);
        assert!(
            ours.len() >= 15,
            "Firewatch scraped only {} samples",
            ours.len()
        );
        if ours == theirs {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the receiver's samples differ:\nours ({}): {ours:?}\ntheirs ({}): {theirs:?}\nfirewatch log:\n{}",
            ours.len(),
            theirs.len(),
            fw.process.log_text()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    // Recording rules' results are sent too.
    let recorded = samples(fw.port, "rws:doubled[10m]", at);
    assert!(recorded.len() >= 5, "{recorded:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while samples(port, "rws:doubled{origin=\"fw\"}[10m]", at) != recorded {
        assert!(Instant::now() < deadline, "recording rule results not sent");
        std::thread::sleep(Duration::from_secs(1));
    }
    // write_relabel_configs dropped rws_secret on the way; Firewatch itself has it.
    assert!(samples(port, "rws_secret[10m]", now_secs()).is_empty());
    assert!(!samples(fw.port, "rws_secret[10m]", now_secs()).is_empty());
    // The queue's metrics counted the sends and the retries of the outage.
    let m = fw.get("/metrics").unwrap().body;
    let value = |name: &str| -> f64 {
        m.lines()
            .find(|l| l.starts_with(name) && l.contains("remote_name=\"recv\""))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{m}"))
    };
    assert!(value("prometheus_remote_storage_samples_total") > 15.0);
    assert!(value("prometheus_remote_storage_samples_retried_total") > 0.0);
    assert_eq!(value("prometheus_remote_storage_shards"), 2.0);
}

/// `[(t ms, v)]` of `rws_total` exported by VictoriaMetrics, up to `until_ms`.
fn exported(port: u16, until_ms: i64) -> Vec<(i64, f64)> {
    let mut samples = support::victoria_metrics_export(port, "rws_total{origin=\"fw\"}");
    samples.retain(|&(t, _)| t <= until_ms);
    samples
}

#[test]
fn victoria_metrics_receives_every_sample_once() {
    const VM_TEST: &str =
        "firewatch::remote_write_sender::victoria_metrics_receives_every_sample_once";
    let Some(vm) = testkit::peer_binary(VM_TEST, "victoria-metrics") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    let vm_dir = dir.path().join("vm");
    let first = support::start_victoria_metrics(&vm, &vm_dir, port, 1);
    let target = serve_target();
    let fw = start_firewatch(
        dir.path(),
        "firewatch",
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  external_labels:\n    origin: fw\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\nremote_write:\n  - url: http://127.0.0.1:{port}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n      min_backoff: 100ms\n      max_backoff: 1s\n"
        ),
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while exported(port, i64::MAX).len() < 5 {
        assert!(
            Instant::now() < deadline,
            "no samples arrived: {}",
            fw.process.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    first.terminate();
    std::thread::sleep(Duration::from_secs(10));
    let _second = support::start_victoria_metrics(&vm, &vm_dir, port, 2);
    std::thread::sleep(Duration::from_secs(3));
    let at = now_secs() - 2.0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ours: Vec<(i64, f64)> = samples(fw.port, "rws_total[10m]", at)
            .into_iter()
            .map(|(t, v)| ((t * 1000.0).round() as i64, v.parse().unwrap()))
            .collect();
        assert!(
            ours.len() >= 15,
            "Firewatch scraped only {} samples",
            ours.len()
        );
        let theirs = exported(port, (at * 1000.0) as i64);
        if ours == theirs {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "VictoriaMetrics' samples differ:\nours ({}): {ours:?}\ntheirs ({}): {theirs:?}",
            ours.len(),
            theirs.len()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `rws_total` samples Firewatch holds up to `at` (seconds), as `(t ms, v)`.
fn ours_ms(port: u16, at: f64) -> Vec<(i64, f64)> {
    samples(port, "rws_total[10m]", at)
        .into_iter()
        .map(|(t, v)| ((t * 1000.0).round() as i64, v.parse().unwrap()))
        .collect()
}

/// Firewatch is killed with SIGKILL while VictoriaMetrics is down, and restarted on the same
/// data directory: the queue resumes from its saved WAL position, so every sample scraped
/// before and after the kill arrives, and none twice (VictoriaMetrics keeps duplicates, so
/// its export shows any).
#[test]
fn kill_9_during_an_outage_resumes_from_the_wal_and_sends_every_sample_once() {
    const KILL_TEST: &str = "firewatch::remote_write_sender::kill_9_during_an_outage_resumes_from_the_wal_and_sends_every_sample_once";
    let Some(vm) = testkit::peer_binary(KILL_TEST, "victoria-metrics") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    let vm_dir = dir.path().join("vm");
    let first = support::start_victoria_metrics(&vm, &vm_dir, port, 1);
    let target = serve_target();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  external_labels:\n    origin: fw\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\nremote_write:\n  - url: http://127.0.0.1:{port}/api/v1/write\n    name: vm\n    queue_config:\n      batch_send_deadline: 1s\n      min_backoff: 100ms\n      max_backoff: 1s\n"
    );
    let start = || start_firewatch(dir.path(), "firewatch", &config, &[]);
    let fw = start();
    let deadline = Instant::now() + Duration::from_secs(60);
    while exported(port, i64::MAX).len() < 3 {
        assert!(
            Instant::now() < deadline,
            "no samples arrived: {}",
            fw.process.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The receiver goes down; Firewatch scrapes on, then dies without a chance to save
    // anything (SIGKILL when dropped).
    first.terminate();
    std::thread::sleep(Duration::from_secs(5));
    let before_kill = ours_ms(fw.port, now_secs());
    assert!(before_kill.len() >= 5, "{before_kill:?}");
    drop(fw);
    let fw = start();
    // Still down for a few scrapes after the restart, then back for a few more.
    let more = |n: usize| {
        let want = ours_ms(fw.port, now_secs()).len() + n;
        let deadline = Instant::now() + Duration::from_secs(60);
        while ours_ms(fw.port, now_secs()).len() < want {
            assert!(
                Instant::now() < deadline,
                "Firewatch does not scrape after the restart"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    more(3);
    let _second = support::start_victoria_metrics(&vm, &vm_dir, port, 2);
    more(3);
    let at = now_secs() - 1.0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ours = ours_ms(fw.port, at);
        // What the first run scraped is part of what the second holds (replayed WAL).
        assert!(
            before_kill.iter().all(|s| ours.contains(s)),
            "samples scraped before the kill are gone from Firewatch itself"
        );
        let theirs = exported(port, (at * 1000.0) as i64);
        if ours == theirs {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "VictoriaMetrics' samples differ (missing or duplicated):\nours ({}): {ours:?}\ntheirs ({}): {theirs:?}\nfirewatch log:\n{}",
            ours.len(),
            theirs.len(),
            fw.process.log_text()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `name -> (type, help, label names)` of the remote write families in a text exposition.
fn remote_families(
    text: &str,
) -> std::collections::BTreeMap<String, (String, String, Vec<String>)> {
    let mut out: std::collections::BTreeMap<String, (String, String, Vec<String>)> =
        std::collections::BTreeMap::new();
    let ours = |n: &str| {
        n.starts_with("prometheus_remote_storage_") || n.starts_with("prometheus_wal_watcher_")
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            if ours(name) {
                out.entry(name.to_owned()).or_default().1 = help.to_owned();
            }
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, typ) = rest.split_once(' ').unwrap_or((rest, ""));
            if ours(name) {
                out.entry(name.to_owned()).or_default().0 = typ.to_owned();
            }
        } else if !line.starts_with('#') && ours(line) {
            let name_end = line.find(['{', ' ']).unwrap_or(line.len());
            let name = &line[..name_end];
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| out.contains_key(*f)))
                .unwrap_or(name);
            let mut labels: Vec<String> = Vec::new();
            if let Some(body) = line[name_end..].strip_prefix('{') {
                let body = &body[..body.rfind('}').unwrap_or(body.len())];
                for pair in body.split("\",") {
                    if let Some((k, _)) = pair.split_once('=') {
                        let k = k.trim_start_matches(',').trim();
                        if k != "le" {
                            labels.push(k.to_owned());
                        }
                    }
                }
            }
            if let Some(e) = out.get_mut(family) {
                for l in labels {
                    if !e.2.contains(&l) {
                        e.2.push(l);
                    }
                }
                e.2.sort();
            }
        }
    }
    out
}

/// The real Prometheus 2.42 and Firewatch with the same `remote_write` (an endpoint that is
/// down): every `prometheus_remote_storage_*` and `prometheus_wal_watcher_*` family of
/// Prometheus exists in Firewatch's /metrics with the same type, help text and labels.
#[test]
fn remote_storage_metrics_match_prometheus_2_42() {
    const M_TEST: &str =
        "firewatch::remote_write_sender::remote_storage_metrics_match_prometheus_2_42";
    let Some(prometheus) = testkit::peer_binary(M_TEST, "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let down = testkit::free_port();
    let target = serve_target();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\nremote_write:\n  - url: http://127.0.0.1:{down}/api/v1/write\n    name: rw\n    queue_config:\n      min_backoff: 100ms\n      max_backoff: 200ms\n"
    );
    let theirs = start_prometheus(&prometheus, dir.path(), "prometheus", &config);
    let ours = start_firewatch(dir.path(), "firewatch", &config, &[]);
    // Until both tried to send (the families with labels appear).
    let deadline = Instant::now() + Duration::from_secs(60);
    let (t, o) = loop {
        let t = remote_families(&theirs.get("/metrics").unwrap().body);
        let o = remote_families(&ours.get("/metrics").unwrap().body);
        let retried = |m: &std::collections::BTreeMap<String, (String, String, Vec<String>)>| {
            m.get("prometheus_remote_storage_samples_retried_total")
                .is_some_and(|e| !e.2.is_empty())
                && m.get("prometheus_wal_watcher_records_read_total")
                    .is_some_and(|e| !e.2.is_empty())
        };
        if retried(&t) && retried(&o) {
            break (t, o);
        }
        assert!(
            Instant::now() < deadline,
            "no send attempts:\n{t:#?}\n{o:#?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(t.len() >= 35, "Prometheus shows only {} families", t.len());
    for (name, want) in &t {
        let got = o
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from Firewatch's /metrics"));
        assert_eq!(got.0, want.0, "type of {name}");
        assert_eq!(got.1, want.1, "help of {name}");
        if !want.2.is_empty() && !got.2.is_empty() {
            assert_eq!(got.2, want.2, "labels of {name}");
        }
    }
}

/// `protobuf_message: io.prometheus.write.v2.Request` into VictoriaMetrics 1.79, which
/// speaks only 1.0 and answers a 2.0 body with 204 without storing it: the missing
/// written-count headers make the queue send 1.0, and every sample arrives once.
#[test]
fn protocol_2_0_into_victoria_metrics_falls_back_to_1_0() {
    const V2_TEST: &str =
        "firewatch::remote_write_sender::protocol_2_0_into_victoria_metrics_falls_back_to_1_0";
    let Some(vm) = testkit::peer_binary(V2_TEST, "victoria-metrics") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    let _vm = support::start_victoria_metrics(&vm, &dir.path().join("vm"), port, 1);
    let target = serve_target();
    let fw = start_firewatch(
        dir.path(),
        "firewatch",
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  external_labels:\n    origin: fw\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\nremote_write:\n  - url: http://127.0.0.1:{port}/api/v1/write\n    protobuf_message: io.prometheus.write.v2.Request\n    queue_config:\n      batch_send_deadline: 1s\n"
        ),
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let at = now_secs() - 2.0;
        let ours = ours_ms(fw.port, at);
        let theirs = exported(port, (at * 1000.0) as i64);
        if ours.len() >= 4 && ours == theirs {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "VictoriaMetrics' samples differ:\nours {ours:?}\ntheirs {theirs:?}\n{}",
            fw.process.log_text()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        fw.process.log_text().contains("sending 1.0 from now on"),
        "{}",
        fw.process.log_text()
    );
}
