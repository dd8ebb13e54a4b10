//! A full disk during the TSDB's maintenance (issue 16, item 2): the data directory on one
//! small tmpfs and `wal/` on another, each filled in turn while the WAL is checkpointed, the
//! head is compacted into a block and blocks are merged. Each time: the step fails with an
//! error naming "No space left", the `prometheus_tsdb_*` failure counter moves, a log line
//! says what failed, no temporary directory is left taking space, queries answer every
//! acknowledged sample, commits are refused (not half-done) while the WAL's disk is full,
//! and the step succeeds once space returns. After a reopen every acknowledged sample is there.
//! And an `fsync` that fails (ext4 on a loop device whose image cannot grow) refuses the
//! commit instead of acknowledging samples that may not be on disk.

use std::path::Path;

use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, Matcher, Sample, labels};
use storage::ValueType;
use testkit::tmpfs::{FailingDisk, Tmpfs};

mod log_capture;
use log_capture::with_log;

const TEST: &str = "full_disk_during_checkpoint_head_and_block_compaction";
const SERIES: usize = 1_000;
const STEP: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const MIB: u64 = 1 << 20;

/// Series `i`, with two labels of 64 hex digits each so that the series records (which a
/// checkpoint keeps) take more room than a full disk leaves.
fn series_labels(i: usize) -> Labels {
    let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut hex = || {
        (0..4)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("{x:016x}")
            })
            .collect::<String>()
    };
    let (a, b) = (hex(), hex());
    labels!("__name__" => "disk_fault", "a" => a.as_str(), "b" => b.as_str(), "i" => i.to_string().as_str())
}

/// Ingestion with what was acknowledged.
struct Ingest {
    refs: Vec<u64>,
    /// The next timestamp to write.
    t: i64,
    /// Timestamps committed for every series (commits are all or nothing).
    acked: Vec<i64>,
}

impl Ingest {
    /// Commits one sample at the next timestamp for every series; the value is the timestamp.
    fn commit(&mut self, db: &Db) -> Result<(), storage::StorageError> {
        let t = self.t;
        self.t += STEP;
        self.refs.resize(SERIES, 0);
        let mut app = db.appender();
        for (i, r) in self.refs.iter_mut().enumerate() {
            *r = app.append(*r, &series_labels(i), t, Sample::Float(t as f64))?;
        }
        app.commit()?;
        self.acked.push(t);
        Ok(())
    }

    /// Commits until the next timestamp is `until`; every commit must succeed.
    fn until(&mut self, db: &Db, until: i64) {
        while self.t < until {
            self.commit(db).unwrap();
        }
    }

    /// Every series holds exactly the acknowledged samples, values intact.
    fn check(&self, db: &Db, when: &str) {
        let q = db.querier(i64::MIN, i64::MAX).unwrap();
        let mut seen = 0;
        for s in q
            .select(true, None, &[Matcher::equal("__name__", "disk_fault")])
            .unwrap()
        {
            let s = s.unwrap();
            let i = s.labels().get("i").unwrap().to_string();
            let mut it = s.iter();
            let mut ts = Vec::new();
            while it.next() == ValueType::Float {
                let (t, v) = it.at();
                assert_eq!(v, t as f64, "{when}: series {i} at {t}");
                ts.push(t);
            }
            assert!(it.err().is_none(), "{when}: series {i}: {:?}", it.err());
            assert!(
                ts == self.acked,
                "{when}: series {i} differs from the acknowledged samples ({} vs {})",
                ts.len(),
                self.acked.len()
            );
            seen += 1;
        }
        assert_eq!(seen, SERIES, "{when}: series answered");
    }
}

/// The value of the counter `name` among the database's metrics.
fn metric(db: &Db, name: &str) -> f64 {
    let mut families = Vec::new();
    metrics::Collector::collect(db, &mut families);
    let text = model::exposition::encode_text(&families);
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from the metrics:\n{text}"))
}

/// Directories under `dir` (recursively) whose name says they were being written.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            if name.ends_with(".tmp") || name.contains(".tmp-for-") {
                out.push(e.path().display().to_string());
            }
            out.extend(leftovers(&e.path()));
        }
    }
    out
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.path().is_dir() {
                dir_size(&e.path())
            } else {
                e.metadata().unwrap().len()
            }
        })
        .sum()
}

