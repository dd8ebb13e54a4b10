//! Settings applied on a configuration reload (`Db::apply_config`, as Prometheus's
//! `db.ApplyConfig`): the out-of-order window opens and closes on a running database (the
//! write-behind log is created when it first opens), the exemplar buffer is resized keeping
//! the newest exemplars; and a snapshot of the head carries its out-of-order samples.

mod db_common;

use std::collections::BTreeMap;

use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, Matcher, Sample, labels};
use storage::{Exemplar, ExemplarQueryable, StorageError};

const MIN: i64 = 60_000;
/// A time well past zero, so that the head's range checks are not in play.
const END: i64 = 100 * 60 * MIN;

fn series(i: usize) -> Labels {
    labels!("__name__" => "fw_reload", "job" => "reload", "i" => i.to_string().as_str())
}

/// Every float sample by series.
fn dump(db: &Db) -> BTreeMap<String, Vec<(i64, f64)>> {
    db_common::dump_floats(db, "reload")
}

/// In-order samples every minute of the hour before `END` for two series.
fn fill_in_order(db: &Db) -> BTreeMap<String, Vec<(i64, f64)>> {
    let mut want: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for k in 0..=60 {
        let mut app = db.appender();
        for i in 0..2 {
            let (t, v) = (END - 60 * MIN + k * MIN, (k * 10 + i) as f64);
            app.append(0, &series(i as usize), t, Sample::Float(v))
                .unwrap();
            want.entry(series(i as usize).to_string())
                .or_default()
                .push((t, v));
        }
        app.commit().unwrap();
    }
    want
}

#[test]
fn out_of_order_window_opens_and_closes_on_reload() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path(), DbOptions::default()).unwrap();
    let mut want = fill_in_order(&db);
    let late = END - 10 * MIN + 30_000;
    let mut app = db.appender();
    assert!(matches!(
        app.append(0, &series(0), late, Sample::Float(-1.0)),
        Err(StorageError::OutOfOrderSample)
    ));
    app.rollback().unwrap();
    assert!(!tmp.path().join("wbl").exists(), "no WBL while closed");

    db.apply_config(0, 30 * MIN).unwrap();
    assert_eq!(db.head().ooo_window(), 30 * MIN);
    assert!(
        tmp.path().join("wbl").is_dir(),
        "opening the window creates wbl/"
    );
    let mut app = db.appender();
    app.append(0, &series(0), late, Sample::Float(-1.0))
        .unwrap();
    // The window's edge is measured from the head's newest sample.
    assert!(matches!(
        app.append(0, &series(1), END - 31 * MIN, Sample::Float(-2.0)),
        Err(StorageError::TooOldSample)
    ));
    app.commit().unwrap();
    let s0 = want.get_mut(&series(0).to_string()).unwrap();
    s0.push((late, -1.0));
    s0.sort_by_key(|s| s.0);
    assert_eq!(dump(&db), want);

    // Closing it refuses out-of-order samples again; the log stays.
    db.apply_config(0, 0).unwrap();
    let mut app = db.appender();
    assert!(matches!(
        app.append(0, &series(1), late, Sample::Float(-3.0)),
        Err(StorageError::OutOfOrderSample)
    ));
    app.rollback().unwrap();
    db.close().unwrap();
    drop(db);

    // The sample taken while the window was open was logged to the new WBL: a restart
    // (with the window closed, as the options say) replays it.
    let db = Db::open(tmp.path(), DbOptions::default()).unwrap();
    assert_eq!(dump(&db), want, "after restart");
    db.close().unwrap();
}

fn exemplar(ts: i64) -> Exemplar {
    Exemplar {
        labels: labels!("trace_id" => ts.to_string().as_str()),
        value: ts as f64,
        ts,
        has_ts: true,
    }
}

/// Timestamps of the stored exemplars of `series(0)`.
fn exemplar_times(db: &Db) -> Vec<i64> {
    db.select_exemplars(i64::MIN, i64::MAX, &[vec![Matcher::equal("job", "reload")]])
        .unwrap()
        .into_iter()
        .flat_map(|s| s.exemplars.into_iter().map(|e| e.ts))
        .collect()
}

#[test]
fn exemplar_buffer_is_resized_on_reload_keeping_the_newest() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path(), DbOptions::default()).unwrap();
    let add = |from: i64, to: i64| {
        let mut app = db.appender();
        for ts in from..=to {
            let r = app.append(0, &series(0), ts, Sample::Float(1.0)).unwrap();
            app.append_exemplar(r, &series(0), &exemplar(ts)).unwrap();
        }
        app.commit().unwrap();
    };
    add(1, 3);
    assert!(exemplar_times(&db).is_empty(), "exemplars are off at 0");

    db.apply_config(4, 0).unwrap();
    assert_eq!(db.head().exemplars.capacity(), 4);
    add(4, 9);
    assert_eq!(exemplar_times(&db), vec![6, 7, 8, 9]);

    db.apply_config(2, 0).unwrap();
    assert_eq!(exemplar_times(&db), vec![8, 9]);
    add(10, 10);
    assert_eq!(exemplar_times(&db), vec![9, 10]);

    db.apply_config(0, 0).unwrap();
    assert!(exemplar_times(&db).is_empty());
    db.close().unwrap();
}

#[test]
fn head_snapshot_includes_out_of_order_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = DbOptions {
        out_of_order_time_window: 30 * MIN,
        // Small OOO chunks: some of the late samples are in mapped chunks, some in memory.
        out_of_order_cap_max: 4,
        ..DbOptions::default()
    };
    let db = Db::open(&tmp.path().join("data"), opts.clone()).unwrap();
    let mut want = fill_in_order(&db);
    for k in (40..60).rev() {
        let mut app = db.appender();
        for i in 0..2 {
            let (t, v) = (END - 60 * MIN + k * MIN + 30_000, -(k as f64) - i as f64);
            app.append(0, &series(i), t, Sample::Float(v)).unwrap();
            want.get_mut(&series(i).to_string()).unwrap().push((t, v));
        }
        app.commit().unwrap();
    }
    for v in want.values_mut() {
        v.sort_by_key(|s| s.0);
    }
    assert_eq!(dump(&db), want);

    let snap = tmp.path().join("snap");
    db.snapshot(&snap, true).unwrap();
    db.close().unwrap();
    let copy = Db::open(&snap, DbOptions::default()).unwrap();
    assert_eq!(copy.blocks().len(), 1, "the head as one block");
    let meta = copy.blocks()[0].meta().clone();
    assert_eq!((meta.min_time, meta.max_time), (END - 60 * MIN, END + 1));
    assert_eq!(meta.stats.num_samples, 2 * (61 + 20));
    assert!(copy.head().is_empty());
    assert_eq!(dump(&copy), want);
    copy.close().unwrap();
}
