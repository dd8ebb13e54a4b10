//! The pipelined WAL replay (decoder thread, appender threads sharded by series; issue 15
//! item 4) rebuilds exactly the head that was written: thousands of series over many WAL
//! segments, series first seen in the middle of the log, start timestamps that change per
//! commit, a deletion in the middle (whose tombstone must apply after the samples before it
//! and before those after it), and one "WAL segment loaded" line per segment. With
//! memory-mapped head chunks, replay drops the logged samples those chunks hold before they
//! reach the appender threads; a deletion of part of such a chunk and start timestamps (which
//! turn the dropping off) must still give back exactly the head that was written.

use std::collections::BTreeMap;

use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, MatchOp, Matcher, Sample, labels};
use storage::ValueType;

mod log_capture;
use log_capture::with_log;

const STEP: i64 = 15_000;
const ROUNDS: i64 = 40;

/// `(t, value, start)` of every sample, by series.
type Data = BTreeMap<String, Vec<(i64, f64, i64)>>;

fn opts() -> DbOptions {
    DbOptions {
        // Small segments: the log spans many of them.
        wal_segment_size: 32 * 1024,
        ..DbOptions::default()
    }
}

fn series(n: usize, job: &str) -> Vec<Labels> {
    (0..n)
        .map(|i| labels!("__name__" => "par", "job" => job, "i" => i.to_string().as_str()))
        .collect()
}

/// A start timestamp for some series, changing every ten rounds (0: none).
fn start_of(i: usize, t: i64) -> i64 {
    if i.is_multiple_of(3) {
        (t / (10 * STEP)) * 10 * STEP - 1_000 - i as i64
    } else {
        0
    }
}

/// One commit per round; `late` series join at round 15; commits alternate halves of the
/// steady series at odd rounds so records of different shapes interleave.
fn write(db: &Db, steady: &[Labels], late: &[Labels], want: &mut Data) {
    for round in 0..ROUNDS {
        let t = round * STEP;
        let mut app = db.appender();
        for (i, s) in steady.iter().enumerate() {
            if round % 2 == 1 && i % 2 == 1 {
                continue;
            }
            let v = ((round as f64) * 0.7 + i as f64).sin() * 100.0;
            app.append_with_start(0, s, start_of(i, t), t, Sample::Float(v))
                .unwrap();
            want.entry(s.to_string())
                .or_default()
                .push((t, v, start_of(i, t)));
        }
        if round >= 15 {
            for (i, s) in late.iter().enumerate() {
                let v = round as f64 + i as f64 / 1000.0;
                app.append_with_start(0, s, start_of(i + 1, t), t, Sample::Float(v))
                    .unwrap();
                want.entry(s.to_string())
                    .or_default()
                    .push((t, v, start_of(i + 1, t)));
            }
        }
        app.commit().unwrap();
        if round == 25 {
            // Deletes rounds 20..=25 of series i="7" of every job: the newest samples, likely
            // still queued for an appender thread when the tombstone is read.
            let (from, to) = (20 * STEP, 25 * STEP);
            db.delete(from, to, &[Matcher::equal("i", "7")]).unwrap();
            for (name, v) in want.iter_mut() {
                if name.contains("i=\"7\"") {
                    v.retain(|&(t, _, _)| t < from || t > to);
                }
            }
        }
    }
}

fn read(db: &Db) -> Data {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let all = Matcher::new(MatchOp::Equal, "__name__", "par").unwrap();
    let mut out = BTreeMap::new();
    for s in q.select(true, None, &[all]).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut v = Vec::new();
        while it.next() == ValueType::Float {
            let (t, x) = it.at();
            v.push((t, x, it.at_st()));
        }
        out.insert(s.labels().to_string(), v);
    }
    out
}

