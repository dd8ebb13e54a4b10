//! Tests of block writing and reading.

use model::{Labels, MatchOp, Matcher, STALE_NAN};
use storage::{FloatBatch, Querier, ValueType};

use super::*;
use crate::tombstones::{Interval, Tombstones};

fn ls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn samples(n: i64, start: i64, step: i64) -> Vec<(i64, f64)> {
    (0..n).map(|i| (start + i * step, i as f64)).collect()
}

fn collect(q: &dyn Querier, ms: &[Matcher]) -> Vec<(String, Vec<(i64, u64)>)> {
    let mut out = Vec::new();
    for s in q.select(true, None, ms).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == ValueType::Float {
            let (t, x) = it.at();
            v.push((t, x.to_bits()));
        }
        assert!(it.err().is_none());
        // In bulk, stopping at bounds spread over the series: the same samples.
        let mut it = s.iter();
        let mut bulk = FloatBatch::default();
        let (mut maxt, mut k) = (i64::MIN, 0_i64);
        while it.read_floats(maxt, &mut bulk) == ValueType::Float {
            bulk.samples.push(it.at());
            k += 1;
            maxt = it.at_t() + k * 7919 % 5 * 20_000;
        }
        assert!(it.err().is_none());
        let bulk: Vec<(i64, u64)> = bulk
            .samples
            .iter()
            .map(|&(t, x)| (t, x.to_bits()))
            .collect();
        assert_eq!(bulk, v, "{}", s.labels());
        out.push((s.labels().to_string(), v));
    }
    out
}

#[test]
fn write_then_read_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = BlockWriter::new(dir.path());
    let a = samples(300, 1000, 15_000);
    let mut b = samples(5, 0, 10);
    b[4].1 = STALE_NAN;
    w.add_series(ls(&[("__name__", "up"), ("job", "b")]), &b)
        .unwrap();
    w.add_series(ls(&[("__name__", "up"), ("job", "a")]), &a)
        .unwrap();
    w.add_series(ls(&[("__name__", "empty")]), &[]).unwrap();
    let ulid = w.ulid();
    let meta = w.write().unwrap();
    assert_eq!(meta.ulid, ulid);
    assert_eq!((meta.min_time, meta.max_time), (0, 1000 + 299 * 15_000 + 1));
    assert_eq!(meta.stats.num_series, 2);
    assert_eq!(meta.stats.num_samples, 305);
    assert_eq!(meta.stats.num_chunks, 3 + 1, "300 samples cut at 120");
    let bdir = dir.path().join(ulid.to_string());
    for f in ["meta.json", "index", "chunks/000001", "tombstones"] {
        assert!(bdir.join(f).exists(), "{f}");
    }
    assert!(
        !dir.path()
            .join(format!("{ulid}{TMP_FOR_CREATION_SUFFIX}"))
            .exists()
    );

    let r = BlockReader::open(&bdir).unwrap();
    assert_eq!(r.meta(), &meta);
    let q = r.block_querier(i64::MIN, i64::MAX);
    let got = collect(&q, &[Matcher::equal("__name__", "up")]);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, "{__name__=\"up\", job=\"a\"}");
    assert_eq!(
        got[0].1,
        a.iter().map(|&(t, v)| (t, v.to_bits())).collect::<Vec<_>>()
    );
    assert_eq!(
        got[1].1,
        b.iter().map(|&(t, v)| (t, v.to_bits())).collect::<Vec<_>>()
    );
    assert_eq!(q.label_names(None, &[]).unwrap(), ["__name__", "job"]);
    assert_eq!(q.label_values("job", None, &[]).unwrap(), ["a", "b"]);
    let re = Matcher::new(MatchOp::RegexMatch, "job", "b|c").unwrap();
    assert_eq!(
        q.label_values("job", None, std::slice::from_ref(&re))
            .unwrap(),
        ["b"]
    );
    assert_eq!(
        q.label_names(None, &[Matcher::equal("job", "zzz")])
            .unwrap(),
        Vec::<String>::new()
    );
    assert!(collect(&q, &[Matcher::equal("job", "zzz")]).is_empty());
}

