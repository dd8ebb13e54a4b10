//! Heap bytes per series that one head compaction takes beyond the head (issue 15 item 2: the
//! peak resident memory is ~150 MiB over the steady state at 1M series), measured with a
//! process-wide counting allocator at `scripts/bench-scale`'s settings: 5-minute blocks, 15 s
//! scrapes of series of `firewatch-loadgen`'s shapes, the head compacted once it spans 7.5
//! minutes. Each step of [`Db::compact`] is run alone (the block written, the head truncated,
//! the WAL checkpointed) and reported with the highest number of bytes it held at once and
//! what it left behind, per series (the difference between two head sizes) and fixed. Not a
//! benchmark: bytes asked for, not timings; the memory-mapped files a compaction reads are not
//! heap (they show as `RssFile`, printed too).

use firewatch_tsdb::db::compact::{head_compactable, write_head_block};
use firewatch_tsdb::head::chunk::range_for_timestamp;
use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, Sample};
use testkit::counting_alloc::CountingAlloc;

/// Counts the bytes held by the whole process (this file has one test) and their peak.
#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc::system();

const MIN: i64 = 60_000;
const STEP: i64 = 15_000;
const POD_SERIES: usize = 100;

/// The label sets of one pod's series, as loadgen exposes them and a scrape labels them.
fn pod_labels(p: usize) -> Vec<Labels> {
    let service = p / 10;
    let e = p / 20;
    (0..POD_SERIES)
        .map(|k| {
            let pairs = vec![
                ("__name__", format!("bench_metric_{}", k / 20)),
                ("namespace", format!("team-{e}")),
                ("service", format!("svc-{service}")),
                (
                    "pod",
                    format!(
                        "svc-{service}-{:08x}-{p}",
                        (p as u64 * 0x9e37_79b9) & 0xffff_ffff
                    ),
                ),
                ("container", "app".to_owned()),
                ("job", "loadgen".to_owned()),
                ("instance", format!("127.0.0.1:{}", 21000 + e)),
                ("route", format!("/api/v1/r{}", k % 4)),
                ("method", ["GET", "POST"][k % 2].to_owned()),
                ("status", format!("{}", 200 + k % 20)),
            ];
            Labels::from_pairs(pairs)
        })
        .collect()
}

/// Highest and net bytes held while `f` ran, beyond what was held before.
fn step<T>(f: impl FnOnce() -> T) -> (T, isize, isize) {
    let (out, held) = GLOBAL.measure_peak(f);
    (out, held.peak, held.net)
}

/// Minor page faults of the process so far (0 where `/proc` is missing).
fn minor_faults() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            rest.split(' ').nth(7)?.parse().ok()
        })
        .unwrap_or(0)
}

/// A field of `/proc/self/status` in KiB (0 where `/proc` is missing).
fn status_kib(field: &str) -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the process's peak resident memory (`VmHWM`) to its resident memory now; false
/// where the kernel does not allow it.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Bytes one head compaction's steps held at most beyond the head (peak) and left behind
/// (net), and the `RssFile` growth of writing the block.
#[derive(Debug, Clone, Copy)]
struct Steps {
    series: usize,
    block: (isize, isize),
    truncation: (isize, isize),
    checkpoint: (isize, isize),
    rss_file_kib: i64,
    minor_faults: u64,
    rss_peak_kib: i64,
}

/// Fills a database with `pods` pods of series up to its first head compaction and runs the
/// compaction's steps one by one.
fn compact_once(pods: usize) -> Steps {
    let dir = tempfile::tempdir().unwrap();
    let opts = DbOptions {
        min_block_duration: 5 * MIN,
        max_block_duration: 5 * MIN,
        // Several segments, so that the truncation writes a checkpoint.
        wal_segment_size: 1 << 18,
        ..DbOptions::default()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    let pods: Vec<Vec<Labels>> = (0..pods).map(pod_labels).collect();
    // Scrapes up to 7:45, when the head spans more than 1.5 block ranges.
    let mut t = 0;
    while !head_compactable(db.head()) {
        for (p, series) in pods.iter().enumerate() {
            let mut app = db.appender();
            for (k, l) in series.iter().enumerate() {
                let v = ((t / 1000) as f64 * ((p + k) % 7 + 1) as f64).floor();
                app.append(0, l, t, Sample::Float(v)).unwrap();
            }
            app.commit().unwrap();
        }
        t += STEP;
    }
    let head = db.head().clone();
    let mint = head.min_time();
    let maxt = range_for_timestamp(mint, head.options().chunk_range);
    let (file0, faults0, rss0) = (status_kib("RssFile"), minor_faults(), status_kib("VmRSS"));
    let reset = reset_peak_rss();
    let (block, block_peak, block_net) =
        step(|| write_head_block(db.dir(), &head, mint, maxt, None).unwrap());
    let (file1, faults1) = (status_kib("RssFile"), minor_faults());
    let rss_peak = if reset { status_kib("VmHWM") - rss0 } else { 0 };
    assert!(block.is_some());
    drop(block);
    let ((), trunc_peak, trunc_net) = step(|| head.truncate_memory(maxt));
    let (res, wal_peak, wal_net) = step(|| head.truncate_wal(maxt));
    res.unwrap();
    let checkpointed = std::fs::read_dir(dir.path().join("wal")).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("checkpoint.")
    });
    assert!(checkpointed, "the truncation wrote a checkpoint");
    Steps {
        series: pods.len() * POD_SERIES,
        block: (block_peak, block_net),
        truncation: (trunc_peak, trunc_net),
        checkpoint: (wal_peak, wal_net),
        rss_file_kib: file1 - file0,
        minor_faults: faults1 - faults0,
        rss_peak_kib: rss_peak,
    }
}

#[test]
fn a_head_compaction_holds_few_bytes_per_series_beyond_the_head() {
    // Two sizes: the difference is what each series costs, the rest fixed buffers.
    let large_pods = std::env::var("COMPACTION_MEMORY_PODS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let (small, large) = (compact_once(50), compact_once(large_pods));
    let n = (large.series - small.series) as f64;
    let marginal = |f: fn(&Steps) -> isize| (f(&large) - f(&small)) as f64 / n;
    let fixed = |f: fn(&Steps) -> isize| f(&large) as f64 - marginal(f) * large.series as f64;
    println!(
        "one head compaction (5-minute blocks, 7:45 of 15 s samples), heap bytes per series \
         beyond the head: peak, left behind; and fixed bytes (from {} and {} series)",
        small.series, large.series
    );
    for (name, peak, net) in [
        (
            "block written",
            (|s: &Steps| s.block.0) as fn(&Steps) -> isize,
            (|s: &Steps| s.block.1) as fn(&Steps) -> isize,
        ),
        ("head truncated", |s| s.truncation.0, |s| s.truncation.1),
        ("WAL checkpointed", |s| s.checkpoint.0, |s| s.checkpoint.1),
    ] {
        println!(
            "  {name:<18} {:>7.1} {:>7.1}   fixed {:>9.0}",
            marginal(peak),
            marginal(net),
            fixed(peak)
        );
    }
    println!(
        "  (writing the block, {} series: peak resident {:+} KiB, RssFile after {:+} KiB, {} \
         minor page faults)",
        large.series, large.rss_peak_kib, large.rss_file_kib, large.minor_faults
    );
    // Session 12: 34 bytes per series for the block (the series in label order, the
    // postings), none for the truncation, 17 for the checkpoint.
    assert!(marginal(|s| s.block.0) < 64.0);
    assert!(marginal(|s| s.truncation.0) < 8.0);
    assert!(marginal(|s| s.checkpoint.0) < 32.0);
}
