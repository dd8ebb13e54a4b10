//! Tests of the agent's storage: what its WAL holds, restarts, validation, truncation.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use model::{Labels, Sample};
use storage::{Appendable, Appender, Metadata, StorageError};

use super::AgentDb;
use crate::head::WalHold;
use crate::wal::record::{self, Record};
use crate::wal::{PAGE_SIZE, WalOptions, WalReader};

fn opts() -> WalOptions {
    WalOptions {
        segment_size: PAGE_SIZE * 4,
        compress: true,
        sync_on_log: false,
    }
}

fn l(i: usize) -> Labels {
    Labels::from_pairs([("__name__", "m".to_owned()), ("i", i.to_string())])
}

/// Every record of the WAL (checkpoint first), decoded.
fn records(db: &AgentDb) -> Vec<Record> {
    let dir = db.dir().join("wal");
    let mut out = Vec::new();
    let mut from = None;
    if let Some(cp) = crate::wal::last_checkpoint(&dir).unwrap() {
        let mut r = WalReader::open_dir(&cp.dir).unwrap();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(record::decode(rec).unwrap());
        }
        from = Some(cp.index + 1);
    }
    let mut r = WalReader::open_range(&dir, from, None).unwrap();
    while let Some(rec) = r.next_record().unwrap() {
        out.push(record::decode(rec).unwrap());
    }
    out
}

/// Series references and labels, and (ref, t, v) samples, of a WAL.
type Contents = (Vec<(u64, Labels)>, Vec<(u64, i64, f64)>);

/// What the WAL of `db` holds.
fn contents(db: &AgentDb) -> Contents {
    let (mut series, mut samples) = (Vec::new(), Vec::new());
    for r in records(db) {
        match r {
            Record::Series(s) => series.extend(s.into_iter().map(|s| (s.id, s.labels))),
            Record::Samples(s) => samples.extend(s.into_iter().map(|s| (s.id, s.t, s.v))),
            _ => {}
        }
    }
    (series, samples)
}

#[test]
fn commits_are_logged_and_come_back_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), opts()).unwrap();
    let mut app = db.appender();
    let a = app.append(0, &l(1), 1000, Sample::Float(1.0)).unwrap();
    let b = app.append(0, &l(2), 1000, Sample::Float(2.0)).unwrap();
    assert_eq!((a, b), (1, 2));
    // By reference from then on, as the scrape cache appends.
    assert_eq!(app.append(a, &l(1), 2000, Sample::Float(3.0)).unwrap(), a);
    app.update_metadata(
        a,
        &l(1),
        &Metadata {
            typ: model::exposition::MetricType::Counter,
            unit: String::new(),
            help: "h".into(),
        },
    )
    .unwrap();
    // Nothing is logged before the commit.
    assert!(contents(&db).0.is_empty());
    app.commit().unwrap();
    let (series, samples) = contents(&db);
    assert_eq!(series, vec![(1, l(1)), (2, l(2))]);
    assert_eq!(
        samples,
        vec![(1, 1000, 1.0), (2, 1000, 2.0), (1, 2000, 3.0)]
    );
    assert!(
        records(&db)
            .iter()
            .any(|r| matches!(r, Record::Metadata(m) if m[0].help == "h"))
    );
    let st = db.stats();
    assert_eq!(st.floats_appended.load(Ordering::Relaxed), 3);
    // Older than the newest committed sample: out of order; the same time is accepted,
    // as Prometheus's agent accepts it.
    assert!(matches!(
        app.append(a, &l(1), 1500, Sample::Float(0.0)),
        Err(StorageError::OutOfOrderSample)
    ));
    assert!(app.append(a, &l(1), 2000, Sample::Float(0.0)).is_ok());
    app.rollback().unwrap();
    db.close().unwrap();
    drop((app, db));

    // A restart knows the series, their references and newest timestamps.
    let db = AgentDb::open(dir.path(), opts()).unwrap();
    assert_eq!(db.series().len(), 2);
    let mut app = db.appender();
    assert_eq!(app.append(0, &l(1), 2500, Sample::Float(1.0)).unwrap(), 1);
    assert!(matches!(
        app.append(0, &l(2), 500, Sample::Float(1.0)),
        Err(StorageError::OutOfOrderSample)
    ));
    // New series continue after the highest reference.
    assert_eq!(app.append(0, &l(3), 2500, Sample::Float(1.0)).unwrap(), 3);
    app.commit().unwrap();
    let (series, _) = contents(&db);
    assert_eq!(series.last(), Some(&(3, l(3))));
}

