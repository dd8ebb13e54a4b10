//! The `remote_read` client against the real Prometheus 2.42: its request lists the streamed
//! XOR chunks response first and the sampled one second; Prometheus answers streamed frames,
//! which decode to exactly the samples the sampled answer holds and that were written (floats
//! over several chunks, native histograms, cut to the query's range); [`ReadStorage`] serves
//! them merged into queries; and a server that only answers sampled responses is read as well.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use firewatch_remote::read_client::decode_answer;
use firewatch_remote::{ReadStorage, proto};
use model::{Histogram, MatchOp, Matcher, Sample, Span};
use parking_lot::Mutex;
use prost::Message;
use storage::{Queryable, ValueType};
use testkit::Server;

const TEST: &str =
    "firewatch-remote::read_client::streamed_answers_of_prometheus_2_42_decode_to_what_was_written";
const STEP: i64 = 10_000;
const FLOATS: i64 = 400;
const HISTOGRAMS: i64 = 150;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The histogram written at step `i`: 1 in the zero bucket, `i + 1` and `i + 2` in buckets
/// 0 and 1 (schema 0).
fn histogram(i: i64) -> Histogram {
    let i = i as u64;
    Histogram {
        schema: 0,
        zero_threshold: 0.001,
        zero_count: 1,
        count: 1 + (i + 1) + (i + 2),
        sum: i as f64 * 1.5,
        positive_spans: vec![Span {
            offset: 0,
            length: 2,
        }],
        positive_buckets: vec![i as i64 + 1, 1],
        ..Histogram::default()
    }
}

fn label(name: &str, value: &str) -> proto::Label {
    proto::Label {
        name: name.into(),
        value: value.into(),
    }
}

