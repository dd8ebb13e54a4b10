//! Chunk snapshots in the bytes of the real Prometheus 2.42, both ways (run with
//! `--enable-feature=memory-snapshot-on-shutdown`): Prometheus starts from the snapshot
//! Firewatch wrote (and answers with every sample), Firewatch starts from the one Prometheus
//! wrote (every sample of `promtool tsdb dump`, none of them read from the WAL).

mod db_common;
mod log_capture;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use firewatch_tsdb::head::snapshot::last_snapshot;
use firewatch_tsdb::{Db, DbOptions};
use log_capture::with_log;
use model::{Matcher, Sample, labels};
use storage::ValueType;

const FEATURE: &str = "--enable-feature=memory-snapshot-on-shutdown";

fn opts() -> DbOptions {
    DbOptions {
        enable_memory_snapshot_on_shutdown: true,
        ..DbOptions::default()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

type Data = BTreeMap<String, Vec<(i64, u64)>>;

/// A value's bits, every NaN as one (`promtool tsdb dump` prints them all as `NaN`).
fn bits(v: f64) -> u64 {
    if v.is_nan() { f64::NAN } else { v }.to_bits()
}

/// Every float sample of the database, by series (values as bits).
fn read(db: &Db) -> Data {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let mut got = Data::new();
    let all = Matcher::new(model::MatchOp::RegexMatch, "__name__", ".+").unwrap();
    for s in q.select(true, None, &[all]).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == ValueType::Float {
            let (t, x) = it.at();
            v.push((t, bits(x)));
        }
        got.insert(s.labels().to_string(), v);
    }
    got
}

/// The `key=value` field of the first log line containing `msg`.
fn field(log: &str, msg: &str, key: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains(msg))?;
    let at = line.find(&format!(" {key}="))? + key.len() + 2;
    Some(line[at..].split_whitespace().next()?.to_owned())
}

