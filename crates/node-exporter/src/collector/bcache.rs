//! bcache statistics from /sys/fs/bcache (node_exporter's `collector/bcache_linux.go`, with
//! procfs's `bcache/get.go` reading of the kernel's human-readable sizes).

use std::path::Path;

use super::util::{dir_entries, dir_entries_opt};
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// The bcache collector.
pub struct Bcache {
    priority_stats: bool,
}

/// Builds the collector from `--collector.bcache.priorityStats`.
///
/// # Errors
/// Never.
pub fn new(opts: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Bcache {
        priority_stats: opts.flag("collector.bcache.priorityStats", false),
    }))
}

/// bch_hprint's pseudo float: the fraction is in 1024ths scaled to two digits.
fn pseudo_float(s: &str) -> Option<f64> {
    match s.split_once('.') {
        None => s.parse().ok(),
        Some((i, f)) => Some(i.parse::<f64>().ok()? + f.parse::<f64>().ok()? / 10.24),
    }
}

/// procfs's `dehumanize`: `20.4G` → bytes.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn dehumanize(s: &str) -> Option<u64> {
    let last = *s.as_bytes().last()?;
    if last > b'9' {
        let exp = match last {
            b'k' => 1,
            b'M' => 2,
            b'G' => 3,
            b'T' => 4,
            b'P' => 5,
            b'E' => 6,
            b'Z' => 7,
            b'Y' => 8,
            _ => 0,
        };
        let mul = if exp == 0 { 0.0 } else { 1024f64.powi(exp) };
        Some((pseudo_float(&s[..s.len() - 1])? * mul) as u64)
    } else {
        Some(s.parse::<f64>().ok()? as u64)
    }
}

#[allow(clippy::cast_precision_loss, clippy::cast_possible_wrap)]
fn dehumanize_signed(s: &str) -> Option<f64> {
    let v = dehumanize(s.trim_start_matches('-'))? as i64;
    Some(if s.starts_with('-') { -v } else { v } as f64)
}

#[allow(clippy::cast_precision_loss)]
fn file(dir: &Path, name: &str) -> Result<f64, CollectorError> {
    let path = dir.join(name);
    let s = read(&path)?;
    dehumanize(s.trim())
        .map(|v| v as f64)
        .ok_or_else(|| CollectorError::parse(&path, format!("cannot parse {:?}", s.trim())))
}

const PERIOD: &[(&str, &str, &str)] = &[
    (
        "bypassed",
        "bypassed_bytes_total",
        "Amount of IO (both reads and writes) that has bypassed the cache.",
    ),
    (
        "cache_hits",
        "cache_hits_total",
        "Hits counted per individual IO as bcache sees them.",
    ),
    (
        "cache_misses",
        "cache_misses_total",
        "Misses counted per individual IO as bcache sees them.",
    ),
    (
        "cache_bypass_hits",
        "cache_bypass_hits_total",
        "Hits for IO intended to skip the cache.",
    ),
    (
        "cache_bypass_misses",
        "cache_bypass_misses_total",
        "Misses for IO intended to skip the cache.",
    ),
    (
        "cache_miss_collisions",
        "cache_miss_collisions_total",
        "Instances where data insertion from cache miss raced with write (data already present).",
    ),
    (
        "cache_readaheads",
        "cache_readaheads_total",
        "Count of times readahead occurred.",
    ),
];

