//! Crash loop (issue 16, item 3): the real `firewatch server` takes remote writes while it
//! compacts its head into 2-minute blocks, merges them into 6-minute ones, checkpoints the
//! WAL, deletes blocks beyond a 30-minute retention, and (through the admin API) deletes a
//! series, rewrites blocks with tombstones and takes snapshots; it is killed with SIGKILL at
//! random moments, 15 times. After each restart every acknowledged sample inside the retention is
//! there with its value; at the end `promtool tsdb list` reads the directory and the real
//! Prometheus 2.42, started on a copy, serves the same samples.
//!
//! The samples' timestamps advance 10 s per request (not with the clock), so hours of data
//! and many compactions happen in a minute. `FIREWATCH_CRASH_SEED` replays a run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prost::Message;
use remote::proto;
use testkit::{Server, urlencode};

const TEST: &str = "firewatch::crash_loop::acknowledged_samples_survive_kill_9_during_compaction";
const T0: i64 = 1_700_000_000_000;
const STEP: i64 = 10_000;
const SERIES: usize = 20;
const RETENTION: i64 = 30 * 60 * 1000;
const ITERATIONS: usize = 15;
/// The writer's pause between requests. Unpaced, it wrote ~300 requests (50 minutes of sample
/// time) a second, faster than a debug build on a loaded machine compacts 2-minute blocks: the
/// head never caught up between kills, so the WAL was never checkpointed (Prometheus, too,
/// truncates the WAL only once the head is no longer compactable).
const WRITE_PAUSE: Duration = Duration::from_millis(4);

fn flags() -> Vec<&'static str> {
    vec![
        "--web.enable-remote-write-receiver",
        "--storage.tsdb.min-block-duration=2m",
        "--storage.tsdb.max-block-duration=6m",
        "--storage.tsdb.retention.time=30m",
        "--web.enable-admin-api",
    ]
}

/// Request `n`: one sample per series at `T0 + n * STEP` with value `n`, and one of
/// `crash_loop_doomed`, which the admin thread keeps deleting.
fn request(n: u64) -> Vec<u8> {
    let t = T0 + n as i64 * STEP;
    let timeseries = (0..SERIES)
        .map(|i| proto::TimeSeries {
            labels: vec![
                proto::Label {
                    name: "__name__".into(),
                    value: "crash_loop".into(),
                },
                proto::Label {
                    name: "i".into(),
                    value: i.to_string(),
                },
            ],
            samples: vec![proto::Sample {
                value: n as f64,
                timestamp: t,
            }],
            ..Default::default()
        })
        .chain(std::iter::once(proto::TimeSeries {
            labels: vec![proto::Label {
                name: "__name__".into(),
                value: "crash_loop_doomed".into(),
            }],
            samples: vec![proto::Sample {
                value: n as f64,
                timestamp: t,
            }],
            ..Default::default()
        }))
        .collect();
    let body = proto::WriteRequest {
        timeseries,
        metadata: vec![],
    }
    .encode_to_vec();
    snap::raw::Encoder::new().compress_vec(&body).unwrap()
}

/// POSTs an admin endpoint with an empty body; true for a 2xx answer.
fn admin(port: u16, path: &str) -> bool {
    testkit::http(port, "POST", path, Some("")).is_ok_and(|r| (200..300).contains(&r.status))
}

