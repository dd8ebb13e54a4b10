//! Steady-state ingestion of `scripts/bench-scale`'s load without a server or HTTP (issue 15
//! item 3): 10 targets whose expositions are shaped as `firewatch-loadgen` renders them (100
//! series per pod: counters by method, route and status, a latency histogram, gauges), each
//! scrape parsed through the target's scrape cache and appended into a TSDB with its WAL,
//! one commit per target and scrape, as the scrape loop does. Bodies are rendered on the main
//! thread; parsing and appending run on a thread named `ingest`, whose CPU seconds are printed
//! (for `perf report --comms ingest`). The first scrape (every series new) is left out.
//!
//! `cargo run --release -p firewatch-scrape --example ingest_loadgen -- DIR [SERIES] [SCRAPES]`

use std::fmt::Write as _;
use std::path::Path;

use firewatch_scrape::scrape_loop::{LoopOptions, ScrapeCache, append_exposition};
use model::Labels;
use model::exposition::Format;
use tsdb::{Db, DbOptions};

const EXPORTERS: usize = 10;
const POD_SERIES: usize = 100;
const STEP_MS: i64 = 15_000;
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

/// Exporter `e`'s exposition of `pods` pods at `secs` seconds, as loadgen writes it.
fn render(e: usize, pods: usize, secs: f64, out: &mut String) {
    out.clear();
    let prefixes: Vec<String> = (0..pods)
        .map(|p| {
            let service = p / 10;
            format!(
                "namespace=\"team-{e}\",service=\"svc-{service}\",pod=\"svc-{service}-{:08x}-{p}\",container=\"app\"",
                (p as u64).wrapping_mul(0x9e37_79b9) & 0xffff_ffff
            )
        })
        .collect();
    out.push_str("# HELP bench_http_requests_total Requests served.\n");
    out.push_str("# TYPE bench_http_requests_total counter\n");
    for (p, labels) in prefixes.iter().enumerate() {
        let mut k = 0;
        for method in METHODS {
            for route in ROUTES {
                for status in STATUSES {
                    k += 1;
                    let rate = ((p + k) % 7 + 1) as f64;
                    let _ = writeln!(
                        out,
                        "bench_http_requests_total{{{labels},method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                        (secs * rate).floor()
                    );
                }
            }
        }
    }
    out.push_str("# HELP bench_http_request_duration_seconds Request latency.\n");
    out.push_str("# TYPE bench_http_request_duration_seconds histogram\n");
    for labels in &prefixes {
        for method in METHODS {
            for route in &ROUTES[..2] {
                let count = (secs * 3.0).floor();
                for (b, le) in BUCKETS.iter().enumerate() {
                    let share = (b + 1) as f64 / BUCKETS.len() as f64;
                    let _ = writeln!(
                        out,
                        "bench_http_request_duration_seconds_bucket{{{labels},method=\"{method}\",route=\"{route}\",le=\"{le}\"}} {}",
                        (count * share).floor()
                    );
                }
                let _ = writeln!(
                    out,
                    "bench_http_request_duration_seconds_sum{{{labels},method=\"{method}\",route=\"{route}\"}} {}",
                    count * 0.042
                );
                let _ = writeln!(
                    out,
                    "bench_http_request_duration_seconds_count{{{labels},method=\"{method}\",route=\"{route}\"}} {count}"
                );
            }
        }
    }
    out.push_str("# HELP bench_app_gauge Application state.\n");
    out.push_str("# TYPE bench_app_gauge gauge\n");
    let gauges = POD_SERIES - 24 - 48;
    for (p, labels) in prefixes.iter().enumerate() {
        for g in 0..gauges {
            let phase = (p * gauges + g) as f64;
            let value = (1000.0 * ((secs / 60.0) + phase).sin()).round();
            let _ = writeln!(out, "bench_app_gauge{{{labels},area=\"area-{g}\"}} {value}");
        }
    }
}

/// CPU seconds of the calling thread so far (user + system).
fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("read the thread's stat");
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime");
    ticks as f64 / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .expect("usage: ingest_loadgen DIR [SERIES] [SCRAPES]");
    let series: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(300_000);
    let scrapes: i64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(20);
    let pods = series / POD_SERIES / EXPORTERS;
    let db = Db::open(Path::new(dir), DbOptions::default()).expect("open the db");
    let targets: Vec<Labels> = (0..EXPORTERS)
        .map(|e| {
            Labels::from_pairs([
                ("instance", format!("127.0.0.1:{}", 21000 + e)),
                ("job", "loadgen".to_owned()),
            ])
        })
        .collect();
    let opts = LoopOptions {
        honor_timestamps: true,
        ..LoopOptions::default()
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, i64, String)>(2);
    let (back_tx, back_rx) = std::sync::mpsc::channel::<String>();
    let cpu = std::thread::scope(|s| {
        let ingest = std::thread::Builder::new()
            .name("ingest".to_owned())
            .spawn_scoped(s, || {
                let mut caches: Vec<ScrapeCache> =
                    (0..EXPORTERS).map(|_| ScrapeCache::default()).collect();
                let mut measured_from = None;
                for (e, k, body) in rx {
                    if k == 1 && e == 0 {
                        measured_from = Some(thread_cpu_seconds());
                    }
                    let mut app = db.appender();
                    let counts = append_exposition(
                        app.as_mut(),
                        &mut caches[e],
                        body.as_bytes(),
                        Format::Text,
                        &targets[e],
                        &opts,
                        k * STEP_MS,
                    )
                    .expect("append");
                    assert_eq!(counts.scraped as usize, pods * POD_SERIES);
                    app.commit().expect("commit");
                    let _ = back_tx.send(body);
                }
                measured_from.map(|t| thread_cpu_seconds() - t)
            })
            .expect("spawn");
        for k in 0..scrapes {
            for e in 0..EXPORTERS {
                let mut body = back_rx.try_recv().unwrap_or_default();
                render(e, pods, (k * STEP_MS) as f64 / 1000.0, &mut body);
                tx.send((e, k, body)).expect("ingest thread");
            }
        }
        drop(tx);
        ingest.join().expect("ingest thread")
    });
    if let Some(cpu) = cpu {
        let samples = (scrapes - 1) as f64 * (pods * POD_SERIES * EXPORTERS) as f64;
        println!(
            "{} series, {} steady scrapes: ingest thread {cpu:.2} CPU s, {:.0} ns per sample",
            pods * POD_SERIES * EXPORTERS,
            scrapes - 1,
            cpu * 1e9 / samples
        );
    }
    std::mem::forget(db);
}