#[test]
fn label_names_and_values_of_matched_series() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = BlockWriter::new(dir.path());
    let one = samples(3, 0, 10);
    w.add_series(ls(&[("__name__", "a"), ("job", "x"), ("pod", "p1")]), &one)
        .unwrap();
    w.add_series(ls(&[("__name__", "a"), ("job", "y"), ("zone", "z9")]), &one)
        .unwrap();
    w.add_series(
        ls(&[("__name__", "b"), ("env", "prod"), ("job", "x")]),
        &one,
    )
    .unwrap();
    let ulid = w.ulid();
    w.write().unwrap();
    let r = BlockReader::open(dir.path().join(ulid.to_string())).unwrap();
    let q = r.block_querier(i64::MIN, i64::MAX);

    let a = [Matcher::equal("__name__", "a")];
    assert_eq!(
        q.label_names(None, &a).unwrap(),
        ["__name__", "job", "pod", "zone"]
    );
    assert_eq!(q.label_values("job", None, &a).unwrap(), ["x", "y"]);
    assert_eq!(
        q.label_values("env", None, &a).unwrap(),
        Vec::<String>::new()
    );
    let x = [Matcher::equal("job", "x")];
    assert_eq!(
        q.label_names(None, &x).unwrap(),
        ["__name__", "env", "job", "pod"]
    );
    assert_eq!(q.label_values("__name__", None, &x).unwrap(), ["a", "b"]);
    assert_eq!(
        q.label_values("no_such_label", None, &x).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn time_range_clipping_and_seek() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = BlockWriter::new(dir.path()).with_samples_per_chunk(10);
    let a = samples(100, 0, 10);
    w.add_series(ls(&[("__name__", "m")]), &a).unwrap();
    let meta = w.write().unwrap();
    let r = BlockReader::open(dir.path().join(meta.ulid.to_string())).unwrap();
    let q = r.block_querier(255, 600);
    let got = collect(&q, &[Matcher::equal("__name__", "m")]);
    let ts: Vec<i64> = got[0].1.iter().map(|x| x.0).collect();
    assert_eq!(ts, (26..=60).map(|i| i * 10).collect::<Vec<_>>());
    // A range between the samples of one chunk still returns the series, without samples.
    let q = r.block_querier(5001, 5002);
    assert!(
        collect(&q, &[Matcher::equal("__name__", "m")]).is_empty(),
        "no chunk overlaps"
    );
    let q = r.block_querier(i64::MIN, i64::MAX);
    let set: Vec<_> = q
        .select(true, None, &[Matcher::equal("__name__", "m")])
        .unwrap()
        .collect();
    let s = set[0].as_ref().unwrap();
    let mut it = s.iter();
    assert_eq!(it.seek(455), ValueType::Float);
    assert_eq!(it.at(), (460, 46.0));
    assert_eq!(it.seek(100), ValueType::Float, "never backwards");
    assert_eq!(it.at_t(), 460);
    assert_eq!(it.seek(461), ValueType::Float);
    assert_eq!(it.at_t(), 470);
    assert_eq!(it.seek(990), ValueType::Float);
    assert_eq!(it.seek(991), ValueType::None);
    assert_eq!(it.next(), ValueType::None);
}

#[test]
fn tombstones_hide_samples() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Tombstones::new();
    // The only series gets reference 2: header (5) + symbols (8 + 9 + 2 + 4) = 28, padded to 32.
    t.add_interval(2, Interval { mint: 20, maxt: 49 });
    t.add_interval(
        2,
        Interval {
            mint: 90,
            maxt: 1000,
        },
    );
    let mut w = BlockWriter::new(dir.path())
        .with_tombstones(t)
        .with_samples_per_chunk(3);
    w.add_series(ls(&[("__name__", "m")]), &samples(10, 0, 10))
        .unwrap();
    let meta = w.write().unwrap();
    assert_eq!(meta.stats.num_tombstones, 2);
    let r = BlockReader::open(dir.path().join(meta.ulid.to_string())).unwrap();
    assert_eq!(r.index().all_postings().unwrap(), [2]);
    let got = collect(
        &r.block_querier(0, 1000),
        &[Matcher::equal("__name__", "m")],
    );
    let ts: Vec<i64> = got[0].1.iter().map(|x| x.0).collect();
    assert_eq!(ts, [0, 10, 50, 60, 70, 80]);
}

#[test]
fn writer_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = BlockWriter::new(dir.path());
    assert!(
        w.add_series(ls(&[("a", "b")]), &[(10, 1.0), (10, 2.0)])
            .is_err()
    );
    w.add_series(ls(&[("a", "b")]), &[(10, 1.0)]).unwrap();
    w.add_series(ls(&[("a", "b")]), &[(20, 1.0)]).unwrap();
    let ulid = w.ulid();
    assert!(w.write().is_err(), "duplicate series");
    assert!(!dir.path().join(ulid.to_string()).exists());
    assert!(
        !dir.path()
            .join(format!("{ulid}{TMP_FOR_CREATION_SUFFIX}"))
            .exists()
    );
}

