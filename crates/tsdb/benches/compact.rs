//! Block compaction: time (criterion, 10k series, 3 × 40 min → 2 h) and peak memory of
//! merging blocks of many series, streaming at the chunk level against the former way
//! (every sample decoded through a merge querier into a buffered `BlockWriter`).
//!
//! Peak memory is measured per run in a child process (this binary re-run with
//! `FW_COMPACT_CHILD`): `VmHWM` of `/proc/self/status` (which counts the input blocks'
//! mapped pages the run touched) and the highest `RssAnon` (heap) sampled every 2 ms. With
//! `FW_COMPACT_KEEP=<dir>` the generated blocks are left in `<dir>/2h` and `<dir>/6h`, with a
//! fourth, newer block each, for Prometheus's planner to compact the first three
//! (`compact_vs_prometheus.sh`). Run it with
//! `FW_COMPACT_RSS=<series>` to print the figures for 2 h (3 × 40 min) and 6 h (3 × 2 h):
//! `FW_COMPACT_RSS=100000 cargo bench -p firewatch-tsdb --bench compact -- --noplot`.
//!
//! Figures on the shared 2-core machine (December), 100k series scraped every 15 s, three
//! adjacent blocks merged into one (input 109 MiB for 2 h, 248 MiB for 6 h):
//!
//! | case                | way       | time    | peak RSS (VmHWM) | peak anonymous |
//! |---------------------|-----------|---------|------------------|----------------|
//! | 2 h (3 × 40 min)    | streaming | 0.88 s  | 154 MiB          | 49 MiB         |
//! | 2 h (3 × 40 min)    | buffered  | 5.72 s  | 294 MiB          | 188 MiB        |
//! | 6 h (3 × 2 h)       | streaming | 1.55 s  | 292 MiB          | 49 MiB         |
//! | 6 h (3 × 2 h)       | buffered  | 16.32 s | 706 MiB          | 462 MiB        |
//! | 2 h, Prometheus 2.42 |          | 2.74 s  | 216 MiB (52 idle) |               |
//! | 6 h, Prometheus 2.42 |          | 2.86 s  | 351 MiB (51 idle) |               |
//!
//! At 1M series (input 1108 MiB for 2 h, 2488 MiB for 6 h):
//!
//! | case                 | way       | time     | peak RSS (VmHWM)    | peak anonymous |
//! |----------------------|-----------|----------|---------------------|----------------|
//! | 2 h (3 × 40 min)     | streaming | 12.64 s  | 1537 MiB            | 516 MiB        |
//! | 2 h (3 × 40 min)     | buffered  | 64.43 s  | 2932 MiB            | 1911 MiB       |
//! | 6 h (3 × 2 h)        | streaming | 26.90 s  | 2917 MiB            | 516 MiB        |
//! | 6 h (3 × 2 h)        | buffered  | 162.51 s | 7049 MiB            | 4656 MiB       |
//! | 2 h, Prometheus 2.42 |           | 23.44 s  | 1366 MiB (153 idle) |                |
//! | 6 h, Prometheus 2.42 |           | 31.07 s  | 2734 MiB (154 idle) |                |
//!
//! Criterion, 10k series, 3 × 40 min → 2 h: streaming 89 ms (median), buffered 616 ms.
//!
//! The heap stays flat as the block grows; what grows in VmHWM is the input blocks' mapped
//! pages read once (page cache, reclaimable), as in Prometheus.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use firewatch_tsdb::block::{BlockReader, BlockWriter};
use firewatch_tsdb::db::compact::merge_blocks;
use model::{Labels, MatchOp, Matcher, Sample, labels};
use storage::{MergeQuerier, Querier, ValueType};

const MIN: i64 = 60_000;
const SCRAPE_MS: i64 = 15_000;

fn series_labels(i: usize) -> Labels {
    labels!(
        "__name__" => "bench_requests_total",
        "instance" => format!("host-{}:9100", i % 1000).as_str(),
        "job" => "bench",
        "series" => i.to_string().as_str()
    )
}

/// Writes the adjacent blocks `blocks` of `block_ms` each (block `b` starts at
/// `b * block_ms`) holding `series` counters scraped every 15 s, under `dir`.
fn generate(dir: &Path, series: usize, blocks: std::ops::Range<i64>, block_ms: i64) {
    for b in blocks {
        let (mint, maxt) = (b * block_ms, (b + 1) * block_ms);
        let mut w = BlockWriter::new(dir).with_time_range(mint, maxt);
        let mut samples = Vec::new();
        for i in 0..series {
            samples.clear();
            let mut x = (i as u64 + 1) * 0x9e37_79b9;
            let mut v = (b * block_ms / SCRAPE_MS) as f64 * 3.0;
            let mut t = mint + (i as i64 % SCRAPE_MS);
            while t < maxt {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v += (x % 7) as f64;
                samples.push((t, v));
                t += SCRAPE_MS;
            }
            w.add_series(series_labels(i), &samples).unwrap();
        }
        w.write().unwrap();
    }
}

fn open_blocks(dir: &Path) -> Vec<BlockReader> {
    let mut blocks: Vec<BlockReader> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            p.join("meta.json")
                .exists()
                .then(|| BlockReader::open(&p).unwrap())
        })
        .collect();
    blocks.sort_by_key(|b| b.meta().min_time);
    blocks
}

