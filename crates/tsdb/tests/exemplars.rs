//! Exemplars and series metadata: kept by the head, logged to the WAL and replayed, and
//! exchanged with the real Prometheus 2.42 both ways (`--enable-feature=exemplar-storage`,
//! and Prometheus 2.42 replays a WAL holding our metadata records).

mod db_common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use firewatch_tsdb::{Db, DbOptions};
use model::exposition::MetricType;
use model::{Labels, MatchOp, Matcher, Sample, labels};
use storage::{Exemplar, ExemplarQueryable, Metadata};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn opts() -> DbOptions {
    DbOptions {
        max_exemplars: 1000,
        ..DbOptions::default()
    }
}

fn all() -> Vec<Vec<Matcher>> {
    vec![vec![
        Matcher::new(MatchOp::RegexMatch, "__name__", ".+").unwrap(),
    ]]
}

fn ex(trace: &str, value: f64, ts: i64) -> Exemplar {
    Exemplar {
        labels: labels!("trace_id" => trace),
        value,
        ts,
        has_ts: true,
    }
}

/// (series, trace labels, value bits, timestamp) of every exemplar.
fn flatten(db: &Db, start: i64, end: i64) -> BTreeSet<(String, String, u64, i64)> {
    db.select_exemplars(start, end, &all())
        .unwrap()
        .into_iter()
        .flat_map(|s| {
            let series = s.series_labels.to_string();
            s.exemplars.into_iter().map(move |e| {
                (
                    series.clone(),
                    e.labels.to_string(),
                    e.value.to_bits(),
                    e.ts,
                )
            })
        })
        .collect()
}

#[test]
fn exemplars_and_metadata_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let a = labels!("__name__" => "req_total", "job" => "x");
    let b = labels!("__name__" => "lat_seconds_bucket", "le" => "0.5");
    let meta = Metadata {
        typ: MetricType::Counter,
        unit: String::new(),
        help: "Requests.".into(),
    };
    let before;
    {
        let db = Db::open(tmp.path(), opts()).unwrap();
        let mut app = db.appender();
        for k in 0..5i64 {
            let r = app
                .append(0, &a, 1000 * k, Sample::Float(k as f64))
                .unwrap();
            app.append_exemplar(r, &a, &ex(&format!("a{k}"), k as f64, 1000 * k))
                .unwrap();
            let r = app.append(0, &b, 1000 * k, Sample::Float(1.0)).unwrap();
            if k % 2 == 0 {
                app.append_exemplar(r, &b, &ex(&format!("b{k}"), 0.25, 1000 * k + 1))
                    .unwrap();
            }
            app.update_metadata(r, &b, &Metadata::default()).unwrap();
            let r = app.append(0, &a, 1000 * k + 1, Sample::Float(0.0)).unwrap();
            app.update_metadata(r, &a, &meta).unwrap();
            app.commit().unwrap();
        }
        // An out-of-order exemplar is refused with Prometheus's error; a repeat is dropped.
        let r = app.append(0, &a, 9000, Sample::Float(9.0)).unwrap();
        let err = app.append_exemplar(r, &a, &ex("old", 1.0, 10)).unwrap_err();
        assert_eq!(err.to_string(), "out of order exemplar");
        app.append_exemplar(r, &a, &ex("a4", 4.0, 4000)).unwrap();
        app.commit().unwrap();
        // A rolled-back exemplar is not kept.
        app.append_exemplar(r, &a, &ex("gone", 1.0, 9500)).unwrap();
        app.rollback().unwrap();
        before = flatten(&db, i64::MIN, i64::MAX);
        assert_eq!(before.len(), 8, "{before:?}");
        assert_eq!(db.head().exemplars.series_with_exemplars(), 2);
        // Time range: only exemplars with 1000 <= ts <= 2001.
        let ranged = flatten(&db, 1000, 2001);
        assert_eq!(
            ranged.iter().map(|e| e.3).collect::<Vec<_>>(),
            vec![2001, 1000, 2000]
        );
        db.close().unwrap();
    }
    let db = Db::open(tmp.path(), opts()).unwrap();
    assert_eq!(flatten(&db, i64::MIN, i64::MAX), before);
    let head = db.head();
    assert_eq!(head.metadata(head.series_ref(&a).unwrap()), Some(meta));
    assert_eq!(
        head.metadata(head.series_ref(&b).unwrap()),
        Some(Metadata::default())
    );
    db.close().unwrap();
    // With exemplar storage off nothing is kept or replayed.
    let db = Db::open(tmp.path(), DbOptions::default()).unwrap();
    assert!(
        db.select_exemplars(i64::MIN, i64::MAX, &all())
            .unwrap()
            .is_empty()
    );
    db.close().unwrap();
}

/// The exposition the test target serves: a counter with an exemplar per scrape for the first
/// `fresh` scrapes (then the same one again, which Prometheus drops as a repeat) and a gauge
/// with a unit.
fn exposition(n: usize, base: i64) -> String {
    const FRESH: usize = 6;
    let k = n.min(FRESH - 1) as i64;
    let ts = base + k * 1000 + 123;
    format!(
        "# TYPE fw_jobs counter\n# HELP fw_jobs Jobs done.\n\
         fw_jobs_total{{kind=\"a\"}} {k} # {{trace_id=\"t{k}\",span=\"s\"}} {}.5 {}.{:03}\n\
         # TYPE fw_temp_celsius gauge\n# UNIT fw_temp_celsius celsius\n\
         # HELP fw_temp_celsius Temperature of the room.\n\
         fw_temp_celsius 21.5\n# EOF\n",
        k,
        ts / 1000,
        ts % 1000
    )
}

