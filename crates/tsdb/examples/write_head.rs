//! Writes a data directory holding a full head for `scripts/bench-restart` (issue 15 item 4):
//! `SERIES` series with the label sets of `firewatch-loadgen` (namespace, service, pod,
//! container, then method/route/status, histogram buckets or an area) and `SAMPLES` samples
//! each, 15 s apart and ending at the time the run started, written through the TSDB's
//! appender in commits of one scrape of a 1000-series target, as scraping writes them. Nothing
//! is compacted: the directory is the WAL (and `chunks_head/`), as a server leaves it when it
//! stops with its head full. Counters grow by random steps, gauges move around a level.
//!
//! `cargo run --release -p firewatch-tsdb --example write_head -- DIR [SERIES] [SAMPLES]`
//!
//! Prints the last sample's timestamp (milliseconds) as `last_t=...` on its last line.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, Sample};

/// Series per target: one commit per target per scrape.
const TARGET_SERIES: usize = 1000;
/// Series per pod, as in `firewatch-loadgen`.
const POD_SERIES: usize = 100;
const STEP: i64 = 15_000;

/// The label set of series `i` (loadgen's shapes: 24 counters, 48 histogram series and 28
/// gauges per pod).
fn labels(i: usize) -> Labels {
    let pod = i / POD_SERIES;
    let k = i % POD_SERIES;
    let team = format!("team-{}", pod % 10);
    let service = format!("svc-{}", pod / 10 % 1000);
    let pod_name = format!(
        "{service}-{:08x}-{pod}",
        (pod as u64).wrapping_mul(0x9e37_79b9) & 0xffff_ffff
    );
    let methods = ["GET", "POST"];
    let routes = [
        "/api/v1/items",
        "/api/v1/items/{id}",
        "/api/v1/orders",
        "/healthz",
    ];
    let base = [
        ("namespace", team.as_str()),
        ("service", service.as_str()),
        ("pod", pod_name.as_str()),
        ("container", "app"),
        ("job", "kubernetes-pods"),
        ("instance", pod_name.as_str()),
    ];
    let mut pairs: Vec<(String, String)> = base
        .iter()
        .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
        .collect();
    let mut add = |n: &str, v: &str| pairs.push((n.to_string(), v.to_string()));
    if k < 24 {
        add("__name__", "bench_http_requests_total");
        add("method", methods[k % 2]);
        add("route", routes[k / 2 % 4]);
        add("status", ["200", "404", "500"][k / 8]);
    } else if k < 72 {
        let h = k - 24;
        let buckets = [
            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
        ];
        add("method", methods[h / 24]);
        add("route", routes[h / 12 % 2]);
        match h % 12 {
            10 => add("__name__", "bench_http_request_duration_seconds_sum"),
            11 => add("__name__", "bench_http_request_duration_seconds_count"),
            b => {
                add("__name__", "bench_http_request_duration_seconds_bucket");
                add("le", buckets[b]);
            }
        }
    } else {
        add("__name__", "bench_app_gauge");
        add("area", &format!("area-{}", k - 72));
    }
    Labels::from_pairs(pairs)
}

/// A small deterministic generator (xorshift) for the values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .expect("usage: write_head DIR [SERIES] [SAMPLES]");
    let series: usize = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let samples: i64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(240);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis();
    let last_t = i64::try_from(now).expect("time fits") / STEP * STEP;
    let first_t = last_t - (samples - 1) * STEP;
    let all: Vec<Labels> = (0..series).map(labels).collect();
    let mut values: Vec<f64> = vec![0.0; series];
    let mut refs = vec![0u64; series];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let started = Instant::now();
    let db = Db::open(std::path::Path::new(dir), DbOptions::default()).expect("open the db");
    for k in 0..samples {
        // Targets are scraped at slightly different moments within the interval.
        for (target, chunk) in all.chunks(TARGET_SERIES).enumerate() {
            let offset = (target as i64 * 7) % STEP;
            let t = first_t + k * STEP - offset;
            let mut app = db.appender();
            for (j, l) in chunk.iter().enumerate() {
                let i = target * TARGET_SERIES + j;
                let r = rng.next();
                let v = if i % POD_SERIES < 72 {
                    values[i] += (r % 50) as f64;
                    values[i]
                } else {
                    (500.0 + (r % 1000) as f64 / 10.0).round()
                };
                refs[i] = app.append(refs[i], l, t, Sample::Float(v)).expect("append");
            }
            app.commit().expect("commit");
        }
        if k % 20 == 19 {
            eprintln!(
                "{} of {samples} scrapes, {:.0}s",
                k + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    db.close().expect("close");
    eprintln!(
        "wrote {series} series x {samples} samples in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    println!("last_t={last_t}");
}