/// Three float series `rc_float{i}` (value = step index + i) and one histogram series
/// `rc_hist`, from `t0` every 10 s.
fn write_request(t0: i64) -> Vec<u8> {
    let mut timeseries: Vec<proto::TimeSeries> = (0..3)
        .map(|i| proto::TimeSeries {
            labels: vec![label("__name__", "rc_float"), label("i", &i.to_string())],
            samples: (0..FLOATS)
                .map(|n| proto::Sample {
                    value: (n + i) as f64,
                    timestamp: t0 + n * STEP,
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    timeseries.push(proto::TimeSeries {
        labels: vec![label("__name__", "rc_hist")],
        histograms: (0..HISTOGRAMS)
            .map(|n| firewatch_remote::codec::histogram_to_proto(t0 + n * STEP, &histogram(n)))
            .collect(),
        ..Default::default()
    });
    let body = proto::WriteRequest {
        timeseries,
        metadata: vec![],
    }
    .encode_to_vec();
    snap::raw::Encoder::new().compress_vec(&body).unwrap()
}

/// POSTs `body` with `headers` over HTTP/1.0; status, `Content-Type` and body.
fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!("POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, content_type, raw[split + 4..].to_vec())
}

fn read_request(start: i64, end: i64, types: Vec<i32>) -> Vec<u8> {
    let req = proto::ReadRequest {
        queries: vec![proto::Query {
            start_timestamp_ms: start,
            end_timestamp_ms: end,
            matchers: vec![proto::LabelMatcher {
                r#type: 2,
                name: "__name__".into(),
                value: "rc_.*".into(),
            }],
            hints: None,
        }],
        accepted_response_types: types,
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

fn read(port: u16, start: i64, end: i64, types: Vec<i32>) -> (String, Vec<u8>) {
    let (status, ct, body) = post(
        port,
        "/api/v1/read",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Read-Version", "0.1.0"),
        ],
        &read_request(start, end, types),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    (ct, body)
}

/// One line per sample: labels, time, value (histograms by count, sum, zero and bucket counts;
/// the counter reset hint is chunk layout, not data).
fn show(series: &[(model::Labels, Vec<(i64, Sample)>)]) -> Vec<String> {
    let mut out = Vec::new();
    for (l, samples) in series {
        for (t, s) in samples {
            out.push(match s {
                Sample::Float(v) => format!("{l} {t} {v}"),
                Sample::Histogram(h) => format!(
                    "{l} {t} count={} sum={} zero={} spans={:?} buckets={:?}",
                    h.count, h.sum, h.zero_count, h.positive_spans, h.positive_buckets
                ),
                Sample::FloatHistogram(h) => format!("{l} {t} float histogram {h:?}"),
            });
        }
    }
    out
}

/// What was written in `[start, end]`, as [`show`] prints it.
fn expected(t0: i64, start: i64, end: i64) -> Vec<String> {
    let mut out = Vec::new();
    let hist = model::Labels::from_pairs([("__name__", "rc_hist")]);
    for n in 0..HISTOGRAMS {
        let t = t0 + n * STEP;
        if (start..=end).contains(&t) {
            let h = histogram(n);
            out.push(format!(
                "{hist} {t} count={} sum={} zero={} spans={:?} buckets={:?}",
                h.count, h.sum, h.zero_count, h.positive_spans, h.positive_buckets
            ));
        }
    }
    for i in 0..3 {
        let l = model::Labels::from_pairs([("__name__", "rc_float"), ("i", &i.to_string())]);
        for n in 0..FLOATS {
            let t = t0 + n * STEP;
            if (start..=end).contains(&t) {
                out.push(format!("{l} {t} {}", (n + i) as f64));
            }
        }
    }
    out.sort();
    out
}

/// Equal lists, or a failure naming the counts and the first difference.
fn assert_same(got: &[String], want: &[String], what: &str) {
    if got != want {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: {} lines, expected {}; first difference at {first:?}: {:?} vs {:?}",
            got.len(),
            want.len(),
            first.map(|i| &got[i]),
            first.map(|i| &want[i]),
        );
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The samples [`ReadStorage`] (an empty local TSDB plus `remote_read` to `url`) selects for
/// `rc_.*` in `[start, end]`.
fn through_read_storage(url: &str, start: i64, end: i64) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(tsdb::Db::open(dir.path(), tsdb::DbOptions::default()).unwrap());
    let storage = ReadStorage::new(
        db.clone(),
        Arc::new(|| i64::MAX),
        rt.handle().clone(),
        &metrics::Registry::new(),
    );
    let cfg = config::Config::from_yaml_str(
        &format!("remote_read:\n  - url: {url}\n    read_recent: true\n"),
        dir.path(),
    )
    .unwrap();
    storage.apply_config(&cfg).unwrap();
    let q = storage.querier(start, end).unwrap();
    let m = Matcher::new(MatchOp::RegexMatch, "__name__", "rc_.*").unwrap();
    let mut out = Vec::new();
    for s in q.select(true, None, &[m]).unwrap() {
        let s = s.unwrap();
        let mut samples = Vec::new();
        let mut it = s.iter();
        let mut vt = it.seek(start);
        while vt != ValueType::None && it.at_t() <= end {
            samples.push(match vt {
                ValueType::Float => (it.at_t(), Sample::Float(it.at().1)),
                ValueType::Histogram => {
                    (it.at_t(), Sample::Histogram(Arc::new(it.at_histogram().1)))
                }
                _ => (
                    it.at_t(),
                    Sample::FloatHistogram(Arc::new(it.at_float_histogram().1)),
                ),
            });
            vt = it.next();
        }
        out.extend(show(&[(s.labels().clone(), samples)]));
    }
    sorted(out)
}

#[test]
fn streamed_answers_of_prometheus_2_42_decode_to_what_was_written() {
    let Some(prometheus) = testkit::peer_binary(TEST, "prometheus") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let prom = Server::start(
        prometheus.to_str().unwrap(),
        &[],
        &tmp.path().join("prometheus"),
        &tmp.path().join("prometheus/data"),
        "global:\n  scrape_interval: 1h\n",
        &[
            "--web.enable-remote-write-receiver",
            "--enable-feature=native-histograms",
        ],
    );
    let t0 = (now_ms() - 80 * 60 * 1000) / STEP * STEP;
    let (status, _, body) = post(
        prom.port,
        "/api/v1/write",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ],
        &write_request(t0),
    );
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));
    // A range starting and ending inside chunks (120 samples each).
    let (start, end) = (t0 + 37 * STEP + 1, t0 + 333 * STEP);
    let want = expected(t0, start, end);
    assert_eq!(want.len(), 3 * 296 + (150 - 38));

    let (ct, streamed) = read(prom.port, start, end, vec![1, 0]);
    assert_eq!(
        ct,
        "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"
    );
    let from_streamed = sorted(show(&decode_answer(&ct, &streamed, start, end).unwrap()));
    let (ct, sampled) = read(prom.port, start, end, vec![0]);
    assert_eq!(ct, "application/x-protobuf");
    let from_sampled = sorted(show(&decode_answer(&ct, &sampled, start, end).unwrap()));
    // Prometheus 2.42's sampled answer leaves native histograms out; its chunks carry them.
    let floats: Vec<String> = want
        .iter()
        .filter(|l| l.contains("rc_float"))
        .cloned()
        .collect();
    assert_same(&from_sampled, &floats, "sampled answer");
    assert_same(&from_streamed, &want, "streamed answer");

    let url = format!("http://127.0.0.1:{}/api/v1/read", prom.port);
    assert_same(
        &through_read_storage(&url, start, end),
        &want,
        "ReadStorage",
    );
}

/// A remote read endpoint that only speaks the sampled response (as older servers): records
/// the response types each request accepts and answers `answer`.
fn sampled_only_server(answer: Vec<u8>) -> (u16, Arc<Mutex<Vec<Vec<i32>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
            let mut raw = Vec::new();
            let mut buf = [0u8; 65536];
            let body = loop {
                let Ok(n) = conn.read(&mut buf) else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                raw.extend_from_slice(&buf[..n]);
                let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if raw.len() >= split + 4 + len {
                    break Some(raw[split + 4..split + 4 + len].to_vec());
                }
            };
            let Some(body) = body else { continue };
            let req = firewatch_remote::read::decode_request(&body).unwrap();
            record.lock().push(req.accepted_response_types);
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                answer.len()
            );
            let _ = conn.write_all(&answer);
        }
    });
    (port, seen)
}

