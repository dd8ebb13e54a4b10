//! Chunk-level compaction: merging blocks copies the chunks that overlap nothing byte for
//! byte, merges overlapping ones (one sample per timestamp), drops deleted samples, and
//! gives the same samples a merge querier over the inputs gives; the result opens in
//! `promtool tsdb analyze` (Prometheus 2.42) when it is installed.

use std::collections::BTreeMap;
use std::path::Path;

use firewatch_tsdb::block::{BlockReader, BlockWriter};
use firewatch_tsdb::db::compact::merge_blocks;
use firewatch_tsdb::tombstones::{Interval, Tombstones};
use model::{Labels, MatchOp, Matcher, labels};
use storage::{MergeQuerier, Querier};

mod float_samples;
use float_samples::queried_float_samples;

type Dump = BTreeMap<String, Vec<(i64, f64)>>;

fn dump(q: &dyn Querier) -> Dump {
    queried_float_samples(
        q,
        Matcher::new(MatchOp::RegexMatch, "__name__", ".*").unwrap(),
    )
}

/// Chunk bytes of every series of `b`, by series.
fn chunk_bytes(b: &BlockReader) -> BTreeMap<String, Vec<Vec<u8>>> {
    let mut out = BTreeMap::new();
    for id in b.index().all_postings().unwrap() {
        let (l, metas) = b.index().series(id).unwrap();
        let bytes = metas
            .iter()
            .map(|m| b.chunks().chunk(m.r#ref).unwrap().1.to_vec())
            .collect();
        out.insert(l.to_string(), bytes);
    }
    out
}

fn samples(from: i64, to: i64, step: i64, offset: f64) -> Vec<(i64, f64)> {
    (0..)
        .map(|i| from + i * step)
        .take_while(|t| *t < to)
        .map(|t| (t, t as f64 / 1000.0 + offset))
        .collect()
}

fn block(
    dir: &Path,
    range: (i64, i64),
    series: &[(Labels, Vec<(i64, f64)>)],
    tombstones: Tombstones,
) -> BlockReader {
    let mut w = BlockWriter::new(dir)
        .with_time_range(range.0, range.1)
        .with_tombstones(tombstones);
    for (l, s) in series {
        w.add_series(l.clone(), s).unwrap();
    }
    let meta = w.write().unwrap();
    BlockReader::open(dir.join(meta.ulid.to_string())).unwrap()
}

#[test]
fn merging_copies_lone_chunks_and_reencodes_overlaps() {
    let tmp = tempfile::tempdir().unwrap();
    let a = labels!("__name__" => "m", "s" => "a");
    let b = labels!("__name__" => "m", "s" => "b");
    let c = labels!("__name__" => "m", "s" => "c");
    let d = labels!("__name__" => "m", "s" => "d");
    // Block 1: a and c over [0, 3600 s).
    let b1 = block(
        tmp.path(),
        (0, 3_600_000),
        &[
            (a.clone(), samples(0, 3_600_000, 15_000, 0.0)),
            (c.clone(), samples(0, 3_600_000, 15_000, 0.0)),
        ],
        Tombstones::new(),
    );
    // Block 2 overlaps block 1 in time: a continues after it (no overlap of chunks), b is
    // new, c overlaps with other values at shifted timestamps and some equal ones.
    let b2 = block(
        tmp.path(),
        (1_800_000, 7_200_000),
        &[
            (a.clone(), samples(3_600_000, 7_200_000, 15_000, 0.0)),
            (b.clone(), samples(1_800_000, 7_200_000, 10_000, 1.0)),
            (c.clone(), samples(1_800_000, 5_400_000, 7_000, 0.0)),
        ],
        Tombstones::new(),
    );
    // Block 3: d, with deleted samples (the tombstone names the series by its reference in
    // the written index, so it is added once the block exists).
    let b3_plain = block(
        tmp.path(),
        (7_200_000, 10_800_000),
        &[(d.clone(), samples(7_200_000, 10_800_000, 15_000, 0.0))],
        Tombstones::new(),
    );
    let d_ref = b3_plain.index().all_postings().unwrap()[0];
    let mut ts = Tombstones::new();
    ts.add_interval(
        d_ref,
        Interval {
            mint: 8_000_000,
            maxt: 8_500_000,
        },
    );
    let b3_dir = b3_plain.dir().to_path_buf();
    drop(b3_plain);
    ts.write(&b3_dir).unwrap();
    let b3 = BlockReader::open(&b3_dir).unwrap();

    let parents = vec![b1, b2, b3];
    let want = dump(&MergeQuerier::new(
        parents
            .iter()
            .map(|p| Box::new(p.block_querier(i64::MIN, i64::MAX)) as Box<dyn Querier>)
            .collect(),
    ));
    assert!(
        want[&d.to_string()]
            .iter()
            .all(|(t, _)| *t < 8_000_000 || *t > 8_500_000)
    );
    let out = tempfile::tempdir().unwrap();
    let merged = merge_blocks(out.path(), &parents, None).unwrap();
    assert_eq!(dump(&merged.block_querier(i64::MIN, i64::MAX)), want);
    assert_eq!(merged.meta().min_time, 0);
    assert_eq!(merged.meta().max_time, 10_800_000);
    assert_eq!(merged.meta().stats.num_series, 4);
    assert_eq!(
        merged.meta().stats.num_samples,
        want.values().map(|v| v.len() as u64).sum::<u64>()
    );

    // a's chunks overlap nothing: copied byte for byte from both inputs.
    let got = chunk_bytes(&merged);
    let mut a_inputs = chunk_bytes(&parents[0])[&a.to_string()].clone();
    a_inputs.extend(chunk_bytes(&parents[1])[&a.to_string()].clone());
    assert_eq!(got[&a.to_string()], a_inputs);
    // b is only in one input: copied as well.
    assert_eq!(
        got[&b.to_string()],
        chunk_bytes(&parents[1])[&b.to_string()]
    );
    // c overlaps: re-encoded, so its chunks differ from both inputs' chunks.
    let c_inputs: Vec<Vec<u8>> = chunk_bytes(&parents[0])[&c.to_string()]
        .iter()
        .chain(&chunk_bytes(&parents[1])[&c.to_string()])
        .cloned()
        .collect();
    assert!(got[&c.to_string()].iter().any(|ch| !c_inputs.contains(ch)));

    if let Some(promtool) = testkit::peer_binary(
        "merging_copies_lone_chunks_and_reencodes_overlaps",
        "promtool",
    ) {
        let o = std::process::Command::new(promtool)
            .args(["tsdb", "analyze"])
            .arg(out.path())
            .arg(merged.meta().ulid.to_string())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(text.contains("Series: 4"), "{text}");
        // promtool opens the directory as a database: it needs a (here empty) WAL.
        std::fs::create_dir_all(out.path().join("wal")).unwrap();
        let o = std::process::Command::new(testkit::find_on_path("promtool").unwrap())
            .args(["tsdb", "dump"])
            .arg(out.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let lines = String::from_utf8_lossy(&o.stdout).lines().count();
        assert_eq!(lines, want.values().map(Vec::len).sum::<usize>());
    }
}
