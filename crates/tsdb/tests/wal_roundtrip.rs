//! WAL writer/reader round trips: fragmentation across pages and segments, compression on and
//! off, and checkpoints.

use std::path::Path;

use firewatch_tsdb::encoding::Encbuf;
use firewatch_tsdb::wal::record::{self, Record, RefSample, RefSeries};
use firewatch_tsdb::wal::{self, PAGE_SIZE, Wal, WalOptions, WalReader};

fn records(n: usize, seed: u64) -> Vec<Vec<u8>> {
    // Deterministic pseudo-random sizes from a few bytes up to several pages.
    let mut x = seed;
    (0..n)
        .map(|i| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let len = match i % 7 {
                0 => 0,
                1 => (x >> 40) as usize % (3 * PAGE_SIZE),
                _ => (x >> 50) as usize % 300,
            };
            (0..len)
                .map(|j| ((x >> (j % 56)) as u8) ^ (j as u8))
                .collect()
        })
        .collect()
}

fn read_all(dir: &Path) -> Vec<Vec<u8>> {
    let mut r = WalReader::open_dir(dir).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        out.push(rec.to_vec());
    }
    out
}

fn write_and_read(compress: bool, segment_size: usize) {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(400, u64::from(compress) + segment_size as u64);
    let mut w = Wal::open(
        dir.path(),
        WalOptions {
            segment_size,
            compress,
            sync_on_log: false,
        },
    )
    .unwrap();
    for chunk in recs.chunks(5) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        w.log(&refs).unwrap();
    }
    // Read while the writer is still open (the last page is only partly written).
    assert_eq!(read_all(dir.path()), recs);
    w.close().unwrap();
    assert_eq!(read_all(dir.path()), recs);
    // Reopening starts a new segment; old records stay readable and new ones follow them.
    let segs_before = wal::list_segments(dir.path()).unwrap().len();
    let mut w = Wal::open(
        dir.path(),
        WalOptions {
            segment_size,
            compress,
            sync_on_log: true,
        },
    )
    .unwrap();
    w.log(&[b"after reopen"]).unwrap();
    assert_eq!(
        wal::list_segments(dir.path()).unwrap().len(),
        segs_before + 1
    );
    let mut all = recs.clone();
    all.push(b"after reopen".to_vec());
    assert_eq!(read_all(dir.path()), all);
}

#[test]
fn round_trip_uncompressed_small_segments() {
    write_and_read(false, 4 * PAGE_SIZE);
}

#[test]
fn round_trip_compressed_small_segments() {
    write_and_read(true, 4 * PAGE_SIZE);
}

#[test]
fn round_trip_default_segments() {
    write_and_read(true, wal::DEFAULT_SEGMENT_SIZE);
}

#[test]
fn segments_are_page_padded_when_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Wal::open(
        dir.path(),
        WalOptions {
            segment_size: 2 * PAGE_SIZE,
            compress: false,
            ..WalOptions::default()
        },
    )
    .unwrap();
    w.log(&[&[7u8; 100]]).unwrap();
    let seg = wal::segment_name(dir.path(), 0);
    assert_eq!(
        std::fs::metadata(&seg).unwrap().len(),
        107,
        "partial page is flushed on log"
    );
    w.next_segment().unwrap();
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), PAGE_SIZE as u64);
    // A record that does not fit the rest of a segment starts the next one.
    w.log(&[&vec![1u8; PAGE_SIZE]]).unwrap();
    w.log(&[&vec![2u8; PAGE_SIZE]]).unwrap();
    assert_eq!(w.current_segment(), 2);
    w.close().unwrap();
    assert_eq!(read_all(dir.path()).len(), 3);
}

