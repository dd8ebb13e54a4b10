//! The remote read endpoint over the real TSDB: sampled and streamed (XOR and histogram
//! chunks) answers hold the stored samples in the query's range, external labels are added and their
//! matchers dropped, and bad requests are refused with their reason.

use firewatch_remote::handle_read;
use firewatch_remote::proto;
use firewatch_remote::read::CONTENT_TYPE_STREAMED;
use model::histogram::CounterResetHint;
use model::{FloatHistogram, Histogram, Labels, Sample, Span};
use prost::Message;
use storage::{SampleIterator as _, ValueType};
use tsdb::chunkenc::{CounterResetHeader, HistogramChunk};
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

/// An NHCB (custom-bucket) histogram with `n` observations in each bucket; its bounds change at
/// sample 150 (a new chunk), and its counts reset at 200 (another).
fn nhcb(i: i64) -> Histogram {
    let n = if i < 200 { i } else { i - 200 };
    let bounds = if i < 150 {
        vec![0.1, 0.5, 1.0]
    } else {
        vec![0.25, 1.0]
    };
    let buckets = bounds.len() + 1;
    // Delta-encoded: the first bucket holds n, each next one as many.
    let mut deltas = vec![0; buckets];
    deltas[0] = n;
    Histogram {
        schema: -53,
        count: n as u64 * buckets as u64,
        sum: n as f64 * 0.3,
        positive_spans: vec![Span {
            offset: 0,
            length: buckets as u32,
        }],
        positive_buckets: deltas,
        custom_values: bounds,
        ..Histogram::default()
    }
}

fn float_histogram(i: i64) -> FloatHistogram {
    FloatHistogram {
        schema: 0,
        count: i as f64 + 0.5,
        sum: i as f64,
        zero_count: 0.5,
        zero_threshold: 0.001,
        positive_spans: vec![Span {
            offset: 1,
            length: 1,
        }],
        positive_buckets: vec![i as f64],
        counter_reset_hint: CounterResetHint::Gauge,
        ..FloatHistogram::default()
    }
}

/// `p` with an unknown counter reset hint: the first sample of a chunk carries its chunk's
/// header (unknown unless a reset cut it), so where chunks are cut decides the hint.
fn without_hint(p: &(i64, Sample)) -> (i64, Sample) {
    let sample = match &p.1 {
        Sample::Histogram(h) => Sample::Histogram(
            Histogram {
                counter_reset_hint: CounterResetHint::Unknown,
                ..(**h).clone()
            }
            .into(),
        ),
        Sample::FloatHistogram(h) => Sample::FloatHistogram(
            FloatHistogram {
                counter_reset_hint: CounterResetHint::Unknown,
                ..(**h).clone()
            }
            .into(),
        ),
        s => s.clone(),
    };
    (p.0, sample)
}

