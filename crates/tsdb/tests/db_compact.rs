//! Compaction: the head is cut into 2h blocks, blocks are merged by the leveled planner,
//! retention deletes old blocks, the WAL is checkpointed, and every sample stays readable —
//! by us after reopening, and by `promtool tsdb dump` (Prometheus 2.42) on the same directory.

use std::collections::BTreeMap;
use std::process::Command;

use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, MatchOp, Matcher, Sample, labels};

mod float_samples;
use float_samples::float_samples;

const HOUR: i64 = 3_600_000;

fn opts() -> DbOptions {
    DbOptions {
        wal_segment_size: 32 * 1024,
        ..DbOptions::default()
    }
}

fn series() -> Vec<Labels> {
    (0..8)
        .map(|i| labels!("__name__" => "m", "i" => i.to_string().as_str(), "job" => "j"))
        .collect()
}

/// Appends one sample per series every `step` in `[from, to)`.
fn write(db: &Db, from: i64, to: i64, step: i64) {
    let series = series();
    let mut t = from;
    while t < to {
        let mut app = db.appender();
        for (i, s) in series.iter().enumerate() {
            app.append(0, s, t, Sample::Float((t / 1000) as f64 + i as f64))
                .unwrap();
        }
        app.commit().unwrap();
        t += step;
    }
}

fn read(db: &Db) -> BTreeMap<String, Vec<(i64, f64)>> {
    float_samples(
        db,
        Matcher::new(MatchOp::RegexMatch, "__name__", ".*").unwrap(),
    )
}

fn expected(from: i64, to: i64, step: i64) -> BTreeMap<String, Vec<(i64, f64)>> {
    series()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let v = (0..)
                .map(|k| from + k * step)
                .take_while(|t| *t < to)
                .map(|t| (t, (t / 1000) as f64 + i as f64))
                .collect();
            (s.to_string(), v)
        })
        .collect()
}

#[test]
fn head_is_cut_into_blocks_and_wal_checkpointed() {
    if !testkit::peers(
        "tsdb::db_compact::head_is_cut_into_blocks_and_wal_checkpointed",
        &["promtool"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, 0, 5 * HOUR, 15_000);
    db.compact().unwrap();
    let blocks = db.blocks();
    assert_eq!(blocks.len(), 1);
    assert_eq!(
        (blocks[0].meta().min_time, blocks[0].meta().max_time),
        (0, 2 * HOUR)
    );
    assert_eq!(blocks[0].meta().stats.num_series, 8);
    assert_eq!(blocks[0].meta().stats.num_samples, 8 * 480);
    assert_eq!(db.head().min_time(), 2 * HOUR);
    assert_eq!(read(&db), expected(0, 5 * HOUR, 15_000));
    assert!(
        std::fs::read_dir(dir.path().join("wal"))
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("checkpoint.")),
        "the WAL is checkpointed after head compaction"
    );
    // Samples before the block's end are refused now.
    let mut app = db.appender();
    let old = app.append(0, &series()[0], HOUR, Sample::Float(1.0));
    assert!(
        matches!(old, Err(storage::StorageError::OutOfBounds)),
        "{old:?}"
    );
    drop(app);
    db.close().unwrap();

    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.blocks().len(), 1);
    assert_eq!(read(&db), expected(0, 5 * HOUR, 15_000));
    db.close().unwrap();

    // Prometheus's own tool reads our blocks, checkpoint and WAL.
    let out = Command::new("promtool")
        .arg("tsdb")
        .arg("dump")
        .arg(dir.path())
        .output()
        .expect("promtool must be installed");
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut dumped: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let (labels, rest) = line.rsplit_once("} ").unwrap();
        let (v, t) = rest.split_once(' ').unwrap();
        dumped
            .entry(format!("{labels}}}"))
            .or_default()
            .push((t.parse().unwrap(), v.parse().unwrap()));
    }
    for v in dumped.values_mut() {
        v.sort_by_key(|s| s.0);
        v.dedup_by_key(|s| s.0);
    }
    assert_eq!(dumped, expected(0, 5 * HOUR, 15_000));
}