#[test]
fn checkpoint_keeps_live_series_and_recent_samples() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Wal::open(
        dir.path(),
        WalOptions {
            segment_size: 2 * PAGE_SIZE,
            ..WalOptions::default()
        },
    )
    .unwrap();
    let mut b = Encbuf::new();
    for id in 1..=4u64 {
        let s = RefSeries {
            id,
            labels: model::labels!("__name__" => "m", "i" => id.to_string().as_str()),
        };
        record::encode_series(&[s], &mut b);
        w.log(&[b.get()]).unwrap();
        w.next_segment().unwrap();
        let samples: Vec<RefSample> = (0..10)
            .map(|t| RefSample {
                id,
                t: t * 1000,
                v: t as f64,
            })
            .collect();
        record::encode_samples(&samples, &mut b);
        w.log(&[b.get()]).unwrap();
        w.next_segment().unwrap();
    }
    let (first, last) = wal::segment_range(dir.path()).unwrap().unwrap();
    assert_eq!((first, last), (0, 8));
    // Series 2 is gone; samples before t=5000 are dropped.
    let (cp, stats) = wal::checkpoint(dir.path(), 0, 5, |id| id != 2, 5000, true).unwrap();
    assert_eq!(cp.index, 5);
    assert_eq!(stats.dropped_series, 1);
    w.truncate(6).unwrap();
    assert_eq!(wal::segment_range(dir.path()).unwrap(), Some((6, 8)));
    assert_eq!(wal::last_checkpoint(dir.path()).unwrap(), Some(cp.clone()));

    let mut series = Vec::new();
    let mut samples = Vec::new();
    for rec in read_all(&cp.dir) {
        match record::decode(&rec).unwrap() {
            Record::Series(s) => series.extend(s.into_iter().map(|s| s.id)),
            Record::Samples(s) => samples.extend(s),
            other => panic!("unexpected record {other:?}"),
        }
    }
    assert_eq!(series, vec![1, 3]);
    // Segments 0..=5 hold the samples of series 1, 2 and 3: the checkpoint keeps t >= 5000.
    assert_eq!(samples.len(), 15);
    assert!(samples.iter().all(|s| s.t >= 5000));

    // A second checkpoint builds on the first and replaces it.
    let (cp2, _) = wal::checkpoint(dir.path(), 6, 7, |_| true, 0, false).unwrap();
    wal::delete_checkpoints(dir.path(), cp2.index).unwrap();
    assert_eq!(wal::last_checkpoint(dir.path()).unwrap().unwrap().index, 7);
    assert!(!cp.dir.exists());
    let n: usize = read_all(&cp2.dir)
        .iter()
        .map(|r| match record::decode(r).unwrap() {
            Record::Series(s) => s.len(),
            Record::Samples(s) => s.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(
        n,
        2 + 15 + 1 + 10,
        "old checkpoint contents plus series 4 and its samples"
    );
}

/// A checkpoint holds exactly the records a decode, filter and encode of every record gives
/// (series kept by reference, samples, tombstones and exemplars kept by time): series and
/// float samples records are filtered without decoding them, copied whole when all they
/// hold is kept, encoded again when only part of it is.
#[test]
fn checkpoint_records_are_the_decoded_records_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Wal::open(
        dir.path(),
        WalOptions {
            segment_size: 4 * PAGE_SIZE,
            ..WalOptions::default()
        },
    )
    .unwrap();
    let keep = |id: u64| !id.is_multiple_of(3);
    let mint = 50_000;
    let mut b = Encbuf::new();
    let mut logged = Vec::new();
    for round in 0..12u64 {
        // Series records of one to four series, some of them gone from the head.
        let series: Vec<RefSeries> = (0..=round % 4)
            .map(|k| {
                let id = round * 4 + k;
                RefSeries {
                    id,
                    labels: model::labels!(
                        "__name__" => "m",
                        "i" => id.to_string().as_str(),
                        "pod" => format!("p-{}", round % 5).as_str()
                    ),
                }
            })
            .collect();
        record::encode_series(&series, &mut b);
        logged.push(b.get().to_vec());
        // Samples records before, across and after `mint`.
        let samples: Vec<RefSample> = (0..8)
            .map(|k| RefSample {
                id: round * 4 + k % 3,
                t: round as i64 * 6_000 + k as i64 * 1_000,
                v: k as f64,
            })
            .collect();
        record::encode_samples(&samples, &mut b);
        logged.push(b.get().to_vec());
        record::encode_tombstones(
            &[record::RefTombstone {
                id: round,
                mint: 0,
                maxt: round as i64 * 9_000,
            }],
            &mut b,
        );
        logged.push(b.get().to_vec());
    }
    for rec in &logged {
        w.log(&[rec]).unwrap();
    }
    w.next_segment().unwrap();
    let (_, last) = wal::segment_range(dir.path()).unwrap().unwrap();
    let (cp, stats) = wal::checkpoint(dir.path(), 0, last - 1, keep, mint, false).unwrap();

    let mut want = Vec::new();
    let (mut series_kept, mut samples_kept) = (0, 0);
    for rec in &logged {
        match record::decode(rec).unwrap() {
            Record::Series(mut s) => {
                s.retain(|s| keep(s.id));
                series_kept += s.len();
                if !s.is_empty() {
                    record::encode_series(&s, &mut b);
                    want.push(b.get().to_vec());
                }
            }
            Record::Samples(mut s) => {
                s.retain(|s| s.t >= mint);
                samples_kept += s.len();
                if !s.is_empty() {
                    record::encode_samples(&s, &mut b);
                    want.push(b.get().to_vec());
                }
            }
            Record::Tombstones(mut t) => {
                t.retain(|t| t.maxt >= mint && keep(t.id));
                if !t.is_empty() {
                    record::encode_tombstones(&t, &mut b);
                    want.push(b.get().to_vec());
                }
            }
            other => panic!("unexpected record {other:?}"),
        }
    }
    assert_eq!(read_all(&cp.dir), want);
    assert_eq!(
        (stats.total_series, stats.total_samples),
        (series_kept, samples_kept)
    );
    // Every case happened: whole and partly kept records of both kinds, and dropped ones.
    let whole = |r: &Vec<u8>| logged.contains(r);
    assert!(want.iter().filter(|r| r[0] == record::SERIES).any(whole));
    assert!(!want.iter().filter(|r| r[0] == record::SERIES).all(whole));
    assert!(want.iter().filter(|r| r[0] == record::SAMPLES).any(whole));
    assert!(!want.iter().filter(|r| r[0] == record::SAMPLES).all(whole));
    assert!(stats.dropped_series > 0 && stats.dropped_samples > 0);
}
