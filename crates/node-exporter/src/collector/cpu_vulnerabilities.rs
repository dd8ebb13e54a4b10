//! CPU vulnerability states from /sys/devices/system/cpu/vulnerabilities (node_exporter's
//! `collector/cpu_vulnerabilities_linux.go`, parsed as procfs's `sysfs/vulnerability.go`).

use super::util::dir_entries;
use super::{Collector, CollectorError, Out, read};
use crate::options::{Options, Paths};

/// The cpu_vulnerabilities collector.
pub struct CpuVulnerabilities;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(CpuVulnerabilities))
}

/// (state, mitigation) of a vulnerability file's content.
#[must_use]
pub fn parse(raw: &str) -> (&'static str, String) {
    let raw = raw.trim();
    let lower = raw.to_lowercase();
    let rest = || raw.split_whitespace().skip(1).collect::<Vec<_>>().join(" ");
    if lower.starts_with("not affected") {
        ("not affected", String::new())
    } else if lower.starts_with("vulnerable") {
        ("vulnerable", rest())
    } else if lower.starts_with("mitigation") {
        ("mitigation", rest())
    } else if lower.starts_with("unknown") {
        ("unknown", rest())
    } else {
        ("unknown", raw.to_owned())
    }
}

impl Collector for CpuVulnerabilities {
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        for (name, path) in dir_entries(&paths.sys("devices/system/cpu/vulnerabilities"))? {
            let (state, mitigation) = parse(&read(&path)?);
            out.gauge(
                "node_cpu_vulnerabilities_info",
                "Details of each CPU vulnerability reported by sysfs. The value of the series is an int encoded state of the vulnerability. The same state is stored as a string in the label",
                &[("codename", &name), ("state", state), ("mitigation", &mitigation)],
                1.0,
            );
        }
        Ok(())
    }
}