#[test]
fn parallel_replay_of_many_series_over_many_segments_rebuilds_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let steady = series(1500, "steady");
    let late = series(500, "late");
    let mut want = Data::new();
    let db = Db::open(dir.path(), opts()).unwrap();
    write(&db, &steady, &late, &mut want);
    assert_eq!(read(&db), want, "before the restart");
    // Never closed, as a kill.
    drop(db);

    let mut segments: Vec<u32> = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.parse().ok())
        .collect();
    segments.sort_unstable();
    assert!(segments.len() >= 8, "several segments: {segments:?}");

    let (db, log) = with_log(|| Db::open(dir.path(), opts()).unwrap());
    assert_eq!(db.head().num_series(), steady.len() + late.len());
    let got = read(&db);
    assert_eq!(got.len(), want.len());
    for (name, w) in &want {
        assert_eq!(got.get(name), Some(w), "{name} after the replay");
    }
    let last = segments.last().unwrap();
    // Every non-empty segment is reported once, in order, with the last segment's index.
    let loaded: Vec<u32> = log
        .lines()
        .filter(|l| l.contains("WAL segment loaded"))
        .map(|l| {
            assert!(
                l.contains(&format!("max_segment={last} "))
                    || l.ends_with(&format!("max_segment={last}")),
                "names the last segment: {l}"
            );
            let at = l.find(" segment=").expect("segment field") + " segment=".len();
            l[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let non_empty: Vec<u32> = segments
        .iter()
        .copied()
        .filter(|s| {
            std::fs::metadata(dir.path().join("wal").join(format!("{s:08}")))
                .unwrap()
                .len()
                > 0
        })
        .collect();
    assert_eq!(loaded, non_empty, "progress lines:\n{log}");
    db.close().unwrap();

    // A second replay of the same log gives the same head.
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(read(&db), want, "after a second replay");
    db.close().unwrap();
}

/// Writes `rounds` commits of `series` (enough to fill memory-mapped chunks), with start
/// timestamps from round `starts_from` on, and deletes part of the oldest chunk of some
/// series after round `delete_at`.
fn write_long(db: &Db, series: &[Labels], rounds: i64, starts_from: i64, delete_at: i64) -> Data {
    let mut want = Data::new();
    for round in 0..rounds {
        let t = round * STEP;
        let mut app = db.appender();
        for (i, s) in series.iter().enumerate() {
            let v = (round * 3 + i as i64 % 17) as f64;
            let start = if round >= starts_from && i % 2 == 0 {
                start_of(i, t).max(1)
            } else {
                0
            };
            app.append_with_start(0, s, start, t, Sample::Float(v))
                .unwrap();
            want.entry(s.to_string()).or_default().push((t, v, start));
        }
        app.commit().unwrap();
        if round == delete_at {
            let (from, to) = (10 * STEP, 50 * STEP);
            db.delete(
                from,
                to,
                &[Matcher::new(MatchOp::RegexMatch, "i", "1.*").unwrap()],
            )
            .unwrap();
            for (name, v) in &mut want {
                if name.contains("i=\"1") {
                    v.retain(|&(t, _, _)| t < from || t > to);
                }
            }
        }
    }
    want
}

fn replay_with_mmapped_chunks(starts_from: i64) {
    let dir = tempfile::tempdir().unwrap();
    let series = series(300, "long");
    let db = Db::open(dir.path(), opts()).unwrap();
    let want = write_long(&db, &series, 400, starts_from, 300);
    assert_eq!(read(&db), want, "before the restart");
    // Closed: the head chunk files are flushed, the WAL holds every sample as well.
    db.close().unwrap();
    let mapped = std::fs::read_dir(dir.path().join("chunks_head"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum::<u64>();
    assert!(
        mapped > 300 * 2 * 100,
        "full chunks are memory-mapped: {mapped} bytes"
    );
    let db = Db::open(dir.path(), opts()).unwrap();
    let got = read(&db);
    for (name, w) in &want {
        assert_eq!(got.get(name), Some(w), "{name} after the replay");
    }
    assert_eq!(got.len(), want.len());
    // Killed this time.
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(read(&db), want, "after a second replay");
    db.close().unwrap();
}

#[test]
fn replay_over_memory_mapped_chunks_with_a_deletion_rebuilds_the_head() {
    replay_with_mmapped_chunks(i64::MAX);
}

#[test]
fn replay_over_memory_mapped_chunks_with_start_timestamps_rebuilds_the_head() {
    // Start timestamps from round 100: inside the first memory-mapped chunks.
    replay_with_mmapped_chunks(100);
}