impl Collector for Bcache {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let base = paths.sys("fs/bcache");
        let filesystems = match dir_entries(&base) {
            Ok(d) => d,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        for (uuid, dir) in filesystems {
            if !dir.is_dir() || !uuid.contains('-') {
                continue;
            }
            let u = [("uuid", uuid.as_str())];
            for (f, name, help) in [
                (
                    "average_key_size",
                    "average_key_size_sectors",
                    "Average data per key in the btree (sectors).",
                ),
                (
                    "btree_cache_size",
                    "btree_cache_size_bytes",
                    "Amount of memory currently used by the btree cache.",
                ),
                (
                    "cache_available_percent",
                    "cache_available_percent",
                    "Percentage of cache device without dirty data, usable for writeback (may contain clean cached data).",
                ),
                ("congested", "congested", "Congestion."),
                (
                    "root_usage_percent",
                    "root_usage_percent",
                    "Percentage of the root btree node in use (tree depth increases if too high).",
                ),
                ("tree_depth", "tree_depth", "Depth of the btree."),
            ] {
                out.gauge(&format!("node_bcache_{name}"), help, &u, file(&dir, f)?);
            }
            let internal = dir.join("internal");
            out.gauge(
                "node_bcache_active_journal_entries",
                "Number of journal entries that are newer than the index.",
                &u,
                file(&internal, "active_journal_entries")?,
            );
            out.gauge(
                "node_bcache_btree_nodes",
                "Total nodes in the btree.",
                &u,
                file(&internal, "btree_nodes")?,
            );
            out.gauge(
                "node_bcache_btree_read_average_duration_seconds",
                "Average btree read duration.",
                &u,
                file(&internal, "btree_read_average_duration_us")? * 1e-9,
            );
            out.counter(
                "node_bcache_cache_read_races_total",
                "Counts instances where while data was being read from the cache, the bucket was reused and invalidated - i.e. where the pointer was stale after the read completed.",
                &u,
                file(&internal, "cache_read_races")?,
            );
            for (name, bdir) in dir_entries_opt(&dir) {
                if name
                    .strip_prefix("bdev")
                    .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
                {
                    let l = [("uuid", uuid.as_str()), ("backing_device", name.as_str())];
                    out.gauge(
                        "node_bcache_dirty_data_bytes",
                        "Amount of dirty data for this backing device in the cache.",
                        &l,
                        file(&bdir, "dirty_data")?,
                    );
                    let dbg_path = bdir.join("writeback_rate_debug");
                    let dbg = read(&dbg_path)?;
                    let mut wrd = std::collections::HashMap::new();
                    for line in dbg.lines() {
                        let Some((k, _)) = line.split_once(':') else {
                            continue;
                        };
                        let raw = line.split_whitespace().last().unwrap_or("");
                        let raw = raw.trim_end_matches("/sec");
                        let v = match k {
                            "rate" | "dirty" | "target" => dehumanize(raw).map(|v| {
                                #[allow(clippy::cast_precision_loss)]
                                let f = v as f64;
                                f
                            }),
                            "proportional" | "integral" | "change" => dehumanize_signed(raw),
                            _ => continue,
                        };
                        let v = v.ok_or_else(|| {
                            CollectorError::parse(&dbg_path, format!("cannot parse {line:?}"))
                        })?;
                        wrd.insert(k.to_owned(), v);
                    }
                    let w = |k: &str| wrd.get(k).copied().unwrap_or(0.0);
                    out.gauge(
                        "node_bcache_dirty_target_bytes",
                        "Current dirty data target threshold for this backing device in bytes.",
                        &l,
                        w("target"),
                    );
                    out.gauge(
                        "node_bcache_writeback_rate",
                        "Current writeback rate for this backing device in bytes.",
                        &l,
                        w("rate"),
                    );
                    out.gauge(
                        "node_bcache_writeback_rate_proportional_term",
                        "Current result of proportional controller, part of writeback rate",
                        &l,
                        w("proportional"),
                    );
                    out.gauge(
                        "node_bcache_writeback_rate_integral_term",
                        "Current result of integral controller, part of writeback rate",
                        &l,
                        w("integral"),
                    );
                    out.gauge(
                        "node_bcache_writeback_change",
                        "Last writeback rate change step for this backing device.",
                        &l,
                        w("change"),
                    );
                    let total = bdir.join("stats_total");
                    for (f, metric, help) in PERIOD {
                        out.counter(&format!("node_bcache_{metric}"), help, &l, file(&total, f)?);
                    }
                } else if name
                    .strip_prefix("cache")
                    .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
                {
                    let l = [("uuid", uuid.as_str()), ("cache_device", name.as_str())];
                    out.gauge(
                        "node_bcache_io_errors",
                        "Number of errors that have occurred, decayed by io_error_halflife.",
                        &l,
                        file(&bdir, "io_errors")?,
                    );
                    out.counter(
                        "node_bcache_metadata_written_bytes_total",
                        "Sum of all non data writes (btree writes and all other metadata).",
                        &l,
                        file(&bdir, "metadata_written")?,
                    );
                    out.counter(
                        "node_bcache_written_bytes_total",
                        "Sum of all data that has been written to the cache.",
                        &l,
                        file(&bdir, "written")?,
                    );
                    if self.priority_stats {
                        let p = bdir.join("priority_stats");
                        let text = read(&p)?;
                        for line in text.lines() {
                            let pct = || -> Result<f64, CollectorError> {
                                let raw = line.split_whitespace().last().unwrap_or("");
                                raw.trim_end_matches('%').parse::<f64>().map_err(|_| {
                                    CollectorError::parse(&p, format!("cannot parse {line:?}"))
                                })
                            };
                            if line.starts_with("Unused:") {
                                out.gauge(
                                    "node_bcache_priority_stats_unused_percent",
                                    "The percentage of the cache that doesn't contain any data.",
                                    &l,
                                    pct()?,
                                );
                            } else if line.starts_with("Metadata:") {
                                out.gauge(
                                    "node_bcache_priority_stats_metadata_percent",
                                    "Bcache's metadata overhead.",
                                    &l,
                                    pct()?,
                                );
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
