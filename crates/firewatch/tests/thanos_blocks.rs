//! Thanos compatibility of the blocks (issue 14, item 8): with `global.external_labels` set,
//! every block `firewatch server` writes (head compaction and leveled compaction) carries the
//! `thanos` section of `meta.json` in the shape of Thanos's `pkg/block/metadata/meta.go`
//! (labels = the external labels, downsample resolution 0, source `sidecar`, as the sidecar
//! uploads Prometheus's blocks); a reload with other labels changes the section of the blocks
//! written after it; `--storage.tsdb.min-block-duration` / `max-block-duration` give the block
//! lengths; and the real `promtool` 2.42 lists the blocks and the real Prometheus 2.42, started
//! on a copy of the directory, serves every sample.

#[path = "support/scale_out.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use prost::Message;
use remote::proto;
use support::{now_secs, query_result, start_prometheus};
use testkit::Server;

const TEST: &str = "firewatch::thanos_blocks::blocks_carry_the_thanos_section_and_stay_readable_by_prometheus_2_42";
const STEP: i64 = 10_000;
const SERIES: usize = 3;
const MINUTE: i64 = 60_000;

/// A remote write of `SERIES` series `thanos_blocks{i}`, each with a sample every 10 s in
/// `[from, to)` whose value is its timestamp in seconds.
fn request(from: i64, to: i64) -> Vec<u8> {
    let timeseries = (0..SERIES)
        .map(|i| proto::TimeSeries {
            labels: vec![
                proto::Label {
                    name: "__name__".into(),
                    value: "thanos_blocks".into(),
                },
                proto::Label {
                    name: "i".into(),
                    value: i.to_string(),
                },
            ],
            samples: (from..to)
                .step_by(STEP as usize)
                .map(|t| proto::Sample {
                    value: (t / 1000) as f64,
                    timestamp: t,
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    let body = proto::WriteRequest {
        timeseries,
        metadata: vec![],
    }
    .encode_to_vec();
    snap::raw::Encoder::new().compress_vec(&body).unwrap()
}

/// Every block directory under `data` with its parsed `meta.json`.
fn metas(data: &Path) -> BTreeMap<PathBuf, serde_json::Value> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(data).unwrap().flatten() {
        let meta = e.path().join("meta.json");
        if e.file_name().len() == 26
            && let Ok(text) = std::fs::read_to_string(&meta)
        {
            out.insert(e.path(), serde_json::from_str(&text).unwrap());
        }
    }
    out
}

/// Waits until `ok` holds for the blocks under `data`; returns them.
fn wait_blocks(
    fw: &Server,
    data: &Path,
    what: &str,
    ok: impl Fn(&BTreeMap<PathBuf, serde_json::Value>) -> bool,
) -> BTreeMap<PathBuf, serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let m = metas(data);
        if ok(&m) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: blocks {m:#?}; log:\n{}",
            fw.process.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn level(m: &serde_json::Value) -> u64 {
    m["compaction"]["level"].as_u64().unwrap()
}

/// Whether compaction is done: `merged` 6 m blocks and `cut` 2 m ones (the planner leaves the
/// newest block and an incomplete 6 m window alone).
fn settled(m: &BTreeMap<PathBuf, serde_json::Value>, merged: usize, cut: usize) -> bool {
    m.values().filter(|b| level(b) == 2).count() == merged
        && m.values().filter(|b| level(b) == 1).count() == cut
        && m.len() == merged + cut
}

/// Every block spans 2 m (cut from the head) or 6 m (merged).
fn check_spans(m: &BTreeMap<PathBuf, serde_json::Value>) {
    for (dir, b) in m {
        let span = b["maxTime"].as_i64().unwrap() - b["minTime"].as_i64().unwrap();
        let want = if level(b) == 1 {
            2 * MINUTE
        } else {
            6 * MINUTE
        };
        assert_eq!(span, want, "{}: {b:#}", dir.display());
    }
}

fn thanos(labels: &serde_json::Value) -> serde_json::Value {
    serde_json::json!({"labels": labels, "downsample": {"resolution": 0}, "source": "sidecar"})
}

fn config(labels: &str) -> String {
    format!("global:\n  scrape_interval: 1h\n  external_labels: {labels}\n")
}

#[test]
fn blocks_carry_the_thanos_section_and_stay_readable_by_prometheus_2_42() {
    let Some(prometheus) = testkit::peer_binary(TEST, "prometheus") else {
        return;
    };
    let Some(promtool) = testkit::peer_binary(TEST, "promtool") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("firewatch");
    let data = tmp.path().join("data");
    let fw = Server::start(
        env!("CARGO_BIN_EXE_firewatch"),
        &["server"],
        &work,
        &data,
        &config("{cluster: eu1, replica: a}"),
        &[
            "--web.enable-remote-write-receiver",
            "--web.enable-lifecycle",
            "--storage.tsdb.min-block-duration=2m",
            "--storage.tsdb.max-block-duration=6m",
            "--storage.tsdb.retention.time=10y",
        ],
    );
    // 30 minutes of samples, aligned to the blocks: head compaction cuts 2 m blocks while
    // the head spans more than 3 m ([t0, t0+28m): 14 blocks), and leveled compaction merges
    // the complete 6 m windows (4), leaving [24m, 26m) and the newest, [26m, 28m).
    let t0 = (now_ms() - 3 * 3600 * 1000) / (6 * MINUTE) * (6 * MINUTE);
    let t1 = t0 + 30 * MINUTE;
    assert_eq!(
        testkit::post_remote_write(fw.port, &request(t0, t1)).unwrap(),
        204
    );
    let first = wait_blocks(&fw, &data, "4 merged and 2 cut blocks", |m| {
        settled(m, 4, 2)
    });
    check_spans(&first);
    let eu1 = thanos(&serde_json::json!({"cluster": "eu1", "replica": "a"}));
    for (dir, m) in &first {
        assert_eq!(m["thanos"], eu1, "{}: {m:#}", dir.display());
    }

    // A reload with other external labels: blocks written from then on carry those.
    std::fs::write(
        std::fs::read_dir(&work)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "yml"))
            .unwrap(),
        config("{cluster: eu2}"),
    )
    .unwrap();
    let r = testkit::http(fw.port, "POST", "/-/reload", Some("")).unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let t2 = t1 + 12 * MINUTE;
    assert_eq!(
        testkit::post_remote_write(fw.port, &request(t1, t2)).unwrap(),
        204
    );
    // Head blocks up to t0+40m; windows [24m, 30m) and [30m, 36m) merged; [36m, 38m) and
    // the newest [38m, 40m) left: the 4 older merged blocks keep eu1, the 4 new ones say eu2.
    let eu2 = thanos(&serde_json::json!({"cluster": "eu2"}));
    let second = wait_blocks(&fw, &data, "6 merged and 2 cut blocks", |m| {
        settled(m, 6, 2)
    });
    check_spans(&second);
    for (dir, m) in &second {
        if first.contains_key(dir) {
            assert_eq!(m["thanos"], eu1, "{}: {m:#}", dir.display());
        } else {
            assert!(
                m["minTime"].as_i64().unwrap() >= t0 + 24 * MINUTE,
                "{}: {m:#}",
                dir.display()
            );
            assert_eq!(m["thanos"], eu2, "{}: {m:#}", dir.display());
        }
    }
    assert_eq!(second.keys().filter(|d| first.contains_key(*d)).count(), 4);
    let end = t2 as f64 / 1000.0;
    let count_query = format!("count_over_time(thanos_blocks[{}s])", (t2 - t0) / 1000 + 60);
    let ours = query_result(&fw, &count_query, end);
    drop(fw);

    // promtool 2.42 lists every block; Prometheus 2.42 on a copy serves the same samples.
    let out = std::process::Command::new(&promtool)
        .args(["tsdb", "list"])
        .arg(&data)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "promtool: {listed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for dir in second.keys() {
        let ulid = dir.file_name().unwrap().to_string_lossy();
        assert!(
            listed.contains(&*ulid),
            "{ulid} not in promtool's list:\n{listed}"
        );
    }
    let copy = tmp.path().join("prometheus");
    testkit::copy_data_dir(&data, &copy.join("data"));
    let prom = start_prometheus(
        &prometheus,
        tmp.path(),
        "prometheus",
        "global:\n  scrape_interval: 1h\n",
    );
    let theirs = query_result(&prom, &count_query, end);
    let counts = |v: &serde_json::Value| -> BTreeMap<String, String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["metric"]["i"].as_str().unwrap().to_string(),
                    s["value"][1].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let want: BTreeMap<String, String> = (0..SERIES)
        .map(|i| (i.to_string(), ((t2 - t0) / STEP).to_string()))
        .collect();
    assert_eq!(counts(&ours), want);
    assert_eq!(
        counts(&theirs),
        want,
        "Prometheus 2.42 on Firewatch's blocks"
    );
}

fn now_ms() -> i64 {
    (now_secs() * 1000.0) as i64
}
