//! Start timestamps through the whole TSDB: appended with samples, read back per sample from
//! the head, after a WAL replay (with memory-mapped head chunks and a checkpoint), from
//! blocks cut from the head and from blocks merged by compaction. A directory holding them
//! still opens in Prometheus 2.42 (`promtool tsdb dump` and the server read every sample); a
//! directory that never saw one has neither their WAL record nor their block file.

mod db_common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use firewatch_tsdb::start::{BLOCK_FILE, START_TIMESTAMPS};
use firewatch_tsdb::wal::WalReader;
use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, MatchOp, Matcher, Sample, labels};
use storage::ValueType;

const HOUR: i64 = 3_600_000;
const STEP: i64 = 60_000;

/// A series' start timestamp at `t` for data beginning at `base` (0: none).
type StartOf = fn(i64, i64) -> i64;

/// The series, each with its start timestamps.
fn series() -> Vec<(Labels, StartOf)> {
    vec![
        // A counter created before the data begins and restarted at 2.5 h.
        (
            labels!("__name__" => "fw_requests_total", "job" => "st"),
            |base, t| {
                if t - base < 5 * HOUR / 2 {
                    base - 1_000
                } else {
                    base + 5 * HOUR / 2 - 500
                }
            },
        ),
        // A gauge: never a start timestamp.
        (
            labels!("__name__" => "fw_temperature", "job" => "st"),
            |_, _| 0,
        ),
        // A counter whose exporter stopped sending its created timestamp after one hour.
        (
            labels!("__name__" => "fw_jobs_total", "job" => "st"),
            |base, t| if t - base < HOUR { base + 7 } else { 0 },
        ),
    ]
}

/// Appends one sample per series every minute in `[from, to)`.
fn write(db: &Db, base: i64, from: i64, to: i64) {
    let mut t = from;
    while t < to {
        let mut app = db.appender();
        for (i, (labels, start)) in series().iter().enumerate() {
            let v = ((t - base) / STEP) as f64 + i as f64;
            app.append_with_start(0, labels, start(base, t), t, Sample::Float(v))
                .unwrap();
        }
        app.commit().unwrap();
        t += STEP;
    }
}

/// `(t, value, start)` of every sample, by series.
fn read(db: &Db) -> BTreeMap<String, Vec<(i64, f64, i64)>> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let all = Matcher::new(MatchOp::RegexMatch, "__name__", "fw_.*").unwrap();
    let mut out = BTreeMap::new();
    for s in q.select(true, None, &[all]).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == ValueType::Float {
            let (t, x) = it.at();
            v.push((t, x, it.at_st()));
        }
        out.insert(s.labels().to_string(), v);
    }
    out
}

fn expected(base: i64, to: i64) -> BTreeMap<String, Vec<(i64, f64, i64)>> {
    series()
        .iter()
        .enumerate()
        .map(|(i, (labels, start))| {
            let v = (0..)
                .map(|k| base + k * STEP)
                .take_while(|t| *t < to)
                .map(|t| (t, ((t - base) / STEP) as f64 + i as f64, start(base, t)))
                .collect();
            (labels.to_string(), v)
        })
        .collect()
}

fn check(db: &Db, base: i64, to: i64, when: &str) {
    let got = read(db);
    let want = expected(base, to);
    for (name, w) in &want {
        let g = &got[name];
        assert_eq!(g.len(), w.len(), "{when}: samples of {name}");
        for (a, b) in g.iter().zip(w) {
            assert_eq!(a, b, "{when}: {name}");
        }
    }
    assert_eq!(got.len(), want.len(), "{when}");
}

fn block_files(data: &Path) -> Vec<bool> {
    let mut blocks: Vec<_> = std::fs::read_dir(data)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("meta.json").exists())
        .map(|e| e.path())
        .collect();
    blocks.sort();
    blocks.iter().map(|b| b.join(BLOCK_FILE).exists()).collect()
}

/// Record type bytes found in the WAL segments and checkpoint of `data`.
fn wal_record_types(data: &Path) -> Vec<u8> {
    let wal = data.join("wal");
    let mut dirs = vec![wal.clone()];
    dirs.extend(
        std::fs::read_dir(&wal)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("checkpoint."))
            .map(|e| e.path()),
    );
    let mut out = Vec::new();
    for d in dirs {
        let mut r = WalReader::open_dir(&d).unwrap();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(rec[0]);
        }
    }
    out
}

fn opts() -> DbOptions {
    DbOptions {
        wal_segment_size: 64 * 1024,
        ..DbOptions::default()
    }
}

#[test]
fn start_timestamps_survive_replay_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let base = 0;
    let db = Db::open(data, opts()).unwrap();
    write(&db, base, base, base + 5 * HOUR);
    check(&db, base, base + 5 * HOUR, "head");
    db.close().unwrap();

    // 300 samples per series: most are in memory-mapped chunks, replayed beside the WAL.
    let db = Db::open(data, opts()).unwrap();
    check(&db, base, base + 5 * HOUR, "after WAL replay");
    db.compact().unwrap();
    assert_eq!(
        block_files(data),
        [true],
        "the block has a start timestamps file"
    );
    check(&db, base, base + 5 * HOUR, "block and head");
    db.close().unwrap();

    // Blocks, the checkpoint and the WAL after it.
    let db = Db::open(data, opts()).unwrap();
    check(
        &db,
        base,
        base + 5 * HOUR,
        "after reopening with a block and a checkpoint",
    );
    assert!(wal_record_types(data).contains(&START_TIMESTAMPS));
    // Enough for three 2 h blocks, merged into one 6 h block by leveled compaction.
    write(&db, base, base + 5 * HOUR, base + 11 * HOUR);
    db.compact().unwrap();
    let blocks = db.blocks();
    assert!(
        blocks
            .iter()
            .any(|b| b.meta().max_time - b.meta().min_time == 6 * HOUR),
        "a merged block: {:?}",
        blocks.iter().map(|b| b.meta().clone()).collect::<Vec<_>>()
    );
    check(&db, base, base + 11 * HOUR, "merged blocks");
    db.close().unwrap();
    let db = Db::open(data, opts()).unwrap();
    check(&db, base, base + 11 * HOUR, "after reopening merged blocks");
    db.close().unwrap();
}