#[test]
fn streamed_response_carries_histogram_chunks_equal_to_the_sampled_answer() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let mut app = db.appender();
    let h = Labels::from_pairs([("__name__", "rr_nhcb"), ("job", "x")]);
    let fh = Labels::from_pairs([("__name__", "rr_fh"), ("job", "x")]);
    let f = Labels::from_pairs([("__name__", "rr_f"), ("job", "x")]);
    for i in 0..300 {
        let t = T0 + i * 1000;
        app.append(0, &h, t, Sample::Histogram(nhcb(i).into()))
            .unwrap();
        app.append(0, &fh, t, Sample::FloatHistogram(float_histogram(i).into()))
            .unwrap();
        app.append(0, &f, t, Sample::Float(i as f64)).unwrap();
    }
    app.commit().unwrap();
    let (start, end) = (T0 + 5_000, T0 + 290_000);
    let sampled_body = request(vec![matcher(0, "job", "x")], start, end, vec![0]);
    let streamed_body = request(vec![matcher(0, "job", "x")], start, end, vec![1]);

    let answer = handle_read(&db, &Labels::default(), &streamed_body);
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.content_type, CONTENT_TYPE_STREAMED);
    // Chunk encodings per series: XOR for floats, histogram (2) and float histogram (3) chunks
    // for the histograms, the NHCB series cut where its bounds change and where it resets.
    let mut encodings: Vec<(String, Vec<i32>)> = Vec::new();
    for frame in firewatch_remote::chunked::frames(&answer.body).unwrap() {
        let msg = proto::ChunkedReadResponse::decode(frame).unwrap();
        for s in msg.chunked_series {
            let name = s.labels.iter().find(|l| l.name == "__name__").unwrap();
            let types = s.chunks.iter().map(|c| c.r#type).collect();
            encodings.push((name.value.clone(), types));
        }
    }
    encodings.sort();
    // The NHCB chunks start where the 120-sample limit, the new bounds and the reset cut them,
    // the last two declaring a counter reset.
    let nhcb_chunks: Vec<(i64, CounterResetHeader)> =
        firewatch_remote::chunked::frames(&answer.body)
            .unwrap()
            .into_iter()
            .flat_map(|f| {
                proto::ChunkedReadResponse::decode(f)
                    .unwrap()
                    .chunked_series
            })
            .filter(|s| s.labels.iter().any(|l| l.value == "rr_nhcb"))
            .flat_map(|s| s.chunks)
            .map(|c| {
                let chunk = HistogramChunk::from_bytes(c.data).unwrap();
                ((c.min_time_ms - T0) / 1000, chunk.counter_reset_header())
            })
            .collect();
    assert_eq!(
        nhcb_chunks,
        vec![
            (5, CounterResetHeader::Unknown),
            (125, CounterResetHeader::Unknown),
            (150, CounterResetHeader::CounterReset),
            (200, CounterResetHeader::CounterReset),
        ]
    );
    assert_eq!(
        encodings,
        vec![
            ("rr_f".to_owned(), vec![1, 1, 1]),
            ("rr_fh".to_owned(), vec![3, 3, 3]),
            ("rr_nhcb".to_owned(), vec![2, 2, 2, 2]),
        ]
    );
    let streamed = firewatch_remote::chunked::decode_streamed(&answer.body, start, end).unwrap();

    // The sampled answer, decoded back into samples, is the same.
    let sampled_series = sampled(&db, &Labels::default(), &sampled_body).results[0]
        .timeseries
        .clone();
    let mut from_sampled: Vec<(String, Vec<(i64, Sample)>)> = sampled_series
        .iter()
        .map(|ts| {
            let mut points: Vec<(i64, Sample)> = ts
                .samples
                .iter()
                .map(|s| (s.timestamp, Sample::Float(s.value)))
                .collect();
            let decoded = firewatch_remote::receiver::decode(
                firewatch_remote::receiver::Protocol::V1,
                &snap::raw::Encoder::new()
                    .compress_vec(
                        &proto::WriteRequest {
                            timeseries: vec![ts.clone()],
                            ..Default::default()
                        }
                        .encode_to_vec(),
                    )
                    .unwrap(),
            )
            .unwrap();
            points.extend(decoded.into_iter().flat_map(|d| d.histograms));
            points.sort_by_key(|(t, _)| *t);
            (names(ts), points)
        })
        .collect();
    from_sampled.sort_by(|a, b| a.0.cmp(&b.0));
    let from_streamed: Vec<(String, Vec<(i64, Sample)>)> = streamed
        .into_iter()
        .map(|(labels, points)| {
            let name = labels
                .iter()
                .map(|l| format!("{}={}", l.name, l.value))
                .collect::<Vec<_>>()
                .join(",");
            (name, points)
        })
        .collect();
    assert_eq!(from_streamed.len(), 3);
    for (a, b) in from_streamed.iter().zip(&from_sampled) {
        assert_eq!(a.0, b.0);
        assert_eq!(a.1.len(), b.1.len(), "{}", a.0);
        for (x, y) in a.1.iter().zip(&b.1) {
            assert_eq!(without_hint(x), without_hint(y), "{}", a.0);
        }
    }

    // And both are what was stored.
    let nhcb_points = &from_streamed
        .iter()
        .find(|s| s.0.contains("rr_nhcb"))
        .unwrap()
        .1;
    assert_eq!(nhcb_points.len(), 286);
    for (t, s) in nhcb_points {
        let i = (t - T0) / 1000;
        let Sample::Histogram(got) = s else {
            panic!("not a histogram at {t}")
        };
        let want = nhcb(i);
        assert_eq!(got.custom_values, want.custom_values, "at {i}");
        assert_eq!((got.count, got.sum), (want.count, want.sum), "at {i}");
        assert_eq!(got.positive_buckets, want.positive_buckets, "at {i}");
    }
}