#[test]
fn full_disk_during_checkpoint_head_and_block_compaction() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let Some(blocks_fs) = Tmpfs::mount(TEST, &data, 48 * MIB) else {
        return;
    };
    let Some(wal_fs) = Tmpfs::mount(TEST, &data.join("wal"), 16 * MIB) else {
        return;
    };
    let opts = DbOptions {
        wal_segment_size: 256 * 1024,
        ..DbOptions::default()
    };
    let db = Db::open(&data, opts.clone()).unwrap();
    let mut ing = Ingest {
        refs: Vec::new(),
        t: 0,
        acked: Vec::new(),
    };

    // 1. The WAL's disk fills while the head is compacted: the block is written (its disk
    // has room), the checkpoint is not.
    ing.until(&db, 3 * HOUR + 10 * STEP);
    let filler = wal_fs.fill(40 * 1024);
    let (res, log) = with_log(|| db.compact());
    let err = res.expect_err("the checkpoint cannot be written on a full disk");
    assert!(err.to_string().contains("No space left"), "{err}");
    assert!(log.contains("WAL checkpoint failed"), "log:\n{log}");
    assert_eq!(
        metric(&db, "prometheus_tsdb_checkpoint_creations_failed_total"),
        1.0
    );
    assert_eq!(db.blocks().len(), 1, "the head block is written and served");
    assert_eq!(leftovers(&data), Vec::<String>::new());
    ing.check(&db, "after the failed checkpoint");
    // Ingestion pauses: commits are refused once the little space left is used.
    let (refused, log) = with_log(|| {
        let mut refused = 0;
        for _ in 0..50 {
            if ing.commit(&db).is_err() {
                refused += 1;
                if refused == 3 {
                    break;
                }
            }
        }
        refused
    });
    assert_eq!(refused, 3, "commits go on with the WAL's disk full");
    assert!(log.contains("WAL write failed"), "log:\n{log}");
    assert!(metric(&db, "prometheus_tsdb_wal_writes_failed_total") >= 3.0);
    ing.check(&db, "while the WAL's disk is full");
    // Space returns: the checkpoint is retried at the next maintenance, commits resume.
    filler.release();
    db.compact().unwrap();
    assert!(
        std::fs::read_dir(data.join("wal")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("checkpoint.")),
        "the retried checkpoint is written"
    );
    assert_eq!(
        metric(&db, "prometheus_tsdb_checkpoint_creations_total"),
        2.0
    );
    ing.commit(&db).unwrap();

    // 2. The blocks' disk fills before the head is compacted: no block, the head keeps
    // everything and commits go on (the WAL has room).
    ing.until(&db, 5 * HOUR + 10 * STEP);
    let filler = blocks_fs.fill(64 * 1024);
    let (res, log) = with_log(|| db.compact());
    let err = res.expect_err("the head block cannot be written on a full disk");
    assert!(err.to_string().contains("No space left"), "{err}");
    assert!(log.contains("compaction failed"), "log:\n{log}");
    assert_eq!(metric(&db, "prometheus_tsdb_compactions_failed_total"), 1.0);
    assert_eq!(db.blocks().len(), 1);
    assert_eq!(leftovers(&data), Vec::<String>::new());
    ing.check(&db, "after the failed head compaction");
    for _ in 0..5 {
        ing.commit(&db).unwrap();
    }
    filler.release();
    db.compact().unwrap();
    assert_eq!(db.blocks().len(), 2);
    ing.check(&db, "after the head compaction");

    // 3. The blocks' disk has room for the next head block but not for merging the first
    // three (a full 6h range once a newer block exists, as Prometheus plans): the head block
    // is served, the merge fails and is retried.
    ing.until(&db, 7 * HOUR + 10 * STEP);
    db.compact().unwrap();
    assert_eq!(db.blocks().len(), 3);
    ing.until(&db, 9 * HOUR + 10 * STEP);
    let block_size = db.blocks().iter().map(|b| dir_size(b.dir())).max().unwrap();
    let filler = blocks_fs.fill(block_size * 3 / 2);
    let (res, log) = with_log(|| db.compact());
    let err = res.expect_err("the merged block cannot be written on a full disk");
    assert!(err.to_string().contains("No space left"), "{err}");
    assert!(log.contains("compaction failed"), "log:\n{log}");
    assert_eq!(metric(&db, "prometheus_tsdb_compactions_failed_total"), 2.0);
    assert_eq!(db.blocks().len(), 4, "the new head block is served");
    assert_eq!(leftovers(&data), Vec::<String>::new());
    ing.check(&db, "after the failed merge");
    filler.release();
    db.compact().unwrap();
    assert_eq!(db.blocks().len(), 2, "the first three blocks are merged");
    ing.check(&db, "after the merge");
    for _ in 0..5 {
        ing.commit(&db).unwrap();
    }
    db.close().unwrap();
    drop(db);

    let db = Db::open(&data, opts).unwrap();
    ing.check(&db, "after reopening");
    assert_eq!(leftovers(&data), Vec::<String>::new());
    db.close().unwrap();
    drop(db);
    drop(wal_fs);
    drop(blocks_fs);
}

#[test]
fn fsync_errors_refuse_the_commit() {
    const FSYNC_TEST: &str = "fsync_errors_refuse_the_commit";
    let root = tempfile::tempdir().unwrap();
    let Some(backing) = Tmpfs::mount(FSYNC_TEST, &root.path().join("backing"), 8 * MIB) else {
        return;
    };
    let Some(disk) = FailingDisk::mount(FSYNC_TEST, &backing, &root.path().join("data"), 64 * MIB)
    else {
        return;
    };
    let opts = DbOptions {
        wal_segment_size: 256 * 1024,
        wal_sync_on_commit: true,
        ..DbOptions::default()
    };
    let db = Db::open(&disk.path().join("tsdb"), opts).unwrap();
    let mut ing = Ingest {
        refs: Vec::new(),
        t: 0,
        acked: Vec::new(),
    };
    for _ in 0..3 {
        ing.commit(&db).unwrap();
    }
    // Writes still land in the page cache; their writeback to the image fails, so must the
    // fsync of every commit.
    let filler = backing.fill(0);
    let (errors, log) = with_log(|| {
        let mut errors = Vec::new();
        for _ in 0..200 {
            if let Err(e) = ing.commit(&db) {
                errors.push(e.to_string());
                if errors.len() == 3 {
                    break;
                }
            }
        }
        errors
    });
    assert_eq!(errors.len(), 3, "commits acknowledged although fsync fails");
    assert!(
        errors[0].contains("fsync"),
        "the first refusal names the failed fsync: {errors:?}"
    );
    assert!(log.contains("WAL write failed"), "log:\n{log}");
    assert!(metric(&db, "prometheus_tsdb_wal_writes_failed_total") >= 3.0);
    ing.check(&db, "after failed fsyncs");
    drop(filler);
    // The file system may have gone read-only: closing may fail, but must not panic.
    let _ = db.close();
}
