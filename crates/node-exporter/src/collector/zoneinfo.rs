//! Per-zone memory statistics from /proc/zoneinfo (node_exporter's
//! `collector/zoneinfo_linux.go`, parsed as procfs's `zoneinfo.go`).

use std::sync::LazyLock;

use regex::Regex;

use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

static NODE_ZONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([0-9]+), zone[\t\n\f\r ]+([0-9A-Za-z_]+)").expect("regex"));

/// (kernel key, metric suffix, help); `_total` metrics are counters.
const FIELDS: &[(&str, &str, &str)] = &[
    (
        "nr_free_pages",
        "nr_free_pages",
        "Total number of free pages in the zone",
    ),
    ("min", "min_pages", "Zone watermark pages_min"),
    ("low", "low_pages", "Zone watermark pages_low"),
    ("high", "high_pages", "Zone watermark pages_high"),
    (
        "scanned",
        "scanned_pages",
        "Pages scanned since last reclaim",
    ),
    (
        "spanned",
        "spanned_pages",
        "Total pages spanned by the zone, including holes",
    ),
    (
        "present",
        "present_pages",
        "Physical pages existing within the zone",
    ),
    (
        "managed",
        "managed_pages",
        "Present pages managed by the buddy system",
    ),
    (
        "nr_active_anon",
        "nr_active_anon_pages",
        "Number of anonymous pages recently more used",
    ),
    (
        "nr_inactive_anon",
        "nr_inactive_anon_pages",
        "Number of anonymous pages recently less used",
    ),
    (
        "nr_isolated_anon",
        "nr_isolated_anon_pages",
        "Temporary isolated pages from anon lru",
    ),
    (
        "nr_anon_pages",
        "nr_anon_pages",
        "Number of anonymous pages currently used by the system",
    ),
    (
        "nr_anon_transparent_hugepages",
        "nr_anon_transparent_hugepages",
        "Number of anonymous transparent huge pages currently used by the system",
    ),
    (
        "nr_active_file",
        "nr_active_file_pages",
        "Number of active pages with file-backing",
    ),
    (
        "nr_inactive_file",
        "nr_inactive_file_pages",
        "Number of inactive pages with file-backing",
    ),
    (
        "nr_isolated_file",
        "nr_isolated_file_pages",
        "Temporary isolated pages from file lru",
    ),
    ("nr_file_pages", "nr_file_pages", "Number of file pages"),
    (
        "nr_slab_reclaimable",
        "nr_slab_reclaimable_pages",
        "Number of reclaimable slab pages",
    ),
    (
        "nr_slab_unreclaimable",
        "nr_slab_unreclaimable_pages",
        "Number of unreclaimable slab pages",
    ),
    (
        "nr_mlock_stack",
        "nr_mlock_stack_pages",
        "mlock()ed pages found and moved off LRU",
    ),
    (
        "nr_kernel_stack",
        "nr_kernel_stacks",
        "Number of kernel stacks",
    ),
    ("nr_mapped", "nr_mapped_pages", "Number of mapped pages"),
    ("nr_dirty", "nr_dirty_pages", "Number of dirty pages"),
    (
        "nr_writeback",
        "nr_writeback_pages",
        "Number of writeback pages",
    ),
    (
        "nr_unevictable",
        "nr_unevictable_pages",
        "Number of unevictable pages",
    ),
    (
        "nr_shmem",
        "nr_shmem_pages",
        "Number of shmem pages (included tmpfs/GEM pages)",
    ),
    (
        "nr_dirtied",
        "nr_dirtied_total",
        "Page dirtyings since bootup",
    ),
    (
        "nr_written",
        "nr_written_total",
        "Page writings since bootup",
    ),
    ("numa_hit", "numa_hit_total", "Allocated in intended node"),
    (
        "numa_miss",
        "numa_miss_total",
        "Allocated in non intended node",
    ),
    (
        "numa_foreign",
        "numa_foreign_total",
        "Was intended here, hit elsewhere",
    ),
    (
        "numa_interleave",
        "numa_interleave_total",
        "Interleaver preferred this zone",
    ),
    (
        "numa_local",
        "numa_local_total",
        "Allocation from local node",
    ),
    (
        "numa_other",
        "numa_other_total",
        "Allocation from other node",
    ),
];

/// The zoneinfo collector.
pub struct Zoneinfo;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Zoneinfo))
}

impl Collector for Zoneinfo {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("zoneinfo");
        let text = read(&path)?;
        for block in text.split("\nNode") {
            let (mut node, mut zone) = (String::new(), String::new());
            let mut values: Vec<Option<i64>> = vec![None; FIELDS.len()];
            let mut protection: Vec<i64> = Vec::new();
            for line in block.split('\n') {
                if let Some(c) = NODE_ZONE.captures(line) {
                    node = c[1].to_owned();
                    zone = c[2].to_owned();
                    continue;
                }
                let t = line.trim();
                if t.starts_with("per-node stats") {
                    continue;
                }
                let parts: Vec<&str> = t.split_whitespace().collect();
                if parts.len() < 2 {
                    continue;
                }
                if parts[0] == "protection:" {
                    let v = line
                        .split(':')
                        .nth(1)
                        .unwrap_or("")
                        .replacen('(', "", 1)
                        .replacen(')', "", 1);
                    if let Ok(p) = v
                        .trim()
                        .split(", ")
                        .map(str::parse::<i64>)
                        .collect::<Result<Vec<_>, _>>()
                    {
                        protection = p;
                    }
                    continue;
                }
                if let Some(i) = FIELDS.iter().position(|f| f.0 == parts[0]) {
                    values[i] = parts[1].parse().ok();
                }
            }
            let labels = [("node", node.as_str()), ("zone", zone.as_str())];
            for ((_, name, help), v) in FIELDS.iter().zip(&values) {
                let Some(v) = v else { continue };
                let metric = format!("node_zoneinfo_{name}");
                if name.ends_with("_total") {
                    out.counter(&metric, help, &labels, *v as f64);
                } else {
                    out.gauge(&metric, help, &labels, *v as f64);
                }
            }
            for (i, v) in protection.iter().enumerate() {
                out.gauge(
                    &format!("node_zoneinfo_protection_{i}"),
                    &format!("Protection array {i}. field"),
                    &labels,
                    *v as f64,
                );
            }
        }
        Ok(())
    }
}
