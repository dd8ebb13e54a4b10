//! Memory after deploys (issue 15 item 7): a deploy replaces every pod's series, the head
//! holds both generations until it is truncated past the old one, and then its live heap
//! must come back to the steady state before the first deploy, not stay sized for the peak
//! of twice the series. Counts live heap bytes with a counting global allocator (the bytes
//! asked for and the bytes of the mimalloc size classes serving them), not timings.

mod deploys;

use std::alloc::System;
use std::sync::Arc;

use firewatch_tsdb::head::{Head, HeadOptions};
use model::Sample;
use storage::Appender;
use testkit::counting_alloc::CountingAlloc;

/// Counts the live bytes of the whole process (this file holds one test, so no other test
/// thread allocates meanwhile), and the bytes of mimalloc's size classes.
#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc::new(System, class);

/// The bytes of the mimalloc size class that serves `size` bytes.
fn class(size: usize) -> usize {
    // SAFETY: a pure function of its argument; it neither allocates nor reads memory.
    unsafe { libmimalloc_sys::mi_good_size(size) }
}

/// Live bytes now: asked for, and in mimalloc's size classes.
fn live() -> (isize, isize) {
    let held = GLOBAL.process();
    (held.bytes, held.class_bytes)
}

/// Series per generation: three of `firewatch-loadgen`'s exporters, 300 pods of 100 series.
const N: usize = 30_000;
/// Scrapes per generation, 15 s apart.
const SCRAPES: i64 = 8;
const STEP: i64 = 15_000;
const SPAN: i64 = SCRAPES * STEP;

/// Generation `g` of the series: each deploy renames every pod.
fn generation(g: u64) -> Vec<model::Labels> {
    deploys::generation(N, g)
}

/// Appends one sample per series of generation `g` every 15 s of `[g * SPAN, (g+1) * SPAN)`;
/// the label sets are dropped after (the head keeps its own).
fn scrape_generation(head: &Arc<Head>, g: u64) {
    let sets = generation(g);
    let start = g as i64 * SPAN;
    for k in 0..SCRAPES {
        let t = start + k * STEP;
        let mut app = head.appender();
        for (i, l) in sets.iter().enumerate() {
            app.append(0, l, t, Sample::Float((t / STEP) as f64 + i as f64))
                .unwrap();
        }
        app.commit().unwrap();
    }
}

const DEPLOYS: u64 = 4;

/// The head's options: 117 series a stripe, as 300k series in the default 4096 stripes
/// hold 73 and 1M hold 244.
fn options() -> HeadOptions {
    HeadOptions {
        stripe_size: 256,
        ..HeadOptions::default()
    }
}

/// Runs the deploys on `head` (truncating the WAL too when it has one, as a compaction
/// does); returns how far above the steady state (a fraction) the live heap was at worst
/// after a truncation, in bytes asked for or in size classes.
fn deploys(head: &Arc<Head>, what: &str) -> (f64, f64) {
    let base = live();
    scrape_generation(head, 0);
    // The steady state: one generation, after a truncation that removes nothing.
    head.truncate_memory(0);
    head.truncate_wal(0).unwrap();
    assert_eq!(head.num_series(), N);
    let steady = live();
    let per = |b: isize| b as f64 / N as f64;
    println!(
        "{what}: steady state {:.1} B/series asked, {:.1} in size classes",
        per(steady.0 - base.0),
        per(steady.1 - base.1)
    );
    let steady_per_series = per(steady.0 - base.0);
    let mut worst: f64 = 0.0;
    for g in 1..=DEPLOYS {
        scrape_generation(head, g);
        assert_eq!(head.num_series(), 2 * N);
        let peak = live();
        // The compaction of the range past the old generation's last sample.
        head.truncate_memory(g as i64 * SPAN);
        head.truncate_wal(g as i64 * SPAN).unwrap();
        assert_eq!(head.num_series(), N, "deploy {g}");
        let after = live();
        let over = |now: isize, st: isize, b: isize| (now - st) as f64 / (st - b) as f64;
        println!(
            "{what}: deploy {g}: peak {:.1} B/series, after truncation {:.1} ({:+.2}% vs \
             steady), classes {:.1} ({:+.2}%)",
            per(peak.0 - base.0),
            per(after.0 - base.0),
            100.0 * over(after.0, steady.0, base.0),
            per(after.1 - base.1),
            100.0 * over(after.1, steady.1, base.1),
        );
        worst = worst
            .max(over(after.0, steady.0, base.0))
            .max(over(after.1, steady.1, base.1));
    }
    (worst, steady_per_series)
}

/// One test (the counter is the whole process's): the head alone, then with its WAL and
/// chunk files (a checkpoint after each truncation).
#[test]
fn live_heap_returns_to_the_steady_state_after_each_deploy() {
    let head = Arc::new(Head::new(options(), None));
    let (in_memory, head_alone) = deploys(&head, "head");
    drop(head);
    let dir = tempfile::tempdir().unwrap();
    let wal = firewatch_tsdb::wal::WalOptions {
        segment_size: 1024 * 1024,
        ..Default::default()
    };
    let head = Arc::new(Head::open(options(), dir.path(), wal, i64::MIN).unwrap());
    let (with_wal, head_and_wal) = deploys(&head, "head with WAL");
    // The WAL keeps its page and a compression buffer of at most 1 MiB, not one sized for
    // the largest record (the first commit's 30k new series: 223 B/series more than the
    // head alone before, 36 after).
    assert!(
        head_and_wal - head_alone < 64.0,
        "the WAL keeps {:.1} B/series",
        head_and_wal - head_alone
    );
    let checkpoints = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("checkpoint.")
        })
        .count();
    assert_eq!(checkpoints, 1, "the truncations wrote WAL checkpoints");
    // Structures sized for the peak of two generations (the series maps by label hash, the
    // postings' maps of label values) are given back once half of them is empty: before,
    // the live heap stayed 3.9-5.0% above the steady state (about 24 B/series), now within
    // 0.1%.
    for (worst, what) in [(in_memory, "head"), (with_wal, "head with WAL")] {
        assert!(
            worst < 0.01,
            "{what}: live heap after deploys {:.2}% above the steady state",
            100.0 * worst
        );
    }
}
