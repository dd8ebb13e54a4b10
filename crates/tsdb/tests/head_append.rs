//! The head's appender and querier: commit visibility, Prometheus's append errors, staleness
//! markers, chunk cutting, and replay of the WAL after a restart.

use std::path::Path;
use std::sync::Arc;

use firewatch_tsdb::head::{Head, HeadOptions};
use firewatch_tsdb::wal::WalOptions;
use model::{Labels, MatchOp, Matcher, STALE_NAN, Sample, labels};
use storage::{Appender, Querier, StorageError, ValueType};

mod float_samples;
use float_samples::queried_float_sample_bits;

fn head() -> Arc<Head> {
    Arc::new(Head::new(HeadOptions::default(), None))
}

/// A head with its WAL in `dir`, replaying what is there.
fn head_with_wal(dir: &Path) -> Arc<Head> {
    Arc::new(Head::open(HeadOptions::default(), dir, WalOptions::default(), i64::MIN).unwrap())
}

#[test]
fn commit_makes_samples_visible_and_rollback_drops_them() {
    let h = head();
    let mut app = h.appender();
    let a = labels!("__name__" => "m", "job" => "a");
    let b = labels!("__name__" => "m", "job" => "b");
    let ra = app.append(0, &a, 1000, Sample::Float(1.0)).unwrap();
    app.append(0, &b, 1000, Sample::Float(2.0)).unwrap();
    assert_eq!(
        app.append(ra, &a, 2000, Sample::Float(3.0)).unwrap(),
        ra,
        "ref is stable"
    );
    assert!(
        queried_float_sample_bits(&h.querier(0, 10_000), &[Matcher::equal("__name__", "m")])
            .is_empty()
    );
    app.commit().unwrap();
    let got = queried_float_sample_bits(&h.querier(0, 10_000), &[Matcher::equal("__name__", "m")]);
    assert_eq!(
        got,
        vec![
            (
                a.clone(),
                vec![(1000, 1f64.to_bits()), (2000, 3f64.to_bits())]
            ),
            (b.clone(), vec![(1000, 2f64.to_bits())])
        ]
    );
    app.append(0, &a, 3000, Sample::Float(9.0)).unwrap();
    app.rollback().unwrap();
    let got = queried_float_sample_bits(&h.querier(0, 10_000), &[Matcher::equal("job", "a")]);
    assert_eq!(got[0].1.len(), 2);
    // Time range clipping.
    let got = queried_float_sample_bits(
        &h.querier(1500, 2500),
        &[Matcher::new(MatchOp::RegexMatch, "job", "a|b").unwrap()],
    );
    assert_eq!(got, vec![(a, vec![(2000, 3f64.to_bits())])]);
    assert_eq!(h.min_time(), 1000);
    assert_eq!(h.max_time(), 2000);
}

#[test]
fn append_errors_follow_prometheus() {
    let h = head();
    let s = labels!("__name__" => "m");
    let mut app = h.appender();
    app.append(0, &s, 10_000_000, Sample::Float(1.0)).unwrap();
    app.commit().unwrap();
    let mut app = h.appender();
    assert!(matches!(
        app.append(0, &s, 9_999_999, Sample::Float(1.0)),
        Err(StorageError::OutOfOrderSample)
    ));
    assert!(matches!(
        app.append(0, &s, 10_000_000, Sample::Float(2.0)),
        Err(StorageError::DuplicateSampleForTimestamp)
    ));
    // Same timestamp, same value: accepted and dropped.
    app.append(0, &s, 10_000_000, Sample::Float(1.0)).unwrap();
    // Older than the newest sample minus half a chunk range (1h).
    assert!(matches!(
        app.append(
            0,
            &labels!("__name__" => "other"),
            10_000_000 - 3_600_001,
            Sample::Float(1.0)
        ),
        Err(StorageError::OutOfBounds)
    ));
    assert!(matches!(
        app.append(0, &Labels::empty(), 10_000_001, Sample::Float(1.0)),
        Err(StorageError::InvalidLabels { .. })
    ));
    // Within a batch, order is checked against the batch too.
    app.append(0, &s, 10_000_010, Sample::Float(1.0)).unwrap();
    assert!(matches!(
        app.append(0, &s, 10_000_005, Sample::Float(1.0)),
        Err(StorageError::OutOfOrderSample)
    ));
    app.commit().unwrap();
    let got =
        queried_float_sample_bits(&h.querier(0, i64::MAX), &[Matcher::equal("__name__", "m")]);
    assert_eq!(
        got[0].1.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![10_000_000, 10_000_010]
    );
}

#[test]
fn stale_markers_are_bit_exact() {
    let h = head();
    let s = labels!("__name__" => "m");
    let other_nan = f64::from_bits(0x7ff8_0000_0000_0001);
    let mut app = h.appender();
    app.append(0, &s, 1, Sample::Float(STALE_NAN)).unwrap();
    app.append(0, &s, 2, Sample::Float(other_nan)).unwrap();
    app.commit().unwrap();
    let got = queried_float_sample_bits(&h.querier(0, 10), &[Matcher::equal("__name__", "m")]);
    assert_eq!(
        got[0].1,
        vec![(1, STALE_NAN.to_bits()), (2, other_nan.to_bits())]
    );
}