#[test]
fn a_damaged_start_timestamps_file_costs_only_the_start_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let db = Db::open(data, opts()).unwrap();
    write(&db, 0, 0, 5 * HOUR);
    db.compact().unwrap();
    db.close().unwrap();
    let block = std::fs::read_dir(data)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join(BLOCK_FILE).exists())
        .unwrap();
    let file = block.join(BLOCK_FILE);
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();

    let db = Db::open(data, opts()).unwrap();
    let got = read(&db);
    let mut want = expected(0, 5 * HOUR);
    // The block's samples lose their start timestamps; the head's keep them.
    for v in want.values_mut() {
        for (t, _, st) in v.iter_mut() {
            if *t < 2 * HOUR {
                *st = 0;
            }
        }
    }
    assert_eq!(got, want);
    db.close().unwrap();
}

#[test]
fn without_start_timestamps_nothing_is_added() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let db = Db::open(data, opts()).unwrap();
    let mut t = 0;
    while t < 5 * HOUR {
        let mut app = db.appender();
        app.append(0, &series()[0].0, t, Sample::Float(1.0))
            .unwrap();
        app.append_with_start(0, &series()[1].0, 0, t, Sample::Float(2.0))
            .unwrap();
        app.commit().unwrap();
        t += STEP;
    }
    db.compact().unwrap();
    db.close().unwrap();
    assert_eq!(block_files(data), [false]);
    let types = wal_record_types(data);
    assert!(!types.is_empty());
    assert!(!types.contains(&START_TIMESTAMPS), "{types:?}");
}

#[test]
fn prometheus_2_42_reads_a_dir_with_start_timestamps() {
    if !testkit::peers(
        "tsdb::start_timestamps::prometheus_2_42_reads_a_dir_with_start_timestamps",
        &["prometheus", "promtool"],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // Five hours ending a minute ago (inside Prometheus's retention), cut into a block, a
    // checkpoint and WAL segments all holding start timestamps.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let end = (now / HOUR) * HOUR - HOUR;
    let base = end - 5 * HOUR;
    {
        let db = Db::open(&data, opts()).unwrap();
        write(&db, base, base, end);
        db.compact().unwrap();
        db.close().unwrap();
    }
    let files = block_files(&data);
    assert!(!files.is_empty() && files.iter().all(|&f| f), "{files:?}");
    assert!(wal_record_types(&data).contains(&START_TIMESTAMPS));
    let want: BTreeMap<String, Vec<(i64, f64)>> = expected(base, end)
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().map(|(t, x, _)| (t, x)).collect()))
        .collect();

    // promtool opens the directory read-only (blocks, then the WAL replayed).
    let out = Command::new("promtool")
        .arg("tsdb")
        .arg("dump")
        .arg(&data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "promtool: {stderr}");
    let mut dumped: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let (labels, rest) = line.rsplit_once("} ").unwrap();
        let (v, t) = rest.split_once(' ').unwrap();
        dumped
            .entry(format!("{labels}}}"))
            .or_default()
            .push((t.parse().unwrap(), v.parse().unwrap()));
    }
    for v in dumped.values_mut() {
        v.sort_by_key(|s| s.0);
        v.dedup_by_key(|s| s.0);
    }
    assert_eq!(dumped, want, "promtool tsdb dump");

    // The server opens it too (and may compact and checkpoint it) and answers every sample.
    let prom = db_common::Prometheus::start(&data, false, &[]);
    let url = format!(
        "/api/v1/query_range?query={}&start={}&end={}&step=60",
        db_common::urlencode("{__name__=~\"fw_.*\"}"),
        base / 1000,
        (end - STEP) / 1000
    );
    let body = prom.get(&url).unwrap();
    let log = prom.log_text();
    prom.stop();
    for bad in ["orrupt", "level=error"] {
        assert!(!log.contains(bad), "Prometheus complained ({bad}):\n{log}");
    }
    let resp: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}\n{log}"));
    assert_eq!(resp["status"], "success", "{body}");
    let result = resp["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 3, "{body}");
    for r in result {
        let name = r["metric"]["__name__"].as_str().unwrap();
        let (key, w) = want
            .iter()
            .find(|(k, _)| k.contains(&format!("\"{name}\"")))
            .unwrap();
        let values = r["values"].as_array().unwrap();
        assert_eq!(values.len(), w.len(), "{key}");
        for (v, (t, x)) in values.iter().zip(w) {
            assert_eq!(v[0].as_f64().unwrap() as i64 * 1000, *t, "{key}");
            assert_eq!(v[1].as_str().unwrap().parse::<f64>().unwrap(), *x, "{key}");
        }
    }
}
