//! Firewatch as a remote write receiver (`--web.enable-remote-write-receiver`): the real
//! Prometheus 2.42 scrapes a target and remote-writes to Firewatch, and both then hold the same
//! samples; bad requests over HTTP are refused with their reason, store nothing, and the
//! server stays up; without the flag the endpoint answers 404.

#[path = "support/scale_out.rs"]
mod support;

use support::now_secs;
use support::serve_target as serve;
use support::{query_result as query, start_firewatch, start_prometheus};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use prost::Message;
use remote::proto::{self, v2};

/// Serves (through `support::scale_out`) a small exposition whose counter grows by one per scrape.
fn serve_target() -> u16 {
    serve(|n, _| {
        format!(
            "# TYPE rw_requests_total counter\nrw_requests_total{{path=\"/a\"}} {n}\nrw_requests_total{{path=\"/b\"}} {}\n# TYPE rw_temperature gauge\nrw_temperature 21.5\n",
            2 * n
        )
    })
}

/// `POST /api/v1/write` with the given headers and binary body: status, headers, body.
fn post_write(port: u16, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "POST /api/v1/write HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[test]
fn prometheus_2_42_remote_writes_the_same_samples() {
    const TEST: &str =
        "firewatch::remote_write_receiver::prometheus_2_42_remote_writes_the_same_samples";
    let Some(prometheus) = testkit::peer_binary(TEST, "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fw = start_firewatch(
        dir.path(),
        "firewatch",
        "global:\n  scrape_interval: 1h\n",
        &["--web.enable-remote-write-receiver"],
    );
    let target = serve_target();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  external_labels:\n    sender: prom\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\nremote_write:\n  - url: http://127.0.0.1:{}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n      max_samples_per_send: 50\n",
        fw.port
    );
    let prom = start_prometheus(&prometheus, dir.path(), "prometheus", &config);
    // Compare a window that ends a few seconds in the past, so everything in it was sent.
    let selector = "{job=\"app\"}[6s]";
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let at = (now_secs() - 3.0).floor();
        let theirs = query(&prom, selector, at);
        let ours = query(&fw, selector, at);
        let theirs_n = theirs.as_array().map_or(0, Vec::len);
        // up, scrape_* (5) and the target's three series; Prometheus adds `sender` on the
        // way out, so compare with it added.
        let with_sender = |v: &serde_json::Value| {
            let mut v = v.clone();
            for s in v.as_array_mut().unwrap() {
                s["metric"]["sender"] = serde_json::json!("prom");
            }
            let mut list = v.as_array().unwrap().clone();
            list.sort_by_key(|s| s["metric"].to_string());
            list
        };
        let ours_sorted = {
            let mut l = ours.as_array().unwrap().clone();
            l.sort_by_key(|s| s["metric"].to_string());
            l
        };
        let samples: usize = ours_sorted
            .iter()
            .map(|s| s["values"].as_array().unwrap().len())
            .sum();
        // Prometheus's discovery starts scraping ~5 s after start: compare once the window
        // holds at least four scrapes of the eight series.
        if theirs_n >= 8 && samples >= 8 * 4 && with_sender(&theirs) == ours_sorted {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Firewatch's samples never matched Prometheus's:\nprometheus: {theirs}\nfirewatch: {ours}\nprometheus log:\n{}",
            prom.process.log_text()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    // Rates agree too (a PromQL view over the written counters).
    let at = (now_secs() - 3.0).floor();
    let q = "sum by (path) (increase(rw_requests_total[5s]))";
    let theirs = query(&prom, q, at);
    let ours = query(&fw, q, at);
    assert_eq!(theirs.as_array().unwrap().len(), 2, "{theirs}");
    assert_eq!(theirs, ours);
}

fn snappy(b: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(b).unwrap()
}

/// A bad request: name, headers, body, status, a part of the reason.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Vec<u8>, u16, &'a str);

#[test]
fn bad_requests_over_http_are_refused_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let fw = start_firewatch(
        dir.path(),
        "fw",
        "global:\n  scrape_interval: 1h\n",
        &["--web.enable-remote-write-receiver"],
    );
    let now = (now_secs() * 1000.0) as i64;
    let series = |name: &str| proto::TimeSeries {
        labels: vec![proto::Label {
            name: "__name__".into(),
            value: name.into(),
        }],
        samples: vec![proto::Sample {
            value: 4.0,
            timestamp: now,
        }],
        ..Default::default()
    };
    let v1 = proto::WriteRequest {
        timeseries: vec![series("http_rw_bad")],
        metadata: vec![],
    }
    .encode_to_vec();
    let good = snappy(&v1);
    let bad_refs = v2::Request {
        symbols: vec![String::new(), "__name__".into(), "http_rw_bad".into()],
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 7],
            samples: vec![proto::Sample {
                value: 1.0,
                timestamp: now,
            }],
            ..Default::default()
        }],
    };
    let proto_v1 = [("Content-Type", "application/x-protobuf")];
    let proto_v2 = [(
        "Content-Type",
        "application/x-protobuf;proto=io.prometheus.write.v2.Request",
    )];
    let cases: [Case; 4] = [
        (
            "truncated snappy",
            &proto_v1,
            good[..good.len() / 2].to_vec(),
            400,
            "snappy",
        ),
        (
            "wrong protobuf",
            &proto_v1,
            snappy(b"\x12\x05ab"),
            400,
            "prometheus.WriteRequest",
        ),
        (
            "out-of-range symbol",
            &proto_v2,
            snappy(&bad_refs.encode_to_vec()),
            400,
            "symbol reference 7 out of range",
        ),
        (
            "unknown content type",
            &[("Content-Type", "text/plain")],
            good.clone(),
            415,
            "unsupported content type",
        ),
    ];
    for (name, headers, body, status, reason) in cases {
        let (s, _, text) = post_write(fw.port, headers, &body);
        assert_eq!(s, status, "{name}: {text}");
        assert!(text.contains(reason), "{name}: {text:?} lacks {reason:?}");
    }
    assert!(fw.get("/-/ready").is_ok_and(|r| r.status == 200));
    assert_eq!(
        query(&fw, "http_rw_bad", now_secs()),
        serde_json::json!([]),
        "a refused request stored something"
    );

    // A good 2.0 request answers with the written counts and is queryable.
    let mut good_v2 = bad_refs.clone();
    good_v2.timeseries[0].labels_refs = vec![1, 2];
    let (s, head, text) = post_write(fw.port, &proto_v2, &snappy(&good_v2.encode_to_vec()));
    assert_eq!(s, 204, "{text}");
    assert!(
        head.contains("x-prometheus-remote-write-samples-written: 1"),
        "{head}"
    );
    assert!(
        head.contains("x-prometheus-remote-write-histograms-written: 0"),
        "{head}"
    );
    assert!(
        head.contains("x-prometheus-remote-write-exemplars-written: 0"),
        "{head}"
    );
    let r = query(&fw, "http_rw_bad", now_secs());
    assert_eq!(r[0]["value"][1], "1", "{r}");
}

#[test]
fn the_receiver_is_off_without_its_flag() {
    let dir = tempfile::tempdir().unwrap();
    let fw = start_firewatch(dir.path(), "fw", "global:\n  scrape_interval: 1h\n", &[]);
    let (s, _, text) = post_write(fw.port, &[], &snappy(b""));
    assert_eq!(s, 404, "{text}");
    assert!(
        text.contains("--web.enable-remote-write-receiver"),
        "{text}"
    );
}
