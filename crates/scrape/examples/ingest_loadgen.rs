//! Steady-state ingestion of `scripts/bench-scale`'s load without a server or HTTP (issue 15
//! item 3): 10 targets whose expositions are shaped as `firewatch-loadgen` renders them (100
//! series per pod: counters by method, route and status, a latency histogram, gauges), each
//! scrape parsed through the target's scrape cache and appended into a TSDB with its WAL,
//! one commit per target and scrape, as the scrape loop does. Bodies are rendered on the main
//! thread; parsing and appending run on a thread named `ingest`, whose CPU seconds are printed
//! (for `perf report --comms ingest`). The first scrape (every series new) is left out.
//!
//! `cargo run --release -p firewatch-scrape --example ingest_loadgen -- DIR [SERIES] [SCRAPES]`

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use firewatch_scrape::scrape_loop::{LoopOptions, ScrapeCache, append_exposition};
use loadgen::{Load, SERIES_PER_POD};
use model::Labels;
use model::exposition::Format;
use tsdb::{Db, DbOptions};

const EXPORTERS: usize = 10;
const STEP_MS: i64 = 15_000;
/// Exporter `e`'s exposition of `pods` pods at `secs` seconds, rendered by loadgen itself
/// (without churn).
fn render(e: usize, pods: usize, secs: f64, out: &mut String) {
    out.clear();
    let load = Load {
        exporter: e,
        pods,
        churn_interval: Duration::from_secs(600),
        churn_fraction: 0.0,
        epoch_start: UNIX_EPOCH,
    };
    load.render(UNIX_EPOCH + Duration::from_secs_f64(secs), out);
}

/// CPU seconds of the calling thread so far (user + system).
fn thread_cpu_seconds() -> f64 {
    testkit::cpu_seconds("/proc/thread-self/stat")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .expect("usage: ingest_loadgen DIR [SERIES] [SCRAPES]");
    let series: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(300_000);
    let scrapes: i64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(20);
    let pods = series / SERIES_PER_POD / EXPORTERS;
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
                    assert_eq!(counts.scraped as usize, pods * SERIES_PER_POD);
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
        let samples = (scrapes - 1) as f64 * (pods * SERIES_PER_POD * EXPORTERS) as f64;
        println!(
            "{} series, {} steady scrapes: ingest thread {cpu:.2} CPU s, {:.0} ns per sample",
            pods * SERIES_PER_POD * EXPORTERS,
            scrapes - 1,
            cpu * 1e9 / samples
        );
    }
    std::mem::forget(db);
}
