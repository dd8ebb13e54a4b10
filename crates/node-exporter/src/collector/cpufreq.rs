//! CPU frequency scaling from /sys/devices/system/cpu/cpu*/cpufreq (node_exporter's
//! `collector/cpufreq_linux.go`, offline CPUs skipped as procfs's `SystemCpufreq`).

use super::cpu::parse_cpu_list;
use super::util::{attr, attr_u64, dir_entries};
use super::{Collector, CollectorError, Out};
use crate::options::{Options, Paths};

/// The cpufreq collector.
pub struct Cpufreq;

/// Builds the collector.
///
/// # Errors
/// Never.
pub fn new(_: &Options) -> Result<Box<dyn Collector>, crate::Error> {
    Ok(Box::new(Cpufreq))
}

const FREQS: &[(&str, &str, &str)] = &[
    (
        "cpuinfo_cur_freq",
        "node_cpu_frequency_hertz",
        "Current CPU thread frequency in hertz.",
    ),
    (
        "cpuinfo_min_freq",
        "node_cpu_frequency_min_hertz",
        "Minimum CPU thread frequency in hertz.",
    ),
    (
        "cpuinfo_max_freq",
        "node_cpu_frequency_max_hertz",
        "Maximum CPU thread frequency in hertz.",
    ),
    (
        "scaling_cur_freq",
        "node_cpu_scaling_frequency_hertz",
        "Current scaled CPU thread frequency in hertz.",
    ),
    (
        "scaling_min_freq",
        "node_cpu_scaling_frequency_min_hertz",
        "Minimum scaled CPU thread frequency in hertz.",
    ),
    (
        "scaling_max_freq",
        "node_cpu_scaling_frequency_max_hertz",
        "Maximum scaled CPU thread frequency in hertz.",
    ),
];

impl Collector for Cpufreq {
    #[allow(clippy::cast_precision_loss)]
    fn update(&self, paths: &Paths, out: &mut Out) -> Result<(), CollectorError> {
        let base = paths.sys("devices/system/cpu");
        let offline = parse_cpu_list(&attr(&base.join("offline")).unwrap_or_default());
        let mut found = 0;
        for (name, dir) in dir_entries(&base)? {
            let Some(num) = name
                .strip_prefix("cpu")
                .filter(|n| n.parse::<u32>().is_ok())
            else {
                continue;
            };
            if num.parse::<u32>().is_ok_and(|n| offline.contains(&n)) {
                continue;
            }
            let freq = dir.join("cpufreq");
            if !freq.exists() {
                continue;
            }
            found += 1;
            for (file, metric, help) in FREQS {
                if let Some(v) = attr_u64(&freq.join(file)) {
                    out.gauge(metric, help, &[("cpu", num)], v as f64 * 1000.0);
                }
            }
            let governor = attr(&freq.join("scaling_governor")).unwrap_or_default();
            if !governor.is_empty() {
                let available = attr(&freq.join("scaling_available_governors")).unwrap_or_default();
                for g in available.split(' ') {
                    out.gauge(
                        "node_cpu_scaling_governor",
                        "Current enabled CPU frequency governor.",
                        &[("cpu", num), ("governor", g)],
                        if g == governor { 1.0 } else { 0.0 },
                    );
                }
            }
        }
        if found == 0 {
            return Err(CollectorError::NoData(format!(
                "could not find any cpufreq files under {}",
                base.display()
            )));
        }
        Ok(())
    }
}
