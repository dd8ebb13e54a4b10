//! Per-NUMA-node memory from /sys/devices/system/node/node*/{meminfo,numastat}
//! (node_exporter's `collector/meminfo_numa_linux.go`).

use super::util::dir_entries;
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// The meminfo_numa collector.
pub struct MeminfoNuma;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(MeminfoNuma))
}

impl Collector for MeminfoNuma {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let dir = paths.sys("devices/system/node");
        for (name, node) in dir_entries(&dir)? {
            let Some(num) = name
                .strip_prefix("node")
                .filter(|n| n.starts_with(|c: char| c.is_ascii_digit()))
            else {
                continue;
            };
            let path = node.join("meminfo");
            let text = read(&path)?;
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let p: Vec<&str> = line.split_whitespace().collect();
                let bad =
                    || CollectorError::parse(&path, format!("invalid line in meminfo: {line}"));
                let mut v: f64 = p.get(3).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
                match p.len() {
                    4 => {}
                    5 if p[4] == "kB" => v *= 1024.0,
                    _ => return Err(bad()),
                }
                let metric = p[2].trim_end_matches(':');
                let metric = match (metric.find('('), metric.rfind(')')) {
                    (Some(a), Some(b)) if a < b => {
                        format!("{}_{}{}", &metric[..a], &metric[a + 1..b], &metric[b + 1..])
                    }
                    _ => metric.to_owned(),
                };
                out.gauge(
                    &format!("node_memory_numa_{metric}"),
                    &format!("Memory information field {metric}."),
                    &[("node", p[1])],
                    v,
                );
            }
            let path = node.join("numastat");
            let text = read(&path)?;
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let p: Vec<&str> = line.split_whitespace().collect();
                let bad =
                    || CollectorError::parse(&path, format!("invalid line in numastat: {line}"));
                if p.len() != 2 {
                    return Err(bad());
                }
                let v: f64 = p[1].parse().map_err(|_| bad())?;
                let metric = format!("{}_total", p[0]);
                out.counter(
                    &format!("node_memory_numa_{metric}"),
                    &format!("Memory information field {metric}."),
                    &[("node", num)],
                    v,
                );
            }
        }
        Ok(())
    }
}
