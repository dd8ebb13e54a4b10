//! Restart time of a full head with and without a chunk snapshot (issue 15 item 4): writes
//! `SERIES` series (default 100,000) x `SAMPLES` samples (default 120, 15 s apart: the open
//! chunks of half an hour) with the snapshot feature on, closes (writing the snapshot), then
//! times `Db::open` replaying the whole WAL and `Db::open` from the snapshot.
//!
//! `cargo run --release -p firewatch-tsdb --example restart_time -- [SERIES] [SAMPLES] [DIR]`

use std::time::Instant;

use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, Sample};

fn main() {
    tracing_subscriber::fmt().with_ansi(false).init();
    let args: Vec<String> = std::env::args().collect();
    let series: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let samples: i64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(120);
    let tmp = tempfile::tempdir_in(args.get(3).map_or("/tmp", String::as_str)).unwrap();
    let dir = tmp.path();
    let opts = |snapshot: bool| DbOptions {
        enable_memory_snapshot_on_shutdown: snapshot,
        ..DbOptions::default()
    };
    let labels: Vec<Labels> = (0..series)
        .map(|i| {
            Labels::from_pairs(vec![
                ("__name__", "bench_http_requests_total"),
                ("job", "bench"),
                ("instance", &format!("host-{}:9100", i % 100)),
                ("path", &format!("/api/v1/item/{}", i / 100)),
                ("method", "GET"),
                ("code", if i % 7 == 0 { "500" } else { "200" }),
            ])
        })
        .collect();
    let started = Instant::now();
    {
        let db = Db::open(dir, opts(true)).unwrap();
        let mut refs = vec![0u64; series];
        for k in 0..samples {
            let mut app = db.appender();
            for (i, l) in labels.iter().enumerate() {
                let v = (k * 3 + i as i64 % 11) as f64;
                refs[i] = app
                    .append(refs[i], l, k * 15_000, Sample::Float(v))
                    .unwrap();
            }
            app.commit().unwrap();
        }
        let t = Instant::now();
        db.close().unwrap();
        println!(
            "write {:.1}s, close with snapshot {:.2}s",
            started.elapsed().as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
    }
    let du = |p: &std::path::Path| -> u64 {
        std::fs::read_dir(p).map_or(0, |d| {
            d.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
    };
    let snap = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("chunk_snapshot.")
        })
        .map(|e| e.path())
        .expect("a snapshot");
    println!(
        "WAL {} MB, snapshot {} MB",
        du(&dir.join("wal")) >> 20,
        du(&snap) >> 20
    );
    for snapshot in [false, true, false, true] {
        let t = Instant::now();
        let db = Db::open(dir, opts(snapshot)).unwrap();
        let open = t.elapsed().as_secs_f64();
        assert_eq!(db.head().num_series(), series);
        // Closing without the feature keeps the snapshot as it is (the WAL after it is empty).
        db.close().unwrap();
        println!(
            "open {} snapshot: {open:.2}s",
            if snapshot { "with" } else { "without" }
        );
    }
}
