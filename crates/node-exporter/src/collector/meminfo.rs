//! Memory statistics from /proc/meminfo (node_exporter's `collector/meminfo.go` and
//! `meminfo_linux.go`): the fields procfs knows, as `node_memory_<Field>_bytes` gauges
//! (`HugePages_*` as counts).

use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// The fields procfs 0.15's `Meminfo` knows; others are ignored as node_exporter does.
const KNOWN: &[&str] = &[
    "Active",
    "Active(anon)",
    "Active(file)",
    "AnonHugePages",
    "AnonPages",
    "Bounce",
    "Buffers",
    "Cached",
    "CmaFree",
    "CmaTotal",
    "CommitLimit",
    "Committed_AS",
    "DirectMap1G",
    "DirectMap2M",
    "DirectMap4k",
    "Dirty",
    "HardwareCorrupted",
    "Hugepagesize",
    "Inactive",
    "Inactive(anon)",
    "Inactive(file)",
    "KernelStack",
    "Mapped",
    "MemAvailable",
    "MemFree",
    "MemTotal",
    "Mlocked",
    "NFS_Unstable",
    "PageTables",
    "Percpu",
    "SReclaimable",
    "SUnreclaim",
    "Shmem",
    "ShmemHugePages",
    "ShmemPmdMapped",
    "Slab",
    "SwapCached",
    "SwapFree",
    "SwapTotal",
    "Unevictable",
    "VmallocChunk",
    "VmallocTotal",
    "VmallocUsed",
    "Writeback",
    "WritebackTmp",
];

const HUGEPAGES: &[&str] = &[
    "HugePages_Free",
    "HugePages_Rsvd",
    "HugePages_Surp",
    "HugePages_Total",
];

/// The meminfo collector.
pub struct Meminfo;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Meminfo))
}

impl Collector for Meminfo {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let path = paths.proc("meminfo");
        let text = read(&path)?;
        for (n, line) in text.lines().enumerate() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let bad =
                |m: &str| CollectorError::parse(&path, format!("line {}: {m}: {line:?}", n + 1));
            let val: u64 = f
                .get(1)
                .and_then(|v| super::util::parse_u64(v))
                .ok_or_else(|| bad("invalid value"))?;
            let bytes = match f.len() {
                2 => val,
                3 if f[2] == "kB" => val * 1024,
                3 => return Err(bad("unsupported unit")),
                _ => return Err(bad("malformed line")),
            };
            let key = f[0].trim_end_matches(':');
            let name = if KNOWN.contains(&key) {
                format!(
                    "{}_bytes",
                    key.replace("(anon)", "_anon").replace("(file)", "_file")
                )
            } else if HUGEPAGES.contains(&key) {
                key.to_owned()
            } else {
                continue;
            };
            let v = if HUGEPAGES.contains(&key) { val } else { bytes };
            out.gauge(
                &format!("node_memory_{name}"),
                &format!("Memory information field {name}."),
                &[],
                v as f64,
            );
        }
        Ok(())
    }
}
