//! CPU of the head compactions of `scripts/bench-scale`'s settings without a server (issue 15
//! item 3): a data directory with 5-minute blocks is filled with `SERIES` series of
//! `firewatch-loadgen`'s shapes (10 exporters, 100 series per pod, the target labels a scrape
//! adds) at 15 s spacing, one commit per target and scrape, and [`Db::compact`] runs once a
//! minute of sample time, as the server runs it. At minute 15 `CHURN` (default 1%) of the pods
//! get new names, as loadgen replaces them. Four head compactions happen: the first (every
//! series sorted), one in steady state, the one right after the churn (removes the replaced
//! series, checkpoints the WAL without them) and the next (writes the new series).
//!
//! Each compaction runs on a thread named `compact-<n>` (for `perf report --comms`) and prints
//! the process's CPU seconds it took (utime + stime of `/proc/self/stat`; nothing else runs
//! meanwhile), with the ingestion's CPU between compactions.
//!
//! `cargo run --release -p firewatch-tsdb --example compact_head -- DIR [SERIES] [CHURN]`

use std::path::Path;
use std::time::Instant;

use firewatch_tsdb::db::compact::head_compactable;
use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, Sample};

const EXPORTERS: usize = 10;
const POD_SERIES: usize = 100;
const STEP: i64 = 15_000;
const MIN: i64 = 60_000;
/// Sample time at which the churn happens (minutes).
const CHURN_AT: i64 = 15;
/// Scrapes in all: up to 22:45, when the fourth compaction is due (the head spans more
/// than 7.5 minutes at 7:45, 12:45, 17:45 and 22:45).
const SCRAPES: i64 = 22 * 4 + 4;

const METHODS: [&str; 2] = ["GET", "POST"];
const ROUTES: [&str; 4] = [
    "/api/v1/items",
    "/api/v1/items/{id}",
    "/api/v1/orders",
    "/healthz",
];
const STATUSES: [&str; 3] = ["200", "404", "500"];
const BUCKETS: [&str; 10] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
];

/// The label set of series `k` (0..100) of pod `p` of exporter `e` in generation `g`, as
/// loadgen exposes it and a scrape of `127.0.0.1:2100<e>` in job `loadgen` labels it.
fn labels(e: usize, p: usize, k: usize, g: u64) -> Labels {
    let service = p / 10;
    let pod = format!(
        "svc-{service}-{:08x}-{p}",
        g.wrapping_mul(0x9e37_79b9).wrapping_add(p as u64) & 0xffff_ffff
    );
    let mut pairs = vec![
        ("namespace", format!("team-{e}")),
        ("service", format!("svc-{service}")),
        ("pod", pod),
        ("container", "app".to_owned()),
        ("job", "loadgen".to_owned()),
        ("instance", format!("127.0.0.1:{}", 21000 + e)),
    ];
    let mut add = |n: &'static str, v: &str| pairs.push((n, v.to_owned()));
    if k < 24 {
        add("__name__", "bench_http_requests_total");
        add("method", METHODS[k / 12]);
        add("route", ROUTES[k / 3 % 4]);
        add("status", STATUSES[k % 3]);
    } else if k < 72 {
        let h = k - 24;
        add("method", METHODS[h / 24]);
        add("route", ROUTES[h / 12 % 2]);
        match h % 12 {
            10 => add("__name__", "bench_http_request_duration_seconds_sum"),
            11 => add("__name__", "bench_http_request_duration_seconds_count"),
            b => {
                add("__name__", "bench_http_request_duration_seconds_bucket");
                add("le", BUCKETS[b]);
            }
        }
    } else {
        add("__name__", "bench_app_gauge");
        add("area", &format!("area-{}", k - 72));
    }
    Labels::from_pairs(pairs)
}

/// One exporter's series in the order its exposition lists them (counters of every pod,
/// then histograms, then gauges), with the scrape cache's reference of each.
struct Target {
    e: usize,
    pods: usize,
    series: Vec<(Labels, u64)>,
}

impl Target {
    fn new(e: usize, pods: usize) -> Self {
        let mut t = Self {
            e,
            pods,
            series: Vec::new(),
        };
        t.relabel(|_| 0);
        t
    }

    /// Names every pod's series for the generation `gen(p)`, keeping the references of
    /// series whose labels stay.
    fn relabel(&mut self, generation: impl Fn(usize) -> u64) {
        let old = std::mem::take(&mut self.series);
        for (lo, hi) in [(0, 24), (24, 72), (72, POD_SERIES)] {
            for p in 0..self.pods {
                for k in lo..hi {
                    let l = labels(self.e, p, k, generation(p));
                    let r = old
                        .get(self.series.len())
                        .filter(|(o, _)| *o == l)
                        .map_or(0, |(_, r)| *r);
                    self.series.push((l, r));
                }
            }
        }
    }
}

/// CPU seconds of this process so far (user + system).
fn cpu_seconds() -> f64 {
    testkit::cpu_seconds("/proc/self/stat")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(
        args.get(1)
            .expect("usage: compact_head DIR [SERIES] [CHURN]"),
    );
    let series: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(300_000);
    let churn: f64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0.01);
    let opts = DbOptions {
        min_block_duration: 5 * MIN,
        max_block_duration: 5 * MIN,
        ..DbOptions::default()
    };
    let db = Db::open(dir, opts).expect("open the db");
    let pods = series / POD_SERIES / EXPORTERS;
    let mut targets: Vec<Target> = (0..EXPORTERS).map(|e| Target::new(e, pods)).collect();
    let every = (1.0 / churn).round().max(1.0) as usize;
    let (mut ingest_cpu, mut compactions) = (cpu_seconds(), 0);
    let started = Instant::now();
    for k in 0..SCRAPES {
        let now = k * STEP;
        if now == CHURN_AT * MIN && churn > 0.0 {
            for t in &mut targets {
                t.relabel(|p| u64::from(p % every == 0));
            }
        }
        for t in &mut targets {
            let mut app = db.appender();
            for (i, (l, r)) in t.series.iter_mut().enumerate() {
                let v = if i < t.pods * 72 {
                    (now / 1000) as f64 * (i % 7 + 1) as f64
                } else {
                    (1000.0 * ((now / MIN) as f64 + i as f64).sin()).round()
                };
                *r = app.append(*r, l, now, Sample::Float(v)).expect("append");
            }
            app.commit().expect("commit");
        }
        if (k + 1) % 4 == 0 && head_compactable(db.head()) {
            compactions += 1;
            let before = cpu_seconds();
            let head_series = db.head().num_series();
            on_named_thread(&format!("compact-{compactions}"), || {
                db.compact().expect("compact");
            });
            let after = cpu_seconds();
            println!(
                "compaction {compactions} at {} min: {:.2} CPU s ({head_series} -> {} series); \
                 ingestion before it {:.2} CPU s",
                now / MIN,
                after - before,
                db.head().num_series(),
                before - ingest_cpu
            );
            ingest_cpu = after;
        }
    }
    println!(
        "{series} series, {SCRAPES} scrapes, {compactions} compactions in {:.1} s, {:.2} CPU s",
        started.elapsed().as_secs_f64(),
        cpu_seconds()
    );
    // Not closed: nothing more to measure.
    std::mem::forget(db);
}

/// Runs `f` on a thread named `name` and waits for it.
fn on_named_thread(name: &str, f: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn_scoped(s, f)
            .expect("spawn")
            .join()
            .expect("compaction thread");
    });
}
