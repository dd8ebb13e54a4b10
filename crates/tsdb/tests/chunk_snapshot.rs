//! Chunk snapshots on shutdown (`memory-snapshot-on-shutdown`, issue 15 item 4): a restart
//! from the snapshot plus the WAL written after it gives every sample back (floats,
//! histograms, exemplars, deletions), without reading the WAL before the snapshot; a torn or
//! garbage snapshot falls back to the whole WAL with an error line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use firewatch_tsdb::head::snapshot::last_snapshot;
use firewatch_tsdb::{Db, DbOptions};
use model::histogram::{Histogram, Span};
use model::{Labels, MatchOp, Matcher, Sample, labels};
use storage::{Exemplar, ExemplarQueryable, ValueType};

mod log_capture;
use log_capture::with_log;

const STEP: i64 = 15_000;

/// What a series holds: `(t, value)` with histograms as their debug text.
type Data = BTreeMap<String, Vec<(i64, String)>>;

fn opts() -> DbOptions {
    DbOptions {
        enable_memory_snapshot_on_shutdown: true,
        // Small segments: the snapshot sits in a later segment than the first.
        wal_segment_size: 32 * 1024,
        max_exemplars: 1000,
        ..DbOptions::default()
    }
}

fn float_series(n: usize) -> Vec<Labels> {
    (0..n)
        .map(|i| labels!("__name__" => "snap", "i" => i.to_string().as_str()))
        .collect()
}

fn hist(k: i64) -> Histogram {
    Histogram {
        schema: 0,
        zero_threshold: 1e-128,
        zero_count: k as u64,
        count: (3 * k) as u64,
        sum: 1.5 * k as f64,
        positive_spans: vec![Span {
            offset: 0,
            length: 2,
        }],
        positive_buckets: vec![k, 0],
        ..Histogram::default()
    }
}

/// Appends rounds `from..to` to every float series and the histogram series.
fn write(db: &Db, floats: &[Labels], from: i64, to: i64, want: &mut Data) {
    let h = labels!("__name__" => "snap_hist");
    for k in from..to {
        let t = k * STEP;
        let mut app = db.appender();
        for (i, s) in floats.iter().enumerate() {
            let v = (k as f64 * 0.37 + i as f64).sin() * 50.0;
            let r = app.append(0, s, t, Sample::Float(v)).unwrap();
            if i < 3 && k % 10 == 0 {
                let e = Exemplar {
                    labels: labels!("trace_id" => format!("{i}-{k}").as_str()),
                    value: v,
                    ts: t,
                    has_ts: true,
                };
                app.append_exemplar(r, s, &e).unwrap();
            }
            want.entry(s.to_string())
                .or_default()
                .push((t, v.to_bits().to_string()));
        }
        let hv = hist(k + 1);
        app.append(0, &h, t, Sample::Histogram(Arc::new(hv.clone())))
            .unwrap();
        want.entry(h.to_string())
            .or_default()
            .push((t, format!("{hv:?}")));
        app.commit().unwrap();
    }
}

fn read(db: &Db) -> Data {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let all = Matcher::new(MatchOp::RegexMatch, "__name__", "snap.*").unwrap();
    let mut out = BTreeMap::new();
    for s in q.select(true, None, &[all]).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        loop {
            match it.next() {
                ValueType::Float => {
                    let (t, x) = it.at();
                    v.push((t, x.to_bits().to_string()));
                }
                ValueType::Histogram => {
                    // The counter reset hint depends on where chunks were cut: not compared.
                    let (t, mut h) = it.at_histogram();
                    h.counter_reset_hint = model::histogram::CounterResetHint::Unknown;
                    v.push((t, format!("{h:?}")));
                }
                ValueType::FloatHistogram => panic!("no float histograms were written"),
                ValueType::None => break,
            }
        }
        out.insert(s.labels().to_string(), v);
    }
    out
}

