//! Heap bytes per head series, broken down by structure (labels, series structs, the table
//! by reference and the map by label hash, postings, the open chunk), measured with a counting allocator on series with
//! the label shapes of `firewatch-loadgen` (issue 15). Not a benchmark: it counts bytes the
//! structures ask the allocator for, and fails when they grow past a generous bound.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use firewatch_tsdb::head::chunk::{HeadValue, OpenChunk};
use firewatch_tsdb::head::postings::MemPostings;
use firewatch_tsdb::head::series::{SeriesState, StripeSeries};
use firewatch_tsdb::head::{DEFAULT_CHUNK_RANGE, Head, HeadOptions, MemSeries};
use model::{Labels, Sample};
use storage::Appender;

/// Counts the bytes and allocations of the calling thread (other test threads do not
/// disturb a measurement).
struct Counting;

thread_local! {
    static BYTES: Cell<isize> = const { Cell::new(0) };
    static ALLOCS: Cell<isize> = const { Cell::new(0) };
}

fn add(bytes: isize, allocs: isize) {
    // `try_with`: the allocator runs during thread teardown too.
    let _ = BYTES.try_with(|b| b.set(b.get() + bytes));
    let _ = ALLOCS.try_with(|a| a.set(a.get() + allocs));
}

// SAFETY: every call forwards to the system allocator unchanged; the counters are
// thread-local cells that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize, 1);
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize), -1);
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize, 0);
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Net bytes and allocations of the calling thread since it started.
fn now() -> (isize, isize) {
    (BYTES.with(Cell::get), ALLOCS.with(Cell::get))
}

/// Runs `f` and returns its result with the net bytes and allocations it left behind.
fn measure<T>(f: impl FnOnce() -> T) -> (T, isize, isize) {
    let (b0, a0) = now();
    let out = f();
    let (b1, a1) = now();
    (out, b1 - b0, a1 - a0)
}

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
const ROUTES: [&str; 5] = [
    "/api/v1/items",
    "/api/v1/users",
    "/health",
    "/login",
    "/search",
];
const STATUSES: [&str; 5] = ["200", "201", "400", "404", "500"];

/// The label sets of `bench_http_requests_total` as `firewatch-loadgen` exposes them, with
/// the target labels a scrape adds: 10 labels per series.
fn loadgen_labels(n: usize) -> Vec<Labels> {
    let per_pod = METHODS.len() * ROUTES.len() * STATUSES.len();
    (0..n)
        .map(|i| {
            let (p, k) = (i / per_pod, i % per_pod);
            let exporter = p / 100;
            let service = p / 10;
            let pod = format!(
                "svc-{service}-{:08x}-{p}",
                (p as u64 * 0x9e37_79b9) & 0xffff_ffff
            );
            let method = METHODS[k / (ROUTES.len() * STATUSES.len())];
            let route = ROUTES[k / STATUSES.len() % ROUTES.len()];
            let status = STATUSES[k % STATUSES.len()];
            Labels::from_pairs([
                ("__name__", "bench_http_requests_total".to_owned()),
                ("container", "app".to_owned()),
                ("instance", format!("127.0.0.1:{}", 21000 + exporter)),
                ("job", "loadgen".to_owned()),
                ("method", method.to_owned()),
                ("namespace", format!("team-{exporter}")),
                ("pod", pod),
                ("route", route.to_owned()),
                ("service", format!("svc-{service}")),
                ("status", status.to_owned()),
            ])
        })
        .collect()
}

const N: usize = 20_000;

fn per(bytes: isize) -> f64 {
    bytes as f64 / N as f64
}