#[test]
fn histogram_and_float_samples_roundtrip() {
    use model::Sample;
    use model::histogram::{Histogram, Span};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let h = |count: u64, b0: i64| Histogram {
        schema: 1,
        count,
        sum: count as f64 * 1.5,
        zero_threshold: 0.001,
        positive_spans: vec![Span {
            offset: 0,
            length: 2,
        }],
        positive_buckets: vec![b0, 1],
        ..Histogram::default()
    };
    // Floats, then histograms with a counter reset (new chunk), then floats again.
    let samples: Vec<(i64, Sample)> = vec![
        (0, Sample::Float(1.0)),
        (10, Sample::Float(2.0)),
        (20, Sample::Histogram(Arc::new(h(5, 2)))),
        (30, Sample::Histogram(Arc::new(h(7, 3)))),
        (40, Sample::Histogram(Arc::new(h(3, 1)))),
        (50, Sample::Float(3.0)),
        (60, Sample::FloatHistogram(Arc::new(h(8, 3).to_float()))),
        (70, Sample::FloatHistogram(Arc::new(h(9, 4).to_float()))),
    ];
    let mut w = BlockWriter::new(dir.path());
    w.add_series_samples(ls(&[("__name__", "mixed")]), &samples)
        .unwrap();
    let meta = w.write().unwrap();
    assert_eq!(meta.stats.num_chunks, 5);
    assert_eq!(meta.stats.num_samples, 8);
    let r = BlockReader::open(dir.path().join(meta.ulid.to_string())).unwrap();
    let q = r.block_querier(0, 100);
    let set: Vec<_> = q
        .select(true, None, &[Matcher::equal("__name__", "mixed")])
        .unwrap()
        .collect();
    let s = set[0].as_ref().unwrap();
    let mut it = s.iter();
    let mut got = Vec::new();
    loop {
        match it.next() {
            ValueType::None => break,
            ValueType::Float => got.push((it.at_t(), Sample::Float(it.at().1))),
            ValueType::Histogram => {
                let (t, mut h) = it.at_histogram();
                h.counter_reset_hint = model::histogram::CounterResetHint::Unknown;
                got.push((t, Sample::Histogram(Arc::new(h))));
            }
            ValueType::FloatHistogram => {
                let (t, mut h) = it.at_float_histogram();
                h.counter_reset_hint = model::histogram::CounterResetHint::Unknown;
                got.push((t, Sample::FloatHistogram(Arc::new(h))));
            }
        }
    }
    assert!(it.err().is_none());
    assert_eq!(got, samples);
}

/// Blocks read side by side through a merge with one [`RecentLabels`]: a series in both
/// blocks gets one label buffer, series in one block only keep theirs, and every series,
/// label set and sample is what separate queriers give.
#[test]
fn blocks_of_a_merge_share_the_labels_of_a_series_in_both() {
    let dir = tempfile::tempdir().unwrap();
    let names = [&["a", "b", "c"][..], &["a", "bb", "c", "d"][..]];
    let mut blocks = Vec::new();
    for (k, jobs) in names.iter().enumerate() {
        let mut w = BlockWriter::new(dir.path());
        for j in *jobs {
            w.add_series(
                ls(&[("__name__", "up"), ("job", j)]),
                &samples(10, k as i64 * 1000, 10),
            )
            .unwrap();
        }
        let ulid = w.ulid();
        w.write().unwrap();
        blocks.push(BlockReader::open(dir.path().join(ulid.to_string())).unwrap());
    }
    let up = [Matcher::equal("__name__", "up")];
    let recent = std::sync::Arc::new(RecentLabels::default());
    let sets = blocks
        .iter()
        .map(|b| {
            b.block_querier_sharing(i64::MIN, i64::MAX, &recent)
                .select(true, None, &up)
                .unwrap()
        })
        .collect();
    let mut merged: Vec<(Labels, Vec<(i64, f64)>)> = Vec::new();
    let mut shared = Vec::new();
    for s in storage::merge::MergeSeriesSet::new(sets) {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == ValueType::Float {
            v.push(it.at());
        }
        merged.push((s.labels().clone(), v));
    }
    // The same merge with separate queriers: the same series, labels and samples.
    let separate = storage::merge::MergeSeriesSet::new(
        blocks
            .iter()
            .map(|b| {
                b.block_querier(i64::MIN, i64::MAX)
                    .select(true, None, &up)
                    .unwrap()
            })
            .collect(),
    );
    let mut want = Vec::new();
    for s in separate {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == ValueType::Float {
            v.push(it.at());
        }
        want.push((s.labels().clone(), v));
    }
    assert_eq!(merged.len(), 5);
    assert_eq!(merged, want);
    // Read in turn, as the merge reads them: equal labels share the first block's buffer.
    let mut sets: Vec<_> = blocks
        .iter()
        .map(|b| {
            b.block_querier_sharing(i64::MIN, i64::MAX, &recent)
                .select(true, None, &up)
                .unwrap()
                .map(|s| s.unwrap().labels().clone())
        })
        .collect();
    for _ in 0..3 {
        let a = sets[0].next().unwrap();
        let b = sets[1].next().unwrap();
        shared.push((a.to_string(), b.to_string(), a.buffer_id() == b.buffer_id()));
    }
    let job = |j: &str| format!(r#"{{__name__="up", job="{j}"}}"#);
    assert_eq!(
        shared,
        [
            (job("a"), job("a"), true),
            (job("b"), job("bb"), false),
            (job("c"), job("c"), true),
        ]
    );
    assert_eq!(sets[1].next().unwrap().to_string(), job("d"));
    assert!(sets[0].next().is_none() && sets[1].next().is_none());
}
