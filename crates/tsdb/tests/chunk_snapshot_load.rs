//! Loading a chunk snapshot on several threads (issue 15 item 4): a snapshot whose series come
//! in any order (Prometheus lists them by hash stripe, Firewatch by reference) gives the same
//! head, postings included; a snapshot cut after thousands of series were created falls back
//! to the whole WAL with every memory-mapped chunk still attached.

use std::collections::BTreeMap;
use std::path::Path;

use firewatch_tsdb::head::snapshot::last_snapshot;
use firewatch_tsdb::wal::{Wal, WalOptions, WalReader};
use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, MatchOp, Matcher, Sample, labels};

mod float_samples;
mod log_capture;
use float_samples::float_sample_bits;
use log_capture::with_log;

const STEP: i64 = 15_000;
/// More series than one batch of the loading threads (2048), in several batches.
const SERIES: usize = 5000;

/// Samples of each series as `(t, value bits)`.
type Data = BTreeMap<String, Vec<(i64, u64)>>;

fn opts(snapshot: bool) -> DbOptions {
    DbOptions {
        enable_memory_snapshot_on_shutdown: snapshot,
        ..DbOptions::default()
    }
}

fn series(i: usize) -> Labels {
    labels!(
        "__name__" => "load",
        "i" => i.to_string().as_str(),
        "mod7" => (i % 7).to_string().as_str(),
        "group" => format!("g{}", i / 100).as_str()
    )
}

/// `SERIES` series with `rounds` samples each (past 120: a full chunk in `chunks_head/`
/// and an open chunk), closed with a snapshot.
fn write(dir: &Path, rounds: i64) -> Data {
    let db = Db::open(dir, opts(true)).unwrap();
    let all: Vec<Labels> = (0..SERIES).map(series).collect();
    let mut want = Data::new();
    let mut refs = vec![0; SERIES];
    for k in 0..rounds {
        let mut app = db.appender();
        for (i, l) in all.iter().enumerate() {
            let v = (k * 7 + i as i64 % 13) as f64;
            refs[i] = app.append(refs[i], l, k * STEP, Sample::Float(v)).unwrap();
            want.entry(l.to_string())
                .or_default()
                .push((k * STEP, v.to_bits()));
        }
        app.commit().unwrap();
    }
    db.close().unwrap();
    want
}

fn all() -> Vec<Matcher> {
    vec![Matcher::new(MatchOp::Equal, "__name__", "load").unwrap()]
}

/// The label sets several matchers select, in the order the head's postings give them.
fn selections(db: &Db) -> Vec<Vec<String>> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let sets = [
        vec![Matcher::equal("mod7", "3")],
        vec![Matcher::equal("group", "g17")],
        vec![
            Matcher::equal("mod7", "5"),
            Matcher::new(MatchOp::RegexMatch, "group", "g(1|2)[0-9]").unwrap(),
        ],
        vec![Matcher::new(MatchOp::NotEqual, "mod7", "0").unwrap()],
    ];
    sets.iter()
        .map(|m| {
            q.select(false, None, m)
                .unwrap()
                .map(|s| s.unwrap().labels().to_string())
                .collect()
        })
        .collect()
}

/// The `key=value` field of the first log line containing `msg`.
fn field(log: &str, msg: &str, key: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains(msg))?;
    let at = line.find(&format!(" {key}="))? + key.len() + 2;
    Some(line[at..].split_whitespace().next()?.to_owned())
}

