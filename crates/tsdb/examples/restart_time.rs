//! Restart time of a full head with and without a chunk snapshot (issue 15 item 4): writes
//! `SERIES` series (default 100,000) x `SAMPLES` samples (default 120, 15 s apart: the open
//! chunks of half an hour) with the snapshot feature on, closes (writing the snapshot), then
//! times `Db::open` replaying the whole WAL and `Db::open` from the snapshot.
//!
//! `cargo run --release -p firewatch-tsdb --example restart_time -- [SERIES] [SAMPLES] [DIR] [snapshot]`
//!
//! Without `DIR` the data goes to a temporary directory under `/tmp`. A `DIR` that already
//! holds a snapshot is reused (not written again, not deleted); one that holds only a head
//! (`wal/`, as `write_head` leaves it) is opened and closed once to take its snapshot. With `snapshot`, only opens
//! from the snapshot are timed (two), each on a fresh copy of what such an open reads
//! (`chunks_head/`, the snapshot, the WAL segments from the snapshot's on) in `DIR.open`, so
//! every round loads the same snapshot and a profile of the opens can follow a first run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use firewatch_tsdb::{Db, DbOptions};
use model::{Labels, Sample};

/// mimalloc, as the `firewatch` binary: glibc's malloc would add its own costs to the
/// profile (consolidating freed chunks on a large allocation).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    tracing_subscriber::fmt().with_ansi(false).init();
    let args: Vec<String> = std::env::args().collect();
    let series: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let samples: i64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(120);
    let tmp;
    let dir = match args.get(3) {
        Some(d) => Path::new(d),
        None => {
            tmp = tempfile::tempdir_in("/tmp").unwrap();
            tmp.path()
        }
    };
    let only_snapshot = args.get(4).is_some_and(|a| a == "snapshot");
    let wrote_head = dir.join("wal").is_dir();
    match find_snapshot(dir) {
        Some(_) => {}
        // A head written by another tool (`write_head`): replayed once to take its snapshot.
        None if wrote_head => {
            let t = Instant::now();
            Db::open(dir, opts(true)).unwrap().close().unwrap();
            println!("snapshot of the head in {:.1}s", t.elapsed().as_secs_f64());
        }
        None => write(dir, series, samples),
    }
    let du = |p: &Path| -> u64 {
        std::fs::read_dir(p).map_or(0, |d| {
            d.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
    };
    let snap = find_snapshot(dir).expect("a snapshot");
    println!(
        "WAL {} MB, snapshot {} MB",
        du(&dir.join("wal")) >> 20,
        du(&snap) >> 20
    );
    if only_snapshot {
        let copy = PathBuf::from(format!("{}.open", dir.display()));
        for _ in 0..2 {
            copy_for_snapshot_open(dir, &snap, &copy);
            let (t, cpu) = (Instant::now(), cpu_seconds());
            let db = Db::open(&copy, opts(true)).unwrap();
            let open = t.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu;
            assert_eq!(db.head().num_series(), series);
            drop(db);
            std::fs::remove_dir_all(&copy).unwrap();
            println!("open with snapshot: {open:.2}s (CPU {cpu:.2}s)");
        }
        return;
    }
    for snapshot in [false, true, false, true] {
        let t = Instant::now();
        let db = Db::open(dir, opts(snapshot)).unwrap();
        let open = t.elapsed().as_secs_f64();
        assert_eq!(db.head().num_series(), series);
        // Closing without the feature keeps the snapshot as it is (the WAL after it is empty).
        db.close().unwrap();
        println!(
            "open {} snapshot: {open:.2}s",
            if snapshot { "with" } else { "without" }
        );
    }
}

fn opts(snapshot: bool) -> DbOptions {
    DbOptions {
        enable_memory_snapshot_on_shutdown: snapshot,
        ..DbOptions::default()
    }
}

/// Writes the head into `dir` and closes it (writing the snapshot).
fn write(dir: &Path, series: usize, samples: i64) {
    let labels: Vec<Labels> = (0..series)
        .map(|i| {
            Labels::from_pairs(vec![
                ("__name__", "bench_http_requests_total"),
                ("job", "bench"),
                ("instance", &format!("host-{}:9100", i % 100)),
                ("path", &format!("/api/v1/item/{}", i / 100)),
                ("method", "GET"),
                ("code", if i % 7 == 0 { "500" } else { "200" }),
            ])
        })
        .collect();
    let started = Instant::now();
    let db = Db::open(dir, opts(true)).unwrap();
    let mut refs = vec![0u64; series];
    for k in 0..samples {
        let mut app = db.appender();
        for (i, l) in labels.iter().enumerate() {
            let v = (k * 3 + i as i64 % 11) as f64;
            refs[i] = app
                .append(refs[i], l, k * 15_000, Sample::Float(v))
                .unwrap();
        }
        app.commit().unwrap();
    }
    let t = Instant::now();
    db.close().unwrap();
    println!(
        "write {:.1}s, close with snapshot {:.2}s",
        started.elapsed().as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
}

/// CPU seconds the process used so far (user and system, all threads), from
/// `/proc/self/stat` (in ticks of 10 ms); 0 where it cannot be read.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) in parentheses.
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are the 14th and 15th fields, 12th and 13th after the name.
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// The snapshot directory in `dir`, if there is one.
fn find_snapshot(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("chunk_snapshot.")
        })
        .map(|e| e.path())
}

/// Copies into `to` (emptied first) what opening `from` from its snapshot `snap` reads.
fn copy_for_snapshot_open(from: &Path, snap: &Path, to: &Path) {
    let copy_dir = |src: &Path, dst: &Path, keep: &dyn Fn(&str) -> bool| {
        std::fs::create_dir_all(dst).unwrap();
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().unwrap().is_file() && keep(&name) {
                std::fs::copy(e.path(), dst.join(&name)).unwrap();
            }
        }
    };
    if to.exists() {
        std::fs::remove_dir_all(to).unwrap();
    }
    let name = snap.file_name().unwrap().to_string_lossy().into_owned();
    let segment: u32 = name
        .trim_start_matches("chunk_snapshot.")
        .split('.')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("a snapshot name");
    copy_dir(&from.join("chunks_head"), &to.join("chunks_head"), &|_| {
        true
    });
    copy_dir(snap, &to.join(&name), &|_| true);
    copy_dir(&from.join("wal"), &to.join("wal"), &|n| {
        n.parse::<u32>().is_ok_and(|s| s >= segment)
    });
}
