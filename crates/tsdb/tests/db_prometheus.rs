//! Compatibility of whole data directories with the real Prometheus 2.42, both ways:
//! Prometheus opens what Firewatch wrote (and answers `query_range` with our samples), and
//! Firewatch opens what Prometheus wrote (every sample matches `promtool tsdb dump`).

mod db_common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use firewatch_tsdb::{Db, DbOptions};
use model::{Matcher, STALE_NAN, Sample, labels};
use storage::ValueType;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn prometheus_reads_our_data_dir() {
    if !testkit::peers(
        "tsdb::db_prometheus::prometheus_reads_our_data_dir",
        &["prometheus", "promtool"],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // 400 samples 15 s apart ending a minute ago, aligned to the second: full chunks go to
    // chunks_head/, which Prometheus maps at start-up.
    const N: i64 = 400;
    let end = (now_ms() / 1000 - 60) * 1000;
    let start = end - (N - 1) * 15_000;
    let series = [
        labels!("__name__" => "fw_test_metric", "job" => "a", "instance" => "x:1"),
        labels!("__name__" => "fw_test_metric", "job" => "b", "instance" => "y:2"),
        labels!("__name__" => "fw_other", "le" => "0.5"),
    ];
    let value = |i: usize, k: i64| (k * 7 + i as i64) as f64 / 4.0;
    {
        let db = Db::open(&data, DbOptions::default()).unwrap();
        for k in 0..N {
            let mut app = db.appender();
            for (i, s) in series.iter().enumerate() {
                // The second series has a staleness marker at step 99 (inside a mapped chunk).
                let v = if i == 1 && k == 99 {
                    STALE_NAN
                } else {
                    value(i, k)
                };
                app.append(0, s, start + k * 15_000, Sample::Float(v))
                    .unwrap();
            }
            app.commit().unwrap();
        }
        db.close().unwrap();
    }
    assert!(
        std::fs::read_dir(data.join("chunks_head")).unwrap().count() > 0,
        "no head chunk files written"
    );

    let prom = db_common::Prometheus::start(&data, false, &[]);
    let url = format!(
        "/api/v1/query_range?query={}&start={}&end={}&step=15",
        db_common::urlencode("{__name__=~\"fw_.*\"}"),
        start / 1000,
        end / 1000
    );
    let body = prom.get(&url).unwrap();
    let log = prom.log_text();
    prom.stop();
    for bad in ["on-disk chunks failed", "orrupt", "level=error"] {
        assert!(!log.contains(bad), "Prometheus complained ({bad}):\n{log}");
    }
    let resp: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}\n{log}"));
    assert_eq!(resp["status"], "success", "{body}");
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
        assert_eq!(metric.len(), s.len());
        let values = r["values"].as_array().unwrap();
        // The stale sample hides one step of series 1.
        let want_len = if i == 1 { N - 1 } else { N } as usize;
        assert_eq!(values.len(), want_len, "series {s}");
        let steps = (0..N).filter(|&k| i != 1 || k != 99);
        for (k, v) in steps.zip(values) {
            let t = v[0].as_f64().unwrap() as i64 * 1000;
            assert_eq!(t, start + k * 15_000, "series {s} step {k}");
            let got: f64 = v[1].as_str().unwrap().parse().unwrap();
            assert_eq!(got, value(i, k), "series {s} at {t}");
        }
    }
}

/// Parses `promtool tsdb dump` lines: `{labels} value timestamp`.
fn parse_dump(out: &str) -> BTreeMap<String, Vec<(i64, f64)>> {
    let mut m: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for line in out.lines().filter(|l| !l.is_empty()) {
        let (labels, rest) = line.rsplit_once("} ").unwrap();
        let (v, t) = rest.split_once(' ').unwrap();
        let v: f64 = v.parse().unwrap_or_else(|_| panic!("value {v}"));
        m.entry(format!("{labels}}}"))
            .or_default()
            .push((t.parse().unwrap(), v));
    }
    for v in m.values_mut() {
        v.sort_by_key(|s| s.0);
    }
    m
}

#[test]
fn we_read_prometheus_data_dir() {
    if !testkit::peers(
        "tsdb::db_prometheus::we_read_prometheus_data_dir",
        &["prometheus", "promtool"],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let prom = db_common::Prometheus::start(&data, true, &[]);
    prom.wait_first_scrape(Duration::from_secs(6));
    prom.stop();

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

    let db = Db::open(&data, DbOptions::default()).unwrap();
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let mut got: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for s in q
        .select(
            true,
            None,
            &[Matcher::new(model::MatchOp::RegexMatch, "__name__", ".+").unwrap()],
        )
        .unwrap()
    {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == ValueType::Float {
            v.push(it.at());
        }
        got.insert(s.labels().to_string(), v);
    }
    db.close().unwrap();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    let mut samples = 0;
    for (k, w) in &want {
        let g = &got[k];
        assert_eq!(g.len(), w.len(), "series {k}");
        for (a, b) in g.iter().zip(w) {
            assert_eq!(a.0, b.0, "series {k}");
            assert!(
                a.1 == b.1 || (a.1.is_nan() && b.1.is_nan()),
                "series {k} at {}: {} vs {}",
                a.0,
                a.1,
                b.1
            );
            samples += 1;
        }
    }
    assert!(samples > 200, "only {samples} samples compared");
}
