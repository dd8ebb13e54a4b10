//! Full head chunks go to `chunks_head/` and are memory-mapped: memory holds only open
//! chunks, and a restart (clean or not) rebuilds series from mapped chunks plus the WAL.

use std::sync::Arc;

use firewatch_tsdb::head::chunk::ChunkLoc;
use firewatch_tsdb::head::{Head, HeadOptions};
use firewatch_tsdb::wal::WalOptions;
use model::{Labels, Matcher, Sample, labels};
use storage::Appender;

const SERIES: usize = 20;
const SAMPLES: i64 = 400;

fn open(dir: &std::path::Path) -> Arc<Head> {
    Arc::new(Head::open(HeadOptions::default(), dir, WalOptions::default(), i64::MIN).unwrap())
}

fn series() -> Vec<Labels> {
    (0..SERIES)
        .map(|i| labels!("__name__" => "m", "i" => i.to_string().as_str()))
        .collect()
}

fn fill(h: &Arc<Head>) {
    let series = series();
    for t in 0..SAMPLES {
        let mut app = h.appender();
        for (i, s) in series.iter().enumerate() {
            app.append(0, s, t * 1000, Sample::Float((t * 1000 + i as i64) as f64))
                .unwrap();
        }
        app.commit().unwrap();
    }
}

fn check_all(h: &Arc<Head>) {
    let got = h
        .querier(0, i64::MAX)
        .select_series(&[Matcher::equal("__name__", "m")], None)
        .unwrap();
    assert_eq!(got.len(), SERIES);
    for s in got {
        let i: i64 = s.labels_ref().get("i").unwrap().parse().unwrap();
        let want: Vec<(i64, f64)> = (0..SAMPLES)
            .map(|t| (t * 1000, (t * 1000 + i) as f64))
            .collect();
        assert_eq!(s.samples(), want);
    }
}

fn check_mapped(h: &Arc<Head>) {
    let s = h.series_by_id(1).unwrap();
    let st = s.state.lock();
    assert!(st.full.len() >= 2, "400 samples make several chunks");
    assert!(
        st.full.iter().all(|c| matches!(c.loc, ChunkLoc::Disk(..))),
        "full chunks are on disk"
    );
}

#[test]
fn full_chunks_are_mapped_and_survive_a_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    fill(&h);
    check_mapped(&h);
    check_all(&h);
    // Memory holds only the open chunks: far less than the raw samples.
    let raw = SERIES * SAMPLES as usize * 16;
    assert!(
        h.chunk_bytes() * 10 < raw,
        "{} bytes in memory for {raw} raw",
        h.chunk_bytes()
    );
    h.close().unwrap();
    drop(h);
    assert!(
        std::fs::read_dir(dir.path().join("chunks_head"))
            .unwrap()
            .count()
            >= 1
    );
    let h = open(dir.path());
    check_mapped(&h);
    check_all(&h);
}

#[test]
fn crash_without_flushing_chunks_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    fill(&h);
    drop(h); // No close: buffered head chunks never reach the file; the WAL has the samples.
    let h = open(dir.path());
    check_all(&h);
    // Appends continue after the replayed samples.
    let mut app = h.appender();
    app.append(0, &series()[0], SAMPLES * 1000, Sample::Float(1.0))
        .unwrap();
    app.commit().unwrap();
}
