//! Heap bytes the scrape cache keeps per series (issue 15), measured with a counting allocator
//! on an exposition shaped like `firewatch-loadgen`'s (Kubernetes-style label sets, 10 labels
//! with the target's). Not a benchmark: it counts what the cache asks the allocator for and
//! fails when an entry grows past a bound. The series' labels are shared with the head (one
//! reference-counted copy), so they are counted apart.

use std::fmt::Write as _;

use firewatch_scrape::scrape_loop::{LoopOptions, ScrapeCache, append_exposition};
use model::Labels;
use model::exposition::Format;
use testkit::counting_alloc::CountingAlloc;
use testkit::ref_appender::RefAppender;

/// Counts the bytes of each thread (other test threads do not disturb a measurement).
#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc::system();

/// Runs `f` and returns its result with the net bytes the calling thread left behind.
fn measure<T>(f: impl FnOnce() -> T) -> (T, isize) {
    let (out, held) = GLOBAL.measure_thread(f);
    (out, held.bytes)
}

const PODS: usize = 200;
const PER_POD: usize = 100;
const N: usize = PODS * PER_POD;

/// `firewatch-loadgen`'s gauges: 100 per pod, with its pod labels.
fn exposition(value: u32) -> String {
    let mut out = String::from("# TYPE bench_app_gauge gauge\n");
    for p in 0..PODS {
        let service = p / 10;
        for g in 0..PER_POD {
            let _ = writeln!(
                out,
                "bench_app_gauge{{namespace=\"team-3\",service=\"svc-{service}\",pod=\"svc-{service}-{:08x}-{p}\",container=\"app\",area=\"area-{g}\",method=\"GET\"}} {value}",
                (p as u64).wrapping_mul(0x9e37_79b9) & 0xffff_ffff
            );
        }
    }
    out
}

#[test]
fn scrape_cache_bytes_per_series() {
    let target = Labels::from_pairs([("instance", "127.0.0.1:21003"), ("job", "bench")]);
    let opts = LoopOptions::default();
    let (first, second) = (exposition(1), exposition(2));
    let mut app = RefAppender::default();

    let (cache, cache_bytes) = measure(|| {
        let mut cache = ScrapeCache::default();
        for (i, body) in [&first, &second].into_iter().enumerate() {
            let ts = 1_000 + 15_000 * i as i64;
            let counts = append_exposition(
                &mut app,
                &mut cache,
                body.as_bytes(),
                Format::Text,
                &target,
                &opts,
                ts,
            )
            .unwrap();
            assert_eq!(counts.scraped as usize, N);
        }
        cache
    });
    assert_eq!(cache.len(), N);

    // The labels the cache holds, made apart: the head shares this copy.
    let (labels, label_bytes) = measure(|| {
        (0..N)
            .map(|i| {
                let (p, g) = (i / PER_POD, i % PER_POD);
                let service = p / 10;
                Labels::from_pairs([
                    ("__name__", "bench_app_gauge".to_owned()),
                    ("area", format!("area-{g}")),
                    ("container", "app".to_owned()),
                    ("instance", "127.0.0.1:21003".to_owned()),
                    ("job", "bench".to_owned()),
                    ("method", "GET".to_owned()),
                    ("namespace", "team-3".to_owned()),
                    (
                        "pod",
                        format!(
                            "svc-{service}-{:08x}-{p}",
                            (p as u64).wrapping_mul(0x9e37_79b9) & 0xffff_ffff
                        ),
                    ),
                    ("service", format!("svc-{service}")),
                ])
            })
            .collect::<Vec<_>>()
    });
    let label_bytes = label_bytes - (labels.capacity() * size_of::<Labels>()) as isize;

    let per = |b: isize| b as f64 / N as f64;
    let own = per(cache_bytes - label_bytes);
    println!("scrape cache, {N} series of loadgen's shape, after two scrapes:");
    println!(
        "  whole cache            {:>7.1} B/series",
        per(cache_bytes)
    );
    println!(
        "  labels (head's copy)   {:>7.1} B/series",
        per(label_bytes)
    );
    println!("  the cache's own        {own:>7.1} B/series");
    // Entry (48, a size class of mimalloc's), its slot in the hash table (4 bytes and a
    // control byte at a load of 7/8 to 7/16: ~8 here) and little growth room (1/16): 59.4.
    // Keys as exposition bytes would cost ~150 bytes more; the slot order of the previous
    // scrape kept as two vectors cost 13 more (81 before).
    assert!(own < 64.0, "{own} bytes per series besides the labels");
}