/// Asserts `got == want`, naming the first series and sample that differ.
#[track_caller]
fn assert_same(got: &Data, want: &Data, ctx: &str) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{ctx}: series"
    );
    for (name, w) in want {
        let g = &got[name];
        if let Some(i) = (0..g.len().max(w.len())).find(|&i| g.get(i) != w.get(i)) {
            panic!(
                "{ctx}: {name} has {} samples, want {}; first difference at {i}: {:?} vs {:?}",
                g.len(),
                w.len(),
                g.get(i),
                w.get(i)
            );
        }
    }
}

/// `(series, t, trace_id)` of every exemplar.
fn exemplars(db: &Db) -> Vec<(String, i64, String)> {
    let m = vec![Matcher::new(MatchOp::Equal, "__name__", "snap").unwrap()];
    let mut out = Vec::new();
    for s in db.select_exemplars(i64::MIN, i64::MAX, &[m]).unwrap() {
        for e in s.exemplars {
            let id = e.labels.get("trace_id").unwrap_or_default().to_owned();
            out.push((s.series_labels.to_string(), e.ts, id));
        }
    }
    out.sort();
    out
}

fn segments(wal: &Path) -> Vec<(u32, PathBuf)> {
    let mut segs: Vec<(u32, PathBuf)> = std::fs::read_dir(wal)
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            Some((e.file_name().to_str()?.parse().ok()?, e.path()))
        })
        .collect();
    segs.sort();
    segs
}

/// The `key=value` field of the first log line containing `msg`.
fn field(log: &str, msg: &str, key: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains(msg))?;
    let at = line.find(&format!(" {key}="))? + key.len() + 2;
    Some(
        line[at..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[test]
fn restart_from_a_snapshot_and_the_wal_after_it_gives_every_sample_back() {
    let dir = tempfile::tempdir().unwrap();
    let floats = float_series(200);
    let mut want = Data::new();
    // 300 rounds: full chunks in chunks_head/ and an open chunk per series.
    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, &floats, 0, 300, &mut want);
    let want_ex = exemplars(&db);
    assert_eq!(want_ex.len(), 90, "3 series x 30 exemplars");
    let (res, log) = with_log(|| db.close());
    res.unwrap();
    assert!(log.contains("chunk snapshot complete"), "{log}");
    let (snap, seg, off) = last_snapshot(dir.path()).unwrap().expect("a snapshot");
    let wal_segs = segments(&dir.path().join("wal"));
    assert_eq!(seg, wal_segs.last().unwrap().0, "at the last WAL segment");
    assert_eq!(
        off,
        std::fs::metadata(&wal_segs.last().unwrap().1)
            .unwrap()
            .len(),
        "at its end"
    );
    assert!(seg >= 3, "the WAL spans several segments: {wal_segs:?}");
    assert_eq!(
        snap.file_name().unwrap().to_str().unwrap(),
        format!("chunk_snapshot.{seg:06}.{off:010}")
    );

    // Every segment before the snapshot's is not needed any more: remove them.
    for (i, p) in &wal_segs {
        if *i < seg {
            std::fs::remove_file(p).unwrap();
        }
    }
    let (db, log) = with_log(|| Db::open(dir.path(), opts()).unwrap());
    assert_eq!(
        field(&log, "chunk snapshot loaded", "num_series").as_deref(),
        Some("201"),
        "{log}"
    );
    assert_eq!(
        field(&log, "WAL replay completed", "samples").as_deref(),
        Some("0"),
        "nothing after the snapshot: {log}"
    );
    assert!(!log.contains("Failed to load chunk snapshot"), "{log}");
    assert_eq!(db.head().num_series(), 201);
    assert_same(&read(&db), &want, "after a restart from the snapshot alone");
    assert_eq!(exemplars(&db), want_ex);

    // More samples (the next sample starts a new chunk), then a crash: the old snapshot
    // and the WAL after it.
    write(&db, &floats, 300, 340, &mut want);
    assert_same(&read(&db), &want, "");
    let want_ex = exemplars(&db);
    drop(db);
    let (db, log) = with_log(|| Db::open(dir.path(), opts()).unwrap());
    assert!(log.contains("chunk snapshot loaded"), "{log}");
    assert_eq!(
        field(&log, "WAL replay completed", "samples").as_deref(),
        Some((40 * 201).to_string().as_str()),
        "only the WAL tail is replayed: {log}"
    );
    assert_same(&read(&db), &want, "snapshot + WAL tail");
    assert_eq!(exemplars(&db), want_ex);
    // And appending goes on after the tail.
    write(&db, &floats, 340, 345, &mut want);
    db.close().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_same(&read(&db), &want, "after a second snapshot");
    db.close().unwrap();
    // One snapshot is kept.
    let snaps = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_str()
                .unwrap()
                .starts_with("chunk_snapshot.")
        })
        .count();
    assert_eq!(snaps, 1);
}

