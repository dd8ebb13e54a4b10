//! Deleting series data: tombstones in blocks, removal in the head, a WAL tombstones record
//! replayed after a restart, and `clean_tombstones` rewriting blocks.

use std::collections::BTreeMap;

use firewatch_tsdb::{Db, DbOptions};
use model::{MatchOp, Matcher, Sample, labels};
use storage::ValueType;

const HOUR: i64 = 3_600_000;
const STEP: i64 = 60_000;

fn opts() -> DbOptions {
    DbOptions {
        wal_segment_size: 32 * 1024,
        ..DbOptions::default()
    }
}

fn read(db: &Db) -> BTreeMap<String, Vec<i64>> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let all = Matcher::new(MatchOp::RegexMatch, "__name__", ".*").unwrap();
    let mut out = BTreeMap::new();
    for s in q.select(true, None, &[all]).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == ValueType::Float {
            v.push(it.at().0);
        }
        out.insert(s.labels().get("i").unwrap().to_owned(), v);
    }
    out
}

fn expected(deleted: Option<(i64, i64)>) -> BTreeMap<String, Vec<i64>> {
    (0..4)
        .map(|i| {
            let ts = (0..5 * HOUR / STEP)
                .map(|k| k * STEP)
                .filter(|t| i != 3 || deleted.is_none_or(|(a, b)| *t < a || *t > b))
                .collect();
            (i.to_string(), ts)
        })
        .collect()
}

#[test]
fn delete_series_in_blocks_and_head() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    for k in 0..5 * HOUR / STEP {
        let mut app = db.appender();
        for i in 0..4 {
            app.append(
                0,
                &labels!("__name__" => "m", "i" => i.to_string().as_str()),
                k * STEP,
                Sample::Float(k as f64),
            )
            .unwrap();
        }
        app.commit().unwrap();
    }
    db.compact().unwrap();
    assert_eq!(db.blocks().len(), 1);
    let range = (HOUR + 30 * STEP, 3 * HOUR);
    db.delete(range.0, range.1, &[Matcher::equal("i", "3")])
        .unwrap();
    assert_eq!(read(&db), expected(Some(range)));
    assert_eq!(db.blocks()[0].tombstones().num_intervals(), 1);
    drop(db); // No close: the tombstones record must be in the WAL already.

    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(read(&db), expected(Some(range)), "after replay");
    db.clean_tombstones().unwrap();
    assert_eq!(db.blocks().len(), 1);
    assert!(db.blocks()[0].tombstones().is_empty());
    assert_eq!(db.blocks()[0].meta().stats.num_samples, 4 * 120 - 30);
    assert_eq!(read(&db), expected(Some(range)));
    db.close().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(read(&db), expected(Some(range)));
    // Deleting nothing that matches changes nothing.
    db.delete(0, 5 * HOUR, &[Matcher::equal("i", "nope")])
        .unwrap();
    assert_eq!(read(&db), expected(Some(range)));
    db.close().unwrap();
}
