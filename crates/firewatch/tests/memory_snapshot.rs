//! `firewatch server --enable-feature=memory-snapshot-on-shutdown`: a clean shutdown writes
//! a chunk snapshot of the head, and the next start loads it (issue 15 item 4); the samples
//! scraped before the shutdown are all there after it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use testkit::{Process, free_port, get_ok, urlencode, wait_for};

const FEATURE: &str = "--enable-feature=memory-snapshot-on-shutdown";

/// The value of the instant query `q` at `time` (seconds), if it has one.
fn value_at(port: u16, q: &str, time: f64) -> Option<f64> {
    let path = format!("/api/v1/query?query={}&time={time}", urlencode(q));
    let body = get_ok(port, &path)?;
    let v: Value = serde_json::from_str(&body).ok()?;
    v["data"]["result"].get(0)?["value"][1]
        .as_str()?
        .parse()
        .ok()
}

/// Starts `firewatch server` on `port` scraping itself every second, with the snapshot
/// feature; ready when it answers.
fn start(work: &Path, port: u16, run: &str) -> Process {
    let config = work.join("firewatch.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.arg("server")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            work.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(FEATURE);
    let log = work.join(format!("firewatch-{run}.log"));
    let process = Process::spawn("firewatch", cmd, &log);
    wait_for("firewatch ready", Duration::from_secs(30), || {
        get_ok(port, "/-/ready").is_some()
    });
    process
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn samples_scraped_before_a_shutdown_come_back_from_the_chunk_snapshot() {
    let work = tempfile::tempdir().unwrap();
    let port = free_port();
    let first = start(work.path(), port, "first");
    let count = "count_over_time(up{job=\"self\"}[1h])";
    wait_for("five scrapes", Duration::from_secs(30), || {
        value_at(port, count, now()).is_some_and(|n| n >= 5.0)
    });
    let at = now();
    let before = value_at(port, count, at).unwrap();
    first.terminate();
    let snapshots: Vec<String> = std::fs::read_dir(work.path().join("data"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("chunk_snapshot."))
        .collect();
    assert_eq!(snapshots.len(), 1, "one snapshot: {snapshots:?}");

    let second = start(work.path(), port, "second");
    let log = second.log_text();
    assert!(log.contains("chunk snapshot loaded"), "{log}");
    assert!(!log.contains("Failed to load chunk snapshot"), "{log}");
    assert_eq!(
        value_at(port, count, at),
        Some(before),
        "the samples up to the shutdown"
    );
    second.terminate();
}
