//! The out-of-order window: samples older than the head's newest but within
//! `out_of_order_time_window` are accepted, queried with in-order ones, survive a restart
//! (write-behind log and OOO head chunks) and are compacted into blocks; Prometheus 2.42
//! opens a directory holding our WBL and OOO chunks.

mod db_common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use firewatch_tsdb::{Db, DbOptions};
use model::{Sample, labels};

const MIN: i64 = 60_000;

fn opts() -> DbOptions {
    DbOptions {
        out_of_order_time_window: 30 * MIN,
        out_of_order_cap_max: 4,
        ..DbOptions::default()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Opens `dir`, retrying while the lock is briefly held: a `prometheus` spawned by a test
/// running alongside inherits our descriptors between its fork and exec.
fn open(dir: &std::path::Path) -> Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match Db::open(dir, opts()) {
            Ok(db) => return db,
            Err(e) if std::time::Instant::now() < deadline && e.to_string().contains("lock") => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// Every float sample by series.
fn dump(db: &Db) -> BTreeMap<String, Vec<(i64, f64)>> {
    db_common::dump_floats(db, "ooo")
}

/// In-order samples every minute over an hour ending at `end`, then out-of-order ones at the
/// half minutes of its last 25 minutes (some repeated); returns what the series must hold.
fn fill(db: &Db, end: i64) -> BTreeMap<String, Vec<(i64, f64)>> {
    let series = [
        labels!("__name__" => "fw_ooo", "job" => "ooo", "i" => "0"),
        labels!("__name__" => "fw_ooo", "job" => "ooo", "i" => "1"),
    ];
    let start = end - 60 * MIN;
    let mut want: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    let mut app = db.appender();
    for k in 0..=60 {
        for (i, s) in series.iter().enumerate() {
            let t = start + k * MIN;
            let v = (k * 10 + i as i64) as f64;
            app.append(0, s, t, Sample::Float(v)).unwrap();
            want.entry(s.to_string()).or_default().push((t, v));
        }
        app.commit().unwrap();
    }
    for k in (35..60).rev() {
        for (i, s) in series.iter().enumerate() {
            let t = start + k * MIN + 30_000;
            let v = -(k as f64) - i as f64 / 2.0;
            app.append(0, s, t, Sample::Float(v)).unwrap();
            // A repeat of an out-of-order timestamp is dropped silently.
            app.append(0, s, t, Sample::Float(v)).unwrap();
            want.entry(s.to_string()).or_default().push((t, v));
        }
        app.commit().unwrap();
    }
    for v in want.values_mut() {
        v.sort_by_key(|s| s.0);
    }
    want
}

#[test]
fn out_of_order_window_accepts_replays_and_compacts() {
    let tmp = tempfile::tempdir().unwrap();
    let end = 10 * 24 * 60 * MIN;
    let want;
    {
        let db = open(tmp.path());
        want = fill(&db, end);
        assert_eq!(dump(&db), want);
        let s = labels!("__name__" => "fw_ooo", "job" => "ooo", "i" => "0");
        let mut app = db.appender();
        let err = app
            .append(0, &s, end - 31 * MIN, Sample::Float(1.0))
            .unwrap_err();
        assert_eq!(err.to_string(), "too old sample");
        let h = Arc::new(model::Histogram::default());
        let hs = labels!("__name__" => "fw_h", "job" => "ooo");
        app.append(0, &hs, end, Sample::Histogram(h.clone()))
            .unwrap();
        app.commit().unwrap();
        let err = app
            .append(0, &hs, end - MIN, Sample::Histogram(h))
            .unwrap_err();
        assert_eq!(err.to_string(), "out of order sample");
        app.rollback().unwrap();
        db.close().unwrap();
    }
    assert!(
        std::fs::read_dir(tmp.path().join("wbl")).unwrap().count() > 0,
        "no WBL segment"
    );
    let db = open(tmp.path());
    let mut got = dump(&db);
    got.remove("{__name__=\"fw_h\", job=\"ooo\"}");
    assert_eq!(got, want, "after replay");
    // Two more hours of in-order data make the head compact; the out-of-order samples go
    // into blocks with it.
    let mut app = db.appender();
    let s = labels!("__name__" => "fw_ooo", "job" => "ooo", "i" => "0");
    for k in 1..=150 {
        app.append(0, &s, end + k * MIN, Sample::Float(0.5))
            .unwrap();
        app.commit().unwrap();
    }
    db.compact().unwrap();
    assert!(!db.blocks().is_empty(), "nothing compacted");
    let mut want_after = want.clone();
    want_after
        .get_mut(&s.to_string())
        .unwrap()
        .extend((1..=150).map(|k| (end + k * MIN, 0.5)));
    let mut got = dump(&db);
    got.remove("{__name__=\"fw_h\", job=\"ooo\"}");
    assert_eq!(got, want_after, "after compaction");
    // The out-of-order data now lives only in blocks: a restart must not double it.
    db.close().unwrap();
    let db = open(tmp.path());
    let mut got = dump(&db);
    got.remove("{__name__=\"fw_h\", job=\"ooo\"}");
    assert_eq!(got, want_after, "after compaction and restart");
    db.close().unwrap();
}

#[test]
fn without_window_old_samples_are_refused_as_prometheus_does() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path(), DbOptions::default()).unwrap();
    let s = labels!("__name__" => "x");
    let mut app = db.appender();
    app.append(0, &s, 4 * 60 * MIN, Sample::Float(1.0)).unwrap();
    app.commit().unwrap();
    let err = app
        .append(0, &s, 4 * 60 * MIN - MIN, Sample::Float(1.0))
        .unwrap_err();
    assert_eq!(err.to_string(), "out of order sample");
    let err = app.append(0, &s, 0, Sample::Float(1.0)).unwrap_err();
    assert_eq!(err.to_string(), "out of bounds");
    db.close().unwrap();
    assert!(!tmp.path().join("wbl").exists());
}

#[test]
fn prometheus_reads_our_out_of_order_samples() {
    if !testkit::peers(
        "tsdb::ooo::prometheus_reads_our_out_of_order_samples",
        &["prometheus"],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let end = (now_ms() / MIN - 2) * MIN;
    let want;
    {
        let db = open(&data);
        want = fill(&db, end);
        db.close().unwrap();
    }
    let prom = db_common::Prometheus::start_with(&data, &[], |_| {
        "global:\n  scrape_interval: 1m\nstorage:\n  tsdb:\n    out_of_order_time_window: 30m\n"
            .to_owned()
    });
    let body = prom
        .get(&format!(
            "/api/v1/query?query={}&time={}",
            db_common::urlencode("fw_ooo[2h]"),
            end / 1000
        ))
        .unwrap();
    let log = prom.log_text();
    prom.stop();
    for bad in ["orrupt", "level=error"] {
        assert!(!log.contains(bad), "Prometheus complained ({bad}):\n{log}");
    }
    let v: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let mut got: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for r in v["data"]["result"].as_array().unwrap() {
        let m = r["metric"].as_object().unwrap();
        let key = model::Labels::from_pairs(
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())),
        )
        .to_string();
        let samples = r["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    (p[0].as_f64().unwrap() * 1000.0).round() as i64,
                    p[1].as_str().unwrap().parse::<f64>().unwrap(),
                )
            })
            .collect();
        got.insert(key, samples);
    }
    // Prometheus's range selector leaves out the sample exactly at `end - 2h`; there is none.
    assert_eq!(got, want, "{body}");
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes_field(out: &mut Vec<u8>, field: u64, b: &[u8]) {
    put_varint(out, field << 3 | 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A remote-write `WriteRequest` (protobuf, encoded by hand) of one series.
fn write_request(labels: &model::Labels, samples: &[(i64, f64)]) -> Vec<u8> {
    let mut ts = Vec::new();
    for l in labels {
        let mut lb = Vec::new();
        put_bytes_field(&mut lb, 1, l.name.as_bytes());
        put_bytes_field(&mut lb, 2, l.value.as_bytes());
        put_bytes_field(&mut ts, 1, &lb);
    }
    for &(t, v) in samples {
        let mut sb = vec![1 << 3 | 1];
        sb.extend_from_slice(&v.to_le_bytes());
        put_varint(&mut sb, 2 << 3);
        put_varint(&mut sb, t as u64);
        put_bytes_field(&mut ts, 2, &sb);
    }
    let mut req = Vec::new();
    put_bytes_field(&mut req, 1, &ts);
    req
}

/// POSTs a snappy-compressed write request; the status line.
fn remote_write(port: u16, body: &[u8]) -> String {
    use std::io::{Read, Write};
    let body = snap::raw::Encoder::new().compress_vec(body).unwrap();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "POST /api/v1/write HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(&body).unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn we_read_out_of_order_samples_prometheus_wrote() {
    if !testkit::peers(
        "tsdb::ooo::we_read_out_of_order_samples_prometheus_wrote",
        &["prometheus"],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let end = (now_ms() / MIN - 2) * MIN;
    let start = end - 60 * MIN;
    let prom =
        db_common::Prometheus::start_with(&data, &["--web.enable-remote-write-receiver"], |_| {
            "global:\n  scrape_interval: 1m\nstorage:\n  tsdb:\n    out_of_order_time_window: 30m\n"
                .to_owned()
        });
    let series = labels!("__name__" => "fw_rw", "job" => "ooo");
    let in_order: Vec<(i64, f64)> = (0..=60).map(|k| (start + k * MIN, k as f64)).collect();
    let status = remote_write(prom.port, &write_request(&series, &in_order));
    assert!(status.contains(" 204"), "{status}\n{}", prom.log_text());
    // 50 out-of-order samples, one request each, newest first: more than one OOO chunk.
    let mut want = in_order.clone();
    for k in (10..60).rev() {
        let s = (start + 30 * MIN + k * 30_000 + 15_000, -(k as f64));
        let status = remote_write(prom.port, &write_request(&series, &[s]));
        assert!(status.contains(" 204"), "{status}\n{}", prom.log_text());
        want.push(s);
    }
    want.sort_by_key(|s| s.0);
    let body = prom
        .get(&format!(
            "/api/v1/query?query={}&time={}",
            db_common::urlencode("fw_rw[2h]"),
            end / 1000
        ))
        .unwrap();
    prom.stop();
    let v: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let prom_samples: Vec<(i64, f64)> = v["data"]["result"][0]["values"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|p| {
            (
                (p[0].as_f64().unwrap() * 1000.0).round() as i64,
                p[1].as_str().unwrap().parse::<f64>().unwrap(),
            )
        })
        .collect();
    assert_eq!(prom_samples, want, "Prometheus did not take every sample");
    assert!(
        std::fs::read_dir(data.join("wbl")).unwrap().count() > 0,
        "Prometheus wrote no WBL"
    );
    let db = open(&data);
    let got = dump(&db);
    db.close().unwrap();
    assert_eq!(got.get(&series.to_string()), Some(&want));
}
