//! A full disk during ingestion (the data directory on a 16 MiB tmpfs): commits fail with
//! "no space left" and nothing panics; when space returns, ingestion resumes on the same
//! `Db`, and after reopening every acknowledged sample is there and no refused one is.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, Matcher, Sample, labels};
use storage::ValueType;

const TEST: &str = "disk_full_ingestion_resumes_and_keeps_acknowledged_samples";
const SERIES: usize = 10_000;

/// A tmpfs mounted on a fresh directory; unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a `size` tmpfs, or says why it cannot.
    fn mount(size: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("running mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Fills the file system of `dir` with one file until all but `leave` bytes are taken.
fn fill(dir: &Path, leave: u64) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0xa5u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match f.write(&block) {
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    f.set_len(written.saturating_sub(leave)).unwrap();
    path
}

fn series_labels(i: usize) -> Labels {
    labels!("__name__" => "disk_full", "i" => i.to_string().as_str())
}

/// Commits one sample at `t` for series `0..n`; the value is `t`.
fn commit(db: &Db, refs: &mut Vec<u64>, n: usize, t: i64) -> Result<(), storage::StorageError> {
    refs.resize(n, 0);
    let mut app = db.appender();
    for (i, r) in refs.iter_mut().enumerate() {
        *r = app.append(*r, &series_labels(i), t, Sample::Float(t as f64))?;
    }
    app.commit()
}

/// The timestamps stored for each series.
fn read_all(db: &Db, n: usize) -> Vec<Vec<i64>> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let mut out = vec![Vec::new(); n];
    for s in q
        .select(true, None, &[Matcher::equal("__name__", "disk_full")])
        .unwrap()
    {
        let s = s.unwrap();
        let i: usize = s.labels().get("i").unwrap().parse().unwrap();
        let mut it = s.iter();
        while it.next() == ValueType::Float {
            let (t, v) = it.at();
            assert_eq!(v, t as f64, "series {i} at {t}");
            out[i].push(t);
        }
    }
    out
}

#[test]
fn disk_full_ingestion_resumes_and_keeps_acknowledged_samples() {
    let fs = match Tmpfs::mount("16m") {
        Ok(fs) => fs,
        Err(reason) => {
            testkit::skip(TEST, &reason);
            return;
        }
    };
    let data = fs.path().join("data");
    let opts = DbOptions {
        wal_segment_size: 1024 * 1024,
        ..DbOptions::default()
    };
    // Acknowledged timestamps of the first SERIES series, and of the series created while
    // the disk was full (SERIES..SERIES + 100).
    let mut acked: Vec<i64> = Vec::new();
    let mut acked_late: Vec<i64> = Vec::new();
    let mut refused: Vec<i64> = Vec::new();
    {
        let db = Db::open(&data, opts.clone()).unwrap();
        let mut refs = Vec::new();
        let mut t = 0i64;
        for _ in 0..3 {
            commit(&db, &mut refs, SERIES, t).unwrap();
            acked.push(t);
            t += 1000;
        }
        let filler = fill(fs.path(), 512 * 1024);
        // Ingest until the disk is full, then a few more times: each refused, none panics.
        let mut errors = Vec::new();
        while errors.len() < 5 {
            assert!(t < 1_000_000, "the disk never filled");
            // New series are created while the disk is full too: their series records
            // must reach the log once it can be written again.
            let n = if errors.is_empty() {
                SERIES
            } else {
                SERIES + 100
            };
            match commit(&db, &mut refs, n, t) {
                Ok(()) => acked.push(t),
                Err(e) => {
                    refused.push(t);
                    errors.push(e.to_string());
                }
            }
            t += 1000;
        }
        assert!(
            errors.iter().all(|e| e.contains("No space left")),
            "{errors:?}"
        );
        // prometheus_tsdb_wal_writes_failed_total
        let failed = db.head().wal_stats().unwrap().writes_failed;
        assert_eq!(failed, errors.len() as u64);
        // Space returns: the same Db takes samples again, of old and of new series.
        std::fs::remove_file(&filler).unwrap();
        for _ in 0..5 {
            commit(&db, &mut refs, SERIES + 100, t).unwrap();
            acked.push(t);
            acked_late.push(t);
            t += 1000;
        }
        db.close().unwrap();
    }
    let db = Db::open(&data, opts).unwrap();
    let got = read_all(&db, SERIES + 100);
    for (i, ts) in got.iter().enumerate() {
        let want = if i < SERIES { &acked } else { &acked_late };
        assert_eq!(ts, want, "series {i}: refused commits were at {refused:?}");
    }
    db.close().unwrap();
}