/// The former compaction: every sample decoded through a merge querier and buffered in a
/// `BlockWriter` until the whole block is written.
fn merge_buffered(dir: &Path, parents: &[BlockReader]) {
    let queriers: Vec<Box<dyn Querier>> = parents
        .iter()
        .map(|b| Box::new(b.block_querier(i64::MIN, i64::MAX)) as Box<dyn Querier>)
        .collect();
    let q = MergeQuerier::new(queriers);
    let mint = parents[0].meta().min_time;
    let maxt = parents[parents.len() - 1].meta().max_time;
    let mut w = BlockWriter::new(dir).with_time_range(mint, maxt);
    let all = Matcher::new(MatchOp::RegexMatch, "__name__", ".*").unwrap();
    for s in q.select(true, None, &[all]).unwrap() {
        let s = s.unwrap();
        let mut it = s.iter();
        let mut samples = Vec::new();
        while it.next() == ValueType::Float {
            let (t, v) = it.at();
            samples.push((t, Sample::Float(v)));
        }
        w.add_series_samples(s.labels().clone(), &samples).unwrap();
    }
    w.write().unwrap();
}

/// A field of `/proc/self/status` in KiB (`VmHWM`: peak resident set, mapped files
/// included; `RssAnon`: resident anonymous memory now).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Samples `RssAnon` every 2 ms until `stop`; returns the highest value seen.
fn anon_peak_sampler(stop: Arc<std::sync::atomic::AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            peak = peak.max(status_kib("RssAnon"));
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        peak.max(status_kib("RssAnon"))
    })
}

/// The child: compacts the blocks of `dir` one way and prints seconds and peak RSS.
fn child(spec: &str) {
    let (way, dir) = spec.split_once(':').unwrap();
    let dir = Path::new(dir);
    let parents = open_blocks(dir);
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = anon_peak_sampler(stop.clone());
    let started = Instant::now();
    match way {
        "streaming" => {
            merge_blocks(&out, &parents, None).unwrap();
        }
        _ => merge_buffered(&out, &parents),
    }
    let secs = started.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let anon = sampler.join().unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    println!("RESULT {secs:.2} {} {anon}", status_kib("VmHWM"));
}

fn run_child(way: &str, dir: &Path) -> (f64, u64, u64) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("FW_COMPACT_CHILD", format!("{way}:{}", dir.display()))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("child failed: {}", String::from_utf8_lossy(&out.stderr)));
    let mut f = line.split(' ');
    (
        f.next().unwrap().parse().unwrap(),
        f.next().unwrap().parse().unwrap(),
        f.next().unwrap().parse().unwrap(),
    )
}

/// Prints peak RSS and time of both ways for 3 × 40 min → 2 h and 3 × 2 h → 6 h.
fn rss_figures(series: usize) {
    for (name, block_ms) in [("2h (3 x 40m)", 40 * MIN), ("6h (3 x 2h)", 120 * MIN)] {
        let tmp = tempfile::tempdir().unwrap();
        let started = Instant::now();
        generate(tmp.path(), series, 0..3, block_ms);
        let input: u64 = open_blocks(tmp.path()).iter().map(BlockReader::size).sum();
        eprintln!(
            "{name}: {series} series, input {} MiB generated in {:.1}s",
            input >> 20,
            started.elapsed().as_secs_f64()
        );
        for way in ["streaming", "buffered"] {
            let (secs, hwm, anon) = run_child(way, tmp.path());
            println!(
                "compact {name:>13} {series} series {way:>9}: {secs:6.2} s, peak RSS {:5} MiB \
                 (mapped input pages included), peak anonymous {:5} MiB",
                hwm / 1024,
                anon / 1024
            );
        }
        if let Some(keep) = std::env::var_os("FW_COMPACT_KEEP") {
            // The newest block is never compacted by Prometheus's planner: add a fourth.
            generate(tmp.path(), series, 3..4, block_ms);
            let dst = Path::new(&keep).join(if block_ms == 120 * MIN { "6h" } else { "2h" });
            std::fs::create_dir_all(&dst).unwrap();
            for e in std::fs::read_dir(tmp.path()).unwrap() {
                let e = e.unwrap();
                std::fs::rename(e.path(), dst.join(e.file_name())).unwrap();
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path(), 10_000, 0..3, 40 * MIN);
    let parents = Arc::new(open_blocks(tmp.path()));
    let mut g = c.benchmark_group("compact_10k_series_3x40m");
    g.sample_size(10);
    g.bench_function("streaming", |b| {
        b.iter(|| {
            let out = tempfile::tempdir_in(tmp.path()).unwrap();
            black_box(merge_blocks(out.path(), &parents, None).unwrap());
        });
    });
    g.bench_function("buffered", |b| {
        b.iter(|| {
            let out = tempfile::tempdir_in(tmp.path()).unwrap();
            merge_buffered(out.path(), &parents);
        });
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(spec) = std::env::var("FW_COMPACT_CHILD") {
        child(&spec);
        return;
    }
    if let Some(series) = std::env::var("FW_COMPACT_RSS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        rss_figures(series);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
