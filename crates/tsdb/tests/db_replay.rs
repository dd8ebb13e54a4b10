//! Restart correctness (issue 15 item 4): every committed sample is back after a restart
//! that replays a WAL checkpoint written in the middle of the log, the segments after it, and
//! a tail written after the last compaction and never closed (the process dropped the
//! database without `close`, as a kill would).
//!
//! Firewatch has no chunk snapshot on shutdown (`memory-snapshot-on-shutdown`) yet; this is
//! the plain-replay half of that guarantee.

use std::collections::BTreeMap;

use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, MatchOp, Matcher, Sample, labels};

mod float_samples;
use float_samples::float_samples;

const HOUR: i64 = 3_600_000;
const STEP: i64 = 15_000;

fn opts() -> DbOptions {
    DbOptions {
        // Small segments so the checkpoint covers several of them and the tail others.
        wal_segment_size: 32 * 1024,
        ..DbOptions::default()
    }
}

fn series(n: usize, job: &str) -> Vec<Labels> {
    (0..n)
        .map(|i| labels!("__name__" => "replay", "job" => job, "i" => i.to_string().as_str()))
        .collect()
}

type Data = BTreeMap<String, Vec<(i64, f64)>>;

/// Appends one sample per series every 15 s in `[from, to)`, recording them in `want`.
fn write(db: &Db, series: &[Labels], from: i64, to: i64, want: &mut Data) {
    let mut t = from;
    while t < to {
        let mut app = db.appender();
        for (i, s) in series.iter().enumerate() {
            // Values that are neither monotonic nor regular, so every sample is checked.
            let v = ((t / STEP) as f64 * 1.5 + i as f64).sin() * 100.0;
            app.append(0, s, t, Sample::Float(v)).unwrap();
            want.entry(s.to_string()).or_default().push((t, v));
        }
        app.commit().unwrap();
        t += STEP;
    }
}

fn read(db: &Db) -> Data {
    float_samples(
        db,
        Matcher::new(MatchOp::RegexMatch, "__name__", ".+").unwrap(),
    )
}

fn wal_entries(db: &Db) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(db.dir().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn every_sample_is_back_after_replaying_a_checkpoint_and_an_unclosed_tail() {
    let dir = tempfile::tempdir().unwrap();
    let mut want = Data::new();
    let steady = series(20, "steady");
    // Series that stop before the checkpoint: their samples live on in the block only.
    let gone = series(5, "gone");
    // Series first seen after the checkpoint: only the WAL tail has their series records.
    let late = series(5, "late");

    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, &gone, 0, HOUR, &mut want);
    write(&db, &steady, 0, 4 * HOUR, &mut want);
    db.compact().unwrap();
    let entries = wal_entries(&db);
    assert!(
        entries.iter().any(|e| e.starts_with("checkpoint.")),
        "compaction wrote a WAL checkpoint: {entries:?}"
    );
    assert!(
        entries
            .iter()
            .filter(|e| e.bytes().all(|b| b.is_ascii_digit()))
            .count()
            >= 2,
        "segments after the checkpoint: {entries:?}"
    );
    assert!(
        !db.blocks().is_empty(),
        "the head was compacted into a block"
    );
    assert_eq!(db.head().num_series(), steady.len());
    // The tail: more samples for the checkpointed series and new ones, never closed.
    write(&db, &steady, 4 * HOUR, 5 * HOUR, &mut want);
    write(&db, &late, 4 * HOUR + 7 * STEP, 5 * HOUR, &mut want);
    let before = read(&db);
    assert_eq!(before, want, "everything answers before the restart");
    drop(db);

    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.head().num_series(), steady.len() + late.len());
    let after = read(&db);
    assert_eq!(after.len(), want.len());
    for (s, samples) in &want {
        assert_eq!(after.get(s), Some(samples), "{s} after the restart");
    }
    // Appending goes on after the replay, and a clean close and reopen keeps it all.
    write(&db, &steady, 5 * HOUR, 5 * HOUR + 10 * STEP, &mut want);
    write(&db, &late, 5 * HOUR, 5 * HOUR + 10 * STEP, &mut want);
    db.close().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(read(&db), want);
    db.close().unwrap();
}
