//! Opening a data directory: the lock, reopening after close, and a WAL whose tail is
//! corrupt or whose segment is truncated (it opens with every record before the damage).

use firewatch_tsdb::wal;
use firewatch_tsdb::{Db, DbOptions};
use model::{Matcher, Sample, labels};
use storage::ValueType;

fn opts() -> DbOptions {
    DbOptions {
        wal_segment_size: 32 * 1024,
        wal_compression: false,
        ..DbOptions::default()
    }
}

fn write(db: &Db, from: i64, to: i64) {
    for t in from..to {
        let mut app = db.appender();
        for i in 0..5 {
            app.append(
                0,
                &labels!("__name__" => "m", "i" => i.to_string().as_str()),
                t * 1000,
                Sample::Float(t as f64),
            )
            .unwrap();
        }
        app.commit().unwrap();
    }
}

fn times(db: &Db) -> Vec<i64> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let s = q
        .select(true, None, &[Matcher::equal("i", "0")])
        .unwrap()
        .next();
    let Some(s) = s else { return Vec::new() };
    let s = s.unwrap();
    let mut it = s.iter();
    let mut out = Vec::new();
    while it.next() == ValueType::Float {
        out.push(it.at().0 / 1000);
    }
    out
}

#[test]
fn lock_file_excludes_a_second_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let err = Db::open(dir.path(), opts()).unwrap_err();
    assert!(err.to_string().contains("lock"), "{err}");
    db.close().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    db.close().unwrap();
    db.close().unwrap();
    assert!(matches!(
        db.querier(0, 1),
        Err(storage::StorageError::Closed)
    ));
}

#[test]
fn reopens_with_all_samples() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, 0, 500);
    db.close().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(times(&db), (0..500).collect::<Vec<_>>());
    write(&db, 500, 600);
    db.close().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(times(&db), (0..600).collect::<Vec<_>>());
}

#[test]
fn corrupt_tail_and_truncated_segment_still_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, 0, 1500);
    db.close().unwrap();
    let wal_dir = dir.path().join("wal");
    let segs = wal::list_segments(&wal_dir).unwrap();
    assert!(segs.len() >= 3, "want several segments, got {}", segs.len());

    // Flip bytes near the end of the last segment holding data.
    let last = segs
        .iter()
        .rev()
        .find(|s| std::fs::metadata(&s.path).unwrap().len() > 0)
        .unwrap();
    let mut data = std::fs::read(&last.path).unwrap();
    let end = data.iter().rposition(|&b| b != 0).unwrap();
    for b in &mut data[end - 40..end - 30] {
        *b ^= 0xff;
    }
    std::fs::write(&last.path, &data).unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let got = times(&db);
    assert!(got.len() > 1300 && got.len() < 1500, "kept {}", got.len());
    assert_eq!(
        got,
        (0..got.len() as i64).collect::<Vec<_>>(),
        "a prefix survives"
    );
    write(&db, got.len() as i64, 1600);
    db.close().unwrap();

    // Truncate the newest segment with data in the middle of a record.
    let segs = wal::list_segments(&wal_dir).unwrap();
    let last = segs
        .iter()
        .rev()
        .find(|s| std::fs::metadata(&s.path).unwrap().len() > 0)
        .unwrap();
    let data = std::fs::read(&last.path).unwrap();
    let end = data.iter().rposition(|&b| b != 0).unwrap();
    std::fs::write(&last.path, &data[..end - 20]).unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let got = times(&db);
    assert!(got.len() >= 1590 && got.len() < 1600, "kept {}", got.len());
    assert_eq!(got, (0..got.len() as i64).collect::<Vec<_>>());
    db.close().unwrap();
}
