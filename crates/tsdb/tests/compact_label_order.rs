//! Head compaction keeps the order of the previous compaction and merges the new series in
//! (`head::label_order`): after churn across several compactions, with new series whose
//! labels fall between the old ones, every block lists its series in label order, holds
//! exactly the series that had samples in its range, and `promtool tsdb analyze` reads it.

use std::collections::BTreeSet;
use std::process::Command;

use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, Sample, labels};

const HOUR: i64 = 3_600_000;
const STEP: i64 = 60_000;

/// The pods alive in `generation`: most survive from one generation to the next, a few are
/// replaced by pods whose names sort anywhere among them.
fn pods(generation: u64) -> Vec<Labels> {
    (0..300u64)
        .map(|i| {
            // Every 7th pod is replaced at each generation, by a name scattered in the order.
            let born = if i % 7 == generation % 7 {
                generation
            } else {
                0
            };
            let name = format!("p{:03}-{born}", (i * 37 + born * 11) % 300);
            labels!("__name__" => "up", "job" => "app", "pod" => name.as_str())
        })
        .collect()
}

#[test]
fn blocks_list_series_in_label_order_after_churn() {
    let dir = tempfile::tempdir().unwrap();
    // Blocks of one range only: each block is one head compaction's.
    let opts = DbOptions {
        max_block_duration: 2 * HOUR,
        ..DbOptions::default()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    let mut expected: Vec<BTreeSet<String>> = Vec::new();
    for generation in 0..6u64 {
        let series = pods(generation);
        let (from, to) = (
            2 * HOUR * generation as i64,
            2 * HOUR * (generation as i64 + 1),
        );
        let mut t = from;
        while t < to {
            let mut app = db.appender();
            for s in &series {
                app.append(0, s, t, Sample::Float(t as f64)).unwrap();
            }
            app.commit().unwrap();
            t += STEP;
        }
        expected.push(series.iter().map(ToString::to_string).collect());
        db.compact().unwrap();
    }
    let blocks = db.blocks();
    assert_eq!(blocks.len(), 5, "one block per head compaction");
    for b in &blocks {
        let generation = (b.meta().min_time / (2 * HOUR)) as usize;
        let index = b.index();
        let all = index.postings("", &[""]).unwrap();
        let labels: Vec<Labels> = all.iter().map(|&r| index.series(r).unwrap().0).collect();
        assert!(
            labels.windows(2).all(|w| w[0] < w[1]),
            "block of generation {generation}: series out of label order"
        );
        let got: BTreeSet<String> = labels.iter().map(ToString::to_string).collect();
        assert_eq!(
            got, expected[generation],
            "block of generation {generation}"
        );
    }
    if !testkit::peers(
        "tsdb::compact_label_order::blocks_list_series_in_label_order_after_churn",
        &["promtool"],
    ) {
        return;
    }
    std::fs::create_dir_all(dir.path().join("wal")).unwrap();
    for b in &blocks {
        let out = Command::new("promtool")
            .args(["tsdb", "analyze"])
            .arg(dir.path())
            .arg(b.meta().ulid.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool tsdb analyze: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
