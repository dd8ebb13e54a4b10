//! Resident memory of the head across deploys (issue 15 item 7), on mimalloc as the server
//! runs: `N` series of `firewatch-loadgen`'s shape appended by two long-lived threads (as the
//! scrape loops run on two tokio workers), every deploy renaming every pod, the head truncated
//! from another thread (as the compaction is) past the old generation. After each truncation
//! it prints the live heap (bytes asked for, counted around mimalloc) and the resident memory,
//! and both again after each appending thread committed once more (as at its next scrape):
//! with `hook`, the head's release hook (`mi_collect(false)`, as the server installs it) runs
//! then on each of them.
//!
//! `MIMALLOC_PURGE_DELAY=0 MIMALLOC_ARENA_EAGER_COMMIT=0 cargo run --release -p firewatch-tsdb
//! --example deploy_rss -- [N] [DEPLOYS] [hook]` (the server sets those two options).

#[path = "../tests/deploys/mod.rs"]
mod deploys;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use firewatch_tsdb::head::{Head, HeadOptions};
use model::{Labels, Sample};
use storage::Appender;
use testkit::counting_alloc::CountingAlloc;

/// mimalloc, with the live bytes asked for counted.
#[global_allocator]
static GLOBAL: CountingAlloc<mimalloc::MiMalloc> = CountingAlloc::new(mimalloc::MiMalloc, exact);

/// Bytes asked for are counted as they are (no size classes).
fn exact(size: usize) -> usize {
    size
}

/// Time spent in the release hook (wall, all threads).
static HOOK_NANOS: AtomicU64 = AtomicU64::new(0);

const SCRAPES: i64 = 8;
const STEP: i64 = 15_000;
const SPAN: i64 = SCRAPES * STEP;
const WORKERS: usize = 2;

/// Generation `g` of the series of worker `w`: the exporters it scrapes (every
/// `WORKERS`-th), as scrape loops own whole targets.
fn generation(n: usize, w: usize, g: u64) -> Vec<Labels> {
    let exporters = n.div_ceil(deploys::PER_EXPORTER);
    let mine = (w..exporters).step_by(WORKERS);
    mine.flat_map(|e| deploys::exporter(e, g)).collect()
}

/// Resident bytes of the process (`/proc/self/statm`).
fn rss() -> isize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: isize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(100_000, |a| a.parse().unwrap());
    let deploys: u64 = args.next().map_or(4, |a| a.parse().unwrap());
    let mode = args.next().unwrap_or_default();
    if mode == "hook" {
        firewatch_tsdb::head::release::set_release_hook(|| {
            let started = std::time::Instant::now();
            // SAFETY: a plain call into mimalloc, safe from any thread.
            unsafe { libmimalloc_sys::mi_collect(false) };
            HOOK_NANOS.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        });
    }
    let head = Arc::new(Head::new(HeadOptions::default(), None));

    // Each worker scrapes its pods of the generation it is sent, then answers.
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let workers: Vec<mpsc::Sender<u64>> = (0..WORKERS)
        .map(|w| {
            let (tx, rx) = mpsc::channel::<u64>();
            let (head, done) = (head.clone(), done_tx.clone());
            std::thread::spawn(move || {
                for g in rx {
                    if g == u64::MAX {
                        // A commit with nothing in it, as the next scrape's commit.
                        head.appender().commit().unwrap();
                        done.send(()).unwrap();
                        continue;
                    }
                    let sets = generation(n, w, g);
                    for k in 0..SCRAPES {
                        let t = g as i64 * SPAN + k * STEP;
                        let mut app = head.appender();
                        for (i, l) in sets.iter().enumerate() {
                            app.append(0, l, t, Sample::Float((t / STEP) as f64 + i as f64))
                                .unwrap();
                        }
                        app.commit().unwrap();
                    }
                    drop(sets);
                    done.send(()).unwrap();
                }
            });
            tx
        })
        .collect();
    let scrape = |g: u64| {
        for w in &workers {
            w.send(g).unwrap();
        }
        for _ in 0..WORKERS {
            done_rx.recv().unwrap();
        }
    };
    let mb = |b: isize| b as f64 / 1e6;
    let report = |what: &str| {
        println!(
            "{what:<28} series {:>7}  live {:>7.1} MB  rss {:>7.1} MB  rss-live {:>6.1} MB",
            head.num_series(),
            mb(GLOBAL.process().bytes),
            mb(rss()),
            mb(rss() - GLOBAL.process().bytes)
        );
    };
    scrape(0);
    head.truncate_memory(0);
    report("steady (generation 0)");
    for g in 1..=deploys {
        scrape(g);
        report(&format!("deploy {g}: both generations"));
        let h = head.clone();
        std::thread::spawn(move || h.truncate_memory(g as i64 * SPAN))
            .join()
            .unwrap();
        report(&format!("deploy {g}: truncated"));
        scrape(u64::MAX);
        report(&format!("deploy {g}: workers committed"));
    }
    if mode == "hook" {
        println!(
            "release hook: {:.1} ms in all",
            HOOK_NANOS.load(Ordering::Relaxed) as f64 / 1e6
        );
    }
}
