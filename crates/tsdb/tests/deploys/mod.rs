//! The series of a deploy, shared by the test `head_deploys_memory` and the example
//! `deploy_rss` (which includes this file with `#[path]`): the series of
//! `firewatch-loadgen`'s exporters (100 pods of 100 series each) in churn epoch `g` of a load
//! whose every epoch renames every pod, as a deploy does.

// The test uses what the example does not, and the other way round.
#![allow(dead_code)]

use std::time::{Duration, UNIX_EPOCH};

use loadgen::{Load, SERIES_PER_POD};
use model::Labels;

/// Pods per exporter.
const PODS: usize = 100;
/// Series per exporter.
pub const PER_EXPORTER: usize = PODS * SERIES_PER_POD;

/// The series of exporter `e` in generation `g`, with the labels a scrape of it at
/// `127.0.0.1:2100e` adds (`job`, `instance`).
pub fn exporter(e: usize, g: u64) -> Vec<Labels> {
    let load = Load {
        exporter: e,
        pods: PODS,
        churn_interval: Duration::from_secs(600),
        churn_fraction: 1.0,
        epoch_start: UNIX_EPOCH,
    };
    let instance = format!("127.0.0.1:{}", 21000 + e);
    let sets = load.label_sets(g).into_iter();
    sets.map(|mut set| {
        set.push(("job", "loadgen".to_owned()));
        set.push(("instance", instance.clone()));
        Labels::from_pairs(set)
    })
    .collect()
}

/// The first `n` series of generation `g`, exporter after exporter.
pub fn generation(n: usize, g: u64) -> Vec<Labels> {
    let exporters = n.div_ceil(PER_EXPORTER);
    let all = (0..exporters).flat_map(|e| exporter(e, g));
    all.take(n).collect()
}