/// Damage done to the snapshot's segment file.
enum Damage {
    /// Cut in the middle (a torn write).
    Torn,
    /// Bytes overwritten with garbage.
    Garbage,
    /// Emptied (a crash before anything reached the file).
    Empty,
}

#[test]
fn a_torn_or_garbage_snapshot_falls_back_to_the_whole_wal_with_a_log_line() {
    for damage in [Damage::Torn, Damage::Garbage, Damage::Empty] {
        let dir = tempfile::tempdir().unwrap();
        let floats = float_series(50);
        let mut want = Data::new();
        let db = Db::open(dir.path(), opts()).unwrap();
        write(&db, &floats, 0, 200, &mut want);
        db.close().unwrap();
        let (snap, _, _) = last_snapshot(dir.path()).unwrap().expect("a snapshot");
        let seg = snap.join("00000000");
        let mut bytes = std::fs::read(&seg).unwrap();
        assert!(bytes.len() > 2000, "snapshot of {} bytes", bytes.len());
        match damage {
            Damage::Torn => bytes.truncate(bytes.len() / 2 + 3),
            Damage::Garbage => {
                for (i, b) in bytes[1000..1400].iter_mut().enumerate() {
                    *b = (i * 131 % 251) as u8;
                }
            }
            Damage::Empty => bytes.clear(),
        }
        std::fs::write(&seg, &bytes).unwrap();
        let (db, log) = with_log(|| Db::open(dir.path(), opts()).unwrap());
        // An empty (or cut between records) snapshot has no error in its log format, but
        // lacks the tombstones record that ends every snapshot: refused too, else the WAL
        // before its offset would be skipped.
        assert!(log.contains("Failed to load chunk snapshot"), "{log}");
        assert_eq!(db.head().num_series(), 51);
        assert_same(&read(&db), &want, "every sample from the WAL");
        db.close().unwrap();
    }
}

#[test]
fn deletions_survive_a_restart_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let floats = float_series(4);
    let mut want = Data::new();
    let db = Db::open(dir.path(), opts()).unwrap();
    // 50 rounds: open chunks only.
    write(&db, &floats, 0, 50, &mut want);
    let (from, to) = (10 * STEP, 20 * STEP);
    db.delete(from, to, &[Matcher::equal("i", "1")]).unwrap();
    want.get_mut("{__name__=\"snap\", i=\"1\"}")
        .unwrap()
        .retain(|&(t, _)| t < from || t > to);
    assert_same(&read(&db), &want, "");
    db.close().unwrap();
    let (db, log) = with_log(|| Db::open(dir.path(), opts()).unwrap());
    assert!(log.contains("chunk snapshot loaded"), "{log}");
    assert_same(&read(&db), &want, "the deletion holds after the snapshot");

    // A deletion in the full chunks of chunks_head/ (rebuilt in memory): the snapshot is
    // skipped and the whole WAL replayed, the deletion again included.
    write(&db, &floats, 50, 400, &mut want);
    let (from, to) = (100 * STEP, 110 * STEP);
    db.delete(from, to, &[Matcher::equal("i", "2")]).unwrap();
    want.get_mut("{__name__=\"snap\", i=\"2\"}")
        .unwrap()
        .retain(|&(t, _)| t < from || t > to);
    let (res, log) = with_log(|| db.close());
    res.unwrap();
    assert!(log.contains("chunk snapshot skipped"), "{log}");
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_same(&read(&db), &want, "after a whole WAL replay");
    db.close().unwrap();
}