#[test]
fn a_server_answering_only_sampled_responses_is_read_too() {
    let t0 = 1_700_000_000_000;
    let resp = proto::ReadResponse {
        results: vec![proto::QueryResult {
            timeseries: vec![proto::TimeSeries {
                labels: vec![label("__name__", "rc_float"), label("i", "7")],
                samples: (0..30)
                    .map(|n| proto::Sample {
                        value: n as f64,
                        timestamp: t0 + n * STEP,
                    })
                    .collect(),
                ..Default::default()
            }],
        }],
    };
    let answer = snap::raw::Encoder::new()
        .compress_vec(&resp.encode_to_vec())
        .unwrap();
    let (port, seen) = sampled_only_server(answer);
    let (start, end) = (t0 + 5 * STEP, t0 + 9 * STEP);
    let got = through_read_storage(&format!("http://127.0.0.1:{port}/api/v1/read"), start, end);
    let want: Vec<String> = (5..=9)
        .map(|n| {
            format!(
                "{{__name__=\"rc_float\", i=\"7\"}} {} {}",
                t0 + n * STEP,
                n as f64
            )
        })
        .collect();
    assert_eq!(got, sorted(want));
    // Streamed XOR chunks first, then samples.
    assert_eq!(*seen.lock(), vec![vec![1, 0]]);
}
