//! The real `firewatch server` with its data directory on a small tmpfs that fills up while it
//! takes remote writes (issue 16, item 2): writes are refused with a 5xx (the sender retries),
//! `prometheus_tsdb_wal_writes_failed_total` counts them on `/metrics`, the log says why,
//! queries keep answering every acknowledged sample, the process stays up, writes resume when
//! space returns, and after a restart every acknowledged sample is there.

use prost::Message;
use remote::proto;
use testkit::tmpfs::Tmpfs;
use testkit::{Server, urlencode};

const TEST: &str =
    "firewatch::disk_full_server::full_disk_pauses_remote_write_and_keeps_what_was_acknowledged";
const T0: i64 = 1_700_000_000_000;
const STEP: i64 = 10_000;
const SERIES: usize = 200;

/// Request `n`: one sample per series at `T0 + n * STEP` with value `n`.
fn request(n: u64) -> Vec<u8> {
    let t = T0 + n as i64 * STEP;
    let timeseries = (0..SERIES)
        .map(|i| proto::TimeSeries {
            labels: vec![
                proto::Label {
                    name: "__name__".into(),
                    value: "disk_full".into(),
                },
                proto::Label {
                    name: "i".into(),
                    value: format!("{i:04}-{}", "x".repeat(40)),
                },
            ],
            samples: vec![proto::Sample {
                value: n as f64,
                timestamp: t,
            }],
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

/// The request numbers every series holds (asserting all series hold the same ones, with
/// the request number as value).
fn stored(port: u16, last: u64) -> Vec<u64> {
    let q = format!("disk_full[{}s]", 24 * 3600);
    let at = (T0 + last as i64 * STEP) as f64 / 1000.0;
    let r = testkit::http(
        port,
        "GET",
        &format!("/api/v1/query?query={}&time={at}", urlencode(&q)),
        None,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let result = v["data"]["result"].as_array().unwrap();
    let mut first: Option<Vec<u64>> = None;
    for s in result {
        let ns: Vec<u64> = s["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let n = ((p[0].as_f64().unwrap() * 1000.0).round() as i64 - T0) / STEP;
                let v: f64 = p[1].as_str().unwrap().parse().unwrap();
                assert_eq!(v, n as f64, "value of request {n}");
                n as u64
            })
            .collect();
        match &first {
            None => first = Some(ns),
            Some(f) => assert_eq!(f, &ns, "series {}", s["metric"]["i"]),
        }
    }
    assert_eq!(result.len(), SERIES, "series answered");
    first.unwrap_or_default()
}

fn metric(fw: &Server, name: &str) -> f64 {
    let r = fw.get("/metrics").unwrap();
    r.body
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics"))
}

#[test]
fn full_disk_pauses_remote_write_and_keeps_what_was_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(TEST, &tmp.path().join("data"), 32 << 20) else {
        return;
    };
    let work = tmp.path().join("work");
    let data = fs.path().join("tsdb");
    let config = "global:\n  scrape_interval: 1h\n";
    let flags = ["--web.enable-remote-write-receiver"];
    let fw = Server::start(
        env!("CARGO_BIN_EXE_firewatch"),
        &["server"],
        &work,
        &data,
        config,
        &flags,
    );
    let mut acked = Vec::new();
    let mut n = 0u64;
    for _ in 0..20 {
        assert_eq!(
            testkit::post_remote_write(fw.port, &request(n)).unwrap_or(0),
            204,
            "request {n}"
        );
        acked.push(n);
        n += 1;
    }
    let filler = fs.fill(0);
    let mut refused = Vec::new();
    while refused.len() < 5 {
        assert!(n < 10_000, "the disk never filled");
        match testkit::post_remote_write(fw.port, &request(n)).unwrap_or(0) {
            204 => acked.push(n),
            code => {
                assert!((500..600).contains(&code), "request {n} answered {code}");
                refused.push(n);
            }
        }
        n += 1;
    }
    assert!(
        metric(&fw, "prometheus_tsdb_wal_writes_failed_total") >= 5.0,
        "the failures are counted"
    );
    let log = fw.process.log_text();
    assert!(
        log.contains("WAL write failed") && log.contains("No space left"),
        "log:\n{log}"
    );
    assert_eq!(
        stored(fw.port, n),
        acked,
        "queries answer what was acknowledged"
    );
    filler.release();
    for _ in 0..5 {
        assert_eq!(
            testkit::post_remote_write(fw.port, &request(n)).unwrap_or(0),
            204,
            "request {n} after space returned"
        );
        acked.push(n);
        n += 1;
    }
    assert!(log_after(&fw, "WAL writes succeed again"));
    drop(fw);
    let fw = Server::start(
        env!("CARGO_BIN_EXE_firewatch"),
        &["server"],
        &work,
        &data,
        config,
        &flags,
    );
    assert_eq!(
        stored(fw.port, n),
        acked,
        "after a restart every acknowledged sample is there (refused: {refused:?})"
    );
    drop(fw);
    drop(fs);
}

fn log_after(fw: &Server, what: &str) -> bool {
    fw.process.log_text().contains(what)
}