#[test]
fn leveled_compaction_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    // 21 hours at one sample a minute, compacting as a server would every "hour".
    for h in 0..21 {
        write(&db, h * HOUR, (h + 1) * HOUR, 60_000);
        db.compact().unwrap();
    }
    let ranges: Vec<(i64, i64, u32)> = db
        .blocks()
        .iter()
        .map(|b| {
            (
                b.meta().min_time / HOUR,
                b.meta().max_time / HOUR,
                b.meta().compaction.level,
            )
        })
        .collect();
    // Head keeps [18h, 21h). As in Prometheus, the newest block is left out of planning, and a
    // group is merged once it fills its range or lies before the newest planned block: 2h
    // blocks up to 12h became 6h blocks; [12h, 18h) waits for a block after it.
    assert_eq!(
        ranges,
        vec![(0, 6, 2), (6, 12, 2), (12, 14, 1), (14, 16, 1), (16, 18, 1)],
        "blocks {ranges:?}"
    );
    assert_eq!(read(&db), expected(0, 21 * HOUR, 60_000));
    db.close().unwrap();

    // Reopen with 7h retention: blocks ending more than 7h before the newest block's end go.
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention_ms: 7 * HOUR,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(
        read(&db),
        expected(0, 21 * HOUR, 60_000),
        "retention runs on compaction, not open"
    );
    db.apply_retention().unwrap();
    let left: Vec<i64> = db
        .blocks()
        .iter()
        .map(|b| b.meta().min_time / HOUR)
        .collect();
    assert_eq!(left, vec![6, 12, 14, 16]);
    assert_eq!(read(&db), expected(6 * HOUR, 21 * HOUR, 60_000));
    db.close().unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.path().join("meta.json").exists())
            .count(),
        4
    );
}

#[test]
fn size_retention_deletes_oldest_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path(),
        DbOptions {
            max_block_duration: 2 * HOUR,
            ..opts()
        },
    )
    .unwrap();
    write(&db, 0, 9 * HOUR, 60_000);
    db.compact().unwrap();
    let all = db.blocks();
    assert_eq!(
        all.len(),
        3,
        "2h blocks [0,6h) stay unmerged with a 2h maximum"
    );
    let newest_size = all.last().unwrap().size();
    db.close().unwrap();
    let head_bytes: u64 = ["wal", "chunks_head"]
        .iter()
        .map(|d| {
            std::fs::read_dir(dir.path().join(d))
                .unwrap()
                .flatten()
                .map(|e| {
                    e.metadata()
                        .map_or(0, |m| if m.is_dir() { 0 } else { m.len() })
                })
                .sum::<u64>()
        })
        .sum();
    let limit = head_bytes + newest_size + newest_size / 2;
    let db = Db::open(
        dir.path(),
        DbOptions {
            max_block_duration: 2 * HOUR,
            max_bytes: limit,
            ..opts()
        },
    )
    .unwrap();
    db.apply_retention().unwrap();
    let left: Vec<i64> = db
        .blocks()
        .iter()
        .map(|b| b.meta().min_time / HOUR)
        .collect();
    assert_eq!(left, vec![4]);
    db.close().unwrap();
}

#[test]
fn compaction_runs_while_appending() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::sync::Arc::new(Db::open(dir.path(), opts()).unwrap());
    // The compactor runs until the writer is done, at least once; whether a
    // run overlaps a commit is up to the scheduler, and every outcome must
    // leave the same samples.
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let compactor = {
        let (db, writing) = (db.clone(), writing.clone());
        std::thread::spawn(move || {
            loop {
                db.compact().unwrap();
                if !writing.load(std::sync::atomic::Ordering::Acquire) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        })
    };
    write(&db, 0, 12 * HOUR, 30_000);
    writing.store(false, std::sync::atomic::Ordering::Release);
    compactor.join().unwrap();
    db.compact().unwrap();
    assert!(!db.blocks().is_empty());
    assert_eq!(read(&db), expected(0, 12 * HOUR, 30_000));
    db.close().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(read(&db), expected(0, 12 * HOUR, 30_000));
}

#[test]
fn snapshot_with_head_opens_as_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, 0, 5 * HOUR, 60_000);
    db.compact().unwrap();
    assert_eq!(db.blocks().len(), 1);
    let snap = tempfile::tempdir().unwrap();
    db.snapshot(snap.path(), true).unwrap();
    db.close().unwrap();
    let copy = Db::open(snap.path(), opts()).unwrap();
    assert_eq!(copy.blocks().len(), 2, "the block and the head as a block");
    assert!(copy.head().is_empty());
    assert_eq!(read(&copy), expected(0, 5 * HOUR, 60_000));
}
