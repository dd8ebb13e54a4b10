//! A WAL whose tail is damaged (flipped bytes, cut mid-record, a zeroed page, a missing tail
//! segment) is reported as corruption at the broken record and repaired to the records before.

use std::path::Path;

use firewatch_tsdb::TsdbError;
use firewatch_tsdb::wal::{self, PAGE_SIZE, Wal, WalOptions, WalReader};

/// Writes `n` records of distinct sizes (some spanning pages); returns them.
fn write(dir: &Path, n: usize, compress: bool) -> Vec<Vec<u8>> {
    let mut w = Wal::open(
        dir,
        WalOptions {
            segment_size: 8 * PAGE_SIZE,
            compress,
            sync_on_log: false,
        },
    )
    .unwrap();
    let recs: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let len = if i % 5 == 4 {
                PAGE_SIZE + 100 * i
            } else {
                50 + 37 * i
            };
            (0..len).map(|j| (j * 31 + i * 7) as u8).collect()
        })
        .collect();
    for r in &recs {
        w.log(&[r]).unwrap();
    }
    w.close().unwrap();
    recs
}

/// Reads until the end or the first error.
fn read(dir: &Path) -> (Vec<Vec<u8>>, Option<TsdbError>) {
    let mut r = WalReader::open_dir(dir).unwrap();
    let mut out = Vec::new();
    loop {
        match r.next_record() {
            Ok(Some(rec)) => out.push(rec.to_vec()),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

/// Reads, expects a corruption, repairs, and checks that what is left is a prefix of `recs`
/// at least `min_kept` long, readable without error, and that the log can be appended to.
fn check_repair(dir: &Path, recs: &[Vec<u8>], min_kept: usize) -> usize {
    let (before, err) = read(dir);
    let err = err.expect("damage must be detected");
    assert!(matches!(err, TsdbError::WalCorruption { .. }), "got {err}");
    wal::repair(dir, &err).unwrap();
    let (after, err) = read(dir);
    assert!(err.is_none(), "repaired log still fails: {err:?}");
    assert_eq!(
        after, before,
        "repair keeps exactly the records read before the damage"
    );
    assert!(
        after.len() >= min_kept,
        "kept {} records, want >= {min_kept}",
        after.len()
    );
    assert_eq!(&recs[..after.len()], &after[..]);
    let mut w = Wal::open(dir, WalOptions::default()).unwrap();
    w.log(&[b"new"]).unwrap();
    let (again, err) = read(dir);
    assert!(err.is_none());
    assert_eq!(again.last().unwrap(), b"new");
    after.len()
}

fn last_segment(dir: &Path) -> std::path::PathBuf {
    wal::list_segments(dir)
        .unwrap()
        .last()
        .unwrap()
        .path
        .clone()
}

#[test]
fn flipped_byte_in_tail() {
    for compress in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let recs = write(dir.path(), 40, compress);
        let seg = last_segment(dir.path());
        let mut data = std::fs::read(&seg).unwrap();
        let pos = data.iter().rposition(|&b| b != 0).unwrap() - 10;
        data[pos] ^= 0x5a;
        std::fs::write(&seg, &data).unwrap();
        let kept = check_repair(dir.path(), &recs, 1);
        assert!(kept < recs.len());
    }
}

#[test]
fn truncated_mid_record() {
    let dir = tempfile::tempdir().unwrap();
    let recs = write(dir.path(), 40, false);
    let seg = last_segment(dir.path());
    let data = std::fs::read(&seg).unwrap();
    // Cut inside the last page holding data (a few bytes into a record's payload).
    let used = data.iter().rposition(|&b| b != 0).unwrap();
    std::fs::write(&seg, &data[..used - 3]).unwrap();
    let kept = check_repair(dir.path(), &recs, recs.len() - 2);
    assert_eq!(kept, recs.len() - 1);
}

#[test]
fn zero_filled_page() {
    let dir = tempfile::tempdir().unwrap();
    let recs = write(dir.path(), 60, false);
    let segs = wal::list_segments(dir.path()).unwrap();
    assert!(segs.len() >= 2, "test wants several segments");
    // Zero the second page of the first segment: records spanning into it break there, and
    // everything after (including later segments) is dropped by the repair.
    let seg = &segs[0].path;
    let mut data = std::fs::read(seg).unwrap();
    data[PAGE_SIZE..2 * PAGE_SIZE].fill(0);
    std::fs::write(seg, &data).unwrap();
    check_repair(dir.path(), &recs, 1);
    assert_eq!(
        wal::list_segments(dir.path()).unwrap().len(),
        2,
        "segment 0 and the new one"
    );
}

#[test]
fn garbage_header_type() {
    let dir = tempfile::tempdir().unwrap();
    let recs = write(dir.path(), 10, true);
    let seg = last_segment(dir.path());
    let mut data = std::fs::read(&seg).unwrap();
    let used = data.iter().rposition(|&b| b != 0).unwrap();
    data.truncate(used + 1);
    data.extend_from_slice(&[0x07, 0, 3, 1, 2, 3, 4, 9, 9, 9]);
    std::fs::write(&seg, &data).unwrap();
    assert_eq!(check_repair(dir.path(), &recs, recs.len()), recs.len());
}

#[test]
fn empty_and_short_zero_tail_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let recs = write(dir.path(), 5, false);
    let seg = last_segment(dir.path());
    let mut data = std::fs::read(&seg).unwrap();
    let used = data.iter().rposition(|&b| b != 0).unwrap();
    data.truncate(used + 1 + 20);
    std::fs::write(&seg, &data).unwrap();
    let (got, err) = read(dir.path());
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got, recs);
}

#[test]
fn gap_in_segment_numbers_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 3, false);
    std::fs::write(wal::segment_name(dir.path(), 7), b"").unwrap();
    assert!(WalReader::open_dir(dir.path()).is_err());
}
