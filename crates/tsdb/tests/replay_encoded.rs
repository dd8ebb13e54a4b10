//! WAL replay hands float samples records to the appender threads still encoded while every
//! reference names the series of the same id, and resolves each sample on the replaying
//! thread once one does not (issue 15 item 4). A log written record by record — series first
//! seen in the middle, samples of a reference no series record defines, a deletion while the
//! records are still encoded, then a second series record for the labels of an existing
//! series under a new reference, whose samples interleave with the old reference's — must
//! give back exactly its samples, after one replay and after another.

use std::collections::BTreeMap;

use firewatch_tsdb::encoding::Encbuf;
use firewatch_tsdb::wal::record::{self, RefSample, RefSeries, RefTombstone};
use firewatch_tsdb::wal::{PAGE_SIZE, Wal, WalOptions};
use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, MatchOp, Matcher, labels};

mod float_samples;
use float_samples::float_samples;

const STEP: i64 = 15_000;
const ROUNDS: i64 = 60;
/// A reference no series record defines.
const UNKNOWN: u64 = 9_999;
/// The second reference of series `DUPLICATED`, defined at round `REDEFINED_AT`.
const SECOND_REF: u64 = 500;
const DUPLICATED: u64 = 7;
const REDEFINED_AT: i64 = 30;

/// `(t, value)` of every sample, by series.
type Data = BTreeMap<String, Vec<(i64, f64)>>;

fn labels_of(id: u64) -> Labels {
    labels!("__name__" => "enc", "i" => id.to_string().as_str())
}

fn log_series(w: &mut Wal, ids: impl Iterator<Item = u64>, b: &mut Encbuf) {
    let series: Vec<RefSeries> = ids
        .map(|id| RefSeries {
            id,
            labels: labels_of(id),
        })
        .collect();
    record::encode_series(&series, b);
    w.log(&[b.get()]).unwrap();
}

/// Writes the log; returns what the head must hold.
fn write(dir: &std::path::Path, redefine: bool) -> Data {
    let mut w = Wal::open(
        &dir.join("wal"),
        WalOptions {
            segment_size: PAGE_SIZE,
            compress: false,
            ..WalOptions::default()
        },
    )
    .unwrap();
    let mut b = Encbuf::new();
    let mut want = Data::new();
    log_series(&mut w, 1..=100, &mut b);
    for round in 0..ROUNDS {
        let t = round * STEP;
        if round == 10 {
            log_series(&mut w, 101..=120, &mut b);
        }
        if redefine && round == REDEFINED_AT {
            let s = RefSeries {
                id: SECOND_REF,
                labels: labels_of(DUPLICATED),
            };
            record::encode_series(&[s], &mut b);
            w.log(&[b.get()]).unwrap();
        }
        let last = if round >= 10 { 120 } else { 100 };
        let mut samples = Vec::new();
        for id in 1..=last {
            let v = (round * 1000) as f64 + id as f64;
            // After the second series record, every other round logs the duplicated series
            // under its new reference.
            let logged_as =
                if redefine && id == DUPLICATED && round >= REDEFINED_AT && round % 2 == 0 {
                    SECOND_REF
                } else {
                    id
                };
            samples.push(RefSample {
                id: logged_as,
                t,
                v,
            });
            want.entry(labels_of(id).to_string())
                .or_default()
                .push((t, v));
        }
        samples.push(RefSample {
            id: UNKNOWN,
            t,
            v: 1.0,
        });
        record::encode_samples(&samples, &mut b);
        w.log(&[b.get()]).unwrap();
        if round == 20 {
            // A deletion of series 3's rounds 5..=20 while the records are still encoded.
            let (mint, maxt) = (5 * STEP, 20 * STEP);
            record::encode_tombstones(&[RefTombstone { id: 3, mint, maxt }], &mut b);
            w.log(&[b.get()]).unwrap();
            want.get_mut(&labels_of(3).to_string())
                .unwrap()
                .retain(|&(t, _)| t < mint || t > maxt);
        }
    }
    w.close().unwrap();
    want
}

fn read(db: &Db) -> Data {
    float_samples(db, Matcher::new(MatchOp::Equal, "__name__", "enc").unwrap())
}

fn replay_gives_back(redefine: bool) {
    let dir = tempfile::tempdir().unwrap();
    let want = write(dir.path(), redefine);
    assert!(
        std::fs::read_dir(dir.path().join("wal")).unwrap().count() >= 3,
        "the log spans several segments"
    );
    for pass in ["first replay", "second replay"] {
        let db = Db::open(dir.path(), DbOptions::default()).unwrap();
        assert_eq!(
            db.head().num_series(),
            120,
            "{pass}: no series for {UNKNOWN}"
        );
        let got = read(&db);
        for (name, w) in &want {
            assert_eq!(got.get(name), Some(w), "{name}, {pass}");
        }
        assert_eq!(got.len(), want.len(), "{pass}");
        // Killed, not closed: the next pass replays the same log.
        drop(db);
    }
}

#[test]
fn encoded_samples_records_with_a_deletion_and_unknown_references_give_every_sample_back() {
    replay_gives_back(false);
}

#[test]
fn a_second_reference_for_a_series_switches_to_resolved_samples_and_keeps_their_order() {
    replay_gives_back(true);
}