#[test]
fn head_bytes_per_series_by_structure() {
    let (sets, label_bytes, label_allocs) = measure(|| loadgen_labels(N));
    // The Vec holding the sets is the test's, not the head's.
    let label_bytes = label_bytes - (sets.capacity() * size_of::<Labels>()) as isize;

    // Series structs, the table and the map: the labels are shared (reference counted).
    let (stripes, series_and_maps, series_allocs) = measure(|| {
        let s = StripeSeries::new(HeadOptions::default().stripe_size);
        for (i, l) in sets.iter().enumerate() {
            s.get_or_create(l.hash64(), l, || i as u64 + 1);
        }
        s
    });
    // One `Arc<MemSeries>` allocation per series: the reference counts and the struct.
    let series_struct = (2 * size_of::<usize>() + size_of::<MemSeries>()) as isize;
    let maps = series_and_maps - series_struct * N as isize;

    let (_postings, postings_bytes, postings_allocs) = measure(|| {
        let mut p = MemPostings::default();
        for (i, l) in sets.iter().enumerate() {
            p.add(i as u64 + 1, l);
        }
        p
    });

    // One sample per series: the open chunk as it is right after a series' first scrape.
    let ((), chunk_bytes, chunk_allocs) = measure(|| {
        stripes.for_each(|s| {
            s.state.lock().append(
                s.id,
                1_000,
                &HeadValue::Float(1.0),
                DEFAULT_CHUNK_RANGE,
                None,
            );
        });
    });

    // The whole head, through its appender, with the same series.
    let (head, head_bytes, head_allocs) = measure(|| {
        let head = std::sync::Arc::new(Head::new(HeadOptions::default(), None));
        let mut app = head.appender();
        for l in &sets {
            app.append(0, l, 1_000, Sample::Float(1.0)).unwrap();
        }
        app.commit().unwrap();
        head
    });
    assert_eq!(head.num_series(), N);

    let parts = series_and_maps + postings_bytes + chunk_bytes;
    println!("heap bytes per head series, {N} series of loadgen's shape (10 labels):");
    println!(
        "  labels (shared by head, postings keys excepted) {:>7.1}  ({} allocs/series)",
        per(label_bytes),
        label_allocs as f64 / N as f64
    );
    println!("  MemSeries struct (Arc)                          {series_struct:>7}");
    println!(
        "    (SeriesState {}, of which the inline open chunk {}, last value {})",
        size_of::<SeriesState>(),
        size_of::<Option<OpenChunk>>(),
        size_of::<Option<HeadValue>>()
    );
    println!(
        "  by_id table + by_hash maps                      {:>7.1}",
        per(maps)
    );
    println!(
        "    (series structs + maps: {} allocs/series)",
        series_allocs as f64 / N as f64
    );
    println!(
        "  postings                                        {:>7.1}  ({} allocs/series)",
        per(postings_bytes),
        postings_allocs as f64 / N as f64
    );
    println!(
        "  open chunk, one sample                          {:>7.1}  ({} allocs/series)",
        per(chunk_bytes),
        chunk_allocs as f64 / N as f64
    );
    println!(
        "  sum of parts, labels excepted                   {:>7.1}",
        per(parts)
    );
    println!(
        "  whole head through its appender                 {:>7.1}  ({} allocs/series)",
        per(head_bytes),
        head_allocs as f64 / N as f64
    );
    println!(
        "  whole head + labels                             {:>7.1}",
        per(head_bytes + label_bytes)
    );
    // glibc's malloc adds about 16 bytes to each allocation.
    println!(
        "  whole head + labels, with ~16 B per allocation  {:>7.1}",
        per(head_bytes + label_bytes + 16 * (head_allocs + label_allocs))
    );

    // The parts account for the head: nothing large is outside them.
    let (lo, hi) = (parts as f64 * 0.9, parts as f64 * 1.25);
    assert!(
        (lo..hi).contains(&(head_bytes as f64)),
        "head {head_bytes} bytes vs parts {parts}"
    );
    // The table and maps allocate per segment and stripe, not per series (a list per label
    // hash did: 2.4).
    assert!(
        (series_allocs as f64 / N as f64) < 1.6,
        "{series_allocs} allocations for {N} series and their maps"
    );
    // The table by reference takes 8 bytes per series (and its fixed pages), not a hash
    // map's 20-40.
    assert!(
        per(maps) < 64.0,
        "{} bytes per series in the maps",
        per(maps)
    );
    // Postings grow by an eighth, not by doubling: 4 bytes per reference in 11 lists.
    assert!(
        per(postings_bytes) < 52.0,
        "{} bytes per series in the postings",
        per(postings_bytes)
    );
    // Fails when a structure grows per series (650 in session 11, 667 before).
    assert!(
        per(head_bytes + label_bytes) < 700.0,
        "{} bytes per series",
        per(head_bytes + label_bytes)
    );
    drop(stripes);
}

/// A series' second chunk reserves what its first took (plus an eighth), not 128 bytes: with
/// the short chunks of 2-minute ranges (8 samples at 15 s) a cut gives memory back.
#[test]
fn a_cut_chunk_reserves_what_the_previous_one_took() {
    const RANGE: i64 = 120_000;
    let series: Vec<MemSeries> = (0..N as u64)
        .map(|i| MemSeries::new(i + 1, Labels::empty()))
        .collect();
    let append = |t: i64| {
        for s in &series {
            let v = HeadValue::Float((t / 15_000 + s.id as i64) as f64);
            s.state.lock().append(s.id, t, &v, RANGE, None);
        }
    };
    for k in 0..8 {
        append(k * 15_000);
    }
    let ((), cut_bytes, _) = measure(|| append(RANGE));
    let (used, new_used) = {
        let st = series[0].state.lock();
        (
            st.full[0].byte_size(),
            st.head.as_ref().map(|h| h.data.byte_size()),
        )
    };
    println!(
        "a cut: {:.1} bytes per series (first chunk {used} bytes, new chunk so far {new_used:?})",
        per(cut_bytes)
    );
    // Frozen in memory (Arc header + bytes) + one list entry + the new chunk's room - the old
    // chunk's 128 bytes; with a fixed 128-byte room it would be ~+90.
    let room = used + used / 8 + 4;
    let want = 16 + used + size_of::<firewatch_tsdb::head::chunk::FullChunk>() + room;
    assert!(
        per(cut_bytes) <= want as f64 - 128.0 + 8.0,
        "{} bytes per series for a cut",
        per(cut_bytes)
    );
}
