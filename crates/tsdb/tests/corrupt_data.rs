//! Damaged data directories (issue 16, item 4): a block with a missing or truncated chunk
//! file, a corrupt index, a garbage or missing meta.json, a torn WAL record, a corrupt head
//! chunk file. For each, the database opens, repairs what Prometheus repairs (the WAL and the
//! head chunk files), moves a block it cannot read aside to `<ulid>.corrupted` with an error
//! log naming it, and serves every other sample.
//!
//! One directory is built (three 2h blocks, a head with mapped chunks and a WAL), copied for
//! each case, damaged, and opened twice (the second open finds nothing left to repair).

use std::path::{Path, PathBuf};

use firewatch_tsdb::db::CORRUPTED_SUFFIX;
use firewatch_tsdb::index::IndexReader;
use firewatch_tsdb::{Db, DbOptions};
use model::{Matcher, Sample, labels};
use storage::ValueType;

mod log_capture;
use log_capture::with_log;

const HOUR: i64 = 3_600_000;
const STEP: i64 = 15_000;
const END: i64 = 8 * HOUR;
const SERIES: usize = 4;

fn opts() -> DbOptions {
    DbOptions {
        min_block_duration: 2 * HOUR,
        max_block_duration: 2 * HOUR,
        wal_segment_size: 64 * 1024,
        ..DbOptions::default()
    }
}

fn value(i: usize, t: i64) -> f64 {
    (t / STEP) as f64 + i as f64 * 0.5
}

/// Three blocks ([0,2h), [2h,4h), [4h,6h)) and a head from 6h to 8h.
fn build(dir: &Path) {
    let db = Db::open(dir, opts()).unwrap();
    let mut refs = [0u64; SERIES];
    let mut t = 0;
    while t < END {
        let mut app = db.appender();
        for (i, r) in refs.iter_mut().enumerate() {
            let l = labels!("__name__" => "c", "i" => i.to_string().as_str());
            *r = app.append(*r, &l, t, Sample::Float(value(i, t))).unwrap();
        }
        app.commit().unwrap();
        t += STEP;
    }
    db.compact().unwrap();
    assert_eq!(db.blocks().len(), 3, "{:?}", db.blocks());
    db.close().unwrap();
}

/// Every sample of series `i`, as read back.
fn read(db: &Db, i: usize) -> Vec<(i64, f64)> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let mut out = Vec::new();
    for s in q
        .select(true, None, &[Matcher::equal("i", i.to_string())])
        .unwrap()
    {
        let s = s.unwrap();
        let mut it = s.iter();
        while it.next() == ValueType::Float {
            out.push(it.at());
        }
        assert!(it.err().is_none(), "series {i}: {:?}", it.err());
    }
    out
}

fn expected(i: usize, from: i64, to: i64) -> Vec<(i64, f64)> {
    (from / STEP..to / STEP)
        .map(|k| (k * STEP, value(i, k * STEP)))
        .collect()
}

/// The block directories of `dir`, by min time.
fn block_dirs(dir: &Path) -> Vec<PathBuf> {
    let db = Db::open(dir, opts()).unwrap();
    let out = db.blocks().iter().map(|b| b.dir().to_path_buf()).collect();
    db.close().unwrap();
    out
}

fn numbered_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
        })
        .collect();
    v.sort();
    v
}

fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn overwrite(path: &Path, at: u64, bytes: &[u8]) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(bytes).unwrap();
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// What a case expects after opening.
enum Expect {
    /// The block at this position is moved aside; the log says why with this text.
    MovedAside(usize, &'static str),
    /// Repaired in place (log text); every sample is still there.
    RepairedAll(&'static str),
    /// Repaired in place (log text); the blocks are complete, the head keeps a non-empty
    /// prefix of its samples (those before the damage).
    RepairedHeadPrefix(&'static str),
}

type Damage = fn(&Path, &[PathBuf]);

const CASES: &[(&str, Damage, Expect)] = &[
    (
        "chunk file missing",
        |_, b| std::fs::remove_file(b[1].join("chunks/000001")).unwrap(),
        Expect::MovedAside(1, "does not exist"),
    ),
    (
        "chunk file truncated to half",
        |_, b| {
            let p = b[0].join("chunks/000001");
            truncate(&p, len(&p) / 2);
        },
        Expect::MovedAside(0, "truncated"),
    ),
    (
        "chunk file missing its last 3 bytes",
        |_, b| {
            let p = b[2].join("chunks/000001");
            truncate(&p, len(&p) - 3);
        },
        Expect::MovedAside(2, "last chunk of series"),
    ),
    (
        "chunk file with a bad header",
        |_, b| overwrite(&b[1].join("chunks/000001"), 0, b"\0\0\0\0"),
        Expect::MovedAside(1, "invalid magic number"),
    ),
    (
        "index table of contents overwritten",
        |_, b| {
            let p = b[1].join("index");
            overwrite(&p, len(&p) - 20, &[0xff; 20]);
        },
        Expect::MovedAside(1, "TOC"),
    ),
    (
        "index series entry with a flipped byte",
        |_, b| {
            let p = b[0].join("index");
            let series = IndexReader::open(&p).unwrap().toc().series;
            // The first entry starts at the next 16-byte boundary; +3 is inside its labels.
            overwrite(&p, series.next_multiple_of(16) + 3, &[0x5a]);
        },
        Expect::MovedAside(0, "series"),
    ),
    (
        "index missing",
        |_, b| std::fs::remove_file(b[2].join("index")).unwrap(),
        Expect::MovedAside(2, "index"),
    ),
    (
        "meta.json garbage",
        |_, b| std::fs::write(b[1].join("meta.json"), b"{\"ulid\": garbage").unwrap(),
        Expect::MovedAside(1, "meta.json"),
    ),
    (
        "meta.json missing",
        |_, b| std::fs::remove_file(b[0].join("meta.json")).unwrap(),
        Expect::MovedAside(0, "meta.json"),
    ),
    (
        "WAL torn in its last record",
        |d, _| {
            // The writer pads the last page with zeros on close: cut into the last record.
            let last = numbered_files(&d.join("wal"))
                .into_iter()
                .rfind(|p| len(p) > 0)
                .unwrap();
            let b = std::fs::read(&last).unwrap();
            let end = b.iter().rposition(|&x| x != 0).unwrap() as u64;
            truncate(&last, end - 1);
        },
        Expect::RepairedHeadPrefix("WAL"),
    ),
    (
        "WAL with garbage in the middle of a segment",
        |d, _| {
            let last = numbered_files(&d.join("wal"))
                .into_iter()
                .rfind(|p| len(p) > 1024)
                .unwrap();
            overwrite(&last, len(&last) / 2, &[0xab; 64]);
        },
        Expect::RepairedHeadPrefix("WAL"),
    ),
    (
        "head chunk file corrupt",
        |d, _| {
            let first = numbered_files(&d.join("chunks_head")).remove(0);
            assert!(len(&first) > 100, "{}", first.display());
            overwrite(&first, 40, &[0xcd; 16]);
        },
        Expect::RepairedAll("head chunk file is corrupt"),
    ),
];

#[test]
fn corrupt_data_is_repaired_or_moved_aside_and_the_rest_served() {
    let tmp = tempfile::tempdir().unwrap();
    let pristine = tmp.path().join("pristine");
    build(&pristine);
    let ranges = [(0, 2 * HOUR), (2 * HOUR, 4 * HOUR), (4 * HOUR, 6 * HOUR)];
    let mut failures = Vec::new();
    for (name, damage, expect) in CASES {
        let dir = tmp.path().join(name.replace(' ', "_"));
        testkit::copy_data_dir(&pristine, &dir);
        let blocks = block_dirs(&dir);
        assert_eq!(blocks.len(), 3);
        damage(&dir, &blocks);
        let (db, log) = with_log(|| Db::open(&dir, opts()));
        let db = match db {
            Ok(db) => db,
            Err(e) => {
                failures.push(format!("{name}: open failed: {e}\n{log}"));
                continue;
            }
        };
        let mut check = |ok: bool, what: String| {
            if !ok {
                failures.push(format!("{name}: {what}\n--- log:\n{log}"));
            }
        };
        match expect {
            Expect::MovedAside(k, reason) => {
                let block = &blocks[*k];
                let aside = PathBuf::from(format!("{}{CORRUPTED_SUFFIX}", block.display()));
                check(
                    !block.exists() && aside.is_dir(),
                    format!("{} not moved to {}", block.display(), aside.display()),
                );
                let line = log
                    .lines()
                    .find(|l| l.contains("moved aside"))
                    .unwrap_or_default();
                check(
                    line.contains("ERROR")
                        && line.contains(&block.display().to_string())
                        && line.contains(reason),
                    format!("no error line naming the block and {reason:?}"),
                );
                // Every other block's samples and the head's are served. Of the moved block's
                // range, the head may still hold samples in head chunk files not yet cut
                // after compaction: those are served too, and must be right.
                let (lost_from, lost_to) = ranges[*k];
                for i in 0..SERIES {
                    let got = read(&db, i);
                    let (lost, kept): (Vec<_>, Vec<_>) = got
                        .iter()
                        .partition(|(t, _)| (lost_from..lost_to).contains(t));
                    let mut want = Vec::new();
                    for (j, (from, to)) in ranges.iter().enumerate() {
                        if j != *k {
                            want.extend(expected(i, *from, *to));
                        }
                    }
                    want.extend(expected(i, 6 * HOUR, END));
                    let all_lost = expected(i, lost_from, lost_to);
                    check(
                        kept == want && lost.iter().all(|x| all_lost.contains(x)),
                        format!(
                            "series {i}: {} samples outside the moved block, want {}; {} inside",
                            kept.len(),
                            want.len(),
                            lost.len()
                        ),
                    );
                }
            }
            Expect::RepairedAll(text) | Expect::RepairedHeadPrefix(text) => {
                check(
                    log.lines().any(|l| l.contains("WARN") && l.contains(text)),
                    format!("no warning about {text:?}"),
                );
                check(
                    !log.contains("moved aside"),
                    "a block was moved aside".into(),
                );
                let all = matches!(expect, Expect::RepairedAll(_));
                for i in 0..SERIES {
                    let got = read(&db, i);
                    let want = expected(i, 0, END);
                    let blocks_part = expected(i, 0, 6 * HOUR).len();
                    let ok = if all {
                        got == want
                    } else {
                        got.len() > blocks_part && want.starts_with(&got)
                    };
                    check(
                        ok,
                        format!("series {i}: {} samples, want {}", got.len(), want.len()),
                    );
                }
            }
        }
        // A second open has nothing left to repair and serves the same data.
        let before: Vec<_> = (0..SERIES).map(|i| read(&db, i)).collect();
        db.close().unwrap();
        drop(db);
        let (db, log2) = with_log(|| Db::open(&dir, opts()).unwrap());
        let after: Vec<_> = (0..SERIES).map(|i| read(&db, i)).collect();
        if before != after || log2.contains("WARN") || log2.contains("ERROR") {
            failures.push(format!("{name}: second open differs or warns:\n{log2}"));
        }
        db.close().unwrap();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
