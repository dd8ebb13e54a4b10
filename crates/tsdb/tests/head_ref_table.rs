//! The head's table of series by reference (`head::ref_table`): readers on other threads
//! always find what is there and never a value of another reference while writers create and
//! remove, values held by a reader outlive their removal, and churn gives segments back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use firewatch_tsdb::head::ref_table::{RefTable, SEG_LEN};

/// A value that knows its reference, and counts its drops.
struct Value {
    id: u64,
    drops: Arc<AtomicU64>,
}

impl Drop for Value {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn concurrent_readers_see_created_and_removed_values_consistently() {
    let table = Arc::new(RefTable::<Value>::new());
    let drops = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // The writer creates references in order and removes old ones in batches, as head
    // garbage collection does; `live_from` is the oldest reference not yet removed.
    let created = Arc::new(AtomicU64::new(0));
    let live_from = Arc::new(AtomicU64::new(1));
    let readers: Vec<_> = (0..3u64)
        .map(|r| {
            let (table, stop) = (table.clone(), stop.clone());
            let (created, live_from) = (created.clone(), live_from.clone());
            std::thread::spawn(move || {
                let (mut found, mut x) = (0u64, r + 1);
                while !stop.load(Ordering::Relaxed) {
                    // A pseudo-random reference among those ever created, and some beyond.
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let (lo, hi) = (
                        live_from.load(Ordering::Acquire),
                        created.load(Ordering::Acquire),
                    );
                    let id = 1 + x % (hi + 64);
                    match table.get(id) {
                        Some(v) => {
                            assert_eq!(v.id, id, "value of another reference");
                            found += 1;
                        }
                        // Created and not yet removed when both bounds were read: present.
                        None => assert!(
                            !(id >= lo && id <= hi && live_from.load(Ordering::Acquire) <= id),
                            "reference {id} missing (live {lo}..={hi})"
                        ),
                    }
                }
                found
            })
        })
        .collect();
    let total = 40 * SEG_LEN as u64;
    let mut id = 0;
    while id < total {
        for _ in 0..97 {
            id += 1;
            table.insert(
                id,
                Arc::new(Value {
                    id,
                    drops: drops.clone(),
                }),
            );
        }
        created.store(id, Ordering::Release);
        let from = live_from.load(Ordering::Relaxed);
        if id - from > 5 * SEG_LEN as u64 {
            let upto = from + 300;
            live_from.store(upto, Ordering::Release);
            table.remove(&(from..upto).collect::<Vec<_>>());
        }
    }
    stop.store(true, Ordering::Relaxed);
    let found: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(found > 0);
    let live = id + 1 - live_from.load(Ordering::Relaxed);
    assert_eq!(table.len() as u64, live);
    // Every removed value was dropped once, none held by the table any more.
    assert_eq!(drops.load(Ordering::Relaxed), id - live);
    // Only the segments of live references (and the table's tail) are allocated.
    assert!(
        table.segments() <= live.div_ceil(SEG_LEN as u64) as usize + 1,
        "{} segments for {live} values",
        table.segments()
    );
    drop(table);
    assert_eq!(drops.load(Ordering::Relaxed), id);
}

#[test]
fn churn_gives_segments_back() {
    let table = RefTable::new();
    let per_generation = 10 * SEG_LEN as u64;
    let mut next = 1;
    for generation in 0..20 {
        let ids: Vec<u64> = (next..next + per_generation).collect();
        next += per_generation;
        for &id in &ids {
            table.insert(id, Arc::new(id));
        }
        if generation > 0 {
            // The previous generation is gone.
            let old: Vec<u64> = (next - 2 * per_generation..next - per_generation).collect();
            table.remove(&old);
        }
        assert_eq!(table.len() as u64, per_generation);
        assert!(
            table.segments() <= 11,
            "generation {generation}: {} segments",
            table.segments()
        );
    }
    // Half of the survivors go: a segment with one survivor stays, empty ones are freed.
    let survivors: Vec<u64> = (next - per_generation..next).collect();
    let odd: Vec<u64> = survivors.iter().copied().filter(|i| i % 2 == 1).collect();
    table.remove(&odd);
    assert_eq!(table.len(), survivors.len() - odd.len());
    assert!(table.segments() >= 10);
    let even: Vec<u64> = survivors.iter().copied().filter(|i| i % 2 == 0).collect();
    table.remove(&even);
    assert!(table.is_empty());
    assert!(table.segments() <= 1, "{} segments", table.segments());
    assert!(table.get(next - 1).is_none());
    // References below the freed segments can still be set again (a replay may do so).
    table.insert(5, Arc::new(5));
    assert_eq!(table.get(5).as_deref(), Some(&5));
}
