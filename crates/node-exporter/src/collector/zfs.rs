//! ZFS kstats from /proc/spl/kstat/zfs (node_exporter's `collector/zfs_linux.go`): the
//! subsystem files as untyped `node_zfs_<subsystem>_<stat>`, per-pool I/O, datasets and state.

use std::path::Path;

use super::util::dir_entries_opt;
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

const SUBSYSTEMS: &[(&str, &str)] = &[
    ("zfs_abd", "abdstats"),
    ("zfs_arc", "arcstats"),
    ("zfs_dbuf", "dbufstats"),
    ("zfs_dmu_tx", "dmu_tx"),
    ("zfs_dnode", "dnodestats"),
    ("zfs_fm", "fm"),
    ("zfs_vdev_cache", "vdev_cache_stats"),
    ("zfs_vdev_mirror", "vdev_mirror_stats"),
    ("zfs_xuio", "xuio_stats"),
    ("zfs_zfetch", "zfetchstats"),
    ("zfs_zil", "zil"),
];

const POOL_STATES: &[&str] = &[
    "online",
    "degraded",
    "faulted",
    "offline",
    "removed",
    "unavail",
    "suspended",
];

/// The zfs collector.
pub struct Zfs;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Zfs))
}

fn metric_name(key: &str) -> String {
    key.rsplit('.').next().unwrap_or(key).replace('-', "_")
}

/// Parses a kstat file (`name type data` header, then rows); calls `f(name, value)` for
/// integer rows.
fn parse_kstat(
    path: &Path,
    text: &str,
    mut f: impl FnMut(&str, f64),
) -> Result<(), CollectorError> {
    let mut started = false;
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if !started && parts == ["name", "type", "data"] {
            started = true;
            continue;
        }
        if !started || parts.len() < 3 {
            continue;
        }
        let v = match parts[1] {
            "4" => parts[2].parse::<u64>().map(|v| v as f64).ok(),
            "3" => parts[2].parse::<i64>().map(|v| v as f64).ok(),
            _ => continue,
        };
        let v = v.ok_or_else(|| {
            CollectorError::parse(
                path,
                format!("could not parse integer value for {:?}", parts[0]),
            )
        })?;
        f(parts[0], v);
    }
    if !started {
        return Err(CollectorError::parse(path, "did not parse a single metric"));
    }
    Ok(())
}

impl Collector for Zfs {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let base = paths.proc("spl/kstat/zfs");
        if !base.exists() {
            return Err(CollectorError::NoData(
                "ZFS / ZFS statistics are not available".into(),
            ));
        }
        for (subsystem, file) in SUBSYSTEMS {
            let path = base.join(file);
            let Ok(text) = super::util::read_string(&path) else {
                continue;
            };
            parse_kstat(&path, &text, |name, v| {
                let key = format!("kstat.zfs.misc.{file}.{name}");
                out.untyped(
                    &format!("node_{subsystem}_{}", metric_name(&key)),
                    &key,
                    &[],
                    v,
                );
            })?;
        }
        let pools = dir_entries_opt(&base);
        for (pool, dir) in pools.iter().filter(|(_, p)| p.is_dir()) {
            let io = dir.join("io");
            if io.exists() {
                let text = read(&io)?;
                let mut fields: Option<Vec<&str>> = None;
                for line in text.lines() {
                    let parts: Vec<&str> = line.split_whitespace().collect();
                    match &fields {
                        None => {
                            if parts.len() >= 12 && parts[0] == "nread" {
                                fields = Some(parts);
                            }
                        }
                        Some(names) => {
                            for (i, field) in names.iter().enumerate() {
                                let key = format!("kstat.zfs.misc.io.{field}");
                                let v: u64 =
                                    parts.get(i).and_then(|s| s.parse().ok()).ok_or_else(|| {
                                        CollectorError::parse(
                                            &io,
                                            format!("could not parse integer value for {key:?}"),
                                        )
                                    })?;
                                out.untyped(
                                    &format!("node_zfs_zpool_{}", metric_name(&key)),
                                    &key,
                                    &[("zpool", pool)],
                                    v as f64,
                                );
                            }
                        }
                    }
                }
            }
        }
        for (pool, dir) in pools.iter().filter(|(_, p)| p.is_dir()) {
            for (name, path) in dir_entries_opt(dir) {
                if !name.starts_with("objset-") {
                    continue;
                }
                let text = read(&path)?;
                let mut started = false;
                let mut dataset = String::new();
                for line in text.lines() {
                    let parts: Vec<&str> = line.split_whitespace().collect();
                    if !started && parts == ["name", "type", "data"] {
                        started = true;
                        continue;
                    }
                    if !started || parts.len() < 3 {
                        continue;
                    }
                    if parts[0] == "dataset_name" {
                        let at = line.find(parts[2]).unwrap_or(0);
                        dataset = line[at..].to_owned();
                        continue;
                    }
                    if parts[1] == "4" {
                        let key = format!("kstat.zfs.misc.objset.{}", parts[0]);
                        let v: u64 = parts[2].parse().map_err(|_| {
                            CollectorError::parse(
                                &path,
                                format!("could not parse integer value for {key:?}"),
                            )
                        })?;
                        out.untyped(
                            &format!("node_zfs_zpool_dataset_{}", metric_name(&key)),
                            &key,
                            &[("zpool", pool), ("dataset", &dataset)],
                            v as f64,
                        );
                    }
                }
                if !started {
                    return Err(CollectorError::parse(
                        &path,
                        "did not parse a single metric",
                    ));
                }
            }
        }
        for (pool, dir) in pools.iter().filter(|(_, p)| p.is_dir()) {
            let state = dir.join("state");
            if !state.exists() {
                continue;
            }
            let text = read(&state)?;
            let actual = text.lines().next().unwrap_or("").to_lowercase();
            for s in POOL_STATES {
                out.gauge(
                    "node_zfs_zpool_state",
                    "kstat.zfs.misc.state",
                    &[("zpool", pool), ("state", s)],
                    if actual == *s { 1.0 } else { 0.0 },
                );
            }
        }
        Ok(())
    }
}