#[test]
fn invalid_labels_are_refused_and_empty_values_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), opts()).unwrap();
    let mut app = db.appender();
    assert!(matches!(
        app.append(0, &Labels::default(), 1, Sample::Float(1.0)),
        Err(StorageError::InvalidLabels { .. })
    ));
    let with_empty = Labels::from_pairs([("__name__", "m"), ("e", ""), ("i", "1")]);
    let id = app.append(0, &with_empty, 1, Sample::Float(1.0)).unwrap();
    app.commit().unwrap();
    assert_eq!(
        db.series().get(id).unwrap().labels,
        Labels::from_pairs([("__name__", "m"), ("i", "1")])
    );
}

#[test]
fn a_rollback_still_logs_the_new_series() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), opts()).unwrap();
    let mut app = db.appender();
    app.append(0, &l(1), 1, Sample::Float(1.0)).unwrap();
    app.rollback().unwrap();
    let (series, samples) = contents(&db);
    assert_eq!(series, vec![(1, l(1))]);
    assert!(samples.is_empty());
}

#[test]
fn exemplars_are_logged_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), opts()).unwrap();
    let mut app = db.appender();
    let id = app.append(0, &l(1), 1000, Sample::Float(1.0)).unwrap();
    let e = storage::Exemplar {
        labels: Labels::from_pairs([("trace_id", "abc")]),
        value: 1.0,
        ts: 900,
        has_ts: true,
    };
    app.append_exemplar(id, &l(1), &e).unwrap();
    app.commit().unwrap();
    // The next scrape shows the same exemplar again.
    app.append(id, &l(1), 2000, Sample::Float(1.0)).unwrap();
    app.append_exemplar(id, &l(1), &e).unwrap();
    app.commit().unwrap();
    let n: usize = records(&db)
        .iter()
        .map(|r| match r {
            Record::Exemplars(e) => e.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(n, 1);
}

#[test]
fn truncation_forgets_idle_series_and_keeps_what_the_queues_hold() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), opts()).unwrap();
    let commit = |t: i64, from: usize, to: usize| {
        let mut app = Appendable::appender(&db);
        for i in from..to {
            app.append(0, &l(i), t, Sample::Float((t as f64).sin() * i as f64))
                .unwrap();
        }
        app.commit().unwrap();
    };
    // Enough data for several segments: series 0..50 stop at t=10, 50..300 go on.
    for t in 0..10 {
        commit(t, 0, 300);
    }
    for t in 10..400 {
        commit(t, 50, 300);
    }
    let segments = || {
        crate::wal::list_segments(&dir.path().join("wal"))
            .unwrap()
            .iter()
            .map(|s| s.index)
            .collect::<Vec<_>>()
    };
    let before = segments();
    assert!(before.len() > 4, "{before:?}");
    // The queues still need the first segment: nothing goes, but idle series are forgotten.
    db.set_wal_hold(Some(WalHold(Arc::new(|| Some(0)))));
    db.truncate(100).unwrap();
    assert_eq!(db.series().len(), 250);
    assert_eq!(segments()[0], before[0]);
    // Released: the older two thirds go into a checkpoint.
    db.set_wal_hold(None);
    db.truncate(100).unwrap();
    assert!(segments()[0] > before[0], "{:?}", segments());
    let (series, samples) = contents(&db);
    // The checkpoint keeps the live series, and samples from `mint` on only.
    for i in 50..300 {
        assert!(series.iter().any(|(_, s)| *s == l(i)), "series {i} lost");
    }
    assert!(samples.iter().all(|&(_, t, _)| t >= 100));
    // After a restart the live series are known.
    db.close().unwrap();
    drop(db);
    let db = AgentDb::open(dir.path(), opts()).unwrap();
    for i in 50..300 {
        assert!(db.series().get_by_labels(&l(i)).is_some(), "series {i}");
    }
}

#[test]
fn the_series_of_a_family_share_its_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let db = AgentDb::open(dir.path(), opts()).unwrap();
    let mut app = db.appender();
    let meta = Metadata {
        typ: model::exposition::MetricType::Counter,
        unit: String::new(),
        help: "requests".into(),
    };
    let ids: Vec<u64> = (0..3)
        .map(|i| {
            let id = app.append(0, &l(i), 1, Sample::Float(1.0)).unwrap();
            app.update_metadata(id, &l(i), &meta).unwrap();
            id
        })
        .collect();
    app.commit().unwrap();
    let got: Vec<Arc<Metadata>> = ids
        .iter()
        .map(|&id| db.series().get(id).unwrap().meta.lock().clone().unwrap())
        .collect();
    assert_eq!(*got[0], meta);
    assert!(Arc::ptr_eq(&got[0], &got[1]) && Arc::ptr_eq(&got[1], &got[2]));
    // Unchanged metadata is not logged again.
    app.update_metadata(ids[0], &l(0), &meta).unwrap();
    app.commit().unwrap();
    let logged: usize = records(&db)
        .iter()
        .map(|r| match r {
            Record::Metadata(m) => m.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(logged, 3);
}
