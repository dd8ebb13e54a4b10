//! Head benchmarks: append throughput with commits per scrape-sized batch (WAL on), and a
//! one-off report of ingest rate and memory per series for 100k series × 120 samples.
//!
//! `cargo bench -p firewatch-tsdb --bench head`; with `FW_BENCH_1M=1` the report and an
//! extra benchmark run at the scale, 1M series × 120 samples (minutes, ~1 GiB).
//!
//! Measured on the 2-core development machine (shared with other builds), release profile:
//! steady-state appends ~600k samples/s on one core (10k series, commit per 1000); the
//! 100k × 120 ingest including series creation ~650–730k samples/s (was ~450k before the
//! appender kept its batch position on the series and the series maps moved to foldhash,
//! same machine and load); ~825 bytes RSS per series (labels, maps, postings, open chunk),
//! of which ~230 bytes is the open XOR chunk.

use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use firewatch_tsdb::head::{Head, HeadOptions};
use firewatch_tsdb::wal::WalOptions;
use model::{Labels, Sample, labels};
use storage::Appender;

/// Series per commit, as one scrape of a large target.
const BATCH: usize = 1000;

fn series(n: usize) -> Vec<Labels> {
    (0..n)
        .map(|i| {
            labels!(
                "__name__" => format!("metric_{}", i % 100).as_str(),
                "instance" => format!("host-{}:9100", i / 1000).as_str(),
                "job" => "node",
                "idx" => i.to_string().as_str()
            )
        })
        .collect()
}

/// Appends one scrape (one sample per series at `t`), committing every `BATCH` series.
fn scrape(head: &Arc<Head>, labels: &[Labels], refs: &mut [u64], t: i64) {
    for (chunk, refs) in labels.chunks(BATCH).zip(refs.chunks_mut(BATCH)) {
        let mut app = head.appender();
        for (l, r) in chunk.iter().zip(refs.iter_mut()) {
            *r = app
                .append(*r, l, t, Sample::Float((t / 1000) as f64))
                .unwrap();
        }
        app.commit().unwrap();
    }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Ingests `N` series × 120 samples once and prints rate and memory per series.
fn report(n: usize) {
    const SAMPLES: i64 = 120;
    let dir = tempfile::tempdir().unwrap();
    let labels = series(n);
    let rss0 = rss_bytes();
    let head = Arc::new(
        Head::open(
            HeadOptions::default(),
            dir.path(),
            WalOptions::default(),
            i64::MIN,
        )
        .unwrap(),
    );
    let mut refs = vec![0u64; n];
    let started = Instant::now();
    for k in 0..SAMPLES {
        scrape(&head, &labels, &mut refs, k * 15_000);
    }
    let secs = started.elapsed().as_secs_f64();
    let rss = rss_bytes().saturating_sub(rss0);
    let total = n as f64 * SAMPLES as f64;
    println!(
        "head ingest: {n} series x {SAMPLES} samples in {secs:.2}s = {:.0} samples/s (one thread, WAL on); \
         RSS +{:.1} MiB = {:.0} bytes/series; chunk bytes in memory {:.0} bytes/series",
        total / secs,
        rss as f64 / (1 << 20) as f64,
        rss as f64 / n as f64,
        head.chunk_bytes() as f64 / n as f64,
    );
    head.close().unwrap();
}

/// Whether to run at the scale (1M series × 120 samples): `FW_BENCH_1M=1`.
fn full_scale() -> bool {
    std::env::var_os("FW_BENCH_1M").is_some()
}

/// One scrape of 1M series per iteration (commit per 1000), only with `FW_BENCH_1M=1`.
/// Steady-state appends: one sample for each of `n` existing series per iteration, committed
/// every 1000 samples, as a scrape of `n` series would.
fn bench_steady_appends(c: &mut Criterion, n: usize, sample_size: usize, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let head = Arc::new(
        Head::open(
            HeadOptions::default(),
            dir.path(),
            WalOptions::default(),
            i64::MIN,
        )
        .unwrap(),
    );
    let labels = series(n);
    let mut refs = vec![0u64; n];
    let mut t = 0i64;
    scrape(&head, &labels, &mut refs, t);
    let mut g = c.benchmark_group("head");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(sample_size);
    g.bench_function(name, |b| {
        b.iter(|| {
            t += 15_000;
            scrape(&head, &labels, &mut refs, t);
        });
    });
    g.finish();
}

fn bench_append_1m(c: &mut Criterion) {
    if full_scale() {
        bench_steady_appends(c, 1_000_000, 10, "append_1m_series_commit_per_1000");
    }
}

fn bench_append(c: &mut Criterion) {
    report(if full_scale() { 1_000_000 } else { 100_000 });
    bench_steady_appends(c, 10_000, 20, "append_10k_series_commit_per_1000");
}

criterion_group!(benches, bench_append, bench_append_1m);
criterion_main!(benches);
