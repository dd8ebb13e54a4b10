//! Range queries of `scripts/bench-scale` over a data directory without a server (issue 15
//! item 5): the directory `crates/tsdb/examples/compact_head.rs` leaves (5-minute blocks and a
//! head of loadgen-shaped series) is opened, and each of the script's dashboard queries runs
//! as a range query over the last hour of the data at a 60 s step, `REPS` times. Printed per
//! query: the process's CPU seconds (utime + stime; nothing else runs meanwhile), the wall
//! time, and a hash of the result, so two builds can be checked to answer the same. The
//! allocator is mimalloc, as in the `firewatch` binary.
//!
//! `cargo run --release -p firewatch-promql --example query_blocks -- DIR [QUERIES] [REPS]`
//! where QUERIES is a comma-separated list of query numbers (default all).

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::time::Instant;

use firewatch_promql::Engine;
use tsdb::{Db, DbOptions};

// The server's allocator, so allocation costs weigh as they do there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MIN: i64 = 60_000;

/// `scripts/bench-scale`'s `QUERIES`, in its order.
const QUERIES: [&str; 6] = [
    "sum by (service) (rate(bench_http_requests_total[5m]))",
    "histogram_quantile(0.99, sum by (le, route) (rate(bench_http_request_duration_seconds_bucket[5m])))",
    "sum by (service) (rate(bench_http_requests_total{status=\"500\"}[5m])) / sum by (service) (rate(bench_http_requests_total[5m])) > 0.1",
    "topk(10, bench_app_gauge{area=\"area-1\"})",
    "sum by (namespace) (bench_app_gauge)",
    "count({__name__=~\"bench_.+\"})",
];

/// CPU seconds of this process so far (user + system).
fn cpu_seconds() -> f64 {
    testkit::cpu_seconds("/proc/self/stat")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(
        args.get(1)
            .expect("usage: query_blocks DIR [QUERIES] [REPS]"),
    );
    let which: Vec<usize> = args.get(2).map_or_else(
        || (0..QUERIES.len()).collect(),
        |a| {
            a.split(',')
                .map(|n| n.parse().expect("query number"))
                .collect()
        },
    );
    let reps: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(3);
    let opts = DbOptions {
        min_block_duration: 5 * MIN,
        max_block_duration: 5 * MIN,
        ..DbOptions::default()
    };
    let db = Db::open(dir, opts).expect("open the db");
    let end = db.head().max_time();
    let start = end - 60 * MIN;
    println!("{} blocks; querying {start}..={end}", db.blocks().len());
    let engine = Engine::default();
    for &i in &which {
        let q = QUERIES[i];
        for _ in 0..reps {
            let (cpu, wall) = (cpu_seconds(), Instant::now());
            let r = engine.range_query(&db, q, start, end, MIN).expect("query");
            let (cpu, wall) = (cpu_seconds() - cpu, wall.elapsed());
            let mut h = std::collections::hash_map::DefaultHasher::new();
            format!("{:?}", r.value).hash(&mut h);
            println!(
                "q{i}: {:.2} CPU s, {:.0} ms, result {:016x}",
                cpu,
                wall.as_secs_f64() * 1000.0,
                h.finish()
            );
        }
    }
    // Not closed: nothing more to measure (and the directory stays as it was).
    std::mem::forget(db);
}
