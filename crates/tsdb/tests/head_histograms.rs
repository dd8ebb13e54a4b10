//! Native (integer) histograms in the head: appended, queried, logged to the WAL as
//! histogram records, replayed, mapped to `chunks_head/`, and compacted into blocks.

use std::sync::Arc;

use firewatch_tsdb::{Db, DbOptions};
use model::histogram::CounterResetHint;
use model::{Histogram, Matcher, Sample, Span, labels};
use storage::{StorageError, ValueType};

const HOUR: i64 = 3_600_000;

/// A growing counter histogram: observations in two buckets, a layout change at k = 150.
fn hist(k: i64) -> Histogram {
    let mut h = Histogram {
        schema: 0,
        zero_threshold: 1e-128,
        zero_count: k as u64,
        count: (3 * k) as u64,
        sum: 1.5 * k as f64,
        positive_spans: vec![Span {
            offset: 0,
            length: 2,
        }],
        positive_buckets: vec![k, 0],
        ..Histogram::default()
    };
    if k >= 150 {
        h.positive_spans = vec![Span {
            offset: 0,
            length: 3,
        }];
        h.positive_buckets = vec![k, 0, 0];
    }
    h
}

fn read(db: &Db) -> Vec<(i64, Sample)> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let set: Vec<_> = q
        .select(true, None, &[Matcher::equal("__name__", "h")])
        .unwrap()
        .collect();
    assert_eq!(set.len(), 1);
    let s = set.into_iter().next().unwrap().unwrap();
    let mut it = s.iter();
    let mut out = Vec::new();
    loop {
        match it.next() {
            ValueType::Histogram => {
                // Chunk iterators report counter-reset hints from the chunk layout (the
                // header for a chunk's first sample, "not a reset" after): compare the rest.
                let (t, mut h) = it.at_histogram();
                assert!(matches!(
                    h.counter_reset_hint,
                    CounterResetHint::Unknown | CounterResetHint::NotCounterReset
                ));
                h.counter_reset_hint = CounterResetHint::Unknown;
                out.push((t, Sample::Histogram(Arc::new(h))));
            }
            ValueType::Float => out.push((it.at_t(), Sample::Float(it.at().1))),
            ValueType::FloatHistogram => {
                let (t, mut h) = it.at_float_histogram();
                h.counter_reset_hint = CounterResetHint::Unknown;
                out.push((t, Sample::FloatHistogram(Arc::new(h))));
            }
            ValueType::None => break,
        }
    }
    assert!(it.err().is_none());
    out
}

fn want(n: i64) -> Vec<(i64, Sample)> {
    (0..n)
        .map(|k| (k * 60_000, Sample::Histogram(Arc::new(hist(k)))))
        .collect()
}

#[test]
fn histograms_round_trip_through_head_wal_chunks_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || DbOptions {
        wal_segment_size: 32 * 1024,
        ..DbOptions::default()
    };
    let series = labels!("__name__" => "h", "job" => "x");
    const N: i64 = 300; // 5 hours at one a minute
    let db = Db::open(dir.path(), opts()).unwrap();
    for k in 0..N {
        let mut app = db.appender();
        app.append(0, &series, k * 60_000, Sample::Histogram(Arc::new(hist(k))))
            .unwrap();
        app.commit().unwrap();
    }
    // Same timestamp, other histogram: refused; same histogram: accepted and dropped.
    let mut app = db.appender();
    let dup = app.append(
        0,
        &series,
        (N - 1) * 60_000,
        Sample::Histogram(Arc::new(hist(1))),
    );
    assert!(
        matches!(dup, Err(StorageError::DuplicateSampleForTimestamp)),
        "{dup:?}"
    );
    app.append(
        0,
        &series,
        (N - 1) * 60_000,
        Sample::Histogram(Arc::new(hist(N - 1))),
    )
    .unwrap();
    let bad = Histogram {
        positive_spans: vec![Span {
            offset: 0,
            length: 3,
        }],
        positive_buckets: vec![1],
        ..hist(1)
    };
    assert!(
        app.append(0, &series, N * 60_000, Sample::Histogram(Arc::new(bad)))
            .is_err()
    );
    app.commit().unwrap();
    assert_eq!(read(&db), want(N));
    let s = db.head().series_by_id(1).unwrap();
    assert!(s.state.lock().full.len() >= 2, "histogram chunks were cut");
    drop(s);
    db.close().unwrap();

    // Replay: mapped histogram chunks plus WAL histogram records.
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(read(&db), want(N));
    // A crash (no close) after more appends: the WAL alone restores them.
    let mut app = db.appender();
    app.append(0, &series, N * 60_000, Sample::Histogram(Arc::new(hist(N))))
        .unwrap();
    app.commit().unwrap();
    drop(app);
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(read(&db), want(N + 1));

    // Compaction into a block keeps every histogram.
    db.compact().unwrap();
    assert_eq!(db.blocks().len(), 1);
    assert_eq!(db.blocks()[0].meta().max_time, 2 * HOUR);
    assert_eq!(read(&db), want(N + 1));
    db.close().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(read(&db), want(N + 1));
    db.close().unwrap();
}

#[test]
fn switching_between_floats_and_histograms_cuts_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let series = labels!("__name__" => "h");
    let mut expect = Vec::new();
    for k in 0..40i64 {
        let v = if (k / 10) % 2 == 0 {
            Sample::Float(k as f64)
        } else {
            Sample::Histogram(Arc::new(hist(k)))
        };
        let mut app = db.appender();
        app.append(0, &series, k * 1000, v.clone()).unwrap();
        app.commit().unwrap();
        expect.push((k * 1000, v));
    }
    assert_eq!(read(&db), expect);
    assert_eq!(
        db.head().series_by_id(1).unwrap().state.lock().full.len(),
        3
    );
    db.close().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(read(&db), expect);
}

#[test]
fn float_histograms_round_trip_through_wal_chunks_and_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let series = labels!("__name__" => "h", "kind" => "float");
    let fh = |k: i64| {
        let mut h = hist(k).to_float();
        h.sum = k as f64 * 0.1;
        Sample::FloatHistogram(Arc::new(h))
    };
    const N: i64 = 300;
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    for k in 0..N {
        let mut app = db.appender();
        app.append(0, &series, k * 60_000, fh(k)).unwrap();
        app.commit().unwrap();
    }
    let want: Vec<(i64, Sample)> = (0..N).map(|k| (k * 60_000, fh(k))).collect();
    assert_eq!(read(&db), want);
    drop(db); // crash: mapped chunks plus WAL float histogram records
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(read(&db), want);
    db.compact().unwrap();
    assert_eq!(db.blocks().len(), 1);
    db.close().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    assert_eq!(read(&db), want);
}