fn prom_exemplars(prom: &db_common::Prometheus, start: i64, end: i64) -> serde_json::Value {
    let body = prom
        .get(&format!(
            "/api/v1/query_exemplars?query={}&start={}&end={}",
            db_common::urlencode("{__name__=~\"fw_.+\"}"),
            start / 1000,
            end / 1000 + 1
        ))
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(v["status"], "success", "{body}");
    v
}

/// (series, exemplar labels, value bits, ms) from Prometheus's answer.
fn prom_flatten(v: &serde_json::Value) -> BTreeSet<(String, String, u64, i64)> {
    let mut out = BTreeSet::new();
    for s in v["data"].as_array().unwrap() {
        let labels = |o: &serde_json::Value| {
            Labels::from_pairs(
                o.as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())),
            )
        };
        let series = labels(&s["seriesLabels"]).to_string();
        for e in s["exemplars"].as_array().unwrap() {
            let value: f64 = e["value"].as_str().unwrap().parse().unwrap();
            let ts = (e["timestamp"].as_f64().unwrap() * 1000.0).round() as i64;
            out.insert((
                series.clone(),
                labels(&e["labels"]).to_string(),
                value.to_bits(),
                ts,
            ));
        }
    }
    out
}

#[test]
fn we_read_exemplars_and_metadata_prometheus_wrote() {
    if !testkit::peers(
        "tsdb::exemplars::we_read_exemplars_and_metadata_prometheus_wrote",
        &["prometheus"],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let base = (now_ms() / 1000 - 30) * 1000;
    let target = db_common::Target::start(
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        move |n| exposition(n, base),
    );
    let tport = target.port;
    let prom = db_common::Prometheus::start_with(
        &data,
        &["--enable-feature=exemplar-storage"],
        |_| {
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: t\n    static_configs:\n      - targets: ['127.0.0.1:{tport}']\n"
            )
        },
    );
    // Wait for all six distinct exemplars, then a few more scrapes (repeats, not stored).
    let deadline = Instant::now() + Duration::from_secs(60);
    let want = loop {
        let got = prom_flatten(&prom_exemplars(&prom, base - 1000, base + 60_000));
        if got.len() >= 6 {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus has {got:?}\n{}",
            prom.log_text()
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    std::thread::sleep(Duration::from_secs(2));
    let want_after = prom_flatten(&prom_exemplars(&prom, base - 1000, base + 60_000));
    assert_eq!(want, want_after, "Prometheus stored repeats");
    prom.stop();
    drop(target);
    assert_eq!(want.len(), 6);

    let db = Db::open(&data, opts()).unwrap();
    let got = flatten(&db, i64::MIN, i64::MAX);
    assert_eq!(got, want);
    // Prometheus 2.42 writes no metadata records (`metadata-wal-records` came later), so
    // none are replayed.
    let gauge = labels!("__name__" => "fw_temp_celsius", "instance" => &*format!("127.0.0.1:{tport}"), "job" => "t");
    let head = db.head();
    assert_eq!(
        head.metadata(head.series_ref(&gauge).expect("gauge series replayed")),
        None
    );
    db.close().unwrap();
}

#[test]
fn prometheus_reads_our_exemplars() {
    if !testkit::peers(
        "tsdb::exemplars::prometheus_reads_our_exemplars",
        &["prometheus"],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let base = (now_ms() / 1000 - 120) * 1000;
    let series = [
        labels!("__name__" => "fw_a_total", "job" => "j"),
        labels!("__name__" => "fw_b_bucket", "job" => "j", "le" => "+Inf"),
    ];
    let want;
    {
        let db = Db::open(&data, opts()).unwrap();
        let mut app = db.appender();
        for k in 0..20i64 {
            for (i, s) in series.iter().enumerate() {
                let t = base + k * 5000;
                let r = app.append(0, s, t, Sample::Float(k as f64)).unwrap();
                let help = format!("help {k}");
                app.update_metadata(
                    r,
                    s,
                    &Metadata {
                        typ: MetricType::Counter,
                        unit: String::new(),
                        help,
                    },
                )
                .unwrap();
                if (k + i as i64) % 3 == 0 {
                    let e = Exemplar {
                        labels: labels!("trace_id" => &*format!("{i}-{k}")),
                        value: k as f64 * 0.5,
                        ts: t - 7,
                        has_ts: true,
                    };
                    app.append_exemplar(r, s, &e).unwrap();
                }
            }
            app.commit().unwrap();
        }
        want = flatten(&db, i64::MIN, i64::MAX);
        assert_eq!(want.len(), 13);
        db.close().unwrap();
    }
    let prom = db_common::Prometheus::start(&data, false, &["--enable-feature=exemplar-storage"]);
    let got = prom_flatten(&prom_exemplars(&prom, base - 60_000, base + 200_000));
    let samples = prom
        .get(&format!(
            "/api/v1/query?query={}&time={}",
            db_common::urlencode("count_over_time({__name__=~\"fw_.+\"}[10m])"),
            base / 1000 + 100
        ))
        .unwrap();
    let log = prom.log_text();
    prom.stop();
    assert_eq!(got, want);
    // Every sample after the metadata records was replayed too: 20 per series.
    assert_eq!(samples.matches("\"20\"]").count(), 2, "{samples}");
    for bad in ["orrupt", "level=error"] {
        assert!(!log.contains(bad), "Prometheus complained ({bad}):\n{log}");
    }
}
