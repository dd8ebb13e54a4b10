//! Agent mode end to end (`firewatch server --agent` / `--enable-feature=agent`), side by side
//! with the real Prometheus 2.42 agent: both scrape themselves and remote-write into a real
//! Prometheus 2.42 receiver; the API answers what the Prometheus agent answers; configurations
//! with rules, alerting or remote read are refused with Prometheus's text.
//! Killed with SIGKILL while its receiver (the real VictoriaMetrics) is down, the agent
//! restarts from its WAL and every sample arrives once, each with its own series.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::{Process, Server, urlencode};

#[path = "support/scale_out.rs"]
mod support;

const E2E: &str =
    "firewatch::agent_mode::agent_scrapes_itself_into_prometheus_and_answers_as_its_agent";
const REFUSED: &str = "firewatch::agent_mode::agent_refuses_what_prometheus_agent_refuses";

/// Starts `cmd` (an agent, or a server) with `--web.listen-address` on `port`, ready.
fn agent(name: &str, mut cmd: Command, port: u16, log: &Path) -> Process {
    cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let mut p = Process::spawn(name, cmd, log);
    let deadline = Instant::now() + Duration::from_secs(60);
    while testkit::get_ok(port, "/-/ready").is_none() {
        assert!(p.is_running(), "{name} exited: {}", p.log_text());
        assert!(
            Instant::now() < deadline,
            "{name} not ready: {}",
            p.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    p
}

/// The agents' configuration: scrape the agent itself, remote-write to `receiver`.
fn config(dir: &Path, name: &str, port: u16, receiver: u16) -> String {
    let path = dir.join(format!("{name}.yml"));
    std::fs::write(
        &path,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  external_labels:\n    agent: {name}\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\nremote_write:\n  - url: http://127.0.0.1:{receiver}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// The number of `up` samples from agent `name` the receiver holds.
fn received(receiver: &Server, name: &str) -> usize {
    let q = urlencode(&format!("up{{job=\"self\",agent=\"{name}\"}}[10m]"));
    let r = receiver.get(&format!("/api/v1/query?query={q}")).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v["data"]["result"][0]["values"]
        .as_array()
        .map_or(0, |a| a.iter().filter(|p| p[1] == "1").count())
}

#[test]
fn agent_scrapes_itself_into_prometheus_and_answers_as_its_agent() {
    let Some(prometheus) = testkit::peer_binary(E2E, "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let receiver = Server::start(
        &prometheus.display().to_string(),
        &[],
        &dir.path().join("receiver"),
        &dir.path().join("receiver/data"),
        "global:\n  scrape_interval: 1h\n",
        &["--web.enable-remote-write-receiver"],
    );

    let prom_port = testkit::free_port();
    let mut cmd = Command::new(&prometheus);
    cmd.arg(format!(
        "--config.file={}",
        config(dir.path(), "prom", prom_port, receiver.port)
    ))
    .arg("--enable-feature=agent")
    .arg(format!(
        "--storage.agent.path={}",
        dir.path().join("prom-agent").display()
    ));
    let _prom = agent("prometheus", cmd, prom_port, &dir.path().join("prom.log"));

    let fw_port = testkit::free_port();
    let fw_agent_dir = dir.path().join("fw-agent");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.arg("server")
        .arg(format!(
            "--config.file={}",
            config(dir.path(), "fw", fw_port, receiver.port)
        ))
        .arg("--enable-feature=agent")
        .arg(format!("--storage.agent.path={}", fw_agent_dir.display()));
    let fw = agent("firewatch", cmd, fw_port, &dir.path().join("fw.log"));

    // Firewatch's own samples arrive at the receiver, as the Prometheus agent's do.
    let deadline = Instant::now() + Duration::from_secs(60);
    while received(&receiver, "fw") < 3 || received(&receiver, "prom") < 3 {
        assert!(
            Instant::now() < deadline,
            "samples missing at the receiver: fw {}, prom {}\nfirewatch log:\n{}",
            received(&receiver, "fw"),
            received(&receiver, "prom"),
            fw.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Its WAL lives under --storage.agent.path.
    assert!(
        fw_agent_dir.join("wal").is_dir(),
        "no WAL in {}",
        fw_agent_dir.display()
    );

    // The same requests to both agents: the same status, and the same body for errors.
    let paths = [
        format!("/api/v1/query?query={}", urlencode("up")),
        "/api/v1/query_range?query=up&start=0&end=60&step=15".to_owned(),
        "/api/v1/query_exemplars?query=up&start=0&end=60".to_owned(),
        "/api/v1/labels".to_owned(),
        "/api/v1/label/job/values".to_owned(),
        format!("/api/v1/series?match[]={}", urlencode("up")),
        "/api/v1/rules".to_owned(),
        "/api/v1/alerts".to_owned(),
        "/api/v1/alertmanagers".to_owned(),
        "/api/v1/status/tsdb".to_owned(),
        "/api/v1/status/config".to_owned(),
        "/api/v1/status/flags".to_owned(),
        "/api/v1/status/buildinfo".to_owned(),
        "/api/v1/targets".to_owned(),
        "/-/healthy".to_owned(),
        "/-/ready".to_owned(),
        "/metrics".to_owned(),
    ];
    for path in &paths {
        let theirs = testkit::http(prom_port, "GET", path, None).unwrap();
        let ours = testkit::http(fw_port, "GET", path, None).unwrap();
        assert_eq!(ours.status, theirs.status, "{path}: {}", ours.body);
        if theirs.status != 200 {
            let parse = |b: &str| serde_json::from_str::<serde_json::Value>(b).unwrap();
            assert_eq!(parse(&ours.body), parse(&theirs.body), "{path}");
        }
    }
    let query = testkit::http(fw_port, "GET", "/api/v1/query?query=up", None).unwrap();
    assert_eq!(query.status, 422);
    assert!(
        query.body.contains("unavailable with Prometheus Agent"),
        "{}",
        query.body
    );
    // The target list shows the agent scraping itself.
    let targets = testkit::http(fw_port, "GET", "/api/v1/targets", None)
        .unwrap()
        .body;
    assert!(targets.contains("\"health\":\"up\""), "{targets}");
    // The agent's own metrics.
    let metrics = testkit::http(fw_port, "GET", "/metrics", None)
        .unwrap()
        .body;
    let active: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("prometheus_agent_active_series "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("prometheus_agent_active_series missing:\n{metrics}"));
    assert!(active > 10.0, "{active}");
    let appended: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("prometheus_agent_samples_appended_total{type=\"float\"} "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("prometheus_agent_samples_appended_total missing:\n{metrics}"));
    assert!(appended >= active, "{appended} < {active}");
}

/// The log of `cmd` run with the configuration `file` until it exits (within 30 s).
fn run_refused(name: &str, mut cmd: Command, file: &Path, dir: &Path) -> String {
    let port = testkit::free_port();
    cmd.arg(format!("--config.file={}", file.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let mut p = Process::spawn(name, cmd, &dir.join(format!("{name}.log")));
    testkit::wait_for(
        &format!("{name} to refuse {}", file.display()),
        Duration::from_secs(30),
        || !p.is_running(),
    );
    p.log_text()
}

#[test]
fn agent_refuses_what_prometheus_agent_refuses() {
    let Some(testdata) = testkit::shared_path(REFUSED, "prometheus-config-testdata") else {
        return;
    };
    let Some(prometheus) = testkit::peer_binary(REFUSED, "prometheus") else {
        return;
    };
    let cases = [
        (
            "agent_mode.with_rule_files.yml",
            "field rule_files is not allowed in agent mode",
        ),
        (
            "agent_mode.with_alert_manager.yml",
            "field alerting is not allowed in agent mode",
        ),
        (
            "agent_mode.with_alert_relabels.yml",
            "field alerting is not allowed in agent mode",
        ),
        (
            "agent_mode.with_remote_reads.yml",
            "field remote_read is not allowed in agent mode",
        ),
    ];
    for (file, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = testdata.join(file);
        let mut prom = Command::new(&prometheus);
        prom.arg("--enable-feature=agent").arg(format!(
            "--storage.agent.path={}",
            dir.path().join("p").display()
        ));
        let theirs = run_refused("prometheus", prom, &path, dir.path());
        assert!(theirs.contains(message), "{file}: Prometheus says {theirs}");
        // Both spellings of agent mode.
        for flag in ["--agent", "--enable-feature=agent"] {
            let mut fw = Command::new(env!("CARGO_BIN_EXE_firewatch"));
            fw.arg("server").arg(flag).arg(format!(
                "--storage.agent.path={}",
                dir.path().join("f").display()
            ));
            let ours = run_refused("firewatch", fw, &path, dir.path());
            assert!(ours.contains(message), "{file} {flag}: {ours}");
        }
    }
    // Without agent mode the same remote_read configuration is accepted.
    let dir = tempfile::tempdir().unwrap();
    let mut fw = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    fw.arg("server").arg(format!(
        "--storage.tsdb.path={}",
        dir.path().join("d").display()
    ));
    let file = testdata.join("agent_mode.with_remote_reads.yml");
    fw.arg(format!("--config.file={}", file.display()));
    let server = agent(
        "firewatch",
        fw,
        testkit::free_port(),
        &dir.path().join("server.log"),
    );
    assert!(!server.log_text().contains("agent mode"));
}

#[test]
fn agent_wal_truncation_keeps_what_a_down_receiver_has_not_received() {
    const TEST: &str =
        "firewatch::agent_mode::agent_wal_truncation_keeps_what_a_down_receiver_has_not_received";
    let Some(prometheus) = testkit::peer_binary(TEST, "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The receiver's port has nobody listening until the WAL was truncated a few times.
    let receiver_port = testkit::free_port();
    let fw_port = testkit::free_port();
    let fw_agent_dir = dir.path().join("fw-agent");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.arg("server")
        .arg(format!("--config.file={}", {
            // A small queue: the WAL, not the shards' memory, holds what waits.
            let path = config(dir.path(), "fw", fw_port, receiver_port);
            let yaml = std::fs::read_to_string(&path).unwrap().replace(
                "batch_send_deadline: 1s\n",
                "batch_send_deadline: 1s\n      capacity: 50\n      max_shards: 1\n      max_samples_per_send: 50\n",
            );
            std::fs::write(&path, yaml).unwrap();
            path
        }))
        .arg("--enable-feature=agent")
        .arg("--storage.agent.wal-truncate-frequency=1s")
        .arg(format!("--storage.agent.path={}", fw_agent_dir.display()));
    let fw = agent("firewatch", cmd, fw_port, &dir.path().join("fw.log"));
    let wal = fw_agent_dir.join("wal");
    let segments = || -> Vec<u32> {
        let mut v: Vec<u32> = std::fs::read_dir(&wal)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        v.sort_unstable();
        v
    };
    // The agent's scrapes so far (intervals observed, plus the first scrape).
    let scrapes = || -> usize {
        let text = testkit::get_ok(fw_port, "/metrics").unwrap_or_default();
        text.lines()
            .find_map(|l| {
                l.strip_prefix("prometheus_target_interval_length_seconds_count{interval=\"1s\"} ")
            })
            .map_or(0, |n| n.trim().parse::<usize>().unwrap() + 1)
    };
    // Truncations (one a second, each cutting a segment) while 6 scrapes wait: held back,
    // since the queue has sent nothing.
    let deadline = Instant::now() + Duration::from_secs(60);
    while scrapes() < 6
        || !fw.log_text().contains(
            "WAL truncation held back: remote write has not sent what the segments hold keep=",
        )
    {
        assert!(
            Instant::now() < deadline,
            "no held-back truncation: {:?}\n{}",
            segments(),
            fw.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let first_held = segments()[0];
    let want = scrapes();
    let outage_end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    // The receiver comes up: every scrape since the start arrives.
    let recv_cfg = dir.path().join("receiver.yml");
    std::fs::write(&recv_cfg, "global:\n  scrape_interval: 1h\n").unwrap();
    let mut cmd = Command::new(&prometheus);
    cmd.arg(format!("--config.file={}", recv_cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("receiver-data").display()
        ))
        .arg("--web.enable-remote-write-receiver");
    let receiver = Server {
        process: agent("receiver", cmd, receiver_port, &dir.path().join("recv.log")),
        port: receiver_port,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    // The samples scraped during the outage (the minute before it ended) at the receiver.
    let during = || -> usize {
        let q = urlencode("count_over_time(up{job=\"self\",agent=\"fw\"}[1m])");
        let r = receiver
            .get(&format!("/api/v1/query?query={q}&time={outage_end}"))
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        v["data"]["result"][0]["value"][1]
            .as_str()
            .map_or(0, |n| n.parse().unwrap())
    };
    while during() < want {
        assert!(
            Instant::now() < deadline,
            "{} of the {want} scrapes during the outage arrived: {}",
            during(),
            fw.log_text()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // Once sent, truncation deletes segments again.
    let deadline = Instant::now() + Duration::from_secs(60);
    while segments()[0] <= first_held {
        assert!(
            Instant::now() < deadline,
            "never truncated: {:?}",
            segments()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The values of `agent_total` VictoriaMetrics holds, sorted (duplicates kept).
fn exported_values(port: u16) -> Vec<i64> {
    let mut values: Vec<i64> = support::victoria_metrics_export(port, "agent_total")
        .into_iter()
        .map(|(_, v)| v as i64)
        .collect();
    values.sort_unstable();
    values
}

#[test]
fn agent_killed_during_an_outage_restarts_from_its_wal_and_sends_every_sample_once() {
    const TEST: &str = "firewatch::agent_mode::agent_killed_during_an_outage_restarts_from_its_wal_and_sends_every_sample_once";
    let Some(vm) = testkit::peer_binary(TEST, "victoria-metrics") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let vm_port = testkit::free_port();
    let vm_dir = dir.path().join("vm");
    let first = support::start_victoria_metrics(&vm, &vm_dir, vm_port, 1);
    // The n-th scrape reads n (from 1), and a second series: the agent's replayed series
    // references must keep each value with its own series after the restart.
    let scrapes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = scrapes.clone();
    let target = support::serve_target(move |n, _| {
        counted.store(n + 1, std::sync::atomic::Ordering::SeqCst);
        format!(
            "# TYPE agent_total counter\nagent_total {}\n# TYPE agent_other gauge\nagent_other{{n=\"{}\"}} 7\n",
            n + 1,
            n % 3
        )
    });
    let agent_dir = dir.path().join("agent");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\nremote_write:\n  - url: http://127.0.0.1:{vm_port}/api/v1/write\n    name: vm\n    queue_config:\n      batch_send_deadline: 1s\n      min_backoff: 100ms\n      max_backoff: 1s\n"
    );
    let agent_flag = format!("--storage.agent.path={}", agent_dir.display());
    let start = || support::start_firewatch(dir.path(), "fw", &config, &["--agent", &agent_flag]);
    let fw = start();
    let wait = |what: &str, cond: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !cond() {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    wait("no samples arrived", &|| {
        exported_values(vm_port).len() >= 3
    });
    // The receiver goes down; the agent scrapes on, then dies without saving anything.
    first.terminate();
    let at_outage = scrapes.load(std::sync::atomic::Ordering::SeqCst);
    wait("the agent does not scrape", &|| {
        scrapes.load(std::sync::atomic::Ordering::SeqCst) >= at_outage + 4
    });
    drop(fw);
    let fw = start();
    let at_restart = scrapes.load(std::sync::atomic::Ordering::SeqCst);
    wait("the agent does not scrape after the restart", &|| {
        scrapes.load(std::sync::atomic::Ordering::SeqCst) >= at_restart + 3
    });
    let _second = support::start_victoria_metrics(&vm, &vm_dir, vm_port, 2);
    wait("the agent does not scrape with the receiver back", &|| {
        scrapes.load(std::sync::atomic::Ordering::SeqCst) >= at_restart + 6
    });
    let upto = scrapes.load(std::sync::atomic::Ordering::SeqCst) as i64 - 1;
    // Every scrape's value once, from the first scrape on (the target's count goes on
    // across the agent's restart, so there is no gap).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: Vec<i64> = exported_values(vm_port)
            .into_iter()
            .filter(|&v| v <= upto)
            .collect();
        let want: Vec<i64> = (1..=upto).collect();
        if got == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "VictoriaMetrics' samples differ (missing or duplicated):\nwant {want:?}\ngot  {got:?}\nagent log:\n{}",
            fw.process.log_text()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    // The other series kept their labels and values.
    let r = testkit::http(
        vm_port,
        "GET",
        &format!("/api/v1/export?match[]={}", urlencode("agent_other")),
        None,
    )
    .unwrap();
    let mut names = std::collections::BTreeSet::new();
    for line in r.body.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        names.insert(v["metric"]["n"].as_str().unwrap().to_owned());
        // 7, or a staleness marker (null) when the series left the scrape.
        assert!(
            v["values"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x.is_null() || x.as_f64() == Some(7.0)),
            "{line}"
        );
    }
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["0", "1", "2"]);
}
