//! The remote read endpoint over the real TSDB: sampled and streamed (XOR chunks) answers
//! hold the stored samples in the query's range, external labels are added and their
//! matchers dropped, and bad requests are refused with their reason.

use firewatch_remote::handle_read;
use firewatch_remote::proto;
use firewatch_remote::read::CONTENT_TYPE_STREAMED;
use model::{Labels, Sample};
use prost::Message;
use storage::{SampleIterator as _, ValueType};
use tsdb::{Db, DbOptions};

const T0: i64 = 1_700_000_000_000;

/// A TSDB holding `rr_a{job="x"}` (300 samples, one per second, value = index) and
/// `rr_b{job="y"}` (one sample).
fn filled(dir: &std::path::Path) -> Db {
    let db = Db::open(dir, DbOptions::default()).unwrap();
    let mut app = db.appender();
    let a = Labels::from_pairs([("__name__", "rr_a"), ("job", "x")]);
    let b = Labels::from_pairs([("__name__", "rr_b"), ("job", "y")]);
    for i in 0..300 {
        app.append(0, &a, T0 + i * 1000, Sample::Float(i as f64))
            .unwrap();
    }
    app.append(0, &b, T0, Sample::Float(42.0)).unwrap();
    app.commit().unwrap();
    db
}

fn matcher(t: i32, name: &str, value: &str) -> proto::LabelMatcher {
    proto::LabelMatcher {
        r#type: t,
        name: name.into(),
        value: value.into(),
    }
}

fn request(matchers: Vec<proto::LabelMatcher>, start: i64, end: i64, types: Vec<i32>) -> Vec<u8> {
    let req = proto::ReadRequest {
        queries: vec![proto::Query {
            start_timestamp_ms: start,
            end_timestamp_ms: end,
            matchers,
            hints: None,
        }],
        accepted_response_types: types,
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

fn sampled(db: &Db, ext: &Labels, body: &[u8]) -> proto::ReadResponse {
    let a = handle_read(db, ext, body);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.content_encoding, Some("snappy"));
    let raw = snap::raw::Decoder::new().decompress_vec(&a.body).unwrap();
    proto::ReadResponse::decode(raw.as_slice()).unwrap()
}

fn names(ts: &proto::TimeSeries) -> String {
    ts.labels
        .iter()
        .map(|l| format!("{}={}", l.name, l.value))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn sampled_response_holds_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let db = filled(dir.path());
    let ext = Labels::from_pairs([("replica", "r1")]);
    // The range [T0+10s, T0+20s] of the series whose job matches x|y and name rr_a.
    let body = request(
        vec![matcher(0, "__name__", "rr_a"), matcher(2, "job", "x|y")],
        T0 + 10_000,
        T0 + 20_000,
        vec![],
    );
    let r = sampled(&db, &ext, &body);
    assert_eq!(r.results.len(), 1);
    let ts = &r.results[0].timeseries;
    assert_eq!(ts.len(), 1);
    assert_eq!(names(&ts[0]), "__name__=rr_a,job=x,replica=r1");
    let got: Vec<(i64, f64)> = ts[0]
        .samples
        .iter()
        .map(|s| (s.timestamp, s.value))
        .collect();
    let want: Vec<(i64, f64)> = (10..=20).map(|i| (T0 + i * 1000, i as f64)).collect();
    assert_eq!(got, want);
    // A matcher on the external label is satisfied by it, so dropped; one it contradicts
    // selects nothing.
    let body = request(vec![matcher(0, "replica", "r1")], T0, T0 + 1000, vec![0]);
    assert_eq!(sampled(&db, &ext, &body).results[0].timeseries.len(), 2);
    let body = request(
        vec![matcher(0, "replica", "r2"), matcher(0, "job", "x")],
        T0,
        T0 + 1000,
        vec![0],
    );
    assert_eq!(sampled(&db, &ext, &body).results[0].timeseries.len(), 0);
}

#[test]
fn streamed_response_carries_xor_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let db = filled(dir.path());
    let body = request(
        vec![matcher(2, "__name__", "rr_.*")],
        T0,
        T0 + 400_000,
        vec![1, 0],
    );
    let a = handle_read(&db, &Labels::default(), &body);
    assert_eq!(a.status, 200);
    assert_eq!(a.content_type, CONTENT_TYPE_STREAMED);
    // Frames: uvarint size, big-endian CRC-32C, message.
    let mut rest = a.body.as_slice();
    let mut series = Vec::new();
    while !rest.is_empty() {
        let size = prost::encoding::decode_varint(&mut rest).unwrap() as usize;
        let crc = u32::from_be_bytes(rest[..4].try_into().unwrap());
        let msg = &rest[4..4 + size];
        assert_eq!(crc, crc32c::crc32c(msg), "frame checksum");
        let frame = proto::ChunkedReadResponse::decode(msg).unwrap();
        assert_eq!(frame.query_index, 0);
        series.extend(frame.chunked_series);
        rest = &rest[4 + size..];
    }
    assert_eq!(series.len(), 2);
    let a_series = &series[0];
    assert_eq!(a_series.labels[0].value, "rr_a");
    // 300 samples: chunks of 120, 120, 60, each decodable to its samples.
    let lens: Vec<usize> = a_series
        .chunks
        .iter()
        .map(|c| {
            assert_eq!(c.r#type, 1);
            let mut it = tsdb::chunkenc::XorIterator::new(c.data.clone());
            let mut n = 0;
            while it.next() == ValueType::Float {
                let (t, v) = it.at();
                assert_eq!(v, ((t - T0) / 1000) as f64);
                assert!(t >= c.min_time_ms && t <= c.max_time_ms);
                n += 1;
            }
            n
        })
        .collect();
    assert_eq!(lens, vec![120, 120, 60]);
}

#[test]
fn bad_read_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = filled(dir.path());
    let good = request(vec![matcher(0, "job", "x")], T0, T0 + 1000, vec![]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated snappy",
            good[..good.len() - 3].to_vec(),
            "snappy",
        ),
        (
            "wrong protobuf",
            snap::raw::Encoder::new()
                .compress_vec(b"\x0a\x09zz")
                .unwrap(),
            "prometheus.ReadRequest",
        ),
        (
            "bad regex",
            request(vec![matcher(2, "job", "(")], T0, T0 + 1000, vec![]),
            "matcher \"job\"",
        ),
        (
            "unknown matcher type",
            request(vec![matcher(7, "job", "x")], T0, T0 + 1000, vec![]),
            "unknown matcher type 7",
        ),
    ];
    for (name, body, reason) in cases {
        let a = handle_read(&db, &Labels::default(), &body);
        let text = String::from_utf8_lossy(&a.body);
        assert_eq!(a.status, 400, "{name}: {text}");
        assert!(text.contains(reason), "{name}: {text:?} lacks {reason:?}");
    }
}
