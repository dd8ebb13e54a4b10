//! Btrfs filesystems from /sys/fs/btrfs (node_exporter's `collector/btrfs_linux.go`, read as
//! procfs's `btrfs/get.go`). Per-device error counters need the btrfs ioctls on a mounted
//! filesystem; without them, device sizes come from sysfs as node_exporter's fallback does.

use std::path::Path;

use super::util::{attr, dir_entries, dir_entries_opt};
use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

/// The btrfs collector.
pub struct Btrfs;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Btrfs))
}

fn value(p: &Path) -> u64 {
    attr(p).and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[allow(clippy::cast_precision_loss)]
fn ratio(layout: &str, devices: usize) -> f64 {
    let n = devices as f64;
    match layout {
        "single" | "raid0" => 1.0,
        "dup" | "raid1" | "raid10" => 2.0,
        "raid5" => n / (n - 1.0),
        "raid6" => n / (n - 2.0),
        _ => 0.0,
    }
}

impl Collector for Btrfs {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let base = paths.sys("fs/btrfs");
        let filesystems = match dir_entries(&base) {
            Ok(d) => d,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        for (name, dir) in filesystems {
            if name == "features" || !dir.is_dir() {
                continue;
            }
            let uuid = attr(&dir.join("metadata_uuid")).unwrap_or_default();
            let u = [("uuid", uuid.as_str())];
            let devices = dir_entries(&dir.join("devices"))?;
            out.gauge(
                "node_btrfs_info",
                "Filesystem information",
                &[
                    ("uuid", &uuid),
                    ("label", &attr(&dir.join("label")).unwrap_or_default()),
                ],
                1.0,
            );
            out.gauge(
                "node_btrfs_global_rsv_size_bytes",
                "Size of global reserve.",
                &u,
                value(&dir.join("allocation/global_rsv_size")) as f64,
            );
            let mut commits = [0u64; 4];
            let cpath = dir.join("commit_stats");
            if let Ok(text) = super::util::read_string(&cpath) {
                for line in text.lines() {
                    let parts: Vec<&str> = line.split_whitespace().collect();
                    if parts.len() != 2 {
                        return Err(CollectorError::parse(
                            &cpath,
                            format!("invalid commit_stats line {line:?}"),
                        ));
                    }
                    let v: u64 = parts[1].parse().map_err(|_| {
                        CollectorError::parse(
                            &cpath,
                            format!("error parsing commit_stats line {line:?}"),
                        )
                    })?;
                    match parts[0] {
                        "commits" => commits[0] = v,
                        "last_commit_ms" => commits[1] = v,
                        "max_commit_ms" => commits[2] = v,
                        "total_commit_ms" => commits[3] = v,
                        _ => {}
                    }
                }
            }
            out.counter(
                "node_btrfs_commits_total",
                "The total number of commits that have occurred.",
                &u,
                commits[0] as f64,
            );
            out.gauge(
                "node_btrfs_last_commit_seconds",
                "Duration of the most recent commit, in seconds.",
                &u,
                commits[1] as f64 / 1000.0,
            );
            out.gauge(
                "node_btrfs_max_commit_seconds",
                "Duration of the slowest commit, in seconds.",
                &u,
                commits[2] as f64 / 1000.0,
            );
            out.counter(
                "node_btrfs_commit_seconds_total",
                "Sum of the duration of all commits, in seconds.",
                &u,
                commits[3] as f64 / 1000.0,
            );
            for ty in ["data", "metadata", "system"] {
                let adir = dir.join("allocation").join(ty);
                out.gauge(
                    "node_btrfs_reserved_bytes",
                    "Amount of space reserved for a data type",
                    &[("uuid", &uuid), ("block_group_type", ty)],
                    value(&adir.join("bytes_reserved")) as f64,
                );
                for (layout, ldir) in dir_entries_opt(&adir) {
                    if !ldir.is_dir() {
                        continue;
                    }
                    let l = [
                        ("uuid", uuid.as_str()),
                        ("block_group_type", ty),
                        ("mode", layout.as_str()),
                    ];
                    out.gauge(
                        "node_btrfs_used_bytes",
                        "Amount of used space by a layout/data type",
                        &l,
                        value(&ldir.join("used_bytes")) as f64,
                    );
                    out.gauge(
                        "node_btrfs_size_bytes",
                        "Amount of space allocated for a layout/data type",
                        &l,
                        value(&ldir.join("total_bytes")) as f64,
                    );
                    out.gauge(
                        "node_btrfs_allocation_ratio",
                        "Data allocation ratio for a layout/data type",
                        &l,
                        ratio(&layout, devices.len()),
                    );
                }
            }
            for (dev, ddir) in &devices {
                out.gauge(
                    "node_btrfs_device_size_bytes",
                    "Size of a device that is part of the filesystem.",
                    &[("uuid", &uuid), ("device", dev)],
                    (512 * value(&ddir.join("size"))) as f64,
                );
            }
        }
        Ok(())
    }
}
