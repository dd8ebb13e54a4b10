//! One scrape's worth of work after the HTTP response: parse a ~20,000-series text exposition
//! shaped like `shared/bench/synth_exporter.py`'s, look each series up in the scrape cache,
//! append every sample (and the staleness pass) into an appender that only hands out series
//! references, so the numbers are the scrape loop's own cost.
//!
//! `steady`: the cache is warm (every series seen before, new values each scrape), as in the
//! ingest benchmark. `first_scrape`: an empty cache (labels built, relabeled and hashed).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use firewatch_scrape::scrape_loop::{LoopOptions, ScrapeCache, append_exposition};
use model::exposition::Format;
use model::{Labels, Timestamp};
use testkit::ref_appender::RefAppender;

const SERVICES: [&str; 18] = [
    "api-gateway",
    "auth",
    "billing",
    "cart",
    "catalog",
    "checkout",
    "email",
    "frontend",
    "inventory",
    "ledger",
    "notify",
    "orders",
    "payments",
    "recommend",
    "search",
    "shipping",
    "users",
    "worker",
];
const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const CODES: [&str; 7] = ["200", "201", "204", "400", "404", "500", "503"];
const BUCKETS: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];
const SERIES: usize = 20_000;

fn instance(i: usize) -> String {
    format!("10.{}.{}.{}:8080", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

/// A body like the synthetic exporter's for `n` series: half counters, 12% histogram
/// series, the rest gauges; `seed` varies the values from scrape to scrape.
fn synth_body(n: usize, seed: u64) -> String {
    let per_hist = BUCKETS.len() + 2;
    let n_hist = ((n * 12 / 100).max(14) / per_hist).max(1);
    let n_counter = n / 2;
    let n_gauge = n - n_counter - n_hist * per_hist;
    // A small deterministic generator: values differ per series and per seed.
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = String::with_capacity(n * 100);
    out.push_str("# HELP synth_requests_total Synthetic request counter.\n");
    out.push_str("# TYPE synth_requests_total counter\n");
    for i in 0..n_counter {
        let svc = SERVICES[i % SERVICES.len()];
        let m = METHODS[(i / SERVICES.len()) % METHODS.len()];
        let c = CODES[(i / (SERVICES.len() * METHODS.len())) % CODES.len()];
        let ins = instance(i / (SERVICES.len() * METHODS.len() * CODES.len()));
        out.push_str(&format!(
            "synth_requests_total{{service=\"{svc}\",instance=\"{ins}\",method=\"{m}\",code=\"{c}\"}} {}\n",
            next() % 1_000_000
        ));
    }
    out.push_str("# HELP synth_queue_depth Synthetic gauge.\n# TYPE synth_queue_depth gauge\n");
    for i in 0..n_gauge {
        let svc = SERVICES[i % SERVICES.len()];
        let q = (i / SERVICES.len()) % 16;
        let ins = instance(i / (SERVICES.len() * 16));
        out.push_str(&format!(
            "synth_queue_depth{{service=\"{svc}\",instance=\"{ins}\",queue=\"q{q}\"}} {}.{:03}\n",
            next() % 100,
            next() % 1000
        ));
    }
    out.push_str("# HELP synth_request_duration_seconds Synthetic histogram.\n");
    out.push_str("# TYPE synth_request_duration_seconds histogram\n");
    for i in 0..n_hist {
        let svc = SERVICES[i % SERVICES.len()];
        let ins = instance(i / SERVICES.len());
        let cnt = next() % 100_000;
        for (k, le) in BUCKETS.iter().enumerate() {
            out.push_str(&format!(
                "synth_request_duration_seconds_bucket{{service=\"{svc}\",instance=\"{ins}\",le=\"{le}\"}} {}\n",
                cnt * (k as u64 + 1) / BUCKETS.len() as u64
            ));
        }
        out.push_str(&format!(
            "synth_request_duration_seconds_sum{{service=\"{svc}\",instance=\"{ins}\"}} {}.{:03}\n",
            cnt / 5,
            cnt % 1000
        ));
        out.push_str(&format!(
            "synth_request_duration_seconds_count{{service=\"{svc}\",instance=\"{ins}\"}} {cnt}\n"
        ));
    }
    out
}

fn target() -> Labels {
    Labels::from_pairs([("instance", "127.0.0.1:19200"), ("job", "synth")])
}

fn bench(c: &mut Criterion) {
    let bodies: Vec<String> = (1..=4).map(|s| synth_body(SERIES, s)).collect();
    let target = target();
    let opts = LoopOptions {
        honor_timestamps: true,
        ..LoopOptions::default()
    };
    let mut g = c.benchmark_group("scrape_20k");
    g.throughput(Throughput::Bytes(bodies[0].len() as u64));
    g.sample_size(30);

    let mut cache = ScrapeCache::default();
    let mut app = RefAppender::default();
    let mut ts: Timestamp = 1_000;
    let mut i = 0;
    g.bench_function("steady", |b| {
        b.iter(|| {
            ts += 1_000;
            i += 1;
            let counts = append_exposition(
                &mut app,
                &mut cache,
                bodies[i % bodies.len()].as_bytes(),
                Format::Text,
                &target,
                &opts,
                ts,
            )
            .unwrap();
            assert_eq!(counts.scraped, SERIES as u64);
            black_box(counts)
        });
    });

    g.bench_function("first_scrape", |b| {
        b.iter_batched(
            ScrapeCache::default,
            |mut cache| {
                let mut app = RefAppender::default();
                let counts = append_exposition(
                    &mut app,
                    &mut cache,
                    bodies[0].as_bytes(),
                    Format::Text,
                    &target,
                    &opts,
                    1_000,
                )
                .unwrap();
                black_box(counts);
                cache
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
