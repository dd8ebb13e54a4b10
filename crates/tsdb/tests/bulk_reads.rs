//! Float samples read in bulk (`SampleIterator::read_floats`, what PromQL loads series with)
//! are the samples `next` reads, over blocks, the head and their merge: with start
//! timestamps, a histogram in the middle of floats, and query ranges cutting chunks; seeks
//! land where `next` would.

use std::sync::Arc;

use firewatch_tsdb::{Db, DbOptions};
use model::{Histogram, Labels, Matcher, Sample, labels};
use storage::{FloatBatch, Querier, SampleIterator, ValueType};

const MINUTE: i64 = 60_000;

/// What `next` reads of a series: floats with their start timestamps, other samples as
/// their type and time.
fn one_by_one(it: &mut dyn SampleIterator) -> Vec<(i64, u64, i64)> {
    let mut out = Vec::new();
    loop {
        match it.next() {
            ValueType::None => break,
            ValueType::Float => {
                let (t, f) = it.at();
                out.push((t, f.to_bits(), it.at_st()));
            }
            _ => out.push((it.at_t(), u64::MAX, -1)),
        }
    }
    assert!(it.err().is_none());
    out
}

/// The same read in bulk, stopping at bounds spread over the series (`step` apart).
fn in_bulk(it: &mut dyn SampleIterator, step: i64) -> Vec<(i64, u64, i64)> {
    let (mut out, mut batch, mut maxt) = (Vec::new(), FloatBatch::default(), i64::MIN);
    loop {
        batch.clear();
        let vt = it.read_floats(maxt, &mut batch);
        let mut starts = batch.starts.iter().peekable();
        for &(t, f) in &batch.samples {
            let st = starts.next_if(|s| s.0 == t).map_or(0, |s| s.1);
            out.push((t, f.to_bits(), st));
        }
        assert!(starts.next().is_none(), "a start without its sample");
        match vt {
            ValueType::None => break,
            ValueType::Float => {
                assert!(it.at_t() > maxt, "stopped before maxt {maxt}");
                let (t, f) = it.at();
                out.push((t, f.to_bits(), it.at_st()));
            }
            _ => out.push((it.at_t(), u64::MAX, -1)),
        }
        maxt = it.at_t() + step;
    }
    assert!(it.err().is_none());
    out
}

fn check(q: &dyn Querier, what: &str) -> usize {
    let mut read = 0;
    for s in q
        .select(true, None, &[Matcher::equal("__name__", "m")])
        .unwrap()
    {
        let s = s.unwrap();
        let want = one_by_one(&mut *s.iter());
        for step in [0, 7 * MINUTE, 50 * MINUTE, i64::MAX / 4] {
            assert_eq!(
                in_bulk(&mut *s.iter(), step),
                want,
                "{what} step {step} {}",
                s.labels()
            );
        }
        // Seeks land on the first sample at or after the time, then read on as `next` does.
        for probe in (-MINUTE..6 * 60 * MINUTE).step_by(17 * MINUTE as usize + 3) {
            let mut it = s.iter();
            let from = want.partition_point(|w| w.0 < probe);
            let vt = it.seek(probe);
            let mut got = Vec::new();
            if vt != ValueType::None {
                got.push(if vt == ValueType::Float {
                    let (t, f) = it.at();
                    (t, f.to_bits(), it.at_st())
                } else {
                    (it.at_t(), u64::MAX, -1)
                });
                got.extend(one_by_one(&mut *it));
            }
            assert_eq!(got, want[from..], "{what} seek {probe} {}", s.labels());
        }
        read += want.len();
    }
    read
}

#[test]
fn bulk_reads_match_next_over_blocks_and_head() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), DbOptions::default()).unwrap();
    let series: Vec<Labels> = (0..4)
        .map(|i| labels!("__name__" => "m", "i" => &i.to_string()))
        .collect();
    // Five hours at 15 s: the first two hours become a block on compaction.
    for k in 0..(5 * 240) {
        let t = k * 15_000 + 7;
        let mut app = db.appender();
        for (i, l) in series.iter().enumerate() {
            let v = (k * (i as i64 + 1)) as f64 * 0.5;
            match i {
                // Start timestamps on one series, changing every hour.
                1 => {
                    app.append_with_start(
                        0,
                        l,
                        t / (60 * MINUTE) * (60 * MINUTE) + 1,
                        t,
                        Sample::Float(v),
                    )
                    .unwrap();
                }
                // A histogram in the middle of floats on another.
                2 if k == 600 => {
                    app.append(0, l, t, Sample::Histogram(Arc::new(Histogram::default())))
                        .unwrap();
                }
                // One that stops early.
                3 if k > 100 => {}
                _ => {
                    app.append(0, l, t, Sample::Float(v)).unwrap();
                }
            }
        }
        app.commit().unwrap();
    }
    db.compact().unwrap();
    assert!(!db.blocks().is_empty(), "a block was written");
    let hour = 60 * MINUTE;
    let mut read = 0;
    for (mint, maxt) in [
        (i64::MIN, i64::MAX),
        (0, 5 * hour),
        (hour + 3 * MINUTE, 2 * hour + 17_000),
        (2 * hour - 1, 2 * hour + 1),
        (90 * MINUTE, 4 * hour + 1234),
        (4 * hour, 4 * hour + 31_000),
    ] {
        let q = db.querier(mint, maxt).unwrap();
        read += check(&*q, &format!("db [{mint}, {maxt}]"));
        let q = db.head().querier(mint, maxt);
        read += check(&q, &format!("head [{mint}, {maxt}]"));
        for b in db.blocks() {
            let q = b.block_querier(mint, maxt);
            read += check(&q, &format!("block [{mint}, {maxt}]"));
        }
    }
    assert!(read > 10_000, "{read} samples read");
}
