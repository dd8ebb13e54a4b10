//! Opens a data directory (the WAL replay, or a chunk snapshot with `snapshot` as the second
//! argument) and prints how long it took and what the head holds: a way to time and profile
//! replay alone, on a copy of what `write_head` wrote (opening may rewrite the directory).
//!
//! `cargo run --release -p firewatch-tsdb --example replay_time -- DIR [snapshot]`

use std::time::Instant;

use firewatch_tsdb::{Db, DbOptions};

fn main() {
    tracing_subscriber::fmt().with_ansi(false).init();
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).expect("usage: replay_time DIR [snapshot]");
    let opts = DbOptions {
        enable_memory_snapshot_on_shutdown: args.get(2).is_some_and(|a| a == "snapshot"),
        ..DbOptions::default()
    };
    let t = Instant::now();
    let db = Db::open(std::path::Path::new(dir), opts).expect("open");
    println!(
        "opened in {:.2}s: {} series",
        t.elapsed().as_secs_f64(),
        db.head().num_series()
    );
    // Not closed: a snapshot would be written.
    std::mem::forget(db);
}