#[test]
fn chunks_are_cut_like_prometheus() {
    let h = head();
    let s = labels!("__name__" => "m");
    let mut app = h.appender();
    // 15s scrapes over 4h: 960 samples; chunks of 120, none crossing a 2h boundary.
    for i in 0..960i64 {
        app.append(0, &s, i * 15_000, Sample::Float(i as f64))
            .unwrap();
        app.commit().unwrap();
    }
    let series = h.series_by_id(1).unwrap();
    let st = series.state.lock();
    let mut sizes: Vec<usize> = st
        .full
        .iter()
        .map(firewatch_tsdb::head::chunk::FullChunk::num_samples)
        .collect();
    sizes.push(st.head.as_ref().unwrap().data.num_samples());
    assert_eq!(sizes, vec![120; 8]);
    for c in &st.full {
        assert_eq!(
            c.min_t / 7_200_000,
            c.max_t / 7_200_000,
            "chunk crosses a block boundary"
        );
    }
    drop(st);
    let got =
        queried_float_sample_bits(&h.querier(0, i64::MAX), &[Matcher::equal("__name__", "m")]);
    assert_eq!(got[0].1.len(), 960);
    // Seek across chunks.
    let q = h.querier(0, i64::MAX);
    let set = q
        .select(true, None, &[Matcher::equal("__name__", "m")])
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let mut it = set.iter();
    assert_eq!(it.seek(1_800_001), ValueType::Float);
    assert_eq!(it.at_t(), 1_815_000);
    assert_eq!(it.seek(0), ValueType::Float);
    assert_eq!(it.at_t(), 1_815_000);
    assert_eq!(it.seek(959 * 15_000 + 1), ValueType::None);
}

#[test]
fn replays_wal_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let series: Vec<Labels> = (0..50)
        .map(|i| labels!("__name__" => "m", "i" => i.to_string().as_str()))
        .collect();
    {
        let h = head_with_wal(dir.path());
        for t in 0..30i64 {
            let mut app = h.appender();
            for (i, s) in series.iter().enumerate() {
                app.append(0, s, t * 1000, Sample::Float((t * 100 + i as i64) as f64))
                    .unwrap();
            }
            app.commit().unwrap();
        }
        // Not closed: a crash. The data is in the OS's hands after each commit.
    }
    let h = head_with_wal(dir.path());
    assert_eq!(h.num_series(), 50);
    let got =
        queried_float_sample_bits(&h.querier(0, i64::MAX), &[Matcher::equal("__name__", "m")]);
    assert_eq!(got.len(), 50);
    for (labels, samples) in got {
        let i: i64 = labels.get("i").unwrap().parse().unwrap();
        let want: Vec<(i64, u64)> = (0..30)
            .map(|t| (t * 1000, ((t * 100 + i) as f64).to_bits()))
            .collect();
        assert_eq!(samples, want, "series {labels}");
    }
    // New series get references after the replayed ones, and appends continue.
    let mut app = h.appender();
    let r = app
        .append(0, &labels!("__name__" => "new"), 40_000, Sample::Float(1.0))
        .unwrap();
    assert_eq!(r, 51);
    assert!(matches!(
        app.append(0, &series[0], 29_000, Sample::Float(0.0)),
        Err(StorageError::DuplicateSampleForTimestamp)
    ));
    app.commit().unwrap();
}

#[test]
fn head_storage_is_appendable_and_queryable() {
    use storage::{Appendable, Queryable};
    let st = firewatch_tsdb::head::HeadStorage(head());
    let mut app = st.appender();
    app.append(0, &labels!("__name__" => "x"), 5, Sample::Float(2.5))
        .unwrap();
    app.commit().unwrap();
    let q = st.querier(0, 10).unwrap();
    assert_eq!(
        queried_float_sample_bits(&*q, &[Matcher::equal("__name__", "x")])[0].1,
        vec![(5, 2.5f64.to_bits())]
    );
    assert_eq!(q.label_values("__name__", None, &[]).unwrap(), vec!["x"]);
    assert_eq!(q.label_names(None, &[]).unwrap(), vec!["__name__"]);
}

#[test]
fn series_hint_returns_labels_without_samples() {
    let h = head();
    let mut app = h.appender();
    app.append(0, &labels!("__name__" => "a"), 100, Sample::Float(1.0))
        .unwrap();
    app.append(0, &labels!("__name__" => "b"), 5000, Sample::Float(1.0))
        .unwrap();
    app.commit().unwrap();
    let hints = storage::SelectHints {
        start: 0,
        end: 1000,
        func: Some("series".into()),
        ..Default::default()
    };
    let q = h.querier(0, 1000);
    let set: Vec<_> = q
        .select(
            true,
            Some(&hints),
            &[Matcher::new(MatchOp::RegexMatch, "__name__", ".+").unwrap()],
        )
        .unwrap()
        .collect();
    assert_eq!(set.len(), 1, "only the series with samples in range");
    let s = set.into_iter().next().unwrap().unwrap();
    assert_eq!(s.labels(), &labels!("__name__" => "a"));
    assert_eq!(s.iter().next(), ValueType::None);
}
