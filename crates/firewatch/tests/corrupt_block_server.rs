//! The server over a data directory with a damaged block (issue 16, item 4): `firewatch
//! server` starts, logs an error naming the block it moved aside, and answers queries with
//! the other blocks' samples. The damage cases themselves are covered one by one in
//! crates/tsdb/tests/corrupt_data.rs; this is the same path through the real binary.

use std::path::Path;

use model::{Sample, labels};
use testkit::{Server, urlencode};
use tsdb::{Db, DbOptions};

const HOUR: i64 = 3_600_000;
const STEP: i64 = 60_000;

/// Three 2h blocks of one series (value = minute), head from 6h to 8h.
fn build(dir: &Path) -> Vec<std::path::PathBuf> {
    let opts = DbOptions {
        min_block_duration: 2 * HOUR,
        max_block_duration: 2 * HOUR,
        ..DbOptions::default()
    };
    let db = Db::open(dir, opts).unwrap();
    let l = labels!("__name__" => "damaged_test");
    let mut r = 0;
    for t in (0..8 * HOUR).step_by(STEP as usize) {
        let mut app = db.appender();
        r = app
            .append(r, &l, t, Sample::Float((t / STEP) as f64))
            .unwrap();
        app.commit().unwrap();
    }
    db.compact().unwrap();
    let blocks = db.blocks().iter().map(|b| b.dir().to_path_buf()).collect();
    db.close().unwrap();
    blocks
}

#[test]
fn server_starts_over_a_damaged_block_and_serves_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let blocks = build(&data);
    assert_eq!(blocks.len(), 3);
    // The middle block's index loses its table of contents.
    let index = blocks[1].join("index");
    let mut b = std::fs::read(&index).unwrap();
    let n = b.len();
    b[n - 20..].fill(0xff);
    std::fs::write(&index, b).unwrap();

    let fw = Server::start(
        env!("CARGO_BIN_EXE_firewatch"),
        &["server"],
        &tmp.path().join("work"),
        &data,
        "global:\n  scrape_interval: 1h\n",
        &[],
    );
    let log = fw.process.log_text();
    let name = blocks[1]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        log.lines()
            .any(|l| l.contains("ERROR") && l.contains("moved aside") && l.contains(&name)),
        "no error line naming {name}:\n{log}"
    );
    assert!(Path::new(&format!("{}.corrupted", blocks[1].display())).is_dir());
    // Samples per 2h window: the first and third blocks and the head are complete, the
    // moved block's window is empty (the head no longer covers it after compaction).
    let q = "count_over_time(damaged_test[2h])";
    let count_at = |t_ms: i64| -> Option<f64> {
        let r = fw
            .get(&format!(
                "/api/v1/query?query={}&time={}",
                urlencode(q),
                t_ms as f64 / 1000.0 - 0.001
            ))
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        v["data"]["result"][0]["value"][1]
            .as_str()
            .map(|s| s.parse().unwrap())
    };
    assert_eq!(count_at(2 * HOUR), Some(120.0), "first block");
    assert_eq!(count_at(6 * HOUR), Some(120.0), "third block");
    assert_eq!(count_at(8 * HOUR), Some(120.0), "head");
    let middle = count_at(4 * HOUR).unwrap_or(0.0);
    assert!(
        middle < 120.0,
        "the moved block's samples are still all served: {middle}"
    );
    assert_eq!(fw.get("/-/ready").unwrap().status, 200);
}