/// Every `crash_loop` sample a server holds: (request number, series) pairs, checked to
/// carry the request number as value.
fn stored(port: u16, at: i64) -> std::collections::BTreeSet<(u64, usize)> {
    let q = format!("crash_loop[{}s]", 24 * 3600);
    let r = testkit::http(
        port,
        "GET",
        &format!(
            "/api/v1/query?query={}&time={}",
            urlencode(&q),
            at as f64 / 1000.0
        ),
        None,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let mut out = std::collections::BTreeSet::new();
    for s in v["data"]["result"].as_array().unwrap() {
        let i: usize = s["metric"]["i"].as_str().unwrap().parse().unwrap();
        for p in s["values"].as_array().unwrap() {
            let t = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
            let n = ((t - T0) / STEP) as u64;
            let v: f64 = p[1].as_str().unwrap().parse().unwrap();
            assert_eq!(v, n as f64, "series {i} at {t}: value {v}, request {n}");
            out.insert((n, i));
        }
    }
    out
}

/// The acknowledged requests that retention must keep (newest minus the retention).
fn must_keep(acked: &[u64]) -> Vec<u64> {
    let Some(&top) = acked.iter().max() else {
        return Vec::new();
    };
    let top_t = T0 + top as i64 * STEP;
    acked
        .iter()
        .copied()
        .filter(|n| T0 + *n as i64 * STEP >= top_t - RETENTION)
        .collect()
}

fn missing(acked: &[u64], have: &std::collections::BTreeSet<(u64, usize)>) -> Vec<(u64, usize)> {
    must_keep(acked)
        .into_iter()
        .flat_map(|n| (0..SERIES).map(move |i| (n, i)))
        .filter(|k| !have.contains(k))
        .collect()
}

/// A small deterministic generator (xorshift) for the kill delays.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn acknowledged_samples_survive_kill_9_during_compaction() {
    let Some(prometheus) = testkit::peer_binary(TEST, "prometheus") else {
        return;
    };
    let Some(promtool) = testkit::peer_binary(TEST, "promtool") else {
        return;
    };
    let seed = std::env::var("FIREWATCH_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("FIREWATCH_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    let data = tmp.path().join("data");
    let config = "global:\n  scrape_interval: 1h\n";
    let next = Arc::new(AtomicU64::new(0));
    let mut acked: Vec<u64> = Vec::new();
    let (mut saw_checkpoint, mut saw_blocks, mut saw_retention) = (false, false, false);
    // Deletions, tombstone cleanings and snapshots that completed.
    let mut admin_done = [0u32; 3];
    let started = Instant::now();
    for iteration in 0..ITERATIONS {
        let fw = Server::start(
            env!("CARGO_BIN_EXE_firewatch"),
            &["server"],
            &work,
            &data,
            config,
            &flags(),
        );
        // Everything acknowledged before the last kill is there.
        let have = stored(fw.port, T0 + next.load(Ordering::SeqCst) as i64 * STEP);
        let lost = missing(&acked, &have);
        assert!(
            lost.is_empty(),
            "seed {seed}, iteration {iteration}: {} acknowledged samples missing, first {:?}; log:\n{}",
            lost.len(),
            &lost[..lost.len().min(5)],
            fw.process.log_text()
        );
        saw_retention |= acked.first().is_some_and(|n| !have.contains(&(*n, 0)));
        // Write until killed.
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (stop, next, port) = (stop.clone(), next.clone(), fw.port);
            std::thread::spawn(move || {
                let mut ok = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if !testkit::post_remote_write(port, &request(n))
                        .is_ok_and(|c| (200..300).contains(&c))
                    {
                        break;
                    }
                    ok.push(n);
                    std::thread::sleep(WRITE_PAUSE);
                }
                ok
            })
        };
        // Meanwhile: delete a series (tombstones in blocks and head), rewrite the blocks
        // that have tombstones, and take snapshots, so that kills land in those too.
        let admin_thread = {
            let (stop, port) = (stop.clone(), fw.port);
            std::thread::spawn(move || {
                let mut done = [0u32; 3];
                let mut i = 0u32;
                while !stop.load(Ordering::SeqCst) {
                    let q = format!(
                        "/api/v1/admin/tsdb/delete_series?match[]={}",
                        urlencode("crash_loop_doomed")
                    );
                    done[0] += u32::from(admin(port, &q));
                    done[1] += u32::from(admin(port, "/api/v1/admin/tsdb/clean_tombstones"));
                    if i.is_multiple_of(4) {
                        done[2] += u32::from(admin(port, "/api/v1/admin/tsdb/snapshot"));
                    }
                    i += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                done
            })
        };
        std::thread::sleep(Duration::from_millis(300 + rng.below(2200)));
        drop(fw); // SIGKILL
        stop.store(true, Ordering::SeqCst);
        acked.extend(writer.join().unwrap());
        for (k, n) in admin_thread.join().unwrap().into_iter().enumerate() {
            admin_done[k] += n;
        }
        let names: Vec<String> = std::fs::read_dir(&data)
            .into_iter()
            .flatten()
            .chain(std::fs::read_dir(data.join("wal")).into_iter().flatten())
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        saw_blocks |= names.iter().any(|n| n.len() == 26);
        saw_checkpoint |= names.iter().any(|n| n.starts_with("checkpoint."));
    }
    eprintln!(
        "{ITERATIONS} kills in {:?}; {} requests acknowledged; deletions, tombstone cleanings, snapshots: {admin_done:?}",
        started.elapsed(),
        acked.len()
    );
    assert!(
        admin_done.iter().all(|n| *n > 0),
        "admin calls completed: {admin_done:?}"
    );
    assert!(
        acked.len() > 200,
        "too few writes to prove anything: {}",
        acked.len()
    );
    assert!(
        saw_blocks && saw_checkpoint && saw_retention,
        "blocks {saw_blocks}, checkpoint {saw_checkpoint}, retention {saw_retention}"
    );

    // promtool reads the blocks Firewatch left behind.
    let out = std::process::Command::new(promtool)
        .args(["tsdb", "list"])
        .arg(&data)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && listed.lines().count() > 1,
        "promtool tsdb list: {listed}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Prometheus 2.42 opens a copy (blocks, WAL, head chunks) and serves the same samples.
    let copy = tmp.path().join("prom-data");
    testkit::copy_data_dir(&data, &copy);
    let prom = Server::start(
        prometheus.to_str().unwrap(),
        &[],
        &tmp.path().join("prom"),
        &copy,
        config,
        &[],
    );
    let at = T0 + next.load(Ordering::SeqCst) as i64 * STEP;
    let have = stored(prom.port, at);
    let lost = missing(&acked, &have);
    assert!(
        lost.is_empty(),
        "seed {seed}: Prometheus misses {} acknowledged samples, first {:?}; log:\n{}",
        lost.len(),
        &lost[..lost.len().min(5)],
        prom.process.log_text()
    );
}
