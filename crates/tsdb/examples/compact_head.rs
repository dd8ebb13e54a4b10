//! CPU of the head compactions of `scripts/bench-scale`'s settings without a server (issue 15
//! item 3): a data directory with 5-minute blocks is filled with `SERIES` series of
//! `firewatch-loadgen`'s shapes (10 exporters, 100 series per pod, the target labels a scrape
//! adds) at 15 s spacing, one commit per target and scrape, and [`Db::compact`] runs once a
//! minute of sample time, as the server runs it. At minute 15 `CHURN` (default 1%) of the pods
//! get new names, as loadgen replaces them. Four head compactions happen: the first (every
//! series sorted), one in steady state, the one right after the churn (removes the replaced
//! series, checkpoints the WAL without them) and the next (writes the new series).
//!
//! Each compaction runs on a thread named `compact-<n>` (for `perf report --comms`) and prints
//! the process's CPU seconds it took (utime + stime of `/proc/self/stat`; nothing else runs
//! meanwhile), with the ingestion's CPU between compactions.
//!
//! `cargo run --release -p firewatch-tsdb --example compact_head -- DIR [SERIES] [CHURN]`

use std::path::Path;
use std::time::{Duration, Instant, UNIX_EPOCH};

use firewatch_tsdb::db::compact::head_compactable;
use firewatch_tsdb::{Db, DbOptions};
use loadgen::{GAUGES_PER_POD, Load, SERIES_PER_POD};
use model::{Labels, Sample};

const EXPORTERS: usize = 10;
const STEP: i64 = 15_000;
const MIN: i64 = 60_000;
/// Sample time at which the churn happens (minutes): loadgen's churn epoch 1.
const CHURN_AT: i64 = 15;
/// Scrapes in all: up to 22:45, when the fourth compaction is due (the head spans more
/// than 7.5 minutes at 7:45, 12:45, 17:45 and 22:45).
const SCRAPES: i64 = 22 * 4 + 4;

/// One exporter's series in the order its exposition lists them (counters of every pod,
/// then histograms, then gauges), as a scrape of `127.0.0.1:2100<e>` in job `loadgen` labels
/// them, with the scrape cache's reference of each.
struct Target {
    load: Load,
    series: Vec<(Labels, u64)>,
}

impl Target {
    fn new(e: usize, pods: usize, churn: f64) -> Self {
        let load = Load {
            exporter: e,
            pods,
            churn_interval: Duration::from_secs(CHURN_AT as u64 * 60),
            churn_fraction: churn,
            epoch_start: UNIX_EPOCH,
        };
        let mut t = Self {
            load,
            series: Vec::new(),
        };
        t.relabel(0);
        t
    }

    /// Names the series as loadgen does in churn epoch `epoch`, keeping the references of
    /// series whose labels stay.
    fn relabel(&mut self, epoch: u64) {
        let old = std::mem::take(&mut self.series);
        let instance = format!("127.0.0.1:{}", 21000 + self.load.exporter);
        for mut pairs in self.load.label_sets(epoch) {
            pairs.push(("job", "loadgen".to_owned()));
            pairs.push(("instance", instance.clone()));
            let l = Labels::from_pairs(pairs);
            let r = old
                .get(self.series.len())
                .filter(|(o, _)| *o == l)
                .map_or(0, |(_, r)| *r);
            self.series.push((l, r));
        }
    }
}

/// CPU seconds of this process so far (user + system).
fn cpu_seconds() -> f64 {
    testkit::cpu_seconds("/proc/self/stat")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(
        args.get(1)
            .expect("usage: compact_head DIR [SERIES] [CHURN]"),
    );
    let series: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(300_000);
    let churn: f64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(0.01);
    let opts = DbOptions {
        min_block_duration: 5 * MIN,
        max_block_duration: 5 * MIN,
        ..DbOptions::default()
    };
    let db = Db::open(dir, opts).expect("open the db");
    let pods = series / SERIES_PER_POD / EXPORTERS;
    let mut targets: Vec<Target> = (0..EXPORTERS)
        .map(|e| Target::new(e, pods, churn))
        .collect();
    let (mut ingest_cpu, mut compactions) = (cpu_seconds(), 0);
    let started = Instant::now();
    for k in 0..SCRAPES {
        let now = k * STEP;
        if now == CHURN_AT * MIN && churn > 0.0 {
            for t in &mut targets {
                t.relabel(1);
            }
        }
        for t in &mut targets {
            let mut app = db.appender();
            for (i, (l, r)) in t.series.iter_mut().enumerate() {
                let v = if i < t.load.pods * (SERIES_PER_POD - GAUGES_PER_POD) {
                    (now / 1000) as f64 * (i % 7 + 1) as f64
                } else {
                    (1000.0 * ((now / MIN) as f64 + i as f64).sin()).round()
                };
                *r = app.append(*r, l, now, Sample::Float(v)).expect("append");
            }
            app.commit().expect("commit");
        }
        if (k + 1) % 4 == 0 && head_compactable(db.head()) {
            compactions += 1;
            let before = cpu_seconds();
            let head_series = db.head().num_series();
            on_named_thread(&format!("compact-{compactions}"), || {
                db.compact().expect("compact");
            });
            let after = cpu_seconds();
            println!(
                "compaction {compactions} at {} min: {:.2} CPU s ({head_series} -> {} series); \
                 ingestion before it {:.2} CPU s",
                now / MIN,
                after - before,
                db.head().num_series(),
                before - ingest_cpu
            );
            ingest_cpu = after;
        }
    }
    println!(
        "{series} series, {SCRAPES} scrapes, {compactions} compactions in {:.1} s, {:.2} CPU s",
        started.elapsed().as_secs_f64(),
        cpu_seconds()
    );
    // Not closed: nothing more to measure.
    std::mem::forget(db);
}

/// Runs `f` on a thread named `name` and waits for it.
fn on_named_thread(name: &str, f: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn_scoped(s, f)
            .expect("spawn")
            .join()
            .expect("compaction thread");
    });
}