/// Rewrites the snapshot of `dir` with its series records in another order (a fixed
/// shuffle), the other records after them as they were.
fn shuffle_series_records(dir: &Path) {
    let (snap, _, _) = last_snapshot(dir).unwrap().expect("a snapshot");
    let mut series = Vec::new();
    let mut rest = Vec::new();
    {
        let mut r = WalReader::open_dir(&snap).unwrap();
        while let Some(rec) = r.next_record().unwrap() {
            if rec[0] == 1 {
                series.push(rec.to_vec());
            } else {
                rest.push(rec.to_vec());
            }
        }
    }
    assert_eq!(series.len(), SERIES);
    // A permutation that is far from reference order: a multiplicative step.
    let n = series.len();
    let order: Vec<usize> = (0..n).map(|i| i * 7919 % n).collect();
    let mut seen = vec![false; n];
    for &i in &order {
        assert!(!seen[i], "7919 and {n} are coprime");
        seen[i] = true;
    }
    std::fs::remove_dir_all(&snap).unwrap();
    let mut w = Wal::open(&snap, WalOptions::default()).unwrap();
    for i in order {
        w.log(&[&series[i]]).unwrap();
    }
    for rec in &rest {
        w.log(&[rec]).unwrap();
    }
    w.close().unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

#[test]
fn a_snapshot_in_any_series_order_loads_to_the_same_head() {
    let dir = tempfile::tempdir().unwrap();
    let ordered = dir.path().join("ordered");
    let want = write(&ordered, 200);
    let shuffled = dir.path().join("shuffled");
    copy_dir(&ordered, &shuffled);
    shuffle_series_records(&shuffled);

    let mut heads = Vec::new();
    for d in [&ordered, &shuffled] {
        let (db, log) = with_log(|| Db::open(d, opts(true)).unwrap());
        assert_eq!(
            field(&log, "chunk snapshot loaded", "num_series").as_deref(),
            Some(SERIES.to_string().as_str()),
            "{log}"
        );
        assert!(!log.contains("Failed to load chunk snapshot"), "{log}");
        assert_eq!(
            field(&log, "WAL replay completed", "samples").as_deref(),
            Some("0"),
            "{log}"
        );
        assert_eq!(db.head().num_series(), SERIES);
        assert_eq!(float_sample_bits(&db, &all()), want, "{}", d.display());
        heads.push((selections(&db), db));
    }
    let sel = &heads[0].0;
    assert_eq!(
        sel, &heads[1].0,
        "the same series selected, in the same order"
    );
    // Postings in order: selections come sorted by labels, and hold what they should.
    assert_eq!(
        sel[0].len(),
        SERIES.div_ceil(7) - usize::from(SERIES % 7 <= 3)
    );
    assert_eq!(sel[1].len(), 100);
    assert_eq!(sel[3].len(), SERIES - SERIES.div_ceil(7));
    for s in sel {
        assert!(s.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
    }
    // Appending goes on in both, a series created after the load gets a new reference.
    for (_, db) in &heads {
        let mut app = db.appender();
        app.append(0, &series(SERIES), 300 * STEP, Sample::Float(1.0))
            .unwrap();
        app.append(0, &series(3), 300 * STEP, Sample::Float(2.0))
            .unwrap();
        app.commit().unwrap();
        assert_eq!(db.head().num_series(), SERIES + 1);
        let got = float_sample_bits(db, &[Matcher::equal("i", "3")]);
        assert_eq!(
            got.values().next().unwrap().last(),
            Some(&(300 * STEP, 2f64.to_bits()))
        );
    }
}

#[test]
fn a_snapshot_cut_after_thousands_of_series_falls_back_with_the_mapped_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    let want = write(&full, 200);
    // The replay of the whole WAL without the snapshot: the reference for what is replayed.
    let plain = dir.path().join("plain");
    copy_dir(&full, &plain);
    let (db, log) = with_log(|| Db::open(&plain, opts(false)).unwrap());
    let replayed = field(&log, "WAL replay completed", "samples").expect("a replay line");
    assert_eq!(float_sample_bits(&db, &all()), want);
    drop(db);

    // The snapshot cut after most of its series records.
    let (snap, _, _) = last_snapshot(&full).unwrap().expect("a snapshot");
    let seg = snap.join("00000000");
    let bytes = std::fs::read(&seg).unwrap();
    std::fs::write(&seg, &bytes[..bytes.len() * 9 / 10]).unwrap();
    let (db, log) = with_log(|| Db::open(&full, opts(true)).unwrap());
    assert!(log.contains("Failed to load chunk snapshot"), "{log}");
    assert_eq!(db.head().num_series(), SERIES);
    assert_eq!(float_sample_bits(&db, &all()), want);
    // The series the snapshot created had taken their memory-mapped chunks: read again, the
    // WAL's samples they hold are skipped (and those of the snapshot's open chunks the load
    // wrote to chunks_head/ before it failed), not replayed into memory a second time.
    let fallback: usize = field(&log, "WAL replay completed", "samples")
        .expect("a replay line")
        .parse()
        .unwrap();
    let replayed: usize = replayed.parse().unwrap();
    assert!(
        fallback <= replayed && replayed < SERIES * 200,
        "{fallback} samples replayed after the failed load, {replayed} without the snapshot"
    );
}

#[test]
fn a_series_with_more_labels_than_decoded_on_the_stack_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let wide = Labels::from_pairs(
        (0..40)
            .map(|i| (format!("l{i:02}"), format!("v{i}")))
            .chain([("__name__".to_owned(), "wide".to_owned())]),
    );
    let narrow = series(1);
    let db = Db::open(dir.path(), opts(true)).unwrap();
    let mut app = db.appender();
    app.append(0, &wide, STEP, Sample::Float(4.0)).unwrap();
    app.append(0, &narrow, STEP, Sample::Float(5.0)).unwrap();
    app.commit().unwrap();
    db.close().unwrap();
    let (db, log) = with_log(|| Db::open(dir.path(), opts(true)).unwrap());
    assert_eq!(
        field(&log, "chunk snapshot loaded", "num_series").as_deref(),
        Some("2"),
        "{log}"
    );
    let got = float_sample_bits(&db, &[Matcher::equal("l39", "v39")]);
    assert_eq!(got.len(), 1);
    let (labels, samples) = got.into_iter().next().unwrap();
    assert_eq!(labels, wide.to_string());
    assert_eq!(samples, [(STEP, 4f64.to_bits())]);
    let got = float_sample_bits(&db, &all());
    assert_eq!(got[&narrow.to_string()], [(STEP, 5f64.to_bits())]);
}