#[test]
fn prometheus_starts_from_our_chunk_snapshot_and_we_from_its_next_one() {
    if !testkit::peers(
        "tsdb::chunk_snapshot_prometheus::prometheus_starts_from_our_chunk_snapshot_and_we_from_its_next_one",
        &["prometheus"],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // 400 samples 15 s apart ending a minute ago: full chunks in chunks_head/, the rest in
    // open chunks, which only the snapshot holds once the WAL before it is skipped.
    const N: i64 = 400;
    let end = (now_ms() / 1000 - 60) * 1000;
    let start = end - (N - 1) * 15_000;
    let series = [
        labels!("__name__" => "fw_snap", "job" => "a", "instance" => "x:1"),
        labels!("__name__" => "fw_snap", "job" => "b", "instance" => "y:2"),
        labels!("__name__" => "fw_snap_other", "le" => "0.5"),
    ];
    let value = |i: usize, k: i64| (k * 7 + i as i64) as f64 / 4.0;
    let want = {
        let db = Db::open(&data, opts()).unwrap();
        for k in 0..N {
            let mut app = db.appender();
            for (i, s) in series.iter().enumerate() {
                app.append(0, s, start + k * 15_000, Sample::Float(value(i, k)))
                    .unwrap();
            }
            app.commit().unwrap();
        }
        let want = read(&db);
        db.close().unwrap();
        want
    };
    let (_, seg, _) = last_snapshot(&data).unwrap().expect("our snapshot");

    let prom = db_common::Prometheus::start(&data, false, &[FEATURE]);
    let url = format!(
        "/api/v1/query_range?query={}&start={}&end={}&step=15",
        db_common::urlencode("{__name__=~\"fw_.*\"}"),
        start / 1000,
        end / 1000
    );
    let body = prom.get(&url).unwrap();
    let log = prom.log_text();
    prom.stop();
    assert!(
        log.contains("chunk snapshot loaded") && log.contains("num_series=3"),
        "Prometheus did not load our snapshot:\n{log}"
    );
    for bad in ["Failed to load chunk snapshot", "orrupt", "level=error"] {
        assert!(!log.contains(bad), "Prometheus complained ({bad}):\n{log}");
    }
    let resp: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}\n{log}"));
    let result = resp["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 3, "{body}");
    for r in result {
        let metric = r["metric"].as_object().unwrap();
        let (i, s) = series
            .iter()
            .enumerate()
            .find(|(_, s)| {
                s.iter()
                    .all(|l| metric.get(l.name).and_then(|v| v.as_str()) == Some(l.value))
            })
            .unwrap_or_else(|| panic!("unexpected series {metric:?}"));
        let values = r["values"].as_array().unwrap();
        assert_eq!(values.len(), N as usize, "series {s}");
        for (k, v) in values.iter().enumerate() {
            let t = v[0].as_f64().unwrap() as i64 * 1000;
            assert_eq!(t, start + k as i64 * 15_000, "series {s} step {k}");
            let got: f64 = v[1].as_str().unwrap().parse().unwrap();
            assert_eq!(got, value(i, k as i64), "series {s} at {t}");
        }
    }
    // Prometheus wrote its own snapshot on shutdown, at its own WAL segment.
    let (dir, pseg, _) = last_snapshot(&data)
        .unwrap()
        .expect("Prometheus's snapshot");
    assert!(pseg > seg, "a newer snapshot: {}", dir.display());

    let (db, log) = with_log(|| Db::open(&data, opts()).unwrap());
    assert!(log.contains("chunk snapshot loaded"), "{log}");
    assert!(!log.contains("Failed to load chunk snapshot"), "{log}");
    assert_eq!(
        read(&db),
        want,
        "our samples back from Prometheus's snapshot"
    );
    db.close().unwrap();
}

/// Parses `promtool tsdb dump` lines: `{labels} value timestamp`.
fn parse_dump(out: &str) -> Data {
    let mut m = Data::new();
    for line in out.lines().filter(|l| !l.is_empty()) {
        let (labels, rest) = line.rsplit_once("} ").unwrap();
        let (v, t) = rest.split_once(' ').unwrap();
        let v: f64 = v.parse().unwrap_or_else(|_| panic!("value {v}"));
        m.entry(format!("{labels}}}"))
            .or_default()
            .push((t.parse().unwrap(), bits(v)));
    }
    for v in m.values_mut() {
        v.sort_by_key(|s| s.0);
    }
    m
}

#[test]
fn we_start_from_a_prometheus_chunk_snapshot_without_its_wal() {
    if !testkit::peers(
        "tsdb::chunk_snapshot_prometheus::we_start_from_a_prometheus_chunk_snapshot_without_its_wal",
        &["prometheus", "promtool"],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let prom = db_common::Prometheus::start(&data, true, &[FEATURE]);
    prom.wait_first_scrape(Duration::from_secs(5));
    prom.stop();
    let (dir, _, _) = last_snapshot(&data)
        .unwrap()
        .expect("Prometheus wrote a snapshot on shutdown");

    let out = Command::new("promtool")
        .arg("tsdb")
        .arg("dump")
        .arg(&data)
        .output()
        .expect("promtool must be installed");
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = parse_dump(&String::from_utf8(out.stdout).unwrap());
    assert!(
        want.len() > 50,
        "promtool dumped only {} series",
        want.len()
    );
    // promtool leaves the snapshot alone (it replays the WAL).
    assert!(dir.exists());

    let (db, log) = with_log(|| Db::open(&data, opts()).unwrap());
    assert!(!log.contains("Failed to load chunk snapshot"), "{log}");
    assert_eq!(
        field(&log, "chunk snapshot loaded", "num_series").and_then(|n| n.parse::<usize>().ok()),
        Some(want.len()),
        "{log}"
    );
    // The snapshot ends the WAL: every sample came from it.
    assert_eq!(
        field(&log, "WAL replay completed", "samples").as_deref(),
        Some("0"),
        "{log}"
    );
    let got = read(&db);
    db.close().unwrap();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    let mut samples = 0;
    for (k, w) in &want {
        assert_eq!(&got[k], w, "series {k}");
        samples += w.len();
    }
    assert!(samples > 200, "only {samples} samples compared");
}
